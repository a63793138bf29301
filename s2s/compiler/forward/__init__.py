"""Forward mode: the jvp function of a user function, one tangent statement after each
primal statement (``builder.ForwardBuilder``; the pipeline compiles and caches it).

    builder      the entry point: check, prepare, normalize, visit, optimize
    visitor      one visit_<Node> per statement kind, over the explicit state
    state        which tangents exist at a point (TangentState, FlowState)
    scope        what names mean, and the objects the generated code reads
    statements   assignments, item stores, list updates, return
    calls        rules of primitives, jvp functions of callees, run-time dispatch
    closures     local functions and their tangent closures
    flow         if, for and while
    zeros        folding symbolic zeros out of expanded rules
    prepare      the syntax check and the rewrites before normalization
    tidy         passes over the finished function
    nodes        small syntax helpers they share
"""
