"""Checks of the sampler's string options, made before anything is compiled."""

from mixgraph.mcmc.kernel import ADAPTATION_MODES, METRIC_KINDS

__all__ = ["check_metric_arguments"]


def check_metric_arguments(metric: str, adaptation: str) -> None:
    """Raise ``ValueError`` for an unknown ``metric=`` or ``adaptation=``.

    Parameters
    ----------
    metric : str
        One of ``"diag"``, ``"dense"``, ``"low_rank"``.
    adaptation : str
        One of ``"nutpie"``, ``"stan"``.
    """
    if metric not in METRIC_KINDS:
        raise ValueError(
            f"metric must be one of {sorted(METRIC_KINDS)}, not {metric!r}: 'diag' (the "
            f"default) for most models, 'dense' or 'low_rank' for strongly correlated posteriors"
        )
    if adaptation not in ADAPTATION_MODES:
        raise ValueError(
            f"adaptation must be one of {sorted(ADAPTATION_MODES)}, not {adaptation!r}"
        )
