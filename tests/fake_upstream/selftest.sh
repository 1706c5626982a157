#!/bin/bash
# Self-test of the fake upstream (docs/fake-upstream.md): starts it on port 0
# and checks exact bytes, statuses and counters with curl and a raw socket.
# Usage: selftest.sh path/to/fake_upstream
set -u
fake=${1:?usage: selftest.sh path/to/fake_upstream}
command -v curl >/dev/null || { echo "selftest: curl is missing (apt-get install -y curl)"; exit 1; }

tmp=$(mktemp -d)
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

"$fake" --port 0 --quiet >"$tmp/stdout" 2>"$tmp/stderr" &
pid=$!
for _ in $(seq 100); do
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

completion() { # n model
    printf '{"id":"chatcmpl-fake%s","object":"chat.completion","created":1700000000,"model":"%s","choices":[{"index":0,"message":{"role":"assistant","content":"Hello from fake upstream"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":4,"total_tokens":5}}' "$1" "$2"
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
timeout 5 cat <&3 >"$tmp/raw.resp"
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
curl -sS -o /dev/null --max-time 0.3 -H 'X-Fake-Behavior: stall' --data-binary '{}' \
    "$base/v1/x" 2>/dev/null
eq "stall curl exit" 28 "$?"

# check_stats NAME REQUESTS ABORTED CONNECTIONS_BEFORE: closes of earlier
# connections may reach the fake after the next request, so poll; each poll
# is one more connection.
check_stats() {
    local stats= want= i
    for i in $(seq 20); do
        stats=$(curl -sS "$base/_fake/stats")
        want="{\"requests\":$2,\"open_connections\":1,\"aborted\":$3,\"connections\":$(($4 + i))}"
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
