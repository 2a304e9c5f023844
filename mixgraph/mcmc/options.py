"""Checks of the sampler's string options, made before anything is compiled."""

from mixgraph.mcmc.state import ADAPTATION_MODES, METRIC_KINDS

__all__ = ["DENSE_METRIC_LIMIT", "check_metric_arguments", "resolve_metric"]

DENSE_METRIC_LIMIT = 20
"""``metric="auto"`` uses a dense mass matrix up to this many unconstrained parameters.

Chosen by measurement (``benchmarks/metric.py`` and ``benchmarks/warmup.py``,
benchmarks/README.md, "Mass-matrix forms"): on the six shared models (3 to 17
parameters), a correlated regression and the Old Faithful mixture, dense gave
0.8 to 12 times the ESS per second of the diagonal. On a nearly independent
hierarchical posterior it still gained at 12 and 22 parameters and lost from
32 on (0.6 times at 32, 0.4 at 52, 0.2 at 102): a covariance of many
dimensions is estimated poorly from one warm-up window's draws.
"""


def check_metric_arguments(metric: str, adaptation: str) -> None:
    """Raise ``ValueError`` for an unknown ``metric=`` or ``adaptation=``.

    Parameters
    ----------
    metric : str
        One of ``"auto"``, ``"diag"``, ``"dense"``, ``"low_rank"``.
    adaptation : str
        One of ``"nutpie"``, ``"stan"``.
    """
    if metric != "auto" and metric not in METRIC_KINDS:
        raise ValueError(
            f"metric must be one of {['auto', *sorted(METRIC_KINDS)]}, not {metric!r}: 'auto' (the "
            f"default: dense up to {DENSE_METRIC_LIMIT} parameters, diagonal beyond), 'diag', "
            f"'dense' or 'low_rank'"
        )
    if adaptation not in ADAPTATION_MODES:
        raise ValueError(
            f"adaptation must be one of {sorted(ADAPTATION_MODES)}, not {adaptation!r}"
        )


def resolve_metric(metric: str, dimension: int) -> str:
    """The mass-matrix form a run uses: ``metric``, or for ``"auto"`` the one chosen by size.

    Parameters
    ----------
    metric : str
        ``"auto"``, ``"diag"``, ``"dense"`` or ``"low_rank"`` (already checked).
    dimension : int
        Number of unconstrained parameters.

    Returns
    -------
    str
        ``"dense"`` for ``"auto"`` with at most :data:`DENSE_METRIC_LIMIT`
        parameters, ``"diag"`` for ``"auto"`` beyond, else ``metric``.
    """
    if metric != "auto":
        return metric
    return "dense" if dimension <= DENSE_METRIC_LIMIT else "diag"
