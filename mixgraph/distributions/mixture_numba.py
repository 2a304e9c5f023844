"""Numba (nopython) draws for :class:`~mixgraph.distributions.mixture_op.MixtureRV`.

PyTensor's Numba backend draws a random variable by vectorising a *core*
function ``(rng, *core_parameters) -> one draw`` over the batch dimensions
(``numba_core_rv_funcify`` in ``pytensor/link/numba/dispatch/random.py``).
An op without such a function falls back to object mode, which calls Python
(and warns) at every draw. The mixture's core function draws a component
index from the weights and calls that component's own core function, so a
mixture is drawn in nopython mode whenever its components are (nested
mixtures included). Components without a core function (e.g. a custom op)
keep the object-mode fallback.
"""

from __future__ import annotations

from hashlib import sha256
from typing import Any

import numpy as np
import pytensor.tensor as pt
from pytensor.link.numba.dispatch import basic as numba_basic
from pytensor.link.numba.dispatch.random import numba_core_rv_funcify
from pytensor.link.utils import compile_function_src

from mixgraph.distributions.discrete_bounded import DiracDeltaRV
from mixgraph.distributions.mixture_op import MixtureRV

__all__ = ["mixture_core_draw", "dirac_delta_core_draw"]


def _core_function(op: Any, parameter_ndims: list[int]) -> tuple[Any, int | None]:
    """A component op's core draw function and cache key, for parameters of these core ndims."""
    rng = pt.random.type.random_generator_type()
    parameters = [pt.tensor(dtype="float64", shape=(None,) * ndim) for ndim in parameter_ndims]
    node = op.make_node(rng, None, *parameters)
    result = numba_core_rv_funcify(op, node)
    if isinstance(result, tuple):
        return result
    return result, 0  # functions without a key of their own are determined by the op's props


def _index_lines() -> list[str]:
    # the same draw as MixtureRV.rng_fn: the first component whose cumulative
    # weight exceeds a uniform draw on [0, total weight); loops, so that no
    # array is allocated per element
    return [
        "    count = weights.shape[0]",
        "    total = 0.0",
        "    for k in range(count):",
        "        total += weights[k]",
        "    uniform = rng.uniform(0.0, 1.0) * total",
        "    index = count - 1",
        "    running = 0.0",
        "    for k in range(count):",
        "        running += weights[k]",
        "        if running > uniform:",
        "            index = k",
        "            break",
    ]


def _list_source(counts: list[int]) -> str:
    names, lines, start = [], [], 0
    for component, count in enumerate(counts):
        group = [f"p{start + i}" for i in range(count)]
        names += group
        keyword = "if" if component == 0 else "elif"
        lines += [f"    {keyword} index == {component}:", f"        return f{component}(rng, {', '.join(group)})"]
        start += count
    lines.append(f"    return f{len(counts) - 1}(rng, {', '.join(names[start - counts[-1]:])})")
    return "\n".join(["def mixture_draw(rng, weights, " + ", ".join(names) + "):", *_index_lines(), *lines])


def _batched_source(count: int) -> str:
    names = [f"p{i}" for i in range(count)]
    # a parameter shared by every component has length 1 on the mixture axis
    picked = [f"{name}[index if {name}.shape[0] > 1 else 0]" for name in names]
    return "\n".join([
        "def mixture_draw(rng, weights, " + ", ".join(names) + "):",
        *_index_lines(),
        f"    return f0(rng, {', '.join(picked)})",
    ])


def mixture_core_draw(op: MixtureRV, node: Any) -> tuple[Any, int | None]:
    """The core draw of one mixture element (nopython), and its cache key."""
    functions, keys = [], []
    for component in op.component_ops:
        function, key = _core_function(component, list(component.ndims_params))
        functions.append(function)
        keys.append(key)
    counts = [len(component.ndims_params) for component in op.component_ops]
    source = _batched_source(counts[0]) if op.batched else _list_source(counts)
    namespace = {"np": np, **{f"f{i}": function for i, function in enumerate(functions)}}
    draw = numba_basic.numba_njit(compile_function_src(source, "mixture_draw", namespace))
    if any(key is None for key in keys):
        return draw, None
    digest = sha256(str((source, tuple(keys), op._props_dict())).encode()).hexdigest()
    return draw, int(digest[:15], 16)


def dirac_delta_core_draw(op: DiracDeltaRV, node: Any) -> Any:
    """Core draw of a point mass: the point itself, in the op's dtype."""
    dtype = np.dtype(op.dtype)

    @numba_basic.numba_njit
    def dirac_delta_draw(rng, c):
        return dtype.type(c)

    return dirac_delta_draw


numba_core_rv_funcify.register(MixtureRV)(mixture_core_draw)
numba_core_rv_funcify.register(DiracDeltaRV)(dirac_delta_core_draw)
