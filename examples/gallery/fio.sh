#!/usr/bin/env bash
# The gallery: which of fio's I/O engines a fault reaches (docs/GALLERY.md). Needs Debian's
# fio (apt-get install fio); installs nothing.
#
# The same rule, an EIO on every write to the job's file, under each engine. `psync` writes
# with pwrite(): the rule fires and fio reports the error. `libaio`, `io_uring` and `mmap`
# write past every libc function (io_submit, a ring, stores to memory): the rule never fires,
# and the summary says why, naming the path the writes took.
#
# Then the same under the seccomp backend (--backend seccomp), which sees system calls, not
# libc: psync again fails; libaio's io_setup and io_uring's io_uring_setup fail with ENOSYS, so
# that a program able to fall back to plain calls would; fio's engines cannot, and exit with
# their own error, which the summary explains.
#
#   bash examples/gallery/fio.sh           (FAILINJECT=path/to/failinject to pick the binary)
source "$(dirname "$0")/lib.sh"
need fio command -v fio
cd "$work"
failed=0
# Each case: the backend, then the engine.
for run in preload:psync preload:libaio preload:io_uring preload:mmap \
  seccomp:psync seccomp:libaio seccomp:io_uring; do
  backend=${run%%:*} engine=${run#*:}
  # Laid out beforehand, so that every write of the job is its engine's.
  head -c 262144 /dev/zero > ff
  set +e
  "$fi" run --backend "$backend" -r 'sys:@write[path=*/ff]=error(EIO)' -- fio --name=job \
    --ioengine="$engine" --rw=write --bs=4k --size=256k --filename=ff --minimal > /dev/null 2> out
  status=$?
  set -e
  injected=$(awk '/=error\(EIO\)$/ { print $2; exit }' out)
  shown=$engine
  [ "$backend" = seccomp ] && shown="$engine under --backend seccomp"
  echo "== $shown: injected ${injected:-?}, fio's status $status"
  grep -E '^    why:|^fio: |failed with ENOSYS' out | head -2 | sed 's/^/  /'
  case "$run" in
    *:psync) [ "${injected:-0}" -gt 0 ] && [ "$status" -ne 0 ] || failed=1 ;;
    preload:libaio) grep -q 'Linux AIO (io_submit)' out || failed=1 ;;
    preload:io_uring) grep -q 'through io_uring' out || failed=1 ;;
    preload:mmap) grep -q 'shared and writable (mmap)' out || failed=1 ;;
    seccomp:libaio) grep -q 'io_setup failed with ENOSYS 1 time' out && [ "$status" -ne 0 ] || failed=1 ;;
    seccomp:io_uring)
      grep -q 'io_uring_setup failed with ENOSYS 1 time' out && [ "$status" -ne 0 ] || failed=1 ;;
  esac
done
[ "$failed" -eq 0 ] || echo "UNEXPECTED: an engine was reached otherwise than the gallery says"
exit $failed
