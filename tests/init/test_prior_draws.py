"""Prior draws in the unconstrained flat space: right distribution, right layout, clear errors."""

import numpy as np
import pytest
from scipy import stats

import mixgraph as mg
from mixgraph.compile import flat_layout
from mixgraph.init import PriorDrawError, unconstrained_prior_draws
from mixgraph.init.prior_draws import prior_draw_stream
from mixgraph.point import initial_point


def _layout(model):
    return flat_layout(initial_point(model), [value.name for value in model.value_vars])


def test_draws_follow_the_prior_after_the_inverse_transform():
    with mg.Model() as model:
        mg.HalfNormal("sigma", 2.0)
        mg.Normal("mu", 1.0, 3.0, shape=2)
    layout = _layout(model)
    draws = unconstrained_prior_draws(model, layout, 4000, random_seed=3)
    assert draws.shape == (4000, 3)
    sigma = np.exp(draws[:, layout.names.index("sigma_log__")])
    mu = draws[:, layout.offsets[layout.names.index("mu")]:][:, :2]
    assert stats.kstest(sigma, stats.halfnorm(scale=2.0).cdf).pvalue > 0.01
    assert stats.kstest(mu[:, 1], stats.norm(1.0, 3.0).cdf).pvalue > 0.01
    # the two entries of mu are independent draws, not one repeated
    assert abs(np.corrcoef(mu[:, 0], mu[:, 1])[0, 1]) < 0.06


def test_hierarchical_priors_are_drawn_jointly_and_seeded():
    with mg.Model() as model:
        scale = mg.HalfNormal("scale", 1.0)
        mg.Normal("effect", 0.0, scale)
    layout = _layout(model)
    first = unconstrained_prior_draws(model, layout, 3000, random_seed=5)
    again = unconstrained_prior_draws(model, layout, 3000, random_seed=5)
    np.testing.assert_array_equal(first, again)
    log_scale = first[:, layout.names.index("scale_log__")]
    effect = first[:, layout.names.index("effect")]
    # |effect| grows with scale: rank correlation clearly positive
    assert stats.spearmanr(np.exp(log_scale), np.abs(effect)).statistic > 0.3


def test_improper_prior_is_a_clear_error():
    with mg.Model() as model:
        mg.Flat("x")
    with pytest.raises(PriorDrawError, match="Flat"):
        unconstrained_prior_draws(model, _layout(model), 3, random_seed=1)


def test_ordered_variables_are_drawn_sorted_so_that_every_draw_is_finite():
    with mg.Model() as model:
        mg.Normal("mu", 0.0, 10.0, shape=4, transform=mg.transforms.ordered, initval=np.linspace(-3, 3, 4))
    layout = _layout(model)
    draws = unconstrained_prior_draws(model, layout, 2000, random_seed=4)
    assert np.all(np.isfinite(draws))
    # the first entry is the minimum of 4 iid N(0, 10^2) draws: P(min <= 0) = 1 - 2**-4
    assert abs(np.mean(draws[:, 0] <= 0.0) - (1 - 2.0**-4)) < 0.02
    # later entries are log-gaps, so the largest value is the maximum of 4 draws
    largest = draws[:, 0] + np.exp(draws[:, 1:]).sum(axis=1)
    assert stats.kstest(largest, lambda x: stats.norm(0.0, 10.0).cdf(x) ** 4).pvalue > 0.01


def test_positive_ordered_variables_are_drawn_sorted_through_the_log_and_ordered_chain():
    # Exponential's log transform chained with ordered (lam_log_ordered__): unsorted draws of 4
    # rates have no image, and were 23 in 24 of the draws before the chain was looked into.
    with mg.Model() as model:
        mg.Exponential("lam", 0.1, shape=4, transform=mg.transforms.ordered, initval=np.arange(1.0, 5.0))
    layout = _layout(model)
    assert layout.names == ("lam_log_ordered__",)
    draws = unconstrained_prior_draws(model, layout, 2000, random_seed=6)
    assert np.all(np.isfinite(draws))
    # the first entry is log of the smallest of 4 iid Exponential(0.1) draws: Exponential(0.4)
    assert stats.kstest(np.exp(draws[:, 0]), stats.expon(scale=1 / 0.4).cdf).pvalue > 0.01


def test_ordered_variables_with_distinct_priors_keep_only_the_draws_that_are_sorted():
    # Not exchangeable: sorting would give the wrong law, so the restricted prior comes by
    # rejection. P(x0 < x1) for N(0, 1) and N(0.5, 1) is Phi(0.5 / sqrt(2)) = 0.638.
    with mg.Model() as model:
        mg.Normal("mu", np.array([0.0, 0.5]), 1.0, transform=mg.transforms.ordered, initval=np.array([-1.0, 1.0]))
    layout = _layout(model)
    draws = unconstrained_prior_draws(model, layout, 4000, random_seed=8)
    finite = np.all(np.isfinite(draws), axis=1)
    assert abs(finite.mean() - stats.norm.cdf(0.5 / np.sqrt(2.0))) < 3 * np.sqrt(0.638 * 0.362 / 4000)
    rng = np.random.default_rng(9)
    reference = rng.normal([0.0, 0.5], 1.0, size=(20000, 2))
    reference = reference[reference[:, 0] < reference[:, 1]]
    assert stats.ks_2samp(draws[finite, 0], reference[:, 0]).pvalue > 0.01
    # (sorted draws would fail this: the first entry's mean is -0.41 under the restricted prior
    # and -0.35 for the minimum of the two draws)
    # Optimiser starts need no exact law: every one of them is sorted, and finite.
    starts = prior_draw_stream(model, layout, 8, exact=False)(4000)
    assert np.all(np.isfinite(starts))


def test_the_prior_function_is_compiled_once_per_model_and_reseeded_at_each_use():
    with mg.Model() as model:
        scale = mg.HalfNormal("scale", 1.0)
        mg.Normal("effect", 0.0, scale, shape=2)
    layout = _layout(model)
    first = unconstrained_prior_draws(model, layout, 50, random_seed=7)
    (function,) = model.__dict__["_prior_draws_cache"].values()
    other = unconstrained_prior_draws(model, layout, 50, random_seed=8)
    again = unconstrained_prior_draws(model, layout, 50, random_seed=7)
    assert list(model.__dict__["_prior_draws_cache"].values()) == [function]
    np.testing.assert_array_equal(first, again)
    assert not np.any(first == other)
    # optimiser starts (exact=False) sort nothing more here, so they reuse the same function
    prior_draw_stream(model, layout, 9, exact=False)(5)
    assert list(model.__dict__["_prior_draws_cache"].values()) == [function]


def test_a_draw_stream_continues_one_sequence_and_dispersed_starts_draw_more_only_when_needed():
    from mixgraph.compile import compile_numba_logp
    from mixgraph.init.prior_draws import prior_draw_stream
    from mixgraph.init.starts import dispersed_starts

    with mg.Model() as model:
        mg.Uniform("p", 0.0, 1.0)
        mg.Normal("y", 0.0, 1.0, observed=[0.3])
        # finite only where p < 0.5: about half the prior draws
        mg.Potential("half", mg.math.switch(model["p"] < 0.5, 0.0, -np.inf))
    layout = _layout(model)
    stream = prior_draw_stream(model, layout, 4)
    np.testing.assert_array_equal(np.concatenate([stream(8), stream(24)]),
                                  unconstrained_prior_draws(model, layout, 32, 4))
    all_draws = unconstrained_prior_draws(model, layout, 32, 4)
    inside = all_draws[1.0 / (1.0 + np.exp(-all_draws[:, 0])) < 0.5]
    starts = dispersed_starts(model, compile_numba_logp(model, layout), 8, 4)
    np.testing.assert_array_equal(starts, inside[:8])  # more than the first 8 draws were needed
