#!/usr/bin/env bash
# Builds and runs arena-memory.c three times over every kind of memory (see its comment).
set -euo pipefail
cd "$(dirname "$0")"
DIR=$(mktemp -d /tmp/failinject-arena-memory.XXXXXX)
trap 'rm -rf "$DIR"' EXIT
cc -O2 -o "$DIR/mb" arena-memory.c
head -c $((256 << 20)) /dev/zero >"$DIR/src"
for r in 1 2 3; do for m in 0 1 2 4 5; do "$DIR/mb" "$DIR/src" $m; done; done
