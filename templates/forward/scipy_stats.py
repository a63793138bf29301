"""Forward-mode rules of ``scipy.stats``' distributions; parameters and formulas mirror
``templates/reverse/scipy_stats.py``. With ``z = (x - loc) / scale``:

    y = scipy.stats.norm.logpdf(x, mu, s)   ->   dy = (-z dx + z dmu + (z^2 - 1) ds) / s
"""
import numpy as np
import scipy.special
import scipy.stats

from s2s.rules import per_instance, tangent
from s2s.runtime.stats_helpers import mvn_logpdf_tangent, no_closed_form

per_instance(scipy.stats.rv_continuous, scipy.stats.rv_discrete,
             type(scipy.stats.multivariate_normal))

norm, t, gamma, beta, poisson = (scipy.stats.norm, scipy.stats.t, scipy.stats.gamma,
                                 scipy.stats.beta, scipy.stats.poisson)
_ONE_OVER_ROOT_TWO_PI = 0.3989422804014327


@tangent(norm.logpdf)
def norm_logpdf(x, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    dresult = (z * (dloc - dx) + (z * z - 1.0) * dscale) / scale


@tangent(norm.pdf)
def norm_pdf(x, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    dresult = result * (z * (dloc - dx) + (z * z - 1.0) * dscale) / scale


@tangent(norm.cdf)
def norm_cdf(x, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    dresult = (_ONE_OVER_ROOT_TWO_PI * np.exp(-0.5 * z * z) / scale) * (dx - dloc - z * dscale)


@tangent(norm.logcdf)
def norm_logcdf(x, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    dresult = ((_ONE_OVER_ROOT_TWO_PI * np.exp(-0.5 * z * z - result) / scale)
               * (dx - dloc - z * dscale))


@tangent(t.logpdf)
def t_logpdf(x, df, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    zz = z * z
    pull = (df + 1.0) / (df + zz)
    dresult = (pull * z * (dloc - dx) / scale + (pull * zz - 1.0) * dscale / scale
               + 0.5 * (scipy.special.digamma(0.5 * (df + 1.0)) - scipy.special.digamma(0.5 * df)
                        - 1.0 / df - np.log1p(zz / df) + pull * zz / df) * ddf)


@tangent(t.pdf)
def t_pdf(x, df, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    zz = z * z
    pull = (df + 1.0) / (df + zz)
    dresult = result * (pull * z * (dloc - dx) / scale + (pull * zz - 1.0) * dscale / scale
                        + 0.5 * (scipy.special.digamma(0.5 * (df + 1.0))
                                 - scipy.special.digamma(0.5 * df) - 1.0 / df
                                 - np.log1p(zz / df) + pull * zz / df) * ddf)


@tangent(t.cdf)
def t_cdf(x, df, loc=0.0, scale=1.0):
    dresult = (t.pdf(x, df, loc, scale) * (dx - dloc - (x - loc) / scale * dscale)
               + no_closed_form(ddf, "t.cdf", "df"))


@tangent(t.logcdf)
def t_logcdf(x, df, loc=0.0, scale=1.0):
    dresult = (np.exp(t.logpdf(x, df, loc, scale) - result)
               * (dx - dloc - (x - loc) / scale * dscale)
               + no_closed_form(ddf, "t.logcdf", "df"))


@tangent(gamma.logpdf)
def gamma_logpdf(x, a, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    dresult = (((a - 1.0) / z - 1.0) * (dx - dloc) / scale + (z - a) * dscale / scale
               + (np.log(z) - scipy.special.digamma(a)) * da)


@tangent(gamma.pdf)
def gamma_pdf(x, a, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    dresult = result * (((a - 1.0) / z - 1.0) * (dx - dloc) / scale + (z - a) * dscale / scale
                        + (np.log(z) - scipy.special.digamma(a)) * da)


@tangent(gamma.cdf)
def gamma_cdf(x, a, loc=0.0, scale=1.0):
    dresult = (gamma.pdf(x, a, loc, scale) * (dx - dloc - (x - loc) / scale * dscale)
               + no_closed_form(da, "gamma.cdf", "a"))


@tangent(gamma.logcdf)
def gamma_logcdf(x, a, loc=0.0, scale=1.0):
    dresult = (np.exp(gamma.logpdf(x, a, loc, scale) - result)
               * (dx - dloc - (x - loc) / scale * dscale)
               + no_closed_form(da, "gamma.logcdf", "a"))


@tangent(beta.logpdf)
def beta_logpdf(x, a, b, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    slope = (a - 1.0) / z - (b - 1.0) / (1.0 - z)
    both = scipy.special.digamma(a + b)
    dresult = (slope * (dx - dloc) / scale - (1.0 + z * slope) * dscale / scale
               + (np.log(z) - scipy.special.digamma(a) + both) * da
               + (np.log1p(-z) - scipy.special.digamma(b) + both) * db)


@tangent(beta.pdf)
def beta_pdf(x, a, b, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    slope = (a - 1.0) / z - (b - 1.0) / (1.0 - z)
    both = scipy.special.digamma(a + b)
    dresult = result * (slope * (dx - dloc) / scale - (1.0 + z * slope) * dscale / scale
                        + (np.log(z) - scipy.special.digamma(a) + both) * da
                        + (np.log1p(-z) - scipy.special.digamma(b) + both) * db)


@tangent(beta.cdf)
def beta_cdf(x, a, b, loc=0.0, scale=1.0):
    dresult = (beta.pdf(x, a, b, loc, scale) * (dx - dloc - (x - loc) / scale * dscale)
               + no_closed_form(da, "beta.cdf", "a") + no_closed_form(db, "beta.cdf", "b"))


@tangent(beta.logcdf)
def beta_logcdf(x, a, b, loc=0.0, scale=1.0):
    dresult = (np.exp(beta.logpdf(x, a, b, loc, scale) - result)
               * (dx - dloc - (x - loc) / scale * dscale)
               + no_closed_form(da, "beta.logcdf", "a") + no_closed_form(db, "beta.logcdf", "b"))


@tangent(poisson.logpmf)
def poisson_logpmf(k, mu, loc=0):
    dresult = (k / np.where(k == 0, 1.0, mu) - 1.0) * dmu


@tangent(poisson.pmf)
def poisson_pmf(k, mu, loc=0):
    dresult = result * (k / np.where(k == 0, 1.0, mu) - 1.0) * dmu


@tangent(poisson.cdf)
def poisson_cdf(k, mu, loc=0):
    dresult = -poisson.pmf(np.floor(k), mu, loc) * dmu


@tangent(poisson.logcdf)
def poisson_logcdf(k, mu, loc=0):
    dresult = -np.exp(poisson.logpmf(np.floor(k), mu, loc) - result) * dmu


@tangent(scipy.stats.multivariate_normal.logpdf)
def multivariate_normal_logpdf(x, mean=None, cov=1, allow_singular=False):
    dresult = mvn_logpdf_tangent(dx, dmean, dcov, x, mean, cov)


@tangent(scipy.stats.multivariate_normal.pdf)
def multivariate_normal_pdf(x, mean=None, cov=1, allow_singular=False):
    dresult = result * mvn_logpdf_tangent(dx, dmean, dcov, x, mean, cov)
