"""The fused one-pass mixture log-density equals the generic graph, and is chosen where it applies.

Each row of ``CASES`` builds one mixture from symbolic parameters; the fused
graph (the default) and the generic graph (built under ``generic_only()``)
are compiled with the same rewrites as the sampler's function and compared,
value and gradient, over a grid of parameter values that includes zero
weights, components at ``-inf`` and invalid parameters.
"""

from __future__ import annotations

import contextlib
import textwrap
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from scipy import stats
from pytensor.compile.mode import Mode, get_mode

import mixgraph as mg
from fresh_process import checked_result, register_fresh_process_script
from mixgraph.compile import stabilize_graph
from mixgraph.distributions.mixture_fused import FusedMixtureLogp
from mixgraph.distributions.mixture_fused_choice import generic_only

PY_MODE = Mode(linker="py", optimizer=get_mode("NUMBA").optimizer)
N = 7
RNG = np.random.default_rng(42)
REAL_VALUES = np.round(RNG.normal(0.0, 2.0, N), 3)
COUNT_VALUES = np.array([0, 0, 1, 3, 0, 7, 2])


@dataclass(frozen=True)
class Case:
    """One mixture: ``build(**symbols)`` returns the ``.dist()`` variable; a grid of parameter values."""

    name: str
    symbols: dict  # name -> static shape (float64)
    build: Callable
    grid: tuple
    values: np.ndarray
    latent_value: bool = False  # differentiate with respect to the value as well
    invalid: tuple = ()  # rows of the grid with invalid parameters: -inf and a zero gradient


def _normal_pair(w, mu, sigma):
    return mg.NormalMixture.dist(w=w, mu=mu, sigma=sigma)


def _regression(w, a, b, sigma):
    x = pt.as_tensor(np.linspace(-1.0, 1.0, N))
    return mg.Mixture.dist(w=w, comp_dists=[mg.Normal.dist(a + b * x, sigma), mg.Normal.dist(0.0, 3.0 * sigma)])


def _poisson_pair(w, mu):
    return mg.Mixture.dist(w=w, comp_dists=[mg.Poisson.dist(mu[0]), mg.Poisson.dist(mu[1])])


def _zip(psi, mu):
    return mg.ZeroInflatedPoisson.dist(psi=psi, mu=mu)


def _student_t_and_normal(w, nu, mu, sigma):
    return mg.Mixture.dist(w=w, comp_dists=[mg.StudentT.dist(nu=nu, mu=mu, sigma=sigma), mg.Normal.dist(0.0, sigma)])


def _per_observation_weights(logit, mu):
    weights = pt.special.softmax(pt.stack([logit * pt.ones(N), pt.zeros(N)], axis=-1), axis=-1)
    return mg.NormalMixture.dist(w=weights, mu=mu, sigma=pt.ones(2))


CASES = [
    Case("NormalMixture", {"w": (2,), "mu": (2,), "sigma": (2,)}, _normal_pair,
         ({"w": [0.3, 0.7], "mu": [-1.0, 2.0], "sigma": [1.0, 0.5]},
          {"w": [0.0, 1.0], "mu": [-1.0, 2.0], "sigma": [1.0, 0.5]},  # a zero weight
          {"w": [0.5, 0.5], "mu": [0.0, 0.0], "sigma": [1e-3, 40.0]},  # one component far below the other
          {"w": [0.3, 0.7], "mu": [-1.0, 2.0], "sigma": [-1.0, 0.5]},  # invalid sigma
          {"w": [0.3, 0.3], "mu": [-1.0, 2.0], "sigma": [1.0, 0.5]},  # weights off the simplex
          {"w": [1.2, -0.2], "mu": [-1.0, 2.0], "sigma": [1.0, 0.5]}),  # a negative weight
         REAL_VALUES, latent_value=True, invalid=(3, 4, 5)),
    Case("Normal regression mean", {"w": (2,), "a": (), "b": (), "sigma": ()}, _regression,
         ({"w": [0.6, 0.4], "a": 0.5, "b": -1.5, "sigma": 0.8},
          {"w": [1.0, 0.0], "a": 0.5, "b": -1.5, "sigma": 0.8},
          {"w": [0.6, 0.4], "a": 0.5, "b": -1.5, "sigma": 0.0}),
         REAL_VALUES, latent_value=True, invalid=(2,)),
    Case("Poisson pair", {"w": (2,), "mu": (2,)}, _poisson_pair,
         ({"w": [0.4, 0.6], "mu": [0.5, 4.0]},
          {"w": [0.4, 0.6], "mu": [0.0, 4.0]},  # mu = 0: -inf at every positive count
          {"w": [0.0, 1.0], "mu": [0.5, 4.0]},
          {"w": [0.4, 0.6], "mu": [-0.5, 4.0]}),
         COUNT_VALUES, invalid=(3,)),
    Case("ZeroInflatedPoisson", {"psi": (), "mu": ()}, _zip,
         ({"psi": 0.7, "mu": 2.5}, {"psi": 1.0, "mu": 2.5}, {"psi": 0.0, "mu": 2.5}, {"psi": 0.4, "mu": 0.0},
          {"psi": 0.4, "mu": -1.0}, {"psi": 1.5, "mu": 2.0}),
         COUNT_VALUES, invalid=(4, 5)),
    Case("ZeroInflatedPoisson regression", {"psi": (), "mu": (N,)}, _zip,
         ({"psi": 0.7, "mu": np.linspace(0.5, 6.0, N)}, {"psi": 0.7, "mu": np.r_[0.0, np.linspace(0.5, 6.0, N - 1)]}),
         COUNT_VALUES),
    Case("StudentT and Normal", {"w": (2,), "nu": (), "mu": (), "sigma": ()}, _student_t_and_normal,
         ({"w": [0.3, 0.7], "nu": 3.5, "mu": 0.4, "sigma": 1.3},
          {"w": [0.5, 0.5], "nu": 0.3, "mu": -2.0, "sigma": 0.2},  # heavy tails, far observations
          {"w": [1.0, 0.0], "nu": 40.0, "mu": 1.0, "sigma": 2.0},
          {"w": [0.3, 0.7], "nu": 0.0, "mu": 0.4, "sigma": 1.3},  # invalid nu
          {"w": [0.3, 0.7], "nu": 3.5, "mu": 0.4, "sigma": -1.0}),  # invalid sigma
         REAL_VALUES, latent_value=True, invalid=(3, 4)),
    Case("per-observation weights", {"logit": (), "mu": (2,)}, _per_observation_weights,
         ({"logit": 0.3, "mu": [-1.0, 1.0]}, {"logit": -40.0, "mu": [-1.0, 1.0]}),
         REAL_VALUES, latent_value=True),
]


def _compiled(case: Case, generic: bool, mode):
    symbols = {name: pt.tensor(dtype="float64", shape=shape, name=name) for name, shape in case.symbols.items()}
    value = pt.tensor(dtype="int64" if case.values.dtype.kind == "i" else "float64", shape=(N,), name="value")
    with generic_only() if generic else contextlib.nullcontext():
        rv = case.build(**symbols)
        logp = stabilize_graph(mg.logp(rv, value).sum())
    wrt = list(symbols.values()) + ([value] if case.latent_value else [])
    function = pytensor.function([*symbols.values(), value], [logp, *pytensor.grad(logp, wrt)], mode=mode)
    return function, list(symbols)


@pytest.fixture(scope="module")
def compiled():
    return {(case.name, generic): _compiled(case, generic, PY_MODE) for case in CASES for generic in (False, True)}


def _evaluate(function, names, parameters, values):
    return function(*[np.asarray(parameters[name], dtype="float64") for name in names], values)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_fused_equals_generic_value_and_gradient(case, compiled):
    fused_function, names = compiled[(case.name, False)]
    generic_function, _ = compiled[(case.name, True)]
    assert any(isinstance(node.op, FusedMixtureLogp) for node in fused_function.maker.fgraph.apply_nodes)
    assert not any(isinstance(node.op, FusedMixtureLogp) for node in generic_function.maker.fgraph.apply_nodes)
    for row, parameters in enumerate(case.grid):
        fused = _evaluate(fused_function, names, parameters, case.values)
        generic = _evaluate(generic_function, names, parameters, case.values)
        assert fused[0] == generic[0] or np.isclose(fused[0], generic[0], rtol=1e-10, atol=1e-10), parameters
        for fused_gradient, generic_gradient in zip(fused[1:], generic[1:]):
            assert np.all(np.isfinite(fused_gradient)), parameters  # never NaN, also where generic is
            finite = np.isfinite(generic_gradient)
            np.testing.assert_allclose(fused_gradient[finite], generic_gradient[finite], rtol=1e-9, atol=1e-10,
                                       err_msg=str(parameters))
        if row in case.invalid:
            assert fused[0] == -np.inf and all(np.all(g == 0) for g in fused[1:]), parameters
        else:
            assert fused[0] == -np.inf or np.isfinite(fused[0]), parameters


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_fused_gradient_matches_finite_differences(case, compiled):
    function, names = compiled[(case.name, False)]
    parameters = {name: np.asarray(value, dtype="float64") for name, value in case.grid[0].items()}
    _, *gradients = _evaluate(function, names, parameters, case.values)
    step = 2e-7  # weights stay on the simplex within its tolerance of 1e-6
    for name, gradient in zip(names, gradients):
        flat = parameters[name].reshape(-1)
        for index in range(flat.size):
            shifted = {key: value.copy() for key, value in parameters.items()}
            up, down = shifted[name].reshape(-1).copy(), shifted[name].reshape(-1).copy()
            up[index] += step
            down[index] -= step
            shifted[name] = up.reshape(parameters[name].shape)
            upper = _evaluate(function, names, shifted, case.values)[0]
            shifted[name] = down.reshape(parameters[name].shape)
            lower = _evaluate(function, names, shifted, case.values)[0]
            # weights are not renormalised, so the derivative is the unconstrained one, as in the generic graph
            np.testing.assert_allclose(np.reshape(gradient, -1)[index], (upper - lower) / (2 * step), rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------- where the rewrite applies
def _fused_nodes(rv, value, wrt):
    logp = stabilize_graph(mg.logp(rv, value).sum())
    function = pytensor.function(wrt + [value], [logp, *pytensor.grad(logp, wrt)], mode=PY_MODE,
                                 on_unused_input="ignore")
    return [node for node in function.maker.fgraph.apply_nodes if isinstance(node.op, FusedMixtureLogp)]


def test_logp_and_gradient_share_one_reduced_pass():
    w, mu, sigma = pt.dvector("w", shape=(2,)), pt.dvector("mu", shape=(2,)), pt.dvector("sigma", shape=(2,))
    value = pt.dvector("value", shape=(None,))
    nodes = _fused_nodes(mg.NormalMixture.dist(w=w, mu=mu, sigma=sigma), value, [w, mu, sigma])
    assert len(nodes) == 1 and nodes[0].op.reduce
    assert nodes[0].op.wanted == (1, 2, 3, 4, 5)  # weights and four parameters; not the observed value


def _unsupported_cases():
    w, sigma = pt.dvector("w", shape=(2,)), pt.dscalar("sigma")
    value = pt.dvector("value", shape=(None,))
    wide = pt.dmatrix("wide", shape=(3, None))
    w_any, mu_any = pt.dvector("w_any"), pt.dvector("mu_any")
    return {
        "a Laplace component": (mg.Mixture.dist(w=w, comp_dists=[mg.Laplace.dist(mu=0.0, b=sigma),
                                                                  mg.Normal.dist(0.0, sigma)]), value, [w, sigma]),
        "a parameter that broadcasts the value up": (
            mg.Mixture.dist(w=w, comp_dists=[mg.Normal.dist(wide, sigma), mg.Normal.dist(0.0, sigma)]),
            value, [w, sigma, wide]),
        "an unknown number of components": (
            mg.NormalMixture.dist(w=w_any, mu=mu_any, sigma=1.0), value, [w_any, mu_any]),
        "a multivariate component": (
            mg.Mixture.dist(w=w, comp_dists=[mg.MvNormal.dist(mu=np.zeros(2), cov=np.eye(2)),
                                             mg.MvNormal.dist(mu=np.ones(2), cov=np.eye(2))]),
            pt.dmatrix("points", shape=(None, 2)), [w]),
    }


@pytest.mark.parametrize("name", list(_unsupported_cases()))
def test_generic_graph_stays_where_the_fused_op_does_not_apply(name):
    rv, value, wrt = _unsupported_cases()[name]
    assert _fused_nodes(rv, value, wrt) == []


def test_generic_only_builds_the_generic_graph():
    w, mu = pt.dvector("w", shape=(2,)), pt.dvector("mu", shape=(2,))
    value = pt.dvector("value", shape=(None,))
    with generic_only():
        assert _fused_nodes(mg.NormalMixture.dist(w=w, mu=mu, sigma=1.0), value, [w, mu]) == []
    assert len(_fused_nodes(mg.NormalMixture.dist(w=w, mu=mu, sigma=1.0), value, [w, mu])) == 1


def test_per_observation_log_density_for_pointwise_use():
    """Without the sum the op returns one log-density per observation, as the generic graph."""
    w, mu = pt.dvector("w", shape=(2,)), pt.dvector("mu", shape=(2,))
    value = pt.dmatrix("value", shape=(None, 3))
    rv = mg.NormalMixture.dist(w=w, mu=mu, sigma=1.0)
    fused = pytensor.function([w, mu, value], mg.logp(rv, value), mode=PY_MODE)
    with generic_only():
        generic = pytensor.function([w, mu, value], mg.logp(rv, value), mode=PY_MODE)
    points = REAL_VALUES[:6].reshape(2, 3)
    result = fused([0.2, 0.8], [0.0, 1.0], points)
    assert result.shape == (2, 3)
    np.testing.assert_allclose(result, generic([0.2, 0.8], [0.0, 1.0], points), rtol=1e-12)



@pytest.mark.parametrize("weights", [[0.3, 0.7], [0.1, 0.2, 0.3, 0.15, 0.25]], ids=["K=2", "K=5"])
def test_summed_log_density_equals_the_sum_of_the_per_observation_ones(weights):
    """Over 1000 observations the reduced kernel's sum equals the per-observation kernel's log-densities
    summed, and scipy's mixture density."""
    count = len(weights)
    w, mu, sigma = (pt.dvector(name, shape=(count,)) for name in ("w", "mu", "sigma"))
    value = pt.dvector("value", shape=(1000,))
    rv = mg.NormalMixture.dist(w=w, mu=mu, sigma=sigma)
    summed = pytensor.function([w, mu, sigma, value], mg.logp(rv, value).sum(), mode=PY_MODE)
    pointwise = pytensor.function([w, mu, sigma, value], mg.logp(rv, value), mode=PY_MODE)
    assert any(isinstance(node.op, FusedMixtureLogp) for node in summed.maker.fgraph.apply_nodes)
    rng = np.random.default_rng(7)
    data = rng.normal(0.0, 4.0, 1000)
    parameters = (np.asarray(weights), np.linspace(-6.0, 6.0, count), np.linspace(0.5, 2.0, count))
    expected = np.sum(pointwise(*parameters, data))
    scipy_value = np.sum(np.log(np.sum(
        parameters[0] * stats.norm.pdf(data[:, None], parameters[1], parameters[2]), axis=1)))
    np.testing.assert_allclose(summed(*parameters, data), expected, rtol=1e-13)
    np.testing.assert_allclose(summed(*parameters, data), scipy_value, rtol=1e-12)


# ---------------------------------------------------------------- the sampler's compiled function
BUILD_SOURCE = textwrap.dedent(
    """
    import numpy as np
    import pytensor.tensor as pt
    import mixgraph as mg

    def build():
        rng = np.random.default_rng(3)
        x = np.linspace(-1.0, 1.0, 300)
        counts = rng.poisson(np.exp(0.5 + x)) * (rng.uniform(size=300) < 0.7)
        with mg.Model() as model:
            w = mg.Dirichlet("w", a=np.ones(2))
            mu = mg.Normal("mu", 0.0, 5.0, shape=2)
            sigma = mg.HalfNormal("sigma", 2.0, shape=2)
            mg.NormalMixture("y", w=w, mu=mu, sigma=sigma, observed=rng.normal(0.0, 2.0, 500))
            psi = mg.Beta("psi", 2.0, 2.0)
            beta = mg.Normal("beta", 0.0, 1.0, shape=2)
            mg.ZeroInflatedPoisson("counts", psi=psi, mu=pt.exp(beta[0] + beta[1] * x), observed=counts)
        return model
    """
)

MODEL_SCRIPT = BUILD_SOURCE + textwrap.dedent(
    """
    import json, warnings
    from mixgraph.compile import compile_numba_logp, flat_layout
    from mixgraph.distributions.mixture_fused import FusedMixtureLogp
    from mixgraph.point import initial_point

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = build()
        point = initial_point(model, None)
        layout = flat_layout(point, [value.name for value in model.value_vars])
        compiled = compile_numba_logp(model, layout)
        position = np.linspace(-0.5, 0.5, layout.size)
        gradient = np.zeros(layout.size)
        logp = compiled.logp_fn(position, gradient, compiled.float_data, compiled.int_data)
    stats = compiled.logp_fn.stats
    print(json.dumps({
        "logp": float(logp), "gradient": gradient.tolist(),
        "fused_nodes": sum(isinstance(node.op, FusedMixtureLogp)
                           for node in compiled.python_function.maker.fgraph.apply_nodes),
        "warnings": [str(warning.message) for warning in caught if "cache" in str(warning.message).lower()],
        "cache_hits": int(sum(stats.cache_hits.values())), "cache_misses": int(sum(stats.cache_misses.values())),
    }))
    """
)
register_fresh_process_script("fused_mixture", MODEL_SCRIPT)


def _generic_logp_and_gradient(size: int) -> tuple[float, np.ndarray]:
    """The script's model built with the generic graph, at the script's position (Python linker, in this process)."""
    from mixgraph.compile import flat_layout, flatten_point, unflatten_vector
    from mixgraph.point import initial_point

    namespace = {}
    exec(BUILD_SOURCE, namespace)
    with generic_only():
        model = namespace["build"]()
        point = initial_point(model, None)
        layout = flat_layout(point, [value.name for value in model.value_vars])
        assert layout.size == size
        logp, gradients = model.compile_logp_dlogp(mode="FAST_COMPILE")(
            unflatten_vector(np.linspace(-0.5, 0.5, size), layout))
    return logp, flatten_point(gradients, layout)


def test_compiled_model_uses_the_fused_op_matches_generic_and_loads_from_disk(fresh_process_results):
    first, second = checked_result(fresh_process_results, "fused_mixture")
    assert first["fused_nodes"] == 2
    assert np.isfinite(first["logp"])
    # the generic graph is evaluated here, not compiled by Numba in the fresh process (7 s less there)
    generic_logp, generic_gradient = _generic_logp_and_gradient(len(first["gradient"]))
    np.testing.assert_allclose(first["logp"], generic_logp, rtol=1e-10)
    np.testing.assert_allclose(first["gradient"], generic_gradient, rtol=1e-8, atol=1e-10)
    assert first["warnings"] == [] and second["warnings"] == []
    assert second["logp"] == first["logp"]
    assert second["cache_hits"] == 1 and second["cache_misses"] == 0


def test_the_disk_cache_key_follows_the_generated_source(monkeypatch):
    # A changed family template must not load a kernel compiled from the old source: the op's cache
    # key includes a hash of its generated source (and of the inlined arithmetic).
    from mixgraph.distributions import mixture_fused_families
    from mixgraph.distributions.mixture_fused import source_version

    layout = (("student_t", "normal"), (True,) * 6, (1, 2), True)
    before = source_version(*layout)
    assert before == source_version(*layout)
    assert before != source_version(("normal", "normal"), (True,) * 5, (1, 2), True)
    template = mixture_fused_families.STUDENT_T
    changed = template._replace(partials=("0.0",) + template.partials[1:])
    monkeypatch.setitem(mixture_fused_families.FAMILIES, "student_t", changed)
    assert source_version(*layout) != before
    monkeypatch.undo()
    assert source_version(*layout) == before
