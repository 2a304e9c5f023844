"""Which paths get draws: duplicate optima merged, pruning against converged paths, threads as serial."""

from collections import namedtuple

import numpy as np
import pytest

from mixgraph.init.lbfgs_numba import CONVERGED, STOP_ITERATIONS
from mixgraph.init.multipath import _selected_paths, multi_path
from mixgraph.init.pathfinder_path import LbfgsPath
from mixgraph.init.path_selection import merged_optima
from gaussian_target import GAUSSIAN_DATA, NO_INTS, dense_gaussian_logp
from test_lbfgs_numba import funnel_logp, unequal_modes_logp
from test_pathfinder import two_mode_logp

Compiled = namedtuple("Compiled", "logp_fn float_data int_data")

GAUSSIAN = Compiled(dense_gaussian_logp, GAUSSIAN_DATA, NO_INTS)


def test_merged_optima_joins_close_last_iterates_with_close_elbos_only():
    positions = np.array([[0.0, 0.0], [0.1, -0.1], [3.0, 0.0], [0.05, 0.0], [0.0, 0.1]])
    variances = np.ones((5, 2))
    elbos = np.array([-1.0, -1.3, -1.1, -1.2, -5.0])  # the last one: same point, but a different fit
    kept = np.array([True, True, True, False, True])   # path 3 was pruned: it stands for itself
    np.testing.assert_array_equal(merged_optima(positions, elbos, variances, kept), [0, 0, 2, 3, 4])
    # the distance is measured in standard deviations: with variances 1e-4, 0.1 apart is 10 sd
    np.testing.assert_array_equal(merged_optima(positions, elbos, np.full((5, 2), 1e-4), kept), [0, 1, 2, 3, 4])


def test_paths_that_end_at_one_optimum_share_one_approximation():
    rng = np.random.default_rng(11)
    starts = rng.normal(0.0, 3.0, size=(6, 3))
    options = dict(num_draws=200, num_draws_per_path=50, num_elbo_draws=4, relative_tolerance=1e-7)
    separate = multi_path(GAUSSIAN, starts, np.random.default_rng(1), **options)
    merged = multi_path(GAUSSIAN, starts, np.random.default_rng(1), merge_optima=True, **options)
    assert np.all(separate.representative == np.arange(6)) and len(np.unique(separate.path_of_draw)) > 1
    leader = int(np.argmax(merged.elbo))
    assert np.all(merged.representative == merged.representative[0])
    assert np.all(merged.path_of_draw == merged.representative[0])
    assert np.all(merged.elbo == merged.elbo[0])
    np.testing.assert_array_equal(merged.path_variances, np.tile(merged.path_variances[leader], (6, 1)))
    # the ELBO along the path of five paths is saved; the pooled draws keep their number (6 x 50)
    assert merged.costs["path elbos"][0] < separate.costs["path elbos"][0] / 3
    assert merged.costs["draws"][0] == separate.costs["draws"][0] == 300
    assert merged.evaluations < separate.evaluations


def test_merged_paths_keep_the_pooled_draws_distribution_across_modes():
    # Modes of masses 0.99 and 0.01; six paths in the major mode, two in the minor one. Pooled draws
    # weighted by p / q_path give the minor mode a share 2 * 0.01 / (6 * 0.99 + 2 * 0.01) = 0.0034
    # with or without the merge (a merged group keeps its paths' draws); a merge that gave each
    # group one path's draws would give it 0.01.
    target = Compiled(two_mode_logp, np.array([0.99, 0.01, 4.0]), NO_INTS)
    starts = np.concatenate([np.random.default_rng(3).normal(-4.0, 0.5, (6, 2)),
                             np.random.default_rng(4).normal(4.0, 0.5, (2, 2))])
    expected = 2 * 0.01 / (6 * 0.99 + 2 * 0.01)
    for merge in (False, True):
        result = multi_path(target, starts, np.random.default_rng(5), num_draws=8000, num_draws_per_path=2000,
                            merge_optima=merge)
        assert len(np.unique(result.representative)) == (2 if merge else 8)
        share = np.mean(result.draws[:, 0] > 0.0)
        # binomial sd of an 8000-draw share near 0.0034 is 0.00065
        assert abs(share - expected) < 4 * np.sqrt(expected * (1 - expected) / 8000)



def test_the_pool_is_capped_per_distinct_optimum():
    # One optimum (the Gaussian): 6 merged paths share 100 draws, not 400. Two optima (masses 0.99 and
    # 0.01, six paths and two): 2 x 100. The draws still weigh the modes by their masses: the minor
    # mode's share of the pooled weight stays 2 * 0.01 / (6 * 0.99 + 2 * 0.01).
    options = dict(num_draws=4, num_draws_per_path=0, num_elbo_draws=4, pooled_draws=400, merge_optima=True,
                   relative_tolerance=1e-7, replace=False)
    starts = np.random.default_rng(11).normal(0.0, 3.0, size=(6, 3))
    capped = multi_path(GAUSSIAN, starts, np.random.default_rng(1), pooled_draws_per_optimum=100, **options)
    uncapped = multi_path(GAUSSIAN, starts, np.random.default_rng(1), **options)
    assert capped.costs["draws"][0] == 6 * 17 and uncapped.costs["draws"][0] == 6 * 67  # ceil(100 / 6), ceil(400 / 6)
    target = Compiled(two_mode_logp, np.array([0.99, 0.01, 4.0]), NO_INTS)
    starts = np.concatenate([np.random.default_rng(3).normal(-4.0, 0.5, (6, 2)),
                             np.random.default_rng(4).normal(4.0, 0.5, (2, 2))])
    two = multi_path(target, starts, np.random.default_rng(5), pooled_draws_per_optimum=100, **options)
    assert len(np.unique(two.representative)) == 2 and two.costs["draws"][0] == 8 * 25  # ceil(200 / 8)
    assert np.all(two.draws[:, 0] < 0.0)  # the four starts come from the mode with the mass

def test_threads_give_the_serial_result(monkeypatch):
    import mixgraph.init.multipath as multipath

    monkeypatch.setattr(multipath, "THREAD_MIN_SECONDS", 0.0)  # these paths are short: use the threads anyway
    target = Compiled(unequal_modes_logp, np.array([0.0, -1.0]), NO_INTS)
    starts = np.random.default_rng(2).normal(0.0, 12.0, size=(8, 3))
    options = dict(num_draws=50, num_draws_per_path=40, num_elbo_draws=4, prune_margin=20.0, merge_optima=True,
                   relative_tolerance=1e-7)
    serial = multi_path(target, starts, np.random.default_rng(7), threads=1, **options)
    for threads in (2, 3):
        threaded = multi_path(target, starts, np.random.default_rng(7), threads=threads, **options)
        for name in ("draws", "path_of_draw", "logp", "logq", "elbo", "path_variances", "representative"):
            np.testing.assert_array_equal(getattr(threaded, name), getattr(serial, name))
        assert threaded.evaluations == serial.evaluations


def _threaded_draws(_=None):
    starts = np.random.default_rng(2).normal(0.0, 3.0, size=(4, 3))
    return multi_path(GAUSSIAN, starts, np.random.default_rng(7), 20, 10, threads=2).draws


def test_the_thread_pool_works_in_a_process_forked_after_it_was_made(monkeypatch):
    import multiprocessing

    import mixgraph.init.multipath as multipath

    monkeypatch.setattr(multipath, "THREAD_MIN_SECONDS", 0.0)
    expected = _threaded_draws()  # the pool now exists, with its threads, in this process
    with multiprocessing.get_context("fork").Pool(1) as pool:
        # a forked child inherits the pool without its threads: it must make its own, not wait
        result = pool.apply_async(_threaded_draws).get(timeout=60)
    np.testing.assert_array_equal(result, expected)


def test_a_path_stopped_by_the_iteration_cap_sets_no_bar():
    positions = np.zeros((3, 2))
    path = LbfgsPath(positions, positions, np.zeros(3), 3, CONVERGED)
    capped = path._replace(status=STOP_ITERATIONS)
    summaries = [(-10.0, np.ones(2)), (-100.0, np.ones(2)), (-100.0, np.ones(2)), (5.0, np.ones(2))]
    kept, _ = _selected_paths([path, path, capped, capped], summaries, 20.0, False)
    # the bar is -30, from the best converged path: the capped path's 5.0 does not set it (it would
    # prune the first path), and every path below it is pruned
    np.testing.assert_array_equal(kept, [True, False, False, True])
    kept, _ = _selected_paths([capped] * 4, summaries, 20.0, False)
    assert np.all(kept)  # none converged: no pruning


@pytest.mark.parametrize("seed", [4, 5, 6])
def test_chain_start_settings_on_a_funnel_draw_from_the_bulk_not_the_neck(seed):
    # init='auto''s settings. Most paths run into the neck (log_scale near -30, where the last iterates'
    # ELBOs are between -300 and -1e10) and are cut off by the iteration cap. Whether one converges
    # first, sets the pruning bar and prunes the others depends on the last bits of the L-BFGS
    # arithmetic (BLAS kernels differ between CPUs: with seed 4, 16 paths are kept on one machine, 5
    # on an AMD EPYC). Either way the draws come from the approximations along the kept paths, in the
    # bulk: log_scale ~ N(0, 3) has 4.8% of its mass below -5 and 0.04% below -10.
    rng = np.random.default_rng(seed)
    starts = np.column_stack([rng.normal(0.0, 3.0, 16), rng.normal(0.0, 3.0, (16, 9))])
    options = dict(num_draws_per_path=0, num_elbo_draws=4, max_iterations=100, prune_margin=20.0, pooled_draws=400,
                   relative_tolerance=1e-7, merge_optima=True, threads=2)
    funnel = Compiled(funnel_logp, np.zeros(0), NO_INTS)
    result = multi_path(funnel, starts, np.random.default_rng(seed), 1000, replace=True, **options)
    assert np.count_nonzero(np.isfinite(result.elbo)) >= 1
    assert np.mean(result.draws[:, 0] < -5.0) < 0.1
    assert np.median(result.draws[:, 0]) > -4.0
    chain_starts = multi_path(funnel, starts, np.random.default_rng(seed), 4, replace=False, **options)
    assert np.all(chain_starts.draws[:, 0] > -10.0)
