"""The kinds of a function's local names, as Numba's type inference finds them.

In: a plain Python function in the Numba dialect and the Numba types of its arguments. Out:
``{name: kind}`` for the names ``fusion`` can put in a loop over elements: ``"float64"`` or
``"complex128"`` for 1-D arrays of that dtype (any layout), ``"scalar"`` for numbers. A name
Numba gives several types (its SSA versions ``x``, ``x.1``, ...) or another type is left
out. Only Numba's front end and type inference run (a few tenths of a second), not its code
generation.
"""
from __future__ import annotations

import re
from typing import Dict, Optional

from numba.core import compiler, types
from numba.core.compiler_machinery import FunctionPass, register_pass
from numba.core.registry import cpu_target
from numba.core.typed_passes import NopythonTypeInference

_VERSION = re.compile(r"\.\d+$")


@register_pass(mutates_CFG=False, analysis_only=True)
class _KeepTypes(FunctionPass):
    """Ends the pipeline after type inference, with the types as its result."""
    _name = "s2s_keep_types"

    def __init__(self):
        FunctionPass.__init__(self)

    def run_pass(self, state):
        state.cr = dict(state.typemap)
        return False


class _TypesOnly(compiler.CompilerBase):
    def define_pipelines(self):
        manager = compiler.DefaultPassBuilder.define_untyped_pipeline(self.state)
        manager.add_pass(NopythonTypeInference, "nopython frontend")
        manager.add_pass(_KeepTypes, "keep the types")
        manager.finalize()
        return [manager]


def local_kinds(function, argument_types: tuple) -> Dict[str, str]:
    """The kinds of ``function``'s names for these argument types (see the module
    docstring); raises Numba's error where its type inference fails."""
    typing, target = cpu_target.typing_context, cpu_target.target_context
    typing.refresh()
    target.refresh()
    flags = compiler.Flags()
    flags.nrt = True
    typemap = compiler.compile_extra(typing, target, function, argument_types, None, flags,
                                     {}, pipeline_class=_TypesOnly)
    found: Dict[str, set] = {}
    for variable, numba_type in typemap.items():
        if variable.startswith(("$", "arg.")):
            continue
        found.setdefault(_VERSION.sub("", variable), set()).add(_kind(numba_type))
    return {name: kinds.pop() for name, kinds in found.items()
            if len(kinds) == 1 and None not in kinds}


def _kind(numba_type) -> Optional[str]:
    if isinstance(numba_type, types.Array) and numba_type.ndim == 1:
        dtype = str(numba_type.dtype)
        return dtype if dtype in ("float64", "complex128") else None
    if isinstance(numba_type, (types.Float, types.Complex)) or \
            isinstance(numba_type, types.Integer) and not isinstance(numba_type, types.Boolean):
        return "scalar"
    return None
