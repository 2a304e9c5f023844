"""A fused log-density for mixtures of element-wise components over many observations.

The generic mixture log-density (``mixture_op.mixture_logp``) is a graph of
element-wise operations over an ``N x K`` array: component log-densities, the
log-weights, a maximum, an exponential, a sum, a logarithm, and as many
passes again for the gradient. PyTensor fuses the element-wise steps between
the reductions into ``Composite`` loops but keeps every reduction (the
maximum and the sum over components) as a pass of its own, so that
logp + gradient of a 2-component normal mixture makes about a dozen passes
over ``N``-sized temporaries (``benchmarks/README.md``).

Here a mixture of univariate components from a known family (normal,
Student's t,
Poisson, point mass; so also the zero-inflated Poisson) becomes one op,
:class:`FusedMixtureLogp`, whose Numba kernel makes one pass over the
observations (see :mod:`mixture_fused_source`). The choice is made when the
log-density is built (:func:`mixture_fused_choice.fused_mixture_logp`); any
other mixture keeps the generic graph. Two graph rewrites then finish the job:

* ``sum(fused per-observation log-density)`` becomes the op in its
  reduced form, whose gradient is the same op asked for gradients: one pass
  that returns the log-density and the gradient of every input;
* after differentiation, reduced nodes with the same inputs merge into one,
  which computes only the gradients that are used.

Every parameter is either shared by all observations (all its static
lengths 1) or broadcast to the value's shape (a regression mean): the kernel
reads it once, or once per observation. Parameters that would broadcast the
value to a larger shape, or whose shape cannot be matched statically, keep
the generic graph.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence

import numba
import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.gradient import DisconnectedType
from pytensor.graph.basic import Apply
from pytensor.graph.op import Op
from pytensor.tensor import TensorVariable
from pytensor.tensor.random import basic as random_ops

from mixgraph.distributions.discrete_bounded import DiracDeltaRV
from mixgraph.distributions.mixture_fused_math import exp_nonpositive, log_nonnegative, log_positive_normal
from mixgraph.distributions.mixture_fused_source import FAMILIES, KERNEL_NAME, kernel_source
from mixgraph.distributions.mixture_fused_threads import (
    PARALLEL_OPTIONS,
    PARALLEL_THRESHOLD,
    dispatch_source,
    parallel_threshold,
    start_threading_layer,
    thread_count,
    threshold_in_effect,
)
from mixgraph.distributions.mixture_op import WEIGHT_SUM_TOLERANCE, safe_log, valid_weights
from mixgraph.logprob import check_parameters, parameter_conditions
from mixgraph.numba_special import digamma
from mixgraph.math import logsumexp
from mixgraph.registry import LOGP

__all__ = [
    "FusedMixtureLogp", "generic_mixture_logp", "python_kernel", "serial_kernel",
    "FAMILY_OPS", "PARALLEL_THRESHOLD", "parallel_threshold", "source_version",
]

#: One op instance per supported component family (their log-densities rebuild the generic graph).
FAMILY_OPS = {
    "normal": random_ops.normal,
    "poisson": random_ops.poisson,
    "dirac_delta": DiracDeltaRV(),
    "student_t": random_ops.t,
}

LOG_SQRT_2PI = 0.5 * float(np.log(2.0 * np.pi))

_DIGAMMA = numba.njit(digamma, cache=True, error_model="numpy")  # Student's t: d/dnu, once per call when nu is shared

def kernel_namespace() -> dict:
    """The globals a generated kernel reads (plain constants and modules, so that Numba caches it)."""
    return {"math": __import__("math"), "np": np, "numba": numba, "LOG_SQRT_2PI": LOG_SQRT_2PI,
            "WEIGHT_SUM_TOLERANCE": WEIGHT_SUM_TOLERANCE, "exp_nonpositive": exp_nonpositive,
            "log_positive_normal": log_positive_normal, "log_nonnegative": log_nonnegative, "digamma": _DIGAMMA}


def _block_kernel(families: tuple, shared: tuple, wanted: tuple, reduce: bool, block_loop: str):
    """One generated kernel as a plain Python function."""
    from pytensor.link.utils import compile_function_src

    source = kernel_source(families, shared, wanted, reduce, block_loop)
    return compile_function_src(source, KERNEL_NAME, kernel_namespace())


@functools.lru_cache(maxsize=None)
@functools.lru_cache(maxsize=None)
def _compiled_blocks(families: tuple, shared: tuple, wanted: tuple, reduce: bool, parallel: bool):
    """The generated kernel compiled by Numba, its blocks under ``range`` or ``numba.prange``.

    One dispatcher per layout and process: the dispatching kernel, ``perform``
    and Numba's registration of the op all use the same two copies.
    """
    if parallel:
        return numba.njit(fastmath=False, nogil=True, error_model="numpy", parallel=dict(PARALLEL_OPTIONS))(
            _block_kernel(families, shared, wanted, reduce, "numba.prange"))
    return numba.njit(fastmath=False, nogil=True, error_model="numpy")(
        _block_kernel(families, shared, wanted, reduce, "range"))


def source_version(families: tuple, shared: tuple, wanted: tuple, reduce: bool) -> int:
    """An integer that changes with the kernel's generated source and the arithmetic it inlines.

    Added to the disk-cache key of the op, so that a changed family template or
    math helper cannot load a kernel compiled from the old source.
    """
    import inspect

    from mixgraph.distributions import mixture_fused_math

    parts = [kernel_source(families, shared, wanted, reduce, loop) for loop in ("range", "numba.prange")]
    parts.append(inspect.getsource(mixture_fused_math))
    return int.from_bytes(hashlib.sha256("\n".join(parts).encode()).digest()[:6], "big")


@functools.lru_cache(maxsize=None)
def python_function(families: tuple, shared: tuple, wanted: tuple, reduce: bool,
                    parallel_threshold: int = PARALLEL_THRESHOLD):
    """The kernel as a plain Python function (for Numba to compile).

    The per-observation form is the generated loop itself. The reduced form
    chooses, at each call, between two compiled copies of one source: its
    blocks of observations in turn, or under ``numba.prange`` when there are
    at least ``parallel_threshold`` observations and the calling thread may
    use more than one of Numba's threads (``numba.set_num_threads`` is set
    per thread). Both copies are compiled without ``fastmath``, so that no
    sum is reassociated, and add the blocks' partial sums in block order:
    their results are equal bit for bit, whatever the number of threads.
    """
    from pytensor.link.utils import compile_function_src

    if not reduce:
        return _block_kernel(families, shared, wanted, reduce, "range")
    namespace = {
        "thread_count": thread_count,
        "serial_kernel": _compiled_blocks(families, shared, wanted, reduce, False),
        "parallel_kernel": _compiled_blocks(families, shared, wanted, reduce, True),
    }
    return compile_function_src(dispatch_source(families, int(parallel_threshold)), KERNEL_NAME, namespace)


@functools.lru_cache(maxsize=None)
def python_kernel(families: tuple, shared: tuple, wanted: tuple, reduce: bool,
                  parallel_threshold: int = PARALLEL_THRESHOLD):
    """The kernel as the compiled model calls it (serial or parallel by size), callable from Python."""
    start_threading_layer()
    return numba.njit(python_function(families, shared, wanted, reduce, parallel_threshold), error_model="numpy")


def serial_kernel(families: tuple, shared: tuple, wanted: tuple, reduce: bool):
    """The serial copy alone, callable from Python (``perform``: the same numbers, less to compile)."""
    return _compiled_blocks(tuple(families), tuple(shared), tuple(wanted), bool(reduce), False)


class FusedMixtureLogp(Op):
    """Log-density of a mixture of element-wise components, and its gradient, in one pass.

    Parameters
    ----------
    families : tuple of str
        One key of :data:`mixture_fused_source.FAMILIES` per component.
    shared : tuple of bool
        For the weights, then each component parameter in order: one entry
        for every observation (length 1) or one per observation.
    wanted : tuple of int
        Inputs whose gradient follows the log-density in the outputs.
    reduce : bool
        Output the sum over observations (a scalar) or one value per observation.
    parallel_threshold : int, optional
        Observations from which the reduced form spreads its blocks over
        Numba's threads (default :data:`PARALLEL_THRESHOLD`, or the value set
        by :func:`parallel_threshold` when the op is made).

    Notes
    -----
    Inputs: the value (float64 vector of ``n`` observations), the weights
    (``(1 or n, K)``), every component parameter (float64 vectors of length 1
    or ``n``) and, if a component is Poisson, ``log(x!)`` of the value.
    Invalid weights (off the simplex) or parameters give ``-inf`` and a zero
    gradient, as the generic graph's ``check_parameters``.
    """

    __props__ = ("families", "shared", "wanted", "reduce", "parallel_threshold")

    def __init__(self, families: Sequence[str], shared: Sequence[bool], wanted: Sequence[int] = (),
                 reduce: bool = False, parallel_threshold: int | None = None) -> None:
        self.families, self.shared = tuple(families), tuple(bool(s) for s in shared)
        self.wanted, self.reduce = tuple(int(w) for w in wanted), bool(reduce)
        self.parallel_threshold = threshold_in_effect() if parallel_threshold is None else int(parallel_threshold)
        if self.wanted and not self.reduce:
            raise ValueError("the per-observation form of FusedMixtureLogp returns no gradient")

    def parameter_count(self) -> int:
        return sum(len(FAMILIES[family].parameters) for family in self.families)

    def differentiable(self) -> tuple[int, ...]:
        """Indices of the inputs that carry a gradient."""
        indices = [0] if all(FAMILIES[f].continuous for f in self.families) else []
        indices.append(1)
        position = 2
        for family in self.families:
            for flag in FAMILIES[family].differentiable:
                if flag:
                    indices.append(position)
                position += 1
        return tuple(indices)

    def make_node(self, value, weights, *rest) -> Apply:
        inputs = [pt.as_tensor(value), pt.as_tensor(weights), *[pt.as_tensor(r) for r in rest]]
        expected = 2 + self.parameter_count() + (1 if "poisson" in self.families else 0)
        if len(inputs) != expected:
            raise TypeError(f"FusedMixtureLogp{self.families} takes {expected} inputs, got {len(inputs)}")
        if any(variable.dtype != "float64" for variable in inputs):
            raise TypeError("FusedMixtureLogp takes float64 inputs only")
        if self.reduce:
            outputs = [pt.dscalar()] + [inputs[index].type() for index in self.wanted]
        else:
            outputs = [pt.dvector()]
        return Apply(self, inputs, outputs)

    def perform(self, node, inputs, output_storage) -> None:
        results = serial_kernel(self.families, self.shared, self.wanted, self.reduce)(*inputs)
        results = results if isinstance(results, tuple) else (results,)
        for storage, result in zip(output_storage, results):
            storage[0] = np.asarray(result)

    def connection_pattern(self, node) -> list[list[bool]]:
        differentiable = self.differentiable()
        return [
            [index in differentiable] * (1 + len(self.wanted)) for index in range(len(node.inputs))
        ]

    def pullback(self, inputs, outputs, output_grads):
        differentiable = self.differentiable()
        gradient = output_grads[0]
        contributions: dict[int, list] = {index: [] for index in differentiable}
        if not isinstance(gradient.type, DisconnectedType):
            if self.reduce:
                gradients = FusedMixtureLogp(self.families, self.shared, differentiable, True,
                                             self.parallel_threshold)(*inputs)[1:]
                first = [gradient * partial for partial in gradients]
            else:
                generic = generic_mixture_logp(self.families, inputs[0], inputs[1], inputs[2:])
                wrt = [inputs[index] for index in differentiable]
                first = pytensor.grad(None, wrt, known_grads={generic: gradient})
            for index, term in zip(differentiable, first):
                contributions[index].append(term)
        for index, term in self._second_order(inputs, outputs, output_grads[1:]).items():
            contributions[index].append(term)
        return [
            pt.add(*contributions[index]) if contributions.get(index) else DisconnectedType()()
            for index in range(len(inputs))
        ]

    def _second_order(self, inputs, outputs, cotangents) -> dict:
        """The pullback through the gradient outputs: second derivatives, from the generic graph.

        With cotangents ``v_j`` of the gradient outputs ``g_j = d logp / d input_j``,
        each input ``i`` receives ``d/d input_i sum_j <v_j, g_j>``, the
        Hessian-vector product. The fused kernel has no second derivatives of
        its own: they are taken symbolically through
        :func:`generic_mixture_logp`, which computes the same log-density
        (a Laplace approximation or ``Model.compile_d2logp`` needs them;
        the sampler does not).

        The generic graph and its gradient are built once per node and kept
        on the node's first output (``tag``, with the inputs they were built
        from): a Hessian taken one row at a time pulls back through the same
        node once per row.
        """
        pairs = [(index, cotangent) for index, cotangent in zip(self.wanted, cotangents)
                 if not isinstance(cotangent.type, DisconnectedType)]
        if not pairs:
            return {}
        # kept with the inputs it was built from: a cloned variable copies its tag
        cached_inputs, first = getattr(outputs[0].tag, "generic_gradient", ((), None))
        if first is None or len(cached_inputs) != len(inputs) or any(
                cached is not given for cached, given in zip(cached_inputs, inputs)):
            generic = generic_mixture_logp(self.families, inputs[0], inputs[1], inputs[2:]).sum()
            first = dict(zip(self.wanted, pytensor.grad(generic, [inputs[index] for index in self.wanted])))
            outputs[0].tag.generic_gradient = (tuple(inputs), first)
        product = pt.add(*[(first[index] * cotangent).sum() for index, cotangent in pairs])
        differentiable = self.differentiable()
        second = pytensor.grad(product, [inputs[index] for index in differentiable], disconnected_inputs="ignore",
                               return_disconnected="zero")
        return dict(zip(differentiable, second))


def _component_parameters(families: Sequence[str], parameters: Sequence) -> list[list]:
    groups, start = [], 0
    for family in families:
        count = len(FAMILIES[family].parameters)
        groups.append(list(parameters[start:start + count]))
        start += count
    return groups


def generic_mixture_logp(families: Sequence[str], value, weights, parameters: Sequence) -> TensorVariable:
    """The generic graph of the fused op's per-observation log-density, from the fused op's inputs."""
    groups = _component_parameters(families, parameters)
    logps = [LOGP.get(FAMILY_OPS[family])(value, *group) for family, group in zip(families, groups)]
    stacked = pt.stack([pt.broadcast_to(logp, value.shape) for logp in logps], axis=-1)
    conditions = valid_weights(weights) + parameter_conditions(stacked, value)
    return check_parameters(logsumexp(safe_log(weights) + stacked, axis=-1), *conditions)
