#!/usr/bin/python3
"""Times one Einsum Networks (cambridge-mlg/EinsumNetworks) configuration on CPU and prints one JSON line.

The network is built as the repository's demo_mnist.py builds it for a 28x28 image:
  --structure pd   Graph.poon_domingos_structure with delta 28/p for each p of --pd-pieces
                   (demo_mnist.py's pd_num_pieces: 4 is a 7-pixel delta)
  --structure rbt  Graph.random_binary_trees(784, --depth, --reps) (RAT-SPN)
with num_sums = num_input_distributions = K and categorical(256) or binomial(255) leaves. Modes:
  sgd   use_em=False (softmax-reparameterized weights), one Adam step (lr 0.01): forward,
        (-mean log-likelihood).backward(), opt.step(), zero_grad()
  em    use_em=True, online EM as demo_mnist.py (frequency 1, step size 0.05): forward,
        log-likelihood.sum().backward(), em_process_batch() (which updates every batch)
  eval  the sgd model's forward under torch.no_grad()
After the timed steps the script marginalizes every variable and checks that the network's
output is log 1 = 0 (its sum weights are normalized).

The EinsumNetworks source comes from --peer-work, where setup.sh extracted it. Categorical
leaves materialize a (B, 784, K, R, 256) float32 tensor (R: replicas, 1 for PD,
--reps for rbt); configurations whose tensor exceeds --max-leaf-gb are reported as skipped.
"""

import argparse
import os
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the checkout
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import measure  # noqa: E402

# |log Z| above this fails the normalization check (float32, as in cirkit_bench.py).
LOG_Z_TOLERANCE = 1e-3
SIDE = 28  # the image is SIDE x SIDE, measure.NUM_VARS pixels


def parser():
    ap = measure.arg_parser("einet_bench.py", __doc__.splitlines()[0])
    ap.add_argument("--structure", default="pd", choices=["pd", "rbt"])
    ap.add_argument("--pd-pieces", default=[4], type=int_list, help="comma-separated pieces per side (delta = 28/pieces)")
    ap.add_argument("--depth", type=int, default=3, help="rbt: split depth (demo_mnist.py: 3)")
    ap.add_argument("--reps", type=int, default=20, help="rbt: repetitions (demo_mnist.py: 20)")
    ap.add_argument("--family", default="categorical", choices=["categorical", "binomial"], help="leaves")
    ap.add_argument("--mode", default="sgd", choices=["sgd", "em", "eval"])
    ap.add_argument("--max-leaf-gb", type=float, default=6.0,
                    help="skip categorical configurations whose leaf tensor is larger")
    return ap


def int_list(s):
    try:
        v = [int(p) for p in s.split(",")]
    except ValueError:
        v = []
    if not v or min(v) < 1:
        raise argparse.ArgumentTypeError(f"{s!r}: want comma-separated positive integers")
    return v


def main():
    a = parser().parse_args()
    pieces = a.pd_pieces
    measure.use_sources(a.peer_work, "EinsumNetworks/src")
    torch = measure.setup_torch(a)
    config = dict(structure=a.structure, layer="einsum", family=a.family, mode=a.mode)
    if a.structure == "pd":
        config.update(pd_pieces=pieces, pd_delta_px=[SIDE / p for p in pieces])
    else:
        config.update(depth=a.depth, reps=a.reps)
    rec = measure.record(torch, a, "EinsumNetworks", **config)
    measure.run(lambda: bench(torch, a, pieces, rec), rec, a.out)


def bench(torch, a, pieces, rec):
    from EinsumNetwork import EinsumNetwork, Graph

    replicas = 1 if a.structure == "pd" else a.reps
    leaf_gb = a.batch * measure.NUM_VARS * a.K * replicas * 256 * 4 / 1e9
    if a.family == "categorical" and leaf_gb > a.max_leaf_gb:
        rec["status"] = f"skipped: categorical leaves take {leaf_gb:.1f} GB > --max-leaf-gb {a.max_leaf_gb}"
        measure.emit(rec, a.out)
        return

    t0 = time.perf_counter()
    if a.structure == "pd":
        graph = Graph.poon_domingos_structure(shape=(SIDE, SIDE), delta=[[SIDE / p, SIDE / p] for p in pieces])
    else:
        graph = Graph.random_binary_trees(num_var=measure.NUM_VARS, depth=a.depth, num_repetitions=a.reps)
    if a.family == "categorical":
        family, family_args = EinsumNetwork.CategoricalArray, {"K": 256}
    else:
        family, family_args = EinsumNetwork.BinomialArray, {"N": 255}
    args = EinsumNetwork.Args(
        num_var=measure.NUM_VARS, num_dims=1, num_classes=1, num_sums=a.K, num_input_distributions=a.K,
        exponential_family=family, exponential_family_args=family_args, use_em=a.mode == "em",
        online_em_frequency=1, online_em_stepsize=0.05)
    einet = EinsumNetwork.EinsumNetwork(graph, args)
    einet.initialize()
    rec.update(build_s=round(time.perf_counter() - t0, 3),
               num_params=sum(p.numel() for p in einet.parameters()),
               num_layers=len(einet.einet_layers), rss_after_build_mb=measure.rss_mb())

    batches = measure.synthetic_batches(torch, a, dtype=torch.float32)  # (B, 784), as demo_mnist.py's data

    def log_likelihood(x):
        return EinsumNetwork.log_likelihoods(einet(x))  # (B, 1)

    if a.mode == "sgd":
        einet.train()
        opt = torch.optim.Adam(einet.parameters(), lr=a.lr)

        def step(x):
            loss = -log_likelihood(x).mean()
            loss.backward()
            opt.step()
            opt.zero_grad()
            return loss.item()
    elif a.mode == "em":
        einet.train()

        def step(x):
            ll = log_likelihood(x).sum()
            ll.backward()
            einet.em_process_batch()
            return -ll.item() / len(x)
    else:
        einet.eval()

        def step(x):
            with torch.no_grad():
                return -log_likelihood(x).mean().item()

    rec.update(measure.time_steps(step, batches, a.steps, a.warmup))
    check_normalized(torch, einet, log_likelihood, batches[0][:1], rec)
    measure.emit(rec, a.out)


def check_normalized(torch, einet, log_likelihood, x, rec):
    """Records the log-likelihood with every variable marginalized (log Z); fails the row when it is not 0."""
    einet.set_marginalization_idx(torch.arange(measure.NUM_VARS))
    with torch.no_grad():
        log_z = float(log_likelihood(x).reshape(-1)[0])
    einet.set_marginalization_idx(None)
    rec["log_Z"] = log_z
    if abs(log_z) <= LOG_Z_TOLERANCE:
        rec["check"] = "normalized"
    else:
        rec.update(check="not normalized", status=f"failed: not normalized: log Z = {log_z:.3g}")


if __name__ == "__main__":
    main()
