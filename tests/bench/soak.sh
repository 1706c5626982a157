#!/usr/bin/env bash
# memproxy soak: a fixed population of users sends repeating traffic to
# memproxy in hybrid mode for minutes; does the store stop growing once the
# traffic repeats (growth bounded by users, not by traffic)? See
# tests/bench/README.md ("soak.sh").
#
# Usage: tests/bench/soak.sh [--short|--long] [--build DIR] [--out FILE]
#                            [--users N] [--messages N] [--epochs N]
#                            [--epoch-secs SEC] [--conns N] [--sample SEC]
#                            [--sync full|meta|none] [--strict] [--keep-tmp]
# --short: 200 users, 4 epochs of 15 s (~75 s, CI smoke);
# --long: 1,000 users, 10 epochs of 60 s (10 min of traffic).
# An epoch lasts its seconds and until one whole pass of the cycle
# (users x messages requests) was answered, so a slow or busy machine makes
# it longer, never too short to repeat the traffic (at most 20 times its
# seconds).
# Each epoch is one memproxy process whose clock is 2 h ahead of the last
# one's (MEMPROXY_TEST_CLOCK_OFFSET_MS), so idempotency keys ([memory]
# idempotency_hours = 1) expire between epochs and the same bodies are
# recorded again.
# Exit: 0 valid run, 1 setup error, 2 invalid run (memproxy failed, wrk saw
#       errors, the cycle never repeated, nothing was recorded), 3 valid run
#       but the last third grew more than 10% of the first (only --strict).

set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
prog=soak
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"

mode=short
build_dir=$root/build
out_file=$root/.bench/soak.md
users_opt=""
messages=30
epochs_opt=""
epoch_secs_opt=""
conns=64
sample_opt=""
store_sync=full
strict=0
keep_tmp=0
body_size=1024

usage() {
    sed -n '7,23p' "$0" | sed 's/^# \{0,1\}//'
}


common_opts="--short --long --build --out --strict --keep-tmp"
while [ $# -gt 0 ]; do
    if common_opt "$@"; then
        shift "$opt_shift"
        continue
    fi
    case $1 in
    --users) need_arg "$1" $# && users_opt=$2 && shift ;;
    --users=*) users_opt=${1#--users=} ;;
    --messages) need_arg "$1" $# && messages=$2 && shift ;;
    --messages=*) messages=${1#--messages=} ;;
    --epochs) need_arg "$1" $# && epochs_opt=$2 && shift ;;
    --epochs=*) epochs_opt=${1#--epochs=} ;;
    --epoch-secs) need_arg "$1" $# && epoch_secs_opt=$2 && shift ;;
    --epoch-secs=*) epoch_secs_opt=${1#--epoch-secs=} ;;
    --conns) need_arg "$1" $# && conns=$2 && shift ;;
    --conns=*) conns=${1#--conns=} ;;
    --sample) need_arg "$1" $# && sample_opt=$2 && shift ;;
    --sample=*) sample_opt=${1#--sample=} ;;
    --sync) need_arg "$1" $# && store_sync=$2 && shift ;;
    --sync=*) store_sync=${1#--sync=} ;;
    -h | --help)
        usage
        exit 0
        ;;
    *) die "unknown argument '$1' (try --help)" ;;
    esac
    shift
done


if [ "$mode" = long ]; then
    users=1000
    epochs=10
    epoch_secs=60
    sample_secs=5
    drain_max=180
else
    users=200
    epochs=4
    epoch_secs=15
    sample_secs=2
    drain_max=30
fi
[ -z "$users_opt" ] || users=$users_opt
[ -z "$epochs_opt" ] || epochs=$epochs_opt
[ -z "$epoch_secs_opt" ] || epoch_secs=$epoch_secs_opt
[ -z "$sample_opt" ] || sample_secs=$sample_opt
positive_int "$users" || die "--users must be a positive whole number"
positive_int "$messages" || die "--messages must be a positive whole number"
positive_int "$epochs" || die "--epochs must be a positive whole number"
[ "$epochs" -ge 2 ] || die "--epochs must be at least 2 (the traffic must repeat after a clock move)"
positive_int "$epoch_secs" || die "--epoch-secs must be a positive whole number of seconds"
positive_int "$conns" || die "--conns must be a positive whole number"
positive_int "$sample_secs" || die "--sample must be a positive whole number of seconds"
case $store_sync in
full | meta | none) ;;
*) die "--sync must be full, meta or none" ;;
esac

user_prefix=soak-u
idem_hours=1
clock_step_ms=$((2 * idem_hours * 3600 * 1000)) # each epoch's clock is this far ahead of the last
admin_token=soak-admin-token-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d " \n")
url_path=/v1/chat/completions

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
command -v python3 >/dev/null || die "python3 not found (free ports, JSON of the admin API); install it"
[ -r "$here/soak.lua" ] || die "missing $here/soak.lua"

# --- temporary directory and clean-up --------------------------------------------

tmp=$(mktemp -d "${TMPDIR:-/tmp}/memproxy-soak.XXXXXX") || die "cannot create a temporary directory"
started_pids=""
fake_pid=""
mp_pid=""
wrk_pid=""

# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
    trap - EXIT INT TERM
    stop_started
    remove_tmp
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# stop_memproxy: SIGTERM, up to 30 s for the drain, then SIGKILL (counted).
kills=0
stop_memproxy() {
    local _
    [ -n "$mp_pid" ] || return 0
    kill -TERM "$mp_pid" 2>/dev/null
    for _ in $(seq 300); do
        kill -0 "$mp_pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$mp_pid" 2>/dev/null; then
        kill -KILL "$mp_pid" 2>/dev/null
        kills=$((kills + 1))
    fi
    wait "$mp_pid" 2>/dev/null
    forget_pid "$mp_pid"
    mp_pid=""
}

# No CPU pinning: the soak measures growth, not latency; every process may
# use every CPU so the traffic is as fast as the machine allows.
pin_wrk=""
pin_fake=""
pin_memproxy=""

measure_busy_before
say "mode $mode: $users users x $messages messages, $epochs epochs of ${epoch_secs}s, $conns connections, sample every ${sample_secs}s"

fake_args=--no-prompt-cache # lib.sh: start_fake_upstream
start_fake_upstream

read -r port aport <<<"$(free_ports 2 python-only)"
[ -n "$aport" ] || die "could not find free ports (python3 is needed)"
base_url=http://127.0.0.1:$port
admin_url=http://127.0.0.1:$aport
store=$tmp/store
mkdir -p "$store"

ini=$tmp/memproxy.ini
cat >"$ini" <<EOF
; generated by tests/bench/soak.sh
[server]
listen = 127.0.0.1:$port
admin_listen = 127.0.0.1:$aport
workers = 1

[upstream]
base_url = http://127.0.0.1:$fake_port/v1
; memory jobs authorize with this key (see README.md, memory benchmark)
api_key = sk-soak-jobs

[memory]
mode = hybrid
idempotency_hours = $idem_hours

[governance]
sweep_interval_seconds = 5

[storage]
path = $store
sync = $store_sync

[admin]
token = $admin_token

[log]
level = warn
EOF

# --- samples ----------------------------------------------------------------------

# mdb_stat_sample: "key=value" pairs from mdb_stat over the store:
# pages (the map's high-water mark, in pages), psize, free (free pages), and
# per DB (users, history, idem, jobs) its entries (<db>_n) and pages
# (<db>_p: branch + leaf + overflow). Nothing when mdb_stat is missing.
mdb_stat_sample() {
    [ -n "$mdb_stat_bin" ] || return 0
    "$mdb_stat_bin" -e -f -a "$store" 2>/dev/null | awk '
        /^Environment Info/ { db = "env"; next }
        /^Freelist Status/ { db = "free"; next }
        /^Status of / { db = $3; next }
        db == "env" && /Page size:/ { printf "psize=%s ", $3 }
        db == "env" && /Number of pages used:/ { printf "pages=%s ", $5 }
        db == "free" && /Free pages:/ { printf "free=%s ", $3 }
        /Branch pages:|Leaf pages:|Overflow pages:/ { p[db] += $3 }
        /Entries:/ { n[db] = $2 }
        END {
            split("users history idem jobs", dbs, " ")
            for (i = 1; i <= 4; i++) printf "%s_n=%d %s_p=%d ", dbs[i], n[dbs[i]], dbs[i], p[dbs[i]]
        }'
}

# Counters of the running memproxy are per process: the totals of the
# epochs already stopped are kept in base[].
declare -A base=([ok]=0 [skipped]=0 [dropped]=0 [extract]=0 [summarize]=0 [purged_idem]=0 [purged_history]=0 [requests]=0)
declare -A cur
read_counters() {
    local mfile=$tmp/metrics.txt
    metrics_fetch "$admin_url" "$mfile"
    [ -s "$mfile" ] || return 1
    cur[used]=$(metric_in "$mfile" memproxy_storage_used_bytes)
    cur[depth]=$(metric_in "$mfile" memproxy_memory_queue_depth)
    cur[ok]=$(metric_in "$mfile" 'memproxy_memory_jobs_total{kind="record",result="ok"}')
    cur[skipped]=$(metric_in "$mfile" 'memproxy_memory_jobs_total{kind="record",result="skipped"}')
    cur[dropped]=$(metric_in "$mfile" 'memproxy_memory_jobs_total{kind="record",result="dropped"}')
    cur[extract]=$(metric_in "$mfile" 'memproxy_memory_jobs_total{kind="extract",result="ok"}')
    cur[summarize]=$(metric_in "$mfile" 'memproxy_memory_jobs_total{kind="summarize",result="ok"}')
    cur[purged_idem]=$(metric_in "$mfile" 'memproxy_retention_purged_total{item="idem"}')
    cur[purged_history]=$(metric_in "$mfile" 'memproxy_retention_purged_total{item="history"}')
    cur[writable]=$(metric_in "$mfile" memproxy_storage_writable)
    return 0
}

t_start=$(date +%s%N)
elapsed() { awk -v a="$t_start" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }'; }

samples=$tmp/samples.txt
: >"$samples"
# take_sample EPOCH LABEL: one line of key=value pairs in $samples.
take_sample() {
    local e=$1 label=$2 line k
    read_counters || return 0
    line="t=$(elapsed) epoch=$e label=$label used=${cur[used]} depth=${cur[depth]}"
    for k in ok skipped dropped extract summarize purged_idem purged_history; do
        line="$line $k=$((base[$k] + ${cur[$k]%.*}))"
    done
    line="$line $(mdb_stat_sample)"
    echo "$line" >>"$samples"
}

# --- the epochs ---------------------------------------------------------------------

declare -A ep # epoch,field -> value
invalid_reasons=()
warnings=()
pass_len=$((users * messages))

# check_memproxy: one POST with X-Memory: read for the first user (records
# nothing): 200, a chat.completion, X-Memory-Mode: hybrid, no X-Memory-Error.
check_memproxy() {
    local code hdrs mmode merr
    body_json 1024 >"$tmp/body.json"
    code=$(curl -sS -o "$tmp/check.out" -D "$tmp/check.hdr" -w '%{http_code}' --max-time 10 \
        -H 'Content-Type: application/json' -H 'Authorization: Bearer sk-bench' \
        -H "X-User-Id: ${user_prefix}0" -H 'X-Memory: read' \
        --data-binary @"$tmp/body.json" "$base_url$url_path" 2>"$tmp/check.err")
    if [ "$code" != 200 ] || ! grep -q '"object":"chat.completion"' "$tmp/check.out"; then
        echo "POST $url_path answered HTTP ${code:-none}: $(head -c 300 "$tmp/check.out" "$tmp/check.err" | tr '\n' ' ')"
        return 1
    fi
    hdrs=$(tr -d '\r' <"$tmp/check.hdr")
    mmode=$(printf '%s\n' "$hdrs" | sed -n 's/^[Xx]-[Mm]emory-[Mm]ode: *//p' | head -n 1)
    merr=$(printf '%s\n' "$hdrs" | sed -n 's/^[Xx]-[Mm]emory-[Ee]rror: *//p' | head -n 1)
    if [ "$mmode" != hybrid ] || [ -n "$merr" ]; then
        echo "memory not in force (X-Memory-Mode: ${mmode:-none}${merr:+, X-Memory-Error: $merr})"
        return 1
    fi
    return 0
}

failed=""
for e in $(seq 0 $((epochs - 1))); do
    offset_ms=$((e * clock_step_ms))
    say "epoch $((e + 1))/$epochs: memproxy with its clock +$((offset_ms / 3600000)) h"
    if ! start_memproxy_ini "epoch$e" "$ini" "$base_url/" MEMPROXY_TEST_CLOCK_OFFSET_MS="$offset_ms"; then
        failed="epoch $((e + 1)): $mp_why"
        break
    fi
    wait_sweep_done "$admin_url" 120 || warnings+=("epoch $((e + 1)): the start-up retention pass did not finish in 120 s")
    [ "$e" = 0 ] && take_sample 0 start
    if [ "$e" = 0 ] && ! out=$(check_memproxy); then
        failed="check request: $out"
        break
    fi
    read_counters
    ep[$e,purged_idem]=${cur[purged_idem]%.*}
    ep[$e,depth0]=${cur[depth]%.*}
    ep[$e,ok0]=$((base[ok] + ${cur[ok]%.*}))
    wrk_out=$tmp/wrk-epoch$e.txt
    # the epoch lasts epoch_secs and until one whole pass was answered
    # (soak.lua then stops and creates done_file, and wrk is interrupted):
    # a busy machine makes it longer, not invalid; -d is only a ceiling
    done_file=$tmp/wrk-epoch$e.done
    # shellcheck disable=SC2086
    $pin_wrk "$wrk_bin" -t1 -c"$conns" -d"$((epoch_secs * 20))s" --timeout 10s --latency \
        -s "$here/soak.lua" "$base_url$url_path" -- "$body_size" "$user_prefix" "$users" "$messages" auto \
        "$pass_len" "$epoch_secs" "$done_file" >"$wrk_out" 2>&1 &
    wrk_pid=$!
    started_pids="$started_pids $wrk_pid"
    next=$(($(date +%s) + sample_secs))
    while kill -0 "$wrk_pid" 2>/dev/null; do
        [ ! -e "$done_file" ] || kill -INT "$wrk_pid" 2>/dev/null
        if [ "$(date +%s)" -ge "$next" ]; then
            take_sample "$e" traffic
            next=$((next + sample_secs))
        fi
        sleep 0.2
    done
    wait "$wrk_pid" 2>/dev/null
    forget_pid "$wrk_pid"
    wrk_pid=""
    line=$(grep '^BENCH ' "$wrk_out" | tail -n 1)
    if [ -z "$line" ]; then
        failed="epoch $((e + 1)): wrk produced no result: $(tail -n 3 "$wrk_out" | tr '\n' ' ')"
        break
    fi
    bench=()
    for kv in ${line#BENCH }; do
        bench[${kv%%=*}]=${kv#*=}
    done
    ep[$e,requests]=${bench[requests]}
    ep[$e,rps]=${bench[rps]}
    ep[$e,p50]=${bench[p50_us]}
    ep[$e,p99]=${bench[p99_us]}
    ep[$e,errors]=$(errors_of_bench)
    ep[$e,errtext]=$(errors_text)
    base[requests]=$((base[requests] + bench[requests]))
    if [ "$e" = $((epochs - 1)) ]; then
        say "last epoch: waiting for the memory queue to drain (at most ${drain_max}s)"
        wait_queue_empty "$admin_url" "$drain_max" 15 ||
            warnings+=("the memory queue still held $drain_depth items ${drain_secs}s after the traffic stopped")
        ep[drain_s]=$drain_secs
        # Users, and one user's history, through the admin API.
        python3 - "$admin_url" "$admin_token" "${user_prefix}0" >"$tmp/admin.txt" 2>"$tmp/admin.err" <<'PYEOF'
import json, sys, urllib.request, collections
url, token, user = sys.argv[1:4]
def get(path):
    req = urllib.request.Request(url + path, headers={"Authorization": "Bearer " + token})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)
n, cursor = 0, None
while True:
    page = get("/admin/users?limit=1000" + ("&cursor=" + cursor if cursor else ""))
    n += len(page["users"])
    cursor = page.get("next_cursor")
    if not cursor:
        break
hist = get("/admin/users/" + user + "/history")["history"]
mem = get("/admin/users/" + user + "/memory")
kinds = collections.Counter()
for h in hist:
    kinds[h["item"] if h["item"] != "fact" else "fact " + h.get("key", "?")] += 1
print("admin_users=%d" % n)
print("hist_total=%d" % len(hist))
print("hist_kinds=%s" % ", ".join("%s: %d" % kv for kv in sorted(kinds.items())))
print("facts=%s" % ", ".join("%s=%s" % (f["key"], f["value"]) for f in mem.get("entities", [])))
print("buffer=%d" % len(mem.get("buffer", [])))
print("summary_words=%d" % len(((mem.get("summary") or {}).get("text") or "").split()))
PYEOF
    fi
    take_sample "$e" "end"
    read_counters
    ep[$e,recorded]=$((base[ok] + ${cur[ok]%.*} - ep[$e,ok0]))
    ep[$e,dropped]=${cur[dropped]%.*}
    for k in ok skipped dropped extract summarize purged_idem purged_history; do
        base[$k]=$((base[$k] + ${cur[$k]%.*}))
    done
    say "epoch $((e + 1)): $(fmt_int "${ep[$e,rps]}") req/s, ${ep[$e,requests]} requests, ${ep[$e,recorded]} turns recorded, store $((cur[used] / 1048576)) MB"
    stop_memproxy
done

# --- analysis ---------------------------------------------------------------------------

# sample_at T: the last sample at or before T seconds (the first one if none).
sample_at() {
    awk -v t="$1" '{ split($1, a, "="); if (NR == 1 || a[2] + 0 <= t + 0) line = $0 } END { print line }' "$samples"
}
# field LINE KEY
field() {
    local kv
    for kv in $1; do
        [ "${kv%%=*}" = "$2" ] && {
            echo "${kv#*=}"
            return
        }
    done
    echo ""
}

fmt_mb() { awk -v b="$1" 'BEGIN { if (b == "") print "n/a"; else printf "%.1f MB", b / 1048576 }'; }
fmt_kb() { awk -v b="$1" 'BEGIN { if (b == "") print "n/a"; else printf "%.1f KB", b / 1024 }'; }
per_user() { awk -v b="$1" -v u="$2" 'BEGIN { if (b == "" || u + 0 == 0) print ""; else printf "%.0f", b / u }'; }

have_samples=0
[ -s "$samples" ] && have_samples=1
if [ "$have_samples" = 1 ]; then
    s_end=$(tail -n 1 "$samples")
    t_end=$(field "$s_end" t)
    s0=$(head -n 1 "$samples")
    s1=$(sample_at "$(awk -v t="$t_end" 'BEGIN { print t / 3 }')")
    s2=$(sample_at "$(awk -v t="$t_end" 'BEGIN { print 2 * t / 3 }')")
fi

# live bytes of a sample: (high-water pages - free pages) * page size
live_of() {
    local p f ps
    p=$(field "$1" pages)
    f=$(field "$1" free)
    ps=$(field "$1" psize)
    [ -n "$p" ] && [ -n "$f" ] && [ -n "$ps" ] && echo $(((p - f) * ps))
}

# --- validity --------------------------------------------------------------------------

[ -z "$failed" ] || invalid_reasons+=("$failed")
epochs_done=0
dropped_in=""
for e in $(seq 0 $((epochs - 1))); do
    [ -n "${ep[$e,requests]:-}" ] || continue
    epochs_done=$((epochs_done + 1))
    if [ "${ep[$e,errors]}" != 0 ]; then
        invalid_reasons+=("epoch $((e + 1)): wrk saw errors (${ep[$e,errtext]})")
    fi
    if [ "${ep[$e,requests]}" -lt "$pass_len" ]; then
        invalid_reasons+=("epoch $((e + 1)): ${ep[$e,requests]} requests, fewer than one pass of the cycle ($pass_len): the traffic never repeated (lower --users or --messages, or raise --epoch-secs)")
    fi
    if [ "${ep[$e,recorded]:-0}" = 0 ]; then
        invalid_reasons+=("epoch $((e + 1)): no turn recorded$([ "$e" -gt 0 ] && echo " (the idempotency keys of the last epoch did not expire)")")
    fi
    [ "${ep[$e,dropped]:-0}" = 0 ] || dropped_in="$dropped_in, $((e + 1))"
done
[ -z "$dropped_in" ] ||
    warnings+=("turns were dropped (memory queue full) in epoch(s) ${dropped_in#, }: see the epochs table")
[ "$kills" = 0 ] || warnings+=("$kills memproxy process(es) did not stop within 30 s of SIGTERM and were killed")
[ "$have_samples" = 1 ] || invalid_reasons+=("no sample of the store was taken")

growth_pct=""
if [ "$have_samples" = 1 ]; then
    g1=$(($(field "$s1" used) - $(field "$s0" used)))
    g3=$(($(field "$s_end" used) - $(field "$s2" used)))
    if [ "$g1" -gt 0 ]; then
        growth_pct=$(awk -v a="$g3" -v b="$g1" 'BEGIN { printf "%.1f", 100 * a / b }')
    fi
fi

# --- report ---------------------------------------------------------------------------------

memproxy_version=$("$memproxy_bin" --version 2>&1 | head -n 1)
wrk_version=$("$wrk_bin" -v 2>&1 | head -n 1 | sed 's/ Copyright.*//')
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)
[ -n "$cpu_model" ] || cpu_model=$(uname -m)

# delta S_A S_B KEY: S_B's KEY minus S_A's, signed, or n/a
delta() {
    local a b
    a=$(field "$1" "$3")
    b=$(field "$2" "$3")
    if [ -z "$a" ] || [ -z "$b" ]; then
        echo "n/a"
    else
        awk -v d=$((b - a)) 'BEGIN { printf "%s%d", (d >= 0 ? "+" : ""), d }'
    fi
}

# delta_mb S_A S_B: the store's used bytes, S_B's minus S_A's, in MB
delta_mb() {
    awk -v a="$(field "$1" used)" -v b="$(field "$2" used)" \
        'BEGIN { d = (b - a) / 1048576; printf "%s%.2f MB", (d >= 0 ? "+" : ""), d }'
}

report=$tmp/report.md
{
    echo "# memproxy soak: growth bounded by users, not traffic"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $mode mode: $users users, each cycling through $messages messages (1 KB bodies), $conns connections, one wrk thread, as fast as the machine goes; $epochs epochs of ${epoch_secs} s, each longer until it has sent one whole pass ($pass_len requests)."
    echo "memproxy: hybrid mode, workers = 1, [memory] idempotency_hours = $idem_hours, [governance] sweep_interval_seconds = 5, history_per_fact = 20 (default), [storage] sync = $store_sync, durable_ack = true (default), no CPU pinning."
    echo "Each epoch is a new memproxy process on the same store with its clock $((clock_step_ms / 3600000)) h ahead of the last one's (MEMPROXY_TEST_CLOCK_OFFSET_MS): its start-up sweep purges the last epoch's idempotency keys, so the epoch's first pass through the cycle ($pass_len requests) is recorded again (facts change value, summaries fold, history is written) and the rest of the epoch repeats bodies already recorded: each a regenerate, recorded as a turn that stores no user message twice and replaces the reply kept (docs/memory-recording.md)."
    echo
    echo "## Store size over time"
    echo
    echo "| point | time s | epoch | turns recorded | users | store used (bytes/user) | live (bytes/user) | history entries | idempotency keys | jobs pending | free pages |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    if [ "$have_samples" = 1 ]; then
        for pt in start "1/3" "2/3" end; do
            case $pt in
            start) s=$s0 ;;
            1/3) s=$s1 ;;
            2/3) s=$s2 ;;
            end) s=$s_end ;;
            esac
            nu=$(field "$s" users_n)
            [ -n "$nu" ] || nu=$users
            used=$(field "$s" used)
            live=$(live_of "$s")
            pu=$(per_user "$used" "$nu")
            lu=$(per_user "$live" "$nu")
            echo "| $pt | $(field "$s" t) | $(($(field "$s" epoch) + 1)) | $(field "$s" ok) | $(field "$s" users_n) | $(fmt_mb "$used")${pu:+ ($(fmt_kb "$pu"))} | $(fmt_mb "$live")${lu:+ ($(fmt_kb "$lu"))} | $(field "$s" history_n) | $(field "$s" idem_n) | $(field "$s" jobs_n) | $(field "$s" free) |"
        done
    fi
    echo
    echo "Store used: memproxy_storage_used_bytes, the LMDB map's high-water mark (what data.mdb needs; free pages inside it are reused before it grows). Live: used minus the free pages (mdb_stat -f). Per user: divided by the users in the store at that point. Entries from mdb_stat -a. Points: the last sample at or before 1/3 and 2/3 of the run's time; end is after the last epoch's memory queue drained."
    echo
    echo "## Growth"
    echo
    echo "| | first third | second third | last third |"
    echo "|---|---:|---:|---:|"
    if [ "$have_samples" = 1 ]; then
        for k in used users_n history_n idem_n jobs_n users_p history_p idem_p jobs_p free; do
            case $k in
            used) name="store used" ;;
            users_n) name="users" ;;
            history_n) name="history entries" ;;
            idem_n) name="idempotency keys" ;;
            jobs_n) name="pending jobs" ;;
            users_p) name="pages: user records" ;;
            history_p) name="pages: history" ;;
            idem_p) name="pages: idempotency keys" ;;
            jobs_p) name="pages: pending jobs" ;;
            free) name="free pages" ;;
            esac
            if [ "$k" = used ]; then
                echo "| $name | $(delta_mb "$s0" "$s1") | $(delta_mb "$s1" "$s2") | $(delta_mb "$s2" "$s_end") |"
            else
                echo "| $name | $(delta "$s0" "$s1" "$k") | $(delta "$s1" "$s2" "$k") | $(delta "$s2" "$s_end" "$k") |"
            fi
        done
    fi
    echo
    if [ "$have_samples" = 1 ] && [ -n "$(field "$s_end" free)" ]; then
        ps=$(field "$s_end" psize)
        src=""
        for k in users_p history_p idem_p jobs_p free; do
            case $k in
            users_p) name="user records" ;;
            history_p) name="history" ;;
            idem_p) name="idempotency keys" ;;
            jobs_p) name="pending jobs" ;;
            free) name="free pages" ;;
            esac
            src="$src, $name $(awk -v a="$(field "$s2" "$k")" -v b="$(field "$s_end" "$k")" -v ps="$ps" \
                'BEGIN { d = (b - a) * ps / 1048576; printf "%s%.2f MB", (d >= 0 ? "+" : ""), d }')"
        done
        echo "Where the last third's growth went (pages of each kind × page size): ${src#, }."
        echo
    fi
    if [ -n "$growth_pct" ]; then
        verdict="still growing"
        awk -v p="$growth_pct" 'BEGIN { exit !(p <= 10) }' && verdict="stopped growing (last third ≤ 10% of the first)"
        echo "**Last third's growth: ${growth_pct}% of the first third's** ($(fmt_mb "$g3") against $(fmt_mb "$g1")): $verdict."
    else
        echo "**Last third's growth: n/a** (the first third did not grow)."
    fi
    echo

    echo "## Epochs"
    echo
    echo "| epoch | clock | requests | req/s | p50 ms | p99 ms | turns recorded | turns dropped | queue at the start | idempotency keys purged at start | store used at the end | errors |"
    echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    for e in $(seq 0 $((epochs - 1))); do
        [ -n "${ep[$e,requests]:-}" ] || continue
        s=$(grep " epoch=$e label=end " "$samples" | tail -n 1)
        errs=${ep[$e,errors]}
        [ "$errs" = 0 ] || errs="**$errs** (${ep[$e,errtext]})"
        echo "| $((e + 1)) | +$((e * clock_step_ms / 3600000)) h | ${ep[$e,requests]} | $(fmt_int "${ep[$e,rps]}") | $(awk -v x="${ep[$e,p50]}" 'BEGIN { printf "%.1f", x / 1000 }') | $(awk -v x="${ep[$e,p99]}" 'BEGIN { printf "%.1f", x / 1000 }') | ${ep[$e,recorded]} | ${ep[$e,dropped]} | ${ep[$e,depth0]} | ${ep[$e,purged_idem]} | $(fmt_mb "$(field "$s" used)") | $errs |"
    done
    echo
    echo "Turns recorded: memproxy_memory_jobs_total{kind=\"record\",result=\"ok\"} during the epoch (a full pass is $pass_len). The rest of an epoch's requests repeat a body already recorded: regenerates, counted as recorded turns (their user messages are not stored twice); skipped as already recorded: $(fmt_int "${base[skipped]}") over the run. Extraction jobs: ${base[extract]}, summarization jobs: ${base[summarize]}; history entries purged by retention: ${base[purged_history]}; turns dropped (queue full): ${base[dropped]}. Last epoch's queue drained in ${ep[drain_s]:-n/a} s after the traffic."
    echo
    echo "Turns dropped: refused because the memory queue was full (queue_max = 10000 items, pending jobs included, or queue_max_bytes); a dropped turn keeps no idempotency key, so the cycle records it when it comes back, if the queue has room then. Queue at the start: memproxy_memory_queue_depth after the start-up sweep (pending jobs survive a restart in the store)."
    echo
    if [ -s "$tmp/admin.txt" ]; then
        a() { sed -n "s/^$1=//p" "$tmp/admin.txt"; }
        echo "## At the end"
        echo
        echo "- users listed by GET /admin/users: $(a admin_users)"
        echo "- ${user_prefix}0: $(a hist_total) history entries ($(a hist_kinds)); facts: $(a facts); $(a buffer) buffered messages; summary of $(a summary_words) words"
        echo
    fi
    [ -n "$mdb_stat_bin" ] || echo "(mdb_stat not found: no entry or page counts; install lmdb-utils)"
    if [ ${#invalid_reasons[@]} = 0 ]; then
        echo "Run: **valid** ($epochs_done epochs, each sent at least one whole pass of the cycle and recorded turns; wrk saw no errors)."
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
    echo "- CPUs: $(nproc) ($cpu_model); kernel $(uname -sr); store on $(df -PT "$tmp" 2>/dev/null | awk 'NR == 2 { print $2 }')"
    if [ "$busy_before" -gt 10 ]; then
        echo "- CPUs busy before the run: **${busy_before}%** (other work on the machine)"
    else
        echo "- CPUs busy before the run: ${busy_before}%"
    fi
    echo "- wrk: $wrk_version"
    echo "- memproxy: ${memproxy_version:-(--version printed nothing)} ($memproxy_bin)"
} >"$report"

cat "$report"
mkdir -p "$(dirname "$out_file")" && cp "$report" "$out_file" && say "report written to $out_file"
cp "$samples" "${out_file%.md}.samples.txt" 2>/dev/null

if [ ${#invalid_reasons[@]} != 0 ]; then
    exit 2
fi
if [ "$strict" = 1 ] && [ -n "$growth_pct" ] && awk -v p="$growth_pct" 'BEGIN { exit !(p > 10) }'; then
    exit 3
fi
exit 0
