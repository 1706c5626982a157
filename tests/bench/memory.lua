-- wrk script for tests/bench/memory.sh: POST chat completions to memproxy with
-- a user id, and print one machine-readable result line when done.
--
-- Two variants, chosen by the first argument after `--`:
--
--   wrk ... -s memory.lua URL -- hit SIZE USER XMEMORY [QUESTION [API]]
--     The memory hit: every request is the same, built once in init() (no
--     per-request Lua, as in post.lua): the body of post.lua (SIZE bytes,
--     default 1024) with `X-User-Id: USER` (default bench-hit) and
--     `X-Memory: XMEMORY` (default read; `none` leaves the header out).
--     With QUESTION ('+' for each space; '-' for none) the user message
--     starts with it, then the padding; SIZE 0: the question alone, no
--     padding. API (chat, the default; responses; messages) shapes the same
--     system text and user message as that API's request (URL must be its
--     path): Responses' instructions and input, Anthropic's system and
--     messages with x-api-key and anthropic-version.
--
--   wrk ... -s memory.lua URL -- users SIZE PREFIX NUSERS XMEMORY TAG
--     Recording load: request() builds each request, cycling the user id
--     through PREFIX0 .. PREFIX(NUSERS-1) (consecutive requests, and so the
--     connections, get different users), with `X-Memory: XMEMORY` (auto or
--     read). The user message starts with "TAG request N:" so that every
--     request body is distinct: memproxy records an identical body from the
--     same user only once (a retry). It also says "I use tool-K and my
--     favorite color is C", which the fake upstream's extraction turns into
--     two facts. The body is padded to SIZE bytes like post.lua's. Both
--     X-Memory values run the same Lua, so their comparison is fair.
--
-- done() prints the same BENCH line as post.lua:
--   BENCH requests=N duration_us=N rps=F p50_us=N p90_us=N p99_us=N max_us=N
--         mean_us=F bytes=N status_errors=N connect_errors=N read_errors=N
--         write_errors=N timeouts=N

local PREFIXES = {
    chat = '{"model":"bench-model","max_tokens":16,"messages":['
        .. '{"role":"system","content":"You are a helpful assistant."},'
        .. '{"role":"user","content":"',
    responses = '{"model":"bench-model","max_output_tokens":16,'
        .. '"instructions":"You are a helpful assistant.","input":[{"role":"user","content":"',
    messages = '{"model":"bench-model","max_tokens":16,"system":"You are a helpful assistant.",'
        .. '"messages":[{"role":"user","content":"',
}
local PREFIX = PREFIXES.chat
local SUFFIX = '"}]}'
local PHRASE = "lorem ipsum dolor sit amet "
local COLORS = { "blue", "green", "red", "amber", "teal", "violet", "ochre" }

-- The user content padded with PHRASE so that the whole body is size bytes
-- (never shorter than the content itself).
local function body_with(content, size)
    local pad = size - #PREFIX - #SUFFIX - #content
    if pad < 0 then
        pad = 0
    end
    local reps = math.floor(pad / #PHRASE) + 1
    return PREFIX .. content .. string.rep(PHRASE, reps):sub(1, pad) .. SUFFIX
end

local counter = 0
local size, prefix, nusers, tag

local function users_request()
    local n = counter
    counter = counter + 1
    local user = prefix .. (n % nusers)
    local content = string.format("%s request %d: I use tool-%d and my favorite color is %s. ",
        tag, n, n % 13, COLORS[(n % #COLORS) + 1])
    wrk.headers["X-User-Id"] = user
    return wrk.format(nil, nil, nil, body_with(content, size))
end

function init(args)
    local variant = args[1] or "hit"
    size = tonumber(args[2] or "1024") or 1024
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/json"
    wrk.headers["Authorization"] = "Bearer sk-bench"
    if variant == "users" then
        prefix = args[3] or "bench-u"
        nusers = tonumber(args[4] or "1000") or 1000
        local xmem = args[5] or "auto"
        tag = args[6] or tostring(os.time())
        if xmem ~= "none" then
            wrk.headers["X-Memory"] = xmem
        end
        -- Defined here, not at the top level, so that the hit variant stays
        -- static (wrk calls request() for every request when it exists).
        request = users_request
    else
        local user = args[3] or "bench-hit"
        local xmem = args[4] or "read"
        local question = (args[5] or ""):gsub("%+", " ")
        local api = args[6] or "chat"
        if question == "-" then
            question = ""
        end
        PREFIX = PREFIXES[api] or error("unknown API " .. api)
        if api == "messages" then
            wrk.headers["x-api-key"] = "sk-ant-bench"
            wrk.headers["anthropic-version"] = "2023-06-01"
        end
        wrk.headers["X-User-Id"] = user
        if xmem ~= "none" then
            wrk.headers["X-Memory"] = xmem
        end
        wrk.body = body_with(question, size)
    end
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
