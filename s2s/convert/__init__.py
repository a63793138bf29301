"""The command line: ``s2s convert`` writes the derivatives of a module's functions into a
module of their own that needs only NumPy; ``s2s show`` prints one.

    cli          argument parsing, the commands, error reports, writing files
    static       reading a module from its source, without importing or running it
    transform    the engine run on statically read functions and on what they call
    writer       the module written out: generated functions, copied helpers, imports
    comments     "# adjoint of line N" above the adjoint work of each user line
    check        --check: each written derivative against central finite differences
"""
