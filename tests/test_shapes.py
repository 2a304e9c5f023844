"""Shapes given through a ``Data`` container: ``shape=x.shape``, ``shape=(x.shape[0],)`` and ``size=``.

PyMC users write these so that predictions follow ``set_data``: every form,
for univariate, discrete, multivariate and mixture variables, must build,
evaluate, and give predictions of the new length after ``set_data``.
"""

from __future__ import annotations

import arviz as az
import numpy as np
import pytest

import mixgraph as mg
from mixgraph.point import compile_logp, initial_point
from mixgraph.shapes import as_shape_tuple

X = np.linspace(-1.0, 1.0, 6)
NEW_X = np.linspace(0.0, 2.0, 9)
COV = np.array([[1.0, 0.3], [0.3, 2.0]])

# form -> keywords as a function of the Data container x (univariate; a support
# axis of length 2 is appended for the multivariate row)
FORMS = {
    "shape=x.shape": lambda x, support: dict(shape=(*[x.shape[0]], *support)) if support else dict(shape=x.shape),
    "shape=(x.shape[0],)": lambda x, support: dict(shape=(x.shape[0], *support)),
    "size=x.shape": lambda x, support: dict(size=x.shape),
    "size=(x.shape[0],)": lambda x, support: dict(size=(x.shape[0],)),
}


def _normal(slope, x, keywords):
    return mg.Normal("y", slope * x, 1.0, observed=np.zeros(6), **keywords)


def _student_t(slope, x, keywords):
    return mg.StudentT("y", 4.0, slope * x, 1.0, observed=np.zeros(6), **keywords)


def _poisson(slope, x, keywords):
    return mg.Poisson("y", mg.math.exp(slope * x), observed=np.arange(6), **keywords)


def _normal_mixture(slope, x, keywords):
    means = mg.math.stack([slope * x, -slope * x], axis=-1)
    return mg.NormalMixture("y", np.array([0.5, 0.5]), means, sigma=1.0, observed=np.zeros(6), **keywords)


def _mvnormal(slope, x, keywords):
    means = mg.math.stack([slope * x, -slope * x], axis=-1)
    return mg.MvNormal("y", means, cov=COV, observed=np.zeros((6, 2)), **keywords)


DISTRIBUTIONS = {  # name -> (builder, support shape)
    "Normal": (_normal, ()), "StudentT": (_student_t, ()), "Poisson": (_poisson, ()),
    "NormalMixture": (_normal_mixture, ()), "MvNormal": (_mvnormal, (2,)),
}


@pytest.mark.parametrize("form", list(FORMS))
@pytest.mark.parametrize("name", list(DISTRIBUTIONS))
def test_data_shape_follows_set_data_in_predictions(name, form):
    build, support = DISTRIBUTIONS[name]
    with mg.Model() as model:
        x = mg.Data("x", X)
        slope = mg.Normal("slope", 0.0, 1.0)
        build(slope, x, FORMS[form](x, support))
        assert np.isfinite(compile_logp(model, mode="FAST_COMPILE")(initial_point(model)))
        posterior = az.from_dict(posterior={"slope": np.linspace(-1.0, 1.0, 8).reshape(2, 4)})
        fitted = mg.sample_posterior_predictive(posterior, random_seed=1, progressbar=False)
        assert fitted.posterior_predictive["y"].shape == (2, 4, 6, *support)
        mg.set_data({"x": NEW_X})
        predictions = mg.sample_posterior_predictive(posterior, predictions=True, random_seed=1, progressbar=False)
    assert predictions.predictions["y"].shape == (2, 4, 9, *support)


def test_free_variable_with_data_shape():
    with mg.Model():
        x = mg.Data("x", X)
        z = mg.Normal("z", 0.0, 1.0, shape=x.shape)
        assert mg.draw(z, random_seed=1).shape == (6,)
        mg.set_data({"x": NEW_X})
        assert mg.draw(z, random_seed=1).shape == (9,)


def test_shape_vector_entries_are_its_lengths():
    with mg.Model():
        x = mg.Data("x", np.zeros((2, 3)))
    lengths = as_shape_tuple(x.shape)
    assert len(lengths) == 2
    assert [int(length.eval()) for length in lengths] == [2, 3]


def test_float_shape_vector_is_rejected():
    with mg.Model():
        x = mg.Data("x", X)
        with pytest.raises(TypeError, match="a shape must hold integers"):
            mg.Normal("z", 0.0, 1.0, shape=x * 2.0)
