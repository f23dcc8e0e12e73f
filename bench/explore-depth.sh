#!/usr/bin/env bash
# Issue 20's speed targets: what the recording run and the planning add to a campaign, and
# how long `--depth 2` takes on `git commit` with -j 2. Prints one line per campaign from the
# report's own timings (seconds, seconds_recording). Usage: bash bench/explore-depth.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p failinject-cli
bin=$PWD/target/release/failinject
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
git_setup='git init -q . && git config user.email a@b && git config user.name a && echo hi > f && git add f'
sql_setup="sqlite3 t.db 'create table t(x); insert into t values (0)'"
sql_oracle="sqlite3 t.db 'pragma integrity_check' | grep -qx ok"
summary() {
  python3 - "$1" "$2" <<'PY'
import json, sys
r = json.load(open(sys.argv[2] + "/report.json"))
runs_alone = r["seconds"] - r["seconds_recording"]
print(f"{sys.argv[1]}: {r['runs']} runs in {r['seconds']:.2f} s; recording + planning "
      f"{r['seconds_recording']:.2f} s = {100 * r['seconds_recording'] / runs_alone:.1f}% "
      f"over the runs alone ({runs_alone:.2f} s)")
PY
}
"$bin" explore -j 2 --report d1 --setup "$git_setup" -- git commit -q -m msg 2> /dev/null || true
summary "git commit, depth 1" d1
"$bin" explore --depth 2 -j 2 --report d2 --setup "$git_setup" -- git commit -q -m msg 2> /dev/null || true
summary "git commit, depth 2" d2
"$bin" explore -j 2 --report s1 --setup "$sql_setup" --oracle "$sql_oracle" \
  -- sqlite3 t.db 'insert into t values (1); insert into t values (2);' 2> /dev/null || true
summary "sqlite3 insert, depth 1" s1
