#!/bin/sh
# The README's start command: installs what is missing, builds build/ and
# starts memproxy in the foreground with conf/memproxy.ini (environment
# variables MEMPROXY_<SECTION>_<KEY> override it). Extra arguments go to memproxy.
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
[ -f build/build.ninja ] || meson setup build -Dtests=false
ninja -C build
exec build/proxy/memproxy -c conf/memproxy.ini "$@"
