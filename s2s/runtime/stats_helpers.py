"""Plain functions that the rules of NumPy's statistics call from generated gradient code:
quantiles (median, percentile, quantile), weighted averages, covariances and correlations.

Like ``numpy_helpers``, they use only numpy and are plain top-level functions, so that a
standalone generated module can carry a copy. Each returns a cotangent or a tangent.

    m = np.median(x, axis=0)    ->    dx = quantile_adjoint(dm, x, 0.5, 0, "linear", False)
"""
from __future__ import annotations

import numpy as np

from s2s.runtime.numpy_helpers import (match_dtype, normalize_axes, other_library, size_of,
                                       unbroadcast, unpack_like)

#: how each method of np.quantile picks its sorted entries from the virtual index q (n - 1)
_QUANTILE_METHODS = ("linear", "lower", "higher", "nearest", "midpoint")


def _quantile_weights(q, n, method):
    """The matrix ``W`` (one row per entry of q, one column per sorted entry) with which
    ``np.quantile(a, q, method=method)`` combines the n sorted entries of a."""
    if method not in _QUANTILE_METHODS:
        raise TypeError(f"s2s differentiates np.quantile, np.percentile and np.median with the "
                        f"methods {', '.join(_QUANTILE_METHODS)}; method={method!r} has no "
                        f"rule yet")
    virtual = np.ravel(q) * (n - 1)
    below = np.clip(np.floor(virtual), 0, n - 1).astype(int)
    above = np.clip(below + 1, 0, n - 1)
    fraction = virtual - below
    if method == "lower":
        fraction = np.zeros_like(fraction)
    elif method == "higher":
        fraction = (virtual > below).astype(float)
    elif method == "nearest":
        fraction = (np.around(virtual) > below).astype(float)
    elif method == "midpoint":
        fraction = np.where(virtual > below, 0.5, 0.0)
    weights = np.zeros((virtual.size, n))
    rows = np.arange(virtual.size)
    np.add.at(weights, (rows, below), 1.0 - fraction)
    np.add.at(weights, (rows, above), fraction)
    return weights


def _reduced_last(a, axis):
    """``a`` with the reduced axes moved to the end and joined into one, and the shape the
    moved array had before they were joined."""
    a = np.asarray(a)
    axes = normalize_axes(axis, a.ndim)
    moved = np.moveaxis(a, axes, tuple(range(a.ndim - len(axes), a.ndim)))
    return moved.reshape(moved.shape[:a.ndim - len(axes)] + (-1,)), moved.shape


def quantile_adjoint(g, a, q, axis, method, keepdims):
    """Cotangent of ``a`` for ``np.quantile(a, q, axis, method=method, keepdims=keepdims)``
    (and median, percentile with q / 100): each sorted entry gets the cotangents of the
    quantiles that weigh it, sent back where that entry came from."""
    flat, moved_shape = _reduced_last(a, axis)
    batch, n = flat.shape[:-1], flat.shape[-1]
    weights = _quantile_weights(q, n, method)
    g = np.reshape(g, (weights.shape[0],) + batch)       # keepdims' axes of length 1 go
    order = np.argsort(flat, axis=-1)
    dsorted = np.tensordot(np.moveaxis(g, 0, -1), weights, axes=1)
    dflat = np.take_along_axis(dsorted, np.argsort(order, axis=-1), axis=-1)
    axes = normalize_axes(axis, np.ndim(a))
    moved = np.reshape(dflat, moved_shape)
    da = np.moveaxis(moved, tuple(range(np.ndim(a) - len(axes), np.ndim(a))), axes)
    return match_dtype(da, a)


def quantile_tangent(da, a, q, axis, method, keepdims, result):
    """Tangent of ``np.quantile(a, q, axis, method=method, keepdims=keepdims)``: the sorted
    tangents combined as the sorted entries are."""
    flat, _ = _reduced_last(a, axis)
    dflat, _ = _reduced_last(np.broadcast_to(da, np.shape(a)), axis)
    weights = _quantile_weights(q, flat.shape[-1], method)
    dsorted = np.take_along_axis(dflat, np.argsort(flat, axis=-1), axis=-1)
    d = np.moveaxis(np.tensordot(dsorted, weights.T, axes=1), -1, 0)
    return np.reshape(d, np.shape(result)).astype(np.result_type(result, 1.0), copy=False)


def quantile_q_error(q):
    """Differentiating the q of ``np.quantile`` or ``np.percentile``: no rule yet."""
    raise TypeError("s2s differentiates np.quantile and np.percentile in their array; a "
                    "differentiated q has no rule yet")


def no_closed_form(value, function, parameter):
    """Differentiating a distribution function in a shape parameter whose derivative has no
    closed form (``scipy.stats.t.cdf`` in ``df``, ``gamma.cdf`` in ``a``): refused."""
    raise TypeError(f"s2s differentiates scipy.stats.{function} in x, loc and scale; its "
                    f"derivative in {parameter} has no closed form, so {parameter} must be a "
                    f"constant here")


def _mvn_parts(x, mean, cov):
    """(d = x - mean, P = cov^-1, r = d P, the covariance matrix) of a multivariate normal
    at points x (a point is x's last axis); cov a matrix, a vector (its diagonal) or a
    number (times the identity), as scipy.stats.multivariate_normal takes it."""
    x = np.asarray(x, dtype=float)
    dim = x.shape[-1] if x.ndim else 1
    cov_arr = np.asarray(cov, dtype=float)
    # SciPy reads a matrix's lower triangle (its eigh): so does this
    matrix = np.tril(cov_arr) + np.tril(cov_arr, -1).T if cov_arr.ndim == 2 else (
        np.diag(cov_arr) if cov_arr.ndim == 1 else cov_arr * np.eye(dim))
    d = x - (0.0 if mean is None else np.asarray(mean, dtype=float))
    precision = np.linalg.inv(matrix)
    return d, precision, d @ precision, matrix


def _cov_like(full, cov):
    """A cotangent of the full covariance matrix as one of ``cov``'s form."""
    cov_arr = np.asarray(cov)
    if cov_arr.ndim == 2:
        # SciPy reads the covariance matrix's lower triangle (its eigh): the symmetric
        # cotangent folds onto it
        return np.tril(full + full.T) - np.diag(np.diag(full))
    if cov_arr.ndim == 1:
        return np.diag(full)
    return float(np.trace(full))


def mvn_logpdf_adjoint(g, x, mean, cov):
    """The cotangents (x, mean, cov) of ``scipy.stats.multivariate_normal.logpdf(x, mean,
    cov)`` given its cotangent ``g`` (one number per point):
    dx = -g r, dmean = sum of g r, dcov = (r^T diag(g) r - sum(g) P) / 2, r = (x - mean) P,
    a matrix's folded onto its lower triangle, the one SciPy reads."""
    d, precision, r, _ = _mvn_parts(x, mean, cov)
    g = np.asarray(g, dtype=float)
    weighted = g[..., None] * r
    points = weighted.reshape(-1, r.shape[-1])
    dx = match_dtype(np.reshape(-weighted, np.shape(x)), x)
    dmean = None if mean is None else match_dtype(
        np.reshape(points.sum(axis=0), np.shape(mean)), mean)
    rows = r.reshape(-1, r.shape[-1])
    full = 0.5 * (rows.T @ (g.reshape(-1)[:, None] * rows) - np.sum(g) * precision)
    return dx, dmean, match_dtype(_cov_like(full, cov), cov)


def mvn_logpdf_tangent(dx, dmean, dcov, x, mean, cov):
    """The tangent of ``multivariate_normal.logpdf(x, mean, cov)``: -r.dx + r.dmean
    + (r dcov r^T - tr(P dcov)) / 2."""
    d, precision, r, matrix = _mvn_parts(x, mean, cov)
    out = -np.sum(r * dx, axis=-1) + np.sum(r * dmean, axis=-1)
    dcov = np.asarray(dcov, dtype=float)
    dfull = (np.tril(dcov) + np.tril(dcov, -1).T if dcov.ndim == 2    # the lower triangle
             else np.diag(dcov) if dcov.ndim == 1 else dcov * np.eye(matrix.shape[0]))
    out = out + 0.5 * (np.sum((r @ dfull) * r, axis=-1) - np.sum(precision * dfull.T))
    return match_dtype(out, x)


# --- weighted averages --------------------------------------------------------------------

def _average_weights(a, axis, weights):
    """``weights`` shaped to broadcast against ``a`` (a 1-D one lies along ``axis``)."""
    shape = np.shape(a)
    if np.shape(weights) == shape:
        return weights if other_library(weights) else np.asarray(weights)
    if np.ndim(weights) == 1 and axis is not None and np.ndim(axis) == 0:
        along = [1] * len(shape)
        along[axis % len(shape)] = size_of(weights)
        return np.reshape(weights, along)
    raise TypeError("s2s differentiates np.average with weights shaped like a, or 1-D "
                    "along one axis")


def _restore(g, a, axis, keepdims):
    if keepdims or axis is None:
        return g
    return np.expand_dims(g, normalize_axes(axis, np.ndim(a)))


def average_adjoint(g, a, axis, weights, returned, keepdims, operand):
    """Cotangent of ``a`` (``operand`` 0) or ``weights`` (1) for
    ``np.average(a, axis, weights, returned, keepdims=keepdims)``.

    avg = sum(w a) / sum(w): d avg / d a = w / sum(w), d avg / d w = (a - avg) / sum(w);
    with ``returned``, the second result sum(w) has d / d w = 1."""
    if not other_library(a):
        a = np.asarray(a)
    if returned:
        g, gsum = g
    if weights is None:
        w = np.ones_like(a, dtype=np.result_type(a, 1.0))
    else:
        w = _average_weights(a, axis, weights)
    total = np.sum(np.broadcast_to(w, a.shape), axis=axis, keepdims=True)
    g = _restore(g, a, axis, keepdims)
    if operand == 0:
        return match_dtype(np.broadcast_to(g * w / total, a.shape), a)
    average = np.sum(a * w, axis=axis, keepdims=True) / total
    dw = g * (a - average) / total
    if returned and gsum is not None:
        dw = dw + _restore(gsum, a, axis, keepdims)
    return unbroadcast(np.reshape(unbroadcast(dw, w), np.shape(weights)), weights)


def average_tangent(da, dweights, a, axis, weights, returned, keepdims):
    """Tangent of ``np.average(a, axis, weights, returned, keepdims=keepdims)`` (a tuple
    with ``returned``); a zero tangent may come as 0.0."""
    if not other_library(a):
        a = np.asarray(a)
    if weights is None:
        w, dw = np.ones_like(a, dtype=np.result_type(a, 1.0)), 0.0
    else:
        w = _average_weights(a, axis, weights)
        dw = np.reshape(dweights, np.shape(w)) if np.ndim(dweights) else dweights
    total = np.sum(np.broadcast_to(w, a.shape), axis=axis, keepdims=keepdims)
    average = np.sum(a * w, axis=axis, keepdims=True) / np.sum(
        np.broadcast_to(w, a.shape), axis=axis, keepdims=True)
    numerator = np.sum(np.broadcast_to(da * w + (a - average) * dw, a.shape), axis=axis,
                       keepdims=keepdims)
    daverage = match_dtype(numerator / total, a)
    if not returned:
        return daverage
    dtotal = np.sum(np.broadcast_to(dw, a.shape), axis=axis, keepdims=keepdims)
    return daverage, np.broadcast_to(dtotal, np.shape(daverage))


# --- covariance and correlation -----------------------------------------------------------

def _cov_layout(m, y, rowvar):
    """The variables of ``np.cov(m, y, rowvar)`` as rows of one 2-D array (as NumPy lays
    them out), and how many rows come from m."""
    x = np.atleast_2d(np.asarray(m))
    if not rowvar and np.ndim(m) != 1:
        x = x.T
    first = x.shape[0]
    if y is not None:
        rows = np.atleast_2d(np.asarray(y))
        x = np.concatenate([x, rows.T if not rowvar and rows.shape[0] != 1 else rows])
    return x, first


def _cov_weights(n, bias, ddof, fweights, aweights):
    """The weight of each observation and the normalization of ``np.cov``."""
    w = np.ones(n)
    if fweights is not None:
        w = w * np.asarray(fweights)
    if aweights is not None:
        w = w * np.asarray(aweights)
    if ddof is None:
        ddof = 0 if bias else 1
    total = np.sum(w)
    if aweights is None:
        fact = total - ddof
    else:
        fact = total - ddof * np.sum(w * np.asarray(aweights)) / total
    return w, total, fact


def _cov_parts(dx, m, y, first, rowvar):
    """``dx`` (rows as _cov_layout lays them out) cut back into m's and y's shapes."""
    dm = dx[:first].T if not rowvar and np.ndim(m) != 1 else dx[:first]
    dm = match_dtype(np.reshape(dm, np.shape(m)), m)
    if y is None:
        return dm, None
    dy = dx[first:]
    if not rowvar and np.atleast_2d(y).shape[0] != 1:
        dy = dy.T
    return dm, match_dtype(np.reshape(dy, np.shape(y)), y)


def cov_adjoint(g, m, y, rowvar, bias, ddof, fweights, aweights, operand):
    """Cotangent of ``m`` (``operand`` 0) or ``y`` (1) for ``np.cov``:
    C = Xc W Xc^T / fact, and since the weighted rows of Xc sum to zero,
    dX = (G + G^T) Xc W / fact."""
    x, first = _cov_layout(m, y, rowvar)
    w, total, fact = _cov_weights(x.shape[1], bias, ddof, fweights, aweights)
    centered = x - (x @ w / total)[:, None]
    g = np.reshape(g, (x.shape[0], x.shape[0]))
    dx = (g + g.T) @ (centered * w) / fact
    return _cov_parts(dx, m, y, first, rowvar)[operand]


def cov_tangent(dm, dy, m, y, rowvar, bias, ddof, fweights, aweights):
    """Tangent of ``np.cov``: (dX W Xc^T + Xc W dX^T) / fact (a zero tangent may be 0.0)."""
    x, first = _cov_layout(m, y, rowvar)
    dx, _ = _cov_layout(np.broadcast_to(dm, np.shape(m)),
                        None if y is None else np.broadcast_to(dy, np.shape(y)), rowvar)
    w, total, fact = _cov_weights(x.shape[1], bias, ddof, fweights, aweights)
    centered = x - (x @ w / total)[:, None]
    product = (dx * w) @ centered.T / fact
    d = product + product.T
    return np.squeeze(d)


def cov_weights_error(weights):
    """Differentiating the weights of ``np.cov``: no rule yet."""
    raise TypeError("s2s differentiates np.cov and np.corrcoef in m and y; differentiated "
                    "aweights have no rule yet")


def corrcoef_adjoint(g, x, y, rowvar, result, operand):
    """Cotangent of ``x`` (``operand`` 0) or ``y`` (1) for ``result = np.corrcoef(x, y)``:
    R = C / (s s^T) with s = sqrt(diag C), so the cotangent of C is G / (s s^T) less, on
    the diagonal, the rows and columns of G R divided by 2 s^2."""
    c = np.atleast_2d(np.cov(x, y, rowvar))
    s = np.sqrt(np.diag(c))
    g = np.reshape(g, c.shape)
    r = np.reshape(result, c.shape)
    weighted = g * r
    dc = g / np.outer(s, s) - np.diag((weighted.sum(axis=0) + weighted.sum(axis=1))
                                      / (2.0 * s * s))
    return cov_adjoint(dc, x, y, rowvar, False, None, None, None, operand)


def corrcoef_tangent(dx, dy, x, y, rowvar, result):
    """Tangent of ``result = np.corrcoef(x, y)``: dR = dC / (s s^T) - R (ds_i/s_i + ds_j/s_j)."""
    c = np.atleast_2d(np.cov(x, y, rowvar))
    dc = np.atleast_2d(cov_tangent(dx, dy, x, y, rowvar, False, None, None, None))
    s = np.sqrt(np.diag(c))
    relative = np.diag(dc) / (2.0 * s * s)
    r = np.reshape(result, c.shape)
    d = dc / np.outer(s, s) - r * (relative[:, None] + relative[None, :])
    return np.reshape(d, np.shape(result))
