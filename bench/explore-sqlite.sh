#!/usr/bin/env bash
# Issue 7's speed target: explore a sqlite3 insert (every write and sync site, EIO and
# ENOSPC) with -j 2 and report the wall time. Usage: bash bench/explore-sqlite.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p failinject-cli
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
start=$(date +%s.%N)
set +e
"$OLDPWD/target/release/failinject" explore \
  --scope 'sys:@write|@sync' --errno EIO,ENOSPC -j 2 \
  --setup "sqlite3 t.db 'create table t(id integer primary key, v text); insert into t(v) values (\"seed\")'" \
  --oracle "sqlite3 t.db 'pragma integrity_check' | grep -qx ok" \
  --report "$work/report" \
  -- sqlite3 t.db "begin; insert into t(v) select hex(randomblob(100)) from (with recursive c(x) as (select 1 union all select x+1 from c where x < 500) select x from c); commit; insert into t(v) values ('one more');"
status=$?
set -e
end=$(date +%s.%N)
runs=$(python3 -c "import json; print(json.load(open('$work/report/report.json'))['runs'])")
echo "explore sqlite3 insert: $runs runs, exit $status, $(python3 -c "print(f'{$end - $start:.2f}')") s wall with -j 2"
