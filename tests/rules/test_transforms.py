"""The rules of s2s's own transforms (s2s/api/composition.py): ``s2s.jvp`` and ``s2s.vjp``
called inside a differentiated program, audited in both modes against finite differences."""
import numpy as np

import s2s
import s2s.compiler.pipeline
from tests.rules.audit import audit


def sin_times(x, w):
    return np.sin(x) * w


X, W = np.array([0.3, -1.1, 0.8]), np.array([1.5, 0.4, -0.7])
T, U = np.array([0.2, 1.0, -0.5]), np.array([-1.2, 0.6, 0.9])

AUDIT = [
    audit(s2s.jvp, """
        out, tangent = s2s.jvp(sin_times, (x, w), (t, u))
        return out * tangent
    """, x=X, w=W, t=T, u=U, given={"sin_times": sin_times}),
    audit(s2s.jvp, """
        out, tangent = s2s.jvp(np.tanh, (x,), (t,))
        return tangent + out
    """, x=X, t=T, note="a primitive as the function"),
    audit(s2s.vjp, """
        out, pullback = s2s.vjp(sin_times, x, w)
        gx, gw = pullback(u)
        return gx * out + gw
    """, x=X, w=W, u=U, given={"sin_times": sin_times}),
    audit(s2s.vjp, """
        out, pullback = s2s.vjp(np.exp, x)
        return pullback(u)[0] * 2.0
    """, x=X, u=U, note="a primitive as the function"),
]


def apply(h, x):
    return h(x) * x


def passes_a_function(x):
    return apply(np.tanh, x)


def calls_a_function_passed_in(x, h=np.tanh):
    return h(x) * x


# the run-time dispatch in generated code (a function passed in), transformed again
AUDIT += [
    audit(s2s.compiler.pipeline.call_jvp, """
        out, tangent = s2s.jvp(passes_a_function, (x,), (t,))
        return tangent * out
    """, x=X, t=T, given={"passes_a_function": passes_a_function}),
    audit(s2s.compiler.pipeline.call_vjp, """
        out, pullback = s2s.vjp(passes_a_function, x)
        return pullback(u)[0] * out
    """, x=X, u=U, given={"passes_a_function": passes_a_function}, modes="forward",
          note="reverse over reverse through a callee's pullback is not supported yet"),
    audit(s2s.compiler.pipeline.call_vjp, """
        out, pullback = s2s.vjp(calls_a_function_passed_in, x)
        return pullback(u)[0] * out
    """, x=X, u=U, given={"calls_a_function_passed_in": calls_a_function_passed_in}),
]
