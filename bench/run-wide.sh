#!/usr/bin/env bash
# Write tracking for a power cut: one process's model (a bare LD_PRELOAD) against the run's
# shared model (`failinject run`), on one process overwriting 256 MiB and on four processes
# overwriting 64 MiB each at once, all in 4 KiB `dd` writes (`conv=notrunc`) with a
# `powercut` rule armed that never fires. Prints the median wall time of each and the ratio
# run-wide / per-process, rounds interleaved.
#
#   ROUNDS=7 bash bench/run-wide.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-7}
cargo build -q --release -p failinject-cli -p failinject-preload
LIB=$PWD/target/release/libfailinject.so
FI=$PWD/target/release/failinject
DIR=$(mktemp -d /tmp/failinject-run-wide.XXXXXX)
trap 'rm -rf "$DIR"' EXIT
head -c $((256 << 20)) /dev/zero >"$DIR/big"
for i in 0 1 2 3; do head -c $((64 << 20)) /dev/zero >"$DIR/f$i"; done
sync
RULE='sys:access[path=/nonexistent/cut]=powercut'
ONE="dd if=/dev/zero of=$DIR/big bs=4k count=65536 conv=notrunc status=none"
FOUR="for i in 0 1 2 3; do dd if=/dev/zero of=$DIR/f\$i bs=4k count=16384 conv=notrunc status=none & done; wait"

# Milliseconds one command takes.
ms() {
  local t0 t1
  t0=$(date +%s%N)
  "$@" >/dev/null 2>&1
  t1=$(date +%s%N)
  echo $(((t1 - t0) / 1000000))
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -A T
for ((r = 1; r <= ROUNDS; r++)); do
  T[pp1]+="$(ms env LD_PRELOAD="$LIB" FAILINJECT="$RULE" sh -c "$ONE") "
  T[rw1]+="$(ms "$FI" run -q -r "$RULE" -- sh -c "$ONE") "
  T[pp4]+="$(ms env LD_PRELOAD="$LIB" FAILINJECT="$RULE" sh -c "$FOUR") "
  T[rw4]+="$(ms "$FI" run -q -r "$RULE" -- sh -c "$FOUR") "
done
declare -A M
for k in pp1 rw1 pp4 rw4; do M[$k]=$(tr ' ' '\n' <<<"${T[$k]}" | grep . | median); done
echo "median wall ms over $ROUNDS rounds (file system: $(stat -f -c %T "$DIR"))"
echo "one process, 256 MiB:   per-process ${M[pp1]}  run-wide ${M[rw1]}  ratio $(awk "BEGIN {printf \"%.2f\", ${M[rw1]}/${M[pp1]}}")"
echo "four processes, 64 MiB: per-process ${M[pp4]}  run-wide ${M[rw4]}  ratio $(awk "BEGIN {printf \"%.2f\", ${M[rw4]}/${M[pp4]}}")"
