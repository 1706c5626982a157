-- wrk script for tests/bench/run.sh: POST a chat-completions request body of
-- an exact size and print one machine-readable result line when done.
--
--   wrk -t1 -c1 -d2s -s post.lua http://127.0.0.1:PORT/v1/chat/completions -- 1024
--
-- The argument after `--` is the body size in bytes (default 1024; at least 140, the size
-- of the JSON skeleton with empty user content). The body is
--
--   {"model":"bench-model","max_tokens":16,"messages":[
--    {"role":"system","content":"You are a helpful assistant."},
--    {"role":"user","content":"lorem ipsum dolor sit amet lorem ..."}]}
--
-- (on one line) with the user content padded by repeating the phrase until the
-- whole body is exactly that many bytes. run.sh builds the same bytes in shell
-- (body_json) for its curl check; keep the two in step.
--
-- The request is built once in init(), so wrk sends it without calling Lua per
-- request (no request()/response() functions: they would slow wrk down).
--
-- done() prints:
--   BENCH requests=N duration_us=N rps=F p50_us=N p90_us=N p99_us=N max_us=N
--         mean_us=F bytes=N status_errors=N connect_errors=N read_errors=N
--         write_errors=N timeouts=N
-- status_errors counts responses with status >= 400 (wrk's definition);
-- run.sh checks separately that each target answers 200.

local PREFIX = '{"model":"bench-model","max_tokens":16,"messages":['
    .. '{"role":"system","content":"You are a helpful assistant."},'
    .. '{"role":"user","content":"'
local SUFFIX = '"}]}'
local PHRASE = "lorem ipsum dolor sit amet "

local function body_of_size(size)
    local pad = size - #PREFIX - #SUFFIX
    if pad < 0 then
        pad = 0
    end
    local reps = math.floor(pad / #PHRASE) + 1
    return PREFIX .. string.rep(PHRASE, reps):sub(1, pad) .. SUFFIX
end

function init(args)
    local size = tonumber(args[1] or "1024") or 1024
    wrk.method = "POST"
    wrk.body = body_of_size(size)
    wrk.headers["Content-Type"] = "application/json"
    wrk.headers["Authorization"] = "Bearer sk-bench"
end

function done(summary, latency, requests)
    local secs = summary.duration / 1e6
    local rps = 0
    if secs > 0 then
        rps = summary.requests / secs
    end
    local e = summary.errors
    io.write(string.format(
        "BENCH requests=%d duration_us=%d rps=%.1f p50_us=%d p90_us=%d p99_us=%d "
            .. "max_us=%d mean_us=%.1f bytes=%d status_errors=%d connect_errors=%d "
            .. "read_errors=%d write_errors=%d timeouts=%d\n",
        summary.requests, summary.duration, rps,
        latency:percentile(50), latency:percentile(90), latency:percentile(99),
        latency.max, latency.mean, summary.bytes,
        e.status, e.connect, e.read, e.write, e.timeout))
end
