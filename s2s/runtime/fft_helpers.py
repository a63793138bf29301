"""Helpers of the rules of ``np.fft`` (templates/reverse/numpy_fft.py).

Every discrete Fourier transform is linear. The complex transforms (``fft``, ``ifft``,
``fftn`` ...) are complex-linear maps whose matrices are symmetric, so under s2s's convention
(the cotangent of a complex ``z`` is dL/dRe(z) - 1j dL/dIm(z); a complex-linear map's vector-
Jacobian product is its transpose, with no conjugate) the adjoint of a transform is the same
transform of the cotangent, with the same ``norm``. What ``n`` or ``s`` did to the input (cut
it or pad it with zeros) the adjoint undoes on the cotangent (pads it or cuts it):

    y = np.fft.fft(a, n=8)     # a has 5 entries: padded to 8
    da = resized(np.fft.fft(dy), a, -1)       # the first 5 entries of fft(dy)

The real transforms are only real-linear: ``rfft`` keeps half of a real input's spectrum and
``irfft`` drops the imaginary parts it cannot represent; their adjoints are below.
"""
from __future__ import annotations

import numpy as np

from s2s.runtime.numpy_helpers import match_dtype

#: The norm whose scale factor is the other's: a transform's transpose with the opposite
#: direction of the exponent (rfft <-> irfft) scales by the transpose's norm.
_DUAL_NORM = {None: "forward", "backward": "forward", "forward": "backward", "ortho": "ortho"}


def fft_axes(ndim, s, axes):
    """The axes ``np.fft.fftn(a, s, axes)`` of an ``a`` with ``ndim`` dimensions transforms,
    as a tuple: all of them, or the last ``len(s)`` when ``s`` is given without ``axes``."""
    if axes is not None:
        return tuple(axes)
    return tuple(range(0 if s is None else ndim - len(s), ndim))


def resized(g, x, axes):
    """``g`` cut or padded with zeros to the length ``x`` has along each of ``axes``, in
    ``x``'s dtype: the transpose of the cut or padding ``n`` and ``s`` apply to the input.

    A real ``x`` gets the real part of a complex ``g`` (a real primal's cotangent)."""
    shape = np.shape(x)
    for axis in ((axes,) if isinstance(axes, int) else axes):
        g = _fit(g, axis, shape[axis])
    if np.iscomplexobj(g) and not np.iscomplexobj(x):
        g = np.real(g)
    return match_dtype(g, x)


def rfft_adjoint(g, a, n, axis, norm):
    """The cotangent of the real ``a`` in ``y = np.fft.rfft(a, n, axis, norm)``.

    ``rfft`` is ``fft`` of the padded or cut input, keeping the first ``n // 2 + 1`` entries;
    its transpose puts ``g`` in those entries of zeros, transforms it with ``fft`` and keeps
    the real part (``a`` is real)."""
    n = np.shape(a)[axis] if n is None else n
    return resized(np.fft.fft(_fit(g, axis, n), axis=axis, norm=norm), a, axis)


def irfft_adjoint(g, a, n, axis, norm):
    """The cotangent of ``a`` in the real ``y = np.fft.irfft(a, n, axis, norm)``.

    ``irfft`` reads the first ``m = n // 2 + 1`` entries of ``a`` as half of a Hermitian
    spectrum: ``y[j] = scale * sum_k c[k] * Re(a[k] * exp(2j pi j k / n))`` with ``c[k] = 2``
    except at 0 and (n even) at ``n // 2``, where it is 1 (the imaginary parts there are
    dropped). So dL/dRe(a[k]) - 1j dL/dIm(a[k]) = scale * c[k] * sum_j g[j] exp(2j pi j k / n),
    which is ``c * conj(rfft(g))`` with the scale of the dual norm."""
    return resized(_irfft_transpose(g, np.shape(a)[axis], n, axis, norm), a, axis)


def _irfft_transpose(g, m, n, axis, norm):
    """``irfft_adjoint`` for an input with ``m`` entries along ``axis``, before its length and
    dtype are matched: ``n // 2 + 1`` complex entries."""
    n = 2 * (m - 1) if n is None else n
    half = np.conj(np.fft.rfft(np.real(g), axis=axis, norm=_DUAL_NORM[norm]))
    weights = np.full(n // 2 + 1, 2.0)
    weights[0] = 1.0
    if n % 2 == 0:
        weights[-1] = 1.0
    shape = [1] * np.ndim(g)
    shape[axis] = n // 2 + 1
    return half * np.reshape(weights, shape)


def rfftn_adjoint(g, a, s, axes, norm):
    """The cotangent of the real ``a`` in ``y = np.fft.rfftn(a, s, axes, norm)``, which is
    ``rfft`` along the last of ``axes`` and then ``fftn`` along the others: their adjoints in
    the opposite order."""
    transformed = fft_axes(np.ndim(a), s, axes)
    others, last = transformed[:-1], transformed[-1]
    g = np.fft.fftn(g, axes=others, norm=norm)
    for axis in others:
        g = _fit(g, axis, np.shape(a)[axis])
    return rfft_adjoint(g, a, None if s is None else s[-1], last, norm)


def irfftn_adjoint(g, a, s, axes, norm):
    """The cotangent of ``a`` in the real ``y = np.fft.irfftn(a, s, axes, norm)``, which is
    ``ifftn`` along all of ``axes`` but the last and then ``irfft`` along the last."""
    transformed = fft_axes(np.ndim(a), s, axes)
    others, last = transformed[:-1], transformed[-1]
    g = _irfft_transpose(g, np.shape(a)[last], None if s is None else s[-1], last, norm)
    g = _fit(g, last, np.shape(a)[last])
    return resized(np.fft.ifftn(g, axes=others, norm=norm), a, others)


def hfft_adjoint(g, a, n, axis, norm):
    """The cotangent of ``a`` in ``y = np.fft.hfft(a, n, axis, norm)``, which is ``irfft`` of
    ``conj(a)`` with the dual norm: the conjugate of irfft's adjoint."""
    return np.conj(irfft_adjoint(g, a, n, axis, _DUAL_NORM[norm]))


def ihfft_adjoint(g, a, n, axis, norm):
    """The cotangent of the real ``a`` in ``y = np.fft.ihfft(a, n, axis, norm)``, which is
    ``conj(rfft(a))`` with the dual norm: rfft's adjoint of the conjugate cotangent."""
    return rfft_adjoint(np.conj(g), a, n, axis, _DUAL_NORM[norm])


def _fit(g, axis, length):
    """``g`` cut to ``length`` entries along ``axis``, or padded with zeros to it."""
    have = np.shape(g)[axis]
    if have > length:
        return g[(slice(None),) * (axis % np.ndim(g)) + (slice(0, length),)]
    if have < length:
        # written into zeros rather than joined to them: on Dask, a join would add a chunk
        # along the axis, which Dask's FFTs refuse
        shape = list(np.shape(g))
        shape[axis] = length
        padded = np.zeros_like(g, shape=shape)
        padded[(slice(None),) * (axis % np.ndim(g)) + (slice(0, have),)] = g
        return padded
    return g
