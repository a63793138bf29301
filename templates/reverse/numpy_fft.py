"""Reverse-mode rules of ``np.fft``.

A complex transform's matrix is symmetric, so under s2s's convention (a complex-linear map's
cotangent is its transpose applied, with no conjugate) the adjoint of a transform is the same
transform of the cotangent, with the same ``norm``; ``resized`` undoes what ``n`` or ``s``
did to the input (cut or padded), and keeps the real part for a real input. The real
transforms and the shifts are transposed by hand. The math is in ``s2s/runtime/fft_helpers.py``.

    y = np.fft.fft(a, n=8)     ->    da = resized(np.fft.fft(dy), a, -1)
"""
import numpy as np

from s2s.runtime.fft_helpers import (fft_axes, hfft_adjoint, ihfft_adjoint, irfft_adjoint,
                                     irfftn_adjoint, resized, rfft_adjoint, rfftn_adjoint)
from s2s.rules import adjoint


@adjoint(np.fft.fft)
def fft(a, n=None, axis=-1, norm=None):
    da = resized(np.fft.fft(dresult, axis=axis, norm=norm), a, axis)


@adjoint(np.fft.ifft)
def ifft(a, n=None, axis=-1, norm=None):
    da = resized(np.fft.ifft(dresult, axis=axis, norm=norm), a, axis)


@adjoint(np.fft.fft2)
def fft2(a, s=None, axes=(-2, -1), norm=None):
    da = resized(np.fft.fftn(dresult, axes=axes, norm=norm), a, axes)


@adjoint(np.fft.ifft2)
def ifft2(a, s=None, axes=(-2, -1), norm=None):
    da = resized(np.fft.ifftn(dresult, axes=axes, norm=norm), a, axes)


@adjoint(np.fft.fftn)
def fftn(a, s=None, axes=None, norm=None):
    transformed = fft_axes(np.ndim(a), s, axes)
    da = resized(np.fft.fftn(dresult, axes=transformed, norm=norm), a, transformed)


@adjoint(np.fft.ifftn)
def ifftn(a, s=None, axes=None, norm=None):
    transformed = fft_axes(np.ndim(a), s, axes)
    da = resized(np.fft.ifftn(dresult, axes=transformed, norm=norm), a, transformed)


@adjoint(np.fft.rfft)
def rfft(a, n=None, axis=-1, norm=None):
    da = rfft_adjoint(dresult, a, n, axis, norm)


@adjoint(np.fft.irfft)
def irfft(a, n=None, axis=-1, norm=None):
    da = irfft_adjoint(dresult, a, n, axis, norm)


@adjoint(np.fft.rfft2)
def rfft2(a, s=None, axes=(-2, -1), norm=None):
    da = rfftn_adjoint(dresult, a, s, axes, norm)


@adjoint(np.fft.irfft2)
def irfft2(a, s=None, axes=(-2, -1), norm=None):
    da = irfftn_adjoint(dresult, a, s, axes, norm)


@adjoint(np.fft.rfftn)
def rfftn(a, s=None, axes=None, norm=None):
    da = rfftn_adjoint(dresult, a, s, axes, norm)


@adjoint(np.fft.irfftn)
def irfftn(a, s=None, axes=None, norm=None):
    da = irfftn_adjoint(dresult, a, s, axes, norm)


@adjoint(np.fft.hfft)
def hfft(a, n=None, axis=-1, norm=None):
    da = hfft_adjoint(dresult, a, n, axis, norm)


@adjoint(np.fft.ihfft)
def ihfft(a, n=None, axis=-1, norm=None):
    da = ihfft_adjoint(dresult, a, n, axis, norm)


@adjoint(np.fft.fftshift)
def fftshift(x, axes=None):
    dx = np.fft.ifftshift(dresult, axes)


@adjoint(np.fft.ifftshift)
def ifftshift(x, axes=None):
    dx = np.fft.fftshift(dresult, axes)
