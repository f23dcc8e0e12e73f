#!/usr/bin/env bash
# The gallery: PostgreSQL and "fsyncgate" (docs/GALLERY.md). Needs Debian's postgresql
# (apt-get install postgresql); installs nothing. PostgreSQL refuses to run as root: run as
# root, the script makes a system user `failinject-pg` (useradd) and runs the server, and
# failinject with it, as that user. Each server lives in a temporary directory, on a Unix
# socket there (no TCP), with trust authentication.
#
#   bash examples/gallery/postgres.sh      (FAILINJECT=path/to/failinject to pick the binary)
source "$(dirname "$0")/lib.sh"
bin=$(ls -d /usr/lib/postgresql/*/bin 2> /dev/null | tail -1)
need postgresql test -x "$bin/postgres"
user=failinject-pg
chmod 755 "$work"
runs=()
on_exit() {
  for p in "${runs[@]}"; do kill -9 "$p" 2> /dev/null || true; done
  pkill -9 -f "postgres -D $work" 2> /dev/null || true
}
if [ "$(id -u)" -eq 0 ]; then
  id "$user" > /dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$user"
  # failinject itself where the user can run it (its library is cached under its HOME).
  install -m 755 "$fi" "$work/failinject"
  fi=$work/failinject
  switch=(setpriv --reuid "$user" --regid "$user" --clear-groups --)
else
  switch=()
fi
# A command as the server's user, with failinject's cache and sockets in the server's home;
# setpriv and env exec in place, so a background one's pid is the program's.
as_user() { "${switch[@]}" env HOME="$dir/home" XDG_CACHE_HOME="$dir/home" XDG_RUNTIME_DIR="$dir/home" "$@"; }
sql() { "$bin/psql" -h "$dir" -U postgres -XAtq -v ON_ERROR_STOP=1 -c "$1"; }
until_ok() { # SECONDS WHAT COMMAND...: waits for COMMAND to succeed
  local n=$(($1 * 20)) what=$2
  shift 2
  for _ in $(seq "$n"); do "$@" > /dev/null 2>&1 && return 0; sleep 0.05; done
  echo "UNEXPECTED: $what; the server's log:"; tail -20 "$dir/server.log"
  exit 1
}
logged() { grep -q "$1" "$dir/server.log"; }
start() { # NAME SETTINGS...: initdb, then postgres under `failinject run --ctl`
  dir=$work/$1
  shift
  mkdir -p "$dir/home"
  [ "$(id -u)" -ne 0 ] || chown -R "$user" "$dir"
  as_user "$bin/initdb" -D "$dir/data" --auth=trust -U postgres --no-sync > /dev/null
  "${switch[@]}" env HOME="$dir/home" XDG_CACHE_HOME="$dir/home" XDG_RUNTIME_DIR="$dir/home" \
    "$fi" run --ctl -- "$bin/postgres" -D "$dir/data" -k "$dir" -c listen_addresses= \
    -c logging_collector=off -c dynamic_shared_memory_type=mmap "$@" > "$dir/server.log" 2>&1 &
  run=$!
  runs+=("$run")
  until_ok 30 "the server did not start" sql 'select 1'
}
ctl() { as_user "$fi" ctl --run "$run" "$@" > /dev/null; }
failed=0

echo "== data_sync_retry=off (the default): an fsync of a data file fails =="
start panic
sql "create table t(i int); insert into t select generate_series(1, 1000)"
postmaster=$(head -1 "$dir/data/postmaster.pid")
ctl set 'sys:fsync|fdatasync[path=*/base/*,proc="postgres: checkpointer*"]=error(EIO)'
sql "insert into t select generate_series(1001, 2000)"
sql checkpoint > /dev/null 2>&1 || true
until_ok 30 "no PANIC" logged 'PANIC:  could not fsync file'
echo "  $(grep -o 'PANIC:  could not fsync file[^:]*: Input/output error' "$dir/server.log" | head -1)"
ctl clear
until_ok 60 "no recovery" sql 'select 1'
rows=$(sql "select count(*) from t")
echo "  $(grep -o 'checkpointer process (PID [0-9]*) was terminated by signal 6: Aborted' "$dir/server.log" | head -1)"
echo "  after recovery: $rows of 2000 committed rows"
[ "$rows" = 2000 ] || failed=1
if [ "$(head -1 "$dir/data/postmaster.pid")" = "$postmaster" ] && kill -0 "$postmaster"; then
  echo "  one postmaster throughout: it restarted the others and recovered"
else
  echo "UNEXPECTED: the postmaster changed"; failed=1
fi
kill -INT "$(cat "$dir/data/postmaster.pid" | head -1)"; wait "$run" || true

echo "== data_sync_retry=on: the fsync loses its writes, the retry \"succeeds\", the power fails =="
start fsyncgate -c data_sync_retry=on
sql "create table t(i int); insert into t select generate_series(1, 1000); checkpoint"
file=$(sql "select pg_relation_filepath('t')")
touch "$dir/trigger-cut"
ctl set "sys:fsync[path=*/$file,proc=\"postgres: checkpointer*\",when=1]=lose(EIO)"
ctl set "sys:@open[path=$dir/trigger-cut]=powercut"
sql "insert into t select generate_series(1001, 2000)"
first=$(sql checkpoint 2>&1 || true)
echo "  first checkpoint: $(grep -o 'checkpoint request failed' <<< "$first" || echo "$first")"
sql checkpoint && echo "  second checkpoint: succeeded, over the lost pages"
sql "select pg_read_file('$dir/trigger-cut')" > /dev/null 2>&1 || true
wait "$run" || true
"${switch[@]}" "$bin/postgres" -D "$dir/data" -k "$dir" -c listen_addresses= \
  -c dynamic_shared_memory_type=mmap > /dev/null 2>&1 &
plain=$!
runs+=("$plain")
until_ok 60 "the data directory did not start again" sql 'select 1'
lost=$((1000 - $(sql "select count(*) from t where i > 1000")))
echo "  after the power cut: $lost of the 1000 rows committed after the failed fsync are lost"
[ "$lost" -gt 0 ] || { echo "UNEXPECTED: nothing lost"; failed=1; }
kill -INT "$plain"; wait "$plain" || true

echo "== a full WAL disk =="
start full-wal
sql "create table t(i int); insert into t select generate_series(1, 1000); checkpoint"
ctl set 'sys:@write[path=*/pg_wal/*]=full(256K)'
sql "insert into t select generate_series(1001, 100000)" > /dev/null 2>&1 || true
until_ok 30 "no PANIC" logged 'PANIC:  could not write to log file'
echo "  $(grep -o 'PANIC:  could not write to log file.*No space left on device' "$dir/server.log" | head -1)"
# Recovery needs room in pg_wal too: with the disk still full it PANICs again, and the
# postmaster shuts down rather than run without its WAL.
wait "$run" || true
grep -q 'shutting down due to startup process failure' "$dir/server.log" &&
  echo "  the disk still full, recovery PANICs too and the server shuts down"
# Room again (no rule): the data directory starts, and recovers every committed row.
"${switch[@]}" "$bin/postgres" -D "$dir/data" -k "$dir" -c listen_addresses= \
  -c dynamic_shared_memory_type=mmap > /dev/null 2>&1 &
plain=$!
runs+=("$plain")
until_ok 60 "the data directory did not start again" sql 'select 1'
rows=$(sql "select count(*) from t")
echo "  with room again: $rows rows (the 1000 committed before; the insert that found the disk full never committed)"
[ "$rows" = 1000 ] || failed=1
kill -INT "$plain"; wait "$plain" || true
exit $failed
