"""Reverse mode: the gradient function of one user function (``builder.ReverseBuilder``).

Every module here is a set of functions over one explicit ``state.ReverseState``; the
builder's module docstring says which module does what.
"""
