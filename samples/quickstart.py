"""Quickstart: differentiate a small function and read the code s2s wrote for it.

Run it with ``python samples/quickstart.py`` after ``pip install .``.
"""
import inspect

import s2s


def f(x):
    return 3 * x ** 2 + 4 * x


def main():
    df = s2s.grad(f)
    print("grad(f)(2.0) =", df(2.0))  # f'(x) = 6x + 4, so 16.0
    print()
    print(inspect.getsource(df))


if __name__ == "__main__":
    main()
