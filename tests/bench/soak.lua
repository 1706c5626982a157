-- wrk script for tests/bench/soak.sh: a fixed population of users, each
-- cycling through a fixed set of messages, so that the traffic repeats.
--
--   wrk ... -s soak.lua URL -- SIZE PREFIX NUSERS NMSGS [XMEMORY [MINREQ MINSECS DONEFILE]]
--
-- Request n goes to user PREFIX(n % NUSERS) with message number
-- (n // NUSERS) % NMSGS: consecutive requests (and so the connections) belong
-- to different users, and the first NUSERS * NMSGS requests send every
-- (user, message) pair once; after that the same bodies come again, byte for
-- byte (every wrk run starts the cycle from the beginning). Message k says
--
--   "message k: I use tool-(k % 6). My favorite color is COLOR(k % 7).
--    I live in CITY(k % 5). lorem ipsum ..."
--
-- so the fake upstream's extraction finds three facts (tools,
-- favorite_color, city) whose values change from one message to the next:
-- every recorded turn supersedes facts and adds history. The body is
-- padded to SIZE bytes like post.lua's. X-Memory is XMEMORY (default auto;
-- `none` leaves the header out).
--
-- With MINREQ, MINSECS and DONEFILE, the (single) thread stops at the first
-- response after both MINREQ responses and MINSECS seconds, and creates
-- DONEFILE, at which the caller interrupts wrk (SIGINT: its main thread
-- otherwise sleeps out -d). An epoch then ends on what it sent, not on the
-- clock alone (wrk's -d is only its ceiling), so a slow or busy machine
-- makes it longer, never too short to hold one pass.
--
-- done() prints post.lua's BENCH line:
--   BENCH requests=N duration_us=N rps=F p50_us=N p90_us=N p99_us=N max_us=N
--         mean_us=F bytes=N status_errors=N connect_errors=N read_errors=N
--         write_errors=N timeouts=N

local PREFIX = '{"model":"bench-model","max_tokens":16,"messages":['
    .. '{"role":"system","content":"You are a helpful assistant."},'
    .. '{"role":"user","content":"'
local SUFFIX = '"}]}'
local PHRASE = "lorem ipsum dolor sit amet "
local COLORS = { "blue", "green", "red", "amber", "teal", "violet", "ochre" }
local CITIES = { "Graz", "Lyon", "Porto", "Turku", "Gdansk" }

local function body_with(content, size)
    local pad = size - #PREFIX - #SUFFIX - #content
    if pad < 0 then
        pad = 0
    end
    local reps = math.floor(pad / #PHRASE) + 1
    return PREFIX .. content .. string.rep(PHRASE, reps):sub(1, pad) .. SUFFIX
end

local counter = 0
local prefix, nusers, nmsgs
local bodies = {}
local min_responses, min_secs, started, done_file
local responses = 0

-- response() when MINREQ is given (wrk reads responses for Lua only when
-- the script has one: without MINREQ the run costs what it did)
local function stop_when_done()
    responses = responses + 1
    if responses >= min_responses and os.time() - started >= min_secs then
        local f = io.open(done_file, "w")
        if f ~= nil then
            f:close()
        end
        wrk.thread:stop()
    end
end

function init(args)
    local size = tonumber(args[1] or "1024") or 1024
    prefix = args[2] or "soak-u"
    nusers = tonumber(args[3] or "200") or 200
    nmsgs = tonumber(args[4] or "30") or 30
    local xmem = args[5] or "auto"
    min_responses = tonumber(args[6] or "")
    min_secs = tonumber(args[7] or "") or 0
    done_file = args[8]
    started = os.time()
    if min_responses ~= nil and done_file ~= nil then
        response = stop_when_done
    end
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/json"
    wrk.headers["Authorization"] = "Bearer sk-bench"
    if xmem ~= "none" then
        wrk.headers["X-Memory"] = xmem
    end
    -- The bodies are the same for every user: built once.
    for k = 0, nmsgs - 1 do
        local content = string.format(
            "message %d: I use tool-%d. My favorite color is %s. I live in %s. ",
            k, k % 6, COLORS[(k % #COLORS) + 1], CITIES[(k % #CITIES) + 1])
        bodies[k] = body_with(content, size)
    end
end

function request()
    local n = counter
    counter = counter + 1
    wrk.headers["X-User-Id"] = prefix .. (n % nusers)
    return wrk.format(nil, nil, nil, bodies[math.floor(n / nusers) % nmsgs])
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
