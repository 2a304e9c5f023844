"""Component families of the fused mixture kernel: code templates per family.

A *family* describes one kind of component for
:mod:`mixgraph.distributions.mixture_fused_source`: its parameters, the
conditions that make them valid (else the whole log-density is ``-inf``, as
``check_parameters`` does for the generic graph), and source lines for its
log-density and its partial derivatives. The lines may call ``math``,
``log_positive_normal`` (:mod:`mixture_fused_math`) and ``digamma``
(:func:`mixgraph.numba_special.digamma`).
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["DIRAC_DELTA", "FAMILIES", "NORMAL", "POISSON", "STUDENT_T", "Family"]


class Family(NamedTuple):
    """Code templates of one component family (``{p0}``, ``{p1}``: its parameters' expressions)."""

    parameters: tuple[str, ...]
    differentiable: tuple[bool, ...]  # which parameters carry a gradient
    continuous: bool  # whether the value carries a gradient
    conditions: tuple[str, ...]  # per parameter: validity of one entry ``{e}``, or ""
    setup: tuple[str, ...]  # lines from the parameters, before the loop if they are shared
    logp: tuple[str, ...]  # lines that set ``l{k}`` from ``x`` (and ``lf``, the log-factorial)
    partials: tuple[str, ...]  # per parameter: ``d l / d parameter`` (a multiple of nothing), or ""
    value_partial: str  # ``d l / d x``, or ""
    carried: tuple[str, ...] = ()  # names set by ``setup`` or ``logp`` that the partials read


NORMAL = Family(
    parameters=("mu", "sigma"), differentiable=(True, True), continuous=True,
    conditions=("", "{e} > 0.0"),
    setup=("ls{k} = math.log({p1})", "is{k} = 1.0 / {p1}"),
    logp=("z{k} = (x - {p0}) * is{k}", "l{k} = -0.5 * z{k} * z{k} - ls{k} - LOG_SQRT_2PI"),
    partials=("z{k} * is{k}", "(z{k} * z{k} - 1.0) * is{k}"),
    value_partial="-z{k} * is{k}",
    carried=("z{k}", "is{k}"),
)

POISSON = Family(
    parameters=("mu",), differentiable=(True,), continuous=False,
    conditions=("{e} >= 0.0",),
    setup=("lm{k} = math.log({p0}) if {p0} > 0.0 else -math.inf",),
    logp=(
        "if x < 0.0:", "    l{k} = -math.inf", "elif x == 0.0:", "    l{k} = -{p0}",
        "else:", "    l{k} = x * lm{k} - {p0} - lf",
    ),
    # d/dmu (x log mu - mu) = x / mu - 1; at x = 0 the first term is 0 (also at mu = 0)
    partials=("((x / {p0}) if x > 0.0 else 0.0) - 1.0",),
    value_partial="",
)

DIRAC_DELTA = Family(
    parameters=("c",), differentiable=(False,), continuous=False,
    conditions=("",), setup=(),
    logp=("l{k} = 0.0 if x == {p0} else -math.inf",),
    partials=("",), value_partial="",
)

# Student's t: log p = log C(nu, sigma) - (nu + 1) / 2 log(1 + q), q = z^2 / nu, z = (x - mu) / sigma, with
# log C = lgamma((nu + 1) / 2) - lgamma(nu / 2) - log(nu pi) / 2 - log sigma; with u = (nu + 1) / (1 + q):
# d/dmu = u z / (nu sigma), d/dsigma = (u q - 1) / sigma, d/dx = -d/dmu and
# d/dnu = (psi((nu + 1) / 2) - psi(nu / 2) - 1 / nu - log(1 + q) + u q / nu) / 2.
STUDENT_T = Family(
    parameters=("nu", "mu", "sigma"), differentiable=(True, True, True), continuous=True,
    conditions=("{e} > 0.0", "", "{e} > 0.0"),
    setup=(
        "is{k} = 1.0 / {p2}", "in{k} = 1.0 / {p0}",
        "lc{k} = math.lgamma(0.5 * ({p0} + 1.0)) - math.lgamma(0.5 * {p0}) - 0.5 * math.log({p0} * math.pi)"
        " - math.log({p2})",
        "dg{k} = 0.5 * (digamma(0.5 * ({p0} + 1.0)) - digamma(0.5 * {p0}) - in{k})",
    ),
    logp=(
        "z{k} = (x - {p1}) * is{k}", "q{k} = z{k} * z{k} * in{k}", "lq{k} = log_positive_normal(1.0 + q{k})",
        "u{k} = ({p0} + 1.0) / (1.0 + q{k})", "l{k} = lc{k} - 0.5 * ({p0} + 1.0) * lq{k}",
    ),
    partials=(
        "dg{k} + 0.5 * (u{k} * q{k} * in{k} - lq{k})",
        "u{k} * z{k} * in{k} * is{k}",
        "(u{k} * q{k} - 1.0) * is{k}",
    ),
    value_partial="-u{k} * z{k} * in{k} * is{k}",
    carried=("z{k}", "q{k}", "lq{k}", "u{k}", "is{k}", "in{k}", "dg{k}"),
)

FAMILIES = {"normal": NORMAL, "poisson": POISSON, "dirac_delta": DIRAC_DELTA, "student_t": STUDENT_T}
