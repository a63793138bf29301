"""Reverse-mode rules of ``scipy.stats``' distributions: ``norm``, ``t``, ``gamma``, ``beta``,
``poisson`` and ``multivariate_normal``, their ``logpdf`` (``logpmf``), ``pdf`` (``pmf``),
``cdf`` and ``logcdf``, in x and in the parameters. Loaded once the user's code imports
``scipy.stats``; s2s itself never imports SciPy.

The distributions share their methods' functions (``norm.logpdf`` and ``t.logpdf`` are one
function bound to two objects), so their rules are keyed by the object and the function
(``rules.per_instance``). A pdf's partials are its logpdf's times the density, a logcdf's
its cdf's over the cdf. With ``z = (x - loc) / scale``:

    y = scipy.stats.norm.logpdf(x, mu, s)   ->   dx = -dy * z / s;  dmu = dy * z / s; ...

A cdf's derivative in a shape parameter (t's df, gamma's a, beta's a and b) has no closed
form: differentiating it raises an error at the user's line.
"""
import numpy as np
import scipy.special
import scipy.stats

from s2s.rules import adjoint, numpy_only, per_instance
from s2s.runtime.numpy_helpers import unbroadcast
from s2s.runtime.stats_helpers import mvn_logpdf_adjoint, no_closed_form

per_instance(scipy.stats.rv_continuous, scipy.stats.rv_discrete,
             type(scipy.stats.multivariate_normal))

norm, t, gamma, beta, poisson = (scipy.stats.norm, scipy.stats.t, scipy.stats.gamma,
                                 scipy.stats.beta, scipy.stats.poisson)
_ONE_OVER_ROOT_TWO_PI = 0.3989422804014327


# --- norm: z = (x - loc) / scale ------------------------------------------------------------

@adjoint(norm.logpdf)
def norm_logpdf(x, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    dx = unbroadcast(-dresult * z / scale, x)
    dloc = unbroadcast(dresult * z / scale, loc)
    dscale = unbroadcast(dresult * (z * z - 1.0) / scale, scale)


@adjoint(norm.pdf)
def norm_pdf(x, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    g = dresult * result
    dx = unbroadcast(-g * z / scale, x)
    dloc = unbroadcast(g * z / scale, loc)
    dscale = unbroadcast(g * (z * z - 1.0) / scale, scale)


@adjoint(norm.cdf)
def norm_cdf(x, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    g = dresult * (_ONE_OVER_ROOT_TWO_PI * np.exp(-0.5 * z * z) / scale)
    dx = unbroadcast(g, x)
    dloc = unbroadcast(-g, loc)
    dscale = unbroadcast(-g * z, scale)


@adjoint(norm.logcdf)
def norm_logcdf(x, loc=0.0, scale=1.0):
    # the density over the cdf, formed in logs: finite far in the lower tail
    z = (x - loc) / scale
    g = dresult * (_ONE_OVER_ROOT_TWO_PI * np.exp(-0.5 * z * z - result) / scale)
    dx = unbroadcast(g, x)
    dloc = unbroadcast(-g, loc)
    dscale = unbroadcast(-g * z, scale)


# --- t: df degrees of freedom ---------------------------------------------------------------

@adjoint(t.logpdf)
def t_logpdf(x, df, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    zz = z * z
    pull = (df + 1.0) / (df + zz)
    dx = unbroadcast(-dresult * pull * z / scale, x)
    dloc = unbroadcast(dresult * pull * z / scale, loc)
    dscale = unbroadcast(dresult * (pull * zz - 1.0) / scale, scale)
    ddf = unbroadcast(dresult * 0.5 * (scipy.special.digamma(0.5 * (df + 1.0))
                                       - scipy.special.digamma(0.5 * df) - 1.0 / df
                                       - np.log1p(zz / df) + pull * zz / df), df)


@adjoint(t.pdf)
def t_pdf(x, df, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    zz = z * z
    pull = (df + 1.0) / (df + zz)
    g = dresult * result
    dx = unbroadcast(-g * pull * z / scale, x)
    dloc = unbroadcast(g * pull * z / scale, loc)
    dscale = unbroadcast(g * (pull * zz - 1.0) / scale, scale)
    ddf = unbroadcast(g * 0.5 * (scipy.special.digamma(0.5 * (df + 1.0))
                                 - scipy.special.digamma(0.5 * df) - 1.0 / df
                                 - np.log1p(zz / df) + pull * zz / df), df)


@adjoint(t.cdf)
def t_cdf(x, df, loc=0.0, scale=1.0):
    g = dresult * t.pdf(x, df, loc, scale)
    dx = unbroadcast(g, x)
    dloc = unbroadcast(-g, loc)
    dscale = unbroadcast(-g * (x - loc) / scale, scale)
    ddf = no_closed_form(df, "t.cdf", "df")


@adjoint(t.logcdf)
def t_logcdf(x, df, loc=0.0, scale=1.0):
    g = dresult * np.exp(t.logpdf(x, df, loc, scale) - result)
    dx = unbroadcast(g, x)
    dloc = unbroadcast(-g, loc)
    dscale = unbroadcast(-g * (x - loc) / scale, scale)
    ddf = no_closed_form(df, "t.logcdf", "df")


# --- gamma: shape a -------------------------------------------------------------------------

@adjoint(gamma.logpdf)
def gamma_logpdf(x, a, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    inner = dresult * ((a - 1.0) / z - 1.0) / scale
    dx = unbroadcast(inner, x)
    dloc = unbroadcast(-inner, loc)
    dscale = unbroadcast(dresult * (z - a) / scale, scale)
    da = unbroadcast(dresult * (np.log(z) - scipy.special.digamma(a)), a)


@adjoint(gamma.pdf)
def gamma_pdf(x, a, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    g = dresult * result
    inner = g * ((a - 1.0) / z - 1.0) / scale
    dx = unbroadcast(inner, x)
    dloc = unbroadcast(-inner, loc)
    dscale = unbroadcast(g * (z - a) / scale, scale)
    da = unbroadcast(g * (np.log(z) - scipy.special.digamma(a)), a)


@adjoint(gamma.cdf)
def gamma_cdf(x, a, loc=0.0, scale=1.0):
    g = dresult * gamma.pdf(x, a, loc, scale)
    dx = unbroadcast(g, x)
    dloc = unbroadcast(-g, loc)
    dscale = unbroadcast(-g * (x - loc) / scale, scale)
    da = no_closed_form(a, "gamma.cdf", "a")


@adjoint(gamma.logcdf)
def gamma_logcdf(x, a, loc=0.0, scale=1.0):
    g = dresult * np.exp(gamma.logpdf(x, a, loc, scale) - result)
    dx = unbroadcast(g, x)
    dloc = unbroadcast(-g, loc)
    dscale = unbroadcast(-g * (x - loc) / scale, scale)
    da = no_closed_form(a, "gamma.logcdf", "a")


# --- beta: shapes a and b on (loc, loc + scale) -----------------------------------------------

@adjoint(beta.logpdf)
def beta_logpdf(x, a, b, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    slope = (a - 1.0) / z - (b - 1.0) / (1.0 - z)
    both = scipy.special.digamma(a + b)
    dx = unbroadcast(dresult * slope / scale, x)
    dloc = unbroadcast(-dresult * slope / scale, loc)
    dscale = unbroadcast(-dresult * (1.0 + z * slope) / scale, scale)
    da = unbroadcast(dresult * (np.log(z) - scipy.special.digamma(a) + both), a)
    db = unbroadcast(dresult * (np.log1p(-z) - scipy.special.digamma(b) + both), b)


@adjoint(beta.pdf)
def beta_pdf(x, a, b, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    slope = (a - 1.0) / z - (b - 1.0) / (1.0 - z)
    both = scipy.special.digamma(a + b)
    g = dresult * result
    dx = unbroadcast(g * slope / scale, x)
    dloc = unbroadcast(-g * slope / scale, loc)
    dscale = unbroadcast(-g * (1.0 + z * slope) / scale, scale)
    da = unbroadcast(g * (np.log(z) - scipy.special.digamma(a) + both), a)
    db = unbroadcast(g * (np.log1p(-z) - scipy.special.digamma(b) + both), b)


@adjoint(beta.cdf)
def beta_cdf(x, a, b, loc=0.0, scale=1.0):
    g = dresult * beta.pdf(x, a, b, loc, scale)
    dx = unbroadcast(g, x)
    dloc = unbroadcast(-g, loc)
    dscale = unbroadcast(-g * (x - loc) / scale, scale)
    da = no_closed_form(a, "beta.cdf", "a")
    db = no_closed_form(b, "beta.cdf", "b")


@adjoint(beta.logcdf)
def beta_logcdf(x, a, b, loc=0.0, scale=1.0):
    g = dresult * np.exp(beta.logpdf(x, a, b, loc, scale) - result)
    dx = unbroadcast(g, x)
    dloc = unbroadcast(-g, loc)
    dscale = unbroadcast(-g * (x - loc) / scale, scale)
    da = no_closed_form(a, "beta.logcdf", "a")
    db = no_closed_form(b, "beta.logcdf", "b")


# --- poisson: the rate mu (k is a count: no derivative) -------------------------------------

@adjoint(poisson.logpmf)
def poisson_logpmf(k, mu, loc=0):
    # k log(mu) - mu - log(k!): k / mu - 1, with k / mu = 0 where k is 0
    dmu = unbroadcast(dresult * (k / np.where(k == 0, 1.0, mu) - 1.0), mu)


@adjoint(poisson.pmf)
def poisson_pmf(k, mu, loc=0):
    dmu = unbroadcast(dresult * result * (k / np.where(k == 0, 1.0, mu) - 1.0), mu)


@adjoint(poisson.cdf)
def poisson_cdf(k, mu, loc=0):
    # d/dmu P(K <= k) = -P(K = floor(k))
    dmu = unbroadcast(-dresult * poisson.pmf(np.floor(k), mu, loc), mu)


@adjoint(poisson.logcdf)
def poisson_logcdf(k, mu, loc=0):
    dmu = unbroadcast(-dresult * np.exp(poisson.logpmf(np.floor(k), mu, loc) - result), mu)


# --- multivariate_normal ----------------------------------------------------------------------

@adjoint(scipy.stats.multivariate_normal.logpdf)
def multivariate_normal_logpdf(x, mean=None, cov=1, allow_singular=False):
    cotangents = mvn_logpdf_adjoint(dresult, x, mean, cov)
    dx = cotangents[0]
    dmean = cotangents[1]
    dcov = cotangents[2]


@adjoint(scipy.stats.multivariate_normal.pdf)
def multivariate_normal_pdf(x, mean=None, cov=1, allow_singular=False):
    cotangents = mvn_logpdf_adjoint(dresult * result, x, mean, cov)
    dx = cotangents[0]
    dmean = cotangents[1]
    dcov = cotangents[2]


# scipy.stats computes with NumPy (np.asarray of its input): on Dask or CuPy arrays the
# distributions are refused at the user's line, naming the array type
numpy_only(*(getattr(dist, method) for dist in (norm, t, gamma, beta)
             for method in ("logpdf", "pdf", "cdf", "logcdf")),
           *(getattr(poisson, method) for method in ("logpmf", "pmf", "cdf", "logcdf")),
           scipy.stats.multivariate_normal.logpdf, scipy.stats.multivariate_normal.pdf)
