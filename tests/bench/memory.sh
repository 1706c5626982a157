#!/usr/bin/env bash
# memproxy memory benchmark: hybrid mode with a memory hit (a user with 50
# facts, a summary and a full buffer) in a store of 1 thousand and of 1 million
# users, next to the same request with memory off, also both at 64
# connections (a64, b64); relevance against today's order (retrieval =
# relevant / recent) for users with 10k facts and 100k archived messages and
# with 50 facts; recording under load (X-Memory: auto against read at 64
# connections); the import rate; store bytes per fact and per archived message;
# with PostgreSQL's server installed, the memory hit on the PostgreSQL backend
# next to LMDB's (the small store copied into a throwaway cluster: p50 at 1
# connection, req/s at 64, its connections used). See tests/bench/README.md.
#
# Usage: tests/bench/memory.sh [--short|--long] [--build DIR] [--out FILE]
#                              [--duration SEC] [--rounds N] [--users-big N]
#                              [--active-users N] [--sync full|meta|none]
#                              [--deep-facts N] [--deep-messages N]
#                              [--import-messages N]
#                              [--perf] [--no-pin] [--strict] [--keep-tmp]
#                              [--encrypt] [--no-postgres]
# --short: 1k vs 100k users, 1 round of 2 s runs, 10k messages imported
#   (CI smoke, not the 1M goal);
# --long: 1k vs 1M users, medians of 5 rounds of 3 s runs, 20k imported.
# --encrypt: the stores are encrypted at rest ([storage] encryption_key_file;
#   populated in clear, then memproxy --rotate-key; the relevance store is
#   populated sealed), to price AES-256-GCM.
# --no-postgres: skip the PostgreSQL rows (h) (they run when
#   scripts/pg-cluster.sh finds PostgreSQL's server binaries).
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
deep_facts=10000
deep_messages=100000
import_opt=""
postgres=1

usage() {
    sed -n '13,29p' "$0" | sed 's/^# \{0,1\}//'
}


common_opts="--short --long --build --out --duration --rounds --no-pin --strict --keep-tmp"
while [ $# -gt 0 ]; do
    if common_opt "$@"; then
        shift "$opt_shift"
        continue
    fi
    case $1 in
    --users-big) need_arg "$1" $# && users_big_opt=$2 && shift ;;
    --users-big=*) users_big_opt=${1#--users-big=} ;;
    --active-users) need_arg "$1" $# && active_users=$2 && shift ;;
    --active-users=*) active_users=${1#--active-users=} ;;
    --sync) need_arg "$1" $# && store_sync=$2 && shift ;;
    --sync=*) store_sync=${1#--sync=} ;;
    --deep-facts) need_arg "$1" $# && deep_facts=$2 && shift ;;
    --deep-facts=*) deep_facts=${1#--deep-facts=} ;;
    --deep-messages) need_arg "$1" $# && deep_messages=$2 && shift ;;
    --deep-messages=*) deep_messages=${1#--deep-messages=} ;;
    --import-messages) need_arg "$1" $# && import_opt=$2 && shift ;;
    --import-messages=*) import_opt=${1#--import-messages=} ;;
    --no-postgres) postgres=0 ;;
    --perf) do_perf=1 ;;
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
    import_messages=20000
    shared_sizes="1000 100000 1000000"
    shared_facts=100000
else
    run_secs=2
    rounds=1
    warm_secs=1
    users_big=100000
    import_messages=10000
    shared_sizes="1000 10000 100000"
    shared_facts=10000
fi
if [ -n "$duration" ]; then
    positive_int "$duration" || die "--duration must be a positive whole number of seconds"
    run_secs=$duration
fi
if [ -n "$rounds_opt" ]; then
    positive_int "$rounds_opt" || die "--rounds must be a positive whole number"
    rounds=$rounds_opt
fi
# (a) and (b) run their run_secs a round as that many 1-second slices in turn
slice_secs=1
slices=$run_secs
if [ -n "$users_big_opt" ]; then
    positive_int "$users_big_opt" || die "--users-big must be a positive whole number"
    users_big=$users_big_opt
fi
if [ -n "$import_opt" ]; then
    positive_int "$import_opt" || die "--import-messages must be a positive whole number"
    import_messages=$import_opt
fi
positive_int "$deep_facts" || die "--deep-facts must be a positive whole number"
positive_int "$deep_messages" || die "--deep-messages must be a positive whole number"
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
# Relevance rows (e), (f): populate's rich users, the needle word in
# "needles" of the deep user's items (benchtext.h), asked about in a
# question of its own (no padding) that nothing else matches.
deep_user="bench-deep"
few_user="bench-few"
few_facts=50
needles=50
few_needles=5
question="What do you remember about my kayak?"
# Rows (i): users whose every archived message (or fact) holds the
# question's word, timed in process with the question and with one that
# matches nothing (issue 34's goal: relevance adds at most 150 us).
nomatch_question="What do you remember about my zeppelin?"
shared_goal_us=150
import_user="bench-import"
admin_token="bench-admin-$$-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d " \n")"
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

# About 8 KB per user on disk (measured with store format 3, where every
# message is archived and indexed: 1M users -> 7.97 GB), the big store
# twice (c and d); the relevance store (measured: about 1.8 KB per archived
# message or fact, 3.8 KB sealed) twice (e and f's two instances), and
# with --encrypt a clear one for the sizes; want twice that free.
rel_kb=$(((deep_messages + deep_facts) * (2 + 2 * encrypt)))
shared_kb=$((($(echo "$shared_sizes" | tr ' ' '+') + shared_facts) * 2))
need_kb=$((((2 * users_big + users_small) * 8 + 2 * rel_kb + encrypt * rel_kb / 2 + shared_kb) * 2 + 65536))
avail_kb=$(df -Pk "$tmp" 2>/dev/null | awk 'NR == 2 { print $4 }')
if [ -n "$avail_kb" ] && [ "$avail_kb" -lt "$need_kb" ]; then
    rm -rf "$tmp"
    die "not enough disk space in $(dirname "$tmp"): $((avail_kb / 1024)) MB free, the stores need about $((need_kb / 1024)) MB (set TMPDIR elsewhere or lower --users-big)"
fi

started_pids="" # every process this script started, stopped on exit
fake_pid=""
declare -A pid_of # instance -> memproxy pid

# shellcheck disable=SC2317  # called from the EXIT trap
pg_dir=""
cleanup() {
    trap - EXIT INT TERM
    stop_started
    if [ -n "$pg_dir" ]; then
        "$root/scripts/pg-cluster.sh" stop "$pg_dir/cluster" >/dev/null 2>&1
        rm -rf "$pg_dir"
    fi
    remove_tmp
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- CPU pinning (as run.sh; see README.md) ---------------------------------------
# latency (1 connection): wrk, the fake upstream and every memproxy on one CPU
# (each round the quicker of the first two: quiet_cpu below).
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
    pin_desc="1 connection: wrk, fake upstream and memproxy on one CPU, the quicker of ${cpu_list[0]} and ${cpu_list[1]} each round (see below); 64 connections: wrk on CPU $cpu_wrk, fake upstream on CPU $cpu_fake, the memproxy under test (all threads, memory worker included) alone on CPU $cpu_proxy"
    pin_wrk="taskset -c $cpu_wrk"
    pin_fake="taskset -c $cpu_fake"
elif [ "$pin" = 1 ]; then
    pin_desc="none (needs taskset and 2 CPUs)"
else
    pin_desc="none (--no-pin)"
fi

# --- a quiet CPU for the 1-connection rows ----------------------------------------
# A virtual machine's CPUs have slow spells (a busy neighbour on the host: the
# same work takes up to twice as long for seconds at a time), and a spell
# scales what a memory hit adds, (b) − (a), with everything else. Before each
# round's 1-connection rows quiet_cpu times a fixed CPU-bound loop on each CPU
# (the best of 3), puts the rows on the quicker one and, while even that one
# is more than quiet_slack percent slower than the quickest time of the run,
# waits for the spell to pass (a second at a time, at most quiet_wait seconds
# per round; then the round runs anyway). After the rows the CPU is timed
# again, so the report shows each round's state before and after. Nothing is
# discarded: a round that ran slow counts as it ran.

cpu_lat=""       # the CPU of the 1-connection rows (latency layout)
quiet_best=""    # the quickest probe of the run, µs
quiet_slack=25   # percent
quiet_wait=60    # seconds per round at most (short mode: 20)
[ "$mode" = short ] && quiet_wait=20
declare -A quiet # round,field -> value

# probe_cpu CPU: µs of the best of 3 runs of a fixed loop on CPU.
probe_cpu() {
    local c=$1 best="" t0 t1 d _
    for _ in 1 2 3; do
        t0=$(date +%s%N)
        taskset -c "$c" awk 'BEGIN { for (i = 0; i < 1000000; i++) s += i }'
        t1=$(date +%s%N)
        d=$(((t1 - t0) / 1000))
        if [ -z "$best" ] || [ "$d" -lt "$best" ]; then best=$d; fi
    done
    echo "$best"
}

# times_quickest US: a probe's time over the run's quickest, two decimals.
times_quickest() { awk -v a="$1" -v b="$quiet_best" 'BEGIN { printf "%.2f", a / b }'; }

# quiet_cpu ROUND: sets cpu_lat to the quicker CPU, after waiting out a slow
# spell; records the probe, the CPU and the wait for the report.
quiet_cpu() {
    local r=$1 c t best_c best_t waited=0
    [ "$pinning" = 1 ] || return 0
    while :; do
        best_c="" best_t=""
        for c in "${cpu_list[@]:0:2}"; do
            t=$(probe_cpu "$c")
            if [ -z "$best_t" ] || [ "$t" -lt "$best_t" ]; then best_c=$c best_t=$t; fi
        done
        if [ -z "$quiet_best" ] || [ "$best_t" -lt "$quiet_best" ]; then quiet_best=$best_t; fi
        [ $((best_t * 100)) -le $((quiet_best * (100 + quiet_slack))) ] && break
        [ "$waited" -ge "$quiet_wait" ] && break
        sleep 1
        waited=$((waited + 1))
    done
    cpu_lat=$best_c
    quiet[$r,cpu]=$best_c
    quiet[$r,before]=$best_t
    quiet[$r,waited]=$waited
    say "round $r: 1-connection rows on CPU $best_c (probe $best_t us, the run's quickest $quiet_best us; waited ${waited}s)"
}

# set_layout latency|throughput [INSTANCE]|import. latency: everything on
# cpu_lat (wrk too). throughput: INSTANCE
# (default load) alone on the second CPU. import: the instance that imports
# (relevant, all its threads) alone on the second CPU, everything else (curl
# too, with pin_wrk) on the first. PostgreSQL's server (rows h) is not
# pinned: its processes run where the system puts them.
set_layout() {
    [ "$pinning" = 1 ] || return 0
    local i under=${2:-load} others=()
    for i in off small big load relevant recent pg pg64 lmdb64 pgrec; do
        [ "$i" = "$under" ] || others+=("${pid_of[$i]:-}")
    done
    pin_wrk="taskset -c $cpu_wrk"
    case $1 in
    latency)
        pin_wrk="taskset -c ${cpu_lat:-$cpu_wrk}"
        move_to -l "${cpu_lat:-$cpu_wrk}" "$fake_pid" "${pid_of[off]}" "${pid_of[small]}" "${pid_of[big]}" \
            "${pid_of[load]}" "${pid_of[relevant]:-}" "${pid_of[recent]:-}" "${pid_of[pg]:-}" \
            "${pid_of[pg64]:-}" "${pid_of[lmdb64]:-}" "${pid_of[pgrec]:-}"
        ;;
    throughput)
        move_to -l "$cpu_fake" "$fake_pid" "${others[@]}"
        move_to -l "$cpu_proxy" "${pid_of[$under]}"
        ;;
    import)
        move_to -l "$cpu_wrk" "$fake_pid" "${pid_of[off]}" "${pid_of[small]}" "${pid_of[big]}" \
            "${pid_of[load]}" "${pid_of[recent]:-}"
        move_to -l "$cpu_proxy" "${pid_of[relevant]:-}"
        ;;
    esac
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
        "${url[${inst_of[$row]}]}${path_of[$row]:-$url_path}" "$here/memory.lua" "$@"
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

# question_json TEXT: the body memory.lua's hit variant sends with SIZE 0
# and a question: post.lua's body with TEXT alone as the user message (TEXT
# must need no JSON escaping).
question_json() {
    printf '%s%s%s' '{"model":"bench-model","max_tokens":16,"messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"' \
        "$1" '"}]}'
}

# check_instance INSTANCE USER EXPECT_MEMORY [BODY_FILE [PATH OBJECT]]: one
# POST of the hit body (or BODY_FILE, to PATH) with curl; must be 200 with a
# chat.completion (or OBJECT: the "object"/"type" member's literal);
# with EXPECT_MEMORY=1 also X-Memory-Mode: hybrid, injected tokens > 0 and
# no X-Memory-Error. Prints the injected tokens.
check_instance() {
    local inst=$1 user=$2 expect=$3 body=${4:-$tmp/body.json} path=${5:-$url_path}
    local object=${6:-'"object":"chat.completion"'} code hdrs tokens mmode merr
    code=$(curl -sS -o "$tmp/check.out" -D "$tmp/check.hdr" -w '%{http_code}' --max-time 10 \
        -H 'Content-Type: application/json' -H 'Authorization: Bearer sk-bench' \
        -H "X-User-Id: $user" -H 'X-Memory: read' -H 'x-api-key: sk-ant-bench' \
        -H 'anthropic-version: 2023-06-01' \
        --data-binary @"$body" "${url[$inst]}$path" 2>"$tmp/check.err")
    hdrs=$(tr -d '\r' <"$tmp/check.hdr")
    if [ "$code" = 000 ] || [ -z "$code" ]; then
        echo "no HTTP answer to POST $path ($(head -c 300 "$tmp/check.err" | tr '\n' ' '))"
        return 1
    fi
    if [ "$code" != 200 ] || ! grep -qF "$object" "$tmp/check.out"; then
        echo "POST $path answered HTTP $code: $(head -c 300 "$tmp/check.out" | tr '\n' ' ')"
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

declare -A pop  # store,field -> value
declare -A rich # store,user,field -> value: populate's RICH and CHECK lines

# run_populate NAME ARGS...: populate the store NAME ($tmp/store-NAME,
# [storage] sync = none) with populate's ARGS; reads its POPULATE line into
# pop[NAME,...] and its RICH and CHECK lines into rich[NAME,user,...].
run_populate() {
    local name=$1 line kv u tag rest
    shift
    if ! "$populate_bin" --path "$tmp/store-$name" --sync none "$@" \
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
    read_rich "$name" "$tmp/populate-$name.out"
}

# read_rich NAME FILE: populate's RICH and CHECK lines of FILE into
# rich[NAME,user,...].
read_rich() {
    local name=$1 tag rest kv u
    while read -r tag rest; do
        u=${rest#user=}
        u=${u%% *}
        for kv in $rest; do
            rich[$name,$u,${kv%%=*}]=${kv#*=}
        done
    done < <(grep -E '^(RICH|CHECK) ' "$2")
}

# populate_shared: the store of rows (i): for each of shared_sizes a user
# whose archived messages all hold the question's word, and one whose
# shared_facts facts all do; the question timed in process, then (populate
# --check-only) the question that matches nothing, into rich[shared-none,...].
shared_users=()
populate_shared() {
    local n args=()
    for n in $shared_sizes; do
        args+=(--rich "shared-m$n:0:$n:$n")
        shared_users+=("shared-m$n")
    done
    args+=(--rich "shared-f$shared_facts:$shared_facts:0:$shared_facts")
    shared_users+=("shared-f$shared_facts")
    say "populating the shared store: users whose every item holds the question's word ($shared_sizes archived messages; $shared_facts facts)"
    run_populate shared --users 1 "${args[@]}" --question "$question"
    say "shared store: ${pop[shared,seconds]} s; timing the question that matches nothing"
    "$populate_bin" --path "$tmp/store-shared" "${args[@]}" --check-only \
        --question "$nomatch_question" >"$tmp/populate-shared-none.out" 2>&1 ||
        die "populate --check-only on the shared store failed: $(tail -n 3 "$tmp/populate-shared-none.out")"
    read_rich shared-none "$tmp/populate-shared-none.out"
}

populate() {
    local name=$1 n=$2
    say "populating the $name store: $(fmt_users "$n") users + $hit_user"
    run_populate "$name" --users "$n"
    if [ "$encrypt" = 1 ]; then
        printf '[storage]\npath = %s\n' "$tmp/store-$name" >"$tmp/rotate-$name.ini"
        "$memproxy_bin" -c "$tmp/rotate-$name.ini" --rotate-key "$key_file" \
            >"$tmp/rotate-$name.out" 2>&1 || die "encrypting the $name store failed: $(tail -n 3 "$tmp/rotate-$name.out")"
    fi
    pop[$name,du]=$(du -sb "$tmp/store-$name" 2>/dev/null | awk '{ print $1 }')
    say "$name store: ${pop[$name,seconds]} s, $(fmt_bytes "${pop[$name,du]}") on disk"
}

# populate_rel NAME SEALED [--question TEXT]: the relevance store: the small
# store's users and $hit_user, then the deep user (a buffer, a summary,
# deep_facts facts, deep_messages archived messages) and the few user (a
# buffer, a summary, 50 facts). SEALED 1: written sealed (populate
# --key-file) rather than rotated afterwards.
populate_rel() {
    local name=$1 sealed=$2 key_args=()
    shift 2
    [ "$sealed" = 1 ] && key_args=(--key-file "$key_file")
    say "populating the $name store: $small_label users + $hit_user, $deep_user ($(fmt_users "$deep_facts") facts, $(fmt_users "$deep_messages") archived messages), $few_user ($few_facts facts)$([ "$sealed" = 1 ] && echo ", sealed")"
    run_populate "$name" --users "$users_small" \
        --rich "$deep_user:$deep_facts:$deep_messages:$needles" \
        --rich "$few_user:$few_facts:0:$few_needles" "${key_args[@]}" "$@"
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
# Rows (e) and (f): one store, copied so that the relevant and the recent
# instance read the same bytes. With --encrypt a clear one too, for the
# store bytes per item in clear.
populate_rel relevant "$encrypt" --question "$question"
say "copying the relevant store for the recent instance"
cp -a "$tmp/store-relevant" "$tmp/store-recent" || die "cannot copy the relevance store"
pop[recent,du]=${pop[relevant,du]}
populate_shared
if [ "$encrypt" = 1 ]; then
    populate_rel size 0
fi
mkdir -p "$tmp/store-off"

# Rows (h): the small store copied into a throwaway PostgreSQL cluster
# (memproxy ctl copy-store), read by two PostgreSQL instances (1 and 64
# connections) next to an LMDB instance on a copy of the small store (64
# connections; (b) is LMDB's 1-connection row).
pg_url=""
pg_pool=4
if [ "$postgres" = 1 ] && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    say "starting a PostgreSQL cluster and copying the small store into it"
    pg_dir=$(mktemp -d /tmp/memproxy-membench-pg.XXXXXX) && chmod 755 "$pg_dir" ||
        die "cannot create a directory for the PostgreSQL cluster"
    # durable (fsync on) for row hr; rows hp, hp64 commit asynchronously as before
    pg_url=$(MP_PG_DURABLE=1 "$root/scripts/pg-cluster.sh" start "$pg_dir/cluster" 2>"$pg_dir/cluster.err") ||
        die "the PostgreSQL cluster did not start: $(tail -n 3 "$pg_dir/cluster.err")"
    printf '[storage]\npath = %s\n' "$tmp/store-small" >"$tmp/copy-from.ini"
    printf '[storage]\nbackend = postgres\npostgres_url = %s\n' "$pg_url" >"$tmp/copy-to.ini"
    "$memproxy_bin" ctl copy-store --from "$tmp/copy-from.ini" --to "$tmp/copy-to.ini" \
        >"$tmp/copy-store.out" 2>&1 || die "copy-store failed: $(tail -n 3 "$tmp/copy-store.out")"
    cp -a "$tmp/store-small" "$tmp/store-lmdb64" || die "cannot copy the small store"
elif [ "$postgres" = 1 ]; then
    say "PostgreSQL's server binaries not found (apt-get install postgresql): rows (h) skipped"
fi

# --- start the fake upstream and six memproxies ------------------------------------------

fake_args=--no-prompt-cache # lib.sh: start_fake_upstream
start_fake_upstream

# Twelve free ports: 6 memproxies, data plane and admin each.
read -r p_off a_off p_small a_small p_big a_big p_load a_load p_rel a_rel p_rec a_rec \
    <<<"$(free_ports 12 python-only)"
[ -n "$a_rec" ] || die "could not find free ports (python3 is needed)"

# start_memproxy INSTANCE MODE PORT ADMIN_PORT STORE [RETRIEVAL]: STORE is
# an LMDB directory, or "postgres" (the cluster of rows h).
start_memproxy() {
    local inst=$1 mmode=$2 port=$3 aport=$4 store=$5 retrieval=${6:-relevant} pid why st storage
    if [ "$store" = postgres ] || [ "$store" = postgres-sync ]; then
        # row hr (postgres-sync): synchronous_commit = on; the others off
        storage=$(printf 'backend = postgres\npostgres_url = %s%s\npostgres_pool = %s' "$pg_url" \
            "$([ "$store" = postgres ] && echo '?options=-csynchronous_commit%3Doff')" "$pg_pool")
    else
        storage=$(printf 'path = %s\nsync = %s' "$store" "$store_sync")
    fi
    cat >"$tmp/memproxy-$inst.ini" <<EOF
; generated by tests/bench/memory.sh
[server]
listen = 127.0.0.1:$port
admin_listen = 127.0.0.1:$aport
workers = 1
drain_timeout_ms = 2000

[upstream]
base_url = http://127.0.0.1:$fake_port/v1

[anthropic]
base_url = http://127.0.0.1:$fake_port
; memory jobs authorize with this key: without it a job borrows the
; Authorization of its user's last request from a small in-process cache,
; and a job whose user lost its slot waits for that user's next request
api_key = sk-bench-jobs

[memory]
mode = $mmode
retrieval = $retrieval

[admin]
token = $admin_token

[storage]
$storage
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

say "starting memproxy: memory off, hybrid on the $small_label store, hybrid on the $big_label store, hybrid on a second $big_label store (64-connection rows), hybrid with retrieval relevant and recent on the relevance store and its copy"
start_memproxy off off "$p_off" "$a_off" "$tmp/store-off"
start_memproxy small hybrid "$p_small" "$a_small" "$tmp/store-small"
start_memproxy big hybrid "$p_big" "$a_big" "$tmp/store-big"
start_memproxy load hybrid "$p_load" "$a_load" "$tmp/store-load"
start_memproxy relevant hybrid "$p_rel" "$a_rel" "$tmp/store-relevant" relevant
start_memproxy recent hybrid "$p_rec" "$a_rec" "$tmp/store-recent" recent
if [ -n "$pg_url" ]; then
    read -r p_pg a_pg p_pg64 a_pg64 p_l64 a_l64 p_prc a_prc <<<"$(free_ports 8 python-only)"
    start_memproxy pg hybrid "$p_pg" "$a_pg" postgres
    start_memproxy pg64 hybrid "$p_pg64" "$a_pg64" postgres
    start_memproxy lmdb64 hybrid "$p_l64" "$a_l64" "$tmp/store-lmdb64"
    start_memproxy pgrec hybrid "$p_prc" "$a_prc" postgres-sync
fi

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
pg_insts=""
[ -n "$pg_url" ] && pg_insts="pg pg64 lmdb64 pgrec"
for inst in off small big load relevant recent $pg_insts; do
    [ -z "${failed[$inst]:-}" ] && wait_first_sweep "$inst"
done
# populate dates the relevance users' past within retention_days (365):
# a purge here would mean rows (e) and (f) measure less than populate wrote.
for inst in relevant recent; do
    [ -z "${failed[$inst]:-}" ] || continue
    metrics_snapshot "$inst"
    purged=$(awk '/^memproxy_retention_purged_total\{/ { t += $2 } END { printf "%.0f", t }' "$tmp/metrics-$inst.txt")
    if [ "${purged:-0}" != 0 ]; then
        failed[$inst]="the start-up retention pass purged $purged items of the relevance store"
        say "$inst: FAILED: ${failed[$inst]}"
    fi
done

# Rows: a, b, c (memory hit at 1 connection), gr, gm (the same hit as (b)
# on /v1/responses and on Anthropic's /v1/messages), er, ec, fr, fc
# (relevance at 1 connection: the deep user and the few user, retrieval
# relevant and recent), dr and da (recording load at 64 connections,
# X-Memory read and auto).
# a64 and b64: (a) and (b) at 64 connections (memory off on its own
# instance, the hit on the recording rows' store before they run).
rows="a b gr gm c er ec fr fc a64 b64 dr da"
[ -n "$pg_url" ] && rows="a b hp gr gm c er ec fr fc a64 b64 dr da hl hp64 hr"
declare -A inst_of=([a]=off [b]=small [gr]=small [gm]=small [c]=big [er]=relevant [ec]=recent [fr]=relevant [fc]=recent [a64]=off [b64]=load [dr]=load [da]=load [hp]=pg [hl]=lmdb64 [hp64]=pg64 [hr]=pgrec)
declare -A conns_of=([a]=1 [b]=1 [gr]=1 [gm]=1 [c]=1 [er]=1 [ec]=1 [fr]=1 [fc]=1 [a64]=64 [b64]=64 [dr]=64 [da]=64 [hp]=1 [hl]=64 [hp64]=64 [hr]=64)
declare -A api_of=([gr]=responses [gm]=messages)
declare -A path_of=([gr]=/v1/responses [gm]=/v1/messages)
deep_label="$(fmt_users "$deep_facts") facts + $(fmt_users "$deep_messages") messages"
row_label() {
    case $1 in
    a) echo "(a) memory off (mode off)" ;;
    b) echo "(b) memory hit, $small_label users" ;;
    gr) echo "(g) memory hit, $small_label users, POST /v1/responses" ;;
    gm) echo "(g) memory hit, $small_label users, POST /v1/messages (Anthropic's)" ;;
    c) echo "(c) memory hit, $big_label users" ;;
    er) echo "(e) $deep_label, retrieval = relevant" ;;
    ec) echo "(e) $deep_label, retrieval = recent" ;;
    fr) echo "(f) $few_facts facts, retrieval = relevant" ;;
    fc) echo "(f) $few_facts facts, retrieval = recent" ;;
    a64) echo "(a) memory off (mode off), 64 connections" ;;
    b64) echo "(b) memory hit, 64 connections (the recording rows' store)" ;;
    dr) echo "(d) recording load, X-Memory: read" ;;
    da) echo "(d) recording load, X-Memory: auto" ;;
    hp) echo "(h) memory hit, $small_label users, **PostgreSQL**" ;;
    hl) echo "(h) memory hit, $small_label users, LMDB, 64 connections" ;;
    hp64) echo "(h) memory hit, $small_label users, **PostgreSQL**, 64 connections" ;;
    hr) echo "(h) recording, X-Memory: auto, **PostgreSQL** with synchronous_commit = on, 64 connections" ;;
    esac
}
row_user() {
    case $1 in
    er | ec) echo "$deep_user" ;;
    fr | fc) echo "$few_user" ;;
    *) echo "$hit_user" ;;
    esac
}

body_json "$body_size" >"$tmp/body.json"
question_json "$question" >"$tmp/body-question.json"
declare -A tokens
for inst in off small big load $pg_insts; do
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
# The hit on the other chat APIs.
body_json "$body_size" responses >"$tmp/body-gr.json"
body_json "$body_size" messages >"$tmp/body-gm.json"
declare -A object_of=([gr]='"object":"response"' [gm]='"type":"message"')
for row in gr gm; do
    [ -z "${failed[small]:-}" ] || continue
    if ! out=$(check_instance small "$hit_user" 1 "$tmp/body-$row.json" "${path_of[$row]}" "${object_of[$row]}"); then
        failed[$row]=$out
        say "$row: check FAILED: $out"
        continue
    fi
    tokens[$row]=$out
done
# The relevance rows: each user of each instance, with the question.
for row in er ec fr fc; do
    inst=${inst_of[$row]}
    [ -z "${failed[$inst]:-}" ] || continue
    if ! out=$(check_instance "$inst" "$(row_user "$row")" 1 "$tmp/body-question.json"); then
        failed[$row]=$out
        say "$row: check FAILED: $out"
        continue
    fi
    tokens[$row]=$out
done
if [ -z "${failed[load]:-}" ]; then
    if out=$(check_instance load "${user_prefix}0" 1); then
        tokens[active]=$out
    else
        failed[load]="check of ${user_prefix}0: $out"
    fi
fi
if [ -n "$pg_url" ] && [ -n "${tokens[pg]:-}" ] && [ "${tokens[pg]}" != "${tokens[small]:-}" ]; then
    failed[pg]="PostgreSQL injected ${tokens[pg]} tokens where LMDB injects ${tokens[small]:-?} for the same store"
    say "pg: check FAILED: ${failed[pg]}"
fi
for row in $rows; do
    [ -z "${failed[${inst_of[$row]}]:-}" ] || failed[$row]=${failed[${inst_of[$row]}]}
done

# --- measure -------------------------------------------------------------------------------

# pg_conn_watch PID: until killed, the most connections process PID had open
# to the cluster at once (sampled every 0.1 s), into $tmp/pg-conns: the
# established TCP connections it holds to the cluster's port (its sockets'
# inodes matched in /proc/net/tcp), one process's, where pg_stat_activity
# would count every instance's. One python process for the whole run,
# pinned with wrk: a process per sample cost a third of a CPU, beside the
# instance under test.
pg_conn_watch() {
    local port=${pg_url##*:}
    port=${port%%/*}
    # shellcheck disable=SC2086
    exec $pin_wrk python3 - "$1" "$port" "$tmp/pg-conns" <<'PY'
import os, sys, time
pid, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
most = 0
while True:
    inodes = set()
    for fd in os.listdir('/proc/%s/fd' % pid):
        try:
            t = os.readlink('/proc/%s/fd/%s' % (pid, fd))
        except OSError:
            continue
        if t.startswith('socket:['):
            inodes.add(t[8:-1])
    n = 0
    for f in ('/proc/net/tcp', '/proc/net/tcp6'):
        for line in open(f).read().splitlines()[1:]:
            c = line.split()
            if c[3] == '01' and int(c[2].rsplit(':', 1)[1], 16) == port and c[9] in inodes:
                n += 1
    if n > most:
        most = n
        with open(out, 'w') as f:
            f.write('%d\n' % most)
    time.sleep(0.1)
PY
}

# row_ok ROW: ROW is part of this run (in $rows) and has not failed.
row_ok() { case " $rows " in *" $1 "*) [ -z "${failed[$1]:-}" ] ;; *) return 1 ;; esac; }

# wrk arguments of a row (after --); TAG makes the users variant's bodies unique.
wrk_args() {
    case $1 in
    a | b | c | a64 | b64 | hp | hl | hp64) echo "hit $body_size $hit_user read" ;;
    gr | gm) echo "hit $body_size $hit_user read - ${api_of[$1]}" ;;
    er | ec | fr | fc) echo "hit 0 $(row_user "$1") read ${question// /+}" ;;
    dr) echo "users $body_size $user_prefix $active_users read $2" ;;
    da | hr) echo "users $body_size $user_prefix $active_users auto $2" ;;
    esac
}

# measure ROW ROUND [SECS [SLICE]]: one timed run (SECS, default run_secs);
# accumulates latencies, req/s and CPU.
measure() {
    local row=$1 r=$2 secs=${3:-$run_secs} tag="r$2${4:+s$4}" inst=${inst_of[$1]} c0 c1 w0 w1 args m0 m1 o0 o1 k0 k1 u0 u1
    args=$(wrk_args "$row" "$tag$row$$")
    m0=$(machine_busy_ns)
    o0=$(ours_ns)
    children_ns k0
    c0=$(cpu_ns "${pid_of[$inst]}")
    u0=$(cpu_ns "$fake_pid")
    w0=$(date +%s%N)
    # shellcheck disable=SC2086
    if ! run_wrk "$row" "${conns_of[$row]}" "$secs" "$tag" $args; then
        failed[$row]="wrk produced no result: $(tail -n 3 "$tmp/wrk-$row-${conns_of[$row]}-$tag.txt" | tr '\n' ' ')"
        say "$row: FAILED: ${failed[$row]}"
        return 1
    fi
    w1=$(date +%s%N)
    c1=$(cpu_ns "${pid_of[$inst]}")
    u1=$(cpu_ns "$fake_pid")
    m1=$(machine_busy_ns)
    o1=$(ours_ns)
    children_ns k1
    res[$row,other_ns]=$((${res[$row,other_ns]:-0} + (m1 - m0) - (o1 - o0) - (k1 - k0)))
    res[$row,p50s]="${res[$row,p50s]:-} ${bench[p50_us]}"
    res[$row,p50s_r$r]="${res[$row,p50s_r$r]:-} ${bench[p50_us]}"
    res[$row,p99s]="${res[$row,p99s]:-} ${bench[p99_us]}"
    res[$row,rpss]="${res[$row,rpss]:-} ${bench[rps]}"
    res[$row,cpu_ns]=$((${res[$row,cpu_ns]:-0} + c1 - c0))
    res[$row,up_ns]=$((${res[$row,up_ns]:-0} + u1 - u0))
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
for row in a b hp gr gm c er ec fr fc a64 b64 dr hl hp64; do
    row_ok "$row" || continue
    if [ "${conns_of[$row]}" = 1 ]; then set_layout latency; else set_layout throughput "${inst_of[$row]}"; fi
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
    quiet_cpu "$r"
    set_layout latency
    # (a) and (b) take turns in slices of slice_secs (a slow spell of the
    # machine that lasts a few seconds then lands on both sides of a
    # pair); they and relevant and recent swap places every round
    pair="a b"
    rel_rows="er ec fr fc"
    [ $((r % 2)) = 0 ] && pair="b a" && rel_rows="ec er fc fr"
    for sl in $(seq "$slices"); do
        for row in $pair; do
            row_ok "$row" || continue
            say "$row: 1 connection, ${slice_secs}s (round $r/$rounds, slice $sl/$slices)"
            measure "$row" "$r" "$slice_secs" "$sl"
        done
    done
    for row in hp gr gm c $rel_rows; do
        row_ok "$row" || continue
        say "$row: 1 connection, ${run_secs}s (round $r/$rounds)"
        measure "$row" "$r"
    done
    [ "$pinning" = 1 ] && quiet[$r,after]=$(probe_cpu "$cpu_lat")
    for row in a64 b64; do
        row_ok "$row" || continue
        set_layout throughput "${inst_of[$row]}"
        say "$row: 64 connections, ${run_secs}s (round $r/$rounds)"
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
    for row in hl hp64 hr; do
        row_ok "$row" || continue
        set_layout throughput "${inst_of[$row]}"
        say "$row: 64 connections, ${run_secs}s (round $r/$rounds)"
        if [ "$row" = hp64 ]; then
            pg_conn_watch "${pid_of[pg64]}" &
            watch_pid=$!
            measure "$row" "$r"
            kill "$watch_pid" 2>/dev/null
            wait "$watch_pid" 2>/dev/null
        elif [ "$row" = hr ]; then
            measure "$row" "$r" && drain pgrec # its memory work off the next rows
        else
            measure "$row" "$r"
        fi
    done
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

# round_p50s ROW: ROW's p50 of each round (the median of the round's slices),
# one per round that measured it.
round_p50s() {
    local r
    for r in $(seq "$rounds"); do
        # shellcheck disable=SC2086
        [ -n "${res[$1,p50s_r$r]:-}" ] && fmt_int "$(median ${res[$1,p50s_r$r]})" && echo
    done
}

# p50_added ROW BASE: what ROW adds to BASE's p50, for a goal. Sets
# "added", the median over the pairs of ROW's p50 minus BASE's measured next
# to it (the 1-connection rows take turns within a round, (a) and (b) in
# slices, so a slow spell of the machine lands on both sides of a pair):
# slice by slice when both rows ran in the same slices, else round by round
# (a row in slices counts the median of its round's slices), else, unless
# both rows have a p50 from every round, the difference of their medians;
# and "added_cell", both figures for the report.
p50_added() {
    local -a x y
    local between=$((res[$1,p50] - res[$2,p50])) d=() over=rounds
    read -r -a x <<<"${res[$1,p50s]:-}"
    read -r -a y <<<"${res[$2,p50s]:-}"
    added_cell="$between µs between the medians (${res[$1,p50]} − ${res[$2,p50]})"
    added=$between
    if [ "${#x[@]}" != "${#y[@]}" ]; then
        read -r -a x <<<"$(round_p50s "$1" | tr '\n' ' ')"
        read -r -a y <<<"$(round_p50s "$2" | tr '\n' ' ')"
    elif [ "${#x[@]}" -gt "$rounds" ]; then
        over="${#x[@]} slices ($slices a round)"
    fi
    [ "${#x[@]}" -ge "$rounds" ] && [ "${#x[@]}" = "${#y[@]}" ] || return 0
    read -r -a d <<<"$(pair_diffs "${x[*]}" "${y[*]}")"
    added=$(fmt_int "$(median "${d[@]}")")
    added_cell="$added µs, the median over the $over; $added_cell"
}

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
    res[$row,cpu_us]=$(per_request_us "${res[$row,cpu_ns]}" "${res[$row,requests]}")
    res[$row,up_us]=$(per_request_us "${res[$row,up_ns]}" "${res[$row,requests]}")
    res[$row,other]=$(awk -v c="${res[$row,other_ns]}" -v w="${res[$row,wall_ns]}" \
        'BEGIN { if (w > 0 && c > 0) printf "%.0f", 100 * c / w; else print 0 }')
    if [ "${res[$row,other]}" -gt 10 ]; then
        warnings+=("$(row_label "$row"): other work on the machine used ${res[$row,other]}% of a CPU during its runs: its numbers are noisy")
    fi
    res[$row,done]=1
    say "$row: p50 ${res[$row,p50]} us, p99 ${res[$row,p99]} us, $(fmt_int "${res[$row,rps]}") req/s, ${res[$row,cpu_us]} CPU us/req"
done

# --- optional profiles of the memory hit and of relevance ---------------------------

# profile ROW PATTERN: perf record (call graphs) of ROW's instance during
# one more 1-connection run of ROW; sets prof to the lines of perf report
# --children whose function matches PATTERN (at most 30).
profile() {
    local row=$1 pattern=$2 inst=${inst_of[$1]} perf_pid
    say "perf: profiling instance $inst during row $row for ${run_secs}s at 1 connection"
    perf record -q -F 2999 --call-graph dwarf,16384 -p "${pid_of[$inst]}" -o "$tmp/perf-$row.data" \
        -- sleep $((run_secs + 1)) >"$tmp/perf-record-$row.log" 2>&1 &
    perf_pid=$!
    sleep 0.5
    # shellcheck disable=SC2046
    run_wrk "$row" 1 "$run_secs" perf $(wrk_args "$row" x) || true
    wait "$perf_pid" 2>/dev/null
    prof=$(perf report -i "$tmp/perf-$row.data" --children --stdio --sort sym -g none 2>/dev/null |
        grep -E '^ +[0-9]' | grep -E "$pattern" | head -n 30)
    [ -n "$prof" ] || prof="(perf recorded nothing usable: $(tail -n 2 "$tmp/perf-record-$row.log" | tr '\n' ' '))"
}

perf_report=""
perf_report_e=""
if [ "$do_perf" = 1 ]; then
    if command -v perf >/dev/null; then
        set_layout latency
        if row_ok b; then
            profile b 'on_request|mp_reqmem|lmdb_get|decode_user|dec_|mp_inject|mp_chatreq|splice|fact_cmp|put_escaped|put_clean|_int_malloc|_int_free|malloc_consolidate|cfree|__libc_calloc|mp_store_get|mp_store_view|keep_newest|mp_usermem_free|mp_recall|mp_relevance|mp_terms'
            perf_report=$prof
        fi
        if row_ok er; then
            profile er 'mp_reqmem_inject|mp_inject_build|mp_recall|rank|mp_relevance_score|mp_relevance_pack|prf|value_cands|bm25f|smooth|build_query|ix_df|ix_postings|ix_item|ix_item_terms|cached|lmdb_scan|lmdb_get|mdb_cursor|mp_store_view|mp_store_backend_open|mp_codec|mp_relevance_items|mp_terms|_int_malloc|_int_free|cfree'
            perf_report_e=$prof
        fi
    else
        perf_report="(perf not installed)"
    fi
fi

# --- import rate ----------------------------------------------------------------------------
# POST /admin/users/{id}/import of import_messages messages (populate
# --emit-import: text of the deep user's kind) to the relevant instance,
# alone on its CPU. The answer comes when every message is committed and
# indexed, in one transaction on the memory worker.

declare -A imp
import_rate() {
    local code secs out n c0 c1
    "$populate_bin" --emit-import "$import_messages" >"$tmp/import.jsonl" 2>"$tmp/import-emit.err" || {
        imp[error]="populate --emit-import failed: $(head -c 200 "$tmp/import-emit.err")"
        return 1
    }
    imp[bytes]=$(stat -c %s "$tmp/import.jsonl")
    if [ "${imp[bytes]}" -gt $((32 * 1024 * 1024)) ]; then
        imp[error]="the import body ($(fmt_bytes "${imp[bytes]}")) is over the admin API's 32 MiB: lower --import-messages"
        return 1
    fi
    set_layout import
    say "import: POST /admin/users/$import_user/import, $import_messages messages ($(fmt_bytes "${imp[bytes]}"))"
    c0=$(cpu_ns "${pid_of[relevant]}")
    # shellcheck disable=SC2086
    out=$($pin_wrk curl -sS -o "$tmp/import.out" -w '%{http_code} %{time_total}' --max-time 600 \
        -H "Authorization: Bearer $admin_token" -H 'Content-Type: application/x-ndjson' \
        --data-binary @"$tmp/import.jsonl" \
        "${admin[relevant]}/admin/users/$import_user/import" 2>"$tmp/import.err")
    c1=$(cpu_ns "${pid_of[relevant]}")
    read -r code secs <<<"$out"
    if [ "$code" != 200 ]; then
        imp[error]="import answered HTTP ${code:-000}: $(head -c 300 "$tmp/import.out" "$tmp/import.err" 2>/dev/null | tr '\n' ' ')"
        return 1
    fi
    n=$(sed -n 's/.*"messages":\([0-9]*\).*/\1/p' "$tmp/import.out")
    if [ "$n" != "$import_messages" ]; then
        imp[error]="import stored ${n:-?} messages of $import_messages: $(head -c 300 "$tmp/import.out")"
        return 1
    fi
    imp[secs]=$secs
    imp[rate]=$(awk -v n="$n" -v s="$secs" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }')
    imp[cpu_us]=$(per_request_us $((c1 - c0)) "$n")
    say "import: $n messages in $secs s, ${imp[rate]} messages/s"
}
if [ -z "${failed[relevant]:-}" ]; then
    import_rate || say "import FAILED: ${imp[error]}"
else
    imp[error]="the relevant instance failed: ${failed[relevant]}"
fi

# --- report ------------------------------------------------------------------------------

wrk_version=$("$wrk_bin" -v 2>&1 | head -n 1 | sed 's/ Copyright.*//')
memproxy_version=$("$memproxy_bin" --version 2>&1 | head -n 1)
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)
[ -n "$cpu_model" ] || cpu_model=$(uname -m)

row_store() {
    case $1 in
    a | a64) echo "—" ;;
    b | gr | gm) echo "$small_label + $hit_user" ;;
    hp | hp64 | hr) echo "(b)'s, copied into PostgreSQL" ;;
    hl) echo "a copy of (b)'s" ;;
    c) echo "$big_label + $hit_user" ;;
    er | fr) echo "$small_label + $hit_user, $deep_user, $few_user" ;;
    ec | fc) echo "a copy of (e, f) relevant's" ;;
    *) echo "$big_label + $hit_user (a second one)" ;;
    esac
}
row_users() {
    case $1 in
    a | b | gr | gm | c | er | ec | fr | fc | a64 | b64 | hp | hl | hp64) row_user "$1" ;;
    *) echo "${user_prefix}0..$((active_users - 1)) (cycled)" ;;
    esac
}
row_tokens() {
    case $1 in
    a | a64) echo "0" ;;
    b) echo "${tokens[small]:-?}" ;;
    b64) echo "${tokens[load]:-?}" ;;
    hp) echo "${tokens[pg]:-?}" ;;
    hp64) echo "${tokens[pg64]:-?}" ;;
    hl) echo "${tokens[lmdb64]:-?}" ;;
    hr) echo "${tokens[pgrec]:-?}" ;;
    gr | gm) echo "${tokens[$1]:-?}" ;;
    c) echo "${tokens[big]:-?}" ;;
    er | ec | fr | fc) echo "${tokens[$1]:-?}" ;;
    *) echo "${tokens[active]:-?} (${user_prefix}0)" ;;
    esac
}

# relevance_goal ROW_RELEVANT ROW_RECENT LIMIT_US WHAT: the goal line of
# relevant against recent, p50 difference within LIMIT_US.
relevance_goal() {
    local r=$1 c=$2 limit=$3 what=$4 added added_cell ok p99d cpud
    if [ -z "${res[$r,done]:-}" ] || [ -z "${res[$c,done]:-}" ]; then
        echo "| $what: p50 relevant − recent | n/a | ≤ $limit µs | not measured |"
        goal_unmeasured+=("$what")
        return
    fi
    p50_added "$r" "$c"
    p99d=$((res[$r,p99] - res[$c,p99]))
    cpud=$(awk -v a="${res[$r,cpu_us]}" -v b="${res[$c,cpu_us]}" 'BEGIN { printf "%+.1f", a - b }')
    ok=0
    [ "$added" -le "$limit" ] && ok=1
    verdict $ok "$what: relevant adds $added us to p50 (> $limit)"
    echo "| $what: p50 relevant − recent | $added_cell; p99 $(printf '%+d' "$p99d") µs (${res[$r,p99]} − ${res[$c,p99]}); CPU $cpud µs/req | ≤ $limit µs | $V |"
}

# shared_added USER: sets added (µs, rounded) for a user of rows (i): its
# relevant recall's median with the question minus with the question that
# matches nothing; 1 when both were measured.
shared_added() {
    local m=${rich[shared,$1,relevant_p50_us]:-} z=${rich[shared-none,$1,relevant_p50_us]:-}
    [ -n "$m" ] && [ -n "$z" ] || return 1
    added=$(awk -v m="$m" -v z="$z" 'BEGIN { printf "%.0f", m - z }')
}

# shared_goals: the goal lines of rows (i): each user's added median, and
# the most messages' against the fewest's.
shared_goals() {
    local u first="" last="" fa la ok
    for u in "${shared_users[@]}"; do
        if ! shared_added "$u"; then
            echo "| relevance, $u (i): p50 matching − nothing | n/a | ≤ $shared_goal_us µs | not measured |"
            goal_unmeasured+=("relevance, $u (i)")
            continue
        fi
        ok=0
        [ "$added" -le "$shared_goal_us" ] && ok=1
        verdict $ok "relevance, $u (i): adds $added us (> $shared_goal_us)"
        echo "| relevance, $u (i): p50 matching − nothing | $added µs | ≤ $shared_goal_us µs | $V |"
        case $u in shared-m*) [ -z "$first" ] && first=$u && fa=$added; last=$u && la=$added ;; esac
    done
    if [ -n "$first" ] && [ "$first" != "$last" ]; then
        ok=0
        [ "$la" -le $((2 * (fa > 1 ? fa : 1))) ] && ok=1
        verdict $ok "relevance (i): $last adds $la us, more than twice $first's $fa us"
        echo "| relevance (i): $last against $first, added | $la µs / $fa µs | ≤ 2× | $V |"
    fi
}

# store_bytes STORE: a line of the store-bytes table from the deep user's
# RICH line of STORE (map in use before and after each phase).
store_bytes() {
    local st=$1 label=$2 k=$1,$deep_user
    [ -n "${rich[$k,map_after_messages]:-}" ] || return 0
    awk -v lbl="$label" -v f="${rich[$k,facts]}" -v m="${rich[$k,messages]}" \
        -v b="${rich[$k,map_before]}" -v af="${rich[$k,map_after_facts]}" \
        -v am="${rich[$k,map_after_messages]}" -v ft="${rich[$k,fact_text_bytes]}" \
        -v mt="${rich[$k,message_text_bytes]}" -v sf="${rich[$k,seconds_facts]}" \
        -v sm="${rich[$k,seconds_messages]}" 'BEGIN {
        printf "| %s | %d | %.0f | %.0f | %.1f× | %d | %.0f | %.0f | %.1f× | %.0f / %.0f |\n",
            lbl, f, ft / f, (af - b) / f, (af - b) / ft, m, mt / m, (am - af) / m, (am - af) / mt,
            (sf > 0 ? f / sf : 0), (sm > 0 ? m / sm : 0) }'
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
    echo "POST $url_path, 1 KB body (post.lua's), non-streaming; the fake upstream answers a small chat.completion and plays the LLM for memory jobs, its prompt caching off (\`--no-prompt-cache\`: it parses no body). Rows (e) and (f) send the question \"$question\" alone as the user message (no padding)."
    echo "memproxy: workers = 1, [memory] defaults (buffer_messages 15, context_budget_tokens 1500, queue_max 10000, retrieval relevant unless the row says recent), [storage] sync = $store_sync, encryption at rest $([ "$encrypt" = 1 ] && echo on || echo off). One memproxy process per row group, each on its own store: (a), (b), (c), (d) on a second store like (c)'s, (e, f) relevant on the relevance store and (e, f) recent on a copy of it."
    echo "Hit user \`$hit_user\`: 50 facts, a 150-word summary, 15 buffered messages (more than the budget holds: the injection is cut to it). Other users: 3 facts, a 20-word summary, 4 messages. \`$deep_user\`: $deep_facts facts and $deep_messages archived messages of English-like text (tests/bench/benchtext.c), the word \"kayak\" in $needles of those items, a 150-word summary, 15 buffered messages. \`$few_user\`: $few_facts facts (\"kayak\" in $few_needles), a summary, 15 buffered messages."
    echo
    echo "| row | store (users) | user | X-Memory | conns | p50 µs | p99 µs | req/s | memproxy CPU | CPU µs/req | upstream CPU µs/req | injected tokens | other load | errors |"
    echo "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    for row in $rows; do
        lbl=$(row_label "$row")
        xm="read"
        [ "$row" = da ] || [ "$row" = hr ] && xm=auto
        [ "$row" = er ] || [ "$row" = fr ] && xm="read, **relevant**"
        [ "$row" = ec ] || [ "$row" = fc ] && xm="read, recent"
        [ "$row" = a ] && xm="read (ignored)"
        if ! row_ok "$row" || [ -z "${res[$row,done]:-}" ]; then
            reason=${failed[$row]:-not measured}
            echo "| $lbl | $(row_store "$row") | $(row_users "$row") | $xm | ${conns_of[$row]} | FAILED: $(printf '%s' "$reason" | head -n 1 | sed 's/|/\\|/g') | | | | | | | | |"
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
        echo "| $lbl | $(row_store "$row") | $(row_users "$row") | $xm | ${conns_of[$row]} | ${res[$row,p50]} | ${res[$row,p99]} | $rps | ${res[$row,cpu]}% | ${res[$row,cpu_us]} | ${res[$row,up_us]} | $(row_tokens "$row") | ${res[$row,other]}% | $errs |"
    done
    echo
    [ "$rounds" -gt 1 ] && echo "Latencies and req/s are medians over the rounds; req/s shows (slowest–fastest round)."
    echo "memproxy CPU: the measured instance's threads (request worker, memory worker, all), user + system, as a share of one CPU during the timed runs; CPU µs/req divides that time by the requests served; upstream CPU µs/req is the fake upstream's, divided the same way (it shares the 1-connection rows' CPU, so what it spends reading a bigger body lands in their latency). Injected tokens: X-Memory-Injected-Tokens of the check request. Other load: CPU the rest of the machine used during the row's timed runs (all busy CPU time minus wrk, the fake upstream and the memproxies), as a share of one CPU: over 10% means someone else's work disturbed the row."
    if [ -n "$pg_url" ]; then
        echo "Rows (h): (b)'s store copied into a throwaway PostgreSQL cluster on this machine (scripts/pg-cluster.sh: loopback, fsync on) with \`memproxy ctl copy-store\`, read by two instances with [storage] backend = postgres, postgres_pool = $pg_pool, synchronous_commit = off (one for 1 connection, one for 64), and written by a third with synchronous_commit = on (hr: X-Memory: auto, every commit flushed), next to an LMDB instance on a copy of (b)'s store for 64 connections; (b) is LMDB's 1-connection row. The PostgreSQL server is not pinned: its processes run on whichever CPU is free, so the 64-connection PostgreSQL row shares the machine's CPUs with it. The same memory is injected on both backends (injected tokens: (h) ${tokens[pg]:-?}, (b) ${tokens[small]:-?})."
    fi
    echo

    echo "## Goals"
    echo
    echo "| goal | measured | target | result |"
    echo "|---|---:|---|---|"
    if [ -n "${res[a,done]:-}" ] && [ -n "${res[b,done]:-}" ]; then
        p50_added b a
        ok=0
        [ "$added" -le 10 ] && ok=1
        cpu_added=$(awk -v b="${res[b,cpu_us]}" -v a="${res[a,cpu_us]}" 'BEGIN { printf "%.1f", b - a }')
        verdict $ok "memory hit adds $added us to p50 (> 10)"
        echo "| memory hit: added p50, (b) − (a) | $added_cell; CPU +$cpu_added µs/req | ≤ 10 µs (issue 15; issue 3 asked 20) | $V |"
    else
        echo "| memory hit: added p50, (b) − (a) | n/a | ≤ 10 µs | not measured |"
        goal_unmeasured+=("added p50")
    fi
    for row in gr gm; do
        what="memory hit on ${path_of[$row]}: p50 − (b)'s"
        if [ -n "${res[b,done]:-}" ] && [ -n "${res[$row,done]:-}" ]; then
            p50_added "$row" b
            ok=0
            [ "$added" -le 5 ] && ok=1
            verdict $ok "a memory hit on ${path_of[$row]} costs $added us more than on chat completions (> 5)"
            echo "| $what | $added_cell | ≤ 5 µs (no more than chat completions, within noise) | $V |"
        else
            echo "| $what | n/a | ≤ 5 µs | not measured |"
            goal_unmeasured+=("hit on ${path_of[$row]}")
        fi
    done
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
    if [ -n "${res[a64,done]:-}" ] && [ -n "${res[b64,done]:-}" ]; then
        rr=$(awk -v b="${res[b64,rps]}" -v a="${res[a64,rps]}" 'BEGIN { printf "%.2f", b / a }')
        ok=$(awk -v b="${res[b64,rps]}" -v a="${res[a64,rps]}" 'BEGIN { print (b >= 0.6 * a) ? 1 : 0 }')
        verdict "$ok" "memory hit at 64 conns serves $rr of memory off's req/s (< 0.6)"
        echo "| memory hit at 64 conns: req/s (b64) / (a64), sync = $store_sync | $rr ($(fmt_int "${res[b64,rps]}") / $(fmt_int "${res[a64,rps]}")) | ≥ 0.6 (issue 73) | $V |"
        # the memproxy under test is alone on its CPU and saturated at 64
        # connections: a request's CPU is the inverse of its rate
        hit_us=$(awk -v b="${res[b64,rps]}" -v a="${res[a64,rps]}" 'BEGIN { printf "%.1f", 1e6 / b - 1e6 / a }')
        ok=$(awk -v h="$hit_us" 'BEGIN { print (h <= 10) ? 1 : 0 }')
        verdict "$ok" "a memory hit costs $hit_us us of CPU (> 10)"
        echo "| memory hit: CPU per hit from req/s at 64 conns, 1/(b64) − 1/(a64) | $hit_us µs | ≤ 10 µs (issue 73) | $V |"
    else
        echo "| memory hit at 64 conns: req/s (b64) / (a64) | n/a | ≥ 0.6 | not measured |"
        goal_unmeasured+=("memory hit at 64 conns")
    fi
    if [ -n "${res[dr,done]:-}" ] && [ -n "${res[da,done]:-}" ]; then
        rr=$(awk -v a="${res[da,rps]}" -v r="${res[dr,rps]}" 'BEGIN { printf "%.2f", a / r }')
        ok=$(awk -v a="${res[da,rps]}" -v r="${res[dr,rps]}" 'BEGIN { print (a >= 0.8 * r) ? 1 : 0 }')
        verdict "$ok" "req/s auto/read $rr < 0.8"
        p99_added=$(awk -v a="${res[da,p99]}" -v r="${res[dr,p99]}" 'BEGIN { printf "%+d", a - r }')
        echo "| recording under load: req/s auto / read, 64 conns, sync = $store_sync (p99 added: $p99_added µs) | $rr ($(fmt_int "${res[da,rps]}") / $(fmt_int "${res[dr,rps]}")) | ≥ 0.8 (issue 73) | $V |"
        pr=$(awk -v a="${res[da,p99]}" -v r="${res[dr,p99]}" 'BEGIN { printf "%.2f", a / r }')
        ok=$(awk -v a="${res[da,p99]}" -v r="${res[dr,p99]}" 'BEGIN { print (a <= 1.05 * r) ? 1 : 0 }')
        verdict "$ok" "p99 auto/read $pr > 1.05"
        echo "| recording under load: p99 auto / read, 64 conns | $pr (${res[da,p99]} / ${res[dr,p99]} µs) | ≤ 1.05 | $V |"
    else
        echo "| recording under load: auto / read | n/a | req/s ≥ 0.8, p99 ≤ 1.05 | not measured |"
        goal_unmeasured+=("recording under load")
    fi
    relevance_goal er ec 50 "relevance, $deep_label (e)"
    relevance_goal fr fc 10 "relevance, $few_facts facts (f)"
    shared_goals
    if [ -n "$pg_url" ]; then
        if [ -n "${res[b,done]:-}" ] && [ -n "${res[hp,done]:-}" ]; then
            p50_added hp b
            ok=0
            [ "$added" -le 100 ] && ok=1
            verdict $ok "a memory hit on PostgreSQL adds $added us to LMDB's p50 (> 100)"
            echo "| PostgreSQL: memory hit p50 added over LMDB, (h) − (b), 1 conn | $added_cell | ≤ 100 µs | $V |"
        else
            echo "| PostgreSQL: memory hit p50 added over LMDB | n/a | ≤ 100 µs | not measured |"
            goal_unmeasured+=("PostgreSQL p50")
        fi
        if [ -n "${res[hl,done]:-}" ] && [ -n "${res[hp64,done]:-}" ]; then
            rr=$(awk -v p="${res[hp64,rps]}" -v l="${res[hl,rps]}" 'BEGIN { printf "%.2f", p / l }')
            ok=$(awk -v p="${res[hp64,rps]}" -v l="${res[hl,rps]}" 'BEGIN { print (p >= 0.7 * l) ? 1 : 0 }')
            verdict "$ok" "req/s PostgreSQL/LMDB $rr < 0.7"
            echo "| PostgreSQL: req/s at 64 conns with memory reads, PostgreSQL / LMDB | $rr ($(fmt_int "${res[hp64,rps]}") / $(fmt_int "${res[hl,rps]}")) | ≥ 0.7 | $V |"
            conns=$(cat "$tmp/pg-conns" 2>/dev/null || echo 0)
            bound=$((pg_pool * 1))
            ok=0
            [ "$conns" -le "$bound" ] && [ "$conns" -gt 0 ] && ok=1
            verdict $ok "PostgreSQL connections: $conns open at once (bound $bound)"
            echo "| PostgreSQL: connections the 64-conn instance held at once during its runs | $conns (postgres_pool $pg_pool, 1 worker) | ≤ $bound (workers × postgres_pool) | $V |"
        else
            echo "| PostgreSQL: req/s at 64 conns, PostgreSQL / LMDB | n/a | ≥ 0.7 | not measured |"
            goal_unmeasured+=("PostgreSQL req/s")
        fi
        if [ -n "${res[hr,done]:-}" ] && [ -n "${res[hp64,done]:-}" ]; then
            rr=$(awk -v a="${res[hr,rps]}" -v r="${res[hp64,rps]}" 'BEGIN { printf "%.2f", a / r }')
            ok=$(awk -v a="${res[hr,rps]}" -v r="${res[hp64,rps]}" 'BEGIN { print (a >= 0.6 * r) ? 1 : 0 }')
            verdict "$ok" "PostgreSQL recording/reads $rr < 0.6"
            echo "| PostgreSQL: req/s at 64 conns recording with synchronous_commit = on / reads, (hr) / (hp64) | $rr ($(fmt_int "${res[hr,rps]}") / $(fmt_int "${res[hp64,rps]}")); p99 ${res[hr,p99]} µs | ≥ 0.6 | $V |"
        else
            echo "| PostgreSQL: recording with synchronous_commit = on / reads | n/a | ≥ 0.6 | not measured |"
            goal_unmeasured+=("PostgreSQL recording")
        fi
    fi
    if [ -n "${imp[rate]:-}" ]; then
        ok=0
        [ "${imp[rate]}" -ge 5000 ] && ok=1
        verdict $ok "import indexes ${imp[rate]} messages/s (< 5000)"
        echo "| import: archived messages indexed per second | ${imp[rate]} ($import_messages in ${imp[secs]} s; CPU ${imp[cpu_us]} µs/message) | ≥ 5,000 | $V |"
    else
        echo "| import: archived messages indexed per second | n/a | ≥ 5,000 | not measured |"
        goal_unmeasured+=("import rate")
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

    echo "## Relevance: what the question reaches, and recall in process"
    echo
    echo "| user | facts | archived messages | question terms: document frequency, facts + archive | items scored > 0: facts + archive | view + scoring | view + recall, recent | view + recall, relevant | ranked facts visited, recent / relevant |"
    echo "|---|---:|---:|---|---:|---:|---:|---:|---:|"
    for u in "$deep_user" "$few_user"; do
        k=relevant,$u
        [ -n "${rich[$k,hits_facts]:-}" ] || continue
        echo "| $u | ${rich[$k,facts]} | ${rich[$k,messages]} | $(printf '%s' "${rich[$k,question_terms]}" | sed 's/:/ /g; s/,/, /g') | ${rich[$k,hits_facts]} + ${rich[$k,hits_archive]} | ${rich[$k,score_us]} µs | ${rich[$k,recent_us]} µs | ${rich[$k,relevant_us]} µs | ${rich[$k,ranked_recent]} / ${rich[$k,ranked_relevant]} |"
    done
    echo
    echo "From populate --question right after populating (tests/bench/benchcheck.c), in one process, no HTTP: the question's terms (stemmed, stop words dropped) and how many items hold each, read through the request path's view; how many items mp_relevance_score scores above 0 with the request path's presets (the needle's items, their neighbours in a session, what pseudo-relevance feedback adds); the mean time of a view with both kinds scored, and of a view with the whole recall of each strategy as proxy/plane/reqmem.c runs it (default [memory] settings, hybrid); how many facts each recall's walk of the ranked facts read (the walk stops only when the profile line has less room than the shortest possible fact, so a user whose facts are all longer than what is left is read to the end). Rows (e) and (f) measure the whole request."
    echo

    echo "## Relevance over a history that shares the question's words (rows (i))"
    echo
    echo "| user | facts | archived messages | question terms: document frequency, facts + archive | items scored > 0: facts + archive | relevant recall, p50: the question | the question that matches nothing | added |"
    echo "|---|---:|---:|---|---:|---:|---:|---:|"
    for u in "${shared_users[@]}"; do
        k=shared,$u
        [ -n "${rich[$k,hits_facts]:-}" ] || continue
        added="n/a"
        shared_added "$u" && added="$added µs"
        echo "| $u | ${rich[$k,facts]} | ${rich[$k,messages]} | $(printf '%s' "${rich[$k,question_terms]}" | sed 's/:/ /g; s/,/, /g') | ${rich[$k,hits_facts]} + ${rich[$k,hits_archive]} | ${rich[$k,relevant_p50_us]} µs | ${rich[shared-none,$u,relevant_p50_us]:-?} µs | $added |"
    done
    echo
    echo "In process (populate --question, tests/bench/benchcheck.c), like the table above: for each user a view and the whole relevant recall (default [memory] settings, hybrid), the median of up to 2,000 runs, with \"$question\" (every item of the user holds its word) and with \"$nomatch_question\" (no item does). Added: the first minus the second, what relevance costs for a question that reaches every item."
    echo

    if [ "$pinning" = 1 ]; then
        echo "## The CPU of the 1-connection rows"
        echo
        echo "Before each round the script timed a fixed loop on each CPU (best of 3) and ran the round's 1-connection rows on the quicker one, waiting (up to ${quiet_wait} s) while even that one was more than ${quiet_slack}% slower than the run's quickest time ($quiet_best µs); the CPU was timed again after the rows. A round slower than the quickest by more than ${quiet_slack}% before or after ran (partly) in a slow spell of the machine: it is counted all the same."
        echo
        echo "| round | CPU | probe before, µs (× quickest) | waited | probe after, µs (× quickest) | (b) − (a) p50, µs, the round's median |"
        echo "|---:|---:|---:|---:|---:|---:|"
        for r in $(seq "$rounds"); do
            [ -n "${quiet[$r,cpu]:-}" ] || continue
            read -r -a qa <<<"${res[a,p50s_r$r]:-}"
            read -r -a qb <<<"${res[b,p50s_r$r]:-}"
            qd="n/a"
            if [ "${#qa[@]}" -gt 0 ] && [ "${#qa[@]}" = "${#qb[@]}" ]; then
                read -r -a qdiffs <<<"$(pair_diffs "${qb[*]}" "${qa[*]}")"
                qd="$(fmt_int "$(median "${qdiffs[@]}")") (slices: ${qdiffs[*]})"
            fi
            echo "| $r | ${quiet[$r,cpu]} | ${quiet[$r,before]} ($(times_quickest "${quiet[$r,before]}")) | ${quiet[$r,waited]} s | ${quiet[$r,after]:-?} ($(times_quickest "${quiet[$r,after]:-0}")) | $qd |"
        done
        echo
    fi

    echo "## Import"
    echo
    if [ -n "${imp[rate]:-}" ]; then
        echo "POST /admin/users/$import_user/import to the (e, f) relevant instance (alone on its CPU, [storage] sync = $store_sync): $import_messages messages ($(fmt_bytes "${imp[bytes]}") of JSON Lines, each with an id, text like $deep_user's) answered 200 after ${imp[secs]} s: **${imp[rate]} messages/s**, memproxy CPU ${imp[cpu_us]} µs per message (all threads: parsing, the queue, indexing, the commit)."
    else
        echo "Not measured: ${imp[error]:-?}"
        invalid_reasons+=("import: ${imp[error]:-not measured}")
    fi
    echo

    echo "## Store bytes per item"
    echo
    echo "| store | facts | text bytes per fact | store bytes per fact | store / text | archived messages | text bytes per message | store bytes per message | store / text | facts / messages written per s |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    if [ "$encrypt" = 1 ]; then
        store_bytes size "clear"
        store_bytes relevant "sealed"
    else
        store_bytes relevant "clear"
    fi
    echo
    echo "Growth of the LMDB map in use (what data.mdb needs) while populate wrote $deep_user's facts, then its archive, into the relevance store (after $small_label users), divided by the count: the record and every index record of the item (facts: factkeys, factrank, docs, dterms, postings; messages: atime, docs, dterms, postings), B-tree pages as filled by batches of 4096 ops. Text bytes: a fact's key and value, a message's content.$([ "$encrypt" = 1 ] && echo " Sealed: populate --key-file (every value AES-256-GCM sealed, index terms and user ids HMAC'd); clear: the same data in a store without a key.")"
    echo

    echo "## Stores"
    echo
    echo "| store | users | ops | write transactions | populate s | data.mdb | LMDB map in use |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
    for s in small big load relevant size; do
        [ -n "${pop[$s,users]:-}" ] || continue
        extra=""
        [ "$s" = relevant ] || [ "$s" = size ] && extra=", $deep_user, $few_user"
        echo "| $s | ${pop[$s,users]} + $hit_user$extra | ${pop[$s,ops]} | ${pop[$s,applies]} | ${pop[$s,seconds]} | $(fmt_bytes "${pop[$s,disk_bytes]}") | $(fmt_bytes "${pop[$s,map_used]}") |"
    done
    echo
    echo "Filled by tests/bench/populate through the storage library ([storage] sync = none while populating, about 4096 ops per transaction, users in scrambled key order). The recent instance of (e, f) runs on a copy of the relevant store.$([ "$encrypt" = 1 ] && echo " With --encrypt: small, big and load populated in clear, then memproxy --rotate-key; relevant populated sealed; size is relevant's data in clear, for the store bytes.")"
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
    if [ -n "$perf_report_e" ]; then
        echo "## Profile of relevance (perf, row (e) relevant, 1 connection)"
        echo
        echo "Share of memproxy's samples spent in each function and its callees (\`perf report --children\`):"
        echo
        echo '```'
        printf '%s\n' "$perf_report_e"
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
