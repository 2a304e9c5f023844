"""The forward algorithm of a hidden Markov model as one op, and its gradient as a second op.

:class:`HMMLogLikelihood` maps log initial probabilities ``(K,)``, log
transition matrices (``(K, K)``, or ``(T - 1, K, K)`` with ``P[t - 1]`` the
transition from state ``z[t - 1]`` to ``z[t]``) and emission
log-likelihoods ``(T, K)`` to the log marginal likelihood

.. math:: \\log \\sum_{z_0, \\dots, z_{T-1}} \\pi_{z_0} e^{\\ell_0(z_0)}
          \\prod_{t=1}^{T-1} P^{(t)}_{z_{t-1} z_t} e^{\\ell_t(z_t)}.

Its gradient is :class:`HMMLogLikelihoodGradient`, which runs the forward and
the backward recursions once and returns the three partial derivatives: the
smoothed state marginals ``gamma_t(j) = p(z_t = j | data)`` (for the
emissions and, at ``t = 0``, the log initial probabilities) and the summed
pairwise marginals ``xi_t(i, j) = p(z_{t-1} = i, z_t = j | data)`` (for the log
transitions). This is the scheme of Stan's ``hmm_marginal``
(``stan/math/prim/fun/hmm_marginal.hpp``; Stan Functions Reference, "Hidden
Markov models"): both recursions work on probabilities, the emission
log-likelihoods are shifted by their maximum at each time and the forward
variables are normalised at each step, so nothing under- or overflows and the
log marginal is the sum of the logs of the normalising constants (Rabiner
1989, section V.A, "scaling"). A differentiated ``scan`` is never built.

Both ops have a NumPy ``perform`` and a Numba implementation registered with
PyTensor's Numba dispatch (module-level jitted kernels, no closures over
dynamic objects, so a model's compiled function is cached on disk).
"""

from __future__ import annotations

import math

import numpy as np
import pytensor.tensor as pt
from pytensor.gradient import grad_not_implemented
from pytensor.graph.basic import Apply
from pytensor.graph.op import Op
from pytensor.link.numba.dispatch import basic as numba_basic
from pytensor.link.numba.dispatch.basic import register_funcify_default_op_cache_key
from pytensor.graph.rewriting.basic import node_rewriter
from pytensor.tensor import TensorVariable
from pytensor.tensor.rewriting.basic import register_specialize

__all__ = [
    "HMMLogLikelihood",
    "HMMLogLikelihoodGradient",
    "hmm_log_likelihood",
    "hmm_posterior_marginals",
    "forward_numpy",
    "gradient_numpy",
]

CACHE_VERSION = 4
"""Added to the Numba cache key of both ops; increase it when a kernel changes."""


# ---------------------------------------------------------------- Numba kernels
_PRODUCT_LOWER, _PRODUCT_UPPER, _PRODUCT_SMALL_FACTOR = 1e-200, 1e200, 1e-100
@numba_basic.numba_njit
def _transition_index(t: int, count: int) -> int:
    """The transition matrix into time ``t``: one shared matrix, or ``P[t - 1]``."""
    return t - 1 if count > 1 else 0


@numba_basic.numba_njit
def _exponentiated(log_values):
    """``exp`` of every entry, once per call (not once per time step)."""
    flat = log_values.ravel()
    result = np.empty(flat.shape[0])
    for index in range(flat.shape[0]):
        result[index] = math.exp(flat[index])
    return result.reshape(log_values.shape)


@numba_basic.numba_njit
def _forward_kernel(log_init, transitions, emission, filtered, scales, shifted):
    """Scaled forward recursion; fills ``filtered`` (T, K), ``scales`` (T,), ``shifted`` (T, K).

    ``transitions`` are probabilities, ``(S, K, K)``.
    ``shifted[t, j] = exp(emission[t, j] - max_j emission[t, j])`` and
    ``filtered[t] = p(z_t | data up to t)``. Returns the log marginal
    likelihood, ``-inf`` when every path is impossible (or a NaN input).
    """
    steps, states = emission.shape
    count = transitions.shape[0]
    total = 0.0
    product = 1.0
    for t in range(steps):
        largest = -math.inf
        for j in range(states):
            if emission[t, j] > largest:
                largest = emission[t, j]
        if not largest > -math.inf or largest == math.inf:  # -inf, +inf or NaN at every state
            return -math.inf
        for j in range(states):
            shifted[t, j] = math.exp(emission[t, j] - largest)
        matrix = _transition_index(t, count)
        scale = 0.0
        for j in range(states):
            if t == 0:
                predicted = math.exp(log_init[j])
            else:
                predicted = 0.0
                for i in range(states):
                    predicted += filtered[t - 1, i] * transitions[matrix, i, j]
            filtered[t, j] = predicted * shifted[t, j]
            scale += filtered[t, j]
        if not scale > 0.0 or scale == math.inf:
            return -math.inf
        inverse = 1.0 / scale
        for j in range(states):
            filtered[t, j] *= inverse
        scales[t] = scale
        # sum of log(scale): one log per run of products that stays inside [1e-200, 1e200], not one per step
        total += largest
        if scale < _PRODUCT_SMALL_FACTOR:  # a tiny factor on its own, so that the product cannot underflow
            total += math.log(scale)
        else:
            product *= scale
        if not _PRODUCT_LOWER < product < _PRODUCT_UPPER:
            total += math.log(product)
            product = 1.0
    return total + math.log(product)


@numba_basic.numba_njit
def _gradient_kernel(log_init, log_transitions, emission, gradient_init, gradient_transitions, gradient_emission):
    """Forward, then backward recursion; fills the three gradients (zero where the likelihood is 0).

    Returns the log marginal likelihood (the forward pass's).
    """
    steps, states = emission.shape
    transitions = _exponentiated(log_transitions)
    count = transitions.shape[0]
    filtered = np.zeros((steps, states))
    shifted = np.zeros((steps, states))
    scales = np.ones(steps)
    gradient_init[:] = 0.0
    gradient_transitions[:] = 0.0
    gradient_emission[:] = 0.0
    total = _forward_kernel(log_init, transitions, emission, filtered, scales, shifted)
    if total == -math.inf:
        return total
    backward = np.ones(states)  # beta_t / (product of later scales), Rabiner's scaled backward variable
    weighted = np.zeros(states)
    for t in range(steps - 1, -1, -1):
        for j in range(states):
            gradient_emission[t, j] = filtered[t, j] * backward[j]
        if t == 0:
            break
        matrix = _transition_index(t, count)
        inverse = 1.0 / scales[t]
        for j in range(states):
            weighted[j] = shifted[t, j] * backward[j] * inverse
        for i in range(states):
            running = 0.0
            for j in range(states):
                step = transitions[matrix, i, j] * weighted[j]
                # xi_t(i, j) = alpha_{t-1}(i) P_ij omega_t(j) beta_t(j) / c_t (Stan's hmm_marginal)
                gradient_transitions[matrix, i, j] += filtered[t - 1, i] * step
                running += step
            backward[i] = running
    for j in range(states):
        gradient_init[j] = gradient_emission[0, j]
    return total


def _as_three_dimensional(log_transitions: np.ndarray) -> np.ndarray:
    return log_transitions[None] if log_transitions.ndim == 2 else log_transitions


def forward_numpy(log_init: np.ndarray, log_transitions: np.ndarray, emission: np.ndarray) -> float:
    """The log marginal likelihood, computed in NumPy (the reference of the Numba kernel)."""
    log_transitions = _as_three_dimensional(np.asarray(log_transitions, dtype=np.float64))
    emission = np.asarray(emission, dtype=np.float64)
    steps, states = emission.shape
    largest = np.max(emission, axis=1, keepdims=True)
    if not np.all(np.isfinite(largest)):
        return -np.inf
    shifted = np.exp(emission - largest)
    transitions = np.exp(log_transitions)
    filtered = np.exp(np.asarray(log_init, dtype=np.float64)) * shifted[0]
    total = 0.0
    for t in range(steps):
        if t > 0:
            filtered = (filtered @ transitions[_transition_index_py(t, transitions.shape[0])]) * shifted[t]
        scale = filtered.sum()
        if not 0.0 < scale < np.inf:
            return -np.inf
        filtered = filtered / scale
        total += np.log(scale) + largest[t, 0]
    return float(total)


def gradient_numpy(log_init: np.ndarray, log_transitions: np.ndarray, emission: np.ndarray) -> tuple:
    """The gradients with respect to log init, log transitions and emissions, computed in NumPy."""
    log_init = np.asarray(log_init, dtype=np.float64)
    shape = np.shape(log_transitions)
    transitions = np.exp(_as_three_dimensional(np.asarray(log_transitions, dtype=np.float64)))
    emission = np.asarray(emission, dtype=np.float64)
    steps, states = emission.shape
    gradient_transitions = np.zeros(transitions.shape)
    largest = np.max(emission, axis=1, keepdims=True)
    zeros = (np.zeros_like(log_init), gradient_transitions.reshape(shape), np.zeros_like(emission))
    if not np.all(np.isfinite(largest)):
        return zeros
    shifted = np.exp(emission - largest)
    filtered, scales = np.zeros((steps, states)), np.ones(steps)
    predicted = np.exp(log_init)
    for t in range(steps):
        if t > 0:
            predicted = filtered[t - 1] @ transitions[_transition_index_py(t, transitions.shape[0])]
        unnormalised = predicted * shifted[t]
        scales[t] = unnormalised.sum()
        if not 0.0 < scales[t] < np.inf:
            return zeros
        filtered[t] = unnormalised / scales[t]
    marginals = np.zeros((steps, states))
    backward = np.ones(states)
    for t in range(steps - 1, -1, -1):
        marginals[t] = filtered[t] * backward
        if t == 0:
            break
        matrix = _transition_index_py(t, transitions.shape[0])
        weighted = shifted[t] * backward / scales[t]
        # xi_t(i, j) = alpha_{t-1}(i) P_ij omega_t(j) beta_t(j) / c_t (Stan's hmm_marginal)
        gradient_transitions[matrix] += filtered[t - 1][:, None] * transitions[matrix] * weighted[None, :]
        backward = transitions[matrix] @ weighted
    return marginals[0].copy(), gradient_transitions.reshape(shape), marginals


def _transition_index_py(t: int, count: int) -> int:
    return t - 1 if count > 1 else 0


# ---------------------------------------------------------------- the ops
def _check_inputs(log_init: TensorVariable, log_transitions: TensorVariable, emission: TensorVariable, time_varying: bool):
    wanted = 3 if time_varying else 2
    if log_init.ndim != 1 or emission.ndim != 2 or log_transitions.ndim != wanted:
        raise ValueError(
            f"HMM forward algorithm: expected log initial probabilities (K,), log transitions of "
            f"{wanted} dimensions and emissions (T, K); got ndims {log_init.ndim}, {log_transitions.ndim}, "
            f"{emission.ndim}"
        )


class HMMLogLikelihood(Op):
    """Log marginal likelihood of an HMM by the scaled forward algorithm (see the module docstring)."""

    __props__ = ("time_varying",)

    def __init__(self, time_varying: bool = False) -> None:
        self.time_varying = bool(time_varying)
        self.gufunc_signature = "(k),(s,k,k),(t,k)->()" if self.time_varying else "(k),(k,k),(t,k)->()"

    def make_node(self, log_init, log_transitions, emission) -> Apply:
        inputs = [pt.as_tensor(value, dtype="float64") for value in (log_init, log_transitions, emission)]
        _check_inputs(*inputs, self.time_varying)
        return Apply(self, inputs, [pt.dscalar()])

    def perform(self, node, inputs, outputs) -> None:
        outputs[0][0] = np.asarray(forward_numpy(*inputs), dtype=np.float64)

    def infer_shape(self, fgraph, node, input_shapes) -> list:
        return [()]

    def pullback(self, inputs, outputs, output_gradients) -> list:
        [output_gradient] = output_gradients
        gradients = HMMLogLikelihoodGradient(self.time_varying)(*inputs)[1:]
        return [output_gradient * gradient for gradient in gradients]


class HMMLogLikelihoodGradient(Op):
    """The log marginal likelihood and its three partial derivatives (forward-backward, Stan's ``hmm_marginal``).

    Outputs ``log_likelihood, d/d log_init, d/d log_transitions, d/d emission``:
    the forward pass that the gradient needs gives the value too, so a graph
    holding both ops takes the value from this one (:func:`_share_forward_pass`).
    """

    __props__ = ("time_varying",)

    def __init__(self, time_varying: bool = False) -> None:
        self.time_varying = bool(time_varying)
        transitions = "(s,k,k)" if self.time_varying else "(k,k)"
        self.gufunc_signature = f"(k),{transitions},(t,k)->(),(k),{transitions},(t,k)"

    def make_node(self, log_init, log_transitions, emission) -> Apply:
        inputs = [pt.as_tensor(value, dtype="float64") for value in (log_init, log_transitions, emission)]
        _check_inputs(*inputs, self.time_varying)
        return Apply(self, inputs, [pt.dscalar(), *[variable.type() for variable in inputs]])

    def perform(self, node, inputs, outputs) -> None:
        outputs[0][0] = np.asarray(forward_numpy(*inputs), dtype=np.float64)
        for storage, gradient in zip(outputs[1:], gradient_numpy(*inputs)):
            storage[0] = gradient

    def infer_shape(self, fgraph, node, input_shapes) -> list:
        return [(), *input_shapes]

    def pullback(self, inputs, outputs, output_gradients) -> list:
        return [grad_not_implemented(self, index, variable, "second derivatives of the HMM forward algorithm")
                for index, variable in enumerate(inputs)]


@register_funcify_default_op_cache_key(HMMLogLikelihood)
def _numba_funcify_hmm_log_likelihood(op, node, **kwargs):
    return _NUMBA_LOG_LIKELIHOOD[op.time_varying], CACHE_VERSION


@register_funcify_default_op_cache_key(HMMLogLikelihoodGradient)
def _numba_funcify_hmm_gradient(op, node, **kwargs):
    return _NUMBA_GRADIENT[op.time_varying], CACHE_VERSION


@numba_basic.numba_njit
def _log_likelihood_shared(log_init, log_transitions, emission):
    steps, states = emission.shape
    matrices = _exponentiated(np.ascontiguousarray(log_transitions)).reshape((1, states, states))
    work = np.empty((steps, states))
    shifted = np.empty((steps, states))
    scales = np.empty(steps)
    return np.array(_forward_kernel(log_init, matrices, emission, work, scales, shifted))


@numba_basic.numba_njit
def _log_likelihood_time_varying(log_init, log_transitions, emission):
    steps, states = emission.shape
    matrices = _exponentiated(np.ascontiguousarray(log_transitions))
    work = np.empty((steps, states))
    shifted = np.empty((steps, states))
    scales = np.empty(steps)
    return np.array(_forward_kernel(log_init, matrices, emission, work, scales, shifted))


@numba_basic.numba_njit
def _gradient_shared(log_init, log_transitions, emission):
    states = log_init.shape[0]
    matrices = np.ascontiguousarray(log_transitions).reshape((1, states, states))
    gradient_init = np.empty(states)
    gradient_transitions = np.empty((1, states, states))
    gradient_emission = np.empty(emission.shape)
    total = _gradient_kernel(log_init, matrices, emission, gradient_init, gradient_transitions, gradient_emission)
    return np.array(total), gradient_init, gradient_transitions.reshape((states, states)), gradient_emission


@numba_basic.numba_njit
def _gradient_time_varying(log_init, log_transitions, emission):
    gradient_init = np.empty(log_init.shape[0])
    gradient_transitions = np.empty(log_transitions.shape)
    gradient_emission = np.empty(emission.shape)
    total = _gradient_kernel(log_init, np.ascontiguousarray(log_transitions), emission, gradient_init,
                             gradient_transitions, gradient_emission)
    return np.array(total), gradient_init, gradient_transitions, gradient_emission


_NUMBA_LOG_LIKELIHOOD = {False: _log_likelihood_shared, True: _log_likelihood_time_varying}
_NUMBA_GRADIENT = {False: _gradient_shared, True: _gradient_time_varying}


def hmm_log_likelihood(log_init: TensorVariable, log_transitions: TensorVariable, emission: TensorVariable) -> TensorVariable:
    """The log marginal likelihood graph; ``log_transitions`` of 2 (shared) or 3 (time-varying) dimensions."""
    log_transitions = pt.as_tensor(log_transitions)
    return HMMLogLikelihood(time_varying=log_transitions.ndim == 3)(log_init, log_transitions, emission)


def hmm_posterior_marginals(log_init: TensorVariable, log_transitions: TensorVariable, emission: TensorVariable) -> TensorVariable:
    """``p(z_t = k | data)``, shape ``(T, K)``: the gradient with respect to the emissions."""
    log_transitions = pt.as_tensor(log_transitions)
    return HMMLogLikelihoodGradient(time_varying=log_transitions.ndim == 3)(log_init, log_transitions, emission)[3]


@register_specialize
@node_rewriter([HMMLogLikelihood])
def _share_forward_pass(fgraph, node):
    """Take the value from the gradient op on the same inputs, if the graph has one: one forward pass, not two."""
    for client, _ in fgraph.clients.get(node.inputs[2], []):
        if (isinstance(client.op, HMMLogLikelihoodGradient) and client.op.time_varying == node.op.time_varying
                and client.inputs == node.inputs):
            return [client.outputs[0]]
    return None
