"""``find_MAP()``: the posterior mode by L-BFGS-B on the compiled log-density."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import scipy.optimize

from mixgraph import validation
from mixgraph.compile import compile_numba_logp, flat_layout, flatten_point, unflatten_vector
from mixgraph.draws import constrained_draws
from mixgraph.model import modelcontext
from mixgraph.point import initial_point
from mixgraph.progress import ProgressBar

__all__ = ["find_MAP"]


def find_MAP(
    start: dict | None = None,
    *,
    model: Any = None,
    maxeval: int = 5000,
    progressbar: bool = True,
    include_transformed: bool = True,
    jacobian: bool = False,
    **kwargs: Any,
) -> dict[str, np.ndarray]:
    """Find the mode of the posterior with L-BFGS-B (``scipy.optimize``).

    Parameters
    ----------
    start : dict, optional
        Variable name -> starting value (constrained space); the default is
        the model's initial point.
    maxeval : int
        Maximum number of iterations.
    include_transformed : bool
        Also return the unconstrained values (``"sigma_log__"``), as PyMC does.
    jacobian : bool
        Include the transforms' log-Jacobians. The default, False, finds the
        mode of the posterior density in the constrained space.
    **kwargs
        None are accepted (an unknown keyword is a ``TypeError``).

    Returns
    -------
    dict
        Constrained values of the free variables and deterministics (and the
        unconstrained values if ``include_transformed``).
    """
    validation.reject_pymc_keywords("find_MAP", kwargs)
    maxeval = validation.check_count("maxeval", maxeval, 1)
    model = modelcontext(model)
    validation.check_free_discrete(model)
    point = initial_point(model, start, argument="start")
    layout = flat_layout(point, [value.name for value in model.value_vars])
    compiled = compile_numba_logp(model, layout, jacobian=jacobian)
    gradient = np.zeros(layout.size)
    bar = ProgressBar(maxeval, "find_MAP", enabled=progressbar)
    evaluations = [0]

    def negative_logp_and_grad(position: np.ndarray) -> tuple[float, np.ndarray]:
        logp = compiled.logp_fn(np.ascontiguousarray(position), gradient, compiled.float_data, compiled.int_data)
        evaluations[0] += 1
        if not np.isfinite(logp) or not np.all(np.isfinite(gradient)):
            return np.inf, np.zeros_like(position)
        bar.update(evaluations[0], f"logp = {logp:.4g}")
        return -logp, -gradient.copy()

    result = scipy.optimize.minimize(
        negative_logp_and_grad, flatten_point(point, layout), jac=True, method="L-BFGS-B",
        options={"maxiter": maxeval},
    )
    bar.update(maxeval, f"logp = {-result.fun:.4g}")
    bar.close()
    if not result.success:
        warnings.warn(
            f"find_MAP: the optimiser did not converge ({result.message}); the point returned is "
            f"the last one reached. Try another start or a larger maxeval.",
            RuntimeWarning, stacklevel=2,
        )
    values = {name: value[0] for name, value in constrained_draws(model, layout, result.x[None]).items()}
    if include_transformed:
        values.update(unflatten_vector(result.x, layout))
    return values
