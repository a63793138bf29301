"""Forward-mode rules of ``np.fft``: every transform and shift is linear, so its tangent is
the same call on the input's tangent (parameters from ``templates/reverse/numpy_fft.py``).

    y = np.fft.rfft(a, n=8)     ->    dy = np.fft.rfft(da, n=n)
"""
import numpy as np

from s2s.rules import linear

linear(np.fft.fft, np.fft.ifft, np.fft.fft2, np.fft.ifft2, np.fft.fftn, np.fft.ifftn,
       np.fft.rfft, np.fft.irfft, np.fft.rfft2, np.fft.irfft2, np.fft.rfftn, np.fft.irfftn,
       np.fft.hfft, np.fft.ihfft, np.fft.fftshift, np.fft.ifftshift)
