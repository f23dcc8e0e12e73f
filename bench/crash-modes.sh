#!/usr/bin/env bash
# What write tracking costs: `dd` overwriting 256 MiB of a synced file in 4 KiB writes
# (`conv=notrunc`), and appending 256 MiB, bare (no preload) and under a bare LD_PRELOAD with
# a `powercut` rule armed that never fires: mode `all` (undo records only) and mode `any`
# (undo records, and each write's new bytes read back). Prints the median wall time of each
# and the ratios all / bare and any / all, rounds interleaved.
#
#   ROUNDS=5 bash bench/crash-modes.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-5}
cargo build -q --release -p failinject-preload
LIB=$PWD/target/release/libfailinject.so
DIR=$(mktemp -d /tmp/failinject-crash-modes.XXXXXX)
trap 'rm -rf "$DIR"' EXIT
head -c $((256 << 20)) /dev/zero >"$DIR/big"
sync
OVER="dd if=/dev/zero of=$DIR/big bs=4k count=65536 conv=notrunc status=none"
# Appends go to a file removed before the clock starts (removing 256 MiB is not the write's
# cost, and a run's keeper may still hold the file an earlier round wrote).
APPEND="dd if=/dev/zero of=$DIR/app bs=4k count=65536 status=none"
fresh() { rm -f "$DIR/app"; sync; sleep 0.2; }

. bench/timing.sh
rule() { echo "sys:access[path=/nonexistent/cut]=$1"; }

declare -A T
for ((r = 1; r <= ROUNDS; r++)); do
  T[over bare]+="$(ms sh -c "$OVER") "
  fresh
  T[app bare]+="$(ms sh -c "$APPEND") "
  for mode in powercut 'powercut(any)'; do
    T[over $mode]+="$(ms env LD_PRELOAD="$LIB" FAILINJECT="$(rule "$mode")" sh -c "$OVER") "
    fresh
    T[app $mode]+="$(ms env LD_PRELOAD="$LIB" FAILINJECT="$(rule "$mode")" sh -c "$APPEND") "
  done
done
m() { tr ' ' '\n' <<<"${T[$1]}" | grep . | median; }
echo "median wall ms over $ROUNDS rounds (file system: $(stat -f -c %T "$DIR"))"
for w in over app; do
  z=$(m "$w bare")
  a=$(m "$w powercut")
  b=$(m "$w powercut(any)")
  echo "$w 256 MiB: bare $z  all $a ($(ratio "$a" "$z") x bare)  any $b ($(ratio "$b" "$a") x all)"
done
