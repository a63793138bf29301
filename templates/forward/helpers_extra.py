"""Rules of ``broadcast_like``, the helper forward mode itself puts into generated code.

``broadcast_like(t, x)`` gives a tangent ``x``'s shape where a zero term dropped at transform
time took it (see ``s2s.forward``). It is linear in ``t``, and ``x`` only gives a shape, so
differentiating generated tangent code again (forward over forward, reverse over forward)
goes through the same helper one way and through ``unbroadcast`` the other.

    dz = broadcast_like(dx, z)     ->    ddz = broadcast_like(ddx, z)
"""
from s2s.runtime import broadcast_like
from s2s.runtime.numpy_helpers import unbroadcast
from s2s.rules import adjoint, linear


@adjoint(broadcast_like)
def broadcast_like_vjp(tangent, primal):
    dtangent = unbroadcast(dresult, tangent)


linear(broadcast_like)
