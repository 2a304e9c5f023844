"""Speed of Mixture draws under the Numba linker: nopython core draw vs the object-mode fallback.

Run: ``PYTHONPATH=. python benchmarks/mixture_draws_numba.py``. Prints the
time of one call drawing a batch of 10 and of 1,000 from a two-component normal mixture.
"""

import time
import warnings

import numpy as np
import pytensor
from pytensor.link.numba.dispatch.random import numba_core_rv_funcify

from mixgraph.distributions.continuous import Normal
from mixgraph.distributions.mixture import Mixture
from mixgraph.distributions.mixture_op import MixtureRV

CALLS = 2000


def _not_implemented(op, node):
    raise NotImplementedError("the object-mode fallback, for comparison")


def per_call_seconds(size: int) -> float:
    mixture = Mixture.dist(w=[0.3, 0.7], comp_dists=Normal.dist(mu=[-2.0, 3.0], sigma=1.0), size=(size,))
    rng = mixture.owner.inputs[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        function = pytensor.function([], mixture, updates={rng: mixture.owner.outputs[0]}, mode="NUMBA")
        function()
        start = time.perf_counter()
        for _ in range(CALLS):
            function()
    return (time.perf_counter() - start) / CALLS


if __name__ == "__main__":
    for size in (10, 1000):
        nopython = per_call_seconds(size)
        registered = numba_core_rv_funcify.registry[MixtureRV]
        numba_core_rv_funcify.register(MixtureRV)(_not_implemented)
        object_mode = per_call_seconds(size)
        numba_core_rv_funcify.register(MixtureRV)(registered)
        print(f"size {size}: nopython {nopython * 1e6:.1f} us per call, object mode {object_mode * 1e6:.1f} us "
              f"per call, speed-up {object_mode / nopython:.1f}x")
