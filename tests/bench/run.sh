#!/usr/bin/env bash
# memproxy benchmark: wrk against the fake upstream directly, through nginx and
# through memproxy; 1 KB and 64 KB request bodies; p50/p99 latency at 1
# connection, requests/s at 64 connections; memproxy/nginx ratios and goals.
# See tests/bench/README.md for the method and how to read the table.
#
# Usage: tests/bench/run.sh [--short|--long] [--build DIR] [--out FILE]
#                           [--duration SEC] [--rounds N] [--targets LIST]
#                           [--no-pin] [--strict] [--keep-tmp]
# --short: 1 round of 2 s runs (CI smoke, ~40 s); --long: 5 rounds of 3 s.
# Exit: 0 valid run, 1 setup error (missing binary, fake would not start),
#       2 invalid run (a target failed or wrk saw errors),
#       3 valid run but a goal missed (only with --strict).

set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
prog=bench
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"

mode=short
build_dir=$root/build
out_file=$root/.bench/latest.md
duration=""
rounds_opt=""
targets="direct nginx memproxy"
pin=1
strict=0
keep_tmp=0

usage() {
    sed -n '7,14p' "$0" | sed 's/^# \{0,1\}//'
}

common_opts="--short --long --build --out --duration --rounds --no-pin --strict --keep-tmp"
while [ $# -gt 0 ]; do
    if common_opt "$@"; then
        shift "$opt_shift"
        continue
    fi
    case $1 in
    --targets)
        [ $# -ge 2 ] || die "--targets needs a list"
        targets=$(printf '%s' "$2" | tr ',' ' ')
        shift
        ;;
    --targets=*) targets=$(printf '%s' "${1#--targets=}" | tr ',' ' ') ;;
    -h | --help)
        usage
        exit 0
        ;;
    *) die "unknown argument '$1' (try --help)" ;;
    esac
    shift
done

# Seconds per timed wrk run, rounds of timed runs (the table shows medians),
# seconds of the warm-up run.
if [ "$mode" = long ]; then
    run_secs=3
    rounds=5
    warm_secs=3
else
    run_secs=2
    rounds=1
    warm_secs=1
fi
if [ -n "$duration" ]; then
    case $duration in
    '' | *[!0-9]* | 0) die "--duration must be a positive whole number of seconds" ;;
    esac
    run_secs=$duration
fi
if [ -n "$rounds_opt" ]; then
    case $rounds_opt in
    '' | *[!0-9]* | 0) die "--rounds must be a positive whole number" ;;
    esac
    rounds=$rounds_opt
fi

for t in $targets; do
    case $t in
    direct | nginx | memproxy) ;;
    *) die "unknown target '$t' (targets: direct, nginx, memproxy)" ;;
    esac
done
# The added latency needs the direct baseline.
case " $targets " in
*" direct "*) ;;
*) targets="direct $targets" ;;
esac
has_target() {
    case " $targets " in *" $1 "*) return 0 ;; esac
    return 1
}

sizes="1024 65536"
url_path=/v1/chat/completions

# --- binaries ---------------------------------------------------------------

case $build_dir in /*) ;; *) build_dir=$(pwd)/$build_dir ;; esac
case $out_file in /*) ;; *) out_file=$(pwd)/$out_file ;; esac

fake_bin=$build_dir/tests/fake_upstream/fake_upstream
memproxy_bin=$build_dir/proxy/memproxy
wrk_bin=${WRK:-$(command -v wrk || true)}
nginx_bin=${NGINX:-$(command -v nginx || true)}
[ -n "$nginx_bin" ] || [ ! -x /usr/sbin/nginx ] || nginx_bin=/usr/sbin/nginx

[ -d "$build_dir" ] || die "build directory $build_dir does not exist; build first (meson setup build && ninja -C build) or pass --build DIR"
[ -x "$fake_bin" ] || die "fake upstream not found at $fake_bin; build it first (ninja -C $build_dir; the tests option must be on: meson configure $build_dir -Dtests=true)"
if has_target memproxy; then
    [ -x "$memproxy_bin" ] || die "memproxy not found at $memproxy_bin; build it first (ninja -C $build_dir) or leave it out with --targets direct,nginx"
fi
{ [ -n "$wrk_bin" ] && [ -x "$wrk_bin" ]; } ||
    die "wrk not found; install it (apt-get install wrk, or scripts/install-deps.sh --test)"
if has_target nginx; then
    { [ -n "$nginx_bin" ] && [ -x "$nginx_bin" ]; } ||
        die "nginx not found; install nginx-light (scripts/install-deps.sh --test) or leave it out with --targets direct,memproxy"
fi
command -v curl >/dev/null || die "curl not found; install it (apt-get install curl)"
[ -r "$here/post.lua" ] || die "missing $here/post.lua"
[ -r "$here/nginx.conf.in" ] || die "missing $here/nginx.conf.in"

# --- temporary directory and clean-up -----------------------------------------

tmp=$(mktemp -d "${TMPDIR:-/tmp}/memproxy-bench.XXXXXX") || die "cannot create a temporary directory"
# nginx's worker may run as nobody; it only needs to traverse this directory.
chmod 755 "$tmp"

started_pids=""   # every process this script started, stopped on exit
fake_pid=""
nginx_pid=""
memproxy_pid=""

# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
    local pid kids=""
    trap - EXIT INT TERM
    # nginx's workers are its children: note them before stopping the master,
    # so that none survives even if the master has to be killed.
    if [ -n "$nginx_pid" ]; then
        kids=$(pgrep -P "$nginx_pid" 2>/dev/null || true)
    fi
    stop_started
    for pid in $kids; do
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    done
    remove_tmp
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- CPU pinning ----------------------------------------------------------------
#
# Two layouts, applied the same way to nginx and memproxy (see README.md):
# - latency (1 connection): wrk, fake upstream and proxy on one CPU. Only one
#   of them is runnable at a time, so nothing waits for a CPU, and no request
#   pays for waking another CPU (on a VM that costs 100+ us and varies by run,
#   drowning the proxy's own cost).
# - throughput (64 connections): the proxy (every process and thread) alone on
#   its own CPU; wrk and the fake upstream share the other one (with 3 or more
#   CPUs, each gets its own).
# Processes start on their throughput CPU and are moved with taskset -a -p.

detect_cpus

pinning=0
cpu_wrk=""
cpu_fake=""
cpu_proxy=""
pin_wrk=""
pin_fake=""
pin_proxy=""
if [ "$pin" = 1 ] && command -v taskset >/dev/null && [ "$ncpu" -ge 2 ] &&
    taskset -c "${cpu_list[0]}" true 2>/dev/null; then
    pinning=1
    cpu_wrk=${cpu_list[0]}
    if [ "$ncpu" -ge 3 ]; then
        cpu_fake=${cpu_list[1]}
        cpu_proxy=${cpu_list[2]}
        pin_desc="1 connection: wrk, fake upstream and proxy on CPU $cpu_wrk; 64 connections: wrk on CPU $cpu_wrk, fake upstream on CPU $cpu_fake, proxy alone on CPU $cpu_proxy"
    else
        cpu_fake=${cpu_list[0]}
        cpu_proxy=${cpu_list[1]}
        pin_desc="1 connection: wrk, fake upstream and proxy on CPU $cpu_wrk; 64 connections: wrk and fake upstream on CPU $cpu_wrk, proxy alone on CPU $cpu_proxy"
    fi
    pin_wrk="taskset -c $cpu_wrk"
    pin_fake="taskset -c $cpu_fake"
    pin_proxy="taskset -c $cpu_proxy"
elif [ "$pin" = 1 ]; then
    pin_desc="none (needs taskset and 2 CPUs)"
else
    pin_desc="none (--no-pin)"
fi

# set_layout latency|throughput: see the pinning comment above.
set_layout() {
    [ "$pinning" = 1 ] || return 0
    local pids
    # shellcheck disable=SC2046
    pids="$(target_pids nginx) $(target_pids memproxy)"
    if [ "$1" = latency ]; then
        # shellcheck disable=SC2086
        move_to "$cpu_wrk" $fake_pid $pids
    else
        move_to "$cpu_fake" "$fake_pid"
        # shellcheck disable=SC2086
        move_to "$cpu_proxy" $pids
    fi
}

# --- helpers ------------------------------------------------------------------

size_label() {
    echo "$(($1 / 1024)) KB"
}

# start_failed TARGET REASON LOG: the target is out of this run; the table
# shows REASON and the log's last line, stderr shows the log's last lines.
start_failed() {
    local last
    last=$(grep -v '^[[:space:]]*$' "$3" 2>/dev/null | tail -n 1 | cut -c 1-200)
    failed[$1]="$2${last:+ (last log line: $last)}"
    say "$1: FAILED: $2; last lines of its log:"
    log_tail "$3" >&2
}

# CPU time (clock ticks, user + system, all threads) of the given processes.
cpu_ticks() {
    local t=0 p s f
    for p in "$@"; do
        s=$(cat "/proc/$p/stat" 2>/dev/null) || continue
        s=${s##*) }
        read -r -a f <<<"$s"
        t=$((t + f[11] + f[12]))
    done
    echo $t
}
clk_tck=$(getconf CLK_TCK 2>/dev/null || echo 100)

# The processes whose CPU a target's "CPU" column counts.
target_pids() {
    case $1 in
    direct) echo "$fake_pid" ;;
    nginx)
        if [ -n "$nginx_pid" ] && kill -0 "$nginx_pid" 2>/dev/null; then
            echo "$nginx_pid $(pgrep -P "$nginx_pid" 2>/dev/null | tr '\n' ' ')"
        fi
        ;;
    memproxy)
        if [ -n "$memproxy_pid" ] && kill -0 "$memproxy_pid" 2>/dev/null; then
            echo "$memproxy_pid"
        fi
        ;;
    esac
}

declare -A url       # target -> base URL
declare -A failed    # target or target,size -> reason
declare -A res       # target,size,field -> value
invalid_reasons=()

# run_wrk TARGET SIZE CONNS SECS TAG: one wrk run; sets the global "bench"
# array from post.lua's BENCH line; returns 1 if wrk failed to produce it.
run_wrk() {
    local target=$1 size=$2 conns=$3 secs=$4 tag=$5
    wrk_run "$tmp/wrk-$target-$size-$conns-$tag.txt" "$conns" "$secs" \
        "${url[$target]}$url_path" "$here/post.lua" "$size"
}

# check_target TARGET SIZE: one POST with curl; must be 200 and a chat.completion.
check_target() {
    local target=$1 size=$2 code body
    body=$tmp/body-$size.json
    [ -f "$body" ] || body_json "$size" >"$body"
    code=$(curl -sS -o "$tmp/check.out" -w '%{http_code}' --max-time 10 \
        -H 'Content-Type: application/json' -H 'Authorization: Bearer sk-bench' \
        --data-binary @"$body" "${url[$target]}$url_path" 2>"$tmp/check.err")
    if [ "$code" = 000 ] || [ -z "$code" ]; then
        echo "no HTTP answer to POST $url_path ($(head -c 300 "$tmp/check.err" | tr '\n' ' '))"
        return 1
    fi
    if [ "$code" != 200 ]; then
        echo "POST $url_path answered HTTP $code: $(head -c 300 "$tmp/check.out" | tr '\n' ' ')"
        return 1
    fi
    if ! grep -q '"object":"chat.completion"' "$tmp/check.out"; then
        echo "POST $url_path answered 200 but not a chat.completion: $(head -c 300 "$tmp/check.out" | tr '\n' ' ')"
        return 1
    fi
    return 0
}

# --- how busy is the machine already? ------------------------------------------

measure_busy_before

# --- start the fake upstream -----------------------------------------------------

say "mode $mode: $rounds round(s) of ${run_secs}s runs, ${warm_secs}s warm-up; pinning: $pin_desc"
fake_args=--no-prompt-cache # lib.sh: start_fake_upstream
start_fake_upstream
url[direct]=http://127.0.0.1:$fake_port
say "fake upstream on port $fake_port"

# Three free ports: nginx, memproxy, memproxy admin.
read -r nginx_port memproxy_port memproxy_admin_port <<<"$(free_ports 3)"

# --- start nginx ------------------------------------------------------------------

if has_target nginx; then
    sed -e '/^#/d' -e "s|@TMP@|$tmp|g" -e "s|@LISTEN@|127.0.0.1:$nginx_port|g" \
        -e "s|@UPSTREAM@|127.0.0.1:$fake_port|g" "$here/nginx.conf.in" >"$tmp/nginx.conf"
    say "starting nginx on port $nginx_port"
    # shellcheck disable=SC2086
    $pin_proxy "$nginx_bin" -p "$tmp/" -c "$tmp/nginx.conf" >"$tmp/nginx.stdout" 2>"$tmp/nginx.stderr" &
    nginx_pid=$!
    started_pids="$started_pids $nginx_pid"
    url[nginx]=http://127.0.0.1:$nginx_port
    if ! wait_http "$nginx_pid" "${url[nginx]}/"; then
        cat "$tmp/nginx.stderr" "$tmp/nginx-error.log" >"$tmp/nginx-all.log" 2>/dev/null
        start_failed nginx "nginx did not start or does not answer HTTP on 127.0.0.1:$nginx_port" "$tmp/nginx-all.log"
    fi
fi

# --- start memproxy ----------------------------------------------------------------

if has_target memproxy; then
    mkdir -p "$tmp/memproxy-data"
    cat >"$tmp/memproxy.ini" <<EOF
; generated by tests/bench/run.sh
[server]
listen = 127.0.0.1:$memproxy_port
admin_listen = 127.0.0.1:$memproxy_admin_port
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
    say "starting memproxy on port $memproxy_port (admin $memproxy_admin_port)"
    # shellcheck disable=SC2086
    $pin_proxy "$memproxy_bin" -c "$tmp/memproxy.ini" >"$tmp/memproxy.stdout" 2>"$tmp/memproxy.log" &
    memproxy_pid=$!
    started_pids="$started_pids $memproxy_pid"
    url[memproxy]=http://127.0.0.1:$memproxy_port
    if ! wait_http "$memproxy_pid" "${url[memproxy]}/"; then
        if kill -0 "$memproxy_pid" 2>/dev/null; then
            why="memproxy is running but does not answer HTTP on 127.0.0.1:$memproxy_port after 10 s"
        else
            wait "$memproxy_pid" 2>/dev/null
            st=$?
            case $st in
            1) why="memproxy exited during start-up with status 1 (bad config)" ;;
            2) why="memproxy exited during start-up with status 2 (could not start)" ;;
            *) why="memproxy exited during start-up with status $st" ;;
            esac
        fi
        say "memproxy config was:"
        sed 's/^/    /' "$tmp/memproxy.ini" >&2
        start_failed memproxy "$why" "$tmp/memproxy.log"
    fi
fi

# --- measure ------------------------------------------------------------------------
#
# Per body size: check and warm up every target, then the timed runs in rounds,
# each round running every target once (direct, nginx, memproxy), so that a
# change in background load hits all targets alike; the table shows the median
# over the rounds.

for size in $sizes; do
    sl=$(size_label "$size")
    active=""
    for target in $targets; do
        label="$target, $sl"
        if [ -n "${failed[$target]:-}" ]; then
            continue
        fi
        if ! why=$(check_target "$target" "$size"); then
            failed[$target,$size]="check request failed: $why"
            say "$label: FAILED: $why"
            if [ "$target" = memproxy ]; then
                printf '  memproxy stderr (last lines):\n%s\n' "$(log_tail "$tmp/memproxy.log" 10)" >&2
            fi
            continue
        fi
        set_layout latency
        say "$label: warm-up ${warm_secs}s"
        if ! run_wrk "$target" "$size" 1 "$warm_secs" warm; then
            failed[$target,$size]="wrk produced no result in the warm-up run: $(tail -n 3 "$tmp/wrk-$target-$size-1-warm.txt" | tr '\n' ' ')"
            say "$label: FAILED: ${failed[$target,$size]}"
            continue
        fi
        if [ "${bench[requests]}" = 0 ] || [ "$(errors_of_bench)" != 0 ]; then
            failed[$target,$size]="warm-up run: ${bench[requests]} requests, errors: $(errors_text)"
            say "$label: FAILED: ${failed[$target,$size]}"
            continue
        fi
        active="$active $target"
        res[$target,$size,errors]=0
    done

    for r in $(seq "$rounds"); do
        for target in $active; do
            k=$target,$size
            [ -z "${failed[$k]:-}" ] || continue
            set_layout latency
            say "$target, $sl: 1 connection, ${run_secs}s (round $r/$rounds)"
            if ! run_wrk "$target" "$size" 1 "$run_secs" "c1-r$r"; then
                failed[$k]="wrk produced no result (1 connection): $(tail -n 3 "$tmp/wrk-$target-$size-1-c1-r$r.txt" | tr '\n' ' ')"
                say "$target, $sl: FAILED: ${failed[$k]}"
                continue
            fi
            res[$k,p50s]="${res[$k,p50s]:-} ${bench[p50_us]}"
            res[$k,p99s]="${res[$k,p99s]:-} ${bench[p99_us]}"
            add_errors "$target,$size" "1 conn"
        done
    done

    for r in $(seq "$rounds"); do
        for target in $active; do
            k=$target,$size
            [ -z "${failed[$k]:-}" ] || continue
            set_layout throughput
            say "$target, $sl: 64 connections, ${run_secs}s (round $r/$rounds)"
            # shellcheck disable=SC2046
            t0=$(cpu_ticks $(target_pids "$target"))
            w0=$(date +%s%N)
            ok=1
            run_wrk "$target" "$size" 64 "$run_secs" "c64-r$r" || ok=0
            w1=$(date +%s%N)
            # shellcheck disable=SC2046
            t1=$(cpu_ticks $(target_pids "$target"))
            if [ $ok = 0 ]; then
                failed[$k]="wrk produced no result (64 connections): $(tail -n 3 "$tmp/wrk-$target-$size-64-c64-r$r.txt" | tr '\n' ' ')"
                say "$target, $sl: FAILED: ${failed[$k]}"
                continue
            fi
            res[$k,rpss]="${res[$k,rpss]:-} ${bench[rps]}"
            res[$k,ticks]=$((${res[$k,ticks]:-0} + t1 - t0))
            res[$k,wall_ns]=$((${res[$k,wall_ns]:-0} + w1 - w0))
            res[$k,requests]=$((${res[$k,requests]:-0} + bench[requests]))
            add_errors "$target,$size" "64 conn"
        done
    done

    for target in $active; do
        k=$target,$size
        [ -z "${failed[$k]:-}" ] || continue
        # shellcheck disable=SC2086
        {
            res[$k,p50]=$(fmt_int "$(median ${res[$k,p50s]})")
            res[$k,p99]=$(fmt_int "$(median ${res[$k,p99s]})")
            res[$k,rps]=$(median ${res[$k,rpss]})
            res[$k,rps_min]=$(printf '%s\n' ${res[$k,rpss]} | sort -g | head -n 1)
            res[$k,rps_max]=$(printf '%s\n' ${res[$k,rpss]} | sort -g | tail -n 1)
        }
        res[$k,cpu]=$(awk -v t="${res[$k,ticks]}" -v hz="$clk_tck" -v ns="${res[$k,wall_ns]}" \
            'BEGIN { if (ns > 0) printf "%.0f", 100 * (t / hz) / (ns / 1e9); else print "n/a" }')
        res[$k,cpu_us]=$(awk -v t="${res[$k,ticks]}" -v hz="$clk_tck" -v n="${res[$k,requests]}" \
            'BEGIN { if (n > 0) printf "%.1f", 1e6 * (t / hz) / n; else print "n/a" }')
        res[$k,done]=1
        say "$target, $sl: p50 ${res[$k,p50]} us, p99 ${res[$k,p99]} us, $(fmt_int "${res[$k,rps]}") req/s"
    done
done

# --- report ---------------------------------------------------------------------------


# Version strings, one line each.
wrk_version=$("$wrk_bin" -v 2>&1 | head -n 1 | sed 's/ Copyright.*//')
nginx_version=""
has_target nginx && nginx_version=$("$nginx_bin" -v 2>&1 | head -n 1 | sed 's/^nginx version: //')
memproxy_version=""
if has_target memproxy; then
    memproxy_version=$("$memproxy_bin" --version 2>&1 | head -n 1)
    [ -n "$memproxy_version" ] || memproxy_version="(--version printed nothing)"
fi
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)
[ -n "$cpu_model" ] || cpu_model=$(uname -m)

report=$tmp/report.md
goal_missed=()
goal_unmeasured=()
{
    echo "# memproxy benchmark"
    echo
    if [ "$rounds" = 1 ]; then
        echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $mode mode: one ${run_secs} s wrk run per cell (after a ${warm_secs} s warm-up), one wrk thread."
    else
        echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $mode mode: medians of $rounds rounds of ${run_secs} s wrk runs, the targets taking turns within each round (after a ${warm_secs} s warm-up), one wrk thread."
    fi
    echo "POST $url_path, non-streaming, fake upstream answers a small chat.completion (its prompt caching off, \`--no-prompt-cache\`: it parses no body). memproxy: workers = 1, memory mode off."
    echo "nginx: 1 worker, proxy_pass with keep-alive upstream (tests/bench/nginx.conf.in)."
    echo
    echo "| body | target | p50 µs, 1 conn | p99 µs, 1 conn | added p50 µs | req/s, 64 conn | target CPU, 64 conn | CPU µs/req | errors |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|---|"
    for size in $sizes; do
        for target in $targets; do
            sl=$(size_label "$size")
            reason=${failed[$target]:-${failed[$target,$size]:-}}
            if [ -n "$reason" ] || [ -z "${res[$target,$size,done]:-}" ]; then
                [ -n "$reason" ] || reason="not measured"
                echo "| $sl | $target | FAILED: $(printf '%s' "$reason" | head -n 1 | sed 's/|/\\|/g') | | | | | | |"
                invalid_reasons+=("$target, $sl: $(printf '%s' "$reason" | head -n 1)")
                continue
            fi
            added="—"
            if [ "$target" != direct ] && [ -n "${res[direct,$size,done]:-}" ]; then
                added=$((res[$target,$size,p50] - res[direct,$size,p50]))
                res[$target,$size,added]=$added
            fi
            errs=${res[$target,$size,errors]}
            if [ "$errs" != 0 ]; then
                errs="**$errs** (${res[$target,$size,errtext]})"
                invalid_reasons+=("$target, $sl: wrk saw errors (${res[$target,$size,errtext]})")
            fi
            rps=$(fmt_int "${res[$target,$size,rps]}")
            if [ "$rounds" -gt 1 ]; then
                rps="$rps ($(fmt_int "${res[$target,$size,rps_min]}")–$(fmt_int "${res[$target,$size,rps_max]}"))"
            fi
            echo "| $sl | $target | ${res[$target,$size,p50]} | ${res[$target,$size,p99]} | $added | $rps | ${res[$target,$size,cpu]}% | ${res[$target,$size,cpu_us]} | $errs |"
        done
    done
    echo
    [ "$rounds" -gt 1 ] && echo "Latencies and req/s are medians over the rounds; req/s shows (slowest–fastest round)."
    echo "Added p50 = p50 through the proxy minus p50 direct to the fake upstream. Target CPU: the proxy's processes (for direct: the fake upstream), user + system, as a share of one CPU over the 64-connection run."
    echo

    if has_target nginx && has_target memproxy; then
        echo "## memproxy / nginx"
        echo
        echo "| body | added p50: memproxy / nginx | goal ≤ 1.25 | req/s: memproxy / nginx | goal ≥ 0.80 |"
        echo "|---|---:|---|---:|---|"
        for size in $sizes; do
            sl=$(size_label "$size")
            lat_ratio="n/a"
            lat_goal="not measured"
            rps_ratio="n/a"
            rps_goal="not measured"
            if [ -n "${res[memproxy,$size,added]:-}" ] && [ -n "${res[nginx,$size,added]:-}" ]; then
                ma=${res[memproxy,$size,added]}
                na=${res[nginx,$size,added]}
                if [ "$na" -gt 0 ]; then
                    r=$(awk -v m="$ma" -v n="$na" 'BEGIN { printf "%.2f", m / n }')
                    lat_ratio="$r ($ma / $na µs)"
                    if awk -v m="$ma" -v n="$na" 'BEGIN { exit !(m <= 1.25 * n) }'; then
                        lat_goal="met"
                    else
                        lat_goal="**missed**"
                        goal_missed+=("$sl added p50 ratio $r > 1.25")
                    fi
                else
                    lat_ratio="n/a ($ma / $na µs)"
                    if [ "$ma" -le 0 ]; then
                        lat_goal="met (neither adds measurable latency)"
                    else
                        lat_goal="**missed** (nginx adds none)"
                        goal_missed+=("$sl added p50: nginx adds none, memproxy $ma µs")
                    fi
                fi
            fi
            if [ -n "${res[memproxy,$size,rps]:-}" ] && [ -n "${res[nginx,$size,rps]:-}" ] &&
                [ -n "${res[memproxy,$size,done]:-}" ] && [ -n "${res[nginx,$size,done]:-}" ]; then
                mr=${res[memproxy,$size,rps]}
                nr=${res[nginx,$size,rps]}
                r=$(awk -v m="$mr" -v n="$nr" 'BEGIN { if (n > 0) printf "%.2f", m / n; else print "n/a" }')
                rps_ratio="$r ($(fmt_int "$mr") / $(fmt_int "$nr"))"
                if awk -v m="$mr" -v n="$nr" 'BEGIN { exit !(n > 0 && m >= 0.8 * n) }'; then
                    rps_goal="met"
                else
                    rps_goal="**missed**"
                    goal_missed+=("$sl req/s ratio $r < 0.80")
                fi
            fi
            if [ "$lat_goal" = "not measured" ] || [ "$rps_goal" = "not measured" ]; then
                goal_unmeasured+=("$sl")
            fi
            echo "| $sl | $lat_ratio | $lat_goal | $rps_ratio | $rps_goal |"
        done
        echo
        if [ ${#goal_missed[@]} != 0 ]; then
            echo "Goals: **not met**: $(printf '%s; ' "${goal_missed[@]}" | sed 's/; $//')."
        elif [ ${#goal_unmeasured[@]} != 0 ]; then
            echo "Goals: **not evaluated** for $(printf '%s, ' "${goal_unmeasured[@]}" | sed 's/, $//') (nginx or memproxy not measured, see above)."
        else
            echo "Goals: **all met**."
        fi
    else
        echo "Ratios need both nginx and memproxy (targets run: $targets)."
    fi
    echo
    if [ ${#invalid_reasons[@]} = 0 ]; then
        echo "Run: **valid** (every target answered 200 to the check request; wrk saw no errors)."
    else
        echo "Run: **INVALID**:"
        for r in "${invalid_reasons[@]}"; do
            echo "- $r"
        done
    fi
    echo
    echo "## Machine"
    echo
    echo "- CPUs: $(nproc) online to this process ($cpu_model); kernel $(uname -sr)"
    echo "- CPU pinning: $pin_desc"
    if [ "$busy_before" -gt 10 ]; then
        echo "- CPUs busy before the run: **${busy_before}%** (other work on the machine: numbers are noisy)"
    else
        echo "- CPUs busy before the run: ${busy_before}%"
    fi
    echo "- wrk: $wrk_version"
    [ -n "$nginx_version" ] && echo "- nginx: $nginx_version"
    [ -n "$memproxy_version" ] && echo "- memproxy: $memproxy_version ($memproxy_bin)"
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
