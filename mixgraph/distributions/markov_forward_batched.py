"""The forward algorithm over a batch of independent chains, and the one-step-ahead predictive log-densities.

:class:`BatchedHMMLogLikelihood` takes log initial probabilities ``(B, K)``,
log transition matrices ``(B, S, K, K)`` (``S = 1``: one matrix for every
transition; ``S = T - 1``: ``P[b, t - 1]`` from ``t - 1`` to ``t``) and
emission log-likelihoods ``(B, T, K)``, and returns the sum over the ``B``
chains of their log marginal likelihoods: one forward pass per chain (the
kernels of :mod:`mixgraph.distributions.markov_forward`), and a gradient per
chain from the backward recursion (:class:`BatchedHMMLogLikelihoodGradient`).
Parameters shared by the chains are broadcast to ``B`` in the graph, so their
gradients are the sums over the chains.

:class:`HMMStepLogLikelihoods` returns, per chain and time, the log of the
forward filter's normaliser, ``log p(y_t | y_0, ..., y_{t-1})`` (Rabiner
1989, section V.A: the scaling coefficients ``c_t`` of the scaled forward
recursion are these predictive densities, and ``sum_t log c_t`` is the log
marginal likelihood). It is what :func:`mixgraph.compute_log_likelihood`
gives for a hidden Markov model; it has no gradient.
"""

from __future__ import annotations

import math

import numpy as np
import pytensor.tensor as pt
from pytensor.gradient import grad_not_implemented
from pytensor.graph.basic import Apply
from pytensor.graph.op import Op
from pytensor.graph.rewriting.basic import node_rewriter
from pytensor.link.numba.dispatch import basic as numba_basic
from pytensor.link.numba.dispatch.basic import register_funcify_default_op_cache_key
from pytensor.tensor import TensorVariable
from pytensor.tensor.rewriting.basic import register_specialize

from mixgraph.distributions.markov_forward import (
    _exponentiated,
    _forward_kernel,
    _gradient_kernel,
    forward_numpy,
    gradient_numpy,
)

__all__ = [
    "BatchedHMMLogLikelihood",
    "BatchedHMMLogLikelihoodGradient",
    "HMMStepLogLikelihoods",
    "batched_hmm_log_likelihood",
    "batched_hmm_posterior_marginals",
    "hmm_step_log_likelihoods",
    "step_log_likelihoods_numpy",
]

CACHE_VERSION = 2
"""Added to the Numba cache key of the three ops; increase it when a kernel changes."""

_SIGNATURE_INPUTS = "(b,k),(b,s,k,k),(b,t,k)"


def _inputs(log_init, log_transitions, emission) -> list[TensorVariable]:
    inputs = [pt.as_tensor(value, dtype="float64") for value in (log_init, log_transitions, emission)]
    if [variable.ndim for variable in inputs] != [2, 4, 3]:
        raise ValueError(
            f"batched HMM forward algorithm: expected log initial probabilities (B, K), log transitions "
            f"(B, S, K, K) and emissions (B, T, K); got ndims {[variable.ndim for variable in inputs]}"
        )
    return inputs


# ---------------------------------------------------------------- NumPy references
def step_log_likelihoods_numpy(log_init: np.ndarray, log_transitions: np.ndarray, emission: np.ndarray) -> np.ndarray:
    """``log p(y_t | y_{0:t-1})`` of one chain, ``(T,)``; ``-inf`` from the first impossible step on."""
    transitions = np.exp(np.asarray(log_transitions, dtype=np.float64))
    emission = np.asarray(emission, dtype=np.float64)
    steps = emission.shape[0]
    result = np.full(steps, -np.inf)
    filtered = None
    for t in range(steps):
        largest = np.max(emission[t])
        if not np.isfinite(largest):
            break
        predicted = np.exp(log_init) if t == 0 else filtered @ transitions[t - 1 if transitions.shape[0] > 1 else 0]
        unnormalised = predicted * np.exp(emission[t] - largest)
        scale = unnormalised.sum()
        if not 0.0 < scale < np.inf:
            break
        filtered = unnormalised / scale
        result[t] = np.log(scale) + largest
    return result


# ---------------------------------------------------------------- the ops
class BatchedHMMLogLikelihood(Op):
    """Sum over ``B`` chains of the log marginal likelihood (see the module docstring)."""

    __props__ = ()
    gufunc_signature = f"{_SIGNATURE_INPUTS}->()"

    def make_node(self, log_init, log_transitions, emission) -> Apply:
        return Apply(self, _inputs(log_init, log_transitions, emission), [pt.dscalar()])

    def perform(self, node, inputs, outputs) -> None:
        log_init, log_transitions, emission = inputs
        total = sum(forward_numpy(log_init[b], log_transitions[b], emission[b]) for b in range(emission.shape[0]))
        outputs[0][0] = np.asarray(total, dtype=np.float64)

    def infer_shape(self, fgraph, node, input_shapes) -> list:
        return [()]

    def pullback(self, inputs, outputs, output_gradients) -> list:
        [output_gradient] = output_gradients
        return [output_gradient * gradient for gradient in BatchedHMMLogLikelihoodGradient()(*inputs)[1:]]


class BatchedHMMLogLikelihoodGradient(Op):
    """The summed log marginal likelihood and its partial derivatives, per chain (forward-backward)."""

    __props__ = ()
    gufunc_signature = f"{_SIGNATURE_INPUTS}->(),(b,k),(b,s,k,k),(b,t,k)"

    def make_node(self, log_init, log_transitions, emission) -> Apply:
        inputs = _inputs(log_init, log_transitions, emission)
        return Apply(self, inputs, [pt.dscalar(), *[variable.type() for variable in inputs]])

    def perform(self, node, inputs, outputs) -> None:
        log_init, log_transitions, emission = inputs
        gradients = [np.zeros_like(value) for value in inputs]
        total = 0.0
        for b in range(emission.shape[0]):
            total += forward_numpy(log_init[b], log_transitions[b], emission[b])
            for gradient, part in zip(gradients, gradient_numpy(log_init[b], log_transitions[b], emission[b])):
                gradient[b] = part
        outputs[0][0] = np.asarray(total, dtype=np.float64)
        for storage, gradient in zip(outputs[1:], gradients):
            storage[0] = gradient

    def infer_shape(self, fgraph, node, input_shapes) -> list:
        return [(), *input_shapes]

    def pullback(self, inputs, outputs, output_gradients) -> list:
        return [grad_not_implemented(self, index, variable, "second derivatives of the HMM forward algorithm")
                for index, variable in enumerate(inputs)]


class HMMStepLogLikelihoods(Op):
    """``log p(y_t | y_{0:t-1})`` per chain and time, ``(B, T)``: the forward filter's log normalisers."""

    __props__ = ()
    gufunc_signature = f"{_SIGNATURE_INPUTS}->(b,t)"

    def make_node(self, log_init, log_transitions, emission) -> Apply:
        inputs = _inputs(log_init, log_transitions, emission)
        return Apply(self, inputs, [pt.dmatrix()])

    def perform(self, node, inputs, outputs) -> None:
        log_init, log_transitions, emission = inputs
        outputs[0][0] = np.stack([step_log_likelihoods_numpy(log_init[b], log_transitions[b], emission[b])
                                  for b in range(emission.shape[0])])

    def infer_shape(self, fgraph, node, input_shapes) -> list:
        return [input_shapes[2][:2]]

    def pullback(self, inputs, outputs, output_gradients) -> list:
        return [grad_not_implemented(self, index, variable, "the gradient of the per-step HMM log-likelihoods")
                for index, variable in enumerate(inputs)]


# ---------------------------------------------------------------- Numba kernels
@numba_basic.numba_njit
def _batched_log_likelihood(log_init, log_transitions, emission):
    # contiguous copies: the per-chain kernels see C-ordered arrays only, one compiled specialisation
    log_init, emission = np.ascontiguousarray(log_init), np.ascontiguousarray(emission)
    chains, steps, states = emission.shape
    work = np.empty((steps, states))
    shifted = np.empty((steps, states))
    scales = np.empty(steps)
    total = 0.0
    for b in range(chains):  # one forward pass per chain
        matrices = _exponentiated(np.ascontiguousarray(log_transitions[b]))
        total += _forward_kernel(log_init[b], matrices, emission[b], work, scales, shifted)
    return np.array(total)


@numba_basic.numba_njit
def _batched_gradient(log_init, log_transitions, emission):
    log_init, emission = np.ascontiguousarray(log_init), np.ascontiguousarray(emission)
    chains = emission.shape[0]
    gradient_init = np.empty(log_init.shape)
    gradient_transitions = np.empty(log_transitions.shape)
    gradient_emission = np.empty(emission.shape)
    total = 0.0
    for b in range(chains):
        total += _gradient_kernel(log_init[b], np.ascontiguousarray(log_transitions[b]), emission[b],
                                  gradient_init[b], gradient_transitions[b], gradient_emission[b])
    return np.array(total), gradient_init, gradient_transitions, gradient_emission


@numba_basic.numba_njit
def _chain_steps(log_init, transitions, emission, result):
    """One chain's ``log c_t + max_k emission[t, k]``; ``-inf`` from the first impossible step on."""
    steps, states = emission.shape
    count = transitions.shape[0]
    filtered = np.empty(states)
    unnormalised = np.empty(states)
    result[:] = -math.inf
    for t in range(steps):
        largest = -math.inf
        for j in range(states):
            largest = max(largest, emission[t, j])
        if not largest > -math.inf or largest == math.inf:
            return
        scale = 0.0
        matrix = t - 1 if count > 1 else 0
        for j in range(states):
            if t == 0:
                predicted = math.exp(log_init[j])
            else:
                predicted = 0.0
                for i in range(states):
                    predicted += filtered[i] * transitions[matrix, i, j]
            unnormalised[j] = predicted * math.exp(emission[t, j] - largest)
            scale += unnormalised[j]
        if not scale > 0.0 or scale == math.inf:
            return
        for j in range(states):
            filtered[j] = unnormalised[j] / scale
        result[t] = math.log(scale) + largest


@numba_basic.numba_njit
def _batched_steps(log_init, log_transitions, emission):
    log_init, emission = np.ascontiguousarray(log_init), np.ascontiguousarray(emission)
    chains, steps, _ = emission.shape
    result = np.empty((chains, steps))
    for b in range(chains):
        _chain_steps(log_init[b], _exponentiated(np.ascontiguousarray(log_transitions[b])), emission[b], result[b])
    return result


@register_funcify_default_op_cache_key(BatchedHMMLogLikelihood)
def _numba_funcify_batched_log_likelihood(op, node, **kwargs):
    return _batched_log_likelihood, CACHE_VERSION


@register_funcify_default_op_cache_key(BatchedHMMLogLikelihoodGradient)
def _numba_funcify_batched_gradient(op, node, **kwargs):
    return _batched_gradient, CACHE_VERSION


@register_funcify_default_op_cache_key(HMMStepLogLikelihoods)
def _numba_funcify_step_log_likelihoods(op, node, **kwargs):
    return _batched_steps, CACHE_VERSION


def batched_hmm_log_likelihood(log_init, log_transitions, emission) -> TensorVariable:
    """The summed log marginal likelihood of ``B`` chains: ``(B, K), (B, S, K, K), (B, T, K) -> ()``."""
    return BatchedHMMLogLikelihood()(log_init, log_transitions, emission)


def batched_hmm_posterior_marginals(log_init, log_transitions, emission) -> TensorVariable:
    """``p(z_{b,t} = k | data)``, shape ``(B, T, K)``: the gradient with respect to the emissions."""
    return BatchedHMMLogLikelihoodGradient()(log_init, log_transitions, emission)[3]


def hmm_step_log_likelihoods(log_init, log_transitions, emission) -> TensorVariable:
    """``log p(y_{b,t} | y_{b,0:t-1})``, shape ``(B, T)``."""
    return HMMStepLogLikelihoods()(log_init, log_transitions, emission)


@register_specialize
@node_rewriter([BatchedHMMLogLikelihood])
def _share_batched_forward_pass(fgraph, node):
    """Take the value from the gradient op on the same inputs, if the graph has one: one forward pass, not two."""
    for client, _ in fgraph.clients.get(node.inputs[2], []):
        if isinstance(client.op, BatchedHMMLogLikelihoodGradient) and client.inputs == node.inputs:
            return [client.outputs[0]]
    return None
