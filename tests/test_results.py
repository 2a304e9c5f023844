"""What every run records: posterior values by name and the run's attributes."""

import numpy as np
import pytest

import mixgraph as mg
from mixgraph.compile import compile_numba_logp, flat_layout
from mixgraph.results import posterior_values, run_attributes


def test_run_attributes_give_times_versions_and_tuning_steps():
    attrs = run_attributes(tune=7, began=10.0, compiled_at=12.5, sampled_at=20.0)
    assert attrs["compile_time"] == 2.5 and attrs["sampling_time"] == 7.5 and attrs["tuning_steps"] == 7
    assert attrs["inference_library"] == "mixgraph" and attrs["inference_library_version"] == mg.__version__


def test_posterior_values_are_constrained_and_keep_only_the_names_asked_for():
    with mg.Model() as model:
        sigma = mg.HalfNormal("sigma", 1.0, shape=2)
        mg.Deterministic("double", 2.0 * sigma)
    point = model.initial_point()
    compiled = compile_numba_logp(model, flat_layout(point, [value.name for value in model.value_vars]))
    positions = np.log(np.array([[[1.0, 2.0], [3.0, 4.0], [0.5, 0.25]]]))  # (chain, draw, dim), log-transformed
    values = posterior_values(model, compiled, positions, None, {})
    np.testing.assert_allclose(values["sigma"], np.exp(positions), rtol=1e-12)
    np.testing.assert_allclose(values["double"], 2.0 * np.exp(positions), rtol=1e-12)
    assert list(posterior_values(model, compiled, positions, ["double"], {})) == ["double"]
    with pytest.raises(ValueError, match=r"var_names \['tau'\] are not free variables"):
        posterior_values(model, compiled, positions, ["tau"], {})
