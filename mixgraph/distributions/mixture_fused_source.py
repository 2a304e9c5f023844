"""Source of the fused mixture kernels: one pass over the observations, per family of component.

The kernels of :mod:`mixgraph.distributions.mixture_fused` are generated as
Python source (then compiled by Numba), unrolled over the components, so that
a component's parameters shared by every observation are loaded, and their
logarithms and reciprocals computed, once before the loop. Per observation the
loop computes each component's log-density ``l_k`` and the terms
``t_k = log w_k + l_k``, then the log-sum-exp shifted by their maximum ``m``
(``logp = m + log sum_k exp(t_k - m)``) and, for the gradient, the
responsibilities ``r_k = exp(t_k - logp)``: the derivative of the mixture's
log-density is ``sum_k r_k d l_k`` for component parameters and the value, and
``r_k / w_k`` for the weights. A component with ``r_k = 0`` (zero weight, or
``l_k = -inf``) contributes nothing, so no ``0 * inf`` ever forms a NaN.

The reduced form takes the observations in blocks, each in two loops: an
element-wise one into buffers of one block (each observation's ``logp``,
``r_k`` and what its gradient terms need), vectorised by LLVM because its exp
and log are arithmetic (:mod:`mixture_fused_math`), not libm calls; then one
that adds them to the block's sums in observation order.

Each component family (:mod:`mixture_fused_families`) gives its parameters,
the conditions that make them valid, and source lines for its log-density
and its partial derivatives.
"""

from __future__ import annotations

from typing import NamedTuple

from mixgraph.distributions.mixture_fused_families import FAMILIES, Family

__all__ = ["Family", "FAMILIES", "kernel_source", "KERNEL_NAME", "BLOCK_SIZE"]

KERNEL_NAME = "fused_mixture"

BLOCK_SIZE = 4096
"""Observations per block of a reduced kernel: the unit of work of a thread, and of the fixed-order sum."""




def _indent(lines, depth: int) -> list[str]:
    return ["    " * depth + line for line in lines]


class _Layout(NamedTuple):
    families: tuple[str, ...]
    shared: tuple[bool, ...]  # weights, then every parameter in order
    wanted: tuple[int, ...]  # input indices whose gradient is returned
    reduce: bool

    def parameter_names(self) -> list[list[str]]:
        names, index = [], 0
        for family in self.families:
            count = len(FAMILIES[family].parameters)
            names.append([f"p{index + j}" for j in range(count)])
            index += count
        return names

    def flat_parameters(self) -> list[str]:
        return [name for group in self.parameter_names() for name in group]

    def expression(self, name: str) -> str:
        """How the loop reads a parameter: once before it, or per observation."""
        position = 1 + self.flat_parameters().index(name)
        return f"{name}_s" if self.shared[position] else f"{name}[i]"

    def gradient_of(self, input_index: int) -> bool:
        return input_index in self.wanted


def _checks(layout: _Layout) -> list[str]:
    lines = [
        "    n = x_all.shape[0]",
        f"    if weights.shape[1] != {len(layout.families)}:",
        f"        raise ValueError('fused mixture: the weights do not have {len(layout.families)} columns')",
        f"    if weights.shape[0] != {'1' if layout.shared[0] else 'n'}:",
        "        raise ValueError('fused mixture: the weights do not broadcast against the value')",
    ]
    for position, name in enumerate(layout.flat_parameters(), start=1):
        lines += [
            f"    if {name}.shape[0] != {'1' if layout.shared[position] else 'n'}:",
            f"        raise ValueError('fused mixture: parameter {position - 1} does not broadcast against the value')",
        ]
    return lines


def _validity(layout: _Layout) -> list[str]:
    lines = [
        "    valid = True",
        "    for row in range(weights.shape[0]):",
        "        row_sum = 0.0",
        f"        for k in range({len(layout.families)}):",
        "            if not weights[row, k] >= 0.0:",
        "                valid = False",
        "            row_sum += weights[row, k]",
        "        if not abs(row_sum - 1.0) <= WEIGHT_SUM_TOLERANCE:",
        "            valid = False",
    ]
    for family, names in zip(layout.families, layout.parameter_names()):
        for condition, name in zip(FAMILIES[family].conditions, names):
            if condition:
                lines += [
                    f"    for j in range({name}.shape[0]):",
                    f"        if not ({condition.format(e=f'{name}[j]')}):",
                    "            valid = False",
                ]
    return lines


def _outputs(layout: _Layout) -> tuple[list[str], str]:
    """Allocation of the outputs (zero: the result of invalid parameters) and the return line."""
    names = ["x_all", "weights", *layout.flat_parameters()]
    lines = ["    out = np.full(n, -math.inf)"] if not layout.reduce else []
    returned = ["np.asarray(total)"] if layout.reduce else ["out"]
    for index in layout.wanted:
        lines.append(f"    g{index} = np.zeros({names[index]}.shape)")
        returned.append(f"g{index}")
    return lines, f"    return {', '.join(returned)}" if len(returned) > 1 else f"    return {returned[0]}"


def _shared_setup(layout: _Layout) -> list[str]:
    lines = []
    for name in layout.flat_parameters():
        if layout.shared[1 + layout.flat_parameters().index(name)]:
            lines.append(f"    {name}_s = {name}[0]")
    for k, (family, names) in enumerate(zip(layout.families, layout.parameter_names())):
        spec = FAMILIES[family]
        if spec.setup and all(layout.shared[1 + layout.flat_parameters().index(n)] for n in names):
            values = {f"p{j}": layout.expression(n) for j, n in enumerate(names)}
            lines += _indent([line.format(k=k, **values) for line in spec.setup], 1)
    count = len(layout.families)
    if layout.shared[0]:
        lines += [f"    lw{k} = math.log(weights[0, {k}]) if weights[0, {k}] > 0.0 else -math.inf" for k in range(count)]
        if layout.gradient_of(1):
            lines += [f"    iw{k} = 1.0 / weights[0, {k}] if weights[0, {k}] > 0.0 else 0.0" for k in range(count)]
    return lines


def _accumulator_names(layout: _Layout) -> list[str]:
    """The scalar sums of a reduced kernel: the log-density, then the gradients of shared inputs."""
    names = ["total"] if layout.reduce else []
    for index in layout.wanted:
        if index == 0 or not layout.shared[index - 1]:
            continue
        if index == 1:
            names += [f"a1_{k}" for k in range(len(layout.families))]
        else:
            names.append(f"a{index}")
    return names


def _accumulators(layout: _Layout) -> list[str]:
    """Scalar sums for the log-density and the gradients of shared inputs."""
    return [f"    {name} = 0.0" for name in _accumulator_names(layout)]


def _component_lines(layout: _Layout, k: int, family: str, names: list[str]) -> list[str]:
    """Inside the loop: component ``k``'s log-density ``l{k}`` and term ``t{k}``."""
    spec = FAMILIES[family]
    values = {f"p{j}": layout.expression(n) for j, n in enumerate(names)}
    lines = []
    if _setup_in_loop(layout, family, names):
        # per observation: the logarithm that vectorises (mixture_fused_math), not libm's
        lines += [line.format(k=k, **values).replace("math.log(", "log_nonnegative(") for line in spec.setup]
    lines += [line.format(k=k, **values) for line in spec.logp]
    return lines + [f"t{k} = lw{k} + l{k}"]


def _gradient_lines(layout: _Layout, k: int, family: str, names: list[str], prefix: str) -> list[str]:
    """Inside the loop, where ``r{k} > 0``: component ``k``'s gradient contributions."""
    spec = FAMILIES[family]
    values = {f"p{j}": layout.expression(n) for j, n in enumerate(names)}
    lines = []
    if layout.gradient_of(1):
        lines.append(f"{prefix}a1_{k} += r{k} * iw{k}" if layout.shared[0] else f"g1[i, {k}] = r{k} * iw{k}")
    for j, name in enumerate(names):
        index = 2 + layout.flat_parameters().index(name)
        if not (spec.differentiable[j] and layout.gradient_of(index)):
            continue
        term = f"r{k} * ({spec.partials[j].format(k=k, **values)})"
        lines.append(f"{prefix}a{index} += {term}" if layout.shared[index - 1] else f"g{index}[i] = {term}")
    if spec.value_partial and layout.gradient_of(0):
        lines.append(f"g0[i] += r{k} * ({spec.value_partial.format(k=k, **values)})")
    return lines


def _setup_in_loop(layout: _Layout, family: str, names: list[str]) -> bool:
    """Whether a component's ``setup`` lines run per observation (some parameter is not shared)."""
    return bool(FAMILIES[family].setup) and not all(
        layout.shared[1 + layout.flat_parameters().index(name)] for name in names)


def _carried(layout: _Layout) -> list[str]:
    """Values of the element-wise loop that the gradient loop reads, from a buffer per block."""
    if not layout.wanted:
        return []
    names = []
    for k, (family, parameters) in enumerate(zip(layout.families, layout.parameter_names())):
        spec = FAMILIES[family]
        in_loop = _setup_in_loop(layout, family, parameters)
        hoisted = set() if in_loop else {line.split(" =")[0] for line in spec.setup}
        names += [name.format(k=k) for name in spec.carried if name not in hoisted]
    return names


def _responsibility_components(layout: _Layout) -> list[int]:
    """Components with a gradient contribution (their responsibilities are kept)."""
    return [k for k, (family, names) in enumerate(zip(layout.families, layout.parameter_names()))
            if _gradient_lines(layout, k, family, names, "")]


def _element_lines(layout: _Layout) -> list[str]:
    """One observation ``i``: the log-density ``lp`` and, for the gradient, the responsibilities ``r{k}``.

    No branch and no call into libm (:mod:`mixture_fused_math`, also for the
    logarithm of a per-observation weight or parameter), so that LLVM
    vectorises a loop of these lines. A component whose term is the largest
    contributes ``exp(0) = 1`` exactly. When every term is ``-inf`` the
    log-density is ``-inf`` and every responsibility 0; a NaN term makes it NaN.
    """
    count = len(layout.families)
    lines = ["x = x_all[i]"]
    if "poisson" in layout.families:
        lines.append("lf = log_factorial[i]")
    if not layout.shared[0]:
        lines += [f"lw{k} = log_nonnegative(weights[i, {k}]) if weights[i, {k}] > 0.0 else -math.inf"
                  for k in range(count)]
    for k, (family, names) in enumerate(zip(layout.families, layout.parameter_names())):
        lines += _component_lines(layout, k, family, names)
    terms = [f"t{k}" for k in range(count)]
    lines += [
        "m = " + (f"max({', '.join(terms)})" if count > 1 else "t0"),
        "finite = m > -math.inf",
        "shift = m if finite else 0.0",
        *[f"e{k} = exp_nonpositive(t{k} - shift)" for k in range(count)],
        "s = " + " + ".join(f"e{k}" for k in range(count)),
        "lp = m + log_positive_normal(s) if finite else -math.inf",
        "lp = math.nan if " + " | ".join(f"(t{k} != t{k})" for k in range(count)) + " else lp",
    ]
    if layout.wanted:
        lines.append("inverse = 1.0 / s if s > 0.0 else 0.0")
        lines += [f"r{k} = e{k} * inverse" for k in _responsibility_components(layout)]
    return lines


def _gradient_loop_lines(layout: _Layout, prefix: str) -> list[str]:
    """One observation ``j`` of a block, in order: its log-density and gradient terms added to the sums."""
    count = len(layout.families)
    lines = ["i = start + j", f"{prefix}total += buffer_lp[j]"]
    if not layout.wanted:
        return lines
    lines.append("x = x_all[i]")
    if not layout.shared[0] and layout.gradient_of(1):
        lines += [f"iw{k} = 1.0 / weights[i, {k}] if weights[i, {k}] > 0.0 else 0.0" for k in range(count)]
    lines += [f"{name} = buffer_{name}[j]" for name in _carried(layout)]
    for k, (family, names) in enumerate(zip(layout.families, layout.parameter_names())):
        gradient = _gradient_lines(layout, k, family, names, prefix)
        if gradient:
            lines += [f"r{k} = buffer_r{k}[j]", f"if r{k} > 0.0:", *_indent(gradient, 1)]
    return lines


def _observation_loop(layout: _Layout) -> list[str]:
    """The per-observation form: one element-wise loop writing ``out``."""
    return ["    for i in range(n):", *_indent(_element_lines(layout) + ["out[i] = lp"], 2)]


def _block_loops(layout: _Layout, prefix: str) -> list[str]:
    """One block of the reduced form, as two loops over its observations.

    The first, element-wise (vectorised), puts each observation's log-density,
    responsibilities and what its gradient terms need in buffers; the second
    adds them to the block's sums in observation order. Summing in the first
    would stop LLVM vectorising it unless it may reorder the sums
    (``fastmath``), which would make results depend on the vector width.
    """
    stored = ["lp", *[f"r{k}" for k in _responsibility_components(layout)]] if layout.wanted else ["lp"]
    stored += _carried(layout)
    element = ["i = start + j", *_element_lines(layout), *[f"buffer_{name}[j] = {name}" for name in stored]]
    return [
        *[f"buffer_{name} = np.empty({BLOCK_SIZE})" for name in stored],
        "for j in range(stop - start):", *_indent(element, 1),
        "for j in range(stop - start):", *_indent(_gradient_loop_lines(layout, prefix), 1),
    ]


def _loop(layout: _Layout, block_loop: str) -> list[str]:
    """The observations, in blocks of :data:`BLOCK_SIZE` under ``block_loop`` (``range`` or ``numba.prange``).

    Each block sums into its own row of ``partial``; the rows are then added
    in block order by one thread, so that the sums do not depend on how
    many threads ran the blocks (nor on their scheduling). The per-observation
    form has no sums: one plain loop.
    """
    if not layout.reduce:
        return _observation_loop(layout)
    names = _accumulator_names(layout)
    lines = [
        f"    blocks = (n + {BLOCK_SIZE} - 1) // {BLOCK_SIZE}",
        f"    partial = np.zeros((blocks, {len(names)}))",
        f"    for block in {block_loop}(blocks):",
        *[f"        block_{name} = 0.0" for name in names],
        f"        start = block * {BLOCK_SIZE}",
        f"        stop = min(n, start + {BLOCK_SIZE})",
        *_indent(_block_loops(layout, "block_"), 2),
        *[f"        partial[block, {j}] = block_{name}" for j, name in enumerate(names)],
        "    for block in range(blocks):",
        *[f"        {name} += partial[block, {j}]" for j, name in enumerate(names)],
    ]
    return lines


def _store_accumulators(layout: _Layout) -> list[str]:
    lines = []
    for name in _accumulator_names(layout)[1:]:
        index, _, column = name[1:].partition("_")
        lines.append(f"    g{index}[0, {column}] = {name}" if column else f"    g{index}[0] = {name}")
    return lines


def kernel_source(families: tuple[str, ...], shared: tuple[bool, ...], wanted: tuple[int, ...],
                  reduce: bool, block_loop: str = "range") -> str:
    """Python source of one fused kernel, a function named :data:`KERNEL_NAME`.

    Parameters
    ----------
    families : tuple of str
        Keys of :data:`FAMILIES`, one per component.
    shared : tuple of bool
        For the weights and then each parameter: one entry shared by every
        observation (length 1), or one per observation (length ``n``).
    wanted : tuple of int
        Inputs (0 the value, 1 the weights, 2... the parameters) whose
        gradient is returned after the log-density.
    reduce : bool
        Return the sum over observations (a 0-d array), else one log-density
        per observation (then ``wanted`` must be empty).
    block_loop : {"range", "numba.prange"}
        How the reduced form runs its blocks of observations: in turn, or
        spread over Numba's threads (the sums are the same bit for bit).
    """
    layout = _Layout(tuple(families), tuple(shared), tuple(wanted), bool(reduce))
    arguments = ["x_all", "weights", *layout.flat_parameters()]
    if "poisson" in layout.families:
        arguments.append("log_factorial")
    allocation, returned = _outputs(layout)
    invalid = "    if not valid:", ("        total = -math.inf" if layout.reduce else "        pass")
    lines = [
        f"def {KERNEL_NAME}({', '.join(arguments)}):",
        *_checks(layout), *_validity(layout), *allocation,
        *_accumulators(layout), *invalid, "    else:",
        *_indent(_shared_setup(layout) + _loop(layout, block_loop) + _store_accumulators(layout), 1),
        returned,
    ]
    return "\n".join(lines) + "\n"
