#!/usr/bin/env bash
# What tracking writes through a shared mapping costs: 200 LMDB commits (Debian's python3
# with python3-lmdb), through write() and with MDB_WRITEMAP, bare and under the preload with
# a `powercut` rule armed that never fires. Three rounds, interleaved.
#
#   bash bench/lmdb/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build -q --release -p failinject-preload
LIB=$PWD/target/release/libfailinject.so
PY=$PWD/bench/lmdb/commits.py
DIR=$(mktemp -d /tmp/failinject-lmdb.XXXXXX)
trap 'rm -rf "$DIR"' EXIT
cd "$DIR"
for r in 1 2 3; do
  for mode in write writemap; do
    rm -rf db
    /usr/bin/python3 "$PY" "$mode" | sed 's/^/bare    /'
    rm -rf db
    LD_PRELOAD=$LIB FAILINJECT='sys:access[path=/nonexistent]=powercut' /usr/bin/python3 "$PY" "$mode" |
      sed 's/^/tracked /'
  done
done
