#!/usr/bin/env bash
# Installs what the peer benchmark needs and extracts the peers' sources at the
# commits pinned in sources.txt into $PEER_WORK/src/<name> (nothing of theirs is
# kept in this repository).
#
# Usage: bench/peers/setup.sh          install (apt as root) and extract what is missing
#        bench/peers/setup.sh -check   exit 0 when everything is in place, else say what is missing
#
# Env:
#   PEER_WORK    where to extract (default ~/.cache/tenpc-peer)
#   MIRROR_ROOT  a folder of bare git snapshots laid out as <owner>+<name>/repo; a repository
#                there that has the pinned commit is used instead of the network
#   GIT_BASE     where to clone from otherwise (default https://github.com)
#   SKIP_APT     1: do not apt-get install (default: install when root, skip otherwise)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
PEER_WORK=${PEER_WORK:-${XDG_CACHE_HOME:-$HOME/.cache}/tenpc-peer}
MIRROR_ROOT=${MIRROR_ROOT:-}
GIT_BASE=${GIT_BASE:-https://github.com}
PY=/usr/bin/python3 # Debian's python, which python3-torch installs into
# cirkit imports scipy and graphviz, Einsum Networks networkx, scipy and PIL.
APT_PACKAGES="python3-torch python3-numpy python3-scipy python3-networkx python3-graphviz python3-pil"
if [ "$(id -u)" = 0 ]; then SKIP_APT=${SKIP_APT:-0}; else SKIP_APT=${SKIP_APT:-1}; fi

# sources prints "owner/name commit paths..." for each pinned repository.
sources() { grep -v '^\s*#' "$HERE/sources.txt" | grep -v '^\s*$'; }

# extracted says whether $1 (owner/name) is extracted at commit $2.
extracted() { [ "$(cat "$PEER_WORK/src/${1#*/}/.tenpc-commit" 2>/dev/null)" = "$2" ]; }

python_ok() { [ -x "$PY" ] && "$PY" -c 'import torch, numpy, scipy, networkx, PIL' 2>/dev/null; }

if [ "${1:-}" = -check ]; then
  ok=0
  python_ok || { echo "setup: $PY cannot import torch, numpy, scipy, networkx and PIL (apt-get install $APT_PACKAGES)"; ok=1; }
  while read -r slug commit _; do
    extracted "$slug" "$commit" || { echo "setup: $slug is not extracted at $commit in $PEER_WORK/src"; ok=1; }
  done < <(sources)
  exit $ok
fi
[ $# -eq 0 ] || { echo "usage: $0 [-check]" >&2; exit 2; }

if [ "$SKIP_APT" != 1 ]; then
  echo "setup: apt-get install $APT_PACKAGES"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq $APT_PACKAGES >/dev/null
fi

# fetch_commit writes a git directory holding commit $2 of $1 (owner/name) to $3,
# from MIRROR_ROOT when it has the commit, else from GIT_BASE (by commit, falling
# back to a full clone where the server does not serve single commits).
fetch_commit() {
  local slug=$1 commit=$2 dir=$3 mirror="$MIRROR_ROOT/${1/\//+}/repo"
  if [ -n "$MIRROR_ROOT" ] && git --git-dir="$mirror" cat-file -e "$commit^{commit}" 2>/dev/null; then
    echo "$mirror"
    return
  fi
  git init -q --bare "$dir"
  if ! git --git-dir="$dir" fetch -q --depth 1 "$GIT_BASE/$slug" "$commit" 2>/dev/null; then
    git --git-dir="$dir" fetch -q "$GIT_BASE/$slug" '+refs/heads/*:refs/heads/*' ||
      { echo "setup: cannot fetch $GIT_BASE/$slug (set MIRROR_ROOT to a folder of snapshots)" >&2; return 1; }
  fi
  git --git-dir="$dir" cat-file -e "$commit^{commit}" ||
    { echo "setup: $GIT_BASE/$slug has no commit $commit" >&2; return 1; }
  echo "$dir"
}

mkdir -p "$PEER_WORK/src"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
while read -r slug commit paths; do
  dest=$PEER_WORK/src/${slug#*/}
  if extracted "$slug" "$commit"; then
    echo "setup: $slug at ${commit:0:12} already in $dest"
    continue
  fi
  gitdir=$(fetch_commit "$slug" "$commit" "$tmp/${slug/\//+}" </dev/null)
  rm -rf "$dest" && mkdir -p "$dest"
  for p in $paths; do
    # Path by path, so that git reads only these blobs (some snapshots lack blobs
    # elsewhere in the tree, e.g. cirkit's notebooks).
    if [ "$(git --git-dir="$gitdir" cat-file -t "$commit:$p")" = tree ]; then
      git --git-dir="$gitdir" archive --prefix="$p/" "$commit:$p" | tar -x -C "$dest"
    else
      mkdir -p "$(dirname "$dest/$p")"
      git --git-dir="$gitdir" cat-file blob "$commit:$p" >"$dest/$p"
    fi
  done
  echo "$commit" >"$dest/.tenpc-commit"
  echo "setup: $slug at ${commit:0:12} -> $dest (from $gitdir)"
done < <(sources)

python_ok || { echo "setup: $PY cannot import torch, numpy, scipy, networkx and PIL; as root: apt-get install $APT_PACKAGES" >&2; exit 1; }
"$PY" -c 'import torch, numpy; print("setup: done; torch", torch.__version__, "numpy", numpy.__version__)'
