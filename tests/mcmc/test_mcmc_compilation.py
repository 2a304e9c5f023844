"""The kernel is compiled once for every model, and loaded from Numba's disk cache."""

import numpy as np
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
    return (tuple(init_chain.overloads), tuple(run_chain.overloads))


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
    assert "FunctionType" in str(run_chain.signatures[0][0])
    assert abs(result.positions[0, 200:].mean() - 3.0) < 0.5


def test_kernel_entry_points_accept_no_new_signatures():
    # Explicit signatures freeze the dispatcher: a model function can never
    # add an overload (Numba converts it to the first-class type instead).
    assert init_chain._can_compile is False
    assert run_chain._can_compile is False
