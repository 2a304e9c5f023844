"""Diagonal, dense and low-rank metrics against NumPy; their estimators; sampling with them."""

import arviz as az
import numpy as np
import pytest
from mcmc_targets import NO_INTS, dense_gaussian_data, gaussian_dense_logp

from mixgraph.mcmc import run_chains
from mixgraph.mcmc.options import DENSE_METRIC_LIMIT, check_metric_arguments, resolve_metric
from mixgraph.mcmc.mass_matrix import (
    dense_metric_estimate,
    low_rank_metric_estimate,
    spd_geometric_mean,
    window_contents,
    window_init,
    window_push,
    window_switch,
)
from mixgraph.mcmc.metrics import (
    diagonal_metric,
    draw_momentum,
    inverse_mass_matrix,
    kinetic_energy,
    metric_from_eigen,
    velocity,
)


def random_rotation(dim, seed):
    matrix = np.random.default_rng(seed).normal(size=(dim, dim))
    return np.linalg.qr(matrix)[0]


def low_rank_example():
    """scale (3,), two orthonormal vectors in 3-D and their eigenvalues."""
    vectors = random_rotation(3, 0)[:, :2]
    return metric_from_eigen(np.array([0.5, 2.0, 1.0]), np.array([50.0, 0.05]), vectors)


def numpy_inverse_mass(metric):
    scale = np.diag(metric.scale)
    vectors = metric.vectors
    update = vectors @ np.diag(metric.velocity_factors) @ vectors.T
    return scale @ (np.eye(len(metric.scale)) + update) @ scale


DENSE_COVARIANCE = np.array([[4.0, 1.5, -0.5], [1.5, 1.0, 0.1], [-0.5, 0.1, 0.3]])
METRICS = {
    "diag": diagonal_metric(np.array([0.3, 1.0, 8.0])),
    "dense": dense_metric_estimate(np.random.default_rng(1).multivariate_normal(
        np.zeros(3), DENSE_COVARIANCE, size=400)),
    "low_rank": low_rank_example(),
}


@pytest.mark.parametrize("name", METRICS)
def test_velocity_and_kinetic_energy_match_numpy(name):
    metric = METRICS[name]
    expected = numpy_inverse_mass(metric)
    np.testing.assert_allclose(inverse_mass_matrix(metric), expected, rtol=1e-12, atol=1e-14)
    momentum = np.array([0.7, -1.3, 2.1])
    np.testing.assert_allclose(velocity(momentum, metric), expected @ momentum, rtol=1e-12)
    assert kinetic_energy(momentum, velocity(momentum, metric)) == pytest.approx(
        0.5 * momentum @ expected @ momentum, rel=1e-12)


@pytest.mark.parametrize("name", METRICS)
def test_momentum_draws_have_the_mass_matrix_covariance(name):
    """Cov[p] = M = inv(M^-1), within the sampling error of a covariance."""
    metric = METRICS[name]
    rng = np.random.default_rng(3)
    n_draws = 40000
    draws = np.array([draw_momentum(rng, metric) for _ in range(n_draws)])
    mass = np.linalg.inv(numpy_inverse_mass(metric))
    # Var of the sample covariance of a Gaussian: (M_ij^2 + M_ii M_jj) / n.
    standard_error = np.sqrt((mass**2 + np.outer(np.diag(mass), np.diag(mass))) / n_draws)
    assert np.all(np.abs(np.cov(draws.T) - mass) < 5 * standard_error)
    assert np.all(np.abs(draws.mean(axis=0)) < 5 * np.sqrt(np.diag(mass) / n_draws))


def test_dense_estimate_is_stans_regularised_covariance():
    draws = np.random.default_rng(2).multivariate_normal(np.zeros(3), DENSE_COVARIANCE, size=60)
    count = draws.shape[0]
    expected = (count / (count + 5.0)) * np.cov(draws.T) + 1e-3 * (5.0 / (count + 5.0)) * np.eye(3)
    np.testing.assert_allclose(inverse_mass_matrix(dense_metric_estimate(draws)), expected,
                               rtol=1e-10)


def test_dense_estimate_recovers_a_known_covariance():
    draws = np.random.default_rng(4).multivariate_normal(np.zeros(3), DENSE_COVARIANCE, size=20000)
    estimate = inverse_mass_matrix(dense_metric_estimate(draws))
    standard_error = np.sqrt((DENSE_COVARIANCE**2 + np.outer(np.diag(DENSE_COVARIANCE),
                                                              np.diag(DENSE_COVARIANCE))) / 20000)
    assert np.all(np.abs(estimate - DENSE_COVARIANCE) < 5 * standard_error)


def test_spd_geometric_mean():
    # Diagonal case: the element-wise sqrt(c / g).
    mean = spd_geometric_mean(np.diag([1.0, 4.0, 8.0]), np.diag([1.0, 1.0, 0.5]))
    np.testing.assert_allclose(mean, np.diag([1.0, 2.0, 4.0]), atol=1e-12)
    # General case: S G S = C with S symmetric positive definite.
    rng = np.random.default_rng(5)
    first, second = rng.normal(size=(2, 4, 4))
    draw_covariance = first @ first.T + 0.1 * np.eye(4)
    grad_covariance = second @ second.T + 0.1 * np.eye(4)
    mean = spd_geometric_mean(draw_covariance, grad_covariance)
    np.testing.assert_allclose(mean @ grad_covariance @ mean, draw_covariance, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(mean, mean.T, atol=1e-12)
    assert np.all(np.linalg.eigvalsh(mean) > 0)


def correlated_covariance(dim, seed):
    """Scales 0.1 to 10 and a few very strong directions: eigenvalues 1e3, 1e-3 after scaling."""
    rotation = random_rotation(dim, seed)
    eigenvalues = np.ones(dim)
    eigenvalues[0], eigenvalues[-1] = 1000.0, 1e-3
    correlation_like = rotation @ np.diag(eigenvalues) @ rotation.T
    scale = np.logspace(-1, 1, dim)
    return scale[:, None] * correlation_like * scale[None, :]


@pytest.mark.parametrize("dim", [3, 40])
def test_low_rank_estimate_recovers_a_known_covariance(dim):
    """With exact Gaussian gradients, the kept directions give back the covariance."""
    covariance = correlated_covariance(dim, seed=dim)
    mean = np.linspace(-1.0, 1.0, dim)
    draws = np.random.default_rng(6).multivariate_normal(mean, covariance, size=4 * dim + 20)
    grads = -(draws - mean) @ np.linalg.inv(covariance)
    metric = low_rank_metric_estimate(draws, grads, np.ones(dim), 1e-5, 100.0)
    assert metric.vectors.shape[1] == 2  # only the two extreme directions are kept
    estimate = inverse_mass_matrix(metric)
    # A Gaussian's draws and gradients give the covariance without sampling noise
    # in the span of the draws (Seyboldt et al. 2024, section 3), up to the ridge.
    whitened = np.linalg.solve(np.linalg.cholesky(covariance), estimate)
    whitened = np.linalg.solve(np.linalg.cholesky(covariance), whitened.T)
    eigenvalues = np.linalg.eigvalsh(0.5 * (whitened + whitened.T))
    assert eigenvalues.min() > 0.01 and eigenvalues.max() < 100.0
    # The two kept directions are those of the covariance's extreme eigenvalues.
    scaled = covariance / np.outer(metric.scale, metric.scale)
    extreme = np.linalg.eigh(scaled)[1][:, [0, -1]]
    overlap = np.abs(metric.vectors.T @ extreme)
    assert np.all(overlap.max(axis=0) > 0.99)


def test_window_keeps_the_background_at_a_switch():
    window = window_init(5, 1)
    for value in range(4):
        window = window_push(window, np.array([float(value)]), np.array([0.0]))
    window = window_switch(window)  # background = all 4: foreground = the 4 draws
    for value in range(4, 7):
        window = window_push(window, np.array([float(value)]), np.array([0.0]))
    draws, _ = window_contents(window)  # capacity 5: the oldest two are gone
    np.testing.assert_array_equal(draws[:, 0], [2.0, 3.0, 4.0, 5.0, 6.0])
    window = window_switch(window)  # background = the last 3
    np.testing.assert_array_equal(window_contents(window)[0][:, 0], [4.0, 5.0, 6.0])


def mcse_of_mean(values):
    return az.mcse(az.convert_to_dataset({"x": values}), method="mean")["x"].values


SAMPLED_TARGETS = {
    "2-D": (np.array([1.0, -2.0]), np.array([[1.0, 0.999 * 10.0], [0.999 * 10.0, 100.0]])),
    "10-D": (np.linspace(-1.0, 1.0, 10), correlated_covariance(10, seed=10)),
}
_RUNS = {}


def sampled(target, metric):
    key = (target, metric)
    if key not in _RUNS:
        mean, covariance = SAMPLED_TARGETS[target]
        initial = np.random.default_rng(0).normal(size=(2, mean.shape[0])) * 0.1 + mean
        _RUNS[key] = run_chains(gaussian_dense_logp, dense_gaussian_data(mean, covariance),
                                NO_INTS, initial, 1000, 1000, seed=3, metric=metric)
    return _RUNS[key]


# Largest ratio of leapfrog steps to the diagonal metric's. In 2-D with
# correlation 0.999 the scaled eigenvalues are 44.7 and 1/44.7, outside
# nutpie's cutoff [1/2, 2]: the low-rank metric keeps both, as the dense one.
STEP_RATIOS = {("2-D", "dense"): 0.5, ("2-D", "low_rank"): 0.5, ("10-D", "dense"): 0.5,
               ("10-D", "low_rank"): 0.5}


@pytest.mark.parametrize("target, metric", STEP_RATIOS)
def test_correlated_gaussian_moments_and_fewer_steps(target, metric):
    mean, covariance = SAMPLED_TARGETS[target]
    result = sampled(target, metric)
    draws = result.positions[:, 1000:]
    assert np.all(np.abs(draws.mean(axis=(0, 1)) - mean) < 5 * mcse_of_mean(draws))
    centred = draws - mean
    products = centred[..., :, None] * centred[..., None, :]
    flat = products.reshape(products.shape[0], products.shape[1], -1)
    error = np.abs(flat.mean(axis=(0, 1)) - covariance.ravel())
    assert np.all(error < 5 * mcse_of_mean(flat) + 1e-12)
    assert result.stats["diverging"][:, 1000:].sum() == 0
    steps = result.stats["n_steps"][:, 1000:].mean()
    diagonal_steps = sampled(target, "diag").stats["n_steps"][:, 1000:].mean()
    assert steps < STEP_RATIOS[target, metric] * diagonal_steps, (steps, diagonal_steps)


def test_unknown_metric_is_refused():
    with pytest.raises(ValueError, match="metric must be one of"):
        run_chains(gaussian_dense_logp, dense_gaussian_data([0.0], [[1.0]]), NO_INTS,
                   np.zeros((1, 1)), 10, 10, seed=0, metric="full")


@pytest.mark.parametrize(("metric", "dimension", "used"), [
    ("auto", 1, "dense"), ("auto", DENSE_METRIC_LIMIT, "dense"), ("auto", DENSE_METRIC_LIMIT + 1, "diag"),
    ("diag", 2, "diag"), ("dense", 500, "dense"), ("low_rank", 3, "low_rank"),
])
def test_auto_metric_is_dense_up_to_the_limit_and_explicit_metrics_are_kept(metric, dimension, used):
    assert resolve_metric(metric, dimension) == used


def test_auto_is_accepted_and_a_wrong_metric_names_it():
    check_metric_arguments("auto", "nutpie")
    with pytest.raises(ValueError, match=r"\['auto', 'dense', 'diag', 'low_rank'\], not 'full'"):
        check_metric_arguments("full", "nutpie")
