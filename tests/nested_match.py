"""A function with a match statement, for tests/test_nested_trust.py (Python 3.10 and
later: on 3.9 this file is a syntax error, so the test imports it only on 3.10 and later)."""


def match_statement(x):
    match 1:  # here
        case 1:
            y = x * 3.0
        case _:
            y = x
    return y
