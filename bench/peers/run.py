#!/usr/bin/python3
"""Runs the peer benchmark matrix, one configuration per process, and prints a markdown table.

Each line of the matrix is "IMPL ARGS... [steps=N]": IMPL is cirkit (cirkit_bench.py) or einet
(einet_bench.py), ARGS go to that script, and steps=N overrides --steps for that line. Lines
starting with # are comments. Every configuration appends one JSON line to --out (the script's
line, or a "failed: ..." line when it printed none); the table goes to stdout, progress to stderr.

  bench/peers/run.py [--out FILE] [--steps 20] [--warmup 3] [--only REGEX] [MATRIX]
  bench/peers/run.py --table FILE     (only print the table of an existing results file)
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the checkout
import cirkit_bench  # noqa: E402
import einet_bench  # noqa: E402
import measure  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_MATRIX = os.path.join(os.path.dirname(HERE), "peers-matrix.txt")
PYTHON = "/usr/bin/python3"  # Debian's python, which python3-torch installs into
SCRIPTS = {"cirkit": "cirkit_bench.py", "einet": "einet_bench.py"}
PARSERS = {"cirkit": cirkit_bench.parser, "einet": einet_bench.parser}  # to check a matrix before running it


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("matrix", nargs="?", default=DEFAULT_MATRIX, help="configuration list (default: %(default)s)")
    ap.add_argument("--peer-work", default=measure.default_peer_work(),
                    help="where setup.sh extracted the peers' sources (default: $PEER_WORK or %(default)s)")
    ap.add_argument("--out", help="results file, JSON lines (default: PEER_WORK/results-<time>.jsonl)")
    ap.add_argument("--steps", type=int, default=20, help="timed steps per configuration")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    ap.add_argument("--threads", type=int, default=2, help="torch and OpenMP threads")
    ap.add_argument("--only", default="", help="run only the matrix lines this regular expression matches")
    ap.add_argument("--quiet-wait", type=float, default=120,
                    help="before each configuration wait up to this many seconds for the machine to go quiet (0: no wait)")
    ap.add_argument("--quiet-cores", type=float, default=0.2,
                    help="CPU cores other processes may use for the machine to count as quiet")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds one configuration may run")
    ap.add_argument("--table", metavar="FILE", help="only print the table of this results file")
    a = ap.parse_args()
    if a.table:
        print_table(read_results(a.table), a.quiet_cores)
        return
    if a.steps < 1 or a.warmup < 0 or a.threads < 1:
        ap.error("--steps and --threads must be at least 1, --warmup at least 0")
    try:
        only = re.compile(a.only)
    except re.error as e:
        ap.error(f"--only {a.only!r}: {e}")
    try:
        configs = [c for c in read_matrix(a.matrix) if only.search(c["line"])]
    except (OSError, ValueError) as e:
        sys.exit(f"run.py: {e}")
    src = os.path.join(a.peer_work, "src")
    for need in ("cirkit/cirkit", "EinsumNetworks/src", "einops/einops", "typing_extensions/src"):
        if not os.path.isdir(os.path.join(src, need)):
            sys.exit(f"run.py: no {need} in {src}: run bench/peers/setup.sh first")
    if not os.access(PYTHON, os.X_OK):
        sys.exit(f"run.py: no {PYTHON}: run bench/peers/setup.sh first")
    out = a.out or os.path.join(a.peer_work, time.strftime("results-%Y%m%d-%H%M%S.jsonl"))
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)

    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads), OPENBLAS_NUM_THREADS=str(a.threads),
               MKL_NUM_THREADS=str(a.threads))
    log(f"# {time.strftime('%Y-%m-%dT%H:%M:%S')} {os.cpu_count()} cores, {len(configs)} configurations, "
        f"results -> {out}")
    rows = []
    for c in configs:
        wait_quiet(a.quiet_wait, a.quiet_cores)
        steps = c["steps"] or a.steps
        cmd = [PYTHON, os.path.join(HERE, SCRIPTS[c["impl"]]), "--peer-work", a.peer_work,
               "--threads", str(a.threads), "--steps", str(steps), "--warmup", str(a.warmup)] + c["args"]
        log(f"## {c['impl']} {' '.join(c['args'])} (steps={steps})")
        rec = run_config(cmd, env, a.timeout, c)
        with open(out, "a") as f:
            f.write(json.dumps(rec) + "\n")
        if rec.get("status") == "ok":
            log(f"   ok: {rec['ms_median']} ms/step, others used {rec['others_cores']} cores")
        else:
            log(f"   {rec.get('status')}")
        rows.append(rec)
    print_table(rows, a.quiet_cores)


def read_matrix(path):
    """The configurations of a matrix file: dicts of impl, args, steps (0: the default) and line."""
    configs = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            impl, *rest = line.split()
            if impl not in SCRIPTS:
                raise ValueError(f"{path}:{n}: unknown implementation {impl!r} (want {' or '.join(SCRIPTS)})")
            args, steps = [], 0
            for tok in rest:
                if tok.startswith("steps="):
                    if not tok[6:].isdigit() or int(tok[6:]) < 1:
                        raise ValueError(f"{path}:{n}: {tok!r}: want steps=N with N a positive integer")
                    steps = int(tok[6:])
                else:
                    args.append(tok)
            check_args(f"{path}:{n}: {impl}", PARSERS[impl](), args)
            configs.append(dict(impl=impl, args=args, steps=steps, line=line))
    return configs


def check_args(where, parser, args):
    """Raises ValueError naming where when parser rejects args."""
    def error(msg):
        raise ValueError(f"{where}: {msg}")
    parser.error = error
    parser.parse_args(args)


def run_config(cmd, env, timeout, c):
    """Runs one configuration's script; returns its result line, or a failure line when it printed none."""
    failed = dict(impl={"cirkit": "cirkit", "einet": "EinsumNetworks"}[c["impl"]], args=" ".join(c["args"]))
    try:
        p = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        return dict(failed, status=f"failed: ran over --timeout {timeout:g} s")
    for line in reversed(p.stdout.splitlines()):
        if line.startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                break
    return dict(failed, status=f"failed: exit status {p.returncode} and no result line")


def busy_cores(window=2.0):
    """CPU cores busy over a window, machine-wide, from /proc/stat (user, nice, system, irq, softirq)."""
    def busy():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:8]]
        return (v[0] + v[1] + v[2] + v[5] + v[6]) / os.sysconf("SC_CLK_TCK")
    b0, t0 = busy(), time.monotonic()
    time.sleep(window)
    return (busy() - b0) / (time.monotonic() - t0)


def wait_quiet(max_wait, cores):
    """Waits up to max_wait seconds until other processes use fewer than cores CPU cores."""
    if max_wait <= 0:
        return
    deadline = time.monotonic() + max_wait
    while True:
        c = busy_cores()
        if c < cores:
            return
        if time.monotonic() >= deadline:
            log(f"   (the machine is still busy: {c:.2f} cores used by others; running anyway)")
            return


def read_results(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def structure(r):
    if "structure" not in r:
        return r.get("args", "?")
    if r.get("impl") == "cirkit":
        return f"{r['structure']} {r.get('layer', '')}"
    if r["structure"] == "pd":
        return f"PD pieces={','.join(str(p) for p in r.get('pd_pieces', []))}"
    return f"RBT d={r.get('depth')} r={r.get('reps')}"


def print_table(rows, quiet_cores):
    """A markdown table of result lines; an ok row whose others_cores reached quiet_cores is marked noisy."""
    print("| impl | structure | leaves | K | B | mode | ms/step median | min | max | samples/s "
          "| peak RSS MB | params | build s | own cores | others cores | log Z | status |")
    print("|" + "---|" * 17)
    for r in rows:
        status = r.get("status", "")
        if status == "ok" and r.get("others_cores", 0) >= quiet_cores:
            status = f"ok, noisy (others used {r['others_cores']} cores)"
        log_z = r.get("log_Z")
        cells = [r.get("impl", "?"), structure(r), r.get("family", ""), r.get("K", ""), r.get("batch", ""),
                 r.get("mode", ""), r.get("ms_median", ""), r.get("ms_min", ""), r.get("ms_max", ""),
                 r.get("samples_per_s", ""), r.get("peak_rss_mb", ""), r.get("num_params", ""),
                 r.get("build_s", ""), r.get("own_cores", ""), r.get("others_cores", ""),
                 "" if log_z is None else f"{log_z:.1e}", status]
        print("| " + " | ".join(str(x) for x in cells) + " |")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
