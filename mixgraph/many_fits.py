"""Fit one model structure to many data sets, here or on an executor: :func:`sample_many`.

Each fit is one whole :func:`mixgraph.sample`, run here in turn or as one
task of a ``concurrent.futures.Executor`` or a Dask cluster
(:mod:`mixgraph.executors`). Models of one structure share one graph key
whatever their data's lengths, so they compile once per worker, not once
per data set.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import CancelledError
from typing import Any, NamedTuple

import numpy as np

from mixgraph.executors import check_executor, submit, wait_for
from mixgraph.progress import ProgressBar
from mixgraph.sampling import sample
from mixgraph.validation import as_seed_sequence

__all__ = ["FitError", "FitOutcome", "sample_many"]


class FitError(RuntimeError):
    """One fit of :func:`sample_many` failed; it stands in that fit's slot.

    Attributes
    ----------
    key : int or hashable
        The data set's index (sequence) or key (mapping).
    error : BaseException
        The exception the fit raised (also the ``__cause__``).
    """

    def __init__(self, key: Any, error: BaseException) -> None:
        super().__init__(f"the fit of data set {key!r} failed: {type(error).__name__}: {error}")
        self.key = key
        self.error = error
        self.__cause__ = error


class FitOutcome(NamedTuple):
    """What one fit task sends back: the InferenceData and the warnings it raised."""

    idata: Any
    warnings: list  # (category, message) pairs, re-emitted by the caller


def _fit_task(build_model: Callable, data: Any, seed: np.random.SeedSequence, sample_kwargs: dict) -> FitOutcome:
    """Worker side: build one model and sample it, keeping its warnings for the caller."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        idata = sample(model=build_model(data), random_seed=seed, **sample_kwargs)
    return FitOutcome(idata, [(warning.category, str(warning.message)) for warning in caught])


def _datasets_items(datasets: Any) -> tuple[list, list]:
    if isinstance(datasets, Mapping):
        return list(datasets.keys()), list(datasets.values())
    if isinstance(datasets, Sequence) and not isinstance(datasets, (str, bytes)):
        return list(range(len(datasets))), list(datasets)
    raise TypeError(
        f"datasets must be a sequence (list, tuple) or a mapping (dict) of data sets, not "
        f"{type(datasets).__name__}. Wrap a single data set in a list: [data]."
    )


def _checked_fit_arguments(build_model: Any, sample_kwargs: dict) -> None:
    if not callable(build_model):
        raise TypeError(f"build_model must be a function of one data set returning a Model, not "
                        f"{type(build_model).__name__}")
    taken = sorted({"model", "executor"} & set(sample_kwargs))
    if taken:
        raise TypeError(
            f"sample_many() got {taken}: each fit's model comes from build_model(data), and the "
            f"executor runs whole fits. Remove {taken}."
        )


def _reemit(key: Any, outcome: FitOutcome, stacklevel: int) -> None:
    """Warn again, in the caller's process, with the data set's key (stacklevel: sample_many's caller)."""
    for category, message in outcome.warnings:
        warnings.warn(f"data set {key!r}: {message}", category, stacklevel=stacklevel)


def sample_many(
    build_model: Callable[[Any], Any],
    datasets: Sequence | Mapping,
    executor: Any = None,
    random_seed: Any = None,
    **sample_kwargs: Any,
) -> list | dict:
    """Fit one model structure to many data sets, optionally on an executor.

    Parameters
    ----------
    build_model : callable
        ``build_model(data)`` returns a :class:`mixgraph.Model`. On a
        ``ProcessPoolExecutor`` it must be importable (a module-level
        function); Dask also ships closures and functions of ``__main__``.
    datasets : sequence or mapping
        One entry per fit.
    executor : concurrent.futures.Executor or distributed.Client, optional
        Runs each fit as one task. Default: the fits run one after another here.
    random_seed : int, SeedSequence, Generator or None
        The root seed; fit ``i`` gets its ``i``-th spawned child, so a fit's
        draws depend only on the root seed and its position.
    **sample_kwargs
        Passed to :func:`mixgraph.sample` (``draws``, ``chains``, ...). On an
        executor ``cores`` defaults to 1 (the fits are the parallelism) and
        ``progressbar`` is for the fits, not each fit's chains.

    Returns
    -------
    list or dict
        ``arviz.InferenceData`` per data set, in the order (or with the keys)
        of ``datasets``. A fit that raised leaves a :class:`FitError` in its
        slot (naming the key, the original exception as ``.error``); the
        other fits are kept. Warnings of a fit are re-emitted, prefixed by its key.
    """
    keys, values = _datasets_items(datasets)
    _checked_fit_arguments(build_model, sample_kwargs)
    seeds = as_seed_sequence(random_seed).spawn(len(values))
    bar = ProgressBar(len(values), f"Fitting {len(values)} data sets", enabled=sample_kwargs.pop("progressbar", True))
    kwargs = {**sample_kwargs, "progressbar": False}
    if executor is None:
        results = _fit_here(build_model, keys, values, seeds, kwargs, bar)
    else:
        check_executor(executor)
        kwargs.setdefault("cores", 1)
        results = _fit_there(executor, build_model, keys, values, seeds, kwargs, bar)
    bar.close()
    return dict(zip(keys, results)) if isinstance(datasets, Mapping) else results


def _fit_here(build_model, keys, values, seeds, kwargs, bar) -> list:
    """The fits one after another; a Ctrl-C stops them all (a fit it cut short keeps its draws)."""
    results = []
    for key, data, seed in zip(keys, values, seeds):
        try:
            outcome = _fit_task(build_model, data, seed, kwargs)
        except KeyboardInterrupt:  # while building or compiling a model: outside sample()'s guard
            break
        except Exception as error:  # noqa: BLE001 (the failed fit's slot holds it)
            results.append(FitError(key, error))
        else:
            _reemit(key, outcome, stacklevel=4)
            results.append(outcome.idata)
            if _was_interrupted(outcome.idata):
                break
        bar.update(len(results))
    if len(results) < len(keys):
        warnings.warn(f"Interrupted: returning the {len(results)} of {len(keys)} fits that had started; the "
                      f"others hold a FitError and were not run.", RuntimeWarning, stacklevel=3)
        results += [FitError(key, CancelledError("cancelled by Ctrl-C")) for key in keys[len(results):]]
    return results


def _was_interrupted(idata: Any) -> bool:
    stats = getattr(idata, "sample_stats", None)
    return bool(stats is not None and stats.attrs.get("interrupted"))


def _fit_there(executor, build_model, keys, values, seeds, kwargs, bar) -> list:
    futures = [submit(executor, _fit_task, build_model, data, seed, kwargs, label=f"mixgraph-fit-{index}")
               for index, (data, seed) in enumerate(zip(values, seeds))]
    results: dict[int, Any] = {}

    def on_done(index: int, future: Any) -> None:
        results[index] = _fit_result(keys[index], future)
        bar.update(len(results))

    if wait_for(futures, on_done):
        warnings.warn(f"Interrupted: returning the {len(results)} of {len(futures)} fits that had finished; "
                      f"the others hold a FitError and were cancelled.", RuntimeWarning, stacklevel=3)
    return [results[index] if index in results else FitError(keys[index], CancelledError("cancelled by Ctrl-C"))
            for index in range(len(futures))]


def _fit_result(key: Any, future: Any) -> Any:
    try:
        outcome = future.result()
    except Exception as error:  # noqa: BLE001 (the failed fit's slot holds it)
        return FitError(key, error)
    _reemit(key, outcome, stacklevel=7)
    return outcome.idata
