#!/usr/bin/python3
"""Times one cirkit (april-tools/cirkit) configuration on CPU and prints one JSON line.

The circuit is the one cirkit's learning notebook builds for MNIST: data_modalities.image_data
over a 1x28x28 image, num_input_units = num_sum_units = K, sum weights softmax-parameterized with
normal initialization, compiled by the default pipeline (torch backend, lse-sum semiring, folded,
optimized). Modes:
  sgd   one Adam step (lr 0.01): circuit(x), (-mean log-likelihood).backward(), opt.step(), zero_grad()
  eval  circuit(x) under torch.no_grad()
After the timed steps (and after peak_rss_mb is taken) the script compiles the integral of the
trained circuit in the same pipeline, which shares its sum weights, and checks that log Z is 0:
a row whose circuit is not normalized fails rather than report a timing of another model.

cirkit, einops and typing_extensions come from --peer-work, where setup.sh extracted them.
"""

import os
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the checkout
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import measure  # noqa: E402

# |log Z| above this fails the normalization check; float32 sums over 784 variables land near 1e-5.
LOG_Z_TOLERANCE = 1e-3


def parser():
    ap = measure.arg_parser("cirkit_bench.py", __doc__.splitlines()[0])
    ap.add_argument("--region-graph", default="quad-graph",
                    choices=["quad-graph", "quad-tree-2", "quad-tree-4", "random-binary-tree", "poon-domingos"])
    ap.add_argument("--layer", default="cp", choices=["cp", "cp-t", "tucker"], help="sum-product layer")
    ap.add_argument("--input", default="categorical", choices=["categorical", "binomial"], help="input layer")
    ap.add_argument("--mode", default="sgd", choices=["sgd", "eval"])
    ap.add_argument("--no-check", action="store_true", help="skip the normalization check (log Z = 0)")
    return ap


def main():
    a = parser().parse_args()
    measure.use_sources(a.peer_work, "cirkit", "einops", "typing_extensions/src")
    torch = measure.setup_torch(a)
    if not hasattr(torch, "vmap"):
        # cirkit calls torch.vmap (torch >= 2.0); Debian bookworm's torch 1.13 has it as functorch.vmap.
        import functorch
        torch.vmap = functorch.vmap
    rec = measure.record(torch, a, "cirkit", structure=a.region_graph, layer=a.layer, family=a.input,
                         mode=a.mode, fold=True, optimize=True)
    measure.run(lambda: bench(torch, a, rec), rec, a.out)


def bench(torch, a, rec):
    from cirkit.pipeline import PipelineContext
    from cirkit.templates import data_modalities, utils

    t0 = time.perf_counter()
    symbolic = data_modalities.image_data(
        (1, 28, 28), region_graph=a.region_graph, input_layer=a.input, num_input_units=a.K,
        sum_product_layer=a.layer, num_sum_units=a.K,
        sum_weight_param=utils.Parameterization(activation="softmax", initialization="normal"))
    t1 = time.perf_counter()
    ctx = PipelineContext(backend="torch", semiring="lse-sum", fold=True, optimize=True)
    circuit = ctx.compile(symbolic)
    t2 = time.perf_counter()
    rec.update(symbolic_s=round(t1 - t0, 3), compile_s=round(t2 - t1, 3), build_s=round(t2 - t0, 3),
               num_params=sum(p.numel() for p in circuit.parameters()),
               num_layers=len(list(symbolic.layers)), rss_after_build_mb=measure.rss_mb())

    batches = measure.synthetic_batches(torch, a)  # (B, 784) int64: cirkit's input layers take integers
    if a.mode == "sgd":
        circuit.train()
        opt = torch.optim.Adam(circuit.parameters(), lr=a.lr)

        def step(x):
            loss = -circuit(x).mean()  # circuit(x): (B, 1) log-likelihoods
            loss.backward()
            opt.step()
            opt.zero_grad()
            return loss.item()
    else:
        circuit.eval()

        def step(x):
            with torch.no_grad():
                return -circuit(x).mean().item()

    rec.update(measure.time_steps(step, batches, a.steps, a.warmup))
    if a.no_check:
        rec["check"] = "skipped (--no-check)"
    elif a.input != "categorical":
        rec["check"] = "skipped: cirkit has no integral of binomial input layers"
    else:
        check_normalized(torch, ctx, circuit, rec)
    measure.emit(rec, a.out)


def check_normalized(torch, ctx, circuit, rec):
    """Records log Z of the trained circuit; fails the row when it is not 0."""
    t = time.perf_counter()
    z = ctx.integrate(circuit)
    # The integral's trainable parameters must be the trained circuit's (its input layers become
    # constants, which are not trainable), or log Z would be that of another circuit.
    own = {id(p) for p in circuit.parameters()}
    if not all(id(p) in own for p in z.parameters() if p.requires_grad):
        raise RuntimeError("the integrated circuit does not share the trained circuit's parameters")
    with torch.no_grad():
        log_z = float(z().reshape(-1)[0])
    rec.update(log_Z=log_z, check_s=round(time.perf_counter() - t, 3))
    if abs(log_z) <= LOG_Z_TOLERANCE:
        rec["check"] = "normalized"
    else:
        rec.update(check="not normalized", status=f"failed: not normalized: log Z = {log_z:.3g}")


if __name__ == "__main__":
    main()
