"""The kernel is compiled once for every model, on first use, and loaded from Numba's disk cache."""

import numpy as np
from fresh_process import run_in_fresh_process
from mcmc_targets import NO_INTS, gaussian_diagonal_logp
from numba import njit

from mixgraph.mcmc import LOGP_SIGNATURE, run_chains
from mixgraph.mcmc.kernel import init_chain, run_chain

GENERATED_SOURCE = '''
@njit
def generated_logp(position, grad_out, float_data, int_data):
    return shifted_gaussian(position, grad_out, float_data[0])
'''


@njit
def shifted_gaussian(position, grad_out, shift):
    grad_out[:] = shift - position
    return -0.5 * np.sum((position - shift) ** 2)


def generate_model_function():
    """A per-model function built with exec that calls another jitted function,
    the way a compiled model's log-density will be generated."""
    namespace = {"njit": njit, "shifted_gaussian": shifted_gaussian}
    exec(GENERATED_SOURCE, namespace)
    return namespace["generated_logp"]


def compiled_kernel_signatures():
    return (tuple(init_chain.dispatcher.overloads), tuple(run_chain.dispatcher.overloads))


def test_second_model_function_does_not_recompile_the_kernel():
    initial = np.zeros((1, 2))
    run_chains(gaussian_diagonal_logp, np.ones(2), NO_INTS, initial, 20, 20, seed=0)
    before = compiled_kernel_signatures()
    assert all(len(signatures) == 1 for signatures in before)

    generated = generate_model_function()
    result = run_chains(generated, np.array([3.0]), NO_INTS, initial, 200, 200, seed=0)
    eager = njit(LOGP_SIGNATURE)(generated.py_func)  # compiled ahead for the signature
    run_chains(eager, np.array([3.0]), NO_INTS, initial, 20, 20, seed=0)

    assert compiled_kernel_signatures() == before
    # The entry points are compiled only for the first-class function type.
    assert "FunctionType" in str(run_chain.dispatcher.signatures[0][0])
    assert abs(result.positions[0, 200:].mean() - 3.0) < 0.5


def test_kernel_entry_points_accept_no_new_signatures():
    # Once compiled for its explicit signature the dispatcher is frozen: a model
    # function can never add an overload (Numba converts it to the first-class type).
    for entry_point in (init_chain, run_chain):
        assert entry_point.compiled() is entry_point.dispatcher
        assert entry_point.dispatcher._can_compile is False
        assert len(entry_point.dispatcher.signatures) == 1


IMPORT_ONLY = """
import json
import mixgraph
from mixgraph.mcmc import kernel
from mixgraph.mcmc.mass_matrix import WINDOW_ESTIMATES
from mixgraph.smc import kernel as smc_kernel
entry_points = (kernel.init_chain, kernel.run_chain, smc_kernel.init_smc, smc_kernel.smc_stage)
print(json.dumps({"entry_points": [len(entry.dispatcher.signatures) for entry in entry_points],
                  "estimates": [len(estimate.signatures) for estimate in WINDOW_ESTIMATES.values()]}))
"""


def test_import_compiles_no_kernel(tmp_path):
    # A fresh install pays for a kernel at its first use, not at `import mixgraph`:
    # SMC is compiled by the first sample_smc(), NUTS by the first sample(), and a
    # dense or low-rank estimate only by a run that asks for it.
    compiled = run_in_fresh_process(IMPORT_ONLY, tmp_path)
    assert compiled == {"entry_points": [0, 0, 0, 0], "estimates": [0, 0, 0]}
