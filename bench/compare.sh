#!/usr/bin/env bash
# bench/compare.sh: the whole-program overhead of libfailinject.so, against a bare run and
# against the peers (libfiu's fiu-run, strace's syscall tampering).
#
#   bash bench/compare.sh            # about 3 minutes on 2 cores, plus the first build
#
# What it does (docs/PERFORMANCE.md, "Preload overhead", explains the results):
#   1. builds the release preload and bench/io/iobench.c (cc -O2), and freezes a copy of the
#      preload in bench/io/target/ so a rebuild during the run cannot change what is measured;
#   2. installs fiu-utils and hyperfine with apt-get when missing (a peer that cannot be had is
#      skipped with a note);
#   3. wall time: N x 1-byte write() to /dev/null and to a regular file in /tmp, every
#      configuration once per round, ROUNDS rounds round-robin, median per configuration;
#   4. user-space instructions per call with callgrind, configurations 1-4 (and 5 for
#      reference): runs with 0 and with CG_N calls, (Ir(CG_N) - Ir(0)) / CG_N, and per function
#      with bench/io/cgdiff.pl;
#   5. start-up: /bin/true with 20 rules (one a regex) against bare, with hyperfine (or a timed
#      loop) and callgrind;
#   6. threads: every run reports /proc/self/task after its loop.
#
# Knobs (environment): ROUNDS (7), N (1000000), N_STRACE (10000: strace costs 20-100 us a call),
# CG_N (1000000), STARTUP_RUNS (300), OUT (bench/io/target), PRELOAD (a libfailinject.so to
# measure instead of building one, e.g. an older build to compare with).
# Results: the report on stdout and in $OUT/report.md; raw runs in $OUT/runs.txt.

set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${OUT:-$ROOT/bench/io/target}
ROUNDS=${ROUNDS:-7}
N=${N:-1000000}
N_STRACE=${N_STRACE:-10000}
CG_N=${CG_N:-1000000}
STARTUP_RUNS=${STARTUP_RUNS:-300}
# Nothing of the caller's configuration leaks into the measured programs.
unset LD_PRELOAD FAILINJECT FAILINJECT_FILE FAILPOINTS FAILINJECT_SEED FAILINJECT_ON_ERROR \
    FIU_ENABLE FIU_CTRL_FIFO

note() { printf '%s\n' "compare.sh: $*" >&2; }
started=$(date +%s)
mkdir -p "$OUT"
rm -f "$OUT"/cg.* "$OUT"/runs.txt
REPORT=$OUT/report.md
: > "$REPORT"
say() { printf '%s\n' "$*" | tee -a "$REPORT"; }

# ---- 1. build -----------------------------------------------------------------------------
SO=$OUT/libfailinject.so
if [ -n "${PRELOAD:-}" ]; then
    note "measuring the given preload $PRELOAD (not building)"
    cp "$PRELOAD" "$SO"
else
    note "building the release preload"
    (cd "$ROOT" && CARGO_PROFILE_RELEASE_DEBUG=1 cargo build --release -p failinject-preload --quiet)
    cp "${CARGO_TARGET_DIR:-$ROOT/target}/release/libfailinject.so" "$SO"
fi
# What was built, recorded now: the tree may change while the benchmark runs.
head_rev=$(git -C "$ROOT" rev-parse --short HEAD 2> /dev/null || echo '?')
dirty=$( (git -C "$ROOT" status --porcelain -- preload engine 2> /dev/null || true) | wc -l)
BIN=$OUT/iobench
cc -O2 -Wall -Wextra -o "$BIN" "$ROOT/bench/io/iobench.c"

TMPD=$(mktemp -d /tmp/failinject-bench.XXXXXX)
trap 'rm -rf "$TMPD"' EXIT
DATA=$TMPD/iobench.dat

# ---- 2. peers -----------------------------------------------------------------------------
apt_updated=0
ensure() { # command package
    command -v "$1" > /dev/null && return 0
    if [ "$(id -u)" != 0 ] || ! command -v apt-get > /dev/null; then
        note "$1 missing and apt-get unusable here: skipped"
        return 1
    fi
    note "installing $2"
    if [ $apt_updated = 0 ]; then
        apt-get update -qq > /dev/null 2>&1 || true
        apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" > /dev/null 2>&1 || true
    command -v "$1" > /dev/null && return 0
    note "could not install $2: skipped"
    return 1
}
HAVE_FIU=0; ensure fiu-run fiu-utils && HAVE_FIU=1
HAVE_HYPERFINE=0; ensure hyperfine hyperfine && HAVE_HYPERFINE=1
HAVE_STRACE=0; ensure strace strace && HAVE_STRACE=1
HAVE_VALGRIND=0; ensure valgrind valgrind && HAVE_VALGRIND=1
# Installed is not enough: ptrace may be forbidden (containers), the preload dir elsewhere.
if [ $HAVE_STRACE = 1 ] && ! strace -f -o /dev/null /bin/true > /dev/null 2>&1; then
    note "strace cannot trace here: skipped"; HAVE_STRACE=0
fi
if [ $HAVE_FIU = 1 ] && ! fiu-run -x /bin/true > /dev/null 2>&1; then
    note "fiu-run -x does not run here: skipped"; HAVE_FIU=0
fi
if [ $HAVE_VALGRIND = 1 ] && ! command -v perl > /dev/null; then
    note "perl missing (bench/io/cgdiff.pl): instruction counts skipped"; HAVE_VALGRIND=0
fi

# ---- the configurations -------------------------------------------------------------------
R_NORULE='sys:fsync=error(EIO)'
R_GLOB='sys:write[path=*.wal]=error(EIO)'
R_REGEX='sys:write[path~"\.(wal|log)$"]=error(EIO)'
FIU_1PCT='enable_random name=posix/io/rw/write,probability=0.01'
# strace 6.1 refuses when= above 65535, so the never-firing injection is when=65535 (the runs
# make N_STRACE + 1000 < 65535 calls); the 1% one fails every 100th call.
STRACE_NEVER='inject=write:error=EIO:when=65535'
STRACE_1PCT='inject=write:error=EIO:when=100+100'
if (( N_STRACE + 1000 >= 65535 )); then
    note "N_STRACE must stay under 64535 (strace's when= limit)"; exit 2
fi

CONFIGS=(bare norule glob regex inject1)
[ $HAVE_FIU = 1 ] && CONFIGS+=(fiu0 fiu1)
[ $HAVE_STRACE = 1 ] && CONFIGS+=(strace0 strace1)
# strace's cost depends on where the tracer and the program run: on an idle VM every ptrace
# stop wakes the other vCPU. The same never-firing strace, both pinned to one CPU:
[ $HAVE_STRACE = 1 ] && command -v taskset > /dev/null && CONFIGS+=(strace0pin)

label() {
    case $1 in
        bare) echo '1. bare (no preload)' ;;
        norule) echo "2. preload, no rule on write (\`$R_NORULE\`)" ;;
        glob) echo "3. preload, non-matching glob (\`$R_GLOB\`)" ;;
        regex) echo "4. preload, non-matching regex (\`${R_REGEX//|/\\|}\`)" ;;
        inject1) echo '5. preload, injecting at 1% (`sys:write[path=TARGET]=1%error(EIO)`)' ;;
        fiu0) echo '6a. `fiu-run -x`, no failure enabled' ;;
        fiu1) echo "6b. \`fiu-run -x -c '$FIU_1PCT'\`" ;;
        strace0) echo "6c. \`strace -f -o /dev/null -e $STRACE_NEVER\` (never fires)" ;;
        strace1) echo "6d. \`strace -f -o /dev/null -e $STRACE_1PCT\` (1%)" ;;
        strace0pin) echo '6e. 6c pinned to one CPU (`taskset -c 0 strace …`)' ;;
    esac
}

# run CONFIG VARIANT N: one run of iobench, its one output line on stdout.
run() {
    local cfg=$1 var=$2 n=$3 target
    local args
    if [ "$var" = null ]; then
        target=/dev/null; args=(null "$n")
    else
        target=$DATA; args=(file "$n" "$DATA")
    fi
    case $cfg in
        bare) "$BIN" "${args[@]}" ;;
        norule | glob | regex | inject1)
            env LD_PRELOAD="$SO" FAILINJECT_SEED=42 FAILINJECT="$(rule_for "$cfg" "$target")" \
                "$BIN" "${args[@]}" ;;
        fiu0) fiu-run -x "$BIN" "${args[@]}" ;;
        fiu1) fiu-run -x -c "$FIU_1PCT" "$BIN" "${args[@]}" ;;
        strace0) strace -f -o /dev/null -e "$STRACE_NEVER" "$BIN" "${args[@]}" ;;
        strace1) strace -f -o /dev/null -e "$STRACE_1PCT" "$BIN" "${args[@]}" ;;
        strace0pin) taskset -c 0 strace -f -o /dev/null -e "$STRACE_NEVER" "$BIN" "${args[@]}" ;;
    esac
}

# rule_for CONFIG TARGET: the FAILINJECT of a preload configuration.
rule_for() {
    case $1 in
        norule) echo "$R_NORULE" ;;
        glob) echo "$R_GLOB" ;;
        regex) echo "$R_REGEX" ;;
        inject1) echo "sys:write[path=$2]=1%error(EIO)" ;;
    esac
}

calls_for() { case $1 in strace*) echo "$N_STRACE" ;; *) echo "$N" ;; esac; }

# ---- 3. wall time, round-robin ------------------------------------------------------------
note "wall time: $ROUNDS rounds of ${#CONFIGS[@]} configurations x 2 targets"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for ((r = 1; r <= ROUNDS; r++)); do
    for var in null file; do
        for cfg in "${CONFIGS[@]}"; do
            line=$(run "$cfg" "$var" "$(calls_for "$cfg")")
            # ns_per_call=X calls=N failed=F eio=E tasks=T
            set -- ${line//=/ }
            # round target config ns failed eio tasks
            printf '%s %s %s %s %s %s %s\n' "$r" "$var" "$cfg" "$2" "$6" "$8" "${10}" \
                >> "$OUT/runs.txt"
        done
    done
    note "round $r/$ROUNDS done ($(( $(date +%s) - started )) s)"
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# median VARIANT CONFIG: the median ns/call of that configuration's runs.
median() {
    awk -v v="$1" -v c="$2" '$2 == v && $3 == c { print $4 }' "$OUT/runs.txt" | sort -g |
        awk '{ a[NR] = $1 } END { if (NR == 0) print "nan";
             else if (NR % 2) printf "%.1f", a[(NR + 1) / 2];
             else printf "%.1f", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
spread() { # min-max of the runs
    awk -v v="$1" -v c="$2" '$2 == v && $3 == c { print $4 }' "$OUT/runs.txt" | sort -g |
        awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.0f–%.0f", lo, hi }'
}
sumcol() { # VARIANT CONFIG COLUMN: total over the runs
    awk -v v="$1" -v c="$2" -v k="$3" '$2 == v && $3 == c { s += $k } END { print s + 0 }' \
        "$OUT/runs.txt"
}
maxcol() {
    awk -v v="$1" -v c="$2" -v k="$3" '$2 == v && $3 == c && $k > m { m = $k } END { print m + 0 }' \
        "$OUT/runs.txt"
}

# ---- 4. instructions per call -------------------------------------------------------------
declare -A IPC
# Configurations 1-4, and 5 for reference: its rule names the target, so every call takes the
# whole path (target facts, decision, probability roll) and none can be remembered as rejected.
# libfiu's pure overhead too, with the environment fiu-run -x sets (valgrind cannot follow
# fiu-run's exec without also counting bash).
CG_CONFIGS=(bare norule glob regex inject1)
FIU_LIB=
if [ $HAVE_FIU = 1 ]; then
    FIU_LIB=$(sed -n 's/^PLIBPATH="\(.*\)"$/\1/p' "$(command -v fiu-run)")
    [ -f "$FIU_LIB/fiu_posix_preload.so" ] && CG_CONFIGS+=(fiu0)
fi
if [ $HAVE_VALGRIND = 1 ]; then
    note "callgrind: ${CG_CONFIGS[*]}, 0 and $CG_N calls"
    for var in null file; do
        for cfg in "${CG_CONFIGS[@]}"; do
            for n in 0 "$CG_N"; do
                f=$OUT/cg.$var.$cfg.$n
                if [ "$var" = null ]; then
                    args=(null "$n"); target=/dev/null
                else
                    args=(file "$n" "$DATA"); target=$DATA
                fi
                case $cfg in
                    bare) pre=() ;;
                    fiu0)
                        pre=(FIU_ENABLE= FIU_CTRL_FIFO="${TMPDIR:-/tmp}/fiu-ctrl"
                            LD_PRELOAD="$FIU_LIB/fiu_run_preload.so $FIU_LIB/fiu_posix_preload.so") ;;
                    *) pre=(LD_PRELOAD="$SO" FAILINJECT_SEED=42
                            FAILINJECT="$(rule_for "$cfg" "$target")") ;;
                esac
                env "${pre[@]}" valgrind --tool=callgrind --callgrind-out-file="$f" \
                    "$BIN" "${args[@]}" > /dev/null 2>&1
            done
            a=$(sed -n 's/^summary: //p' "$OUT/cg.$var.$cfg.0")
            b=$(sed -n 's/^summary: //p' "$OUT/cg.$var.$cfg.$CG_N")
            IPC[$var.$cfg]=$(awk -v a="$a" -v b="$b" -v n="$CG_N" 'BEGIN { printf "%.1f", (b - a) / n }')
        done
    done
    note "callgrind done ($(( $(date +%s) - started )) s)"
fi

# ---- 5. start-up --------------------------------------------------------------------------
RULES20='sys:write[path=*.wal]=1%error(EIO);sys:pwrite[path=/data/*/x*.db]=short;'\
'sys:fsync=error(EIO);sys:fdatasync[path=*.db]=error(EIO);sys:rename[path=/data/*]=error(EXDEV);'\
'sys:open[path=*.lock]=error(EEXIST);sys:close[kind=socket]=error(EBADF);sys:fwrite=error(ENOSPC);'\
'sys:read[path=*.idx,size>=4096]=corrupt(flip);sys:unlink[path=/tmp/*]=error(EACCES);'\
'sys:mkdir[path=/var/lib/*]=error(EROFS);sys:write[path~"\.(wal|log)$"]=error(EIO);'\
'sys:openat[path=*.tmp]=2*off->error(ENOSPC);sys:fsync[when=100+]=sleep(1);sys:sync=sleep(1);'\
'sys:writev[path=*.journal]=full(1M);sys:ftruncate=error(EIO);sys:fopen[path=/etc/*.conf]=error(ENOENT);'\
'wal::append=off;db::commit=1%panic'
if ! env LD_PRELOAD="$SO" FAILINJECT="$RULES20" /bin/true; then
    note "the 20 start-up rules do not load (exit $?): fix RULES20"
    exit 1
fi
TRUE=/bin/true
declare -A SU_MED SU_MEAN SU_SD SU_IR
note "start-up: /bin/true, $STARTUP_RUNS runs each"
if [ $HAVE_HYPERFINE = 1 ]; then
    hyperfine -N --style none --warmup 20 --runs "$STARTUP_RUNS" --export-csv "$OUT/startup.csv" \
        -n bare "env $TRUE" \
        -n preload "env LD_PRELOAD='$SO' $TRUE" \
        -n rules20 "env LD_PRELOAD='$SO' 'FAILINJECT=$RULES20' $TRUE" > /dev/null
    # command,mean,stddev,median,user,system,min,max (seconds)
    while IFS=, read -r name mean sd med _; do
        [ "$name" = command ] && continue
        SU_MEAN[$name]=$(awk -v x="$mean" 'BEGIN { printf "%.3f", x * 1000 }')
        SU_SD[$name]=$(awk -v x="$sd" 'BEGIN { printf "%.3f", x * 1000 }')
        SU_MED[$name]=$(awk -v x="$med" 'BEGIN { printf "%.3f", x * 1000 }')
    done < "$OUT/startup.csv"
    SU_TOOL="hyperfine -N --warmup 20 --runs $STARTUP_RUNS (each command through \`env\`)"
else
    note "hyperfine missing: timing a loop instead"
    : > "$OUT/startup.txt"
    for ((i = 0; i < STARTUP_RUNS; i++)); do
        for name in bare preload rules20; do
            t0=$EPOCHREALTIME
            case $name in
                bare) env "$TRUE" ;;
                preload) env LD_PRELOAD="$SO" "$TRUE" ;;
                rules20) env LD_PRELOAD="$SO" FAILINJECT="$RULES20" "$TRUE" ;;
            esac
            t1=$EPOCHREALTIME
            echo "$name $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", (b - a) * 1000 }')" \
                >> "$OUT/startup.txt"
        done
    done
    for name in bare preload rules20; do
        SU_MED[$name]=$(awk -v c=$name '$1 == c { print $2 }' "$OUT/startup.txt" | sort -g |
            awk '{ a[NR] = $1 } END { printf "%.3f", a[int((NR + 1) / 2)] }')
        SU_MEAN[$name]=$(awk -v c=$name '$1 == c { s += $2; n++ } END { printf "%.3f", s / n }' \
            "$OUT/startup.txt")
        SU_SD[$name]=—
    done
    SU_TOOL="a bash loop, round-robin, with \$EPOCHREALTIME (includes bash's fork)"
fi
if [ $HAVE_VALGRIND = 1 ]; then
    valgrind --tool=callgrind --callgrind-out-file="$OUT/cg.true.bare" "$TRUE" > /dev/null 2>&1
    env LD_PRELOAD="$SO" valgrind --tool=callgrind --callgrind-out-file="$OUT/cg.true.preload" \
        "$TRUE" > /dev/null 2>&1
    env LD_PRELOAD="$SO" FAILINJECT="$RULES20" valgrind --tool=callgrind \
        --callgrind-out-file="$OUT/cg.true.rules20" "$TRUE" > /dev/null 2>&1
    for name in bare preload rules20; do
        SU_IR[$name]=$(sed -n 's/^summary: //p' "$OUT/cg.true.$name")
    done
fi

# ---- 6. threads ---------------------------------------------------------------------------
T_BARE=$("$BIN" tasks)
T_RULES20=$(env LD_PRELOAD="$SO" FAILINJECT="$RULES20" "$BIN" tasks)

# ---- the report ---------------------------------------------------------------------------
elapsed=$(( $(date +%s) - started ))
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
mhz=$(sed -n 's/^cpu MHz[[:space:]]*: //p' /proc/cpuinfo | head -1)

say "## bash bench/compare.sh — $(date -u '+%Y-%m-%d %H:%M UTC'), ${elapsed} s"
say ""
say "| | |"
say "|---|---|"
say "| \`nproc\` | $(nproc) |"
say "| CPU | \`$cpu\`, $mhz MHz |"
say "| kernel | $(uname -r) |"
if [ -n "${PRELOAD:-}" ]; then
    say "| preload | \`$PRELOAD\` (given), sha256 $(sha256sum "$SO" | cut -c1-12) |"
else
    say "| preload | \`git $head_rev\`, $dirty modified file(s) under preload/ and engine/ when built; $(rustc --version 2> /dev/null), release; sha256 $(sha256sum "$SO" | cut -c1-12) |"
fi
say "| cc | $(cc --version | head -1) |"
say "| peers | $( [ $HAVE_FIU = 1 ] && dpkg-query -W -f='fiu-utils ${Version}' fiu-utils 2> /dev/null), $( [ $HAVE_STRACE = 1 ] && strace -V | head -1), $( [ $HAVE_HYPERFINE = 1 ] && hyperfine --version), $( [ $HAVE_VALGRIND = 1 ] && valgrind --version) |"
say "| load average | $load_before before, $load_after after the wall-time rounds |"
say ""
say "### Wall time per write (median of $ROUNDS interleaved rounds)"
say ""
say "N = $N calls ($N_STRACE under strace), after 1000 untimed ones. \`/dev/null\` is a"
say "character device; the file is \`$DATA\` (${#DATA} bytes), written from empty to N bytes."
say "TARGET in configuration 5 is the target's own path. The range is the fastest and slowest round."
say ""
say "| configuration | /dev/null ns/call | ratio | range | /tmp file ns/call | ratio | range | failed calls (null / file) | threads |"
say "|---|---|---|---|---|---|---|---|---|"
bn=$(median null bare); bf=$(median file bare)
for cfg in "${CONFIGS[@]}"; do
    mn=$(median null "$cfg"); mf=$(median file "$cfg")
    rn=$(awk -v a="$mn" -v b="$bn" 'BEGIN { printf "%.2f×", a / b }')
    rf=$(awk -v a="$mf" -v b="$bf" 'BEGIN { printf "%.2f×", a / b }')
    calls=$(( $(calls_for "$cfg") * ROUNDS ))
    fails="$(sumcol null "$cfg" 5) / $(sumcol file "$cfg" 5) of $calls"
    [ "$(sumcol null "$cfg" 5)$(sumcol file "$cfg" 5)" = 00 ] && fails=0
    thr=$(( $(maxcol null "$cfg" 7) > $(maxcol file "$cfg" 7) ? $(maxcol null "$cfg" 7) : $(maxcol file "$cfg" 7) ))
    say "| $(label "$cfg") | $mn | $rn | $(spread null "$cfg") | $mf | $rf | $(spread file "$cfg") | $fails | $thr |"
done
say ""

if [ $HAVE_VALGRIND = 1 ]; then
    say "### User-space instructions per write (callgrind, (Ir($CG_N) − Ir(0)) / $CG_N)"
    say ""
    say "| configuration | /dev/null: per call | extra vs bare | target | met | /tmp file: per call | extra vs bare |"
    say "|---|---|---|---|---|---|---|"
    for cfg in "${CG_CONFIGS[@]}"; do
        case $cfg in norule) tgt=15 ;; glob) tgt=40 ;; regex) tgt=80 ;; *) tgt= ;; esac
        xn=$(awk -v a="${IPC[null.$cfg]}" -v b="${IPC[null.bare]}" 'BEGIN { printf "%.1f", a - b }')
        xf=$(awk -v a="${IPC[file.$cfg]}" -v b="${IPC[file.bare]}" 'BEGIN { printf "%.1f", a - b }')
        if [ "$cfg" = bare ]; then
            met='—'; tcol='—'; xn='—'; xf='—'
        elif [ -z "$tgt" ]; then
            met='(reference)'; tcol='—'
        else
            tcol="≤ $tgt"
            met=$(awk -v x="$xn" -v t="$tgt" 'BEGIN { if (x <= t) print "met";
                else printf "missed by %.0f (%.1f×)", x - t, x / t }')
        fi
        say "| $(label "$cfg") | ${IPC[null.$cfg]} | $xn | $tcol | $met | ${IPC[file.$cfg]} | $xf |"
    done
    say ""
    say "### Where the instructions go (/dev/null, per call, self cost by function, ≥ 2 shown: bench/io/cgdiff.pl)"
    for cfg in "${CG_CONFIGS[@]}"; do
        [ "$cfg" = bare ] && continue
        say ""
        say "$(label "$cfg"):"
        say ""
        say '```text'
        perl "$ROOT/bench/io/cgdiff.pl" "$CG_N" "$OUT/cg.null.$cfg.0" "$OUT/cg.null.$cfg.$CG_N" 2 |
            tee -a "$REPORT"
        say '```'
    done
    say ""
fi

say "### Start-up: /bin/true"
say ""
say "20 rules (\`RULES20\` in this script: 18 libc rules, one of them the regex, and 2 in-code"
say "rules). Timed with $SU_TOOL."
say ""
say "| run | median | mean ± σ | instructions (callgrind) |"
say "|---|---|---|---|"
for name in bare preload rules20; do
    case $name in
        bare) l='bare' ;; preload) l='preloaded, no FAILINJECT' ;; rules20) l='preloaded, 20 rules' ;;
    esac
    say "| $l | ${SU_MED[$name]} ms | ${SU_MEAN[$name]} ± ${SU_SD[$name]} ms | ${SU_IR[$name]:-—} |"
done
added=$(awk -v a="${SU_MED[rules20]}" -v b="${SU_MED[bare]}" 'BEGIN { printf "%.3f", a - b }')
met=$(awk -v x="$added" 'BEGIN { print (x < 2 ? "met" : "missed") }')
say ""
say "Added by the preload with 20 rules: **$added ms** (median; target < 2 ms: $met)."
say ""
say "### Threads"
say ""
say "\`iobench tasks\` (entries of /proc/self/task): bare $T_BARE, preloaded with the 20 rules"
say "$T_RULES20. The \"threads\" column above is the largest count any run saw after its loop."
note "report written to $REPORT"
