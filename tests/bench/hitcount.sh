#!/usr/bin/env bash
# memproxy instructions per memory hit: the same chat request with memory off
# and with a memory hit (bench-hit: 50 facts, a summary, 15 buffered
# messages, in a store of 1,000 users, as memory.sh's row (b)), each memproxy
# under valgrind's callgrind, counting every thread's instructions over N
# requests after 10 of warm-up. Instructions, not time: the count does not
# move with the machine's load, so two builds compare in one line each. See
# tests/bench/README.md ("Instructions per hit").
#
# Usage: tests/bench/hitcount.sh [--build DIR] [--requests N] [--body b|question]
#                                [--user bench|english|bilingual]
#                                [--translate on|off|both] [--record] [--keep-tmp]
# --body b (the default): memory.sh's row (b) body, 1 KB of lorem ipsum that
#   matches no fact (the profile is filled by rank); question: a question
#   whose words are in the facts and messages (the relevance walk).
# --user: bench-hit's text (populate --hit-text): bench (the default),
#   english (a family's plans in sentences) or bilingual (the same, half of
#   it in German: the question's words are also looked up translated).
# --translate: [memory] translate_languages all (on, the default) or none
#   (off); both: the hit counted with each, the memory-off run once.
# --record: no X-Memory header (the default sends X-Memory: read): each
#   request records a turn, its question numbered so that none repeats
#   another (the idempotency key), and keeps its conversation's new tail
#   under the kept head: the memory worker's commit is counted too.
# Prints, per translate setting: hitcount: off IR hit IR added IR
#   (instructions per request), and the upstream body of a hit (bytes and
#   digest: what the memory injected).
# Exit: 0, or 1 when something would not start or a request failed.

set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
prog=hitcount
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh" # die, free_ports, body_json, start_fake_upstream, wait_http

build_dir=$root/build
requests=100
keep_tmp=0
body_kind=b
user_kind=bench
translate=on
record=0

while [ $# -gt 0 ]; do
    case $1 in
    --build) [ $# -ge 2 ] || die "--build needs a value"; build_dir=$2; shift ;;
    --requests) [ $# -ge 2 ] || die "--requests needs a value"; requests=$2; shift ;;
    --body) [ $# -ge 2 ] || die "--body needs a value"; body_kind=$2; shift ;;
    --user) [ $# -ge 2 ] || die "--user needs a value"; user_kind=$2; shift ;;
    --translate) [ $# -ge 2 ] || die "--translate needs a value"; translate=$2; shift ;;
    --record) record=1 ;;
    --keep-tmp) keep_tmp=1 ;;
    -h | --help) sed -n '10,28p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (try --help)" ;;
    esac
    shift
done
case $requests in '' | *[!0-9]* | 0) die "--requests must be a positive whole number" ;; esac
case $body_kind in b | question) ;; *) die "--body must be b or question" ;; esac
case $user_kind in bench | english | bilingual) ;; *) die "--user must be bench, english or bilingual" ;; esac
case $translate in on | off | both) ;; *) die "--translate must be on, off or both" ;; esac
for t in valgrind callgrind_control curl sha256sum; do
    command -v "$t" >/dev/null || die "$t not found (apt-get install valgrind curl)"
done
memproxy=$build_dir/proxy/memproxy
populate=$build_dir/tests/bench/populate
fake_bin=$build_dir/tests/fake_upstream/fake_upstream
for b in "$memproxy" "$populate" "$fake_bin"; do
    [ -x "$b" ] || die "$b not found; build with the tests (meson setup build -Dtests=true && ninja -C build)"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/memproxy-hitcount.XXXXXX") || die "cannot create a temporary directory"
started_pids="" # start_fake_upstream's, and each memproxy
pin_fake=""
fake_args=--no-prompt-cache
cleanup() {
    for p in $started_pids; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
    if [ "$keep_tmp" = 1 ]; then echo "hitcount: files kept in $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

"$populate" --path "$tmp/store" --users 1000 --sync none --hit-text "$user_kind" >"$tmp/populate.out" 2>&1 ||
    die "populate failed: $(tail -n 2 "$tmp/populate.out")"
start_fake_upstream

if [ "$body_kind" = b ]; then
    body=$(body_json 1024)
else
    body='{"model":"bench-model","max_tokens":16,"messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"What did I say about my trip and the places I want to see next year? Please remind me of the details and the plans we made together."}]}'
fi

# The tables of a binary run from its build directory (memproxy finds them
# there itself when none are installed; named so that an installed set of
# another build is not the one counted).
xlate_dir=""
[ -d "$build_dir/tools/xlate" ] && xlate_dir="translate_dir = $build_dir/tools/xlate"

# count MODE XL: instructions per request of a memproxy with [memory] mode
# MODE and translate_languages XL (all or none); the upstream body of the
# last request is kept as $tmp/upstream-MODE-XL.
count() {
    local mode=$1 xl=$2 run=$1-$2 port aport pid i code ir
    read -r port aport <<<"$(free_ports 2)"
    cp -r "$tmp/store" "$tmp/store-$run"
    cat >"$tmp/$run.ini" <<EOF
[server]
listen = 127.0.0.1:$port
admin_listen = 127.0.0.1:$aport
workers = 1

[upstream]
base_url = http://127.0.0.1:$fake_port/v1

[memory]
mode = $mode
translate_languages = $xl
$xlate_dir

[storage]
path = $tmp/store-$run
sync = none

[log]
level = warn
EOF
    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$tmp/callgrind-$run.out" \
        "$memproxy" -c "$tmp/$run.ini" >"$tmp/memproxy-$run.out" 2>&1 &
    pid=$!
    started_pids="$started_pids $pid"
    wait_http "$pid" "http://127.0.0.1:$port/" 120 ||
        die "mode $mode: memproxy did not start (log: $tmp/memproxy-$run.out)"
    # post N: request N (its question numbered with --record)
    post() {
        local b=$body xm=(-H 'X-Memory: read')
        if [ "$record" = 1 ]; then
            b="${body%\"\}\]\}} $1\"}]}"
            xm=()
        fi
        curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
            -H 'Authorization: Bearer sk-bench' -H 'X-User-Id: bench-hit' "${xm[@]}" \
            --data-binary "$b" "http://127.0.0.1:$port/v1/chat/completions"
    }
    for i in $(seq 10); do
        code=$(post "$i")
        [ "$code" = 200 ] || die "mode $mode: the warm-up request answered $code (log: $tmp/memproxy-$run.out)"
    done
    callgrind_control -i on "$pid" >/dev/null || die "callgrind_control could not reach memproxy"
    for i in $(seq "$requests"); do
        code=$(post $((10 + i)))
        [ "$code" = 200 ] || die "mode $mode: request $i answered $code"
    done
    callgrind_control -i off "$pid" >/dev/null
    # the last request as the upstream received it: its body is what the
    # memory made of the question (after the head's blank line)
    curl -s "http://127.0.0.1:$fake_port/_fake/last" | sed '1,/^\r\{0,1\}$/d' >"$tmp/upstream-$run"
    kill "$pid"
    wait "$pid" 2>/dev/null
    ir=$(awk '/^totals:/ { s += $2 } END { print s + 0 }' "$tmp"/callgrind-"$run".out*)
    [ "$ir" -gt 0 ] || die "mode $mode: callgrind counted nothing"
    echo $((ir / requests))
}

# upstream RUN: "BYTES bytes DIGEST" of the upstream body the run kept.
upstream() {
    printf '%s bytes %s' "$(wc -c <"$tmp/upstream-$1")" "$(sha256sum "$tmp/upstream-$1" | cut -c1-12)"
}

off=$(count off all) || exit 1
case $translate in on) xls=all ;; off) xls=none ;; both) xls="all none" ;; esac
for xl in $xls; do
    hit=$(count hybrid "$xl") || exit 1
    [ "$xl" = all ] && t=on || t=off
    [ "$record" = 1 ] && rec=", recording" || rec=""
    echo "hitcount: off $off hit $hit added $((hit - off)) (instructions per request, body $body_kind$rec, user $user_kind, translate $t, upstream $(upstream "hybrid-$xl"), $requests requests, $memproxy)"
done
