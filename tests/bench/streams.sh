#!/usr/bin/env bash
# memproxy streams benchmark: many long-lived SSE chat streams through nginx
# and through memproxy, next to the stream upstream reached directly; added
# time to first token and added delay of token events, the proxy's CPU per
# 1,000 events and memory per open stream; memproxy/nginx ratios and goals.
# See tests/bench/README.md for the method and how to read the tables.
#
# Usage: tests/bench/streams.sh [--short|--long] [--build DIR] [--out FILE]
#                               [--duration SEC] [--rounds N] [--targets LIST]
#                               [--scenarios LIST] [--no-pin] [--strict]
#                               [--keep-tmp] [--loopwatch]
# --short: 100 and 500 streams of 3 tokens x 50 ms, 3 rounds (CI smoke, ~70 s:
#   one round's p99 is decided by whichever proxy a preemption hits, see
#   tests/bench/README.md, "Where a tail comes from");
# --long: 100, 1,000 and 5,000 slow streams, 100 and 1,000 fast ones and a
#   burst of 2,000 starts, 3 rounds (~11 min).
# --loopwatch: time both proxies' event-loop passes (loopwatch.so, an
#   LD_PRELOAD shim around epoll_wait) and add their table to the report.
# Exit: 0 valid run, 1 setup error (missing binary, open-file limit, the
#       upstream would not start), 2 invalid run (a target failed, the client
#       saw errors), 3 valid run but a goal missed (only with --strict).

set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
prog=streambench
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"

mode=short
build_dir=$root/build
out_file=$root/.bench/streams.md
duration=""
rounds_opt=""
targets="direct nginx memproxy"
scenarios_opt=""
pin=1
strict=0
keep_tmp=0
loopwatch=0

usage() {
    sed -n '8,20p' "$0" | sed 's/^# \{0,1\}//'
}

while [ $# -gt 0 ]; do
    if common_opt "$@"; then
        shift "$opt_shift"
        continue
    fi
    case $1 in
    --targets) need_arg "$1" $# && targets=$(printf '%s' "$2" | tr ',' ' ') && shift ;;
    --targets=*) targets=$(printf '%s' "${1#--targets=}" | tr ',' ' ') ;;
    --scenarios) need_arg "$1" $# && scenarios_opt=$(printf '%s' "$2" | tr ',' ' ') && shift ;;
    --scenarios=*) scenarios_opt=$(printf '%s' "${1#--scenarios=}" | tr ',' ' ') ;;
    --loopwatch) loopwatch=1 ;;
    -h | --help)
        usage
        exit 0
        ;;
    *) die "unknown argument '$1' (try --help)" ;;
    esac
    shift
done

# --- scenarios ------------------------------------------------------------------
#
# name, streams (connections, one stream at a time each), tokens per stream,
# ms between tokens (the first comes one interval after the request), ramp
# (ms over which the connections start), streams per connection (0: as many
# as fit in the run's seconds, each connection going on with keep-alive).
# A steady scenario's ramp is one stream's length (tokens x interval), so
# that the streams' phases are even and the machine is not asked for
# thousands of connections at once. A family is the name before the dash:
# its rows differ only in streams.

long_scenarios="
slow-100 100 10 200 2000 0
slow-1000 1000 10 200 2000 0
slow-5000 5000 10 200 2000 0
fast-100 100 100 20 2000 0
fast-1000 1000 100 20 2000 0
burst-2000 2000 10 200 100 1
"
short_scenarios="
short-100 100 3 50 150 0
short-500 500 3 50 150 0
"
goal_streams=5000 # the goals are set at this many streams

if [ "$mode" = long ]; then
    run_secs=10
    rounds=3
    scenario_table=$long_scenarios
else
    run_secs=3
    rounds=3
    scenario_table=$short_scenarios
fi
if [ -n "$duration" ]; then
    positive_int "$duration" || die "--duration must be a positive whole number of seconds"
    run_secs=$duration
fi
if [ -n "$rounds_opt" ]; then
    positive_int "$rounds_opt" || die "--rounds must be a positive whole number"
    rounds=$rounds_opt
fi

declare -A sc_conns sc_tokens sc_interval sc_ramp sc_per_conn
scenarios=""
all_names=""
while read -r name conns tokens interval ramp per_conn; do
    [ -n "$name" ] || continue
    all_names="$all_names $name"
    sc_conns[$name]=$conns
    sc_tokens[$name]=$tokens
    sc_interval[$name]=$interval
    sc_ramp[$name]=$ramp
    sc_per_conn[$name]=$per_conn
done <<<"$long_scenarios$short_scenarios"
if [ -n "$scenarios_opt" ]; then
    for s in $scenarios_opt; do
        [ -n "${sc_conns[$s]:-}" ] || die "unknown scenario '$s' (scenarios:$all_names)"
    done
    scenarios=$scenarios_opt
else
    scenarios=$(printf '%s\n' "$scenario_table" | awk 'NF { printf "%s ", $1 }')
fi

for t in $targets; do
    case $t in
    direct | nginx | memproxy) ;;
    *) die "unknown target '$t' (targets: direct, nginx, memproxy)" ;;
    esac
done
# The added delays need the direct baseline.
case " $targets " in
*" direct "*) ;;
*) targets="direct $targets" ;;
esac
has_target() {
    case " $targets " in *" $1 "*) return 0 ;; esac
    return 1
}

# --- binaries ---------------------------------------------------------------------

case $build_dir in /*) ;; *) build_dir=$(pwd)/$build_dir ;; esac
case $out_file in /*) ;; *) out_file=$(pwd)/$out_file ;; esac

fake_bin=$build_dir/tests/bench/stream_upstream # start_fake_upstream starts it
client_bin=$build_dir/tests/bench/stream_client
loopwatch_so=$build_dir/tests/bench/loopwatch.so
memproxy_bin=$build_dir/proxy/memproxy
nginx_bin=${NGINX:-$(command -v nginx || true)}
[ -n "$nginx_bin" ] || [ ! -x /usr/sbin/nginx ] || nginx_bin=/usr/sbin/nginx

[ -d "$build_dir" ] || die "build directory $build_dir does not exist; build first (meson setup build -Dtests=true && ninja -C build) or pass --build DIR"
for b in "$fake_bin" "$client_bin"; do
    [ -x "$b" ] || die "$b not found; build it (ninja -C $build_dir; the tests option must be on: meson configure $build_dir -Dtests=true)"
done
[ "$loopwatch" = 0 ] || [ -f "$loopwatch_so" ] || die "$loopwatch_so not found; build it (ninja -C $build_dir with -Dtests=true)"
if has_target memproxy; then
    [ -x "$memproxy_bin" ] || die "memproxy not found at $memproxy_bin; build it first (ninja -C $build_dir) or leave it out with --targets direct,nginx"
fi
if has_target nginx; then
    { [ -n "$nginx_bin" ] && [ -x "$nginx_bin" ]; } ||
        die "nginx not found; install nginx-light (scripts/install-deps.sh --test) or leave it out with --targets direct,memproxy"
    [ -r "$here/nginx-streams.conf.in" ] || die "missing $here/nginx-streams.conf.in"
fi
command -v curl >/dev/null || die "curl not found; install it (apt-get install curl)"

# --- open files: every stream holds a client and an upstream socket in the proxy --

max_conns=0
for s in $scenarios; do
    [ "${sc_conns[$s]}" -gt "$max_conns" ] && max_conns=${sc_conns[$s]}
done
raise_nofile
need_files=$((2 * max_conns + 512))
[ "$nofile" -ge "$need_files" ] ||
    die "the open-file limit is $nofile; $max_conns streams need $need_files (2 descriptors a stream in the proxy): raise the hard limit (ulimit -Hn as root, LimitNOFILE= in systemd, --ulimit nofile= in docker) or pick smaller --scenarios"

# --- temporary directory and clean-up ---------------------------------------------

tmp=$(mktemp -d "${TMPDIR:-/tmp}/memproxy-streams.XXXXXX") || die "cannot create a temporary directory"
chmod 755 "$tmp" # nginx's worker may run as nobody; it only needs to traverse it

started_pids=""
fake_pid=""
target_pid="" # the proxy of the run in progress (nginx's master, or memproxy)

# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
    trap - EXIT INT TERM
    [ -z "$target_pid" ] || stop_target
    stop_started
    remove_tmp
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- CPU pinning --------------------------------------------------------------------
# The proxy under test (every process and thread) alone on one CPU; the stream
# upstream and the client on the other, as run.sh's throughput layout.

detect_cpus
pin_fake=""
pin_client=""
pin_proxy=""
if [ "$pin" = 1 ] && command -v taskset >/dev/null && [ "$ncpu" -ge 2 ] &&
    taskset -c "${cpu_list[0]}" true 2>/dev/null; then
    pin_fake="taskset -c ${cpu_list[0]}"
    pin_client="taskset -c ${cpu_list[0]}"
    pin_proxy="taskset -c ${cpu_list[1]}"
    proxy_cpu=${cpu_list[1]}
    pin_desc="stream upstream and client on CPU ${cpu_list[0]}, the proxy under test alone on CPU ${cpu_list[1]}"
elif [ "$pin" = 1 ]; then
    pin_desc="none (needs taskset and 2 CPUs)"
else
    pin_desc="none (--no-pin)"
fi
pin_memproxy=$pin_proxy # start_memproxy_ini's

# cpu_steal_ms: the time the hypervisor took from the proxy's CPU so far
# (/proc/stat's steal, in ms), or nothing when the proxy is not pinned or
# the kernel does not count it.
cpu_steal_ms() {
    [ -n "${proxy_cpu:-}" ] || return 0
    awk -v cpu="cpu$proxy_cpu" -v hz="$(getconf CLK_TCK 2>/dev/null || echo 100)" \
        '$1 == cpu && NF >= 9 { printf "%.0f", $9 * 1000 / hz }' /proc/stat
}

# --- targets: a fresh proxy per measured run -----------------------------------------

declare -A failed  # target,scenario -> why it is out
declare -A res     # target,scenario,round,field -> value; target,scenario,field -> median
declare -A st      # the client's last STREAMS line
invalid_reasons=()
notes=()
target_url=""

# start_target TARGET SCENARIO: a fresh nginx or memproxy (nothing for
# direct); sets target_url and target_pid; on failure sets start_why and
# returns 1.
start_target() {
    local t=$1 s=$2 port aport
    start_why=""
    target_url=127.0.0.1:$fake_port
    [ "$t" != direct ] || return 0
    read -r port aport <<<"$(free_ports 2)"
    target_url=127.0.0.1:$port
    if [ "$t" = nginx ]; then
        # nginx closes connections waiting for a request once fewer than 1/16
        # of its worker_connections are free: room for 3 a stream
        start_nginx "$port" $((3 * sc_conns[$s] + 1024 < nofile ? 3 * sc_conns[$s] + 1024 : nofile))
        return
    fi
    mkdir -p "$tmp/memproxy-data"
    cat >"$tmp/memproxy.ini" <<EOF
; generated by tests/bench/streams.sh
[server]
listen = $target_url
admin_listen = 127.0.0.1:$aport
workers = 1
drain_timeout_ms = 2000

[upstream]
base_url = http://127.0.0.1:$fake_port/v1

[memory]
mode = off

[storage]
path = $tmp/memproxy-data

[log]
level = warn
EOF
    # shellcheck disable=SC2046
    if ! start_memproxy_ini "$s" "$tmp/memproxy.ini" "http://$target_url/" $(watch_env); then
        start_why=$mp_why
        target_pid=$mp_pid
        return 1
    fi
    target_pid=$mp_pid
}

# watch_env: the environment that loads loopwatch into the proxy of the run
# (watch_dir, set by measure), or nothing without --loopwatch.
watch_env() {
    [ "$loopwatch" = 1 ] && [ -n "${watch_dir:-}" ] || return 0
    printf 'LD_PRELOAD=%s LOOPWATCH_DIR=%s' "$loopwatch_so" "$watch_dir"
}

# watch_read KEY DIR: the busiest loop thread's numbers (the most events)
# from loopwatch's files in DIR into res[KEY,lw_*]: passes, events per
# pass, pass time p50 / p99 / max (µs; the percentiles as the upper bound
# of their power-of-two bucket), the passes of 4 ms or more, loop time per
# event (µs).
watch_read() {
    local k=$1 dir=$2 line
    line=$(cat "$dir"/loopwatch-*.txt 2>/dev/null | awk '
        function pct(q,   i, acc) {
            acc = 0
            for (i = 1; i <= nb; i++) { acc += cnt[i]; if (acc >= q * passes) return up[i] }
            return up[nb]
        }
        function flush() {
            if (name == "" || events <= best) return
            best = events
            out = sprintf("%d %.1f %s %s %d %d %.1f %s %s", passes, events / passes, pct(0.5), pct(0.99), maxus, over4, work / events, \
                owall > 0 ? sprintf("%.0f", 100 * ocpu / owall) : "-", opre "/" oblk)
        }
        $1 == "thread" { flush(); name = $2; passes = $4; events = $6; work = $8; nb = 0; maxus = 0; over4 = 0; owall = 0; ocpu = 0; opre = 0; oblk = 0; next }
        $1 == "over4" { owall = $3; ocpu = $4; opre = $5; oblk = $6; next }
        $1 == "pass_us" { nb++; up[nb] = $2; cnt[nb] = $3; if ($2 > 4096) over4 += $3; next }
        $1 == "long" { if ($3 > maxus) maxus = $3; next }
        END { flush(); if (best > 0) print out }')
    [ -n "$line" ] || return 0
    read -r "res[$k,lw_passes]" "res[$k,lw_per]" "res[$k,lw_p50]" "res[$k,lw_p99]" "res[$k,lw_max]" "res[$k,lw_over4]" "res[$k,lw_work]" "res[$k,lw_oncpu]" "res[$k,lw_switched]" <<<"$line"
}

# start_nginx PORT WORKER_CONNECTIONS: nginx from nginx-streams.conf.in.
start_nginx() {
    sed -e '/^#/d' -e "s|@TMP@|$tmp|g" -e "s|@LISTEN@|127.0.0.1:$1|g" \
        -e "s|@UPSTREAM@|127.0.0.1:$fake_port|g" -e "s|@NOFILE@|$nofile|g" \
        -e "s|@WORKER_CONNECTIONS@|$2|g" "$here/nginx-streams.conf.in" >"$tmp/nginx-streams.conf"
    : >"$tmp/nginx-error.log"
    # shellcheck disable=SC2046,SC2086
    env $(watch_env) $pin_proxy "$nginx_bin" -p "$tmp/" -c "$tmp/nginx-streams.conf" >"$tmp/nginx.stdout" 2>"$tmp/nginx.stderr" &
    target_pid=$!
    started_pids="$started_pids $target_pid"
    wait_http "$target_pid" "http://$target_url/" && return 0
    start_why="nginx did not start or does not answer on $target_url (last log line: $(cat "$tmp/nginx.stderr" "$tmp/nginx-error.log" 2>/dev/null | grep -v '^[[:space:]]*$' | tail -n 1 | cut -c 1-200))"
    return 1
}

# stop_target: stops the proxy of the run (nginx's workers too).
stop_target() {
    local kids pid
    [ -n "$target_pid" ] || return 0
    kids=$(pgrep -P "$target_pid" 2>/dev/null || true)
    stop_pid "$target_pid"
    for pid in $kids; do
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    done
    forget_pid "$target_pid"
    target_pid=""
}

# target_pids TARGET: the processes whose CPU and memory count: the proxy's
# (nginx: master and worker), for direct the stream upstream.
target_pids() {
    if [ "$1" = direct ]; then
        echo "$fake_pid"
    else
        echo "$target_pid $(pgrep -P "$target_pid" 2>/dev/null | tr '\n' ' ')"
    fi
}

# --- the client -------------------------------------------------------------------------

# client_run TAG ARGS...: one stream_client run against target_url (pinned
# with pin_client); fills st from its STREAMS line; returns 1 without one.
client_run() {
    local tag=$1 line kv
    shift
    st=()
    # shellcheck disable=SC2086
    $pin_client "$client_bin" --target "$target_url" "$@" >"$tmp/client-$tag.out" 2>"$tmp/client-$tag.err"
    line=$(grep '^STREAMS ' "$tmp/client-$tag.out" | tail -n 1)
    [ -n "$line" ] || return 1
    for kv in ${line#STREAMS }; do
        st[${kv%%=*}]=${kv#*=}
    done
    st[first_error]=$(sed -n 's/^stream_client: first error: //p' "$tmp/client-$tag.err" | head -n 1)
    return 0
}

# check_target TAG: 2 connections, 2 streams each of 2 tokens: every stream
# must come whole. Prints why not.
check_target() {
    if ! client_run "$1-check" --connections 2 --streams-per-conn 2 --tokens 2 --interval-ms 10 --deadline 20; then
        echo "the client printed no result: $(tail -n 2 "$tmp/client-$1-check.err" | tr '\n' ' ')"
        return 1
    fi
    if [ "${st[streams]}" != 4 ] || [ "${st[errors]}" != 0 ]; then
        echo "check streams: ${st[streams]} of 4 complete, ${st[errors]} errors (${st[first_error]:-no detail})"
        return 1
    fi
}

# client_args SCENARIO: the load of one measured run.
client_args() {
    local s=$1 stream_ms
    stream_ms=$(((sc_tokens[$s] + 1) * sc_interval[$s]))
    printf -- '--connections %s --tokens %s --interval-ms %s --ramp %s ' \
        "${sc_conns[$s]}" "${sc_tokens[$s]}" "${sc_interval[$s]}" "${sc_ramp[$s]}"
    if [ "${sc_per_conn[$s]}" = 0 ]; then
        printf -- '--duration %s --deadline %s' "$run_secs" $((run_secs + sc_ramp[$s] / 1000 + 2 * stream_ms / 1000 + 30))
    else
        printf -- '--streams-per-conn %s --deadline %s' "${sc_per_conn[$s]}" $((sc_per_conn[$s] * stream_ms / 1000 + sc_ramp[$s] / 1000 + 30))
    fi
}

# upstream_stat FIELD: one counter of the stream upstream (GET /_bench/stats,
# whose own connection it counts); empty when it does not answer.
upstream_stat() {
    curl -s --max-time 5 "http://127.0.0.1:$fake_port/_bench/stats" 2>/dev/null |
        tr ' ' '\n' | sed -n "s/^$1=//p"
}

# rss_sum PIDS: VmRSS in KB of the given processes, summed.
rss_sum() {
    local p kb t=0
    for p in "$@"; do
        kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null)
        t=$((t + ${kb:-0}))
    done
    echo "$t"
}

# cpu_sum_ns PIDS: CPU time of the given processes (all threads), summed.
cpu_sum_ns() {
    local p t=0
    for p in "$@"; do
        t=$((t + $(proc_cpu_ns "$p")))
    done
    echo "$t"
}

# measure TARGET SCENARIO ROUND: a fresh target, the check, then one
# measured client run; results in res[TARGET,SCENARIO,ROUND,*].
measure() {
    local t=$1 s=$2 r=$3 k=$1,$2,$3 pids idle cpu0 cpu1 up0 up1 ab0 ab1 steal0 steal1 why rss_args="" p f
    watch_dir=""
    if [ "$loopwatch" = 1 ] && [ "$t" != direct ]; then
        # nginx's worker runs as nobody: it must be able to write there
        watch_dir=$tmp/loopwatch-$t-$s-$r
        mkdir -p "$watch_dir" && chmod 1777 "$watch_dir"
    fi
    if ! start_target "$t" "$s"; then
        failed[$t,$s]="did not start: $start_why"
        stop_target
        return 1
    fi
    if ! why=$(check_target "$t-$s-$r"); then
        failed[$t,$s]="check failed: $why"
        stop_target
        return 1
    fi
    pids=$(target_pids "$t")
    if [ "$t" != direct ]; then
        for p in $pids; do rss_args="$rss_args --rss-pid $p"; done
    fi
    # shellcheck disable=SC2086
    idle=$(rss_sum $pids)
    # shellcheck disable=SC2086
    cpu0=$(cpu_sum_ns $pids)
    up0=$(upstream_stat connections)
    ab0=$(upstream_stat aborted)
    steal0=$(cpu_steal_ms)
    # shellcheck disable=SC2046,SC2086
    if ! client_run "$t-$s-$r" $(client_args "$s") $rss_args; then
        failed[$t,$s]="the client printed no result: $(tail -n 2 "$tmp/client-$t-$s-$r.err" | tr '\n' ' ')"
        stop_target
        return 1
    fi
    # shellcheck disable=SC2086
    cpu1=$(cpu_sum_ns $pids)
    steal1=$(cpu_steal_ms)
    up1=$(upstream_stat connections)
    ab1=$(upstream_stat aborted)
    note_log "$t" "$s" "$r"
    stop_target
    [ -z "$watch_dir" ] || watch_read "$k" "$watch_dir"
    for f in streams events ttft_p50_us ttft_p99_us gap_added_p50_us gap_added_p99_us \
        rss_kb rss_open open_max errors stalled; do
        res[$k,$f]=${st[$f]}
    done
    res[$k,first_error]=${st[first_error]}
    res[$k,idle_kb]=$idle
    res[$k,cpu_ns]=$((cpu1 - cpu0))
    res[$k,steal_ms]=-
    [ -z "$steal0" ] || [ -z "$steal1" ] || res[$k,steal_ms]=$((steal1 - steal0))
    # the second stats request's own connection is not the run's
    res[$k,up_conns]=$((${up1:-0} - ${up0:-0} - 1))
    [ $((${ab1:-0} - ${ab0:-0})) = 0 ] ||
        notes+=("$t, $s, round $r: $((ab1 - ab0)) streams were left by their reader before their end at the stream upstream")
    res[$t,$s,rounds]="${res[$t,$s,rounds]:-} $r"
    say "$t, $s, round $r: ${st[streams]} streams, ${st[events]} events, TTFT p99 ${st[ttft_p99_us]} us, token delay p99 ${st[gap_added_p99_us]} us, errors ${st[errors]}"
}

# note_log TARGET SCENARIO ROUND: what the proxy logged at warn and above
# during the run (memproxy's start-up warning about an unencrypted store
# aside), as a note.
note_log() {
    local f lines n
    case $1 in
    memproxy)
        f=$tmp/memproxy-$2.log
        lines=$(grep -E '"level":"(warn|error)"|level=(warn|error)' "$f" 2>/dev/null | grep -v 'storage is not encrypted')
        ;;
    nginx)
        f=$tmp/nginx-error.log
        lines=$(grep -E '\[(warn|error|crit|alert|emerg)\]' "$f" 2>/dev/null)
        ;;
    *) return 0 ;;
    esac
    [ -n "$lines" ] || return 0
    n=$(printf '%s\n' "$lines" | wc -l)
    notes+=("$1, $2, round $3: $n log lines at warn or above, the first: $(printf '%s\n' "$lines" | head -n 1 | cut -c 1-240 | sed 's/|/\\|/g')")
}

# --- measure ------------------------------------------------------------------------------
#
# For each scenario, rounds; in each round the direct baseline, then nginx
# and memproxy, their order swapped every other round, so that a change in
# background load hits both proxies alike and every ratio compares runs of
# one round.

measure_busy_before
say "mode $mode: scenarios $scenarios; $rounds round(s), ${run_secs}s runs; open-file limit $nofile; pinning: $pin_desc"
start_fake_upstream
say "stream upstream on port $fake_port"

for s in $scenarios; do
    for r in $(seq "$rounds"); do
        order="direct nginx memproxy"
        [ $((r % 2)) = 1 ] || order="direct memproxy nginx"
        for t in $order; do
            has_target "$t" || continue
            [ -z "${failed[$t,$s]:-}" ] || continue
            measure "$t" "$s" "$r" || say "$t, $s: FAILED: ${failed[$t,$s]}"
        done
    done
done

# --- derived numbers ---------------------------------------------------------------------

# Added delays under this many µs count as this much in the ratios: below it
# a 2-CPU machine's noise is larger than the difference.
floor_us=1000

# derive T S: per round, what T adds over direct and what it costs; then medians.
derive() {
    local t=$1 s=$2 r k d f v
    for r in ${res[$t,$s,rounds]:-}; do
        k=$t,$s,$r
        d=direct,$s,$r
        res[$k,cpu1k]=$(awk -v ns="${res[$k,cpu_ns]}" -v e="${res[$k,events]}" 'BEGIN { if (e > 0) printf "%.0f", ns / e; else print "" }')
        res[$k,up_per]=$(awk -v c="${res[$k,up_conns]}" -v n="${res[$k,streams]}" 'BEGIN { if (n > 0) printf "%.2f", c / n; else print "" }')
        if [ "$t" != direct ] && [ "${res[$k,rss_open]:-0}" -gt 0 ]; then
            res[$k,kb_stream]=$(awk -v a="${res[$k,rss_kb]}" -v b="${res[$k,idle_kb]}" -v n="${res[$k,rss_open]}" 'BEGIN { printf "%.1f", (a - b) / n }')
        fi
        [ -n "${res[$d,ttft_p50_us]:-}" ] || continue
        res[$k,ttft_add50]=$((${res[$k,ttft_p50_us]} - ${res[$d,ttft_p50_us]}))
        res[$k,ttft_add99]=$((${res[$k,ttft_p99_us]} - ${res[$d,ttft_p99_us]}))
        res[$k,itl_add50]=$((${res[$k,gap_added_p50_us]} - ${res[$d,gap_added_p50_us]}))
        res[$k,itl_add99]=$((${res[$k,gap_added_p99_us]} - ${res[$d,gap_added_p99_us]}))
    done
    for f in ttft_p50_us ttft_p99_us gap_added_p50_us gap_added_p99_us ttft_add50 ttft_add99 \
        itl_add50 itl_add99 cpu1k kb_stream up_per; do
        v=""
        for r in ${res[$t,$s,rounds]:-}; do
            v="$v ${res[$t,$s,$r,$f]:-}"
        done
        # shellcheck disable=SC2086
        [ -z "${v// /}" ] || res[$t,$s,$f]=$(median $v)
    done
}

# ratio_of S FIELD [FLOOR]: median over the rounds of memproxy / nginx in
# the same round (each side at least FLOOR); empty when not measured.
ratio_of() {
    local s=$1 f=$2 fl=${3:-0} r m n v=""
    for r in ${res[memproxy,$s,rounds]:-}; do
        m=${res[memproxy,$s,$r,$f]:-}
        n=${res[nginx,$s,$r,$f]:-}
        { [ -n "$m" ] && [ -n "$n" ]; } || continue
        v="$v $(awk -v m="$m" -v n="$n" -v f="$fl" 'BEGIN { if (m < f) m = f; if (n < f) n = f; if (n > 0) printf "%.3f", m / n }')"
    done
    # shellcheck disable=SC2086
    [ -z "${v// /}" ] || median $v
}

for s in $scenarios; do
    for t in $targets; do
        derive "$t" "$s"
    done
    # The direct run is the floor only if the client and the upstream kept up.
    v=${res[direct,$s,gap_added_p99_us]:-}
    if [ -n "$v" ] && awk -v v="$v" -v l=$((sc_interval[$s] * 100)) 'BEGIN { exit !(v > l) }'; then
        notes+=("$s: direct's token delay p99 is $v µs, over 10% of the interval: the client and the stream upstream did not keep up (their CPU is busy), so this scenario's added numbers are not the proxies' alone")
    fi
done

# --- report -------------------------------------------------------------------------------

num() { if [ -n "${1:-}" ]; then fmt_int "$1"; else echo "—"; fi; }
ratio_text() { if [ -n "${1:-}" ]; then awk -v x="$1" 'BEGIN { printf "%.2f", x }'; else echo "n/a"; fi; }

# The goal scenario: slow-5000, else the steady scenario with the most streams.
goal_scenario=""
for s in $scenarios; do
    [ "${sc_per_conn[$s]}" = 0 ] || continue
    if [ -z "$goal_scenario" ] || [ "${sc_conns[$s]}" -gt "${sc_conns[$goal_scenario]}" ]; then
        goal_scenario=$s
    fi
done

goal_missed=()
goal_unmeasured=()
goal_rows=()
flat_rows=()

# goal_check WHAT SCENARIO RATIO LIMIT: one row of the goals table; a miss or
# a ratio that could not be had is noted for the verdict and --strict.
goal_check() {
    local what=$1 s=$2 x=$3 lim=$4 v
    if [ -z "$x" ]; then
        v="not measured"
        goal_unmeasured+=("$what ($s)")
    elif awk -v x="$x" -v l="$lim" 'BEGIN { exit !(x <= l) }'; then
        v=met
    else
        v="**missed**"
        goal_missed+=("$what ($s): $(ratio_text "$x") > $lim")
    fi
    goal_rows+=("| $what | $s | $(ratio_text "$x") | ≤ $lim | $v |")
}

# growth T FIELD MANY OTHERS...: T's FIELD at the scenario MANY over its
# lowest at the OTHERS; empty when a value is missing or not above 0.
growth() {
    local t=$1 f=$2 many=$3 o vals=""
    shift 3
    for o in "$@"; do
        vals="$vals ${res[$t,$o,$f]:-x}"
    done
    awk -v m="${res[$t,$many,$f]:-x}" -v vals="$vals" 'BEGIN {
        n = split(vals, v, " "); low = ""
        for (i = 1; i <= n; i++) {
            if (v[i] == "x" || v[i] + 0 <= 0) exit
            if (low == "" || v[i] + 0 < low) low = v[i] + 0
        }
        if (m != "x" && m + 0 > 0 && low != "") printf "%.3f", m / low }'
}

# check_flat FAMILY: the family's steady scenarios by streams; a row per
# proxy with its costs along them, and as goals memproxy's costs at the most
# streams against its lowest at fewer (a cost per event that falls with the
# load, as wake-ups are shared, must not hide a rise at the top).
check_flat() {
    local fam=$1 list many others t cpus kbs
    list=$(for s in $scenarios; do
        [ "${s%%-*}" = "$fam" ] && [ "${sc_per_conn[$s]}" = 0 ] && echo "${sc_conns[$s]} $s"
    done | sort -n | awk '{ print $2 }')
    [ "$(echo "$list" | wc -w)" -ge 2 ] || return 0
    many=$(echo "$list" | tail -n 1)
    others=$(echo "$list" | sed '$d' | paste -sd ' ')
    for t in nginx memproxy; do
        has_target "$t" || continue
        cpus=$(for s in $list; do
            num "${res[$t,$s,cpu1k]:-}"
            echo
        done | paste -sd ' ' | sed 's/ / → /g')
        kbs=$(for s in $list; do echo "${res[$t,$s,kb_stream]:-—}"; done | paste -sd ' ' | sed 's/ / → /g')
        # shellcheck disable=SC2086
        flat_rows+=("| $fam: $(echo "$list" | paste -sd ' ' | sed 's/ / → /g') | $t | $cpus | $(ratio_text "$(growth "$t" cpu1k "$many" $others)") | $kbs | $(ratio_text "$(growth "$t" kb_stream "$many" $others)") |")
    done
    has_target memproxy || return 0
    # shellcheck disable=SC2086
    goal_check "memproxy CPU / 1k events, $many over the lowest below" "$fam" "$(growth memproxy cpu1k "$many" $others)" 1.25
    # shellcheck disable=SC2086
    goal_check "memproxy KB / open stream, $many over the lowest below" "$fam" "$(growth memproxy kb_stream "$many" $others)" 1.25
}

if has_target nginx && has_target memproxy && [ -n "$goal_scenario" ]; then
    g=$goal_scenario
    goal_check "added TTFT p99, memproxy / nginx" "$g" "$(ratio_of "$g" ttft_add99 $floor_us)" 2
    goal_check "added token delay p99, memproxy / nginx" "$g" "$(ratio_of "$g" itl_add99 $floor_us)" 2
    goal_check "CPU per 1,000 events, memproxy / nginx" "$g" "$(ratio_of "$g" cpu1k)" 1.25
    goal_check "memory per open stream, memproxy / nginx" "$g" "$(ratio_of "$g" kb_stream)" 1.25
fi
for fam in $(for s in $scenarios; do echo "${s%%-*}"; done | sort -u); do
    check_flat "$fam"
done

# row T S: one line of the main table.
row() {
    local t=$1 s=$2 errs="" r e
    if [ -n "${failed[$t,$s]:-}" ]; then
        echo "| $s | $t | FAILED: $(printf '%s' "${failed[$t,$s]}" | head -n 1 | sed 's/|/\\|/g') | | | | | | | | | |"
        invalid_reasons+=("$t, $s: ${failed[$t,$s]}")
        return
    fi
    [ -n "${res[$t,$s,rounds]:-}" ] || return 0
    local streams=0 events=0 ekeys=0
    for r in ${res[$t,$s,rounds]}; do
        streams=$((streams + ${res[$t,$s,$r,streams]}))
        events=$((events + ${res[$t,$s,$r,events]}))
        e=${res[$t,$s,$r,errors]}
        if [ "$e" != 0 ]; then
            ekeys=$((ekeys + e))
            errs="${errs:+$errs; }round $r: $e (${res[$t,$s,$r,stalled]} stalled; ${res[$t,$s,$r,first_error]:-no detail})"
        fi
    done
    if [ "$ekeys" != 0 ]; then
        invalid_reasons+=("$t, $s: the client saw errors: $errs")
        errs="**$ekeys**: $(printf '%s' "$errs" | sed 's/|/\\|/g')"
    else
        errs=0
    fi
    local cpu=${res[$t,$s,cpu1k]:-}
    [ "$t" != direct ] || cpu="${cpu:+$cpu (upstream)}"
    echo "| $s | $t | $streams | $events | $(num "${res[$t,$s,ttft_p50_us]:-}") / $(num "${res[$t,$s,ttft_p99_us]:-}") | $(num "${res[$t,$s,ttft_add50]:-}") / $(num "${res[$t,$s,ttft_add99]:-}") | $(num "${res[$t,$s,gap_added_p50_us]:-}") / $(num "${res[$t,$s,gap_added_p99_us]:-}") | $(num "${res[$t,$s,itl_add50]:-}") / $(num "${res[$t,$s,itl_add99]:-}") | ${cpu:-—} | ${res[$t,$s,kb_stream]:-—} | ${res[$t,$s,up_per]:-—} | $errs |"
}

report=$tmp/report.md
{
    echo "# memproxy streams benchmark"
    echo
    if [ "$rounds" = 1 ]; then
        echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $mode mode: one run per scenario and target, ${run_secs} s of streams (burst: one stream per connection)."
    else
        echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $mode mode: medians of $rounds rounds, the targets taking turns within each round; ${run_secs} s of streams per run (burst: one stream per connection)."
    fi
    echo "POST /v1/chat/completions, stream: true; the stream upstream sends the scenario's token events, then a stop event and [DONE]. A fresh proxy per run: memproxy workers = 1, memory mode off; nginx 1 worker, proxy_buffering off, keep-alive upstream (tests/bench/nginx-streams.conf.in)."
    echo
    echo "| scenario | streams | tokens x interval | start |"
    echo "|---|---:|---|---|"
    for s in $scenarios; do
        if [ "${sc_per_conn[$s]}" = 0 ]; then
            start="over ${sc_ramp[$s]} ms, then back to back on each connection (keep-alive)"
        else
            start="all within ${sc_ramp[$s]} ms, ${sc_per_conn[$s]} stream per connection"
        fi
        echo "| $s | ${sc_conns[$s]} | ${sc_tokens[$s]} x ${sc_interval[$s]} ms | $start |"
    done
    echo
    echo "| scenario | target | streams done | events | TTFT p50 / p99 µs | added TTFT p50 / p99 µs | token delay p50 / p99 µs | added token delay p50 / p99 µs | CPU µs / 1k events | KB / open stream | upstream conns / stream | errors |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    for s in $scenarios; do
        for t in $targets; do
            row "$t" "$s"
        done
    done
    echo
    echo "TTFT: first token event's arrival minus the request's send time (the upstream waits one interval before it). Token delay: an event's arrival minus the send time the upstream stamped in it (all events but the first). Added: the target's value minus direct's in the same round (a difference of percentiles). CPU: the proxy's processes (all threads; nginx's master and worker), per 1,000 events received by the client; for direct, the stream upstream's. KB / open stream: the proxy's RSS sampled while the most streams were open, minus its RSS before the run, divided by those streams. Upstream conns / stream: connections the stream upstream accepted during the run per stream completed (1 / streams per connection when every connection to it is kept alive; for direct, the client's)."
    echo
    if [ "$loopwatch" = 1 ]; then
        echo "## Event-loop passes (--loopwatch)"
        echo
        echo "Each round's run, the proxy's busiest event-loop thread (memproxy's worker; nginx's worker process). A pass: from one epoll_wait() returning to the next call, the callbacks of the events it returned and what the loop runs after them; an event that arrives during a pass waits for its end. Pass times are the upper bounds of power-of-two buckets (µs); the longest is exact. On CPU: the share of the long passes' time the thread ran (its own CPU time; what the hypervisor took is not counted as run); switched: how many long passes saw an involuntary / a voluntary context switch (another task had the CPU / the thread blocked). Steal: what the hypervisor took from the proxy's CPU during the run (/proc/stat). Long passes mostly off CPU with no switch were the host's."
        echo
        echo "| scenario | target | round | passes | events / pass | pass p50 / p99 / longest µs | passes ≥ 4 ms | on CPU % | switched | steal ms | loop µs / epoll event |"
        echo "|---|---|---:|---:|---:|---|---:|---:|---:|---:|---:|"
        for s in $scenarios; do
            for t in nginx memproxy; do
                for r in ${res[$t,$s,rounds]:-}; do
                    k=$t,$s,$r
                    [ -n "${res[$k,lw_passes]:-}" ] || continue
                    echo "| $s | $t | $r | $(fmt_int "${res[$k,lw_passes]}") | ${res[$k,lw_per]} | $(fmt_int "${res[$k,lw_p50]}") / $(fmt_int "${res[$k,lw_p99]}") / $(fmt_int "${res[$k,lw_max]}") | ${res[$k,lw_over4]} | ${res[$k,lw_oncpu]:--} | ${res[$k,lw_switched]:--} | ${res[$k,steal_ms]:--} | ${res[$k,lw_work]} |"
                done
            done
        done
        echo
    fi
    if has_target nginx && has_target memproxy; then
        echo "## memproxy / nginx"
        echo
        echo "Per round, then the median. Added delays under $floor_us µs count as $floor_us µs."
        echo
        echo "| scenario | added TTFT p99 | added token delay p99 | CPU / 1k events | KB / open stream |"
        echo "|---|---:|---:|---:|---:|"
        for s in $scenarios; do
            echo "| $s | $(ratio_text "$(ratio_of "$s" ttft_add99 $floor_us)") | $(ratio_text "$(ratio_of "$s" itl_add99 $floor_us)") | $(ratio_text "$(ratio_of "$s" cpu1k)") | $(ratio_text "$(ratio_of "$s" kb_stream)") |"
        done
        echo
        echo "## Goals"
        echo
        if [ -z "$goal_scenario" ]; then
            echo "No steady scenario was run: the ratio goals are not evaluated."
            echo
            goal_unmeasured+=("the ratios (no steady scenario)")
        elif [ "${sc_conns[$goal_scenario]}" != "$goal_streams" ]; then
            echo "The ratio goals are set at $goal_streams streams; this run's largest steady scenario, $goal_scenario (${sc_conns[$goal_scenario]} streams), stands in."
            echo
        fi
        if [ ${#goal_rows[@]} != 0 ]; then
            echo "| goal | scenario | value | limit | verdict |"
            echo "|---|---|---:|---|---|"
            printf '%s\n' "${goal_rows[@]}"
            echo
        fi
        if [ ${#flat_rows[@]} != 0 ]; then
            echo "Cost per stream as streams grow (medians; growth = at the most streams over the lowest at fewer):"
            echo
            echo "| family: streams | target | CPU µs / 1k events | growth | KB / open stream | growth |"
            echo "|---|---|---|---:|---|---:|"
            printf '%s\n' "${flat_rows[@]}"
            echo
        fi
        if [ ${#goal_missed[@]} != 0 ]; then
            echo "Goals: **not met**: $(printf '%s; ' "${goal_missed[@]}" | sed 's/; $//')."
        elif [ ${#goal_unmeasured[@]} != 0 ]; then
            echo "Goals: **not evaluated** for $(printf '%s, ' "${goal_unmeasured[@]}" | sed 's/, $//')."
        else
            echo "Goals: **all met**."
        fi
    else
        echo "Ratios need both nginx and memproxy (targets run: $targets)."
    fi
    echo
    if [ ${#notes[@]} != 0 ]; then
        echo "Notes:"
        for n in "${notes[@]}"; do
            echo "- $n"
        done
        echo
    fi
    if [ ${#invalid_reasons[@]} = 0 ]; then
        echo "Run: **valid** (every target passed its check; every stream came whole)."
    else
        echo "Run: **INVALID**:"
        for r in "${invalid_reasons[@]}"; do
            echo "- $r"
        done
    fi
    echo
    echo "## Machine"
    echo
    echo "- CPUs: $(nproc) online to this process ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)); kernel $(uname -sr)"
    echo "- CPU pinning: $pin_desc"
    if [ "$busy_before" -gt 10 ]; then
        echo "- CPUs busy before the run: **${busy_before}%** (other work on the machine: numbers are noisy)"
    else
        echo "- CPUs busy before the run: ${busy_before}%"
    fi
    echo "- open-file limit: $nofile"
    has_target nginx && echo "- nginx: $("$nginx_bin" -v 2>&1 | head -n 1 | sed 's/^nginx version: //')"
    has_target memproxy && echo "- memproxy: $("$memproxy_bin" --version 2>&1 | head -n 1) ($memproxy_bin)"
    echo "- stream upstream: $fake_bin; client: $client_bin"
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
