"""Warm-up schedules: which draws feed the mass-matrix estimate, and when it is updated.

A schedule is two boolean arrays over the warm-up iterations, computed once in
Python and handed to the kernel, so the kernel's loop has no window
arithmetic in it and the windows can be tested on their own.
"""

from typing import NamedTuple

import numpy as np

__all__ = ["TuningSchedule", "nutpie_schedule", "stan_schedule"]


class TuningSchedule(NamedTuple):
    """Per warm-up iteration flags.

    Attributes
    ----------
    collect : ndarray of bool, shape (tune,)
        The draw of this iteration is added to the running moments.
    update : ndarray of bool, shape (tune,)
        After this iteration the inverse mass matrix is re-estimated, the
        estimation windows are switched, and dual averaging restarts.
    """

    collect: np.ndarray
    update: np.ndarray


def nutpie_schedule(
    tune: int,
    early_fraction: float = 0.3,
    step_size_only_fraction: float = 0.15,
    early_window: int = 10,
    late_window: int = 80,
) -> TuningSchedule:
    """Schedule of the nutpie-style adaptation.

    Every draw of the first ``1 - step_size_only_fraction`` of warm-up feeds
    two running estimators, a foreground and a background. When the
    background holds ``early_window`` draws (during the first
    ``early_fraction`` of warm-up) or ``late_window`` draws (later), the
    metric is re-estimated from the foreground, the background becomes the
    foreground and a new background starts: the estimate is refreshed often
    while the chain is still moving towards the typical set, and from more
    draws later on. The last estimate is made where the metric is frozen; the
    final ``step_size_only_fraction`` of warm-up adapts only the step size.

    Parameters
    ----------
    tune : int
        Number of warm-up iterations.
    early_fraction, step_size_only_fraction : float
    early_window, late_window : int

    Returns
    -------
    TuningSchedule
    """
    collect = np.zeros(tune, dtype=np.bool_)
    update = np.zeros(tune, dtype=np.bool_)
    metric_end = tune - int(np.ceil(step_size_only_fraction * tune))
    early_end = int(early_fraction * tune)
    in_background = 0
    for iteration in range(metric_end):
        collect[iteration] = True
        in_background += 1
        window = early_window if iteration < early_end else late_window
        if in_background >= window:
            update[iteration] = True
            in_background = 0
    if metric_end > 0 and in_background > 0:
        update[metric_end - 1] = True  # last refresh just before the metric freezes
    return TuningSchedule(collect, update)


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
    collect = np.zeros(tune, dtype=np.bool_)
    update = np.zeros(tune, dtype=np.bool_)
    if tune < 20:  # Stan does not adapt the metric on so few iterations
        return TuningSchedule(collect, update)
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
    return TuningSchedule(collect, update)
