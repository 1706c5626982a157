#!/usr/bin/env bash
# memproxy memory benchmark: hybrid mode with a memory hit (a user with 50
# facts, a summary and a full buffer) in a store of 1 thousand and of 1 million
# users, next to the same request with memory off; and recording under load
# (X-Memory: auto against read at 64 connections). See tests/bench/README.md.
#
# Usage: tests/bench/memory.sh [--short|--long] [--build DIR] [--out FILE]
#                              [--duration SEC] [--rounds N] [--users-big N]
#                              [--active-users N] [--sync full|meta|none]
#                              [--perf] [--no-pin] [--strict] [--keep-tmp]
#                              [--encrypt]
# --short: 1k vs 100k users, 1 round of 2 s runs (CI smoke, not the 1M goal);
# --long: 1k vs 1M users, medians of 5 rounds of 3 s runs.
# --encrypt: the stores are encrypted at rest ([storage] encryption_key_file;
#   populated in clear, then memproxy --rotate-key), to price AES-256-GCM.
# Exit: 0 valid run, 1 setup error, 2 invalid run (a target failed, wrk saw
#       errors), 3 valid run but a goal missed (only with --strict).

set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
prog=membench
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"

mode=short
build_dir=$root/build
out_file=$root/.bench/memory.md
duration=""
rounds_opt=""
users_big_opt=""
users_small=1000
active_users=1000
store_sync=full
pin=1
strict=0
keep_tmp=0
encrypt=0
do_perf=0

usage() {
    sed -n '7,15p' "$0" | sed 's/^# \{0,1\}//'
}


while [ $# -gt 0 ]; do
    case $1 in
    --short) mode=short ;;
    --long) mode=long ;;
    --build) need_arg "$1" $# && build_dir=$2 && shift ;;
    --build=*) build_dir=${1#--build=} ;;
    --out) need_arg "$1" $# && out_file=$2 && shift ;;
    --out=*) out_file=${1#--out=} ;;
    --duration) need_arg "$1" $# && duration=$2 && shift ;;
    --duration=*) duration=${1#--duration=} ;;
    --rounds) need_arg "$1" $# && rounds_opt=$2 && shift ;;
    --rounds=*) rounds_opt=${1#--rounds=} ;;
    --users-big) need_arg "$1" $# && users_big_opt=$2 && shift ;;
    --users-big=*) users_big_opt=${1#--users-big=} ;;
    --active-users) need_arg "$1" $# && active_users=$2 && shift ;;
    --active-users=*) active_users=${1#--active-users=} ;;
    --sync) need_arg "$1" $# && store_sync=$2 && shift ;;
    --sync=*) store_sync=${1#--sync=} ;;
    --perf) do_perf=1 ;;
    --no-pin) pin=0 ;;
    --strict) strict=1 ;;
    --keep-tmp) keep_tmp=1 ;;
    --encrypt) encrypt=1 ;;
    -h | --help)
        usage
        exit 0
        ;;
    *) die "unknown argument '$1' (try --help)" ;;
    esac
    shift
done


# Seconds per timed wrk run, rounds (the table shows medians), warm-up
# seconds, users in the big store.
if [ "$mode" = long ]; then
    run_secs=3
    rounds=5
    warm_secs=3
    users_big=1000000
else
    run_secs=2
    rounds=1
    warm_secs=1
    users_big=100000
fi
if [ -n "$duration" ]; then
    positive_int "$duration" || die "--duration must be a positive whole number of seconds"
    run_secs=$duration
fi
if [ -n "$rounds_opt" ]; then
    positive_int "$rounds_opt" || die "--rounds must be a positive whole number"
    rounds=$rounds_opt
fi
if [ -n "$users_big_opt" ]; then
    positive_int "$users_big_opt" || die "--users-big must be a positive whole number"
    users_big=$users_big_opt
fi
positive_int "$active_users" || die "--active-users must be a positive whole number"
[ "$active_users" -le "$users_big" ] || die "--active-users ($active_users) must not exceed --users-big ($users_big)"
case $store_sync in
full | meta | none) ;;
*) die "--sync must be full, meta or none" ;;
esac

body_size=1024
url_path=/v1/chat/completions
hit_user="bench-hit"
user_prefix="bench-u"
drain_max=180  # seconds to wait for the memory queue to empty after an auto run
drain_stall=10 # ... or for it to stop shrinking

# --- binaries -----------------------------------------------------------------

case $build_dir in /*) ;; *) build_dir=$(pwd)/$build_dir ;; esac
case $out_file in /*) ;; *) out_file=$(pwd)/$out_file ;; esac

fake_bin=$build_dir/tests/fake_upstream/fake_upstream
memproxy_bin=$build_dir/proxy/memproxy
populate_bin=$build_dir/tests/bench/populate
wrk_bin=${WRK:-$(command -v wrk || true)}

[ -d "$build_dir" ] || die "build directory $build_dir does not exist; build first (meson setup build && ninja -C build) or pass --build DIR"
[ -x "$fake_bin" ] || die "fake upstream not found at $fake_bin; build it (ninja -C $build_dir; the tests option must be on: meson configure $build_dir -Dtests=true)"
[ -x "$memproxy_bin" ] || die "memproxy not found at $memproxy_bin; build it first (ninja -C $build_dir)"
[ -x "$populate_bin" ] || die "populate not found at $populate_bin; build it (ninja -C $build_dir tests/bench/populate; the tests option must be on)"
{ [ -n "$wrk_bin" ] && [ -x "$wrk_bin" ]; } ||
    die "wrk not found; install it (apt-get install wrk, or scripts/install-deps.sh --test)"
command -v curl >/dev/null || die "curl not found; install it (apt-get install curl)"
[ -r "$here/memory.lua" ] || die "missing $here/memory.lua"

# --- temporary directory, disk space and clean-up -------------------------------

tmp=$(mktemp -d "${TMPDIR:-/tmp}/memproxy-membench.XXXXXX") || die "cannot create a temporary directory"

# About 1.5 KB per user on disk (measured: 1M users -> 1.43 GB), the big
# store twice (c and d); want twice that free.
need_kb=$(((2 * users_big + users_small) * 3 / 2 * 2 + 65536))
avail_kb=$(df -Pk "$tmp" 2>/dev/null | awk 'NR == 2 { print $4 }')
if [ -n "$avail_kb" ] && [ "$avail_kb" -lt "$need_kb" ]; then
    rm -rf "$tmp"
    die "not enough disk space in $(dirname "$tmp"): $((avail_kb / 1024)) MB free, the stores need about $((need_kb / 1024)) MB (set TMPDIR elsewhere or lower --users-big)"
fi

started_pids="" # every process this script started, stopped on exit
fake_pid=""
declare -A pid_of # instance -> memproxy pid

# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
    trap - EXIT INT TERM
    stop_started
    remove_tmp
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- CPU pinning (as run.sh; see README.md) ---------------------------------------
# latency (1 connection): wrk, the fake upstream and every memproxy on one CPU.
# throughput (64 connections): the memproxy under test (all its threads, the
# memory worker included) alone on the second CPU; wrk, the fake upstream
# (which also answers the memory jobs) and the idle memproxies on the first.

detect_cpus

pinning=0
pin_wrk=""
pin_fake=""
cpu_wrk=""
cpu_fake=""
cpu_proxy=""
if [ "$pin" = 1 ] && command -v taskset >/dev/null && [ "$ncpu" -ge 2 ] &&
    taskset -c "${cpu_list[0]}" true 2>/dev/null; then
    pinning=1
    cpu_wrk=${cpu_list[0]}
    if [ "$ncpu" -ge 3 ]; then
        cpu_fake=${cpu_list[1]}
        cpu_proxy=${cpu_list[2]}
    else
        cpu_fake=${cpu_list[0]}
        cpu_proxy=${cpu_list[1]}
    fi
    pin_desc="1 connection: wrk, fake upstream and memproxy on CPU $cpu_wrk; 64 connections: wrk on CPU $cpu_wrk, fake upstream on CPU $cpu_fake, the memproxy under test (all threads, memory worker included) alone on CPU $cpu_proxy"
    pin_wrk="taskset -c $cpu_wrk"
    pin_fake="taskset -c $cpu_fake"
elif [ "$pin" = 1 ]; then
    pin_desc="none (needs taskset and 2 CPUs)"
else
    pin_desc="none (--no-pin)"
fi

# set_layout latency|throughput
set_layout() {
    [ "$pinning" = 1 ] || return 0
    if [ "$1" = latency ]; then
        move_to -l "$cpu_wrk" "$fake_pid" "${pid_of[off]}" "${pid_of[small]}" "${pid_of[big]}" "${pid_of[load]}"
    else
        move_to -l "$cpu_fake" "$fake_pid" "${pid_of[off]}" "${pid_of[small]}" "${pid_of[big]}"
        move_to -l "$cpu_proxy" "${pid_of[load]}"
    fi
}

# --- helpers --------------------------------------------------------------------------

# CPU time in nanoseconds (all threads) of one process: the sum of each
# thread's run time from /proc/PID/task/*/schedstat, or clock ticks from
# /proc/PID/stat when schedstat is missing. Threads that exited are lost, so
# memproxy's threads (all long-lived) are counted exactly.
clk_tck=$(getconf CLK_TCK 2>/dev/null || echo 100)
cpu_ns() {
    local p=$1 s f
    if [ -r "/proc/$p/schedstat" ]; then
        cat /proc/"$p"/task/*/schedstat 2>/dev/null | awk '{ t += $1 } END { printf "%.0f", t }'
        return
    fi
    s=$(cat "/proc/$p/stat" 2>/dev/null) || {
        echo 0
        return
    }
    s=${s##*) }
    read -r -a f <<<"$s"
    echo $(((f[11] + f[12]) * 1000000000 / clk_tck))
}

# CPU time processes used on the whole machine (all CPUs, ns): user, nice
# and system from /proc/stat. Interrupt time is left out: without
# IRQ_TIME_ACCOUNTING it is also in the interrupted task's run time, and on
# loopback most of it is this benchmark's own traffic.
machine_busy_ns() {
    awk -v hz="$clk_tck" '/^cpu / { printf "%.0f", ($2 + $3 + $4) * 1e9 / hz }' /proc/stat
}

# CPU time (ns) of this script's finished children (wrk, curl, ...), from
# the shell's "times". It must run in this shell, not in a $(...) subshell
# (which has no children of its own yet): the result goes to the variable
# named by $1.
children_ns() {
    times >"$tmp/times.txt"
    printf -v "$1" '%s' "$(tail -n 1 "$tmp/times.txt" | awk '{
        t = 0
        for (i = 1; i <= 2; i++) { split($i, p, "m"); sub("s", "", p[2]); t += p[1] * 60 + p[2] }
        printf "%.0f", t * 1e9 }')"
}

# CPU time (ns) of the long-running processes this script started.
ours_ns() {
    local t=0 p
    for p in $fake_pid "${pid_of[@]}"; do
        t=$((t + $(cpu_ns "$p")))
    done
    echo $t
}

declare -A url     # instance -> base URL
declare -A admin   # instance -> admin base URL
declare -A failed  # row or instance -> reason
declare -A res     # row,field -> value
invalid_reasons=()
warnings=()

# run_wrk ROW CONNS SECS TAG ARGS...: one wrk run against the row's instance;
# sets "bench" from the BENCH line; returns 1 without one.
run_wrk() {
    local row=$1 conns=$2 secs=$3 tag=$4
    shift 4
    wrk_run "$tmp/wrk-$row-$conns-$tag.txt" "$conns" "$secs" \
        "${url[${inst_of[$row]}]}$url_path" "$here/memory.lua" "$@"
}

# metric INSTANCE NAME: one value from the instance's /metrics (NAME with
# its labels, exactly as printed); 0 when absent.
metrics_snapshot() {
    curl -s --max-time 5 "${admin[$1]}/metrics" >"$tmp/metrics-$1.txt" 2>/dev/null
}
metric() {
    awk -v n="$2" 'index($0, n " ") == 1 { v = $2 } END { print (v == "" ? 0 : v) }' "$tmp/metrics-$1.txt"
}
job_metric() {
    metric "$1" "memproxy_memory_jobs_total{kind=\"$2\",result=\"$3\"}"
}

# check_instance INSTANCE USER EXPECT_MEMORY: one POST of the hit body with
# curl; must be 200 with a chat.completion; with EXPECT_MEMORY=1 also
# X-Memory-Mode: hybrid, injected tokens > 0 and no X-Memory-Error. Prints
# the injected tokens.
check_instance() {
    local inst=$1 user=$2 expect=$3 code hdrs tokens mmode merr
    code=$(curl -sS -o "$tmp/check.out" -D "$tmp/check.hdr" -w '%{http_code}' --max-time 10 \
        -H 'Content-Type: application/json' -H 'Authorization: Bearer sk-bench' \
        -H "X-User-Id: $user" -H 'X-Memory: read' \
        --data-binary @"$tmp/body.json" "${url[$inst]}$url_path" 2>"$tmp/check.err")
    hdrs=$(tr -d '\r' <"$tmp/check.hdr")
    if [ "$code" = 000 ] || [ -z "$code" ]; then
        echo "no HTTP answer to POST $url_path ($(head -c 300 "$tmp/check.err" | tr '\n' ' '))"
        return 1
    fi
    if [ "$code" != 200 ] || ! grep -q '"object":"chat.completion"' "$tmp/check.out"; then
        echo "POST $url_path answered HTTP $code: $(head -c 300 "$tmp/check.out" | tr '\n' ' ')"
        return 1
    fi
    tokens=$(printf '%s\n' "$hdrs" | sed -n 's/^[Xx]-[Mm]emory-[Ii]njected-[Tt]okens: *//p' | head -n 1)
    mmode=$(printf '%s\n' "$hdrs" | sed -n 's/^[Xx]-[Mm]emory-[Mm]ode: *//p' | head -n 1)
    merr=$(printf '%s\n' "$hdrs" | sed -n 's/^[Xx]-[Mm]emory-[Ee]rror: *//p' | head -n 1)
    if [ "$expect" = 1 ]; then
        if [ "$mmode" != hybrid ] || [ -n "$merr" ] || [ -z "$tokens" ] || [ "$tokens" = 0 ]; then
            echo "no memory injected for $user (X-Memory-Mode: ${mmode:-none}, X-Memory-Injected-Tokens: ${tokens:-none}${merr:+, X-Memory-Error: $merr})"
            return 1
        fi
    fi
    echo "${tokens:-0}"
    return 0
}

# 1000 -> 1k, 100000 -> 100k, 1000000 -> 1M
fmt_users() {
    awk -v n="$1" 'BEGIN {
        if (n >= 1000000 && n % 1000000 == 0) printf "%dM", n / 1000000
        else if (n >= 1000 && n % 1000 == 0) printf "%dk", n / 1000
        else printf "%d", n }'
}

fmt_bytes() {
    awk -v b="$1" 'BEGIN {
        if (b >= 1073741824) printf "%.2f GB", b / 1073741824
        else if (b >= 1048576) printf "%.1f MB", b / 1048576
        else printf "%.0f KB", b / 1024 }'
}

# --- how busy is the machine already? ---------------------------------------------

measure_busy_before

small_label=$(fmt_users "$users_small")
big_label=$(fmt_users "$users_big")
say "mode $mode: $rounds round(s) of ${run_secs}s runs, ${warm_secs}s warm-up; stores of $small_label and $big_label users; pinning: $pin_desc"

# --- populate the stores -------------------------------------------------------------

declare -A pop # store,field -> value
populate() {
    local name=$1 n=$2 line kv
    say "populating the $name store: $(fmt_users "$n") users + $hit_user"
    if ! "$populate_bin" --path "$tmp/store-$name" --users "$n" --sync none \
        >"$tmp/populate-$name.out" 2>"$tmp/populate-$name.err"; then
        say "populate failed; its stderr:"
        log_tail "$tmp/populate-$name.err" >&2
        exit 1
    fi
    line=$(grep '^POPULATE ' "$tmp/populate-$name.out" | tail -n 1)
    [ -n "$line" ] || die "populate printed no POPULATE line"
    for kv in ${line#POPULATE }; do
        pop[$name,${kv%%=*}]=${kv#*=}
    done
    if [ "$encrypt" = 1 ]; then
        printf '[storage]\npath = %s\n' "$tmp/store-$name" >"$tmp/rotate-$name.ini"
        "$memproxy_bin" -c "$tmp/rotate-$name.ini" --rotate-key "$key_file" \
            >"$tmp/rotate-$name.out" 2>&1 || die "encrypting the $name store failed: $(tail -n 3 "$tmp/rotate-$name.out")"
    fi
    pop[$name,du]=$(du -sb "$tmp/store-$name" 2>/dev/null | awk '{ print $1 }')
    say "$name store: ${pop[$name,seconds]} s, $(fmt_bytes "${pop[$name,du]}") on disk"
}
key_file=$tmp/store.key
if [ "$encrypt" = 1 ]; then
    (umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$key_file")
fi
populate small "$users_small"
populate big "$users_big"
# The 64-connection rows get their own instance and store: a burst of 64
# connections and the memory work of auto leave an instance measurably
# slower at 1 connection afterwards (more upstream connections cached, a
# busier heap), which would be charged to row (c).
populate load "$users_big"
mkdir -p "$tmp/store-off"

# --- start the fake upstream and four memproxies ------------------------------------------

start_fake_upstream

# Eight free ports: 4 memproxies, data plane and admin each.
read -r p_off a_off p_small a_small p_big a_big p_load a_load <<<"$(free_ports 8 python-only)"
[ -n "$a_load" ] || die "could not find free ports (python3 is needed)"

# start_memproxy INSTANCE MODE PORT ADMIN_PORT STORE
start_memproxy() {
    local inst=$1 mmode=$2 port=$3 aport=$4 store=$5 pid why st
    cat >"$tmp/memproxy-$inst.ini" <<EOF
; generated by tests/bench/memory.sh
[server]
listen = 127.0.0.1:$port
admin_listen = 127.0.0.1:$aport
workers = 1
drain_timeout_ms = 2000

[upstream]
base_url = http://127.0.0.1:$fake_port/v1
; memory jobs authorize with this key: without it a job borrows the
; Authorization of its user's last request from a small in-process cache,
; and a job whose user lost its slot waits for that user's next request
api_key = sk-bench-jobs

[memory]
mode = $mmode

[storage]
path = $store
sync = $store_sync
$([ "$encrypt" = 1 ] && echo "encryption_key_file = $key_file")

[log]
level = warn
EOF
    # shellcheck disable=SC2086
    $pin_fake "$memproxy_bin" -c "$tmp/memproxy-$inst.ini" >"$tmp/memproxy-$inst.stdout" 2>"$tmp/memproxy-$inst.log" &
    pid=$!
    started_pids="$started_pids $pid"
    pid_of[$inst]=$pid
    url[$inst]=http://127.0.0.1:$port
    admin[$inst]=http://127.0.0.1:$aport
    if ! wait_http "$pid" "${url[$inst]}/" 60; then
        if kill -0 "$pid" 2>/dev/null; then
            why="memproxy is running but does not answer HTTP on 127.0.0.1:$port after 60 s"
        else
            wait "$pid" 2>/dev/null
            st=$?
            why="memproxy exited during start-up with status $st"
        fi
        failed[$inst]="$why (last log line: $(grep -v '^[[:space:]]*$' "$tmp/memproxy-$inst.log" | tail -n 1 | cut -c 1-200))"
        say "$inst: FAILED: $why; last lines of its log:"
        log_tail "$tmp/memproxy-$inst.log" >&2
    fi
}

say "starting memproxy: memory off, hybrid on the $small_label store, hybrid on the $big_label store, hybrid on a second $big_label store (64-connection rows)"
start_memproxy off off "$p_off" "$a_off" "$tmp/store-off"
start_memproxy small hybrid "$p_small" "$a_small" "$tmp/store-small"
start_memproxy big hybrid "$p_big" "$a_big" "$tmp/store-big"
start_memproxy load hybrid "$p_load" "$a_load" "$tmp/store-load"

# Each memproxy runs a retention pass over its whole store at start (a
# one-off cost of a few seconds for 100k+ users): measure after it.
wait_first_sweep() {
    local inst=$1 i
    for i in $(seq 1 600); do
        if curl -s --max-time 2 "${admin[$inst]}/metrics" 2>/dev/null |
            grep -Eq '^memproxy_retention_sweeps_total\{result="(ok|error)"\} [1-9]'; then
            return 0
        fi
        sleep 0.2
    done
    say "$inst: the start-up retention pass did not finish in 120 s; measuring anyway"
}
for inst in off small big load; do
    [ -z "${failed[$inst]:-}" ] && wait_first_sweep "$inst"
done

# Rows: a, b, c (memory hit at 1 connection), dr and da (recording load at
# 64 connections, X-Memory read and auto).
rows="a b c dr da"
declare -A inst_of=([a]=off [b]=small [c]=big [dr]=load [da]=load)
declare -A conns_of=([a]=1 [b]=1 [c]=1 [dr]=64 [da]=64)
row_label() {
    case $1 in
    a) echo "(a) memory off (mode off)" ;;
    b) echo "(b) memory hit, $small_label users" ;;
    c) echo "(c) memory hit, $big_label users" ;;
    dr) echo "(d) recording load, X-Memory: read" ;;
    da) echo "(d) recording load, X-Memory: auto" ;;
    esac
}

body_json "$body_size" >"$tmp/body.json"
declare -A tokens
for inst in off small big load; do
    [ -z "${failed[$inst]:-}" ] || continue
    expect=1
    [ "$inst" = off ] && expect=0
    if ! out=$(check_instance "$inst" "$hit_user" "$expect"); then
        failed[$inst]=$out
        say "$inst: check FAILED: $out"
        continue
    fi
    tokens[$inst]=$out
done
if [ -z "${failed[load]:-}" ]; then
    if out=$(check_instance load "${user_prefix}0" 1); then
        tokens[active]=$out
    else
        failed[load]="check of ${user_prefix}0: $out"
    fi
fi
for row in $rows; do
    [ -z "${failed[${inst_of[$row]}]:-}" ] || failed[$row]=${failed[${inst_of[$row]}]}
done

# --- measure -------------------------------------------------------------------------------

row_ok() { [ -z "${failed[$1]:-}" ]; }

# wrk arguments of a row (after --); TAG makes the users variant's bodies unique.
wrk_args() {
    case $1 in
    a | b | c) echo "hit $body_size $hit_user read" ;;
    dr) echo "users $body_size $user_prefix $active_users read $2" ;;
    da) echo "users $body_size $user_prefix $active_users auto $2" ;;
    esac
}

# measure ROW ROUND: one timed run; accumulates latencies, req/s and CPU.
measure() {
    local row=$1 r=$2 inst=${inst_of[$1]} c0 c1 w0 w1 args m0 m1 o0 o1 k0 k1
    args=$(wrk_args "$row" "r$r$row$$")
    m0=$(machine_busy_ns)
    o0=$(ours_ns)
    children_ns k0
    c0=$(cpu_ns "${pid_of[$inst]}")
    w0=$(date +%s%N)
    # shellcheck disable=SC2086
    if ! run_wrk "$row" "${conns_of[$row]}" "$run_secs" "r$r" $args; then
        failed[$row]="wrk produced no result: $(tail -n 3 "$tmp/wrk-$row-${conns_of[$row]}-r$r.txt" | tr '\n' ' ')"
        say "$row: FAILED: ${failed[$row]}"
        return 1
    fi
    w1=$(date +%s%N)
    c1=$(cpu_ns "${pid_of[$inst]}")
    m1=$(machine_busy_ns)
    o1=$(ours_ns)
    children_ns k1
    res[$row,other_ns]=$((${res[$row,other_ns]:-0} + (m1 - m0) - (o1 - o0) - (k1 - k0)))
    res[$row,p50s]="${res[$row,p50s]:-} ${bench[p50_us]}"
    res[$row,p99s]="${res[$row,p99s]:-} ${bench[p99_us]}"
    res[$row,rpss]="${res[$row,rpss]:-} ${bench[rps]}"
    res[$row,cpu_ns]=$((${res[$row,cpu_ns]:-0} + c1 - c0))
    res[$row,wall_ns]=$((${res[$row,wall_ns]:-0} + w1 - w0))
    res[$row,requests]=$((${res[$row,requests]:-0} + bench[requests]))
    add_errors "$row"
    return 0
}

# drain INSTANCE: wait until the memory queue is empty, at most drain_max
# seconds, or until it stops shrinking for drain_stall seconds (jobs that
# wait for something else); sets drain_secs.
drain() {
    local inst=$1 t0 depth last="" still=0 _
    t0=$(date +%s%N)
    for _ in $(seq $((drain_max * 4))); do
        metrics_snapshot "$inst"
        depth=$(metric "$inst" memproxy_memory_queue_depth)
        [ "$depth" = 0 ] && break
        if [ "$depth" = "$last" ]; then
            still=$((still + 1))
            [ "$still" -ge $((drain_stall * 4)) ] && break
        else
            still=0
        fi
        last=$depth
        sleep 0.25
    done
    if [ "$depth" != 0 ]; then
        warnings+=("the memory queue still held $depth items after an auto run (stopped waiting after $(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.0f", (b - a) / 1e9 }') s): later rows ran next to that work")
    fi
    drain_secs=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
}

declare -A rec # recording counters, summed over the auto runs
rec_add() { rec[$1]=$(awk -v a="${rec[$1]:-0}" -v b="$2" 'BEGIN { printf "%.0f", a + b }'); }

# Warm-up: every row but auto (which would fill the memory queue).
for row in a b c dr; do
    row_ok "$row" || continue
    if [ "${conns_of[$row]}" = 1 ]; then set_layout latency; else set_layout throughput; fi
    say "$row: warm-up, ${conns_of[$row]} connection(s), ${warm_secs}s"
    # shellcheck disable=SC2046
    if ! run_wrk "$row" "${conns_of[$row]}" "$warm_secs" warm $(wrk_args "$row" "warm$$"); then
        failed[$row]="warm-up: wrk produced no result: $(tail -n 3 "$tmp/wrk-$row-${conns_of[$row]}-warm.txt" | tr '\n' ' ')"
        continue
    fi
    if [ "$(errors_of_bench)" != 0 ] || [ "${bench[requests]}" = 0 ]; then
        failed[$row]="warm-up: ${bench[requests]} requests, errors: $(errors_text)"
        say "$row: FAILED: ${failed[$row]}"
    fi
done

for r in $(seq "$rounds"); do
    set_layout latency
    for row in a b c; do
        row_ok "$row" || continue
        say "$row: 1 connection, ${run_secs}s (round $r/$rounds)"
        measure "$row" "$r"
    done
    set_layout throughput
    if row_ok dr; then
        say "dr: X-Memory: read, 64 connections, ${run_secs}s (round $r/$rounds)"
        measure dr "$r"
    fi
    if row_ok da; then
        say "da: X-Memory: auto, 64 connections, ${run_secs}s (round $r/$rounds)"
        metrics_snapshot load
        rk_ok0=$(job_metric load record ok)
        rk_drop0=$(job_metric load record dropped)
        rk_skip0=$(job_metric load record skipped)
        if measure da "$r"; then
            metrics_snapshot load
            rec_add recorded_in_run $(($(job_metric load record ok) - rk_ok0))
            rec_add dropped $(($(job_metric load record dropped) - rk_drop0))
            rec_add skipped $(($(job_metric load record skipped) - rk_skip0))
            rec_add depth_end "$(metric load memproxy_memory_queue_depth)"
            say "da: queue depth $(metric load memproxy_memory_queue_depth) at the end of the run; waiting for it to drain"
            drain load
            rec_add drain_s "$drain_secs"
            say "da: drained in $drain_secs s"
        fi
    fi
done

# Totals of the memory work over the whole run, from the load instance's metrics.
if row_ok da; then
    metrics_snapshot load
    for k in record extract summarize; do
        for result in ok retry failed invalid dropped skipped; do
            rec[total,$k,$result]=$(job_metric load "$k" "$result")
        done
    done
fi

for row in $rows; do
    row_ok "$row" || continue
    [ -n "${res[$row,p50s]:-}" ] || continue
    # shellcheck disable=SC2086
    {
        res[$row,p50]=$(fmt_int "$(median ${res[$row,p50s]})")
        res[$row,p99]=$(fmt_int "$(median ${res[$row,p99s]})")
        res[$row,rps]=$(median ${res[$row,rpss]})
        res[$row,rps_min]=$(printf '%s\n' ${res[$row,rpss]} | sort -g | head -n 1)
        res[$row,rps_max]=$(printf '%s\n' ${res[$row,rpss]} | sort -g | tail -n 1)
    }
    res[$row,cpu]=$(awk -v c="${res[$row,cpu_ns]}" -v w="${res[$row,wall_ns]}" \
        'BEGIN { if (w > 0) printf "%.0f", 100 * c / w; else print "n/a" }')
    res[$row,cpu_us]=$(awk -v c="${res[$row,cpu_ns]}" -v n="${res[$row,requests]}" \
        'BEGIN { if (n > 0) printf "%.1f", c / n / 1000; else print "n/a" }')
    res[$row,other]=$(awk -v c="${res[$row,other_ns]}" -v w="${res[$row,wall_ns]}" \
        'BEGIN { if (w > 0 && c > 0) printf "%.0f", 100 * c / w; else print 0 }')
    if [ "${res[$row,other]}" -gt 10 ]; then
        warnings+=("$(row_label "$row"): other work on the machine used ${res[$row,other]}% of a CPU during its runs: its numbers are noisy")
    fi
    res[$row,done]=1
    say "$row: p50 ${res[$row,p50]} us, p99 ${res[$row,p99]} us, $(fmt_int "${res[$row,rps]}") req/s, ${res[$row,cpu_us]} CPU us/req"
done

# --- optional profile of the memory hit ------------------------------------------------

perf_report=""
if [ "$do_perf" = 1 ] && row_ok b; then
    if command -v perf >/dev/null; then
        set_layout latency
        say "perf: profiling the hit instance ($small_label store) for ${run_secs}s at 1 connection"
        perf record -q -F 2999 --call-graph dwarf,16384 -p "${pid_of[small]}" -o "$tmp/perf.data" \
            -- sleep $((run_secs + 1)) >"$tmp/perf-record.log" 2>&1 &
        perf_pid=$!
        sleep 0.5
        # shellcheck disable=SC2046
        run_wrk b 1 "$run_secs" perf $(wrk_args b x) || true
        wait "$perf_pid" 2>/dev/null
        perf_report=$(perf report -i "$tmp/perf.data" --children --stdio --sort sym -g none 2>/dev/null |
            grep -E '^ +[0-9]' | grep -E 'on_request|mp_reqmem|lmdb_get|decode_user|dec_|mp_inject|mp_chatreq|splice|fact_cmp|put_escaped|put_clean|_int_malloc|_int_free|malloc_consolidate|cfree|__libc_calloc|mp_store_get|keep_newest|mp_usermem_free' |
            head -n 30)
        [ -n "$perf_report" ] || perf_report="(perf recorded nothing usable: $(tail -n 2 "$tmp/perf-record.log" | tr '\n' ' '))"
    else
        perf_report="(perf not installed)"
    fi
fi

# --- report ------------------------------------------------------------------------------

wrk_version=$("$wrk_bin" -v 2>&1 | head -n 1 | sed 's/ Copyright.*//')
memproxy_version=$("$memproxy_bin" --version 2>&1 | head -n 1)
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)
[ -n "$cpu_model" ] || cpu_model=$(uname -m)

row_store() {
    case $1 in
    a) echo "—" ;;
    b) echo "$small_label + $hit_user" ;;
    c) echo "$big_label + $hit_user" ;;
    *) echo "$big_label + $hit_user (a second one)" ;;
    esac
}
row_users() {
    case $1 in
    a | b | c) echo "$hit_user" ;;
    *) echo "${user_prefix}0..$((active_users - 1)) (cycled)" ;;
    esac
}
row_tokens() {
    case $1 in
    a) echo "0" ;;
    b) echo "${tokens[small]:-?}" ;;
    c) echo "${tokens[big]:-?}" ;;
    *) echo "${tokens[active]:-?} (${user_prefix}0)" ;;
    esac
}

goal_missed=()
goal_unmeasured=()
# verdict OK(1/0) TEXT_IF_MISSED: sets V (not in a subshell: it records the miss).
verdict() {
    if [ "$1" = 1 ]; then
        V="met"
    else
        goal_missed+=("$2")
        V="**missed**"
    fi
}

report=$tmp/report.md
{
    echo "# memproxy memory benchmark"
    echo
    if [ "$rounds" = 1 ]; then
        echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $mode mode: one ${run_secs} s wrk run per cell (after a ${warm_secs} s warm-up), one wrk thread."
    else
        echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $mode mode: medians of $rounds rounds of ${run_secs} s wrk runs, the rows taking turns within each round (after a ${warm_secs} s warm-up), one wrk thread."
    fi
    if [ "$mode" = short ] && [ "$users_big" -lt 1000000 ]; then
        echo
        echo "**Short mode: the big store holds $big_label users, not 1M: a smoke test, not the 1M goal** (run \`--long\` for that)."
    fi
    echo
    echo "POST $url_path, 1 KB body (post.lua's), non-streaming; the fake upstream answers a small chat.completion and plays the LLM for memory jobs."
    echo "memproxy: workers = 1, [memory] defaults (buffer_messages 15, context_budget_tokens 1500, queue_max 10000), [storage] sync = $store_sync, encryption at rest $([ "$encrypt" = 1 ] && echo on || echo off). One memproxy process per row group, each on its own store: (a), (b), (c), and (d) on a second store like (c)'s."
    echo "Hit user \`$hit_user\`: 50 facts, a 150-word summary, 15 buffered messages (more than the budget holds: the injection is cut to it). Other users: 3 facts, a 20-word summary, 4 messages."
    echo
    echo "| row | store (users) | user | X-Memory | conns | p50 µs | p99 µs | req/s | memproxy CPU | CPU µs/req | injected tokens | other load | errors |"
    echo "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    for row in $rows; do
        lbl=$(row_label "$row")
        xm="read"
        [ "$row" = da ] && xm=auto
        [ "$row" = a ] && xm="read (ignored)"
        if ! row_ok "$row" || [ -z "${res[$row,done]:-}" ]; then
            reason=${failed[$row]:-not measured}
            echo "| $lbl | $(row_store "$row") | $(row_users "$row") | $xm | ${conns_of[$row]} | FAILED: $(printf '%s' "$reason" | head -n 1 | sed 's/|/\\|/g') | | | | | | | |"
            invalid_reasons+=("$lbl: $(printf '%s' "$reason" | head -n 1)")
            continue
        fi
        errs=${res[$row,errors]}
        if [ "$errs" != 0 ]; then
            errs="**$errs** (${res[$row,errtext]})"
            invalid_reasons+=("$lbl: wrk saw errors (${res[$row,errtext]})")
        fi
        rps=$(fmt_int "${res[$row,rps]}")
        if [ "$rounds" -gt 1 ]; then
            rps="$rps ($(fmt_int "${res[$row,rps_min]}")–$(fmt_int "${res[$row,rps_max]}"))"
        fi
        echo "| $lbl | $(row_store "$row") | $(row_users "$row") | $xm | ${conns_of[$row]} | ${res[$row,p50]} | ${res[$row,p99]} | $rps | ${res[$row,cpu]}% | ${res[$row,cpu_us]} | $(row_tokens "$row") | ${res[$row,other]}% | $errs |"
    done
    echo
    [ "$rounds" -gt 1 ] && echo "Latencies and req/s are medians over the rounds; req/s shows (slowest–fastest round)."
    echo "memproxy CPU: the measured instance's threads (request worker, memory worker, all), user + system, as a share of one CPU during the timed runs; CPU µs/req divides that time by the requests served. Injected tokens: X-Memory-Injected-Tokens of the check request. Other load: CPU the rest of the machine used during the row's timed runs (all busy CPU time minus wrk, the fake upstream and the memproxies), as a share of one CPU: over 10% means someone else's work disturbed the row."
    echo

    echo "## Goals"
    echo
    echo "| goal | measured | target | result |"
    echo "|---|---:|---|---|"
    if [ -n "${res[a,done]:-}" ] && [ -n "${res[b,done]:-}" ]; then
        added=$((res[b,p50] - res[a,p50]))
        ok=0
        [ "$added" -le 20 ] && ok=1
        cpu_added=$(awk -v b="${res[b,cpu_us]}" -v a="${res[a,cpu_us]}" 'BEGIN { printf "%.1f", b - a }')
        verdict $ok "memory hit adds $added us to p50 (> 20)"
        echo "| memory hit: added p50, (b) − (a) | $added µs (${res[b,p50]} − ${res[a,p50]}); CPU +$cpu_added µs/req | ≤ 20 µs | $V |"
    else
        echo "| memory hit: added p50, (b) − (a) | n/a | ≤ 20 µs | not measured |"
        goal_unmeasured+=("added p50")
    fi
    if [ -n "${res[b,done]:-}" ] && [ -n "${res[c,done]:-}" ]; then
        ratio=$(awk -v c="${res[c,p99]}" -v b="${res[b,p99]}" 'BEGIN { printf "%.2f", c / b }')
        ok=$(awk -v c="${res[c,p99]}" -v b="${res[b,p99]}" 'BEGIN { print (c <= 1.2 * b) ? 1 : 0 }')
        note=""
        [ "$users_big" -lt 1000000 ] && note=" ($big_label users: smoke test, not the 1M goal)"
        verdict "$ok" "p99 ratio $ratio > 1.2"
        echo "| p99 $big_label users / $small_label users, (c) / (b)$note | $ratio (${res[c,p99]} / ${res[b,p99]} µs) | ≤ 1.2 | $V |"
    else
        echo "| p99 $big_label users / $small_label users, (c) / (b) | n/a | ≤ 1.2 | not measured |"
        goal_unmeasured+=("p99 ratio")
    fi
    if [ -n "${res[dr,done]:-}" ] && [ -n "${res[da,done]:-}" ]; then
        rr=$(awk -v a="${res[da,rps]}" -v r="${res[dr,rps]}" 'BEGIN { printf "%.2f", a / r }')
        ok=$(awk -v a="${res[da,rps]}" -v r="${res[dr,rps]}" 'BEGIN { print (a >= 0.95 * r) ? 1 : 0 }')
        verdict "$ok" "req/s auto/read $rr < 0.95"
        echo "| recording under load: req/s auto / read, 64 conns | $rr ($(fmt_int "${res[da,rps]}") / $(fmt_int "${res[dr,rps]}")) | ≥ 0.95 | $V |"
        pr=$(awk -v a="${res[da,p99]}" -v r="${res[dr,p99]}" 'BEGIN { printf "%.2f", a / r }')
        ok=$(awk -v a="${res[da,p99]}" -v r="${res[dr,p99]}" 'BEGIN { print (a <= 1.05 * r) ? 1 : 0 }')
        verdict "$ok" "p99 auto/read $pr > 1.05"
        echo "| recording under load: p99 auto / read, 64 conns | $pr (${res[da,p99]} / ${res[dr,p99]} µs) | ≤ 1.05 | $V |"
    else
        echo "| recording under load: auto / read | n/a | req/s ≥ 0.95, p99 ≤ 1.05 | not measured |"
        goal_unmeasured+=("recording under load")
    fi
    echo
    if [ ${#goal_missed[@]} != 0 ]; then
        echo "Goals: **not met**: $(printf '%s; ' "${goal_missed[@]}" | sed 's/; $//')."
    elif [ ${#goal_unmeasured[@]} != 0 ]; then
        echo "Goals: **not evaluated**: $(printf '%s, ' "${goal_unmeasured[@]}" | sed 's/, $//')."
    else
        echo "Goals: **all met**."
    fi
    echo

    if [ -n "${res[da,done]:-}" ]; then
        echo "## Memory work during the auto runs"
        echo
        echo "| | value |"
        echo "|---|---:|"
        echo "| requests served (auto runs) | ${res[da,requests]} |"
        echo "| turns recorded during the runs | ${rec[recorded_in_run]:-0} |"
        echo "| turns dropped (queue full, queue_max) | ${rec[dropped]:-0} |"
        echo "| turns skipped (already recorded) | ${rec[skipped]:-0} |"
        echo "| queue depth at the end of the runs (sum) | ${rec[depth_end]:-0} |"
        echo "| seconds to drain the queue afterwards (sum) | ${rec[drain_s]:-0} |"
        echo "| whole run: turns recorded / dropped | ${rec[total,record,ok]} / ${rec[total,record,dropped]} |"
        echo "| whole run: extraction jobs ok / invalid answer / failed / retried | ${rec[total,extract,ok]} / ${rec[total,extract,invalid]} / ${rec[total,extract,failed]} / ${rec[total,extract,retry]} |"
        echo "| whole run: summarization jobs ok / invalid answer / failed / retried | ${rec[total,summarize,ok]} / ${rec[total,summarize,invalid]} / ${rec[total,summarize,failed]} / ${rec[total,summarize,retry]} |"
        echo
        echo "With auto every request hands a turn to the memory worker, which records it (one LMDB transaction, [storage] sync = $store_sync) and queues an extraction job (a chat completion to the fake upstream). Turns beyond queue_max pending items are dropped and counted, never waited for."
        echo
    fi

    echo "## Stores"
    echo
    echo "| store | users | ops | write transactions | populate s | data.mdb | LMDB map in use |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
    for s in small big load; do
        echo "| $s | ${pop[$s,users]} + $hit_user | ${pop[$s,ops]} | ${pop[$s,applies]} | ${pop[$s,seconds]} | $(fmt_bytes "${pop[$s,disk_bytes]}") | $(fmt_bytes "${pop[$s,map_used]}") |"
    done
    echo
    echo "Filled by tests/bench/populate through the storage library ([storage] sync = none while populating, about 4096 ops per transaction, users in scrambled key order)."
    echo

    if [ -n "$perf_report" ]; then
        echo "## Profile of the memory hit (perf, instance (b), 1 connection)"
        echo
        echo "Share of memproxy's samples spent in each function and its callees (\`perf report --children\`):"
        echo
        echo '```'
        printf '%s\n' "$perf_report"
        echo '```'
        echo
    fi

    if [ ${#invalid_reasons[@]} = 0 ]; then
        echo "Run: **valid** (every instance answered the check request with memory where expected; wrk saw no errors)."
    else
        echo "Run: **INVALID**:"
        for r in "${invalid_reasons[@]}"; do
            echo "- $r"
        done
    fi
    for w in "${warnings[@]}"; do
        echo "- warning: $w"
    done
    echo
    echo "## Machine"
    echo
    echo "- CPUs: $(nproc) online to this process ($cpu_model); kernel $(uname -sr); $(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo) RAM"
    echo "- CPU pinning: $pin_desc"
    if [ "$busy_before" -gt 10 ]; then
        echo "- CPUs busy before the run: **${busy_before}%** (other work on the machine: numbers are noisy)"
    else
        echo "- CPUs busy before the run: ${busy_before}%"
    fi
    echo "- wrk: $wrk_version"
    echo "- memproxy: ${memproxy_version:-(--version printed nothing)} ($memproxy_bin)"
    echo "- fake upstream: $fake_bin"
} >"$report"

cat "$report"
mkdir -p "$(dirname "$out_file")" && cp "$report" "$out_file" && say "report written to $out_file"

if [ ${#invalid_reasons[@]} != 0 ]; then
    exit 2
fi
if [ "$strict" = 1 ] && { [ ${#goal_missed[@]} != 0 ] || [ ${#goal_unmeasured[@]} != 0 ]; }; then
    exit 3
fi
exit 0
