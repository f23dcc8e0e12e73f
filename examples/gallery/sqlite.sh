#!/usr/bin/env bash
# The gallery: SQLite under power cuts (docs/GALLERY.md). Needs Debian's sqlite3
# (apt-get install sqlite3); installs nothing.
#
# An update of 1,500 indexed rows in one transaction. explore --crash builds every crash
# state a power cut could leave after each change (unsynced writes lost, reordered or torn at
# 512-byte sectors, directory entries lost) and judges each with SQLite's own integrity check
# and the row count: the rollback journal and WAL with full sync survive them all; with no
# journal the database is corrupted, and the first rejected state is shown with the line that
# makes it live.
#
#   bash examples/gallery/sqlite.sh        (FAILINJECT=path/to/failinject to pick the binary)
source "$(dirname "$0")/lib.sh"
need sqlite3 command -v sqlite3
cd "$work"
table="sqlite3 db \"CREATE TABLE t(id INTEGER PRIMARY KEY, v INTEGER, w TEXT); CREATE INDEX tv ON t(v); CREATE INDEX tw ON t(w); WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<1500) INSERT INTO t SELECT x, x, printf('%040d', x) FROM c;\""
oracle='test "$(sqlite3 db "PRAGMA integrity_check; SELECT count(*) FROM t")" = "$(printf "ok\n1500")"'
update="UPDATE t SET v = v + 7, w = printf('%040d', id * 3);"
campaign() { # NAME SETUP SQL: the explore campaign's summary lines; its status in $status
  set +e
  "$fi" explore --crash --scope sys:fsync -j 2 --report "$1" --setup "$2" --oracle "$oracle" \
    -- sqlite3 db "$3" 2> out
  status=$?
  set -e
  grep -E '^  (handled|crash search)' out
}
failed=0
echo "== rollback journal (the default), synchronous=full =="
campaign rollback "$table" "PRAGMA synchronous=full; $update"
[ "$status" -eq 0 ] || { echo "UNEXPECTED: a crash state broke the database"; failed=1; }
echo "== WAL, synchronous=full =="
campaign wal "$table && sqlite3 db 'PRAGMA journal_mode=wal'" "PRAGMA synchronous=full; $update"
[ "$status" -eq 0 ] || { echo "UNEXPECTED: a crash state broke the database"; failed=1; }
echo "== no journal, synchronous=off =="
campaign off "$table" "PRAGMA journal_mode=off; PRAGMA synchronous=off; $update"
[ "$status" -eq 1 ] || { echo "UNEXPECTED: no crash state broke the database"; failed=1; }
grep -m1 -A1 'power cut after' out || true
python3 - off <<'PY'
import json, sys
r = json.load(open(sys.argv[1] + "/report.json"))
f = next(x for x in r["findings"] if x.get("crash"))
print("  first rejected state:", f["crash"]["id"][:60], "- SQLite says:",
      " ".join((f["oracle_output"] or "").split())[:100])
print("  first rejected after %.2f s of the campaign" % r["crash_first_rejected"])
PY
exit $failed
