#!/usr/bin/env bash
# memproxy durable acknowledgement benchmark: what [memory] durable_ack =
# true (a recorded reply ends only once its turn is committed to LMDB)
# costs next to durable_ack = false (the reply ends at once, the turn is
# committed afterwards), for recorded requests at 1 and 64 connections, with
# unrecorded requests (X-Memory: read) as the control. See
# tests/bench/README.md ("durable.sh").
#
# Usage: tests/bench/durable.sh [--short|--long] [--build DIR] [--out FILE]
#                               [--duration SEC] [--rounds N] [--sync LIST]
#                               [--modes LIST] [--users N] [--no-pin]
#                               [--keep-tmp]
# --short: sync full, mode buffer, one round of 2 s runs (CI smoke, ~30 s);
# --long: sync full and meta, modes buffer and hybrid, medians of 5 rounds
#         of 3 s runs (~20 min).
# --sync LIST, --modes LIST: comma-separated subsets (full,meta,none;
#         buffer,summary,entity,hybrid) instead of the mode's.
# Exit: 0 valid run, 1 setup error, 2 invalid run (an instance failed its
#       checks, durable_ack was not observed in force, wrk saw errors).

set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
prog=durbench
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"

mode=short
build_dir=$root/build
out_file=$root/.bench/durable.md
duration=""
rounds_opt=""
syncs_opt=""
modes_opt=""
active_users=1000
pin=1
keep_tmp=0

usage() {
    sed -n '9,19p' "$0" | sed 's/^# \{0,1\}//'
}


common_opts="--short --long --build --out --duration --rounds --no-pin --keep-tmp"
while [ $# -gt 0 ]; do
    if common_opt "$@"; then
        shift "$opt_shift"
        continue
    fi
    case $1 in
    --sync) need_arg "$1" $# && syncs_opt=$2 && shift ;;
    --sync=*) syncs_opt=${1#--sync=} ;;
    --modes) need_arg "$1" $# && modes_opt=$2 && shift ;;
    --modes=*) modes_opt=${1#--modes=} ;;
    --users) need_arg "$1" $# && active_users=$2 && shift ;;
    --users=*) active_users=${1#--users=} ;;
    -h | --help)
        usage
        exit 0
        ;;
    *) die "unknown argument '$1' (try --help)" ;;
    esac
    shift
done


if [ "$mode" = long ]; then
    run_secs=3
    rounds=5
    warm_secs=2
    fill_secs=4
    syncs="full meta"
    modes="buffer hybrid"
    drain_max=120
else
    run_secs=2
    rounds=1
    warm_secs=1
    fill_secs=2
    syncs="full"
    modes="buffer"
    drain_max=30
fi
if [ -n "$duration" ]; then
    positive_int "$duration" || die "--duration must be a positive whole number of seconds"
    run_secs=$duration
fi
if [ -n "$rounds_opt" ]; then
    positive_int "$rounds_opt" || die "--rounds must be a positive whole number"
    rounds=$rounds_opt
fi
if [ -n "$syncs_opt" ]; then
    syncs=$(echo "$syncs_opt" | tr ',' ' ')
    for s in $syncs; do
        case $s in full | meta | none) ;; *) die "--sync: '$s' is not full, meta or none" ;; esac
    done
fi
if [ -n "$modes_opt" ]; then
    modes=$(echo "$modes_opt" | tr ',' ' ')
    for m in $modes; do
        case $m in buffer | summary | entity | hybrid) ;; *) die "--modes: '$m' is not buffer, summary, entity or hybrid" ;; esac
    done
fi
positive_int "$active_users" || die "--users must be a positive whole number"

body_size=1024
url_path=/v1/chat/completions
user_prefix=dur-u
probes=10      # durable check: recorded requests per instance
drain_stall=10 # seconds without progress before giving up on a drain

# --- binaries -----------------------------------------------------------------

case $build_dir in /*) ;; *) build_dir=$(pwd)/$build_dir ;; esac
case $out_file in /*) ;; *) out_file=$(pwd)/$out_file ;; esac

fake_bin=$build_dir/tests/fake_upstream/fake_upstream
memproxy_bin=$build_dir/proxy/memproxy
wrk_bin=${WRK:-$(command -v wrk || true)}
mdb_stat_bin=$(command -v mdb_stat || true)

[ -d "$build_dir" ] || die "build directory $build_dir does not exist; build first (meson setup build -Dtests=true && ninja -C build) or pass --build DIR"
[ -x "$memproxy_bin" ] || die "memproxy not found at $memproxy_bin; build it first (ninja -C $build_dir)"
[ -x "$fake_bin" ] || die "fake upstream not found at $fake_bin; build it (ninja -C $build_dir; the tests option must be on: meson configure $build_dir -Dtests=true)"
{ [ -n "$wrk_bin" ] && [ -x "$wrk_bin" ]; } ||
    die "wrk not found; install it (apt-get install wrk, or scripts/install-deps.sh --test)"
command -v curl >/dev/null || die "curl not found; install it (apt-get install curl)"
[ -r "$here/memory.lua" ] || die "missing $here/memory.lua"

# --- temporary directory and clean-up --------------------------------------------

tmp=$(mktemp -d "${TMPDIR:-/tmp}/memproxy-durbench.XXXXXX") || die "cannot create a temporary directory"
started_pids=""
fake_pid=""
declare -A pid_of   # instance (true, false, fill) -> memproxy pid, while it runs
declare -A store_of # instance -> its store directory

# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
    trap - EXIT INT TERM
    stop_started
    remove_tmp
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- CPU pinning (as memory.sh; see README.md) ----------------------------------
# 1 connection: wrk, the fake upstream and memproxy on one CPU.
# 64 connections: memproxy (every thread: request worker and memory worker)
# alone on the second CPU; wrk and the fake upstream on the first. One
# memproxy runs at a time.

detect_cpus
pinning=0
pin_wrk=""
pin_fake=""
pin_memproxy=""
cpu_a=""
cpu_b=""
if [ "$pin" = 1 ] && command -v taskset >/dev/null && [ "$ncpu" -ge 2 ] &&
    taskset -c "${cpu_list[0]}" true 2>/dev/null; then
    pinning=1
    cpu_a=${cpu_list[0]}
    cpu_b=${cpu_list[1]}
    pin_wrk="taskset -c $cpu_a"
    pin_fake="taskset -c $cpu_a"
    pin_memproxy="taskset -c $cpu_a"
    pin_desc="1 connection: wrk, fake upstream and memproxy on CPU $cpu_a; 64 connections: wrk and fake upstream on CPU $cpu_a, the memproxy under test (all threads, memory worker included) alone on CPU $cpu_b"
elif [ "$pin" = 1 ]; then
    pin_desc="none (needs taskset and 2 CPUs)"
else
    pin_desc="none (--no-pin)"
fi

# set_layout CONNS UNDER_TEST
set_layout() {
    [ "$pinning" = 1 ] || return 0
    if [ "$1" = 1 ]; then
        move_to -l "$cpu_a" "$fake_pid" "${pid_of[true]:-}" "${pid_of[false]:-}"
    else
        move_to -l "$cpu_a" "$fake_pid" "${pid_of[true]:-}" "${pid_of[false]:-}"
        move_to -l "$cpu_b" "${pid_of[$2]}"
    fi
}

# --- helpers ---------------------------------------------------------------------------

declare -A url admin failed res
invalid_reasons=()
warnings=()
notes=()
snapshot=$tmp/snapshot # the store every instance starts from (see fill_snapshot)

# write_ini NAME MODE DURABLE SYNC STORE: a configuration for one instance
# on two free ports; sets ini, port, aport.
write_ini() {
    local name=$1 mmode=$2 d=$3 sync=$4 store=$5
    read -r port aport <<<"$(free_ports 2 python-only)"
    [ -n "$aport" ] || die "could not find free ports (python3 is needed)"
    ini=$tmp/memproxy-$name.ini
    cat >"$ini" <<EOF
; generated by tests/bench/durable.sh
[server]
listen = 127.0.0.1:$port
admin_listen = 127.0.0.1:$aport
workers = 1
drain_timeout_ms = 2000

[upstream]
base_url = http://127.0.0.1:$fake_port/v1
; memory jobs authorize with this key (see README.md, memory benchmark)
api_key = sk-bench-jobs

[memory]
mode = $mmode
durable_ack = $d
; room for every turn and job of a run: a turn refused for a full queue
; is not waited for, which would flatter durable_ack = true
queue_max = 1000000

[storage]
path = $store
sync = $sync

[log]
level = warn
EOF
}

stop_one() {
    [ -n "${pid_of[$1]:-}" ] || return 0
    stop_pid "${pid_of[$1]}"
    forget_pid "${pid_of[$1]}"
    pid_of[$1]=""
}

# fresh D SYNC MODE: stop instance D if it runs, copy the snapshot to a new
# store and start instance D (durable_ack = D) on it; sets pid_of[D],
# url[D], admin[D], store_of[D]; returns 1 (failed[SETTING,D] set) when it
# does not start.
fresh() {
    local d=$1 sync=$2 mmode=$3
    stop_one "$d"
    store_of[$d]=$tmp/store-$d
    rm -rf "${store_of[$d]}"
    cp -a "$snapshot" "${store_of[$d]}" || die "cannot copy the snapshot store"
    write_ini "$sync-$mmode-$d" "$mmode" "$d" "$sync" "${store_of[$d]}"
    url[$d]=http://127.0.0.1:$port
    admin[$d]=http://127.0.0.1:$aport
    if ! start_memproxy_ini "$sync-$mmode-$d" "$ini" "${url[$d]}/"; then
        failed[$setting,$d]=$mp_why
        return 1
    fi
    pid_of[$d]=$mp_pid
    wait_sweep_done "${admin[$d]}" 60 || say "$sync/$mmode/$d: the start-up retention pass did not finish in 60 s"
    return 0
}

# fill_snapshot: the starting store of every measured instance. A memproxy
# in buffer mode ([storage] sync = none, durable_ack = false) gets recorded
# requests from every user at 64 connections until each user's buffer is
# full (buffer_messages, 15, of the same 1 KB messages the runs send), so
# that every run, true or false, starts from the same store and injects
# the same amount; no job is pending in it. Sets snapshot_buffered.
fill_snapshot() {
    local d=fill k
    mkdir -p "$snapshot"
    store_of[$d]=$snapshot
    write_ini fill buffer false none "$snapshot"
    url[$d]=http://127.0.0.1:$port
    admin[$d]=http://127.0.0.1:$aport
    start_memproxy_ini fill "$ini" "${url[$d]}/" || die "the memproxy filling the snapshot store did not start: $mp_why"
    pid_of[$d]=$mp_pid
    snapshot_buffered="?"
    for k in 1 2 3 4 5; do
        wrk_run "$tmp/wrk-fill-$k.txt" 64 "$fill_secs" "${url[$d]}$url_path" \
            "$here/memory.lua" users "$body_size" "$user_prefix" "$active_users" auto "fill$k$$" ||
            die "wrk produced no result while filling the snapshot store: $(tail -n 3 "$tmp/wrk-fill-$k.txt" | tr '\n' ' ')"
        [ "$(errors_of_bench)" = 0 ] || die "wrk saw errors while filling the snapshot store: $(errors_text)"
        wait_queue_empty "${admin[$d]}" 120 10 || die "the snapshot store's memory queue did not drain"
        snapshot_buffered=$(buffered "$d")
        [ "$snapshot_buffered" = "?" ] || [ "$snapshot_buffered" -lt 15 ] || break
    done
    stop_one "$d"
}

# check_instance D MODE: one recorded POST with curl: 200, a
# chat.completion, X-Memory-Mode: MODE, no X-Memory-Error.
check_instance() {
    local d=$1 mmode=$2 code hdrs mm merr
    body_json "$body_size" >"$tmp/body.json"
    code=$(curl -sS -o "$tmp/check.out" -D "$tmp/check.hdr" -w '%{http_code}' --max-time 10 \
        -H 'Content-Type: application/json' -H 'Authorization: Bearer sk-bench' \
        -H 'X-User-Id: dur-check' -H 'X-Memory: auto' \
        --data-binary @"$tmp/body.json" "${url[$d]}$url_path" 2>"$tmp/check.err")
    if [ "$code" != 200 ] || ! grep -q '"object":"chat.completion"' "$tmp/check.out"; then
        echo "POST $url_path answered HTTP ${code:-none}: $(head -c 300 "$tmp/check.out" "$tmp/check.err" 2>/dev/null | tr '\n' ' ')"
        return 1
    fi
    hdrs=$(tr -d '\r' <"$tmp/check.hdr")
    mm=$(printf '%s\n' "$hdrs" | sed -n 's/^[Xx]-[Mm]emory-[Mm]ode: *//p' | head -n 1)
    merr=$(printf '%s\n' "$hdrs" | sed -n 's/^[Xx]-[Mm]emory-[Ee]rror: *//p' | head -n 1)
    if [ "$mm" != "$mmode" ] || [ -n "$merr" ]; then
        echo "memory not in force (X-Memory-Mode: ${mm:-none}${merr:+, X-Memory-Error: $merr})"
        return 1
    fi
    return 0
}

# probe D: the durable check. $probes recorded requests, each followed at
# once, by the same curl on the same connection, by GET /v1/memory of the
# same user; prints how many turns were already in the store (committed)
# when the reply had completed.
probe() {
    local d=$1 i tag seen=0 prefix
    prefix='{"model":"bench-model","max_tokens":16,"messages":[{"role":"user","content":"'
    for i in $(seq "$probes"); do
        tag="durable-probe-$d-$i-$$-$RANDOM"
        printf '%s%s"}]}' "$prefix" "$tag" >"$tmp/probe.json"
        curl -s --max-time 10 -o "$tmp/probe-post.out" \
            -H 'Content-Type: application/json' -H 'Authorization: Bearer sk-bench' \
            -H 'X-User-Id: dur-probe' -H 'X-Memory: auto' \
            --data-binary @"$tmp/probe.json" "${url[$d]}$url_path" \
            --next -s --max-time 10 -o "$tmp/probe-get.out" \
            -H 'X-User-Id: dur-probe' "${url[$d]}/v1/memory" 2>/dev/null
        grep -q "$tag" "$tmp/probe-get.out" 2>/dev/null && seen=$((seen + 1))
    done
    echo "$seen"
}

# buffered D: how many messages GET /v1/memory holds for the first user.
buffered() {
    curl -s --max-time 5 -H "X-User-Id: ${user_prefix}0" "${url[$1]}/v1/memory" 2>/dev/null |
        python3 -c 'import json, sys; print(len(json.load(sys.stdin).get("buffer", [])))' 2>/dev/null || echo "?"
}

# txn_id D: the last write transaction id of instance D's store (LMDB
# counts its write transactions), from mdb_stat; empty without mdb_stat.
txn_id() {
    [ -n "$mdb_stat_bin" ] || return 0
    "$mdb_stat_bin" -e "${store_of[$1]}" 2>/dev/null | awk '/Last transaction ID:/ { print $4 }'
}

# max_into KEY VALUE: res[KEY] = the larger of res[KEY] (if any) and VALUE.
max_into() {
    res[$1]=$(awk -v a="${res[$1]:-}" -v b="$2" 'BEGIN { print (a != "" && a + 0 > b + 0) ? a : b }')
}

# measure KEY D CONNS XMEMORY TAG [SECS]: one timed wrk run (of SECS,
# default run_secs) of memory.lua's users variant against instance D;
# accumulates p50, p99, req/s, CPU, errors in res[KEY,D,...]. After an auto
# run it waits until every queued turn is committed
# (memproxy_memory_queue_bytes = 0; pending jobs are not waited for) and
# accounts what the recording did: turns recorded and dropped, the queue
# left when wrk stopped, the wait, write transactions and CPU time up to
# the end of the wait, jobs pending then.
measure() {
    local key=$1 d=$2 conns=$3 xmem=$4 tag=$5 secs=${6:-$run_secs} k=$1,$2 mf=$tmp/metrics-run.txt
    local c0 c1 c2 w0 w2 r0 r1 dr0 dr1 t0 t2
    set_layout "$conns" "$d"
    metrics_fetch "${admin[$d]}" "$mf"
    r0=$(metric_in "$mf" 'memproxy_memory_jobs_total{kind="record",result="ok"}')
    dr0=$(metric_in "$mf" 'memproxy_memory_jobs_total{kind="record",result="dropped"}')
    t0=$(txn_id "$d")
    c0=$(proc_cpu_ns "${pid_of[$d]}")
    w0=$(date +%s%N)
    if ! wrk_run "$tmp/wrk-$key-$d-$tag.txt" "$conns" "$secs" "${url[$d]}$url_path" \
        "$here/memory.lua" users "$body_size" "$user_prefix" "$active_users" "$xmem" "$tag"; then
        failed[$setting,$d]="wrk produced no result: $(tail -n 3 "$tmp/wrk-$key-$d-$tag.txt" | tr '\n' ' ')"
        say "$setting/$d: FAILED: ${failed[$setting,$d]}"
        return 1
    fi
    c1=$(proc_cpu_ns "${pid_of[$d]}")
    res[$k,p50s]="${res[$k,p50s]:-} ${bench[p50_us]}"
    res[$k,p99s]="${res[$k,p99s]:-} ${bench[p99_us]}"
    res[$k,rpss]="${res[$k,rpss]:-} ${bench[rps]}"
    res[$k,cpu_ns]=$((${res[$k,cpu_ns]:-0} + c1 - c0))
    res[$k,requests]=$((${res[$k,requests]:-0} + bench[requests]))
    add_errors "$k"
    [ "$xmem" = auto ] || return 0
    metrics_fetch "${admin[$d]}" "$mf"
    max_into "$k,left" "$(metric_in "$mf" memproxy_memory_queue_depth)"
    max_into "$k,left_bytes" "$(metric_in "$mf" memproxy_memory_queue_bytes)"
    wait_metric_zero "${admin[$d]}" memproxy_memory_queue_bytes "$drain_max" "$drain_stall" ||
        warnings+=("$setting, durable_ack = $d: turns still queued (${drain_depth} bytes) ${drain_secs}s after an auto run")
    c2=$(proc_cpu_ns "${pid_of[$d]}")
    w2=$(date +%s%N)
    t2=$(txn_id "$d")
    max_into "$k,drain" "$drain_secs"
    res[$k,cpu_all_ns]=$((${res[$k,cpu_all_ns]:-0} + c2 - c0))
    res[$k,wall_all_ns]=$((${res[$k,wall_all_ns]:-0} + w2 - w0))
    [ -n "$t0" ] && [ -n "$t2" ] && res[$k,txns]=$((${res[$k,txns]:-0} + t2 - t0))
    metrics_fetch "${admin[$d]}" "$mf"
    r1=$(metric_in "$mf" 'memproxy_memory_jobs_total{kind="record",result="ok"}')
    dr1=$(metric_in "$mf" 'memproxy_memory_jobs_total{kind="record",result="dropped"}')
    res[$k,recorded]=$((${res[$k,recorded]:-0} + r1 - r0))
    res[$k,dropped]=$((${res[$k,dropped]:-0} + dr1 - dr0))
    max_into "$k,jobs_left" "$(metric_in "$mf" memproxy_memory_queue_depth)"
    return 0
}

# --- run -------------------------------------------------------------------------------

measure_busy_before
settings=""
for s in $syncs; do
    for m in $modes; do
        settings="$settings $s:$m"
    done
done
say "mode $mode: $rounds round(s) of ${run_secs}s runs, ${warm_secs}s warm-up per instance; settings:$settings; $active_users users; pinning: $pin_desc"

fake_args=--no-prompt-cache # lib.sh: start_fake_upstream
start_fake_upstream

setting=fill
say "filling the snapshot store: recorded requests from $active_users users until each buffer is full"
fill_snapshot
say "snapshot store: ${user_prefix}0 has $snapshot_buffered buffered messages"
[ "$snapshot_buffered" = 15 ] ||
    warnings+=("the snapshot store's first user has $snapshot_buffered buffered messages, not buffer_messages (15): runs inject less than a steady state would")

rows="auto:1 read:1 auto:64 read:64"
declare -A probe_seen
for setting in $settings; do
    sync=${setting%%:*}
    mmode=${setting#*:}
    # Checks and the durable check, on a fresh instance each.
    for d in true false; do
        say "$sync/$mmode/$d: check and durable check"
        fresh "$d" "$sync" "$mmode" || continue
        if ! out=$(check_instance "$d" "$mmode"); then
            failed[$setting,$d]="check: $out"
            say "$setting/$d: check FAILED: $out"
            stop_one "$d"
            continue
        fi
        probe_seen[$setting,$d]=$(probe "$d")
        say "$setting/$d: durable check: ${probe_seen[$setting,$d]}/$probes turns committed when the reply completed"
        stop_one "$d"
    done
    if [ -z "${failed[$setting,true]:-}" ] && [ "${probe_seen[$setting,true]:-0}" != "$probes" ]; then
        failed[$setting,true]="durable_ack = true not in force: only ${probe_seen[$setting,true]}/$probes turns were in GET /v1/memory when their reply had completed"
        say "$setting/true: FAILED: ${failed[$setting,true]}"
    fi
    for r in $(seq "$rounds"); do
        # true and false take turns, and swap who goes first every round
        order="true false"
        [ $((r % 2)) = 0 ] && order="false true"
        for conns in 1 64; do
            for d in $order; do
                [ -z "${failed[$setting,$d]:-}" ] || continue
                # Each run group gets a fresh instance on a copy of the
                # snapshot: no backlog (queued turns, pending jobs) from an
                # earlier run, the same store for true and false.
                fresh "$d" "$sync" "$mmode" || continue
                say "$setting/$d: ${warm_secs}s warm-up, then X-Memory: read and auto at $conns connection(s), ${run_secs}s each (round $r/$rounds)"
                if measure warm "$d" "$conns" read "w$r$d$conns$$" "$warm_secs" &&
                    [ "${res[warm,$d,errors]:-0}" != 0 ]; then
                    failed[$setting,$d]="warm-up: wrk saw errors (${res[warm,$d,errtext]})"
                    say "$setting/$d: FAILED: ${failed[$setting,$d]}"
                fi
                unset "res[warm,$d,errors]" "res[warm,$d,errtext]"
                if [ -z "${failed[$setting,$d]:-}" ] &&
                    measure "$setting,read:$conns" "$d" "$conns" read "r$r$d$conns$$"; then
                    measure "$setting,auto:$conns" "$d" "$conns" auto "r$r$d$conns$$"
                fi
                stop_one "$d"
            done
        done
    done
done

# --- report ---------------------------------------------------------------------------

wrk_version=$("$wrk_bin" -v 2>&1 | head -n 1 | sed 's/ Copyright.*//')
memproxy_version=$("$memproxy_bin" --version 2>&1 | head -n 1)
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)
[ -n "$cpu_model" ] || cpu_model=$(uname -m)

# summarize KEY: medians into res[KEY,p50|p99|rps], CPU µs/req into res[KEY,cpu_us]
summarize() {
    local k=$1
    [ -n "${res[$k,p50s]:-}" ] || return 1
    # shellcheck disable=SC2086
    {
        res[$k,p50]=$(fmt_int "$(median ${res[$k,p50s]})")
        res[$k,p99]=$(fmt_int "$(median ${res[$k,p99s]})")
        res[$k,rps]=$(median ${res[$k,rpss]})
    }
    res[$k,cpu_us]=$(per_request_us "${res[$k,cpu_ns]}" "${res[$k,requests]}")
    return 0
}

# added A B: "+D µs (×R)" for B over A
added() {
    awk -v a="$1" -v b="$2" 'BEGIN {
        d = b - a; r = (a > 0) ? sprintf("%.2f", b / a) : "n/a"
        printf "%s%d µs (×%s)", (d >= 0 ? "+" : ""), d, r }'
}

report=$tmp/report.md
{
    echo "# memproxy durable acknowledgement benchmark"
    echo
    if [ "$rounds" = 1 ]; then
        echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $mode mode: one ${run_secs} s wrk run per cell, one wrk thread."
    else
        echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $mode mode: medians of $rounds rounds of ${run_secs} s wrk runs, one wrk thread; in each round the true and false instances take turns on every row, and swap who goes first."
    fi
    echo
    echo "POST $url_path, 1 KB bodies (memory.lua's users variant): users ${user_prefix}0 … ${user_prefix}$((active_users - 1)) in turn, every body distinct, so with X-Memory: auto every request records a turn; X-Memory: read injects the same users' memory and records nothing (the control). The fake upstream answers a small chat.completion (and the memory jobs in hybrid mode)."
    echo "memproxy: workers = 1, [memory] durable_ack = true or false, queue_max = 1000000 (so that only queue_max_bytes, 64 MiB, bounds the queue), other [memory] keys default. Every run group (one true or false instance, one connection count, one round) is a fresh memproxy on a copy of the same snapshot store, in which every user's buffer is full ($snapshot_buffered messages for ${user_prefix}0; no pending job): it gets a ${warm_secs} s X-Memory: read warm-up, then the read run, then the auto run, then it is stopped. So no run inherits queued turns or pending jobs from another, and true and false start from the same store."
    echo
    echo "| sync | mode | X-Memory | conns | p50 µs false → true | added p50 | p99 µs false → true | added p99 | req/s false → true | req/s true/false | CPU µs/req false → true | errors |"
    echo "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    for setting in $settings; do
        sync=${setting%%:*}
        mmode=${setting#*:}
        for row in $rows; do
            xmem=${row%%:*}
            conns=${row#*:}
            xm_label=$xmem
            [ "$xmem" = auto ] && xm_label="auto (recorded)"
            [ "$xmem" = read ] && xm_label="read (control)"
            kt="$setting,$row,true"
            kf="$setting,$row,false"
            bad=""
            for d in true false; do
                [ -z "${failed[$setting,$d]:-}" ] || bad="$bad durable_ack=$d: ${failed[$setting,$d]};"
            done
            if [ -n "$bad" ] || ! summarize "$kt" || ! summarize "$kf"; then
                [ -n "$bad" ] || bad=" not measured;"
                echo "| $sync | $mmode | $xm_label | $conns | FAILED:$(printf '%s' "${bad%;}" | head -n 1 | sed 's/|/\\|/g') | | | | | | | |"
                continue
            fi
            errs=$((res[$kt,errors] + res[$kf,errors]))
            if [ "$errs" != 0 ]; then
                errs="**$errs** (${res[$kt,errtext]:+true: ${res[$kt,errtext]}}${res[$kf,errtext]:+ false: ${res[$kf,errtext]}})"
                invalid_reasons+=("$sync/$mmode X-Memory: $xmem, $conns conns: wrk saw errors")
            fi
            rr=$(awk -v t="${res[$kt,rps]}" -v f="${res[$kf,rps]}" 'BEGIN { if (f > 0) printf "%.2f", t / f; else print "n/a" }')
            echo "| $sync | $mmode | $xm_label | $conns | ${res[$kf,p50]} → ${res[$kt,p50]} | $(added "${res[$kf,p50]}" "${res[$kt,p50]}") | ${res[$kf,p99]} → ${res[$kt,p99]} | $(added "${res[$kf,p99]}" "${res[$kt,p99]}") | $(fmt_int "${res[$kf,rps]}") → $(fmt_int "${res[$kt,rps]}") | $rr | ${res[$kf,cpu_us]} → ${res[$kt,cpu_us]} | $errs |"
        done
    done
    echo
    [ "$rounds" -gt 1 ] && echo "Latencies and req/s are medians over the rounds."
    echo "added: true minus false (×: true / false). CPU µs/req: CPU time of the measured memproxy (all threads: request worker, memory worker) during its runs, per request served."
    echo
    echo "## What the recording did (auto rows)"
    echo
    echo "| sync | mode | conns | durable_ack | turns recorded | dropped | queued when wrk stopped | wait until committed | turns committed/s, run + wait | write transactions | turns per transaction | CPU µs per turn, run + wait | jobs pending then |"
    echo "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    for setting in $settings; do
        sync=${setting%%:*}
        mmode=${setting#*:}
        for conns in 1 64; do
            for d in false true; do
                k="$setting,auto:$conns,$d"
                [ -n "${res[$k,recorded]:-}" ] || continue
                rec=${res[$k,recorded]}
                tps=$(awk -v n="$rec" -v w="${res[$k,wall_all_ns]}" 'BEGIN { if (w > 0) printf "%.0f", n / (w / 1e9); else print "n/a" }')
                tpt=$(awk -v n="$rec" -v t="${res[$k,txns]:-}" 'BEGIN { if (t > 0) printf "%.1f", n / t; else print "n/a" }')
                cpt=$(per_request_us "${res[$k,cpu_all_ns]}" "$rec")
                left="${res[$k,left]} ($(awk -v b="${res[$k,left_bytes]}" 'BEGIN { printf "%.1f MB", b / 1048576 }'))"
                echo "| $sync | $mmode | $conns | $d | $rec | ${res[$k,dropped]} | $left | ${res[$k,drain]} s | $tps | ${res[$k,txns]:-n/a} | $tpt | $cpt | ${res[$k,jobs_left]} |"
                if [ "${res[$k,dropped]}" != 0 ]; then
                    notes+=("$sync/$mmode, $conns conns, durable_ack = $d: ${res[$k,dropped]} turns dropped: the queue reached [memory] queue_max_bytes (memproxy_memory_queue_full_total); those turns are not in memory")
                fi
            done
        done
    done
    echo
    echo "Turns recorded and dropped, write transactions: summed over the rounds; queued when wrk stopped, wait and jobs pending: the largest of the rounds. Queued when wrk stopped: memproxy_memory_queue_depth (turns, and pending jobs in hybrid mode) and memproxy_memory_queue_bytes (what the queued turns hold); with durable_ack = false that is recording the requests/s above did not wait for. The script then waits until every queued turn is committed (memproxy_memory_queue_bytes = 0; the wait column) and stops the instance; pending jobs are not waited for (jobs pending then). Turns committed/s and CPU µs per turn count from the start of the auto run to the end of that wait; the CPU includes whatever jobs ran meanwhile. Write transactions: LMDB's transaction counter (mdb_stat -e) over the same span, every commit included (turns, their follow-ups such as buffer trims or summary planning, job results)."
    echo
    echo "## Is durable_ack in force?"
    echo
    echo "Before measuring, each instance gets $probes recorded requests (a user of their own), each followed at once, on the same connection, by GET /v1/memory: with durable_ack = true the turn must already be in the store when its reply has completed, every time (otherwise the run is invalid); with false it usually is not yet."
    echo
    echo "| sync | mode | durable_ack | turns in GET /v1/memory as the reply completed |"
    echo "|---|---|---|---:|"
    for setting in $settings; do
        sync=${setting%%:*}
        mmode=${setting#*:}
        for d in true false; do
            echo "| $sync | $mmode | $d | ${probe_seen[$setting,$d]:-n/a}/$probes |"
            if [ -n "${failed[$setting,$d]:-}" ]; then
                invalid_reasons+=("$sync/$mmode, durable_ack = $d: ${failed[$setting,$d]}")
            fi
        done
    done
    echo
    if [ ${#invalid_reasons[@]} = 0 ]; then
        echo "Run: **valid** (every instance answered its check with memory in force, durable_ack = true was observed, wrk saw no errors)."
    else
        echo "Run: **INVALID**:"
        for r in "${invalid_reasons[@]}"; do
            echo "- $r"
        done
    fi
    for w in "${warnings[@]}"; do
        echo "- warning: $w"
    done
    for w in "${notes[@]}"; do
        echo "- note: $w"
    done
    echo
    echo "## Machine"
    echo
    echo "- CPUs: $(nproc) online to this process ($cpu_model); kernel $(uname -sr); stores on $(df -PT "$tmp" 2>/dev/null | awk 'NR == 2 { print $2 " (" $1 ")" }')"
    echo "- CPU pinning: $pin_desc"
    if [ "$busy_before" -gt 10 ]; then
        echo "- CPUs busy before the run: **${busy_before}%** (other work on the machine: numbers are noisy)"
    else
        echo "- CPUs busy before the run: ${busy_before}%"
    fi
    echo "- wrk: $wrk_version"
    echo "- memproxy: ${memproxy_version:-(--version printed nothing)} ($memproxy_bin)"
} >"$report"

cat "$report"
mkdir -p "$(dirname "$out_file")" && cp "$report" "$out_file" && say "report written to $out_file"

if [ ${#invalid_reasons[@]} != 0 ]; then
    exit 2
fi
exit 0
