#!/usr/bin/env bash
# The gallery: LMDB under power cuts (docs/GALLERY.md). Needs Debian's python3-lmdb
# (apt-get install python3-lmdb); installs nothing.
#
# Ten transactions of one key each, each acknowledged (to a file written O_DSYNC) once its
# commit returned; explore --crash builds every crash state a power cut could leave after
# each change, and the oracle checks that every acknowledged transaction is there. Through
# write() and through a shared mapping (MDB_WRITEMAP): none is lost. With MDB_NOSYNC: lost.
#
#   bash examples/gallery/lmdb.sh          (FAILINJECT=path/to/failinject to pick the binary)
source "$(dirname "$0")/lib.sh"
py=/usr/bin/python3
need python3-lmdb "$py" -c 'import lmdb'
txns=$gallery/lmdb_txns.py
cd "$work"
campaign() { # MODE...: the explore campaign's summary lines; its status in $status
  set +e
  "$fi" explore --crash --scope sys:fsync -j 2 --report "report-$*" \
    --setup "$py $txns setup" --oracle "$py $txns check" -- "$py" "$txns" run "$@" 2> out
  status=$?
  set -e
  grep -E '^  (handled|crash search)|^  corrupted|power cut after|lost' out | head -6
}
failed=0
for mode in write writemap; do
  echo "== LMDB through $mode, synced commits =="
  campaign "$mode"
  if [ "$status" -ne 0 ]; then echo "UNEXPECTED: a crash state lost an acknowledged commit"; failed=1; fi
done
for mode in write writemap; do
  echo "== LMDB through $mode, MDB_NOSYNC =="
  campaign "$mode" nosync
  if [ "$status" -ne 1 ]; then echo "UNEXPECTED: no crash state lost a commit"; failed=1; fi
  # Which commits the first rejected state lost, in the oracle's words.
  python3 - "report-$mode nosync" <<'PY'
import json, sys
r = json.load(open(sys.argv[1] + "/report.json"))
f = next(x for x in r["findings"] if x.get("crash"))
said = (f["oracle_output"] or "").strip().splitlines()
print("  first rejected state", f["crash"]["id"][:40], "->", said[-1] if said else "")
PY
done
exit $failed
