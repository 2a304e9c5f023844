"""Entry points compiled for one explicit signature on first use, not at import.

``@njit(signature)`` compiles (or loads from the disk cache) when the module
is imported: a fresh install paid every kernel's compilation at
``import mixgraph``, whether or not the kernel was ever used. A
:class:`LazyEntryPoint` keeps the explicit signature (so that any model's
log-density is converted to the first-class function type and never adds a
specialisation) but compiles it when :meth:`LazyEntryPoint.compiled` is first
called, then freezes the dispatcher as an eager one would be.

:func:`compiled_only` marks helpers that only compiled code calls: they get
no CPython wrapper. Numba otherwise compiles, optimises and emits, for every
``@njit`` function, the code that unboxes its arguments from Python objects
and boxes its result; for the kernel's state tuples (a dozen arrays each)
that wrapper was a large part of each small helper's compilation.
"""

import threading

from numba import njit

__all__ = ["LazyEntryPoint", "compiled_only", "lazy_entry_point"]

_COMPILE_LOCK = threading.Lock()


compiled_only = njit(nogil=True, cache=True, error_model="numpy", no_cpython_wrapper=True)
"""Decorator for a kernel helper called only from compiled code (not callable from Python)."""


class LazyEntryPoint:
    """An ``@njit`` dispatcher with one explicit signature, compiled on first use.

    Parameters
    ----------
    dispatcher : numba dispatcher
        Made with ``cache=True`` and no signature.
    signature : numba signature
        The only signature it is ever compiled for.
    """

    def __init__(self, dispatcher, signature) -> None:
        self.dispatcher = dispatcher
        self.signature = signature
        self._ready = False
        self.__doc__ = dispatcher.__doc__
        self.__name__ = dispatcher.__name__

    def compiled(self):
        """The dispatcher, compiled (or loaded from Numba's cache) for :attr:`signature` and frozen."""
        if not self._ready:
            with _COMPILE_LOCK:
                if not self._ready:
                    self.dispatcher.compile(self.signature)
                    # As after @njit(signature): nothing can add another overload.
                    self.dispatcher.disable_compile()
                    self._ready = True
        return self.dispatcher

    def __call__(self, *arguments):
        return self.compiled()(*arguments)


def lazy_entry_point(signature, **options):
    """Decorator: like ``@njit(signature, **options)``, but compiled on the first call.

    Parameters
    ----------
    signature : numba signature
    **options
        Passed to ``numba.njit`` (e.g. ``nogil=True, cache=True``).

    Returns
    -------
    callable
        Turns a Python function into a :class:`LazyEntryPoint`.
    """

    def decorate(function) -> LazyEntryPoint:
        return LazyEntryPoint(njit(**options)(function), signature)

    return decorate
