#!/bin/bash
# Self-test of the fake upstream (docs/fake-upstream.md): starts it on port 0
# and checks exact bytes, statuses and counters with curl and a raw socket.
# Usage: selftest.sh path/to/fake_upstream
set -u
fake=${1:?usage: selftest.sh path/to/fake_upstream}
command -v curl >/dev/null || { echo "selftest: curl is missing (apt-get install -y curl)"; exit 1; }
command -v python3 >/dev/null || { echo "selftest: python3 is missing (apt-get install -y python3)"; exit 1; }

tmp=$(mktemp -d)
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

"$fake" --port 0 --quiet >"$tmp/stdout" 2>"$tmp/stderr" &
pid=$!
# waits on state, up to 30 s: a busy machine may be slow, never wrong
for _ in $(seq 600); do
    grep -q '^PORT [0-9]*$' "$tmp/stdout" && break
    sleep 0.05
done
port=$(sed -n 's/^PORT \([0-9][0-9]*\)$/\1/p' "$tmp/stdout")
[ -n "$port" ] || { echo "FAIL: no PORT line"; cat "$tmp/stderr"; exit 1; }
[ "$(wc -l <"$tmp/stdout")" -eq 1 ] || { echo "FAIL: stdout is not exactly one line"; exit 1; }
base=http://127.0.0.1:$port
failures=0

fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

# eq NAME EXPECTED ACTUAL
eq() {
    if [ "$2" != "$3" ]; then
        fail "$1"
        printf '  expected: %q\n  actual:   %q\n' "$2" "$3"
    fi
}

# same NAME EXPECTED_FILE ACTUAL_FILE: byte-exact
same() {
    if ! cmp -s "$2" "$3"; then
        fail "$1 (bytes differ)"
        echo "  expected:"; od -c "$2" | head -20
        echo "  actual:"; od -c "$3" | head -20
    fi
}

# has_header NAME HEADER_FILE "name: value" (case-insensitive name, exact value)
has_header() {
    local want_name=${3%%:*} want_value=${3#*: }
    local got
    got=$(tr -d '\r' <"$2" | grep -i "^$want_name: " | head -1 | sed 's/^[^:]*: //')
    eq "$1: header $want_name" "$want_value" "$got"
}

# req NAME [curl args...]: body in $tmp/NAME.body, headers in $tmp/NAME.head, status echoed
req() {
    local name=$1
    shift
    curl -sS -o "$tmp/$name.body" -D "$tmp/$name.head" -w '%{http_code}' "$@"
}

# the prompt of one user message "hi": {"content":"hi","role":"user"} and a
# newline, 31 bytes, 8 tokens (docs/fake-upstream-wires.md, "Prompt caching")
completion() { # n model
    printf '{"id":"chatcmpl-fake%s","object":"chat.completion","created":1700000000,"model":"%s","choices":[{"index":0,"message":{"role":"assistant","content":"Hello from fake upstream"},"finish_reason":"stop"}],"usage":{"prompt_tokens":8,"completion_tokens":4,"total_tokens":12,"prompt_tokens_details":{"cached_tokens":0}}}' "$1" "$2"
}

eq "reset" '{"reset":true}' "$(curl -sS -X POST "$base/_fake/reset")"

# 1. JSON by default, with every /v1 header
st=$(req json -H 'Content-Type: application/json' \
    --data-binary '{"model":"m1","messages":[{"role":"user","content":"hi"}]}' \
    "$base/v1/chat/completions")
eq "json status" 200 "$st"
completion 1 m1 >"$tmp/json.want"
same "json body" "$tmp/json.want" "$tmp/json.body"
has_header json "$tmp/json.head" "content-type: application/json"
has_header json "$tmp/json.head" "content-length: $(wc -c <"$tmp/json.want" | tr -d ' ')"
has_header json "$tmp/json.head" "x-request-id: fake-1"
has_header json "$tmp/json.head" "openai-processing-ms: 1"
has_header json "$tmp/json.head" "openai-version: 2020-10-01"
has_header json "$tmp/json.head" "x-ratelimit-remaining-requests: 99"
has_header json "$tmp/json.head" "x-fake-custom: kept"

# 2. a stream with crlf, 2 events; "stream" : true with blanks
st=$(req sse -H 'X-Fake-Behavior: crlf, events=2' \
    --data-binary '{"model":"m2", "stream" : true}' "$base/v1/chat/completions")
eq "sse status" 200 "$st"
pre='data: {"id":"chatcmpl-fake2","object":"chat.completion.chunk","created":1700000000,"model":"m2","choices":[{"index":0,"delta":'
{
    printf '%s{"content":"tok0 "},"finish_reason":null}]}\r\n\r\n' "$pre"
    printf '%s{"content":"tok1 "},"finish_reason":null}]}\r\n\r\n' "$pre"
    printf '%s{},"finish_reason":"stop"}]}\r\n\r\n' "$pre"
    printf 'data: [DONE]\r\n\r\n'
} >"$tmp/sse.want"
same "sse body" "$tmp/sse.want" "$tmp/sse.body"
has_header sse "$tmp/sse.head" "content-type: text/event-stream"
has_header sse "$tmp/sse.head" "transfer-encoding: chunked"
has_header sse "$tmp/sse.head" "x-request-id: fake-2"

# 3. status=429 with the retry headers and an OpenAI error body
st=$(req e429 -H 'X-Fake-Behavior: status=429' --data-binary '{"model":"m3"}' \
    "$base/v1/chat/completions")
eq "429 status" 429 "$st"
printf '{"error":{"message":"fake error 429","type":"fake_error","param":null,"code":"fake_429"}}' \
    >"$tmp/e429.want"
same "429 body" "$tmp/e429.want" "$tmp/e429.body"
has_header 429 "$tmp/e429.head" "retry-after: 1"
has_header 429 "$tmp/e429.head" "retry-after-ms: 1000"
has_header 429 "$tmp/e429.head" "x-should-retry: true"
has_header 429 "$tmp/e429.head" "x-fake-custom: kept"

# 4. echo: the body back byte for byte, Content-Type copied
printf 'line one\r\n"quoted" \\ {"stream":true}\001\377 end' >"$tmp/echo.want"
st=$(req echo -H 'X-Fake-Behavior: echo' -H 'Content-Type: text/plain; charset=utf-8' \
    --data-binary "@$tmp/echo.want" "$base/v1/embeddings")
eq "echo status" 200 "$st"
same "echo body" "$tmp/echo.want" "$tmp/echo.body"
has_header echo "$tmp/echo.head" "content-type: text/plain; charset=utf-8"

# 5. /_fake/last keeps the exact bytes, chunked framing included
printf 'POST /v1/chat/completions?x=1 HTTP/1.1\r\nHost: fake\r\nX-Fake-Behavior: echo\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: x\r\n\r\n' \
    >"$tmp/raw.req"
exec 3<>"/dev/tcp/127.0.0.1/$port"
cat "$tmp/raw.req" >&3
timeout 30 cat <&3 >"$tmp/raw.resp"
exec 3<&-
printf 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\nx-request-id: fake-5\r\nopenai-processing-ms: 1\r\nopenai-version: 2020-10-01\r\nx-ratelimit-remaining-requests: 99\r\nx-fake-custom: kept\r\nConnection: close\r\n\r\nhello world' \
    >"$tmp/raw.want"
same "raw chunked echo response" "$tmp/raw.want" "$tmp/raw.resp"
st=$(req last "$base/_fake/last")
eq "last status" 200 "$st"
same "last bytes" "$tmp/raw.req" "$tmp/last.body"
has_header last "$tmp/last.head" "content-type: application/octet-stream"

# 6. keep-alive: two requests, one connection
ids=$(curl -sS -D - -o /dev/null -o /dev/null --data-binary '{}' "$base/v1/a" "$base/v1/b" |
    tr -d '\r' | sed -n 's/^x-request-id: //p' | tr '\n' ' ')
eq "keep-alive ids" "fake-6 fake-7 " "$ids"

# 7. reset_before_headers: curl sees a reset (56), no response
curl -sS -o /dev/null -H 'X-Fake-Behavior: reset_before_headers' --data-binary '{}' \
    "$base/v1/x" 2>/dev/null
eq "reset_before_headers curl exit" 56 "$?"

# 8. stall: the client gives up, the fake counts an aborted response
curl -sS -o /dev/null --max-time 3 -H 'X-Fake-Behavior: stall' --data-binary '{}' \
    "$base/v1/x" 2>/dev/null
eq "stall curl exit" 28 "$?"

# check_stats NAME REQUESTS ABORTED CONNECTIONS_BEFORE: closes of earlier
# connections may reach the fake after the next request, so poll; each poll
# is one more connection.
check_stats() {
    local stats= want= i
    for i in $(seq 300); do
        stats=$(curl -sS "$base/_fake/stats" | sed 's/,"bytes_sent":[0-9]*,/,/')
        want="{\"requests\":$2,\"open_connections\":1,\"aborted\":$3,\"connections\":$(($4 + i)),\"invalid\":0}"
        [ "$stats" = "$want" ] && break
        sleep 0.1
    done
    eq "$1" "$want" "$stats"
}

# 9. stats: 9 /v1 requests on 8 connections, the last page on a 9th, 1 aborted
check_stats "stats" 9 1 9

eq "reset again" '{"reset":true}' "$(curl -sS -X POST "$base/_fake/reset")"
eq "last after reset" 404 "$(curl -sS -o /dev/null -w '%{http_code}' "$base/_fake/last")"
check_stats "stats after reset" 0 0 1

# --- Playing the LLM for memory jobs (issue 3) ---

# content FILE: choices[0].message.content of a chat.completion (JSON if not a string)
content() {
    python3 -c 'import json,sys
c = json.load(open(sys.argv[1]))["choices"][0]["message"]["content"]
sys.stdout.write(c if isinstance(c, str) else json.dumps(c))' "$1"
}

# job NAME BODY [curl args...]: POST BODY to /v1/chat/completions, status echoed
job() {
    local name=$1 body=$2
    shift 2
    req "$name" -H 'Content-Type: application/json' --data-binary "$body" "$@" \
        "$base/v1/chat/completions"
}

extract_body='{"model":"gpt-4o-mini","temperature":0,"response_format":{"type":"json_object"},"messages":[{"role":"system","content":"You extract durable facts."},{"role":"user","content":"Conversation turn:\nuser: Hi, my name is Ada Lovelace. I'\''m building a recipe search app, and I use ChromaDB as my vector store; I live in London.\n  My email is ada@example.com. My favorite code editor is probably Vim!\nassistant: My name is Bot and I use nothing.\n"}]}'
facts='{"entities":[{"key":"name","value":"Ada Lovelace","confidence":0.9},{"key":"project","value":"a recipe search app","confidence":0.9},{"key":"vector_store","value":"ChromaDB","confidence":0.9},{"key":"city","value":"London","confidence":0.9},{"key":"email","value":"ada@example.com","confidence":0.9,"pii":true},{"key":"favorite_code_editor","value":"probably Vim","confidence":0.4}]}'

# 10. extraction: the facts of the user lines only, in a normal chat.completion
eq "extract status" 200 "$(job ext "$extract_body")"
eq "extract content" "$facts" "$(content "$tmp/ext.body")"
has_header extract "$tmp/ext.head" "x-request-id: fake-1"
job none '{"model":"m","response_format":{"type":"json_object"},"messages":[{"role":"user","content":"Conversation turn:\nuser: I like tea; remember that nothing.\nassistant: I use Go.\n"}]}' >/dev/null
eq "extract, no fact" '{"entities":[]}' "$(content "$tmp/none.body")"
job plain '{"model":"m","response_format":{"type":"json_object"},"messages":[{"role":"user","content":"I use Rust and Go. My vector store is pgvector 0.7.0."}]}' >/dev/null
eq "extract, no transcript lines" '{"entities":[{"key":"tools","value":"Rust","confidence":0.9},{"key":"vector_store","value":"pgvector 0.7.0","confidence":0.9}]}' \
    "$(content "$tmp/plain.body")"

# 11. summarization: previous summary items + first sentences, cut to the word limit
summary_body() { # WORDS_CLAUSE
    printf '{"model":"gpt-4o-mini","temperature":0,"messages":[{"role":"system","content":"Fold the previous summary and the new messages into one updated summary%s. Keep every fact."},{"role":"user","content":"Previous summary:\\nSummary: user: My name is Ada. / user: I live in London.\\n\\nNew messages:\\nuser: I use ChromaDB as my vector store because it runs locally and is fast. It is great.\\nassistant: Good choice! Anything else?\\nuser: Not now\\n  thanks.\\n"}]}' "$1"
}
eq "summary status" 200 "$(job sum "$(summary_body '')")"
eq "summary content" "Summary: user: My name is Ada. / user: I live in London. / user: I use ChromaDB as my vector store because it runs / assistant: Good choice! / user: Not now thanks." \
    "$(content "$tmp/sum.body")"
job sum13 "$(summary_body ' of at most 13 words')" >/dev/null
eq "summary word limit" "Summary: user: My name is Ada. / user: I live in London." "$(content "$tmp/sum13.body")"

# 12. not jobs: memproxy's memory block mentions the summary; a stream; another path
job inj '{"model":"m","messages":[{"role":"system","content":"Notes from earlier conversations with this user.\n[Conversation history summary]: Summary: user: hi"},{"role":"user","content":"hi"}]}' >/dev/null
eq "injected chat is no job" "Hello from fake upstream" "$(content "$tmp/inj.body")"
job stream "{\"stream\":true,${extract_body#\{}" -H 'X-Fake-Behavior: events=1' >/dev/null
grep -q '"content":"tok0 "' "$tmp/stream.body" || fail "a streamed extraction request got no stream"
req emb -H 'Content-Type: application/json' --data-binary "$extract_body" "$base/v1/completions" >/dev/null
eq "other path is no job" "Hello from fake upstream" "$(content "$tmp/emb.body")"
eq "jobs" '{"extract":3,"summarize":2}' "$(curl -sS "$base/_fake/jobs")"

# 13. job modes
mode() { curl -sS -X POST "$base/_fake/jobmode?$1"; }
eq "jobmode set" '{"extract":"fenced","summarize":"wrongtypes"}' "$(mode 'extract=fenced&summarize=wrongtypes')"
job fenced "$extract_body" >/dev/null
eq "extract fenced" "$(printf 'Here is the JSON you asked for:\n```json\n%s\n```\nLet me know if you need anything else.' "$facts")" \
    "$(content "$tmp/fenced.body")"
job wrong "$(summary_body '')" >/dev/null
eq "summary wrongtypes" "42" "$(content "$tmp/wrong.body")"
eq "jobmode bad" 400 "$(curl -sS -o /dev/null -w '%{http_code}' -X POST "$base/_fake/jobmode?extract=nope")"
eq "jobmode unchanged" '{"extract":"fenced","summarize":"wrongtypes"}' "$(curl -sS "$base/_fake/jobmode")"
mode 'extract=wrongtypes&summarize=invalid' >/dev/null
job wrong2 "$extract_body" >/dev/null
eq "extract wrongtypes" '{"entities":[{"key":"name","value":42,"confidence":"0.9"}' \
    "$(content "$tmp/wrong2.body" | cut -d, -f1-3)"
job inval "$(summary_body '')" >/dev/null
eq "summary invalid" "" "$(content "$tmp/inval.body")"
mode 'extract=invalid&summarize=status500' >/dev/null
job inval2 "$extract_body" >/dev/null
eq "extract invalid" "Sorry, I cannot answer that in JSON today." "$(content "$tmp/inval2.body")"
eq "summary status500" 500 "$(job e500 "$(summary_body '')")"
printf '{"error":{"message":"fake error 500","type":"fake_error","param":null,"code":"fake_500"}}' >"$tmp/e500.want"
same "summary status500 body" "$tmp/e500.want" "$tmp/e500.body"
mode 'extract=slow&summarize=stall' >/dev/null
t0=$(date +%s%N)
job slow "$extract_body" >/dev/null
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$ms" -ge 1900 ] || fail "slow answered after $ms ms, not 2 s"
eq "extract slow content" "$facts" "$(content "$tmp/slow.body")"
curl -sS -o /dev/null --max-time 3 -H 'Content-Type: application/json' \
    --data-binary "$(summary_body '')" "$base/v1/chat/completions" 2>/dev/null
eq "summary stall curl exit" 28 "$?"

# 14. the request log: newest last, headers lower-cased, bodies as text
printf 'line\n\001\377"' >"$tmp/odd.in"
req odd -H 'X-Fake-Behavior: echo' -H 'X-Dup: a' -H 'x-dup: b' --data-binary "@$tmp/odd.in" \
    "$base/v1/x?q=1" >/dev/null
curl -sS "$base/_fake/requests" >"$tmp/requests.json"
python3 -c 'import json, sys
log = json.load(open(sys.argv[1]))
print(len(log), [r["n"] for r in log] == list(range(1, len(log) + 1)))
first, last = log[0], log[-1]
print(first["job"], first["method"], first["path"], first["body"].startswith("{\"model\":\"gpt-4o-mini\""))
print(last["job"], last["path"], last["headers"]["x-dup"], last["headers"]["x-fake-behavior"],
      json.dumps(last["body"]), last["body_truncated"])' "$tmp/requests.json" >"$tmp/requests.check"
printf '%s\n' '17 True' 'extract POST /v1/chat/completions True' \
    'None /v1/x?q=1 a, b echo "line\n\u0001\ufffd\"" False' >"$tmp/requests.want"
same "requests log" "$tmp/requests.want" "$tmp/requests.check"

# 15. a request bigger than its record: /_fake/last still exact, the log cuts it
head -c 300000 /dev/zero | tr '\0' 'a' >"$tmp/big.in"
req big -H 'Content-Type: text/plain' --data-binary "@$tmp/big.in" "$base/v1/big" >/dev/null
curl -sS "$base/_fake/last" | tail -c 300000 >"$tmp/big.last"
same "big request: last" "$tmp/big.in" "$tmp/big.last"
eq "big request: record cut" "True 262144" "$(curl -sS "$base/_fake/requests" | python3 -c 'import json,sys
r = json.load(sys.stdin)[-1]; print(r["body_truncated"], len(r["body"]))')"

# 16. bytes_sent counts /v1 response bytes only; t_ms is CLOCK_MONOTONIC ms
eq "reset 2" '{"reset":true}' "$(curl -sS -X POST "$base/_fake/reset")"
bytes_sent() { curl -sS "$base/_fake/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["bytes_sent"])'; }
eq "bytes_sent after reset" 0 "$(bytes_sent)"
curl -sS -D - -o - --data-binary '{}' "$base/v1/x" >"$tmp/counted.resp"
eq "bytes_sent: head and body of one response" "$(wc -c <"$tmp/counted.resp" | tr -d ' ')" "$(bytes_sent)"
t_before=$(python3 -c 'import time; print(int(time.monotonic() * 1000))')
curl -sS -o /dev/null --data-binary '{}' "$base/v1/timed"
t_after=$(python3 -c 'import time; print(int(time.monotonic() * 1000))')
t_req=$(curl -sS "$base/_fake/requests" | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["t_ms"])')
[ "$t_req" -ge "$t_before" ] && [ "$t_req" -le "$t_after" ] ||
    fail "t_ms $t_req not within [$t_before, $t_after] (CLOCK_MONOTONIC ms)"

# 17. event_bytes pads content events to an exact size; too small is a 400
curl -sS -H 'X-Fake-Behavior: events=2,event_bytes=400' --data-binary '{"stream":true}' \
    "$base/v1/chat/completions" >"$tmp/padded.body"
eq "event_bytes sizes" "[400, 400, 158, 14]" "$(python3 -c 'import sys
d = open(sys.argv[1], "rb").read()
print([len(e) + 2 for e in d.split(b"\n\n")[:-1]])' "$tmp/padded.body")"
grep -q '"content":"tok1 "},"finish_reason":null}\],"pad":"xxx' "$tmp/padded.body" ||
    fail "event_bytes: no pad member after choices"
eq "event_bytes too small" 400 "$(curl -sS -o /dev/null -w '%{http_code}' \
    -H 'X-Fake-Behavior: events=2,event_bytes=100' --data-binary '{"stream":true}' "$base/v1/x")"

# 18. end_delay_ms: the cut body, then the reset only after the delay
t0=$(date +%s%N)
curl -sS -o "$tmp/cut.body" -H 'X-Fake-Behavior: body_bytes=2000,reset_after=100,end_delay_ms=300' \
    --data-binary '{}' "$base/v1/x" 2>/dev/null
eq "end_delay_ms curl exit" 56 "$?"
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$ms" -ge 280 ] || fail "end_delay_ms=300: reset after $ms ms"
eq "end_delay_ms body bytes before the reset" 100 "$(wc -c <"$tmp/cut.body" | tr -d ' ')"

# 18a. close_after: a close-delimited stream (no chunk framing) closed
# cleanly inside its event N with inside; N past the end: all of it
hdr=$(curl -sS -D - -o "$tmp/closed.body" -H 'X-Fake-Behavior: events=2,close_after=1,inside' \
    --data-binary '{"stream":true}' "$base/v1/chat/completions" | tr -d '\r')
eq "close_after curl exit" 0 "$?"
case "$hdr" in *"Transfer-Encoding"* | *"Content-Length"*) fail "close_after: framed: $hdr" ;; esac
case "$hdr" in *"Connection: close"*) ;; *) fail "close_after: no Connection: close" ;; esac
eq "close_after inside: one whole event, then half of one" "1 True" "$(python3 -c 'import sys
d = open(sys.argv[1], "rb").read()
e = d.split(b"\n\n")
print(len(e) - 1, e[1].startswith(b"data: {") and 2 * len(e[1]) in (len(e[0]) + 1, len(e[0]) + 2))' \
    "$tmp/closed.body")"
eq "close_after past the end: whole stream" "data: [DONE]" "$(curl -sS -H 'X-Fake-Behavior: close_after=99' \
    --data-binary '{"stream":true}' "$base/v1/chat/completions" | tail -n 2 | head -n 1)"

# 18b. strings with escaped quotes and backslashes end where JSON says: the
# members after them ("stream", "model") are still read
for c in 'say \"hi\"' 'C:\\\\' 'a\\\"b\\\\\\\\' '\\\\\\\\\"x\"'; do
    st=$(req esc --data-binary "{\"messages\":[{\"role\":\"user\",\"content\":\"$c\"}],\"stream\":true,\"model\":\"esc\"}" \
        "$base/v1/chat/completions")
    eq "escaped string ($c) status" 200 "$st"
    grep -q '^data: {"id":"chatcmpl-fake[0-9]*","object":"chat.completion.chunk","created":1700000000,"model":"esc"' \
        "$tmp/esc.body" || fail "escaped string ($c): not streamed with model esc"
done

# 18c. holding jobs' answers until /_fake/release (tests/proxy/erasure/test_erasure_race.py)
mode 'extract=ok&summarize=ok' >/dev/null
eq "hold on" '{"holding":true,"held":0}' "$(curl -sS -X POST "$base/_fake/hold")"
job held "$extract_body" >/dev/null &
held_pid=$!
for _ in $(seq 600); do
    [ "$(curl -sS "$base/_fake/hold")" = '{"holding":true,"held":1}' ] && break
    sleep 0.05
done
eq "held" '{"holding":true,"held":1}' "$(curl -sS "$base/_fake/hold")"
eq "a chat is not held" "Hello from fake upstream" \
    "$(req nothold -H 'Content-Type: application/json' --max-time 30 \
        --data-binary '{"model":"m","messages":[{"role":"user","content":"hi"}]}' \
        "$base/v1/chat/completions" >/dev/null && content "$tmp/nothold.body")"
eq "release" '{"released":1}' "$(curl -sS -X POST "$base/_fake/release")"
wait "$held_pid"
eq "released content" "$facts" "$(content "$tmp/held.body")"
eq "hold off" '{"holding":false,"held":0}' "$(curl -sS "$base/_fake/hold")"

# 19. reset: modes back to ok, counters and the log cleared
eq "reset 3" '{"reset":true}' "$(curl -sS -X POST "$base/_fake/reset")"
eq "jobmode after reset" '{"extract":"ok","summarize":"ok"}' "$(curl -sS "$base/_fake/jobmode")"
eq "jobs after reset" '{"extract":0,"summarize":0}' "$(curl -sS "$base/_fake/jobs")"
eq "requests after reset" '[]' "$(curl -sS "$base/_fake/requests")"

kill -TERM "$pid"
wait "$pid"
eq "exit status after SIGTERM" 0 "$?"
pid=

if [ -s "$tmp/stderr" ]; then
    fail "stderr not empty with --quiet"
    cat "$tmp/stderr"
fi
if [ "$failures" -ne 0 ]; then
    echo "$failures check(s) failed"
    exit 1
fi
echo "fake_upstream selftest ok"
