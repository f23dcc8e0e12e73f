#!/usr/bin/env bash
# Write tracking for a power cut: one process's model (a bare LD_PRELOAD with
# FAILINJECT_RUN=none) against the run's shared model, under `failinject run` and under a
# bare LD_PRELOAD tree (which founds its own run), on one process overwriting 256 MiB and on
# four processes overwriting 64 MiB each at once, all in 4 KiB `dd` writes (`conv=notrunc`)
# with a `powercut` rule armed that never fires. Prints the median wall time of each and the
# ratios run-wide / per-process, rounds interleaved.
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

. bench/timing.sh

declare -A T
for ((r = 1; r <= ROUNDS; r++)); do
  T[pp1]+="$(ms env FAILINJECT_RUN=none LD_PRELOAD="$LIB" FAILINJECT="$RULE" sh -c "$ONE") "
  T[bare1]+="$(ms env LD_PRELOAD="$LIB" FAILINJECT="$RULE" sh -c "$ONE") "
  T[rw1]+="$(ms "$FI" run -q -r "$RULE" -- sh -c "$ONE") "
  T[pp4]+="$(ms env FAILINJECT_RUN=none LD_PRELOAD="$LIB" FAILINJECT="$RULE" sh -c "$FOUR") "
  T[bare4]+="$(ms env LD_PRELOAD="$LIB" FAILINJECT="$RULE" sh -c "$FOUR") "
  T[rw4]+="$(ms "$FI" run -q -r "$RULE" -- sh -c "$FOUR") "
done
declare -A M
for k in pp1 rw1 bare1 pp4 rw4 bare4; do M[$k]=$(tr ' ' '\n' <<<"${T[$k]}" | grep . | median); done
echo "median wall ms over $ROUNDS rounds (file system: $(stat -f -c %T "$DIR"))"
echo "one process, 256 MiB:   per-process ${M[pp1]}  failinject run ${M[rw1]} ($(ratio "${M[rw1]}" "${M[pp1]}"))  bare run ${M[bare1]} ($(ratio "${M[bare1]}" "${M[pp1]}"))"
echo "four processes, 64 MiB: per-process ${M[pp4]}  failinject run ${M[rw4]} ($(ratio "${M[rw4]}" "${M[pp4]}"))  bare run ${M[bare4]} ($(ratio "${M[bare4]}" "${M[pp4]}"))"
