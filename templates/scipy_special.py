"""Elementwise functions of ``scipy.special``, declared by their derivatives (both modes follow,
see ``templates/elementwise.py``). Loaded once the user's code imports ``scipy.special``; s2s
itself never imports SciPy. ``logsumexp``, ``softmax`` and ``log_softmax`` reduce over axes:
their rules are in reverse/ and forward/scipy_special.py.

    y = scipy.special.gammaln(x)    ->    reverse:  dx = dy * scipy.special.digamma(x)

Conventions at the edges, as SciPy defines the functions there and as JAX differentiates
them: ``xlogy(x, y)`` and ``xlog1py(x, y)`` are 0 where x == 0, so their derivative in y is 0
there too (in x it is log(y), or log1p(y)); ``i1`` and ``i1e`` have the derivative 1/2 at 0,
their limit. Integer orders (``polygamma``'s n) have no derivative.
"""
import numpy as np
import scipy.special

from s2s.rules import derivative
from s2s.runtime.numpy_helpers import match_dtype

# 2 / sqrt(pi), sqrt(pi) / 2, 1 / sqrt(2 pi), sqrt(2 pi), sqrt(pi / 2), sqrt(1 / 2)
_TWO_OVER_ROOT_PI = 1.1283791670955126
_HALF_ROOT_PI = 0.886226925452758
_ONE_OVER_ROOT_TWO_PI = 0.3989422804014327
_ROOT_TWO_PI = 2.5066282746310002
_ROOT_HALF_PI = 1.2533141373155001
_ROOT_HALF = 0.7071067811865476


# --- the gamma function and its relatives -----------------------------------------------

@derivative(scipy.special.gammaln, scipy.special.loggamma)
def gammaln(x):
    return scipy.special.digamma(x)


@derivative(scipy.special.gamma)
def gamma(x):
    return result * scipy.special.digamma(x)


@derivative(scipy.special.rgamma)
def rgamma(x):
    return -result * scipy.special.digamma(x)


@derivative(scipy.special.digamma, scipy.special.psi)
def digamma(x):
    # polygamma computes in float64 whatever x is
    return match_dtype(scipy.special.polygamma(1, x), x)


@derivative(scipy.special.polygamma)
def polygamma(n, x):
    return None, match_dtype(scipy.special.polygamma(n + 1, x), x)


@derivative(scipy.special.betaln)
def betaln(a, b):
    both = scipy.special.digamma(a + b)
    return scipy.special.digamma(a) - both, scipy.special.digamma(b) - both


@derivative(scipy.special.beta)
def beta(a, b):
    both = scipy.special.digamma(a + b)
    return result * (scipy.special.digamma(a) - both), result * (scipy.special.digamma(b) - both)


# --- error functions and the normal distribution --------------------------------------------

@derivative(scipy.special.erf)
def erf(x):
    return _TWO_OVER_ROOT_PI * np.exp(-x * x)


@derivative(scipy.special.erfc)
def erfc(x):
    return -_TWO_OVER_ROOT_PI * np.exp(-x * x)


@derivative(scipy.special.erfcx)
def erfcx(x):
    # erfcx(x) = exp(x^2) erfc(x), so the derivative is 2 x erfcx(x) - 2/sqrt(pi). For large x
    # the two terms cancel (both near 2/sqrt(pi)); there its asymptotic series in t = 1/(2x^2),
    # -2/sqrt(pi) (t - 3t^2 + 15t^3 - 105t^4 + 945t^5), whose next term is below 1e-14 from
    # x = 50 on. far is at least 50, so the series' branch stays finite where it is not taken.
    far = np.maximum(x, 50.0)
    t = 0.5 / (far * far)
    series = -_TWO_OVER_ROOT_PI * t * (1.0 - 3.0 * t * (1.0 - 5.0 * t * (1.0 - 7.0 * t
                                                                      * (1.0 - 9.0 * t))))
    return np.where(x < 50.0, 2.0 * x * result - _TWO_OVER_ROOT_PI, series)


@derivative(scipy.special.erfinv)
def erfinv(x):
    return _HALF_ROOT_PI * np.exp(result * result)


@derivative(scipy.special.erfcinv)
def erfcinv(x):
    return -_HALF_ROOT_PI * np.exp(result * result)


@derivative(scipy.special.ndtr)
def ndtr(x):
    return _ONE_OVER_ROOT_TWO_PI * np.exp(-0.5 * x * x)


@derivative(scipy.special.log_ndtr)
def log_ndtr(x):
    # the density over the distribution function. Below 0 that is 1 / (sqrt(pi/2)
    # erfcx(-x/sqrt(2))), which nothing cancels in; exp(-x^2/2 - result) subtracts two numbers
    # near x^2/2 there (a relative error near 1e-16 x^2: 1e-6 at x = -1e5). below is at most 0,
    # so the erfcx branch stays finite where it is not taken.
    below = np.minimum(x, 0.0)
    return np.where(x < 0.0, 1.0 / (_ROOT_HALF_PI * scipy.special.erfcx(-below * _ROOT_HALF)),
                    _ONE_OVER_ROOT_TWO_PI * np.exp(-0.5 * x * x - result))


@derivative(scipy.special.ndtri)
def ndtri(x):
    return _ROOT_TWO_PI * np.exp(0.5 * result * result)


# --- the logistic function --------------------------------------------------------------------

@derivative(scipy.special.expit)
def expit(x):
    # result (1 - result), with 1 - result = expit(-x): no cancellation where result is near 1
    return result * scipy.special.expit(-x)


@derivative(scipy.special.logit)
def logit(x):
    return 1.0 / (x * (1.0 - x))


@derivative(scipy.special.log_expit)
def log_expit(x):
    # 1 - expit(x), without cancelling where expit(x) is near 1
    return scipy.special.expit(-x)


# --- x log y ----------------------------------------------------------------------------------

@derivative(scipy.special.xlogy)
def xlogy(x, y):
    return np.log(y), x / np.where(x == 0, 1.0, y)


@derivative(scipy.special.xlog1py)
def xlog1py(x, y):
    return np.log1p(y), x / np.where(x == 0, 1.0, 1.0 + y)


@derivative(scipy.special.entr)
def entr(x):
    # -x log x
    return -np.log(x) - 1.0


# --- modified Bessel functions of the first kind -------------------------------------------

@derivative(scipy.special.i0)
def i0(x):
    return scipy.special.i1(x)


@derivative(scipy.special.i1)
def i1(x):
    # i0(x) - i1(x) / x, whose limit at 0 is 1/2
    away = np.where(x == 0, 1.0, x)
    return np.where(x == 0, 0.5, scipy.special.i0(x) - result / away)


@derivative(scipy.special.i0e)
def i0e(x):
    # i0e(x) = exp(-|x|) i0(x)
    return scipy.special.i1e(x) - np.sign(x) * result


@derivative(scipy.special.i1e)
def i1e(x):
    away = np.where(x == 0, 1.0, x)
    return np.where(x == 0, 0.5,
                    scipy.special.i0e(x) - result / away - np.sign(x) * result)


# --- SciPy's own versions of NumPy's functions ---------------------------------------------

@derivative(scipy.special.expm1)
def expm1(x):
    return result + 1.0


@derivative(scipy.special.log1p)
def log1p(x):
    return 1.0 / (1.0 + x)


@derivative(scipy.special.exp2)
def exp2(x):
    return 0.6931471805599453 * result


@derivative(scipy.special.exp10)
def exp10(x):
    return 2.302585092994046 * result


@derivative(scipy.special.cbrt)
def cbrt(x):
    return 1.0 / (3.0 * result * result)
