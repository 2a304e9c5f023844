"""The model: registration, nesting, coords/dims, Data, errors at construction."""

import numpy as np
import pytest
import scipy.stats as stats

import mixgraph as mg


def test_named_variables_are_registered_in_order():
    with mg.Model() as model:
        mu = mg.Normal("mu", 0, 1)
        sigma = mg.HalfNormal("sigma", 1)
        y = mg.Normal("y", mu, sigma, observed=[0.1, 0.2])
        double = mg.Deterministic("double", 2 * mu)
        penalty = mg.Potential("penalty", -mu**2)
    assert model.free_RVs == [mu, sigma]
    assert model.observed_RVs == [y]
    assert model.deterministics == [double]
    assert model.potentials == [penalty]
    assert model["mu"] is mu and model["double"] is double
    assert [value.name for value in model.value_vars] == ["mu", "sigma_log__"]
    assert model.rvs_to_transforms[sigma] is mg.transforms.log
    assert model.rvs_to_transforms[mu] is None


def test_dist_belongs_to_no_model():
    with mg.Model() as model:
        unnamed = mg.Normal.dist(0, 1)
    assert unnamed.name is None
    assert model.free_RVs == []


def test_nested_models_prefix_names():
    with mg.Model() as outer:
        a = mg.Normal("a", 0, 1)
        with mg.Model(name="inner") as inner:
            b = mg.Normal("b", a, 1)
            assert mg.modelcontext() is inner
        assert mg.modelcontext() is outer
    assert b.name == "inner::b"
    assert outer.free_RVs == [a, b]
    assert inner["b"] is b and outer["inner::b"] is b


def test_shape_size_and_dims_agree():
    with mg.Model(coords={"group": ["a", "b", "c"]}) as model:
        model.add_coord("item", length=4)
        by_shape = mg.Normal("by_shape", 0, 1, shape=(4, 3))
        by_size = mg.Normal("by_size", np.zeros(3), 1, size=(4, 3))
        by_dims = mg.Normal("by_dims", 0, 1, dims=("item", "group"))
        weights = mg.Dirichlet("w", a=np.ones(3), shape=(5, 3))
    point = model.initial_point()
    assert point["by_shape"].shape == (4, 3)
    assert point["by_size"].shape == (4, 3)
    assert point["by_dims"].shape == (4, 3)
    assert point["w_simplex__"].shape == (5, 2)
    assert model.named_vars_to_dims["by_dims"] == ("item", "group")
    assert weights.type.shape == (5, 3)


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: [mg.Normal("x", 0, 1), mg.Normal("x", 0, 1)], "already used"),
        (lambda: mg.Normal.dist("x", 0, 1), "unnamed"),
        (lambda: mg.Normal("x", 0, 1, dims="nope"), "not coords of the model"),
        (lambda: mg.Normal("x", 0, 1, dims="obs", observed=np.zeros(4)), "disagrees"),
        (lambda: mg.Normal("x", 0, 1, shape=(2,), observed=np.zeros(4)), "disagrees"),
        (lambda: mg.Normal("x", 0, 1, observed=[0.0, np.nan]), "NaN"),
        (lambda: mg.Normal("x", 0, -1.0), "sigma must be positive"),
        (lambda: mg.Normal("x", 0, 1, shape=3, size=3), "not both"),
        (lambda: mg.Normal("x", np.zeros(3), 1, shape=(2,)), "do not fit"),
    ],
)
def test_bad_input_raises_at_construction(build, message):
    with mg.Model(coords={"obs": range(3)}):
        with pytest.raises((ValueError, TypeError), match=message):
            build()


def test_named_variable_outside_model_suggests_dist():
    with pytest.raises(TypeError, match=r"\.dist\("):
        mg.Normal("x", 0, 1)


def test_variable_name_in_parameter_error():
    with mg.Model():
        with pytest.raises(ValueError, match="'scale_me'.*sigma"):
            mg.Normal("scale_me", 0, -2.0)


def test_discrete_observed_must_be_integers():
    with mg.Model():
        with pytest.raises(TypeError, match="non-integer"):
            mg.Poisson("counts", 3.0, observed=[1.0, 2.5])


def test_observed_pandas_values_and_lists():
    pandas = pytest.importorskip("pandas")
    with mg.Model() as model:
        mg.Normal("a", 0, 1, observed=pandas.Series([1.0, 2.0]))
        mg.Normal("b", 0, 1, observed=[[1.0], [2.0]])
    assert model["a"].type.shape == (2,)
    assert model["b"].type.shape == (2, 1)


def test_model_logp_matches_scipy():
    data = np.array([0.3, -1.2, 2.0])
    with mg.Model() as model:
        mu = mg.Normal("mu", 1.0, 2.0)
        sigma = mg.HalfNormal("sigma", 1.5)
        mg.Normal("y", mu, sigma, observed=data)
    logp = model.compile_logp()
    point = {"mu": np.array(0.4), "sigma_log__": np.array(np.log(0.7))}
    expected = (
        stats.norm(1.0, 2.0).logpdf(0.4)
        + stats.halfnorm(scale=1.5).logpdf(0.7) + np.log(0.7)  # log-Jacobian of exp
        + stats.norm(0.4, 0.7).logpdf(data).sum()
    )
    assert logp(point) == pytest.approx(expected, rel=1e-12)
    without_jacobian = model.compile_logp(jacobian=False)
    assert without_jacobian(point) == pytest.approx(expected - np.log(0.7), rel=1e-12)
    terms = model.compile_logp(sum=False)(point)
    assert len(terms) == 3
    assert np.asarray(terms[2]).shape == (3,)


def test_gradient_matches_finite_differences():
    with mg.Model() as model:
        mu = mg.Normal("mu", 0.0, 1.0, shape=2)
        sigma = mg.HalfNormal("sigma", 1.0)
        mg.Normal("y", mu.sum(), sigma, observed=[0.5, 1.5])
    logp_dlogp = model.compile_logp_dlogp()
    point = {"mu": np.array([0.2, -0.1]), "sigma_log__": np.array(0.3)}
    _, gradient = logp_dlogp(point)
    for name in point:
        flat = point[name].ravel()
        for index in range(flat.size):
            step = 1e-6
            plus = {**point, name: (flat + step * (np.arange(flat.size) == index)).reshape(point[name].shape)}
            minus = {**point, name: (flat - step * (np.arange(flat.size) == index)).reshape(point[name].shape)}
            numeric = (logp_dlogp(plus)[0] - logp_dlogp(minus)[0]) / (2 * step)
            assert np.ravel(gradient[name])[index] == pytest.approx(numeric, rel=1e-6, abs=1e-8)


def test_point_logps_names_each_variable():
    with mg.Model() as model:
        mg.Normal("a", 0, 1)
        mg.Normal("b", 0, 1, observed=[0.0])
    assert model.point_logps() == {"a": -0.92, "b": -0.92}


def test_data_and_set_data_change_lengths():
    with mg.Model() as model:
        x = mg.Data("x", np.arange(3.0), dims="obs")
        slope = mg.Normal("slope", 0, 1)
        mg.Normal("y", slope * x, 1, observed=x, dims="obs")
    assert model.dim_lengths["obs"].get_value() == 3
    logp = model.compile_logp()
    before = logp({"slope": np.array(1.0)})
    mg.set_data({"x": np.arange(5.0)}, model=model, coords={"obs": list("abcde")})
    assert model.dim_lengths["obs"].get_value() == 5
    assert model.coords["obs"] == tuple("abcde")
    after = logp({"slope": np.array(1.0)})
    # y = x exactly at slope 1: each observation contributes the Normal's peak
    assert before == pytest.approx(stats.norm.logpdf(1.0) + 3 * stats.norm.logpdf(0.0))
    assert after == pytest.approx(stats.norm.logpdf(1.0) + 5 * stats.norm.logpdf(0.0))


def test_data_dims_must_match_existing_coords():
    with mg.Model(coords={"obs": range(4)}):
        with pytest.raises(ValueError, match="length 4"):
            mg.Data("x", np.zeros(3), dims="obs")


def test_initval_is_used():
    with mg.Model() as model:
        mg.HalfNormal("sigma", 1.0, initval=2.0)
    assert model.initial_point()["sigma_log__"] == pytest.approx(np.log(2.0))


def test_pymc_mixture_docs_priors_match_scipy():
    """The non-mixture parts of PyMC's Mixture documentation examples, with mg for pm."""
    with mg.Model() as model:
        w = mg.Dirichlet("w", a=np.array([1.0, 1.0]))
        lam1 = mg.Exponential("lam1", lam=1.0)
        lam2 = mg.Exponential("lam2", lam=1.0)
        w5 = mg.Dirichlet("w5", a=np.ones(3), shape=(5, 3))
        mu = mg.Normal("mu", mu=np.arange(3), sigma=1, shape=3)
    point = {
        "w_simplex__": np.array([0.4]),
        "lam1_log__": np.array(np.log(0.7)),
        "lam2_log__": np.array(np.log(2.5)),
        "w5_simplex__": np.linspace(-1, 1, 10).reshape(5, 2),
        "mu": np.array([0.3, 1.1, 1.7]),
    }
    logp = model.compile_logp(jacobian=False)(point)
    w_value = np.exp(np.r_[0.4, 0.0]) / np.exp(np.r_[0.4, 0.0]).sum()
    padded = np.concatenate([point["w5_simplex__"], np.zeros((5, 1))], axis=1)
    w5_value = np.exp(padded) / np.exp(padded).sum(axis=1, keepdims=True)
    expected = (
        stats.dirichlet([1.0, 1.0]).logpdf(w_value)
        + stats.expon().logpdf(0.7) + stats.expon().logpdf(2.5)
        + sum(stats.dirichlet(np.ones(3)).logpdf(row) for row in w5_value)
        + stats.norm(np.arange(3), 1).logpdf(point["mu"]).sum()
    )
    assert logp == pytest.approx(expected, rel=1e-10)
    assert [v.name for v in model.value_vars] == list(point)
