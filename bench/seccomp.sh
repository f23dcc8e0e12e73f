#!/usr/bin/env bash
# Issue 23's targets for the seccomp backend (`failinject run --backend seccomp`), whole
# programs timed in paired rounds, one session. The program is a static C program (cc -static
# -O2, written and built here) making N write(2)s of SIZE bytes to one file in the temp dir
# (/tmp; the script prints its file system), seeking back to the start every 1,024 writes so
# that the file stays in the page cache (4 MiB at most) and the disk is never the bottleneck.
#
#   (a) rules only on fsync (`sys:fsync=error(EIO)`), 1,000,000 x 16-byte writes: no write is
#       trapped; target: within 1.1x of bare.
#   (b) a rule trapping every write and injecting none (`sys:write[path=*/never-matches]=
#       error(EIO)`: each write goes to the supervisor, which reads its descriptor's path and
#       kind and decides it), N4 x 4 KiB writes; targets: within 20x of bare, and at least 5x
#       faster than strace tracing every write with an inject it never fires
#       (`strace -f -o /dev/null -e trace=write -e inject=write:error=EIO:when=65535`: 65535
#       is the largest `when=` strace 6.1 takes, so exactly one write of the N4 fails).
#
# Each round runs every command once, in turn (bare, failinject, strace), after WARMUP
# uncounted rounds; a figure is the median over ROUNDS of the per-round ratio (min-max after
# it), so the machine's drift between rounds cancels out. Prints one line per figure.
#
#   bash bench/seccomp.sh                       # about 5 minutes on 2 cores, plus the build
#   ROUNDS=7 N4=100000 bash bench/seccomp.sh    # knobs: ROUNDS (5), WARMUP (1), N1 (1000000), N4 (200000)
#   FI_BIN=/path/to/failinject bash bench/seccomp.sh   # measure that binary instead of building
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-5}
WARMUP=${WARMUP:-1}
N1=${N1:-1000000}
N4=${N4:-200000}
if ! command -v strace >/dev/null; then
  echo "seccomp.sh: strace is missing (the (b) comparison needs it): sudo apt-get install -y strace" >&2
  exit 1
fi
if ! command -v cc >/dev/null; then
  echo "seccomp.sh: no C compiler: sudo apt-get install -y gcc libc6-dev" >&2
  exit 1
fi
if [[ -z ${FI_BIN:-} ]]; then
  cargo build -q --release -p failinject-cli -p failinject-preload
  FI_BIN=target/release/failinject
  echo "failinject built from $(git log --oneline -1 | cut -c1-60)$(git diff --quiet HEAD -- . 2>/dev/null || echo ' (the work tree has changes)')"
else
  echo "failinject: $FI_BIN (given)"
fi
DIR=$(mktemp -d /tmp/failinject-seccomp.XXXXXX)
trap 'rm -rf "$DIR"' EXIT
# A copy, so that a rebuild during the run cannot change what is measured.
cp "$FI_BIN" "$DIR/failinject"
FI=$DIR/failinject

cat >"$DIR/writes.c" <<'EOF'
/* writes FILE N SIZE: N write(2)s of SIZE bytes to FILE, back to its start every 1,024.
   A failed or short write is counted and reported on stderr, not fatal. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv) {
  if (argc != 4) { fprintf(stderr, "usage: %s FILE N SIZE\n", argv[0]); return 2; }
  long n = atol(argv[2]);
  size_t size = (size_t)atol(argv[3]);
  char *buf = malloc(size ? size : 1);
  if (!buf) return 1;
  memset(buf, 'x', size);
  int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) { perror("open"); return 1; }
  long failed = 0;
  for (long i = 0; i < n; i++) {
    if (i % 1024 == 0 && lseek(fd, 0, SEEK_SET) < 0) { perror("lseek"); return 1; }
    if (write(fd, buf, size) != (ssize_t)size) failed++;
  }
  if (close(fd) != 0) { perror("close"); return 1; }
  if (failed) fprintf(stderr, "%ld writes failed\n", failed);
  return 0;
}
EOF
cc -static -O2 -o "$DIR/writes" "$DIR/writes.c"
P=$DIR/writes
OUT=$DIR/out

FSYNC_RULE='sys:fsync=error(EIO)'
WRITE_RULE='sys:write[path=*/never-matches]=error(EIO)'
A_BARE=("$P" "$OUT" "$N1" 16)
A_FI=("$FI" run -q --backend seccomp -r "$FSYNC_RULE" -- "$P" "$OUT" "$N1" 16)
B_BARE=("$P" "$OUT" "$N4" 4096)
B_FI=("$FI" run -q --backend seccomp -r "$WRITE_RULE" -- "$P" "$OUT" "$N4" 4096)
B_ST=(strace -f -o /dev/null -e trace=write -e inject=write:error=EIO:when=65535 "$P" "$OUT" "$N4" 4096)

# The commands do what they claim: the never-matching rule is decided on real facts (the same
# rule on the file's own path fails every write), and strace injects exactly once.
check() { # expected-stderr command...
  local want=$1 got
  shift
  got=$("$@" 2>&1 >/dev/null) || { echo "seccomp.sh: failed: $*: $got" >&2; exit 1; }
  [[ $got == "$want" ]] || { echo "seccomp.sh: $*: expected '$want', got '$got'" >&2; exit 1; }
}
check "" "$FI" run -q --backend seccomp -r "$WRITE_RULE" -- "$P" "$OUT" 1000 4096
check "1000 writes failed" "$FI" run -q --backend seccomp -r 'sys:write[path=*/out]=error(EIO)' -- "$P" "$OUT" 1000 4096
check "" "$FI" run -q --backend seccomp -r "$FSYNC_RULE" -- "$P" "$OUT" 1000 16
check "1 writes failed" strace -f -o /dev/null -e trace=write -e inject=write:error=EIO:when=65535 "$P" "$OUT" 65535 16

# Nanoseconds one command takes (its output dropped).
ns() {
  local t0 t1
  t0=$(date +%s%N)
  "$@" >/dev/null 2>&1
  t1=$(date +%s%N)
  echo $((t1 - t0))
}
# Median, min and max of the numbers on standard input: "median [min-max]".
summary() { sort -g | awk '{a[NR]=$1} END {printf "%.2f [%.2f-%.2f]", a[int((NR+1)/2)], a[1], a[NR]}'; }
med_ms() { sort -g | awk '{a[NR]=$1} END {printf "%.0f", a[int((NR+1)/2)] / 1e6}'; }
div() { awk "BEGIN {printf \"%.4f\", $1/$2}"; }

declare -A T R
for ((r = 1 - WARMUP; r <= ROUNDS; r++)); do
  ab=$(ns "${A_BARE[@]}"); af=$(ns "${A_FI[@]}")
  bb=$(ns "${B_BARE[@]}"); bf=$(ns "${B_FI[@]}"); bs=$(ns "${B_ST[@]}")
  ((r >= 1)) || continue
  T[ab]+="$ab "; T[af]+="$af "; T[bb]+="$bb "; T[bf]+="$bf "; T[bs]+="$bs "
  R[a]+="$(div "$af" "$ab") "; R[bf]+="$(div "$bf" "$bb") "
  R[bs]+="$(div "$bs" "$bb") "; R[sf]+="$(div "$bs" "$bf") "
done
m() { tr ' ' '\n' <<<"${T[$1]}" | grep . | med_ms; }
s() { tr ' ' '\n' <<<"${R[$1]}" | grep . | summary; }
verdict() { awk "BEGIN {exit !($1)}" && echo met || echo MISSED; }
ra=$(s a); rbf=$(s bf); rbs=$(s bs); rsf=$(s sf)
echo "$ROUNDS rounds after $WARMUP warm-up; file on $(df -T "$DIR" | awk 'NR == 2 {print $2}') ($DIR); ratios: median of per-round ratios [min-max]"
echo "(a) $N1 x 16 B, rule on fsync: bare $(m ab) ms, seccomp $(m af) ms; seccomp/bare $ra (target <= 1.1: $(verdict "${ra%% *} <= 1.1"))"
echo "(b) $N4 x 4 KiB, every write trapped: bare $(m bb) ms, seccomp $(m bf) ms, strace $(m bs) ms"
echo "(b) seccomp/bare $rbf (target <= 20: $(verdict "${rbf%% *} <= 20"))"
echo "(b) strace/bare $rbs"
echo "(b) strace/seccomp $rsf (target >= 5: $(verdict "${rsf%% *} >= 5"))"
