"""``set_data`` checks each new value at the call, before anything changes."""

import numpy as np
import pytest

import mixgraph as mg
from mixgraph.distributions.support import SupportError


def build_model():
    """x and the counts' container share dim "obs" with the observed y and z (6 entries each)."""
    with mg.Model(coords={"obs": range(6)}) as model:
        x = mg.Data("x", np.arange(1.0, 7.0), dims="obs")
        mg.Data("n", np.arange(6), dims="obs")
        counts = mg.Data("counts", np.array([0, 1, 2, 3, 4, 5]), dims="obs")
        rates = mg.Data("rates", np.linspace(0.1, 0.6, 6), dims="obs")
        mu = mg.HalfNormal("mu", 1.0)
        mg.Poisson("y", mu * x, observed=counts, dims="obs")
        mg.Gamma("g", 2.0, mu, observed=rates, dims="obs")
        mg.Normal("z", mu * x, 1.0, observed=np.zeros(6), dims="obs")
    return model


SIX = np.arange(6.0)

# name -> (new data, exception type, fragments the message must contain)
ERROR_ROWS = {
    "non-integer into an integer container": (
        {"n": np.array([0, 1, 1.5, 3, 4, 5])}, TypeError, ["Data 'n' holds integers", "1.5", "index 2", "truncated"]),
    "NaN": ({"x": np.array([1, np.nan, 3, np.nan, 5, 6.0])}, ValueError, ["Data 'x'", "2 NaN value(s)", "index 1, 3"]),
    "inf": ({"x": np.array([1, 2, 3, 4, 5, -np.inf])}, ValueError, ["Data 'x'", "1 infinite value(s)", "index 5"]),
    "dim shared with a container-observed variable": (
        {"x": np.arange(1.0, 11.0)}, ValueError,
        ["Data 'x' gives dim 'obs' length 10", "observed variable 'y'", "length 6", "'counts'"]),
    "containers given together disagree": (
        {"x": np.arange(1.0, 11.0), "counts": np.arange(9)}, ValueError, ["'x' and 'counts' share dim 'obs'", "10 and 9"]),
    "dim shared with array-observed data": (
        {"x": np.arange(1.0, 11.0), "counts": np.arange(10), "rates": np.full(10, 0.5), "n": np.arange(10)}, ValueError,
        ["observed variable 'z'", "length 6", "Data container"]),
    "new observed counts outside the support": (
        {"counts": np.array([0, 1, -2, 3, -4, 5])}, SupportError, ["Variable 'y'", "2 value(s)", "Data 'counts'", "-2 at index 2", "-4 at index 4"]),
    "new observed Gamma data negative": (
        {"rates": np.array([0.1, 0.2, -0.3, 0.4, 0.5, 0.6])}, SupportError, ["Variable 'g'", "1 value(s)", "-0.3 at index 2"]),
    "Gamma(2) data at 0: density 0": (
        {"rates": np.array([0.0, 0.2, 0.3, 0.4, 0.5, 0.6])}, SupportError, ["Variable 'g'", "0.0 at index 0"]),
    "not a container": ({"mu": SIX}, TypeError, ["'mu' is not a Data container"]),
}


@pytest.mark.parametrize("row", list(ERROR_ROWS))
def test_set_data_rejects_bad_values_naming_container_and_values(row):
    new_data, exception, fragments = ERROR_ROWS[row]
    model = build_model()
    before = {name: model[name].get_value().copy() for name in ("x", "n", "counts", "rates")}
    with pytest.raises(exception) as error:
        mg.set_data(new_data, model=model)
    message = str(error.value)
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    for name, value in before.items():  # nothing changed
        np.testing.assert_array_equal(model[name].get_value(), value)
    assert int(model.dim_lengths["obs"].get_value()) == 6


def test_float_counts_in_a_float_container_must_be_integers():
    with mg.Model() as model:
        counts = mg.Data("counts", np.array([0.0, 2.0, 3.0]))
        mg.Poisson("y", mg.HalfNormal("mu", 1.0), observed=counts)
    with pytest.raises(TypeError, match=r"'y' is discrete.*2\.5"):
        mg.set_data({"counts": np.array([0.0, 2.5, 3.0])}, model=model)


def test_set_data_accepts_consistent_new_values():
    with mg.Model(coords={"obs": range(6)}) as model:
        x = mg.Data("x", np.arange(1.0, 7.0), dims="obs")
        counts = mg.Data("counts", np.arange(6), dims="obs")
        mg.Poisson("y", mg.HalfNormal("mu", 1.0) * x, observed=counts, dims="obs")
    mg.set_data({"x": np.arange(1.0, 11.0), "counts": np.arange(10)}, model=model)
    assert int(model.dim_lengths["obs"].get_value()) == 10
    np.testing.assert_array_equal(model["counts"].get_value(), np.arange(10))
    mg.set_data({"counts": np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 0.0])}, model=model)  # integral floats are fine
    assert model["counts"].get_value().dtype == np.int64
    logp = model.compile_logp()
    assert np.isfinite(logp({"mu_log__": np.array(0.0)}))
