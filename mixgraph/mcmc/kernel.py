"""The compiled chain kernel: warm-up and sampling loops of one chain, in chunks.

The two entry points, :func:`init_chain` and :func:`run_chain`, are compiled
once, for explicit signatures whose first argument is the first-class
function type :data:`LOGP_FUNCTION_TYPE`, on first use (the first
``sample()``; :mod:`mixgraph.mcmc.lazy`) rather than at import. Any ``@njit`` function
with the signature :data:`LOGP_SIGNATURE` (or one compiled for it) is
converted to that type at the call, so a new model does not recompile the
kernel, and the kernel itself is loaded from Numba's disk cache. Those types,
the settings and the chain's state are in :mod:`mixgraph.mcmc.state`.
"""

import numba
import numpy as np

from mixgraph.mcmc.adaptation import (
    dual_averaging_init,
    dual_averaging_update,
    find_reasonable_step_size,
    initial_inverse_mass_matrix,
    moments_init,
    moments_update,
    nutpie_inverse_mass_matrix,
    stan_inverse_mass_matrix,
)
from mixgraph.mcmc.integrators import evaluate_logp
from mixgraph.mcmc.lazy import compiled_only, lazy_entry_point
from mixgraph.mcmc.mass_matrix import (
    window_contents,
    window_init,
    window_push,
    window_reset,
    window_switch,
)
from mixgraph.mcmc.metrics import diagonal_metric
from mixgraph.mcmc.nuts import NUTSState, nuts_transition
from mixgraph.mcmc.state import (
    CHAIN_STATE_TYPE,
    ESTIMATE_FUNCTION_TYPE,
    FLOAT_MATRIX,
    FLOAT_VECTOR,
    INT_VECTOR,
    LOGP_FUNCTION_TYPE,
    RNG_TYPE,
    SETTINGS_TYPE,
    ChainState,
)

__all__ = ["init_chain", "run_chain"]

@lazy_entry_point(
    CHAIN_STATE_TYPE(LOGP_FUNCTION_TYPE, FLOAT_VECTOR, INT_VECTOR, RNG_TYPE, FLOAT_VECTOR,
                     SETTINGS_TYPE, FLOAT_VECTOR),
    nogil=True, cache=True, error_model="numpy",
)
def init_chain(logp_fn, float_data, int_data, rng, position, settings, given_inverse_mass_matrix):
    """Start a chain at ``position``: evaluate it, pick a metric and a step size.

    The metric starts diagonal, whatever ``settings.metric_kind``: at
    ``given_inverse_mass_matrix`` when it has one entry per dimension (e.g.
    the variances of a Pathfinder approximation); given empty, at
    :math:`1 / |\\nabla\\log\\pi|` for the nutpie adaptation and at the
    identity for Stan's. The step size comes from Hoffman and Gelman's
    (2014) algorithm 4 starting at 1. When the log density or its gradient
    is not finite at ``position`` the returned state has ``logp = -inf`` and
    the caller must refuse to sample.
    """
    position = position.copy()
    logp, logp_grad = evaluate_logp(logp_fn, float_data, int_data, position)
    dim = position.shape[0]
    if given_inverse_mass_matrix.shape[0] == dim:
        metric = diagonal_metric(given_inverse_mass_matrix.copy())
    elif settings.adaptation_mode == 0:
        metric = diagonal_metric(initial_inverse_mass_matrix(logp_grad))
    else:
        metric = diagonal_metric(np.ones(dim))
    step_size = 1.0
    if np.isfinite(logp):
        step_size = find_reasonable_step_size(logp_fn, float_data, int_data, rng, position, logp,
                                              logp_grad, metric, step_size)
    return ChainState(0, position, logp, logp_grad, step_size, metric, False,
                      dual_averaging_init(step_size), moments_init(dim), moments_init(dim),
                      window_init(settings.window_capacity, dim))


# Numba has no NamedTuple._replace: one small constructor per kind of update.
@compiled_only
def _with_position(state, nuts_state):
    return ChainState(state.iteration, nuts_state.position, nuts_state.logp,
                      nuts_state.logp_grad, state.step_size, state.metric, state.metric_changed,
                      state.dual_averaging, state.foreground, state.background, state.window)


@compiled_only
def _with_step_size(state, step_size):
    return ChainState(state.iteration, state.position, state.logp, state.logp_grad, step_size,
                      state.metric, state.metric_changed, state.dual_averaging, state.foreground,
                      state.background, state.window)


@compiled_only
def _with_iteration(state, iteration):
    return ChainState(iteration, state.position, state.logp, state.logp_grad, state.step_size,
                      state.metric, state.metric_changed, state.dual_averaging, state.foreground,
                      state.background, state.window)


@compiled_only
def _with_windows(state, dual_averaging, foreground, background, window):
    return ChainState(state.iteration, state.position, state.logp, state.logp_grad,
                      np.exp(dual_averaging.log_step_size), state.metric, state.metric_changed,
                      dual_averaging, foreground, background, window)


@compiled_only
def _diagonal_estimate(state, settings):
    """The diagonal metric from the foreground's running moments."""
    previous = state.metric.scale**2
    if settings.adaptation_mode == 0:
        return diagonal_metric(nutpie_inverse_mass_matrix(state.foreground, previous))
    return diagonal_metric(stan_inverse_mass_matrix(state.foreground, previous))


@compiled_only
def _estimate_metric(state, settings, estimate_fn):
    """The metric of kind ``settings.metric_kind`` from the foreground window.

    A dense estimate needs more draws than dimensions: until the window holds
    twice as many draws as there are parameters, the diagonal estimate is
    used (a rank-deficient covariance would freeze the chain along the
    directions it has not yet explored).
    """
    if settings.metric_kind == 0:
        return _diagonal_estimate(state, settings)
    draws, grads = window_contents(state.window)
    if settings.metric_kind == 1:
        if draws.shape[0] <= 2 * draws.shape[1]:
            return _diagonal_estimate(state, settings)
    return estimate_fn(draws, grads, state.metric.scale, settings.metric_regularisation,
                       settings.eigenvalue_cutoff)


@compiled_only
def _with_new_metric(logp_fn, float_data, int_data, rng, state, metric, restart):
    """Install ``metric``; with ``restart``, a new heuristic step size and dual averaging around it."""
    step_size = state.step_size
    dual_averaging = state.dual_averaging
    if restart:
        # Stan after each window, nutpie after its first metric change: a new
        # heuristic step size, then dual averaging restarted around it.
        step_size = find_reasonable_step_size(logp_fn, float_data, int_data, rng, state.position,
                                              state.logp, state.logp_grad, metric, step_size)
        dual_averaging = dual_averaging_init(step_size)
    return ChainState(state.iteration, state.position, state.logp, state.logp_grad, step_size,
                      metric, True, dual_averaging, state.foreground, state.background,
                      state.window)


@compiled_only
def _adapt_nutpie(state, info, settings, flags):
    """nutpie's warm-up step: collect, maybe switch windows; is a metric refresh due?

    Dual averaging runs on without restarts, except once after the first
    metric estimate (nuts-rs ``GlobalStrategy::adapt``); from the last
    window on it uses the symmetric acceptance statistic. Returns the state
    and whether :func:`_refresh_metric` is due.
    """
    collect, update, refresh, late = flags
    acceptance = info.acceptance_rate_symmetric if late else info.acceptance_rate
    dual_averaging = dual_averaging_update(state.dual_averaging, acceptance,
                                           settings.target_accept, settings.gamma, settings.t0,
                                           settings.kappa)
    foreground, background, window = state.foreground, state.background, state.window
    if collect:
        foreground = moments_update(foreground, state.position, state.logp_grad)
        background = moments_update(background, state.position, state.logp_grad)
        window = window_push(window, state.position, state.logp_grad)
    if update:
        foreground, background = background, moments_init(state.position.shape[0])
        window = window_switch(window)
    state = _with_windows(state, dual_averaging, foreground, background, window)
    return state, refresh and foreground.count >= 3


@compiled_only
def _adapt_stan(state, info, settings, flags):
    """Stan's warm-up step: collect; is it a window's end (estimate, forget, restart)?"""
    collect, update, _, _ = flags
    dual_averaging = dual_averaging_update(state.dual_averaging, info.acceptance_rate,
                                           settings.target_accept, settings.gamma, settings.t0,
                                           settings.kappa)
    foreground, window = state.foreground, state.window
    if collect:
        foreground = moments_update(foreground, state.position, state.logp_grad)
        window = window_push(window, state.position, state.logp_grad)
    state = _with_windows(state, dual_averaging, foreground, state.background, window)
    return state, update


@compiled_only
def _refresh_metric(logp_fn, float_data, int_data, rng, state, settings, estimate_fn):
    """Re-estimate the metric from the foreground window and install it.

    nutpie restarts the step size only after its first metric change; Stan
    after every window, whose draws it then forgets.
    """
    metric = _estimate_metric(state, settings, estimate_fn)
    stan = settings.adaptation_mode == 1
    restart = stan or not state.metric_changed
    state = _with_new_metric(logp_fn, float_data, int_data, rng, state, metric, restart)
    if stan:
        dim = state.position.shape[0]
        state = _with_windows(state, state.dual_averaging, moments_init(dim), state.background,
                              window_reset(state.window))
    return state


@compiled_only
def _end_of_warm_up(state, settings):
    """After the last warm-up iteration, sample with the averaged iterate (Hoffman & Gelman, alg. 5)."""
    if state.iteration == settings.n_tune - 1 and state.dual_averaging.iteration > 0:
        return _with_step_size(state, np.exp(state.dual_averaging.log_step_size_bar))
    return state


@compiled_only
def _write_stats(stats_row, info, step_size, step_size_bar):
    """Write one row of :data:`STAT_NAMES`."""
    stats_row[0] = info.lp
    stats_row[1] = info.acceptance_rate
    stats_row[2] = step_size
    stats_row[3] = step_size_bar
    stats_row[4] = info.tree_depth
    stats_row[5] = info.n_steps
    stats_row[6] = info.diverging
    stats_row[7] = info.energy
    stats_row[8] = info.energy_error
    stats_row[9] = info.max_energy_error
    stats_row[10] = info.reached_max_treedepth


@lazy_entry_point(
    CHAIN_STATE_TYPE(LOGP_FUNCTION_TYPE, FLOAT_VECTOR, INT_VECTOR, RNG_TYPE, CHAIN_STATE_TYPE,
                     SETTINGS_TYPE, ESTIMATE_FUNCTION_TYPE, numba.boolean[:, ::1], numba.int64,
                     FLOAT_MATRIX, FLOAT_MATRIX),
    nogil=True, cache=True, error_model="numpy",
)
def run_chain(logp_fn, float_data, int_data, rng, state, settings, estimate_fn, schedule,
              n_iterations, draws_out, stats_out):
    """Run up to ``n_iterations`` iterations of one chain from ``state``.

    Iteration ``i = state.iteration`` writes its draw to ``draws_out[i]`` and
    its statistics (columns :data:`STAT_NAMES`) to ``stats_out[i]``;
    iterations ``i < settings.n_tune`` are warm-up and adapt the step size
    and the metric following ``schedule``. The run
    stops early at ``draws_out.shape[0]`` iterations in total. Call it again
    with the returned state to continue: the result does not depend on how
    the run is cut into chunks.

    Parameters
    ----------
    logp_fn : LOGP_FUNCTION_TYPE
    float_data : ndarray of float64
    int_data : ndarray of int64
    rng : numpy.random.Generator
        This chain's own generator, advanced in place.
    state : ChainState
    settings : SamplerSettings
    estimate_fn : ESTIMATE_FUNCTION_TYPE
        The dense or low-rank window estimate of ``settings.metric_kind``
        (:data:`mixgraph.mcmc.mass_matrix.WINDOW_ESTIMATES`).
    schedule : ndarray of bool, shape (4, n_tune)
        The warm-up schedule's rows ``collect``, ``update``, ``refresh``
        and ``late`` (:class:`mixgraph.mcmc.schedules.TuningSchedule`).
    n_iterations : int
    draws_out : ndarray of shape (tune + draws, dim)
    stats_out : ndarray of shape (tune + draws, len(STAT_NAMES))

    Returns
    -------
    ChainState
    """
    for _ in range(n_iterations):
        iteration = state.iteration
        if iteration >= draws_out.shape[0]:
            break
        step_size = state.step_size
        nuts_state, info = nuts_transition(
            logp_fn, float_data, int_data, rng,
            NUTSState(state.position, state.logp, state.logp_grad), step_size,
            state.metric, settings.max_tree_depth, settings.max_energy_error,
        )
        state = _with_position(state, nuts_state)
        step_size_bar = step_size
        if iteration < settings.n_tune:
            flags = (schedule[0, iteration], schedule[1, iteration], schedule[2, iteration],
                     schedule[3, iteration])
            # Called from here, not from one more function between, and the refresh
            # from one place: every compiled function re-optimises and re-emits the
            # code of all it calls.
            if settings.adaptation_mode == 0:
                state, refresh = _adapt_nutpie(state, info, settings, flags)
            else:
                state, refresh = _adapt_stan(state, info, settings, flags)
            if refresh:
                state = _refresh_metric(logp_fn, float_data, int_data, rng, state, settings,
                                        estimate_fn)
            state = _end_of_warm_up(state, settings)
            step_size_bar = np.exp(state.dual_averaging.log_step_size_bar)
        draws_out[iteration] = state.position
        _write_stats(stats_out[iteration], info, step_size, step_size_bar)
        state = _with_iteration(state, iteration + 1)
    return state
