#!/usr/bin/env bash
# Issue 22's targets for `explore --crash` (search): SQLite updating 1,500 indexed rows in
# place without a journal yields corrupted states (the first within 60 s with -j 2, and the
# whole campaign's time); the same update in WAL mode with full sync yields none over at least
# 200 states, checked at least 3x faster per state than `--crash=rerun` checks its crash points.
# Prints one line per campaign from the report's own figures. Usage: bash bench/crash-search.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p failinject-cli -p failinject-preload
bin=$PWD/target/release/failinject
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
table="sqlite3 db \"CREATE TABLE t(id INTEGER PRIMARY KEY, v INTEGER, w TEXT); CREATE INDEX tv ON t(v); CREATE INDEX tw ON t(w); WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<1500) INSERT INTO t SELECT x, x, hex(randomblob(20)) FROM c;\""
intact='test "$(sqlite3 db "PRAGMA integrity_check")" = ok'
update='UPDATE t SET v = v + 7, w = hex(randomblob(20));'
summary() {
  python3 - "$1" "$2" <<'PY'
import json, sys
r = json.load(open(sys.argv[2] + "/report.json"))
alone = r["seconds"] - r["seconds_recording"]
states = r.get("crash_states", 0)
cuts = sum(1 for x in r["results"] if x["task"] == "powercut")
rejected = sum(1 for x in r["results"] if x.get("crash"))
line = f"{sys.argv[1]}: {r['seconds']:.2f} s in all"
if states:
    line += (f"; {states} crash states checked, {rejected} rejected, "
             f"{states / alone:.0f} states/s; first rejected after "
             f"{r.get('crash_first_rejected') or float('nan'):.2f} s")
else:
    line += (f"; {r['runs']} runs ({cuts} power cuts), "
             f"{r['runs'] / alone:.0f} runs/s, corrupted {r['outcomes']['corrupted']}")
print(line)
PY
}
"$bin" explore --crash --scope sys:fsync -j 2 --report off --setup "$table" --oracle "$intact" \
  -- sqlite3 db "PRAGMA journal_mode=off; PRAGMA synchronous=off; $update" 2> /dev/null || true
summary "no journal, search" off
wal="$table && sqlite3 db 'PRAGMA journal_mode=wal'"
"$bin" explore --crash --scope sys:fdatasync -j 2 --report wal --setup "$wal" --oracle "$intact" \
  -- sqlite3 db "PRAGMA synchronous=full; $update" 2> /dev/null || true
summary "WAL, search" wal
"$bin" explore --crash=rerun --scope 'sys:@write|@sync' -j 2 --report rerun --setup "$wal" \
  --oracle "$intact" -- sqlite3 db "PRAGMA synchronous=full; $update" 2> /dev/null || true
summary "WAL, rerun" rerun
