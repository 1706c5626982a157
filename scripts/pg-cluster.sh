#!/bin/sh
# A throwaway PostgreSQL cluster for the tests: initdb in a temporary
# directory, one server on a loopback port, trust authentication for the
# local user only, torn down with "stop".
#
#   scripts/pg-cluster.sh start DIR [PORT]   prints the connection URI on stdout
#   scripts/pg-cluster.sh stop DIR
#   scripts/pg-cluster.sh down DIR    stop the server, keep the cluster (an outage)
#   scripts/pg-cluster.sh up DIR      start it again on its port
#
# Run as root, the cluster belongs to the unprivileged user "postgres" (the
# Debian package makes it); as anyone else, to that user. Needs Debian's
# postgresql (scripts/install-deps.sh --test installs it).
set -eu
cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop|down|up DIR [PORT]" >&2; exit 1; }
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bin/initdb" ] || { echo "$0: PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }
as_owner() {
    if [ "$(id -u)" = 0 ]; then
        su postgres -s /bin/sh -c "$*"
    else
        sh -c "$*"
    fi
}
# MP_PG_DURABLE=1: flushes on (PostgreSQL's defaults), for a benchmark of
# durable commits; the tests run without them.
durable="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
[ "${MP_PG_DURABLE:-}" = 1 ] && durable=""
server_start() {
    as_owner "'$bin/pg_ctl' -D '$dir/data' -l '$dir/server.log' -w -t 30 \
        -o \"-c listen_addresses=127.0.0.1 -c port=$1 -c unix_socket_directories='$dir' \
            $durable -c max_connections=300\" \
        start >/dev/null" || { cat "$dir/server.log" >&2; exit 1; }
}
case $cmd in
start)
    port=${3:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    as_owner "'$bin/initdb' -D '$dir/data' -A trust -U memproxy --no-sync -E UTF8 >'$dir/initdb.log' 2>&1" ||
        { cat "$dir/initdb.log" >&2; exit 1; }
    server_start "$port"
    as_owner "'$bin/createdb' -h 127.0.0.1 -p $port -U memproxy memproxy"
    echo "$port" >"$dir/port"
    echo "postgresql://memproxy@127.0.0.1:$port/memproxy"
    ;;
down)
    as_owner "'$bin/pg_ctl' -D '$dir/data' -m fast -w stop >/dev/null"
    ;;
up)
    server_start "$(cat "$dir/port")"
    ;;
stop)
    [ -d "$dir/data" ] && as_owner "'$bin/pg_ctl' -D '$dir/data' -m immediate -w stop >/dev/null 2>&1" || true
    rm -rf "$dir"
    ;;
*)
    echo "usage: $0 start|stop|down|up DIR [PORT]" >&2
    exit 1
    ;;
esac
