#!/usr/bin/env bash
# Measures SO_REUSEPORT accepting against one accept thread handing sockets to
# workers (tests/bench/accept_strategy.c; results and conclusion in ACCEPT.md).
#
#   tests/bench/accept_strategy.sh [--duration SEC] [--reps N] [--workers N] [--out FILE]
#
# For each repetition, for each load shape (keep-alive; churn = every request
# sends "Connection: close", so each one opens a new connection), for each mode
# (reuseport, thread): start a fresh server on a free port, run wrk -t1 -c64 for
# --duration seconds (default 5), stop the server with SIGTERM and read its
# per-worker counters. Default: 2 reps x 2 shapes x 2 modes x 5 s, about 45 s.
#
# Build: the script compiles the program itself into a temporary directory with
#   cc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -o $tmp/accept_strategy \
#      accept_strategy.c $(pkg-config --cflags --libs libevent libevent_pthreads) -lpthread
# Needs: cc, pkg-config, libevent 2.1 (with libevent_pthreads), wrk, awk.
#
# Pinning: none. The server's threads (2 workers, plus the acceptor in thread
# mode) and wrk's one thread share the machine's cores under the scheduler, the
# same way in every run. wrk uses one thread: on 2 cores a second wrk thread only
# competes with the server (it measured slower, worst under churn).
#
# Columns: req/s, p50/p99 latency from wrk; conns and reqs = per-worker counts
# printed by the server at SIGTERM, with worker 0's share; srv CPU = user+system
# seconds of the whole server process during the run, acc = of its main thread
# (the acceptor in thread mode; idle in reuseport mode); us/req = server CPU
# microseconds per request; wrk CPU = user+system seconds of wrk (on loopback
# much of the kernel's connection set-up is charged to it); other CPU = the
# machine's non-idle CPU seconds during the run minus server and wrk: interrupts
# not charged to either, and anything else running (the noise indicator). Stdout carries only the Markdown table (also written
# to --out); progress goes to stderr. Exit 0 on a valid run, 1 on setup error,
# 2 when any wrk error (connect/read/write/status/timeout) occurred.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
duration=5
reps=2
workers=2
out=""
while [ $# -gt 0 ]; do
    case "$1" in
    --duration) duration=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    --workers) workers=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "usage: $0 [--duration SEC] [--reps N] [--workers N] [--out FILE]" >&2; exit 1 ;;
    esac
done

for tool in cc pkg-config wrk awk; do
    command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 1; }
done

tmp=$(mktemp -d)
srv_pid=""
# shellcheck disable=SC2317 # reached through the traps
cleanup() {
    if [ -n "$srv_pid" ]; then
        kill -TERM "$srv_pid" 2>/dev/null || true
        wait "$srv_pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck disable=SC2046
cc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -o "$tmp/accept_strategy" \
    "$here/accept_strategy.c" $(pkg-config --cflags --libs libevent libevent_pthreads) -lpthread

cat >"$tmp/report.lua" <<'EOF'
done = function(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        "BENCH requests=%d duration_us=%d p50_us=%d p99_us=%d errors=%d\n",
        summary.requests, summary.duration, latency:percentile(50),
        latency:percentile(99), e.connect + e.read + e.write + e.status + e.timeout))
end
EOF

# CPU ticks (utime + stime) of a process or thread: the fields after the ")".
ticks() {
    awk '{ sub(/.*\) /, ""); print $12 + $13 }' "$1" 2>/dev/null || echo 0
}

# Non-idle CPU ticks of the whole machine (all cores; idle and iowait excluded).
host_busy() {
    awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat
}

fmt_us() {
    awk -v u="$1" 'BEGIN { if (u >= 1000) printf "%.2f ms", u / 1000; else printf "%d us", u }'
}

hz=$(getconf CLK_TCK)
invalid=0
rows=""

run_one() { # rep shape mode
    local rep=$1 shape=$2 mode=$3 port="" hdr=()
    [ "$shape" = churn ] && hdr=(-H "Connection: close")
    "$tmp/accept_strategy" --mode "$mode" --workers "$workers" --port 0 \
        >"$tmp/srv.out" 2>"$tmp/srv.err" &
    srv_pid=$!
    for _ in $(seq 50); do
        port=$(awk '/^PORT/ { print $2 }' "$tmp/srv.out")
        [ -n "$port" ] && break
        sleep 0.1
    done
    if [ -z "$port" ]; then
        echo "server did not start: $(cat "$tmp/srv.err")" >&2
        exit 1
    fi
    local p0 a0 p1 a1 h0 h1
    h0=$(host_busy)
    p0=$(ticks "/proc/$srv_pid/stat")
    a0=$(ticks "/proc/$srv_pid/task/$srv_pid/stat")
    local TIMEFORMAT='%U %S'
    { time wrk -t1 -c64 -d"${duration}s" -s "$tmp/report.lua" "${hdr[@]}" \
        "http://127.0.0.1:$port/" >"$tmp/wrk.out" 2>&1 || true; } 2>"$tmp/wrk.time"
    p1=$(ticks "/proc/$srv_pid/stat")
    a1=$(ticks "/proc/$srv_pid/task/$srv_pid/stat")
    h1=$(host_busy)
    kill -TERM "$srv_pid"
    wait "$srv_pid" || true
    srv_pid=""

    local bench
    bench=$(grep '^BENCH' "$tmp/wrk.out" || true)
    if [ -z "$bench" ]; then
        echo "wrk failed: $(cat "$tmp/wrk.out")" >&2
        exit 1
    fi
    val() { echo "$bench" | tr ' ' '\n' | awk -F= -v k="$1" '$1 == k { print $2 }'; }
    local reqs dur p50 p99 errs rps split cpu acc usreq wcpu other
    wcpu=$(awk '{ printf "%.2f", $1 + $2 }' "$tmp/wrk.time")
    reqs=$(val requests)
    dur=$(val duration_us)
    p50=$(val p50_us)
    p99=$(val p99_us)
    errs=$(val errors)
    [ "$errs" -ne 0 ] && invalid=1
    rps=$(awk -v r="$reqs" -v d="$dur" 'BEGIN { printf "%.0f", r / (d / 1e6) }')
    # "c0 / c1 (w0 share%)" for conns and for reqs
    split=$(awk 'BEGIN { n = 0 } /^WORKER/ {
            sub("conns=", "", $3); sub("reqs=", "", $4)
            c[n] = $3; r[n] = $4; tc += $3; tr += $4; n++ }
        END {
            cs = c[0]; rs = r[0]
            for (i = 1; i < n; i++) { cs = cs " / " c[i]; rs = rs " / " r[i] }
            printf "%s (%.0f%%) | %s (%.0f%%)", cs, tc ? 100 * c[0] / tc : 0,
                rs, tr ? 100 * r[0] / tr : 0 }' "$tmp/srv.out")
    cpu=$(awk -v t=$((p1 - p0)) -v h="$hz" 'BEGIN { printf "%.2f", t / h }')
    acc=$(awk -v t=$((a1 - a0)) -v h="$hz" 'BEGIN { printf "%.2f", t / h }')
    other=$(awk -v t=$((h1 - h0 - p1 + p0)) -v h="$hz" -v w="$wcpu" \
        'BEGIN { printf "%.2f", t / h - w }')
    usreq=$(awk -v t=$((p1 - p0)) -v h="$hz" -v r="$reqs" \
        'BEGIN { printf "%.1f", r ? t / h * 1e6 / r : 0 }')
    rows+="| $rep | $shape | $mode | $rps | $(fmt_us "$p50") | $(fmt_us "$p99") | $split"
    rows+=" | $cpu ($acc) | $usreq | $wcpu | $other | $errs |"$'\n'
    echo "rep $rep $shape $mode: $rps req/s, p50 $(fmt_us "$p50"), p99 $(fmt_us "$p99")" >&2
}

for rep in $(seq "$reps"); do
    for shape in keepalive churn; do
        for mode in reuseport thread; do
            run_one "$rep" "$shape" "$mode"
        done
    done
done

report=$(
    echo "wrk -t1 -c64 -d${duration}s, workers=$workers, $(nproc) CPUs, no pinning, $(uname -r)"
    echo
    echo "| rep | shape | mode | req/s | p50 | p99 | conns w0 / w1 (w0 share) | reqs w0 / w1 (w0 share) | srv CPU s (acc) | srv us/req | wrk CPU s | other CPU s | wrk errors |"
    echo "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    printf '%s' "$rows"
    [ "$invalid" -ne 0 ] && echo && echo "INVALID: wrk reported errors"
    true
)
echo "$report"
[ -n "$out" ] && echo "$report" >"$out"
[ "$invalid" -ne 0 ] && exit 2
exit 0
