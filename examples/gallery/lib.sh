# What every gallery script starts with (sourced): strict mode, the failinject to run, made
# absolute since the scripts change directory (`FAILINJECT=target/release/failinject` works
# from the checkout), a check for each Debian package a script needs, and a temporary
# directory removed at exit ($work; `on_exit` adds more to do then).
set -euo pipefail
gallery=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
script=$(basename "$0")
fi=$(command -v "${FAILINJECT:-failinject}" || true)
if [ -z "$fi" ]; then
  echo "$script needs failinject on PATH, or FAILINJECT=path/to/failinject" >&2
  exit 2
fi
fi=$(realpath "$fi")
need() { # PACKAGE COMMAND...: exit 2, naming the package, unless COMMAND succeeds
  local package=$1
  shift
  if ! "$@" > /dev/null 2>&1; then
    echo "$script needs $package: apt-get install $package" >&2
    exit 2
  fi
}
work=$(mktemp -d)
on_exit() { :; }
trap 'on_exit; rm -rf "$work"' EXIT
