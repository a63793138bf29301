"""The rules of ``np.fft`` (reverse/ and forward/numpy_fft.py).

The rule rows and the audit rows (which run each transform through grad, vjp and jvp) check
against finite differences, along the real and the imaginary direction of a complex input.
The first audit rows bring each complex spectrum back to real numbers by ``irfft``; ``n``,
``axis``/``axes``, ``s`` and ``norm`` each appear, with inputs both padded and cut. The shifts are permutations, checked
in the rule harness too.
"""
import numpy as np

from s2s.runtime.fft_helpers import fft_axes
from tests.rules.audit import audit
from tests.rules.harness import case, r, table_tests


def c(*shape):
    """Complex weights, any phase."""
    return r(*shape) + 1j * r(*shape)


ROWS = [
    case(np.fft.fft, c(8), wrt="a"),
    case(np.fft.fft, c(5), 8, wrt="a"),
    case(np.fft.fft, r(6, 3), 4, 0, wrt="a"),
    case(np.fft.fft, c(3, 4), axis=0, norm="ortho", wrt="a"),
    case(np.fft.fft, r(6), norm="forward", wrt="a"),
    case(np.fft.ifft, c(8), wrt="a"),
    case(np.fft.ifft, r(3, 5), 7, norm="ortho", wrt="a"),
    case(np.fft.ifft, c(6, 2), 4, axis=0, norm="forward", wrt="a"),
    case(np.fft.rfft, r(8), wrt="a"),
    case(np.fft.rfft, r(7), wrt="a"),
    case(np.fft.rfft, r(5), 8, wrt="a"),
    case(np.fft.rfft, r(7, 3), 4, 0, norm="ortho", wrt="a"),
    case(np.fft.rfft, r(2, 6), norm="forward", wrt="a"),
    case(np.fft.irfft, c(5), wrt="a"),
    case(np.fft.irfft, c(4), 7, wrt="a"),
    case(np.fft.irfft, c(5, 3), 4, axis=0, norm="ortho", wrt="a"),
    case(np.fft.irfft, c(2, 3), 9, norm="forward", wrt="a"),
    case(np.fft.irfft, r(5), wrt="a"),
    case(np.fft.fft2, c(3, 4), wrt="a"),
    case(np.fft.fft2, r(3, 2, 3), (4, 2), (0, 2), norm="ortho", wrt="a"),
    case(np.fft.ifft2, c(3, 4), norm="forward", wrt="a"),
    case(np.fft.ifft2, r(2, 3, 4), s=(2, 5), wrt="a"),
    case(np.fft.fftn, c(2, 3, 4), wrt="a"),
    case(np.fft.fftn, r(3, 4), (2, 6), (1, 0), wrt="a"),
    case(np.fft.ifftn, c(3, 4), axes=(0,), norm="ortho", wrt="a"),
    case(np.fft.ifftn, r(2, 3, 2), s=(3, 1), axes=(2, 0), wrt="a"),
    case(np.fft.rfft2, r(3, 4), wrt="a"),
    case(np.fft.rfft2, r(2, 3, 5), s=(4, 4), axes=(0, 2), norm="ortho", wrt="a"),
    case(np.fft.rfftn, r(2, 3, 4), wrt="a"),
    case(np.fft.rfftn, r(4, 3), (3, 5), (1, 0), norm="forward", wrt="a"),
    case(np.fft.irfft2, c(3, 3), wrt="a"),
    case(np.fft.irfft2, c(2, 3, 4), s=(4, 5), axes=(0, 2), norm="ortho", wrt="a"),
    case(np.fft.irfftn, c(2, 3, 3), wrt="a"),
    case(np.fft.irfftn, c(4, 3), (3, 5), (1, 0), norm="forward", wrt="a"),
    case(np.fft.irfftn, r(3, 4), s=(2, 6), axes=(0, 1), wrt="a"),
    case(np.fft.hfft, c(5), wrt="a"),
    case(np.fft.hfft, c(3, 4), 7, 0, norm="ortho", wrt="a"),
    case(np.fft.hfft, r(4), 5, norm="forward", wrt="a"),
    case(np.fft.ihfft, r(6), wrt="a"),
    case(np.fft.ihfft, r(2, 5), 8, norm="ortho", wrt="a"),
    case(np.fft.ihfft, r(7, 2), 4, 0, norm="forward", wrt="a"),
    case(np.fft.fftshift, r(5), wrt="x"),
    case(np.fft.fftshift, r(3, 4), axes=1, wrt="x"),
    case(np.fft.fftshift, r(3, 5), axes=(0, 1), wrt="x"),
    case(np.fft.ifftshift, r(5), wrt="x"),
    case(np.fft.ifftshift, r(3, 5), axes=0, wrt="x"),
]

test_rule_matches_finite_differences_in_both_modes, test_float32_stays_float32 = \
    table_tests(ROWS)

fft, ifft, rfft, irfft = np.fft.fft, np.fft.ifft, np.fft.rfft, np.fft.irfft
fft2, ifft2, fftn, ifftn = np.fft.fft2, np.fft.ifft2, np.fft.fftn, np.fft.ifftn

AUDIT = [
    audit((rfft, irfft), "np.fft.irfft(np.fft.rfft(x) * w)", x=r(8), given={"w": c(5)}),
    audit((rfft, irfft), "np.fft.irfft(np.fft.rfft(x, n=9, norm='ortho') * w, n=7)", x=r(6),
          given={"w": c(5)}, note="rfft pads to 9, irfft reads 4 of 5 entries"),
    audit((rfft, irfft), "np.fft.irfft(np.fft.rfft(x, 5, 0) * w, axis=0, norm='forward')",
          x=r(8, 2), given={"w": c(3, 1)}, note="rfft cuts to 5 along axis 0"),
    audit((rfft, irfft), "np.fft.irfft(np.fft.rfft(x, axis=-1, norm='backward') * w, n=11)",
          x=r(2, 10), given={"w": c(6)}, note="irfft pads 6 entries to 11 // 2 + 1 = 6 (odd n)"),
    audit(irfft, "np.fft.irfft(x * w)", x=r(5), given={"w": c(5)}),
    audit(irfft, "np.fft.irfft(x, n=7) * w", x=r(5), given={"w": r(7)},
          note="a real input: its cotangent is the real part"),
    audit(fft, "np.fft.irfft(np.fft.fft(x, n=6)[:4] * w)", x=r(5), given={"w": c(4)}),
    audit(fft, "np.fft.irfft(np.fft.fft(x, 3, axis=0, norm='ortho') * w, axis=0)", x=r(4, 3),
          given={"w": c(3, 3)}, note="fft cuts to 3 along axis 0"),
    audit(ifft, "np.fft.irfft(np.fft.ifft(x, n=10, norm='forward') * w)", x=r(8),
          given={"w": c(10)}),
    audit(ifft, "np.fft.irfft(np.fft.ifft(x, axis=0) * w)", x=r(3, 4), given={"w": c(3, 4)}),
    audit(fft2, "np.fft.irfft(np.fft.fft2(x) * w)", x=r(3, 4), given={"w": c(3, 4)}),
    audit(fft2, "np.fft.irfft(np.fft.fft2(x, s=(4, 2), axes=(0, 2), norm='ortho') * w)",
          x=r(3, 2, 3), given={"w": c(4, 2, 2)}, note="padded along 0, cut along 2"),
    audit(ifft2, "np.fft.irfft(np.fft.ifft2(x, norm='forward') * w)", x=r(2, 3, 4),
          given={"w": c(2, 3, 4)}),
    audit(fftn, "np.fft.irfft(np.fft.fftn(x) * w)", x=r(2, 3, 4), given={"w": c(2, 3, 4)}),
    audit(fftn, "np.fft.irfft(np.fft.fftn(x, s=(3, 5), axes=(1, 0)) * w)", x=r(4, 2),
          given={"w": c(5, 3)}),
    audit(ifftn, "np.fft.irfft(np.fft.ifftn(x, axes=(0,), norm='ortho') * w)", x=r(3, 4),
          given={"w": c(3, 4)}),
    audit(ifftn, "np.fft.irfft(np.fft.ifftn(x, s=(2, 6), axes=(0, 1)) * w)", x=r(3, 4),
          given={"w": c(2, 6)}),
    audit(np.fft.fftshift, "np.fft.fftshift(x) * w", x=r(3, 5), given={"w": r(3, 5)}),
    audit(np.fft.fftshift, "np.fft.fftshift(x, axes=0) * w", x=r(3, 5), given={"w": r(3, 5)}),
    audit(np.fft.ifftshift, "np.fft.ifftshift(x, axes=(0, 1)) * w", x=r(4, 5),
          given={"w": r(4, 5)}),
    # complex inputs and complex outputs: the audit draws complex cotangents and tangents
    audit(fft, "np.fft.fft(z)", z=c(6)),
    audit(fft, "np.fft.fft(z, n=4, axis=0, norm='ortho')", z=c(5, 2)),
    audit(ifft, "np.fft.ifft(z, 7, norm='forward')", z=c(3, 5)),
    audit(rfft, "np.fft.rfft(x, n=7)", x=r(2, 5), note="a real input, a complex output"),
    audit(irfft, "np.fft.irfft(z, n=9, norm='ortho')", z=c(4)),
    audit(irfft, "np.fft.irfft(z, axis=0)", z=c(4, 3)),
    audit(fft2, "np.fft.fft2(z, s=(2, 5))", z=c(3, 4)),
    audit(ifft2, "np.fft.ifft2(z, axes=(0, 2))", z=c(2, 3, 2)),
    audit(fftn, "np.fft.fftn(z, norm='forward')", z=c(2, 3, 2)),
    audit(ifftn, "np.fft.ifftn(z, s=(4,), axes=(1,))", z=c(2, 3)),
    audit((np.fft.fftshift, np.fft.ifftshift), "np.fft.fftshift(np.fft.ifftshift(z) * w)",
          z=c(5), given={"w": c(5)}),
    audit((fft, ifft), "np.abs(np.fft.ifft(np.fft.fft(z) * w)) ** 2", z=c(6), given={"w": c(6)}),
    audit(np.fft.rfft2, "np.fft.rfft2(x, s=(4, 3))", x=r(3, 5)),
    audit(np.fft.rfftn, "np.fft.rfftn(x, axes=(0, 2), norm='ortho')", x=r(3, 2, 4)),
    audit(np.fft.irfft2, "np.fft.irfft2(z)", z=c(3, 4)),
    audit(np.fft.irfftn, "np.fft.irfftn(z, s=(4, 2, 5), axes=(0, 1, 2), norm='forward')", z=c(3, 2, 3)),
    audit(np.fft.irfftn, "np.fft.irfftn(x, axes=(1, 0))", x=r(4, 3),
          note="a real input: its cotangent is the real part"),
    audit(np.fft.hfft, "np.fft.hfft(z, n=7, norm='ortho')", z=c(3, 5)),
    audit(np.fft.hfft, "np.fft.hfft(x, axis=0)", x=r(4, 2), note="a real input"),
    audit(np.fft.ihfft, "np.fft.ihfft(x, 6, norm='forward')", x=r(2, 5)),
    # second order: the helpers the adjoints call (resized, rfft_adjoint ...) differentiated
    audit((rfft, irfft), "np.sum(np.fft.irfft(np.fft.rfft(x, n=7) * w * x[:4]) ** 2)", x=r(5),
          given={"w": c(4)}, order=2),
    audit((fft, ifft), "np.sum(np.abs(np.fft.ifft(np.fft.fft(x, 6, norm='ortho') * x)) ** 3)",
          x=r(6), order=2),
    audit((fftn, ifft2), "np.sum(np.abs(np.fft.ifft2(np.fft.fftn(x, s=(3, 2), axes=(0, 1)) * w)))",
          x=r(2, 3), given={"w": c(3, 2)}, order=2),
    audit((np.fft.rfftn, np.fft.irfftn),
          "np.sum(np.sin(np.fft.irfftn(np.fft.rfftn(x) * x[:, :2], s=(2, 4), axes=(0, 1))))", x=r(2, 3),
          order=2),
    audit((np.fft.fftshift, np.fft.ifftshift),
          "np.sum(np.fft.fftshift(x) * np.fft.ifftshift(x ** 2, axes=0))", x=r(3, 2), order=2),
]


def test_s_without_axes_transforms_the_last_axes():
    assert fft_axes(3, (5, 6), None) == (1, 2)
    assert fft_axes(3, None, None) == (0, 1, 2)
    assert fft_axes(3, None, [2, 0]) == (2, 0)
