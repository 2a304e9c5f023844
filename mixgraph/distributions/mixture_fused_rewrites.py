"""Graph rewrites and Numba registration of :class:`~mixture_fused.FusedMixtureLogp`.

* ``sum_of_fused_mixture`` (canonicalize, so before differentiation in
  :func:`mixgraph.compile.logp_dlogp_graph`): the sum over every observation
  of the per-observation fused log-density becomes the reduced op, whose
  gradient is one more reduced node that returns the gradients as well.
* ``merge_fused_mixtures`` (specialize, after differentiation): reduced
  nodes on the same inputs become one node that computes the log-density and
  only the gradients that some node uses, so that logp and gradient cost one
  pass over the data.

The Numba implementation is the generated kernel; its cache key is the op's
props (the kernel's source is a function of them alone) and
:data:`CACHE_VERSION`, so a model that uses it is cached on disk.
"""

from __future__ import annotations

from pytensor.graph.rewriting.basic import node_rewriter
from pytensor.link.numba.dispatch import basic as numba_basic
from pytensor.link.numba.dispatch.basic import register_funcify_default_op_cache_key
from pytensor.tensor.elemwise import DimShuffle
from pytensor.tensor.math import Sum
from pytensor.tensor.rewriting.basic import register_canonicalize, register_specialize
from pytensor.tensor.shape import Reshape, SpecifyShape

from mixgraph.distributions.mixture_fused import FusedMixtureLogp, python_function, source_version
from mixgraph.distributions.mixture_fused_threads import start_threading_layer

__all__ = ["sum_of_fused_mixture", "merge_fused_mixtures", "CACHE_VERSION"]

CACHE_VERSION = 6
"""Part of the Numba cache key of the kernels; change it when the generated source changes."""

_TRANSPARENT = (Reshape, DimShuffle, SpecifyShape)


def _fused_source(variable):
    """The per-observation fused node under reshapes and dimension shuffles, or None."""
    while variable.owner is not None and isinstance(variable.owner.op, _TRANSPARENT):
        op = variable.owner.op
        if isinstance(op, DimShuffle) and op.drop:
            return None  # dropping an axis of length 1 is fine, but keep the match simple
        variable = variable.owner.inputs[0]
    owner = variable.owner
    if owner is not None and isinstance(owner.op, FusedMixtureLogp) and not owner.op.reduce:
        return owner
    return None


@register_canonicalize
@node_rewriter([Sum])
def sum_of_fused_mixture(fgraph, node):
    """``sum(fused per-observation log-density)`` over every axis: the reduced fused op."""
    (summed,) = node.inputs
    axis = node.op.axis
    if axis is not None and sorted(axis) != list(range(summed.ndim)):
        return None
    source = _fused_source(summed)
    if source is None or node.outputs[0].dtype != "float64":
        return None
    op = source.op
    reduced = FusedMixtureLogp(op.families, op.shared, (), True, op.parallel_threshold)(*source.inputs)
    return [reduced[0] if isinstance(reduced, list) else reduced]


def _used_gradients(fgraph, node) -> set[int]:
    return {
        index for index, output in zip(node.op.wanted, node.outputs[1:]) if fgraph.clients.get(output)
    }


@register_specialize
@node_rewriter([FusedMixtureLogp])
def merge_fused_mixtures(fgraph, node):
    """One reduced node per set of inputs, computing only the gradients in use."""
    op = node.op
    if not op.reduce:
        return None
    group = [
        client for client, _ in fgraph.clients.get(node.inputs[0], [])
        if isinstance(client.op, FusedMixtureLogp) and client.op.reduce
        and client.op.families == op.families and client.op.shared == op.shared
        and client.op.parallel_threshold == op.parallel_threshold
        and client.inputs == node.inputs
    ]
    needed = tuple(sorted(set().union(*[_used_gradients(fgraph, member) for member in group])))
    if needed == op.wanted and len(group) == 1:
        return None
    existing = [member for member in group if member.op.wanted == needed]
    if existing and existing[0] is node:
        return None
    merged = existing[0] if existing else FusedMixtureLogp(op.families, op.shared, needed, True,
                                                                    op.parallel_threshold).make_node(*node.inputs)
    by_index = dict(zip(merged.op.wanted, merged.outputs[1:]))
    replacements = {node.outputs[0]: merged.outputs[0]}
    for index, output in zip(op.wanted, node.outputs[1:]):
        if index in by_index:
            replacements[output] = by_index[index]
    return replacements


@register_funcify_default_op_cache_key(FusedMixtureLogp)
def numba_funcify_fused_mixture(op, node=None, **kwargs):
    """The generated one-pass kernel of ``op``, jitted for PyTensor's Numba backend."""
    start_threading_layer()  # before any cached caller of the parallel kernel loads (see its docstring)
    kernel = python_function(op.families, op.shared, op.wanted, op.reduce, op.parallel_threshold)
    version = CACHE_VERSION * 2**48 + source_version(op.families, op.shared, op.wanted, op.reduce)
    return numba_basic.numba_njit(kernel, error_model="numpy"), version
