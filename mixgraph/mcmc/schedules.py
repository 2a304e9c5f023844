"""Warm-up schedules: which draws feed the mass-matrix estimate, and when it is updated.

A schedule is two boolean arrays over the warm-up iterations, computed once in
Python and handed to the kernel, so the kernel's loop has no window
arithmetic in it and the windows can be tested on their own.
"""

from typing import NamedTuple

import numpy as np

__all__ = ["TuningSchedule", "nutpie_schedule", "stan_schedule", "window_capacity"]


class TuningSchedule(NamedTuple):
    """Per warm-up iteration flags.

    Attributes
    ----------
    collect : ndarray of bool, shape (tune,)
        The draw of this iteration is added to the estimation windows.
    update : ndarray of bool, shape (tune,)
        After this iteration the estimation windows are switched. Stan's
        adaptation first re-estimates the metric from the window that ends
        and restarts dual averaging; nutpie's makes the background window
        the foreground and starts a new background.
    refresh : ndarray of bool, shape (tune,)
        After this iteration (and after any switch) the metric is
        re-estimated from the foreground window (nutpie's adaptation only).
    late : ndarray of bool, shape (tune,)
        Dual averaging uses the symmetric acceptance statistic (nutpie's
        adaptation, from the last window of the metric phase on).
    """

    collect: np.ndarray
    update: np.ndarray
    refresh: np.ndarray
    late: np.ndarray


def nutpie_schedule(
    tune: int,
    early_fraction: float = 0.3,
    step_size_only_fraction: float = 0.15,
    early_window: int = 10,
    late_window: int = 80,
    refresh_interval: int = 1,
) -> TuningSchedule:
    """Schedule of the nutpie-style adaptation.

    Every draw of the first ``1 - step_size_only_fraction`` of warm-up (the
    metric phase) feeds two estimation windows, a foreground and a
    background. When the background holds ``early_window`` draws (during
    the first ``early_fraction`` of warm-up) or ``late_window`` draws
    (later), the background becomes the foreground and a new background
    starts, unless a full window no longer fits before the metric phase
    ends. The metric is re-estimated from the foreground every
    ``refresh_interval`` iterations and at every switch, so it follows the
    chain as it moves towards the typical set; it is frozen for the final
    ``step_size_only_fraction`` of warm-up, which adapts only the step size
    (nuts-rs ``adapt_strategy.rs``: ``early_window`` 0.3,
    ``step_size_window`` 0.15, switch frequencies 10 and 80, metric
    updated every draw).

    Parameters
    ----------
    tune : int
        Number of warm-up iterations.
    early_fraction, step_size_only_fraction : float
    early_window, late_window : int
    refresh_interval : int
        1 for the diagonal metric; dense and low-rank estimates cost more
        and are refreshed less often.

    Returns
    -------
    TuningSchedule
    """
    collect, update, refresh, late = (np.zeros(tune, dtype=np.bool_) for _ in range(4))
    metric_end = tune - int(step_size_only_fraction * tune)
    early_end = int(early_fraction * tune)
    in_background = 0
    for iteration in range(metric_end):
        collect[iteration] = True
        in_background += 1
        window = early_window if iteration < early_end else late_window
        # nuts-rs: no switch once a full window no longer fits before the end.
        late[iteration] = window + iteration > metric_end
        if in_background >= window and not late[iteration]:
            update[iteration] = True
            in_background = 0
        refresh[iteration] = (update[iteration] or iteration % refresh_interval == 0
                              or iteration == metric_end - 1)
    late[metric_end:] = True
    return TuningSchedule(collect, update, refresh, late)


def window_capacity(schedule: TuningSchedule, adaptation: str) -> int:
    """The largest number of draws the foreground window holds under ``schedule``.

    Parameters
    ----------
    schedule : TuningSchedule
    adaptation : {"nutpie", "stan"}
        nutpie's switch keeps the background; Stan's update forgets the window.

    Returns
    -------
    int
    """
    foreground = background = largest = 0
    for collect, update in zip(schedule.collect, schedule.update):
        if collect:
            foreground += 1
            background += 1
        largest = max(largest, foreground)
        if update:
            foreground = background if adaptation == "nutpie" else 0
            background = 0
    return largest


def _stan_buffers(tune: int, init_buffer: int, term_buffer: int, base_window: int):
    """Stan's fallback for short warm-ups: 15% / 75% / 10% of ``tune``."""
    if init_buffer + base_window + term_buffer <= tune:
        return init_buffer, term_buffer, base_window
    init_buffer = int(0.15 * tune)
    term_buffer = int(0.1 * tune)
    return init_buffer, term_buffer, tune - init_buffer - term_buffer


def stan_schedule(
    tune: int, init_buffer: int = 75, term_buffer: int = 50, base_window: int = 25
) -> TuningSchedule:
    """Stan's windowed adaptation.

    A fast initial buffer (step size only), a series of slow windows whose
    length doubles (each ends with a metric update and a fresh estimator),
    and a fast terminal buffer. A window that would leave less than twice its
    successor's length before the terminal buffer is stretched to reach it
    (Stan reference manual, "Automatic parameter tuning";
    ``windowed_adaptation.hpp``).

    Parameters
    ----------
    tune : int
    init_buffer, term_buffer, base_window : int
        75, 50 and 25 in Stan.

    Returns
    -------
    TuningSchedule
    """
    collect, update, refresh, late = (np.zeros(tune, dtype=np.bool_) for _ in range(4))
    if tune < 20:  # Stan does not adapt the metric on so few iterations
        return TuningSchedule(collect, update, refresh, late)
    init_buffer, term_buffer, window = _stan_buffers(tune, init_buffer, term_buffer, base_window)
    slow_end = tune - term_buffer  # first iteration of the terminal buffer
    collect[init_buffer:slow_end] = True
    window_start = init_buffer
    while window_start < slow_end:
        window_end = window_start + window  # exclusive
        # Stan never stretches the first window; later ones are stretched when
        # the next (twice as long) window would not fit before the buffer.
        if window_start > init_buffer and window_end + 2 * window >= slow_end:
            window_end = slow_end
        window_end = min(window_end, slow_end)
        update[window_end - 1] = True
        window_start = window_end
        window *= 2
    return TuningSchedule(collect, update, refresh, late)
