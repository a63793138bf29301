"""The front end: a live Python function in, a checked function of one operation per
statement out, with the user's line numbers kept for errors.

    parse        the function's source as a gast tree (Source)
    resolve      what each free name means (closure, globals, builtins)
    checks       constructs s2s refuses, each with a located error and a hint
    aliasing     updates in place that another name would see, refused
    normalize    one operation per statement, with named temporaries
    canonical    one return, at the end; no continue; break only where a path ends
    names        fresh, readable names for generated variables
"""
