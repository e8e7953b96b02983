#!/usr/bin/env bash
# Times tenpc (tenpc bench -preset peers) and the PyTorch peers (cirkit,
# Einsum Networks: ../shared/peer/run_peers.sh) on this machine in one go, one
# after the other, and prints one table with both and the ratio per
# configuration. Run it through `make bench-peers`.
#
# Env:
#   PEER_HARNESS  the harness folder (default ../shared/peer next to the repo)
#   PEER_WORK     where setup_peers.sh extracted the peer sources (default ~/.cache/tenpc-peer)
#   MIRROR_ROOT   a folder of bare git snapshots (<owner>+<name>/repo) of april-tools/cirkit,
#                 cambridge-mlg/EinsumNetworks, arogozhnikov/einops and python/typing_extensions;
#                 when set and PEER_WORK has no sources yet, setup_peers.sh extracts them
#                 (as root it also apt-installs python3-torch etc.)
#   STEPS, WARMUP timed and untimed steps per configuration (default 20 and 3, as the harness)
#   QUIET_WAIT    seconds to wait before each configuration (tenpc's and the peers') for other
#                 processes to use < 0.2 cores (default 60; the harness's own default is 120)
#   OUT           results folder (default $TMPDIR/tenpc-bench-peers-<timestamp>)
#   TENPC         the tenpc binary (default bin/tenpc)
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PEER_HARNESS=${PEER_HARNESS:-$ROOT/../shared/peer}
PEER_WORK=${PEER_WORK:-${XDG_CACHE_HOME:-$HOME/.cache}/tenpc-peer}
STEPS=${STEPS:-20}
WARMUP=${WARMUP:-3}
OUT=${OUT:-${TMPDIR:-/tmp}/tenpc-bench-peers-$(date +%Y%m%d-%H%M%S)}
TENPC=${TENPC:-$ROOT/bin/tenpc}
QUIET_WAIT=${QUIET_WAIT:-60}

skip() { echo "bench-peers: skipped: $*" >&2; exit 0; }
[ -x "$PEER_HARNESS/run_peers.sh" ] || skip "no peer harness at $PEER_HARNESS (set PEER_HARNESS)"
if ! [ -d "$PEER_WORK/src/cirkit/cirkit" ] || ! [ -d "$PEER_WORK/src/EinsumNetworks/src" ]; then
  [ -n "${MIRROR_ROOT:-}" ] || skip "no peer sources in $PEER_WORK/src; set MIRROR_ROOT to a folder of bare snapshots (<owner>+<name>/repo) of april-tools/cirkit, cambridge-mlg/EinsumNetworks, arogozhnikov/einops and python/typing_extensions (see docs/PERFORMANCE.md)"
  [ -d "$MIRROR_ROOT/april-tools+cirkit/repo" ] || skip "MIRROR_ROOT=$MIRROR_ROOT has no april-tools+cirkit/repo"
  skip_apt=1; [ "$(id -u)" = 0 ] && skip_apt=${SKIP_APT:-0}
  PEER_WORK=$PEER_WORK MIRROR_ROOT=$MIRROR_ROOT SKIP_APT=$skip_apt "$PEER_HARNESS/setup_peers.sh" || skip "setup_peers.sh failed"
fi
/usr/bin/python3 -c 'import torch' 2>/dev/null || skip "/usr/bin/python3 has no torch (run $PEER_HARNESS/setup_peers.sh as root, or apt-get install python3-torch)"
[ -x "$TENPC" ] || { echo "bench-peers: $TENPC missing (make build)" >&2; exit 1; }

mkdir -p "$OUT"
echo "# bench-peers: $(date -Is), $(nproc) cores, results in $OUT" >&2
"$TENPC" bench -preset peers -json -steps "$STEPS" -warmup "$WARMUP" -quiet-wait "${QUIET_WAIT}s" >"$OUT/tenpc.jsonl" || exit 1
PEER_WORK=$PEER_WORK STEPS=$STEPS WARMUP=$WARMUP QUIET_WAIT=$QUIET_WAIT OUT=$OUT/peers.jsonl \
  "$PEER_HARNESS/run_peers.sh" "$ROOT/bench/peers-matrix.txt" >"$OUT/peers.md" || exit 1
"$TENPC" bench -compare "$OUT/tenpc.jsonl" -peers "$OUT/peers.jsonl" | tee "$OUT/compare.md"
