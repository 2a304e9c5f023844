"""Fit one shared benchmark model with nutpie and print its warm-up figures as one JSON line.

Runs in the peers' environment (``$PEERS_VENV``, made by ../shared/bench/compare.py):

    /tmp/mixgraph-peers/bin/python benchmarks/warmup_peer.py MODEL --data FILE.npz
        [--chains 4] [--draws 1000] [--tune 1000] [--seed 1] [--low-rank]

The keys are those of ``benchmarks/warmup.py``: ``sample_s`` (the call of
``nutpie.sample``, compilation left out), ``min_ess_bulk``, ``step_size`` (mean
over chains of the step size of the draws), ``grad_warmup`` and
``grad_sampling`` (leapfrog steps, i.e. gradient evaluations, summed over
chains), ``divergences``.
"""

import argparse
import importlib.util
import json
import time
from pathlib import Path

import arviz as az
import numpy as np

PEER_MODELS = Path(__file__).resolve().parents[2] / "shared" / "bench" / "peer_models.py"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("--data", required=True)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--tune", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--low-rank", action="store_true")
    parser.add_argument("--models", default=str(PEER_MODELS))
    arguments = parser.parse_args()
    import nutpie

    spec = importlib.util.spec_from_file_location("peer_models", arguments.models)
    models = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(models)
    model = models.MODELS[arguments.model](dict(np.load(arguments.data)))
    compiled = nutpie.compile_pymc_model(model)
    started = time.perf_counter()
    idata = nutpie.sample(compiled, draws=arguments.draws, tune=arguments.tune,
                          chains=arguments.chains, cores=2, seed=arguments.seed,
                          progress_bar=False, save_warmup=True,
                          low_rank_modified_mass_matrix=arguments.low_rank)
    sample_s = time.perf_counter() - started
    free = [rv.name for rv in model.free_RVs]
    ess = az.ess(idata.posterior[free], method="bulk")
    print(json.dumps({
        "model": arguments.model, "sampler": "nutpie" + ("-lowrank" if arguments.low_rank else ""),
        "sample_s": round(sample_s, 3),
        "min_ess_bulk": round(min(float(ess[name].min()) for name in free), 1),
        "step_size": round(float(idata.sample_stats["step_size"].mean()), 4),
        "grad_warmup": int(idata.warmup_sample_stats["n_steps"].sum()),
        "grad_sampling": int(idata.sample_stats["n_steps"].sum()),
        "divergences": int(idata.sample_stats["diverging"].sum()),
    }))


if __name__ == "__main__":
    main()
