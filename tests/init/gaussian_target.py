"""A dense Gaussian log-density with the sampler's signature, shared by the initialisation tests."""

import numpy as np
from numba import njit

__all__ = ["MEAN", "COVARIANCE", "GAUSSIAN_DATA", "NO_INTS", "dense_gaussian_logp"]

MEAN = np.array([1.0, -2.0, 0.5])
COVARIANCE = np.array([[2.0, 1.2, 0.3], [1.2, 1.5, -0.4], [0.3, -0.4, 0.8]])
GAUSSIAN_DATA = np.concatenate([MEAN, np.linalg.inv(COVARIANCE).ravel()])
NO_INTS = np.zeros(0, dtype=np.int64)


@njit(cache=True)
def dense_gaussian_logp(position, grad_out, float_data, int_data):
    """Gaussian with ``float_data = [mean (dim), precision (dim * dim)]``."""
    dim = position.shape[0]
    centred = position - float_data[:dim]
    gradient = -(float_data[dim:].reshape((dim, dim)) @ centred)
    grad_out[:] = gradient
    return 0.5 * np.dot(centred, gradient)
