"""Plain functions that the rules of ``scipy.special`` call from generated gradient code.

Like ``numpy_helpers``, they use only numpy (never SciPy) and are plain top-level functions.

    v = scipy.special.logsumexp(a, return_sign=True)   ->   da = signed_logsumexp_error(a)
"""


def signed_logsumexp_error(operand):
    """Differentiating ``logsumexp(..., return_sign=True)``: refused (its rule covers
    ``return_sign=False``, SciPy's default)."""
    raise TypeError("s2s differentiates scipy.special.logsumexp with return_sign left out or "
                    "written as False in the call; return_sign=True (or a name) has no rule yet")
