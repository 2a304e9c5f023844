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
from numba.core.types import WrapperAddressProtocol

__all__ = ["FunctionPointer", "LazyEntryPoint", "compiled_only", "lazy_entry_point"]

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


class FunctionPointer(WrapperAddressProtocol):
    """A compiled function as a first-class function value, resolved once.

    Handing an ``@njit`` dispatcher to an entry point that takes a
    first-class function type makes Numba look the compiled function up
    again on every call (about 0.3 ms per argument on a busy 2-core machine,
    against a chunk of 50 iterations). This object holds the address of
    the function's C wrapper for ``signature`` (Numba's wrapper address
    protocol), so that each call only reads it.

    Parameters
    ----------
    function : numba dispatcher
        Compiled (or loaded from the disk cache) for ``signature`` here if
        it is not yet.
    signature : numba signature
    """

    def __init__(self, function, signature) -> None:
        self.function = function  # keeps the compiled code alive
        self._signature = signature
        result = function.get_compile_result(signature)
        self._address = result.library.get_pointer_to_function(
            result.fndesc.llvm_cfunc_wrapper_name)

    def __wrapper_address__(self) -> int:
        return self._address

    def signature(self):
        return self._signature


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
