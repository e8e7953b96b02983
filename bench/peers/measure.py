"""The measurement shared by cirkit_bench.py and einet_bench.py.

A configuration runs in its own process and prints one JSON line (appended to --out too): the
configuration, then what time_steps measured. A step is timed with time.perf_counter around the
whole step; ms_median, ms_min and ms_max are over --steps steps after --warmup untimed ones. Over
the timed steps only, own_cores is this process's CPU time per wall second and others_cores the
machine's busy CPU time (/proc/stat) minus ours per wall second: with 2 cores, a row whose
others_cores is well above 0 shared the machine and should be rerun. peak_rss_mb is ru_maxrss in
MB (10^6 bytes, as tenpc bench reports it), taken right after the timed steps.
"""

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import time
import traceback

# Synthetic MNIST-shaped data: NUM_BATCHES fixed batches of NUM_VARS pixels in [0, 255], cycled.
NUM_VARS = 28 * 28
NUM_BATCHES = 8


def arg_parser(prog, description):
    """An argument parser with the options every peer script shares."""
    ap = argparse.ArgumentParser(prog=prog, description=description)
    ap.add_argument("--K", type=int, default=32, help="units per region (input and sum layers)")
    ap.add_argument("--batch", type=int, default=100, help="batch size")
    ap.add_argument("--steps", type=int, default=20, help="timed steps")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    ap.add_argument("--lr", type=float, default=0.01, help="Adam's learning rate")
    ap.add_argument("--seed", type=int, default=0, help="seeds the parameters and the data")
    ap.add_argument("--out", help="also append the JSON line to this file")
    ap.add_argument("--peer-work", default=default_peer_work(),
                    help="where setup.sh extracted the peers' sources (default: $PEER_WORK or %(default)s)")
    return ap


def default_peer_work():
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return os.environ.get("PEER_WORK") or os.path.join(cache, "tenpc-peer")


def use_sources(peer_work, *folders):
    """Puts the given folders of peer_work/src first on sys.path: before torch is imported, so that
    the extracted typing_extensions wins over Debian's older one."""
    for folder in reversed(folders):
        path = os.path.join(peer_work, "src", folder)
        if not os.path.isdir(path):
            raise SystemExit(f"no {path}: run bench/peers/setup.sh first (or pass --peer-work)")
        sys.path.insert(0, path)


def setup_torch(a):
    """Imports torch with a's threads and seeds; returns the module."""
    import random

    import numpy as np
    import torch

    torch.set_num_threads(a.threads)
    random.seed(a.seed)
    np.random.seed(a.seed)
    torch.manual_seed(a.seed)
    return torch


def record(torch, a, impl, **config):
    """The first fields of a result line: the implementation, the configuration and the stack."""
    rec = dict(impl=impl, K=a.K, batch=a.batch, steps=a.steps, warmup=a.warmup)
    rec.update(config)
    rec.update(torch=torch.__version__, threads=torch.get_num_threads(), python=platform.python_version())
    return rec


def synthetic_batches(torch, a, dtype=None):
    """NUM_BATCHES seeded batches of shape (a.batch, NUM_VARS), integer pixels in [0, 255]."""
    gen = torch.Generator().manual_seed(a.seed)
    data = torch.randint(0, 256, (NUM_BATCHES * a.batch, NUM_VARS), generator=gen)
    if dtype is not None:
        data = data.to(dtype)
    return data.split(a.batch)


def time_steps(step, batches, steps, warmup):
    """Runs step(x) warmup + steps times over the cycled batches; step returns the batch's mean NLL.

    Returns the timing and contention fields of a result line."""
    for i in range(warmup):
        step(batches[i % len(batches)])
    ms, nll = [], []
    busy0, steal0 = machine_cpu_s()
    own0, wall0 = own_cpu_s(), time.perf_counter()
    for i in range(warmup, warmup + steps):
        t = time.perf_counter()
        loss = step(batches[i % len(batches)])
        ms.append((time.perf_counter() - t) * 1e3)
        nll.append(loss)
    wall = time.perf_counter() - wall0
    own = own_cpu_s() - own0
    busy1, steal1 = machine_cpu_s()
    med = statistics.median(ms)
    return dict(
        status="ok",
        ms_median=round(med, 2), ms_min=round(min(ms), 2), ms_max=round(max(ms), 2),
        samples_per_s=round(len(batches[0]) / (med / 1e3), 1),
        cpu_ms_per_step=round(own * 1e3 / steps, 2),
        own_cores=round(own / wall, 2),
        others_cores=round(max(0.0, (busy1 - busy0) - own) / wall, 2),
        steal_cores=round((steal1 - steal0) / wall, 2),
        nll_first=round(nll[0], 3), nll_last=round(nll[-1], 3),
        peak_rss_mb=peak_rss_mb(),
    )


def machine_cpu_s():
    """Seconds of busy CPU (user, nice, system, irq, softirq) and of steal, over all CPUs, from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    hz = os.sysconf("SC_CLK_TCK")
    return (user + nice + system + irq + softirq) / hz, steal / hz


def own_cpu_s():
    t = os.times()
    return t.user + t.system


def peak_rss_mb():
    """ru_maxrss (KiB on Linux) in MB of 10^6 bytes."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6, 1)


def rss_mb():
    """The current resident set size in MB of 10^6 bytes."""
    with open("/proc/self/statm") as f:
        return round(int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6, 1)


def emit(rec, out):
    """Prints rec as one JSON line and appends it to out when given."""
    line = json.dumps(rec)
    print(line, flush=True)
    if out:
        with open(out, "a") as f:
            f.write(line + "\n")


def run(body, rec, out):
    """Calls body(), which fills rec and emits it; if body raises, emits rec as it stands with
    status "failed: <error>" and exits 1."""
    try:
        body()
    except Exception as e:  # any failure becomes the row's status
        traceback.print_exc()
        msg = str(e).splitlines()[0] if str(e) else ""
        rec["status"] = f"failed: {type(e).__name__}: {msg}"[:300]
        emit(rec, out)
        raise SystemExit(1)
