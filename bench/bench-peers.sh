#!/usr/bin/env bash
# Times tenpc (tenpc bench -preset peers) and the PyTorch peers (cirkit, Einsum
# Networks: bench/peers/run.py on bench/peers-matrix.txt) on this machine in one
# go, one after the other, and prints one table with both and the ratio per
# configuration. Run it through `make bench-peers`; bench/peers/README.md has
# the details.
#
# Env:
#   PEER_WORK     where bench/peers/setup.sh extracts the peers' sources (default ~/.cache/tenpc-peer)
#   MIRROR_ROOT   a folder of bare git snapshots (<owner>+<name>/repo) to extract them from; without
#                 it setup.sh fetches them from GIT_BASE (default https://github.com). setup.sh runs
#                 when the sources or Debian's python3-torch are missing (apt only as root)
#   STEPS, WARMUP timed and untimed steps per configuration (default 20 and 3)
#   QUIET_WAIT    seconds to wait before each configuration (tenpc's and the peers') for other
#                 processes to use < 0.2 cores (default 60)
#   MATRIX        the peers' configuration list (default bench/peers-matrix.txt)
#   ONLY          a regular expression: run only the matrix lines it matches (default: all)
#   TENPC_ARGS    tenpc bench's configuration flags (default -preset peers)
#   OUT           results folder (default $TMPDIR/tenpc-bench-peers-<timestamp>)
#   TENPC         the tenpc binary (default bin/tenpc)
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PEERS=$ROOT/bench/peers
export PEER_WORK=${PEER_WORK:-${XDG_CACHE_HOME:-$HOME/.cache}/tenpc-peer}
STEPS=${STEPS:-20}
WARMUP=${WARMUP:-3}
QUIET_WAIT=${QUIET_WAIT:-60}
MATRIX=${MATRIX:-$ROOT/bench/peers-matrix.txt}
ONLY=${ONLY:-}
TENPC_ARGS=${TENPC_ARGS:--preset peers}
OUT=${OUT:-${TMPDIR:-/tmp}/tenpc-bench-peers-$(date +%Y%m%d-%H%M%S)}
TENPC=${TENPC:-$ROOT/bin/tenpc}

skip() { echo "bench-peers: skipped: $*" >&2; exit 0; }
[ -x "$TENPC" ] || { echo "bench-peers: $TENPC missing (make build)" >&2; exit 1; }
if ! "$PEERS/setup.sh" -check >/dev/null; then
  echo "bench-peers: the peers are not set up in $PEER_WORK; running bench/peers/setup.sh" >&2
  "$PEERS/setup.sh" || skip "bench/peers/setup.sh failed (see bench/peers/README.md: as root, with MIRROR_ROOT or GitHub reachable)"
fi

mkdir -p "$OUT" && rm -f "$OUT/peers.jsonl" || exit 1
echo "# bench-peers: $(date -Is), $(nproc) cores, results in $OUT" >&2
# shellcheck disable=SC2086  # TENPC_ARGS is a list of flags
"$TENPC" bench $TENPC_ARGS -json -steps "$STEPS" -warmup "$WARMUP" -quiet-wait "${QUIET_WAIT}s" >"$OUT/tenpc.jsonl" || exit 1
"$PEERS/run.py" --out "$OUT/peers.jsonl" --steps "$STEPS" --warmup "$WARMUP" --quiet-wait "$QUIET_WAIT" \
  --only "$ONLY" "$MATRIX" >"$OUT/peers.md" || exit 1
echo "# every peer row: $OUT/peers.md" >&2
"$TENPC" bench -compare "$OUT/tenpc.jsonl" -peers "$OUT/peers.jsonl" | tee "$OUT/compare.md"
