#!/usr/bin/env bash
# The gallery: Redis's append-only file under fsync errors and power cuts (docs/GALLERY.md).
# Needs Debian's redis-server (apt-get install redis-server, which brings redis-cli and
# redis-check-aof); installs nothing. The server listens on a Unix socket in a temporary
# directory only; each write is acknowledged (to a file written O_DSYNC) once Redis said OK.
#
#   bash examples/gallery/redis.sh         (FAILINJECT=path/to/failinject to pick the binary)
source "$(dirname "$0")/lib.sh"
need redis-server command -v redis-server redis-cli redis-check-aof
acked=$gallery/redis_acked.sh
failed=0
fresh() { rm -rf "$work/$1"; mkdir "$work/$1"; cd "$work/$1"; }
search() { # WRITE-ARGS...: explore --crash over the acknowledged writes; its status in $status
  set +e
  "$fi" explore --crash --scope sys:fsync -j 2 --report rep --oracle "bash $acked check" \
    -- bash "$acked" write "$@" 2> out
  status=$?
  set -e
  grep -E '^  crash search' out
}
verdicts() { # the rejected states' oracle verdicts, counted
  python3 - <<'PY'
import collections, json
r = json.load(open("rep/report.json"))
said = [(x["oracle_output"] or "").strip() for x in r["findings"] if x.get("crash")]
lost = [len(s.split(":", 1)[1].split()) for s in said if s.startswith("acknowledged writes lost")]
torn = [s.splitlines()[-1] for s in said if "does not start" in s]
print(f"  {len(lost)} states lose acknowledged writes (at most {max(lost, default=0)})")
if torn:
    print(f"  {len(torn)} states Redis will not load; {torn[0]}")
PY
}

echo "== appendfsync always, an fsync fails with EIO =="
fresh always-eio
"$fi" run -q -r 'sys:@sync[path=*.incr.aof,when=5]=error(EIO)' -- bash "$acked" write 20 || true
echo "  acknowledged: $(wc -l < acked) writes; Redis: $(grep -o "Can't persist AOF for fsync error[^.]*" redis.log)"
bash "$acked" check && echo "  every acknowledged write is there" || failed=1

echo "== appendfsync always, every crash state =="
fresh always-crash
search 10
[ "$status" -eq 0 ] || { echo "UNEXPECTED: an acknowledged write was lost"; failed=1; }

echo "== appendfsync everysec, an fsync fails with EIO =="
fresh everysec-eio
said=$("$fi" run -q -r 'sys:@sync[path=*.incr.aof]=error(EIO)' -- bash "$acked" write 30 everysec 0.1 2>&1 || true)
refused=$(grep -o 'write [0-9]* refused: MISCONF[^:]*' <<< "$said" | head -1 || true)
echo "  after $(wc -l < acked) acknowledged writes, ${refused:-nothing refused}"
[ -n "$refused" ] || failed=1

echo "== appendfsync everysec, every crash state =="
fresh everysec-crash
search 10 everysec
verdicts
[ "$status" -eq 1 ] || { echo "UNEXPECTED: no crash state lost a write"; failed=1; }

echo "== appendfsync everysec, 3 KB values: torn writes =="
fresh everysec-torn
search 6 everysec 0 3000
verdicts
grep -q 'is not valid' rep/report.json || { echo "UNEXPECTED: no torn file"; failed=1; }
exit $failed
