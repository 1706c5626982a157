# shellcheck shell=bash
# Shell functions shared by tests/bench/run.sh, memory.sh, durable.sh,
# soak.sh and streams.sh: messages, process clean-up, CPU pinning helpers,
# the open-file limit, free ports, the request body, wrk runs and their error
# counts, number formatting, machine load; memproxy start-up, metrics and CPU
# time (the last section).
# Sourced (not run) by those scripts, right after they set "here" and "root".
#
# Globals the functions expect the sourcing script to set:
#   prog          message prefix ("bench", "membench")
#   tmp, keep_tmp the temporary directory, and 1 to keep it on exit
#   started_pids  every process the script started (stop_started stops them)
#   fake_bin, pin_fake, pin_wrk, wrk_bin   binaries and taskset prefixes
#   res           associative array of results (add_errors writes to it)
# and they set: bench (wrk_run), fake_pid, fake_port (start_fake_upstream),
# cpu_list, ncpu (detect_cpus), nofile (raise_nofile), busy_before
# (measure_busy_before); the last
# section also uses memproxy_bin and pin_memproxy, and sets mp_pid, mp_why,
# drain_secs and drain_depth.
#
# Those globals belong to the sourcing scripts, hence SC2154/SC2034 (and
# SC2004: res is an associative array, which shellcheck cannot see here).
# shellcheck disable=SC2154,SC2034,SC2004

# memproxy takes its configuration from MEMPROXY_<SECTION>_<KEY> variables
# and refuses one it does not know, and the test command's data directories
# are named so too (MEMPROXY_LOCOMO_DIR, MEMPROXY_BEAM_DIR): no process these
# scripts start inherits a MEMPROXY_* variable (the script itself still reads
# them). A script passes what it means to memproxy through env.
while read -r name; do
    # shellcheck disable=SC2163 # the variable named by $name, not "name"
    export -n "$name"
done < <(compgen -e | grep '^MEMPROXY_' || true)

die() {
    printf '%s: %s\n' "$prog" "$*" >&2
    exit 1
}

say() {
    printf '%s: %s\n' "$prog" "$*" >&2
}

# --- command lines ----------------------------------------------------------------

# need_arg OPTION ARGS_LEFT: an option that takes a value must have one.
need_arg() {
    [ "$2" -ge 2 ] || die "$1 needs a value"
}

# common_opt ARGS...: the options the benchmark scripts share: --short,
# --long, --build DIR, --out FILE, --duration SEC, --rounds N (also as
# --opt=value), --no-pin, --strict, --keep-tmp; only those in
# $common_opts (a script's own list; all of them when it is unset). Sets
# mode, build_dir, out_file, duration, rounds_opt, pin, strict or
# keep_tmp, and opt_shift (how many arguments it used); returns 1 when $1
# is none of them, so that the script's own options come next.
common_opt() {
    opt_shift=1
    case " ${common_opts:---short --long --build --out --duration --rounds --no-pin --strict --keep-tmp} " in
    *" ${1%%=*} "*) ;;
    *) return 1 ;;
    esac
    case $1 in
    --short) mode=short ;;
    --long) mode=long ;;
    --no-pin) pin=0 ;;
    --strict) strict=1 ;;
    --keep-tmp) keep_tmp=1 ;;
    --build=*) build_dir=${1#--build=} ;;
    --out=*) out_file=${1#--out=} ;;
    --duration=*) duration=${1#--duration=} ;;
    --rounds=*) rounds_opt=${1#--rounds=} ;;
    --build | --out | --duration | --rounds)
        need_arg "$1" $#
        opt_shift=2
        case $1 in
        --build) build_dir=$2 ;;
        --out) out_file=$2 ;;
        --duration) duration=$2 ;;
        *) rounds_opt=$2 ;;
        esac
        ;;
    *) return 1 ;;
    esac
}

# positive_int VALUE: true when VALUE is a whole number above 0.
positive_int() {
    case $1 in
    '' | *[!0-9]* | 0) return 1 ;;
    esac
    return 0
}

# --- processes and clean-up -----------------------------------------------------

# shellcheck disable=SC2317  # called from the EXIT trap
stop_pid() {
    # Ask politely, wait up to 5 s, then insist.
    local pid=$1 _
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}

# shellcheck disable=SC2317  # called from the EXIT trap
stop_started() {
    local pid
    for pid in $started_pids; do
        stop_pid "$pid"
    done
}

# forget_pid PID: a process the script stopped and waited for leaves
# started_pids, so that its number, if the system reuses it, is never
# signalled on exit.
forget_pid() {
    local p keep=""
    for p in $started_pids; do
        [ "$p" = "$1" ] || keep="$keep $p"
    done
    started_pids=$keep
}

# shellcheck disable=SC2317  # called from the EXIT trap
remove_tmp() {
    if [ "$keep_tmp" = 1 ]; then
        say "temporary files kept in $tmp"
    else
        rm -rf "$tmp"
    fi
}

# --- CPU pinning ----------------------------------------------------------------------

# The CPUs this process may run on: sets cpu_list (array) and ncpu.
detect_cpus() {
    local cpus=""
    if command -v python3 >/dev/null; then
        cpus=$(python3 -c 'import os; print(*sorted(os.sched_getaffinity(0)))' 2>/dev/null)
    fi
    [ -n "$cpus" ] || cpus=$(seq 0 $(($(nproc) - 1)) | tr '\n' ' ')
    # shellcheck disable=SC2206
    cpu_list=($cpus)
    ncpu=${#cpu_list[@]}
}

# move_to [-l] CPU PID...: pin every thread of the given processes to CPU;
# with -l, empty PIDs and processes that are gone are skipped silently.
move_to() {
    local live=0 cpu p
    if [ "$1" = -l ]; then
        live=1
        shift
    fi
    cpu=$1
    shift
    for p in "$@"; do
        if [ "$live" = 1 ]; then
            { [ -n "$p" ] && kill -0 "$p" 2>/dev/null; } || continue
        fi
        taskset -a -p -c "$cpu" "$p" >/dev/null 2>&1 ||
            say "warning: could not move process $p to CPU $cpu"
    done
}

# --- open files -----------------------------------------------------------------------

# raise_nofile: raises this shell's soft open-file limit to the hard one (an
# unlimited hard limit: fs.nr_open), so that every process it starts may
# open as many; sets nofile to the soft limit in force.
raise_nofile() {
    local hard
    hard=$(ulimit -Hn)
    [ "$hard" != unlimited ] || hard=$(cat /proc/sys/fs/nr_open 2>/dev/null || echo 1048576)
    ulimit -Sn "$hard" 2>/dev/null || say "warning: could not raise the open-file limit to $hard"
    nofile=$(ulimit -Sn)
}

# --- helpers --------------------------------------------------------------------------

# free_ports N [python-only]: N free TCP ports on 127.0.0.1, on one line.
# Without python3, random ports nobody listens on (unless python-only).
free_ports() {
    local count=$1
    if command -v python3 >/dev/null || [ "${2:-}" = python-only ]; then
        python3 - "$count" <<'EOF' && return 0
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])
EOF
        [ "${2:-}" != python-only ] || return 1
    fi
    # Fallback: random ports nobody listens on.
    local used ports="" p n=0
    used=$(ss -Htan 2>/dev/null | awk '{print $4}' | sed 's/.*://' | sort -u)
    while [ $n -lt "$count" ]; do
        p=$((20000 + RANDOM % 12000))
        if ! printf '%s\n' "$used" "$ports" | tr ' ' '\n' | grep -qx "$p"; then
            ports="$ports $p"
            n=$((n + 1))
        fi
    done
    echo "$ports"
}

# body_json SIZE [API]: the request body post.lua sends, byte for byte (keep in
# step with it; memory.lua's hit variant builds the same).
# With API (responses, messages), memory.lua's body of that API instead.
body_json() {
    local prefix suffix pad
    case ${2:-chat} in
    responses) prefix='{"model":"bench-model","max_output_tokens":16,"instructions":"You are a helpful assistant.","input":[{"role":"user","content":"' ;;
    messages) prefix='{"model":"bench-model","max_tokens":16,"system":"You are a helpful assistant.","messages":[{"role":"user","content":"' ;;
    *) prefix='{"model":"bench-model","max_tokens":16,"messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"' ;;
    esac
    suffix='"}]}'
    pad=$(($1 - ${#prefix} - ${#suffix}))
    [ $pad -ge 0 ] || pad=0
    printf '%s' "$prefix"
    yes 'lorem ipsum dolor sit amet ' | tr -d '\n' | head -c "$pad"
    printf '%s' "$suffix"
}

# log_tail FILE [LINES]: last lines of a log file, indented, for failure messages.
log_tail() {
    [ -s "$1" ] || {
        echo "    (empty)"
        return
    }
    tail -n "${2:-15}" "$1" | sed 's/^/    /'
}

# wait_http PID URL [SECS]: wait up to SECS (default 10) seconds until URL
# answers anything over HTTP; fails at once if PID exits.
wait_http() {
    local pid=$1 url=$2 code _
    for _ in $(seq $((${3:-10} * 10))); do
        if ! kill -0 "$pid" 2>/dev/null; then
            wait "$pid" 2>/dev/null
            return 1
        fi
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$url" 2>/dev/null)
        [ -n "$code" ] && [ "$code" != 000 ] && return 0
        sleep 0.1
    done
    return 1
}

# start_fake_upstream: start the fake upstream on a free port (pinned with
# pin_fake, with the extra options in fake_args when set); sets fake_pid and
# fake_port; exits 1 if it prints no PORT line. The benchmarks that start
# the fake upstream set fake_args=--no-prompt-cache: its prompt caching reads
# every body with jansson (about 30 µs of CPU per KB), which would be most of
# what their rows measure (docs/fake-upstream.md).
start_fake_upstream() {
    say "starting fake upstream ($fake_bin${fake_args:+ $fake_args})"
    # shellcheck disable=SC2086
    $pin_fake "$fake_bin" --host 127.0.0.1 --port 0 --quiet ${fake_args:-} >"$tmp/fake.out" 2>"$tmp/fake.err" &
    fake_pid=$!
    started_pids="$started_pids $fake_pid"
    fake_port=""
    local _
    for _ in $(seq 100); do
        fake_port=$(sed -n 's/^PORT \([0-9][0-9]*\)$/\1/p' "$tmp/fake.out" 2>/dev/null | head -n 1)
        [ -n "$fake_port" ] && break
        kill -0 "$fake_pid" 2>/dev/null || break
        sleep 0.05
    done
    if [ -z "$fake_port" ]; then
        say "the fake upstream did not print its PORT line; its stderr:"
        log_tail "$tmp/fake.err" >&2
        exit 1
    fi
}

# --- wrk runs -------------------------------------------------------------------------

# wrk_run OUTFILE CONNS SECS URL SCRIPT ARGS...: one wrk run (pinned with
# pin_wrk) with the Lua SCRIPT and its ARGS; sets the global "bench" array from the
# script's BENCH line; returns 1 if wrk failed to produce it.
declare -A bench
wrk_run() {
    local outf=$1 conns=$2 secs=$3 target_url=$4 script=$5 line kv
    shift 5
    bench=()
    # shellcheck disable=SC2086
    $pin_wrk "$wrk_bin" -t1 -c"$conns" -d"${secs}s" --timeout 5s --latency \
        -s "$script" "$target_url" -- "$@" >"$outf" 2>&1
    line=$(grep '^BENCH ' "$outf" | tail -n 1)
    [ -n "$line" ] || return 1
    for kv in ${line#BENCH }; do
        bench[${kv%%=*}]=${kv#*=}
    done
    return 0
}

errors_of_bench() {
    echo $((bench[status_errors] + bench[connect_errors] + bench[read_errors] + bench[write_errors] + bench[timeouts]))
}

errors_text() {
    local parts=""
    [ "${bench[status_errors]}" = 0 ] || parts="$parts status>=400: ${bench[status_errors]},"
    [ "${bench[connect_errors]}" = 0 ] || parts="$parts connect: ${bench[connect_errors]},"
    [ "${bench[read_errors]}" = 0 ] || parts="$parts read: ${bench[read_errors]},"
    [ "${bench[write_errors]}" = 0 ] || parts="$parts write: ${bench[write_errors]},"
    [ "${bench[timeouts]}" = 0 ] || parts="$parts timeout: ${bench[timeouts]},"
    parts=${parts%,}
    echo "${parts# }"
}

# add_errors KEY [WHAT]: account the errors of the last wrk run in
# res[KEY,errors] and res[KEY,errtext] (each entry prefixed "WHAT: ").
add_errors() {
    local k=$1 e
    e=$(errors_of_bench)
    res[$k,errors]=$((${res[$k,errors]:-0} + e))
    if [ "$e" != 0 ]; then
        res[$k,errtext]="${res[$k,errtext]:+${res[$k,errtext]}; }${2:+$2: }$(errors_text)"
    fi
}

# --- numbers --------------------------------------------------------------------------

fmt_int() { awk -v x="$1" 'BEGIN { printf "%.0f", x }'; }

# per_request_us NS N: NS nanoseconds spread over N requests (or records),
# in µs with one decimal; "n/a" when N is 0.
per_request_us() { awk -v c="$1" -v n="$2" 'BEGIN { if (n > 0) printf "%.1f", c / n / 1000; else print "n/a" }'; }

# pair_diffs "X..." "Y...": x[i] − y[i] for each i of the two space-separated
# lists (as long as X), space-separated.
pair_diffs() {
    local -a x y
    local i
    read -r -a x <<<"$1"
    read -r -a y <<<"$2"
    for ((i = 0; i < ${#x[@]}; i++)); do
        printf '%s ' $((x[i] - y[i]))
    done
}

# median of the numbers given as arguments
median() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
        if (NR == 0) { print "n/a"; exit }
        if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# --- how busy is the machine already? --------------------------------------------------

# Share of all CPUs busy over one second, from /proc/stat (other work on the
# machine makes every number in the report noisy; the report says so).
busy_sample() {
    awk '/^cpu / { idle = $5 + $6; total = 0; for (i = 2; i <= NF; i++) total += $i; print total, idle }' /proc/stat
}

# measure_busy_before: sets busy_before (percent) and warns when over 10.
measure_busy_before() {
    local tot0 idle0 tot1 idle1
    read -r tot0 idle0 <<<"$(busy_sample)"
    sleep 1
    read -r tot1 idle1 <<<"$(busy_sample)"
    busy_before=$(awk -v t=$((tot1 - tot0)) -v i=$((idle1 - idle0)) 'BEGIN { if (t > 0) printf "%.0f", 100 * (t - i) / t; else print 0 }')
    if [ "$busy_before" -gt 10 ]; then
        say "warning: the machine was ${busy_before}% busy before the benchmark started; results will be noisy"
    fi
}

# --- memproxy processes, metrics, CPU time (durable.sh, soak.sh) ---------------------

# proc_cpu_ns PID: CPU time in nanoseconds of every thread of PID that is
# still running (sum of /proc/PID/task/*/schedstat run times; clock ticks
# from /proc/PID/stat when schedstat is missing); 0 when PID is gone.
proc_cpu_ns() {
    local p=$1 s f hz
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
    hz=$(getconf CLK_TCK 2>/dev/null || echo 100)
    echo $(((f[11] + f[12]) * 1000000000 / hz))
}

# start_memproxy_ini NAME INI URL [VAR=VALUE...]: start memproxy_bin with the
# configuration INI (pinned with pin_memproxy, which may be empty), the
# given environment added, stdout/stderr to $tmp/memproxy-NAME.{out,log};
# wait up to 60 s until URL answers HTTP. Sets mp_pid (also added to
# started_pids); on failure sets mp_why and returns 1.
start_memproxy_ini() {
    local name=$1 ini=$2 check_url=$3 st
    shift 3
    mp_why=""
    # shellcheck disable=SC2086
    env "$@" ${pin_memproxy:-} "$memproxy_bin" -c "$ini" \
        >"$tmp/memproxy-$name.out" 2>"$tmp/memproxy-$name.log" &
    mp_pid=$!
    started_pids="$started_pids $mp_pid"
    wait_http "$mp_pid" "$check_url" 60 && return 0
    if kill -0 "$mp_pid" 2>/dev/null; then
        mp_why="memproxy is running but does not answer $check_url after 60 s"
    else
        wait "$mp_pid" 2>/dev/null
        st=$?
        mp_why="memproxy exited during start-up with status $st"
    fi
    mp_why="$mp_why (last log line: $(grep -v '^[[:space:]]*$' "$tmp/memproxy-$name.log" | tail -n 1 | cut -c 1-200))"
    say "$name: $mp_why; last lines of its log:"
    log_tail "$tmp/memproxy-$name.log" >&2
    return 1
}

# metrics_fetch ADMIN_URL FILE: save ADMIN_URL/metrics to FILE (empty on failure).
metrics_fetch() {
    curl -s --max-time 5 "$1/metrics" >"$2" 2>/dev/null || : >"$2"
}

# metric_in FILE NAME: the value of one sample of a saved /metrics (NAME
# with its labels exactly as printed); 0 when absent.
metric_in() {
    awk -v n="$2" 'index($0, n " ") == 1 { v = $2 } END { print (v == "" ? 0 : v) }' "$1"
}

# wait_sweep_done ADMIN_URL [SECS]: wait (default 120 s) until memproxy's
# start-up retention pass has finished; returns 1 if it did not.
wait_sweep_done() {
    local _
    for _ in $(seq $((${2:-120} * 5))); do
        if curl -s --max-time 2 "$1/metrics" 2>/dev/null |
            grep -Eq '^memproxy_retention_sweeps_total\{result="(ok|error)"\} [1-9]'; then
            return 0
        fi
        sleep 0.2
    done
    return 1
}

# wait_metric_zero ADMIN_URL METRIC MAX_SECS STALL_SECS: wait until the
# gauge METRIC of ADMIN_URL/metrics is 0, at most MAX_SECS, or until it
# stops shrinking for STALL_SECS. Sets drain_secs (wall time waited) and
# drain_depth (the last value seen); returns 1 if it is not 0.
wait_metric_zero() {
    local admin_url=$1 name=$2 max=$3 stall=$4 t0 last="" still=0 _ mfile=$tmp/drain-metrics.txt
    t0=$(date +%s%N)
    drain_depth=""
    for _ in $(seq $((max * 4))); do
        metrics_fetch "$admin_url" "$mfile"
        drain_depth=$(metric_in "$mfile" "$name")
        [ "$drain_depth" = 0 ] && break
        if [ "$drain_depth" = "$last" ]; then
            still=$((still + 1))
            [ "$still" -ge $((stall * 4)) ] && break
        else
            still=0
        fi
        last=$drain_depth
        sleep 0.25
    done
    drain_secs=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
    [ "$drain_depth" = 0 ]
}

# wait_queue_empty ADMIN_URL MAX_SECS STALL_SECS: wait_metric_zero on
# memproxy_memory_queue_depth (queued turns and changes, pending jobs).
wait_queue_empty() {
    wait_metric_zero "$1" memproxy_memory_queue_depth "$2" "$3"
}
