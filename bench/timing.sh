# Helpers the whole-program comparisons in bench/ share; sourced, not run.

# Milliseconds one command takes (its output dropped).
ms() {
  local t0 t1
  t0=$(date +%s%N)
  "$@" >/dev/null 2>&1
  t1=$(date +%s%N)
  echo $(((t1 - t0) / 1000000))
}

# The median of the numbers on standard input, one a line.
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# $1 / $2, two decimals.
ratio() { awk "BEGIN {printf \"%.2f\", $1/$2}"; }
