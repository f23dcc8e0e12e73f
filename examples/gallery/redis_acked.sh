#!/usr/bin/env bash
# Redis with its append-only file, for the gallery (examples/gallery/redis.sh), in the current
# directory, on a Unix socket there (no TCP).
#
#   redis_acked.sh write N [POLICY [PAUSE [SIZE]]]
#                                     start a server (appendfsync POLICY, default always), send
#                                     SET k:I v:I for I = 1..N (PAUSE seconds apart; the value
#                                     padded to SIZE bytes), and after
#                                     each reply OK append I to `acked` through dd's O_DSYNC
#                                     (durable when written); stop the server with SHUTDOWN.
#                                     Stops at the first write not acknowledged, saying why.
#   redis_acked.sh check              start a server on what the directory holds; every
#                                     acknowledged key must be there (else prints the lost
#                                     ones, exit 1). When Redis will not start, says what
#                                     redis-check-aof makes of the append-only file.
set -u
sock=$PWD/redis.sock
start() { # POLICY
  rm -f "$sock"
  redis-server --port 0 --unixsocket "$sock" --dir "$PWD" --appendonly yes \
    --appendfsync "$1" --save '' --daemonize no --logfile "$PWD/redis.log" &
  server=$!
  for _ in $(seq 200); do
    redis-cli -s "$sock" ping > /dev/null 2>&1 && return 0
    kill -0 "$server" 2> /dev/null || return 1
    sleep 0.02
  done
  return 1
}
case "$1" in
  write)
    start "${3:-always}" || { echo "the server did not start"; exit 1; }
    for i in $(seq "$2"); do
      value=$(printf "%-${5:-0}s" "v:$i")
      reply=$(redis-cli -s "$sock" set "k:$i" "$value" 2>&1) || break
      [ "$reply" = OK ] || { echo "write $i refused: $reply"; break; }
      printf '%s\n' "$i" | dd of=acked oflag=append,dsync conv=notrunc status=none
      sleep "${4:-0}"
    done
    redis-cli -s "$sock" shutdown > /dev/null 2>&1
    wait "$server"
    exit 0
    ;;
  check)
    if ! start always; then
      echo "Redis does not start on this state: $(grep '#' redis.log | tail -1 | cut -c1-160)"
      echo "redis-check-aof: $(redis-check-aof appendonlydir/*.manifest 2>&1 | grep -iE 'not valid|valid|error' | tail -1)"
      exit 1
    fi
    lost=""
    for i in $(cat acked 2> /dev/null); do
      case "$(redis-cli -s "$sock" get "k:$i")" in "v:$i"*) ;; *) lost="$lost $i" ;; esac
    done
    redis-cli -s "$sock" shutdown nosave > /dev/null 2>&1
    wait "$server"
    if [ -n "$lost" ]; then echo "acknowledged writes lost:$lost"; exit 1; fi
    exit 0
    ;;
esac
