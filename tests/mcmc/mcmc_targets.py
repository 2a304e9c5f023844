"""Test targets for the sampler core: ``@njit`` log-densities with the model signature.

Each takes ``(position, grad_out, float_data, int_data)``, writes the gradient
and returns the log-density, exactly like a compiled mixgraph model.
"""

import numpy as np
from numba import njit

from mixgraph.mcmc.state import ADAPTATION_MODES, SamplerSettings


@njit(cache=True)
def gaussian_diagonal_logp(position, grad_out, float_data, int_data):
    """Independent zero-mean Gaussians, scales in ``float_data``."""
    logp = 0.0
    for index in range(position.shape[0]):
        precision = 1.0 / (float_data[index] * float_data[index])
        grad_out[index] = -position[index] * precision
        logp -= 0.5 * position[index] * position[index] * precision
    return logp


@njit(cache=True)
def gaussian_dense_logp(position, grad_out, float_data, int_data):
    """Gaussian with ``float_data = [mean (dim), precision matrix (dim * dim)]``."""
    dim = position.shape[0]
    centred = position - float_data[:dim]
    precision = float_data[dim:].reshape((dim, dim))
    gradient = -(precision @ centred)
    grad_out[:] = gradient
    return 0.5 * np.dot(centred, gradient)


@njit(cache=True)
def nan_region_logp(position, grad_out, float_data, int_data):
    """Standard Gaussian that returns NaN where ``position[0] > float_data[0]``."""
    if position[0] > float_data[0]:
        grad_out[:] = np.nan
        return np.nan
    grad_out[:] = -position
    return -0.5 * np.dot(position, position)


NO_INTS = np.zeros(0, dtype=np.int64)


def dense_gaussian_data(mean, covariance):
    """``float_data`` for :func:`gaussian_dense_logp`."""
    precision = np.linalg.inv(np.asarray(covariance, dtype=np.float64))
    return np.concatenate([np.asarray(mean, dtype=np.float64), precision.ravel()])


def sampler_settings(n_tune=0, adaptation="nutpie", max_tree_depth=10):
    return SamplerSettings(n_tune, 0.8, max_tree_depth, 1000.0, ADAPTATION_MODES[adaptation],
                           0.05, 10.0, 0.75, 0, 0, 1e-5, 100.0)
