#!/bin/bash
# The memproxy demo: long-term memory end to end, on this machine, with no
# API key. Starts the fake upstream (which plays the LLM for memproxy's
# memory jobs, docs/fake-upstream.md) and memproxy in hybrid mode, tells it
# a few things as user "ada", makes her extraction batch due (POST
# /admin/extract) and waits for it, restarts memproxy, then asks in a
# brand-new session what she said. After every request it shows what
# memproxy injected into the upstream request. It asserts what it shows:
# every request answered 200 in hybrid mode; one batched extraction call
# (the summary folded into it, no summarize job); ada's facts and summary
# in her memory; her fact "vector_store: ChromaDB" in what the last
# request got injected. Exit 0 when all hold, 1 otherwise. The lint
# suite's meson test "demo" runs it.
#
# Usage: scripts/demo.sh [--build DIR] [--keep]
#   --build DIR  meson build directory (default: build); built when memproxy
#                or the fake upstream is missing
#   --keep       keep the temporary directory (config, logs, storage)
# Needs: scripts/install-deps.sh --test (meson, ninja, curl, python3).
set -euo pipefail
cd "$(dirname "$0")/.."

build=build
keep=false
while [ $# -gt 0 ]; do
    case $1 in
    --build)
        build=${2:?--build needs a directory}
        shift 2
        ;;
    --keep)
        keep=true
        shift
        ;;
    -h | --help)
        sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "demo: unknown argument: $1 (try --help)" >&2
        exit 2
        ;;
    esac
done
for tool in curl python3 meson ninja; do
    command -v "$tool" >/dev/null || {
        echo "demo: $tool is missing: run scripts/install-deps.sh --test" >&2
        exit 1
    }
done

memproxy=$build/proxy/memproxy
fake=$build/tests/fake_upstream/fake_upstream
if [ ! -x "$memproxy" ] || [ ! -x "$fake" ]; then
    echo "== building $build (memproxy and the fake upstream)"
    if [ ! -f "$build/build.ninja" ]; then
        meson setup "$build" >/dev/null
    else
        meson configure "$build" -Dtests=true >/dev/null # the fake is a test tool
    fi
    ninja -C "$build" proxy/memproxy tests/fake_upstream/fake_upstream >/dev/null
fi

# memproxy refuses unknown MEMPROXY_* variables, and ours would override the config
for v in $(compgen -e); do
    case $v in MEMPROXY_*) unset "$v" ;; esac
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/memproxy-demo.XXXXXX")
fake_pid=
mp_pid=
cleanup() {
    [ -n "$mp_pid" ] && kill -TERM "$mp_pid" 2>/dev/null && wait "$mp_pid" 2>/dev/null
    [ -n "$fake_pid" ] && kill -TERM "$fake_pid" 2>/dev/null && wait "$fake_pid" 2>/dev/null
    if $keep; then
        echo "(kept $tmp)"
    else
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

die() {
    echo "demo: FAILED: $*" >&2
    exit 1
}

# wait_for FILE PATTERN SECONDS
wait_for() {
    local i
    for ((i = 0; i < $3 * 20; i++)); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

"$fake" --port 0 >"$tmp/fake.out" 2>"$tmp/fake.err" &
fake_pid=$!
wait_for "$tmp/fake.out" '^PORT ' 10 || die "the fake upstream did not start: $(cat "$tmp/fake.err")"
fake_url=http://127.0.0.1:$(sed -n 's/^PORT //p' "$tmp/fake.out")

cat >"$tmp/memproxy.ini" <<EOF
[server]
listen = 127.0.0.1:0
admin_listen = 127.0.0.1:0
workers = 1

[upstream]
base_url = $fake_url/v1

[memory]
mode = hybrid
buffer_messages = 4   ; recent messages injected verbatim
summarize_at = 6      ; then the oldest half leaves the buffer (the summary has it)

[admin]
token = demo-admin-token-7c2f9a41e0b8d653 ; the admin API: POST /admin/extract below

[storage]
path = $tmp/data

[log]
level = info
format = json
EOF

starts=0
start_memproxy() {
    starts=$((starts + 1))
    local log=$tmp/memproxy.$starts.log
    "$memproxy" -c "$tmp/memproxy.ini" 2>"$log" &
    mp_pid=$!
    wait_for "$log" '"msg":"listening"' 10 || die "memproxy did not start: $(tail -n 5 "$log")"
    local line
    line=$(grep -m1 '"msg":"listening"' "$log")
    proxy=http://$(sed 's/.*"listen":"\([^"]*\)".*/\1/' <<<"$line")
    admin=http://$(sed 's/.*"admin_listen":"\([^"]*\)".*/\1/' <<<"$line")
    echo "== memproxy started (pid $mp_pid): data plane $proxy, admin $admin, storage $tmp/data"
}

stop_memproxy() {
    kill -TERM "$mp_pid"
    local rc=0
    wait "$mp_pid" || rc=$?
    mp_pid=
    [ "$rc" -eq 0 ] || die "memproxy exited with $rc on SIGTERM"
    echo "== memproxy stopped (SIGTERM, exit 0)"
}

# show CLIENT_BODY HEADERS_FILE RESPONSE_FILE: what memproxy injected into the
# upstream request (found in the fake's log by the x-request-id it relayed).
# Writes the injected text to $tmp/injected.txt.
show() {
    python3 - "$1" "$2" "$3" "$fake_url" "$tmp/injected.txt" <<'EOF'
import json, sys, textwrap, urllib.request
client, head_file, resp_file, fake_url, out = sys.argv[1:6]
sent = json.loads(client)['messages']
head = {}
for line in open(head_file, encoding='utf-8', errors='replace'):
    if ':' in line:
        k, v = line.split(':', 1)
        head[k.strip().lower()] = v.strip()
try:
    reply = json.load(open(resp_file))['choices'][0]['message']['content']
except Exception:
    reply = open(resp_file).read()
print('   X-Memory-Mode: %s   X-Memory-Injected-Tokens: %s%s' % (
    head.get('x-memory-mode', '-'), head.get('x-memory-injected-tokens', '-'),
    '   X-Memory-Error: ' + head['x-memory-error'] if 'x-memory-error' in head else ''))
rid = head.get('x-request-id', '')
n = int(rid[5:]) if rid.startswith('fake-') else -1
log = json.load(urllib.request.urlopen(fake_url + '/_fake/requests'))
rec = [r for r in log if r['n'] == n]
if not rec:
    sys.exit('   (upstream request %r not found at the fake)' % rid)
upstream = json.loads(rec[0]['body'])['messages']
k = len(sent)
injected = upstream[:len(upstream) - k] if upstream[len(upstream) - k:] == sent else \
    [m for m in upstream if m not in sent]
text = []
if not injected:
    print('   memproxy injected nothing (upstream request %s: the client\'s body as is)' % rid)
else:
    print('   memproxy injected into upstream request %s:' % rid)
for m in injected:
    c = m.get('content') or ''
    text.append(c)
    if m['role'] == 'system':
        print('     [system]')
        for i, line in enumerate(c.split('\n')):
            if i == 0 and len(line) > 72:
                line = line[:72] + '...'
            for w in textwrap.wrap(line, 92, subsequent_indent='   ') or ['']:
                print('       ' + w)
    else:
        c = c if len(c) <= 80 else c[:80] + '...'
        print('     [%s] %s' % (m['role'], c))
print('   assistant: %s' % (reply if isinstance(reply, str) else json.dumps(reply)))
open(out, 'w').write('\n'.join(text))
EOF
}

# chat TEXT: one request as ada, with only this one message (a client that
# keeps no history: memory is memproxy's job).
turn=0
chat() {
    turn=$((turn + 1))
    local body
    body=$(python3 -c 'import json,sys; print(json.dumps({"model":"gpt-4o-mini","messages":[{"role":"user","content":sys.argv[1]}]}))' "$1")
    echo
    echo "-- request $turn: ada: $1"
    local st
    st=$(curl -sS -o "$tmp/resp.json" -D "$tmp/resp.head" -w '%{http_code}' \
        -H 'Content-Type: application/json' -H 'X-User-Id: ada' \
        -H 'Authorization: Bearer sk-demo-no-real-key' \
        --data-binary "$body" "$proxy/v1/chat/completions") || die "request $turn failed"
    [ "$st" = 200 ] || die "request $turn: HTTP $st: $(cat "$tmp/resp.json")"
    grep -qi '^x-memory-mode: hybrid' "$tmp/resp.head" ||
        die "request $turn: no X-Memory-Mode: hybrid: $(cat "$tmp/resp.head")"
    show "$body" "$tmp/resp.head" "$tmp/resp.json"
}

metric() { # NAME_WITH_LABELS: its value in $tmp/metrics (0 when absent)
    awk -v m="$1" '$1 == m { v = $2 } END { print v + 0 }' "$tmp/metrics"
}

# Waits until every turn is recorded and ada's memory jobs are done.
# Extraction is batched (docs/memory-jobs.md#batches): a user's pending turns
# go to the memory model in one call once they are extract_batch_turns (12)
# or the oldest has waited extract_idle_seconds (20 s); in hybrid mode that
# call also folds the summary, so no summarize job runs. POST /admin/extract
# makes the batch due now; then the demo waits until every turn is extracted
# (memproxy_memory_jobs_total{kind="extract",result="ok"} counts one per turn
# of a batch), no batch is held and the queue is empty.
wait_jobs() {
    local turns=$1 i rec ext sum depth held due jobs
    due=$(curl -sS -X POST -H 'Authorization: Bearer demo-admin-token-7c2f9a41e0b8d653' "$admin/admin/extract") ||
        die "POST /admin/extract failed"
    echo "   POST /admin/extract: $due (ada's pending turns are due now, not after 20 s)"
    for ((i = 0; i < 300; i++)); do
        curl -sS "$admin/metrics" >"$tmp/metrics" || die "GET /metrics failed"
        rec=$(metric 'memproxy_memory_jobs_total{kind="record",result="ok"}')
        ext=$(metric 'memproxy_memory_jobs_total{kind="extract",result="ok"}')
        sum=$(metric 'memproxy_memory_jobs_total{kind="summarize",result="ok"}')
        depth=$(metric 'memproxy_memory_queue_depth')
        held=$(metric 'memproxy_memory_jobs_held{reason="batch"}')
        if [ "$rec" -ge "$turns" ] && [ "$ext" -ge "$turns" ] && [ "$depth" -eq 0 ] &&
            [ "$held" -eq 0 ]; then
            echo "   done: turns recorded $rec, turns extracted $ext, summarize jobs $sum," \
                "queue depth $depth, batches held $held"
            jobs=$(curl -sS "$fake_url/_fake/jobs")
            echo "   (the fake upstream answered these memory-model calls: $jobs)"
            python3 -c '
import json, sys
jobs, sum_ok = json.loads(sys.argv[1]), int(sys.argv[2])
if jobs.get("extract", 0) < 1:
    sys.exit("demo: FAILED: the memory model got no extraction call: " + sys.argv[1])
if jobs.get("summarize", 0) != 0 or sum_ok != 0:
    sys.exit("demo: FAILED: hybrid mode folds the summary into the extraction call, "
             "yet a summarize job ran: %s, summarize ok %d" % (sys.argv[1], sum_ok))
' "$jobs" "$sum" || exit 1
            return 0
        fi
        sleep 0.1
    done
    grep '^memproxy_memory' "$tmp/metrics" >&2
    die "memory jobs not done after 30 s (recorded $rec of $turns turns, extracted $ext," \
        "queue depth $depth, batches held $held)"
}

# check_memory FILE: ada's memory (GET /v1/memory) holds the facts the fake
# extracted and the summary the batch folded.
check_memory() {
    python3 - "$1" <<'EOF'
import json, sys
mem = json.load(open(sys.argv[1]))
facts = {f.get('key'): f.get('value') for f in mem.get('entities') or []}
for k, v in (('name', 'Ada'), ('vector_store', 'ChromaDB')):
    if facts.get(k) != v:
        sys.exit("demo: FAILED: ada's memory should hold %s: %s; it holds %r" % (k, v, facts))
if not (mem.get('summary') or {}).get('text'):
    sys.exit("demo: FAILED: ada's memory holds no summary (hybrid folds one per batch)")
print("   ada's memory holds %d facts (%s) and a summary" % (
    len(facts), ', '.join('%s: %s' % kv for kv in sorted(facts.items()))))
EOF
}

echo "== fake upstream on $fake_url (plays the LLM for memory jobs)"
start_memproxy

echo
echo "== Session 1: ada talks to the assistant. The client sends only the new message;"
echo "   memproxy adds what it remembers (profile, summary, recent messages)."
chat "Hi, my name is Ada."
chat "I'm building a recipe search app."
chat "I use ChromaDB as my vector store."
chat "I use FastAPI for the backend."
chat "How should I cache the search results?"
chat "Thanks, that is all for today."

echo
echo "== Waiting for memproxy's memory jobs: one batched extraction call, the summary folded in"
wait_jobs "$turn"
curl -sS -H 'X-User-Id: ada' "$proxy/v1/memory" >"$tmp/memory.json" || die "GET /v1/memory failed"
check_memory "$tmp/memory.json"

echo
stop_memproxy
start_memproxy

echo
echo "== Session 2, after the restart: a brand-new conversation, empty history"
chat "Which vector store did I say I was using?"

echo
echo "== GET /v1/memory (X-User-Id: ada)"
curl -sS -H 'X-User-Id: ada' "$proxy/v1/memory" >"$tmp/memory.json" || die "GET /v1/memory failed"
python3 -m json.tool "$tmp/memory.json"
check_memory "$tmp/memory.json"

echo
grep -q 'vector_store: ChromaDB' "$tmp/injected.txt" ||
    die "the last upstream request's injected memory holds no \"vector_store: ChromaDB\" fact"
echo "== OK: the last upstream request carried \"vector_store: ChromaDB\" in the memory memproxy injected."
