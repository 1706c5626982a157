#!/bin/sh
# Runs a storage suite with a throwaway PostgreSQL cluster of its own
# (scripts/pg-cluster.sh), so that its PG cases have an empty database and
# suites running in parallel never share one. Usage: with_pg.sh PROGRAM [ARGS]
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
dir=$(mktemp -d /tmp/memproxy-pg-XXXXXX)
trap '"$root/scripts/pg-cluster.sh" stop "$dir"' EXIT INT TERM
MEMPROXY_TEST_POSTGRES_URL=$("$root/scripts/pg-cluster.sh" start "$dir")
export MEMPROXY_TEST_POSTGRES_URL
"$@"
