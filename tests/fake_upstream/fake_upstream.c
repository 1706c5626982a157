/* A fake OpenAI-compatible (chat completions, Responses) and Anthropic
 * Messages upstream for the proxy's tests and benchmark
 * (spec: docs/fake-upstream.md). Single-threaded libevent core with raw
 * socket events, not evhttp: it must control every write and every close.
 *
 * A connection alternates between reading one request (C_READ) and playing
 * the plan built for it (C_SEND), or sits in C_STALL forever; a memory
 * job's answer may wait built in C_HOLD until POST /_fake/release. The read event
 * stays armed in every state, so a peer that leaves mid-response is noticed
 * at once and counted as aborted. Buffers live in the connection and are
 * reused, so a keep-alive request allocates nothing once they have grown. */
#include "fake_behavior.h"
#include "fake_cache.h"
#include "fake_chat.h"
#include "fake_embed.h"
#include "fake_http.h"
#include "fake_llm.h"
#include "fake_messages.h"
#include "fake_models.h"
#include "fake_record.h"
#include "fake_responses.h"
#include "fake_stored.h"
#include "fake_toolcall.h"
#include "fake_validate.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#define MAX_HEAD   (1024 * 1024)
#define MAX_BODY   (256 * 1024 * 1024)
#define READ_CHUNK 16384

#define FAKE_CACHE_COUNT_ONLY 100 /* the Messages prompt's tokens, no cache */

struct stats {
    uint64_t requests;
    uint64_t open;
    uint64_t aborted;
    uint64_t connections;
    uint64_t bytes_sent; /* bytes of /v1 responses written to sockets */
    uint64_t invalid;    /* requests refused as the provider would (fake_validate.h) */
};

struct conn;

struct server {
    struct event_base *base;
    struct evconnlistener *listener;
    struct event *ev_term;
    struct event *ev_int;
    struct conn *conns;
    struct fake_records records; /* the last /v1 requests */
    struct fake_buf last;        /* the newest request when too big for its record */
    bool has_last;               /* last holds it */
    struct fake_buf scratch;     /* control answers, job contents, refusals */
    bool quiet;
    struct stats st;
    uint64_t jobs[FAKE_JOB_COUNT];
    enum fake_mode modes[FAKE_JOB_COUNT];
    struct fake_cache *cache; /* the providers' prompt caches */
    bool no_prompt_cache;     /* --no-prompt-cache: usage from the body's bytes, nothing parsed */
    struct fake_buf reply;    /* POST /_fake/reply's text as a JSON string, quotes included */
    bool reply_set;           /* reply waits for the next answer that takes it */
    bool holding;             /* POST /_fake/hold: jobs' answers wait for /_fake/release */
    struct fake_embed *embed; /* /v1/embeddings: its mode and log (fake_embed.h) */

    struct fake_stored *stored; /* the Responses API's stored responses (fake_stored.h) */
};

enum conn_state { C_READ, C_SEND, C_STALL, C_HOLD };

/* What send_more and friends did with the connection. */
enum progress { P_DONE, P_BUSY, P_CLOSED };

struct conn {
    struct server *srv;
    struct conn *prev;
    struct conn *next;
    evutil_socket_t fd;
    struct event *ev_read;
    struct event *ev_write;
    struct event *ev_timer;
    enum conn_state state;
    /* request being read */
    struct fake_buf in;
    size_t scan_pos;
    bool head_done;
    bool continue_sent;
    struct fake_head head;
    struct fake_chunked chunked;
    struct fake_buf body; /* decoded chunked body */
    size_t req_len;
    /* response being played */
    struct fake_plan plan;
    size_t pos;
    size_t bi;
    bool at_stop;
    bool v1; /* the plan answers a /v1 request (its bytes count in bytes_sent) */
};

static void logmsg(const struct server *srv, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void logmsg(const struct server *srv, const char *fmt, ...)
{
    if (srv->quiet) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    fputs("fake_upstream: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void conn_close(struct conn *c)
{
    struct server *srv = c->srv;
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        srv->conns = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    }
    event_free(c->ev_read);
    event_free(c->ev_write);
    event_free(c->ev_timer);
    evutil_closesocket(c->fd);
    fake_buf_free(&c->in);
    fake_buf_free(&c->body);
    fake_plan_free(&c->plan);
    srv->st.open--;
    free(c);
}

static void conn_reset(struct conn *c)
{
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    if (setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) != 0) {
        logmsg(c->srv, "SO_LINGER: %s", strerror(errno));
    }
    conn_close(c);
}

static void conn_abort(struct conn *c)
{
    c->srv->st.aborted++;
    conn_close(c);
}

/* Drops the request just answered and gets ready for the next one. */
static void next_request(struct conn *c)
{
    if (c->in.len > c->req_len) {
        memmove(c->in.p, c->in.p + c->req_len, c->in.len - c->req_len);
    }
    c->in.len -= c->req_len;
    c->req_len = 0;
    c->scan_pos = 0;
    c->head_done = false;
    c->continue_sent = false;
    c->body.len = 0;
    c->state = C_READ;
}

static enum progress finish(struct conn *c)
{
    switch (c->plan.end) {
    case FAKE_END_KEEP:
        next_request(c);
        return P_DONE;
    case FAKE_END_STALL:
        c->state = C_STALL;
        return P_BUSY;
    case FAKE_END_RST:
        conn_reset(c);
        return P_CLOSED;
    default:
        shutdown(c->fd, SHUT_WR);
        conn_close(c);
        return P_CLOSED;
    }
}

/* The pause owed before the byte at c->pos: breaks at this offset, plus
 * the drip interval inside the body. */
static long pause_here(struct conn *c)
{
    const struct fake_plan *p = &c->plan;
    long d = 0;
    while (c->bi < p->nbrk && p->brk[c->bi].off == c->pos) {
        d += p->brk[c->bi].delay_ms;
        c->bi++;
    }
    if (p->drip_ms > 0 && c->pos >= p->body_off && c->pos < p->out.len) {
        d += p->drip_ms;
    }
    return d;
}

/* Where the current write must stop: the next break, the end of the head
 * or the next byte when dripping, else the end. */
static size_t next_stop(const struct conn *c)
{
    const struct fake_plan *p = &c->plan;
    size_t stop = p->out.len;
    if (c->bi < p->nbrk && p->brk[c->bi].off < stop) {
        stop = p->brk[c->bi].off;
    }
    if (p->drip_ms >= 0) {
        size_t d = c->pos < p->body_off ? p->body_off : c->pos + 1;
        stop = d < stop ? d : stop;
    }
    return stop;
}

static void arm_timer(struct conn *c, long ms)
{
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    evtimer_add(c->ev_timer, &tv);
}

/* Plays the plan from c->pos until it ends, waits, or the socket is full. */
static enum progress send_more(struct conn *c)
{
    for (;;) {
        if (c->at_stop) {
            c->at_stop = false;
            long d = pause_here(c);
            if (d > 0) {
                arm_timer(c, d);
                return P_BUSY;
            }
        }
        if (c->pos == c->plan.out.len) {
            return finish(c);
        }
        size_t stop = next_stop(c);
        ssize_t n = send(c->fd, c->plan.out.p + c->pos, stop - c->pos, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            event_add(c->ev_write, NULL);
            return P_BUSY;
        }
        if (n < 0) {
            conn_abort(c);
            return P_CLOSED;
        }
        c->pos += (size_t)n;
        if (c->v1) {
            c->srv->st.bytes_sent += (uint64_t)n;
        }
        if (c->pos < stop) {
            event_add(c->ev_write, NULL);
            return P_BUSY;
        }
        c->at_stop = true;
    }
}

static enum progress start_plan(struct conn *c, int built)
{
    if (built != 0) {
        logmsg(c->srv, "out of memory building a response");
        conn_close(c);
        return P_CLOSED;
    }
    c->state = C_SEND;
    c->pos = 0;
    c->bi = 0;
    c->at_stop = true;
    return send_more(c);
}

/* A protocol error: answer and close. */
static enum progress reject(struct conn *c, int status, const char *msg)
{
    char body[160];
    int n = snprintf(body, sizeof(body),
                     "{\"error\":{\"message\":\"fake: %s\",\"type\":\"fake_protocol\"}}", msg);
    logmsg(c->srv, "rejecting a request: %d %s", status, msg);
    return start_plan(
        c, fake_plan_simple(&c->plan, status, "application/json", body, (size_t)n, true));
}

/* CLOCK_MONOTONIC in ms: the clock Python's time.monotonic() reads on Linux,
 * so a test can compare the times of requests with its own. */
static uint64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Keeps the request for /_fake/requests and /_fake/last: in its record, and
 * when that cannot hold all of it, also whole in srv->last. */
static struct fake_record *record(struct server *srv, const struct conn *c,
                                  const struct fake_v1_req *r)
{
    struct fake_record *rec =
        fake_records_add(&srv->records, r->n, c->in.p, c->req_len, c->head.head_len, r->body,
                         r->body_len, c->head.chunked);
    if (rec != NULL) {
        rec->t_ms = monotonic_ms();
    }
    srv->has_last = false;
    if (rec == NULL || rec->complete) {
        return rec;
    }
    srv->last.len = 0;
    srv->last.oom = false;
    fake_buf_put(&srv->last, c->in.p, c->req_len);
    srv->has_last = !srv->last.oom;
    return rec;
}

static bool span_eq(const char *buf, struct fake_span s, const char *lit)
{
    return s.len == strlen(lit) && memcmp(buf + s.off, lit, s.len) == 0;
}

/* The chat APIs by path, any method, any query; every other /v1 path
 * answers as chat completions. Memory jobs come as non-stream POSTs to the
 * paths that have jobs. */
struct api {
    const char *path;
    const struct fake_wire *wire;
    bool jobs;
    bool model;            /* answers as the model does: a text /_fake/reply may set */
    enum fake_llm_api llm; /* where a job's prompt is */
    int cache; /* enum fake_cache_api, FAKE_CACHE_COUNT_ONLY, or -1: no usage to count */
};

static const struct api apis[] = {
    {"/v1/chat/completions", &fake_wire_chat, true, true, FAKE_LLM_CHAT, FAKE_CACHE_CHAT},
    {"/v1/responses", &fake_wire_responses, false, true, FAKE_LLM_CHAT, FAKE_CACHE_RESPONSES},
    {"/v1/messages", &fake_wire_messages, true, true, FAKE_LLM_MESSAGES, FAKE_CACHE_MESSAGES},
    {"/v1/messages/count_tokens", &fake_wire_count_tokens, false, false, FAKE_LLM_MESSAGES,
     FAKE_CACHE_COUNT_ONLY},
    {"/v1/models", &fake_wire_models, false, false, FAKE_LLM_CHAT, -1},
    {"/v1/embeddings", &fake_wire_embed, false, false, FAKE_LLM_CHAT, -1},
};

static const struct api other_v1 = {"", &fake_wire_chat, false, false, FAKE_LLM_CHAT, -1};

static const struct api *api_of(const struct conn *c)
{
    const char *buf = c->in.p;
    struct fake_span t = c->head.target;
    const char *q = memchr(buf + t.off, '?', t.len);
    if (q != NULL) {
        t.len = (size_t)(q - (buf + t.off));
    }
    for (size_t i = 0; i < sizeof(apis) / sizeof(apis[0]); i++) {
        if (span_eq(buf, t, apis[i].path)) {
            return &apis[i];
        }
    }
    return &other_v1;
}

/* A memory job plays the LLM: the content comes from fake_llm, the mode
 * may add a status, a delay or a stall (X-Fake-Behavior still applies). */
static bool play_job(struct server *srv, struct fake_record *rec, struct fake_behavior *b,
                     struct fake_v1_req *r, const struct fake_body_info *info,
                     enum fake_llm_api llm)
{
    srv->scratch.len = 0;
    srv->scratch.oom = false;
    enum fake_job job = fake_llm_reply(llm, r->body, r->body_len, info, srv->modes, &srv->scratch);
    if (job == FAKE_JOB_NONE) {
        return false;
    }
    srv->jobs[job]++;
    if (rec != NULL) {
        rec->job = job == FAKE_JOB_EXTRACT ? "extract" : "summarize";
    }
    switch (srv->modes[job]) {
    case FAKE_MODE_STATUS500:
        b->status = b->status < 0 ? 500 : b->status;
        break;
    case FAKE_MODE_STATUS429:
        b->status = b->status < 0 ? 429 : b->status;
        break;
    case FAKE_MODE_SLOW:
        b->delay_ms = (b->delay_ms < 0 ? 0 : b->delay_ms) + FAKE_SLOW_MS;
        break;
    case FAKE_MODE_STALL:
        b->stall = true;
        break;
    default:
        break;
    }
    if (!srv->scratch.oom) {
        r->content = srv->scratch.p;
        r->content_len = srv->scratch.len;
    }
    return true;
}

/* /v1/embeddings: the vectors, or the mode's misbehaviour, in r->content
 * (200) or r->error (any other status) and b. Only POST embeds. */
static void play_embed(struct server *srv, struct fake_behavior *b, struct fake_v1_req *r,
                       bool post)
{
    static const char only_post[] = "{\"error\":{\"message\":\"fake: POST the inputs\","
                                    "\"type\":\"invalid_request_error\",\"param\":null,"
                                    "\"code\":null}}";
    struct fake_embed_answer a = {.status = 405, .stall = false, .delay_ms = 0};
    srv->scratch.len = 0;
    srv->scratch.oom = false;
    if (post) {
        fake_embed_answer(srv->embed, r->n, r->body, r->body_len, &srv->scratch, &a);
    } else {
        fake_buf_puts(&srv->scratch, only_post);
    }
    if (srv->scratch.oom) {
        b->status = 500; /* the wire's own error body */
        return;
    }
    if (a.status == 200) {
        r->content = srv->scratch.p;
        r->content_len = srv->scratch.len;
    } else {
        r->error = srv->scratch.p;
        r->error_len = srv->scratch.len;
    }
    b->status = b->status < 0 ? a.status : b->status;
    b->delay_ms = (b->delay_ms < 0 ? 0 : b->delay_ms) + a.delay_ms;
    b->stall = b->stall || a.stall;
}

/* The request's body as received (a chunked one decoded); *len its bytes. */
static const char *request_body(const struct conn *c, size_t *len)
{
    *len = c->head.chunked ? c->body.len : c->req_len - c->head.head_len;
    return c->head.chunked ? c->body.p : c->in.p + c->head.head_len;
}

/* A Responses request as the provider's prompt cache sees it: the items
 * of the chain it continues (chain: fake_stored.h) before its own input;
 * req itself (a new reference) when it continues none. NULL: out of
 * memory. */
static json_t *with_chain(json_t *req, json_t *chain)
{
    if (chain == NULL) {
        return json_incref(req);
    }
    json_t *view = json_copy(req);
    json_t *items = fake_stored_items(req, chain);
    if (view == NULL || items == NULL || json_object_set_new(view, "input", items) != 0) {
        json_decref(view);
        return NULL;
    }
    return view;
}

/* The body of a POST to a chat API, parsed once for the prompt cache (a
 * body it reads: caching on, at most FAKE_CACHE_MAX_BODY), for the
 * tool-use rules (any body that may break one), for the named call
 * (call not NULL; a body that declares tools has "tool" in it, so it is
 * parsed) and, on the Responses API, for what the provider stores.
 * Refuses the request as the provider would (r->error, the body in
 * srv->scratch; returns true), or counts its usage in r->usage (a
 * Responses request's prompt after the items of the chain it continues)
 * and says in *call_it whether it is answered with the call. */
static bool use_body(struct server *srv, const struct api *api, struct fake_v1_req *r,
                     const struct fake_call *call, bool *call_it)
{
    bool dry = api->cache == FAKE_CACHE_COUNT_ONLY;
    bool responses = api->cache == FAKE_CACHE_RESPONSES && r->body_len <= FAKE_CACHE_MAX_BODY;
    enum fake_cache_api wire = dry ? FAKE_CACHE_MESSAGES : (enum fake_cache_api)api->cache;
    bool cache = !srv->no_prompt_cache && r->body_len <= FAKE_CACHE_MAX_BODY;
    bool check = !dry && fake_validate_wanted(r->body, r->body_len);
    json_t *req = cache || check || responses ? json_loadb(r->body, r->body_len, 0, NULL) : NULL;
    json_t *chain = responses && json_is_object(req) ? fake_stored_chain(srv->stored, req) : NULL;
    srv->scratch.len = 0;
    srv->scratch.oom = false;
    bool refused = check && !fake_validate(wire, req, &srv->scratch);
    if (refused && !srv->scratch.oom) {
        r->error = srv->scratch.p;
        r->error_len = srv->scratch.len;
    } else if (!refused && cache) {
        json_t *seen = with_chain(req, chain);
        fake_cache_use(dry ? NULL : srv->cache, wire, seen, r->body_len, &r->usage);
        json_decref(seen);
    }
    if (!refused && responses && json_is_object(req)) {
        fake_stored_keep(srv->stored, r->n, req, chain, FAKE_REPLY_TEXT,
                         sizeof(FAKE_REPLY_TEXT) - 1);
    }
    *call_it = !refused && !dry && call != NULL && fake_toolcall_applies(wire, req, call->name);
    json_decref(req);
    return refused;
}

#define FAKE_NOW_MAX 9007199254740991ULL /* 2^53 - 1: a JSON number stays exact */

/* A plain decimal of at most FAKE_NOW_MAX into *out; 0, or -1. */
static int parse_ms(const char *s, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    if (n == 0 || n > 16) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > FAKE_NOW_MAX) {
        return -1;
    }
    *out = v;
    return 0;
}

static enum progress answer_v1(struct conn *c)
{
    struct server *srv = c->srv;
    const char *buf = c->in.p;
    srv->st.requests++;

    const struct api *api = api_of(c);
    struct fake_v1_req r = {.wire = api->wire, .n = srv->st.requests, .close = !c->head.keep_alive};
    r.body = request_body(c, &r.body_len);
    struct fake_record *rec = record(srv, c, &r);
    if (c->head.has_ctype) {
        r.ctype = buf + c->head.ctype.off;
        r.ctype_len = c->head.ctype.len;
    }
    struct fake_body_info info;
    fake_http_scan_body(r.body, r.body_len, &info);
    r.stream = info.stream;
    r.background = info.background;
    if (info.has_model) {
        r.model = r.body + info.model.off;
        r.model_len = info.model.len;
    }
    struct fake_behavior b;
    fake_behavior_init(&b);
    for (size_t i = 0; i < c->head.num_behavior; i++) {
        const struct fake_span *s = &c->head.behavior[i];
        if (fake_behavior_parse(&b, buf + s->off, s->len) != 0) {
            logmsg(srv, "bad X-Fake-Behavior: %s", b.err);
            break;
        }
    }
    struct fake_call call;
    bool named = b.err[0] == '\0' && c->head.has_tool_call;
    if (named && fake_toolcall_parse(buf + c->head.tool_call.off, c->head.tool_call.len, &call,
                                     b.err, sizeof(b.err)) != 0) {
        logmsg(srv, "bad X-Fake-Tool-Call: %s", b.err);
        named = false;
    }
    uint64_t now_ms = 0;
    if (b.err[0] == '\0' && c->head.has_now &&
        parse_ms(buf + c->head.now.off, c->head.now.len, &now_ms) != 0) {
        snprintf(b.err, sizeof(b.err), "X-Fake-Now-Ms: milliseconds, a plain decimal up to %llu",
                 (unsigned long long)FAKE_NOW_MAX);
        logmsg(srv, "bad X-Fake-Now-Ms");
    }
    if (b.err[0] == '\0' && c->head.has_now) {
        fake_cache_set_now(srv->cache, now_ms); /* before the cache sees the body */
    }
    bool post = span_eq(buf, c->head.method, "POST");
    r.usage.input = ((uint64_t)r.body_len + 3) / 4;
    bool call_it = false;
    bool refused = b.err[0] == '\0' && post && api->cache >= 0 &&
                   use_body(srv, api, &r, named ? &call : NULL, &call_it);
    if (call_it) {
        b.tool_use = true;
        r.call = &call;
    }
    if (refused) {
        srv->st.invalid++;
        b.status = 400; /* whatever the directives asked: the provider answers nothing else */
        b.echo = false;
    }
    if (b.err[0] == '\0' && !b.echo && api->wire == &fake_wire_embed) {
        play_embed(srv, &b, &r, post);
    }
    bool job = false;
    if (b.err[0] == '\0' && !refused && !r.stream && post && api->jobs) {
        job = play_job(srv, rec, &b, &r, &info, api->llm);
    }
    if (b.err[0] == '\0' && !refused && !r.stream && post && api->model && r.content == NULL &&
        srv->reply_set) {
        r.content = srv->reply.p; /* the plan copies it before the next request can set it */
        r.content_len = srv->reply.len;
        srv->reply_set = false;
    }
    int built = fake_behavior_build(&b, &r, &c->plan);
    if (job && srv->holding && built == 0) {
        c->state = C_HOLD; /* answered as it is now, sent at /_fake/release */
        return P_BUSY;
    }
    return start_plan(c, built);
}

static enum progress answer_last(struct conn *c)
{
    struct server *srv = c->srv;
    bool close = !c->head.keep_alive;
    const struct fake_record *rec = fake_records_newest(&srv->records);
    const struct fake_buf *b = rec != NULL && rec->complete ? &rec->raw
                               : srv->has_last              ? &srv->last
                                                            : NULL;
    if (b == NULL) {
        static const char none[] = "{\"error\":\"no request yet\"}";
        return start_plan(
            c, fake_plan_simple(&c->plan, 404, "application/json", none, sizeof(none) - 1, close));
    }
    return start_plan(
        c, fake_plan_simple(&c->plan, 200, "application/octet-stream", b->p, b->len, close));
}

static enum progress answer_requests(struct conn *c)
{
    struct server *srv = c->srv;
    srv->scratch.len = 0;
    srv->scratch.oom = false;
    if (fake_records_json(&srv->records, &srv->scratch) != 0) {
        return start_plan(c, -1);
    }
    return start_plan(c, fake_plan_simple(&c->plan, 200, "application/json", srv->scratch.p,
                                          srv->scratch.len, !c->head.keep_alive));
}

static void put_modes(struct server *srv, struct fake_buf *o)
{
    fake_buf_puts(o, "{\"extract\":\"");
    fake_buf_puts(o, fake_llm_mode_name(srv->modes[FAKE_JOB_EXTRACT]));
    fake_buf_puts(o, "\",\"summarize\":\"");
    fake_buf_puts(o, fake_llm_mode_name(srv->modes[FAKE_JOB_SUMMARIZE]));
    fake_buf_puts(o, "\"}");
}

/* Applies ?extract=M&summarize=M (all or nothing); 0, or -1 when bad. */
static int set_modes(struct server *srv, const char *q, size_t n)
{
    enum fake_mode modes[FAKE_JOB_COUNT] = {srv->modes[0], srv->modes[1]};
    size_t i = 0;
    while (i < n) {
        const char *item = q + i;
        const char *amp = memchr(item, '&', n - i);
        size_t len = amp != NULL ? (size_t)(amp - item) : n - i;
        i += len + 1;
        const char *eq = memchr(item, '=', len);
        if (len == 0) {
            continue;
        }
        if (eq == NULL) {
            return -1;
        }
        size_t klen = (size_t)(eq - item);
        enum fake_mode m;
        if (fake_llm_mode_parse(eq + 1, len - klen - 1, &m) != 0) {
            return -1;
        }
        if (klen == 7 && memcmp(item, "extract", 7) == 0) {
            modes[FAKE_JOB_EXTRACT] = m;
        } else if (klen == 9 && memcmp(item, "summarize", 9) == 0) {
            modes[FAKE_JOB_SUMMARIZE] = m;
        } else {
            return -1;
        }
    }
    srv->modes[FAKE_JOB_EXTRACT] = modes[FAKE_JOB_EXTRACT];
    srv->modes[FAKE_JOB_SUMMARIZE] = modes[FAKE_JOB_SUMMARIZE];
    return 0;
}

static enum progress answer_jobmode(struct conn *c)
{
    struct server *srv = c->srv;
    const char *t = c->in.p + c->head.target.off;
    const char *q = memchr(t, '?', c->head.target.len);
    size_t qlen = q != NULL ? c->head.target.len - (size_t)(q + 1 - t) : 0;
    int status = 200;
    srv->scratch.len = 0;
    srv->scratch.oom = false;
    if (q != NULL && set_modes(srv, q + 1, qlen) != 0) {
        status = 400;
        fake_buf_puts(&srv->scratch,
                      "{\"error\":\"usage: /_fake/jobmode?extract=M&summarize=M, M one of ok, "
                      "status500, status429, invalid, fenced, wrongtypes, slow, stall\"}");
    } else {
        put_modes(srv, &srv->scratch);
    }
    if (srv->scratch.oom) {
        return start_plan(c, -1);
    }
    return start_plan(c, fake_plan_simple(&c->plan, status, "application/json", srv->scratch.p,
                                          srv->scratch.len, !c->head.keep_alive));
}

/* POST /_fake/reply: the request body (UTF-8 text) is what the next chat
 * answer in one body says (see docs/fake-upstream.md); other methods 405. */
static enum progress answer_reply(struct conn *c)
{
    struct server *srv = c->srv;
    bool close = !c->head.keep_alive;
    if (!span_eq(c->in.p, c->head.method, "POST")) {
        static const char only[] = "{\"error\":\"POST the reply's text\"}";
        return start_plan(
            c, fake_plan_simple(&c->plan, 405, "application/json", only, sizeof(only) - 1, close));
    }
    size_t len;
    const char *text = request_body(c, &len);
    srv->reply.len = 0;
    srv->reply.oom = false;
    fake_buf_put_json_string(&srv->reply, text, len);
    if (srv->reply.oom) {
        srv->reply_set = false;
        return start_plan(c, -1);
    }
    srv->reply_set = true;
    static const char ok[] = "{\"reply\":true}";
    return start_plan(
        c, fake_plan_simple(&c->plan, 200, "application/json", ok, sizeof(ok) - 1, close));
}

/* GET /_fake/cache: the cache's stats; POST: empties it first. */
static enum progress answer_cache(struct conn *c)
{
    struct server *srv = c->srv;
    if (span_eq(c->in.p, c->head.method, "POST")) {
        fake_cache_reset(srv->cache);
    }
    srv->scratch.len = 0;
    srv->scratch.oom = false;
    fake_cache_stats(srv->cache, &srv->scratch);
    if (srv->scratch.oom) {
        return start_plan(c, -1);
    }
    return start_plan(c, fake_plan_simple(&c->plan, 200, "application/json", srv->scratch.p,
                                          srv->scratch.len, !c->head.keep_alive));
}

/* GET /_fake/stored?id=resp_<n>: what the Responses API stored of that
 * response (fake_stored.h); 404 when nothing. */
static enum progress answer_stored(struct conn *c)
{
    struct server *srv = c->srv;
    const char *t = c->in.p + c->head.target.off;
    const char *q = memchr(t, '?', c->head.target.len);
    size_t qlen = q != NULL ? c->head.target.len - (size_t)(q + 1 - t) : 0;
    srv->scratch.len = 0;
    srv->scratch.oom = false;
    int status = 400;
    if (qlen > 3 && memcmp(q + 1, "id=", 3) == 0) {
        status = fake_stored_json(srv->stored, q + 4, qlen - 3, &srv->scratch);
    } else {
        fake_buf_puts(&srv->scratch, "{\"error\":\"usage: GET /_fake/stored?id=resp_N\"}");
    }
    if (srv->scratch.oom) {
        return start_plan(c, -1);
    }
    return start_plan(c, fake_plan_simple(&c->plan, status, "application/json", srv->scratch.p,
                                          srv->scratch.len, !c->head.keep_alive));
}

/* The routing of query q[0..n) ("machines=M&rate=R&idle_ms=N", each
 * optional) over *r; 0, or -1 when an item is unknown or out of range. */
static int parse_routing(const char *q, size_t n, struct fake_routing *r)
{
    size_t i = 0;
    while (i < n) {
        const char *item = q + i;
        const char *amp = memchr(item, '&', n - i);
        size_t len = amp != NULL ? (size_t)(amp - item) : n - i;
        i += len + 1;
        if (len == 0) {
            continue;
        }
        const char *eq = memchr(item, '=', len);
        uint64_t v;
        if (eq == NULL || parse_ms(eq + 1, len - (size_t)(eq + 1 - item), &v) != 0) {
            return -1;
        }
        size_t klen = (size_t)(eq - item);
        if (klen == 8 && memcmp(item, "machines", 8) == 0 && v <= FAKE_MACHINES_MAX) {
            r->machines = (unsigned)v;
        } else if (klen == 4 && memcmp(item, "rate", 4) == 0 && v <= FAKE_ROUTE_RATE_MAX) {
            r->rate = (unsigned)v;
        } else if (klen == 7 && memcmp(item, "idle_ms", 7) == 0) {
            r->idle_ms = v;
        } else {
            return -1;
        }
    }
    return 0;
}

/* GET /_fake/routing: the routing's settings and counts; POST with a query
 * sets what it names (the caches and routes emptied), then reports. */
static enum progress answer_routing(struct conn *c)
{
    struct server *srv = c->srv;
    const char *t = c->in.p + c->head.target.off;
    const char *q = memchr(t, '?', c->head.target.len);
    size_t qlen = q != NULL ? c->head.target.len - (size_t)(q + 1 - t) : 0;
    int status = 200;
    srv->scratch.len = 0;
    srv->scratch.oom = false;
    if (span_eq(c->in.p, c->head.method, "POST")) {
        struct fake_routing r;
        fake_cache_get_routing(srv->cache, &r);
        if ((q != NULL && parse_routing(q + 1, qlen, &r) != 0) ||
            fake_cache_set_routing(srv->cache, &r) != 0) {
            status = 400;
        }
    }
    if (status != 200) {
        fake_buf_puts(
            &srv->scratch,
            "{\"error\":\"usage: POST /_fake/routing?machines=M&rate=R&idle_ms=N, M 0..64 "
            "(0: off), R 0..100000 (0: no limit), N milliseconds (0: never)\"}");
    } else {
        fake_cache_routing_stats(srv->cache, &srv->scratch);
    }
    if (srv->scratch.oom) {
        return start_plan(c, -1);
    }
    return start_plan(c, fake_plan_simple(&c->plan, status, "application/json", srv->scratch.p,
                                          srv->scratch.len, !c->head.keep_alive));
}

/* ---- holding memory jobs' answers: POST /_fake/hold, /_fake/release ---- */

static void process_input(struct conn *c);

static unsigned held_count(const struct server *srv)
{
    unsigned n = 0;
    for (const struct conn *c = srv->conns; c != NULL; c = c->next) {
        n += c->state == C_HOLD;
    }
    return n;
}

/* Sends every held answer as it was built, and holds no more: how many. */
static unsigned release_held(struct server *srv)
{
    unsigned n = 0;
    srv->holding = false;
    struct conn *c = srv->conns;
    while (c != NULL) {
        struct conn *next = c->next; /* c may close while it sends */
        if (c->state == C_HOLD) {
            n++;
            if (start_plan(c, 0) == P_DONE) {
                process_input(c);
            }
        }
        c = next;
    }
    return n;
}

/* POST /_fake/hold starts holding, any other method reports;
 * /_fake/release (any method) sends what is held. */
static enum progress answer_hold(struct conn *c, bool release)
{
    struct server *srv = c->srv;
    char body[96];
    int n;
    if (release) {
        n = snprintf(body, sizeof(body), "{\"released\":%u}", release_held(srv));
    } else {
        if (span_eq(c->in.p, c->head.method, "POST")) {
            srv->holding = true;
        }
        n = snprintf(body, sizeof(body), "{\"holding\":%s,\"held\":%u}",
                     srv->holding ? "true" : "false", held_count(srv));
    }
    return start_plan(c, fake_plan_simple(&c->plan, 200, "application/json", body, (size_t)n,
                                          !c->head.keep_alive));
}

/* GET /_fake/embeddings: the embeddings log; /_fake/embedmode?mode=M
 * (POST) sets the mode, any other method reports it. */
static enum progress answer_embed(struct conn *c, bool mode)
{
    struct server *srv = c->srv;
    const char *t = c->in.p + c->head.target.off;
    const char *q = memchr(t, '?', c->head.target.len);
    size_t qlen = q != NULL ? c->head.target.len - (size_t)(q + 1 - t) : 0;
    int status = 200;
    srv->scratch.len = 0;
    srv->scratch.oom = false;
    if (mode && span_eq(c->in.p, c->head.method, "POST") &&
        (q == NULL || qlen < 5 || memcmp(q + 1, "mode=", 5) != 0 ||
         fake_embed_set_mode(srv->embed, q + 6, qlen - 5) != 0)) {
        status = 400;
        fake_buf_puts(&srv->scratch,
                      "{\"error\":\"usage: POST /_fake/embedmode?mode=M, M one of ok, wrong_dims, "
                      "nan, fewer, huge, status429, status500, hang, slow, model_changed, "
                      "vectors_changed\"}");
    } else if (mode) {
        fake_buf_puts(&srv->scratch, "{\"mode\":\"");
        fake_buf_puts(&srv->scratch, fake_embed_mode_name(srv->embed));
        fake_buf_puts(&srv->scratch, "\"}");
    } else {
        fake_embed_log_json(srv->embed, &srv->scratch);
    }
    if (srv->scratch.oom) {
        return start_plan(c, -1);
    }
    return start_plan(c, fake_plan_simple(&c->plan, status, "application/json", srv->scratch.p,
                                          srv->scratch.len, !c->head.keep_alive));
}

static enum progress answer(struct conn *c)
{
    struct server *srv = c->srv;
    bool close = !c->head.keep_alive;
    char body[320]; /* the longest: stats, six 20-digit numbers */
    int n;
    switch (c->head.route) {
    case FAKE_ROUTE_V1:
        return answer_v1(c);
    case FAKE_ROUTE_LAST:
        return answer_last(c);
    case FAKE_ROUTE_REQUESTS:
        return answer_requests(c);
    case FAKE_ROUTE_JOBMODE:
        return answer_jobmode(c);
    case FAKE_ROUTE_EMBEDDINGS:
    case FAKE_ROUTE_EMBEDMODE:
        return answer_embed(c, c->head.route == FAKE_ROUTE_EMBEDMODE);
    case FAKE_ROUTE_CACHE:
        return answer_cache(c);
    case FAKE_ROUTE_STORED:
        return answer_stored(c);
    case FAKE_ROUTE_REPLY:
        return answer_reply(c);
    case FAKE_ROUTE_ROUTING:
        return answer_routing(c);
    case FAKE_ROUTE_HOLD:
    case FAKE_ROUTE_RELEASE:
        return answer_hold(c, c->head.route == FAKE_ROUTE_RELEASE);
    case FAKE_ROUTE_ROOT: /* a client's probe (Claude Code: HEAD /): no body for HEAD */
        n = span_eq(c->in.p, c->head.method, "HEAD")
                ? 0
                : snprintf(body, sizeof(body), "{\"ok\":true}");
        return start_plan(
            c, fake_plan_simple(&c->plan, 200, "application/json", body, (size_t)n, close));
    case FAKE_ROUTE_JOBS:
        n = snprintf(body, sizeof(body), "{\"extract\":%llu,\"summarize\":%llu}",
                     (unsigned long long)srv->jobs[FAKE_JOB_EXTRACT],
                     (unsigned long long)srv->jobs[FAKE_JOB_SUMMARIZE]);
        return start_plan(
            c, fake_plan_simple(&c->plan, 200, "application/json", body, (size_t)n, close));
    case FAKE_ROUTE_STATS:
        n = snprintf(body, sizeof(body),
                     "{\"requests\":%llu,\"open_connections\":%llu,\"aborted\":%llu,"
                     "\"connections\":%llu,\"bytes_sent\":%llu,\"invalid\":%llu}",
                     (unsigned long long)srv->st.requests, (unsigned long long)srv->st.open,
                     (unsigned long long)srv->st.aborted, (unsigned long long)srv->st.connections,
                     (unsigned long long)srv->st.bytes_sent, (unsigned long long)srv->st.invalid);
        return start_plan(
            c, fake_plan_simple(&c->plan, 200, "application/json", body, (size_t)n, close));
    case FAKE_ROUTE_RESET:
        srv->st.requests = 0;
        srv->st.aborted = 0;
        srv->st.connections = 0;
        srv->st.bytes_sent = 0;
        srv->st.invalid = 0;
        srv->has_last = false;
        srv->last.len = 0;
        fake_records_clear(&srv->records);
        memset(srv->jobs, 0, sizeof(srv->jobs));
        srv->modes[FAKE_JOB_EXTRACT] = FAKE_MODE_OK;
        srv->modes[FAKE_JOB_SUMMARIZE] = FAKE_MODE_OK;
        fake_cache_reset(srv->cache);
        fake_embed_reset(srv->embed);
        fake_stored_reset(srv->stored);
        srv->reply_set = false;
        release_held(srv);
        return start_plan(
            c, fake_plan_simple(&c->plan, 200, "application/json", "{\"reset\":true}", 14, close));
    default:
        n = snprintf(body, sizeof(body), "{\"error\":\"not found\"}");
        return start_plan(
            c, fake_plan_simple(&c->plan, 404, "application/json", body, (size_t)n, close));
    }
}

/* interim response for clients that wait for it before sending the body */
static void send_continue(struct conn *c)
{
    static const char msg[] = "HTTP/1.1 100 Continue\r\n\r\n";
    if (c->head.expect_continue && !c->continue_sent) {
        c->continue_sent = true;
        if (send(c->fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL) < 0) {
            logmsg(c->srv, "sending 100 Continue: %s", strerror(errno));
        }
    }
}

/* Returns FAKE_HTTP_OK when a whole request is in c->in (c->req_len set). */
static int read_request(struct conn *c)
{
    if (!c->head_done) {
        size_t skip = 0;
        while (c->scan_pos == 0 && skip < c->in.len &&
               (c->in.p[skip] == '\r' || c->in.p[skip] == '\n')) {
            skip++;
        }
        if (skip > 0) {
            memmove(c->in.p, c->in.p + skip, c->in.len - skip);
            c->in.len -= skip;
        }
        int r = fake_http_parse_head(c->in.p, c->in.len, &c->scan_pos, MAX_HEAD, &c->head);
        if (r != FAKE_HTTP_OK) {
            return r;
        }
        c->head_done = true;
        if (c->head.content_length > MAX_BODY) {
            return FAKE_HTTP_TOOBIG;
        }
        if (c->head.chunked) {
            fake_http_chunked_init(&c->chunked, c->head.head_len);
            c->body.len = 0;
            c->body.oom = false;
        }
    }
    int r = FAKE_HTTP_OK;
    if (c->head.chunked) {
        r = fake_http_chunked_feed(&c->chunked, c->in.p, c->in.len, &c->body, MAX_BODY);
        c->req_len = c->chunked.pos;
    } else {
        size_t cl = c->head.content_length > 0 ? (size_t)c->head.content_length : 0;
        c->req_len = c->head.head_len + cl;
        r = c->in.len >= c->req_len ? FAKE_HTTP_OK : FAKE_HTTP_AGAIN;
    }
    if (r == FAKE_HTTP_AGAIN) {
        send_continue(c);
    }
    return r;
}

/* Answers every complete request in the buffer, one at a time. */
static void process_input(struct conn *c)
{
    while (c->state == C_READ) {
        int r = read_request(c);
        enum progress p;
        if (r == FAKE_HTTP_AGAIN) {
            return;
        }
        c->v1 = r == FAKE_HTTP_OK && c->head.route == FAKE_ROUTE_V1;
        if (r == FAKE_HTTP_BAD) {
            p = reject(c, 400, "malformed request");
        } else if (r == FAKE_HTTP_TOOBIG) {
            p = c->head_done ? reject(c, 413, "body too large") : reject(c, 431, "head too large");
        } else {
            p = answer(c);
        }
        if (p != P_DONE) {
            return;
        }
    }
}

/* Room to read into: at least READ_CHUNK, or the rest of a known body. */
static size_t read_room(struct conn *c)
{
    size_t want = READ_CHUNK;
    if (c->state == C_READ && c->head_done && !c->head.chunked && c->head.content_length > 0) {
        size_t need = c->head.head_len + (size_t)c->head.content_length;
        if (need > c->in.len && need - c->in.len > want) {
            want = need - c->in.len;
        }
    }
    if (c->in.len > MAX_HEAD + MAX_BODY || fake_buf_reserve(&c->in, want) != 0) {
        return 0;
    }
    return c->in.cap - c->in.len;
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    char scratch[4096];
    size_t room = c->state == C_STALL ? 0 : read_room(c);
    char *dst = room > 0 ? c->in.p + c->in.len : scratch;
    ssize_t n = recv(fd, dst, room > 0 ? room : sizeof(scratch), 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        return;
    }
    if (n <= 0) {
        /* the peer left: a cut response if one was in progress */
        if (c->state == C_READ) {
            conn_close(c);
        } else {
            conn_abort(c);
        }
        return;
    }
    if (room == 0) {
        if (c->state == C_READ) {
            reject(c, 413, "request too large");
        }
        return;
    }
    c->in.len += (size_t)n;
    if (c->state == C_READ) {
        process_input(c);
    }
}

static void on_writable(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    if (c->state == C_SEND && send_more(c) == P_DONE) {
        process_input(c);
    }
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    if (c->state == C_SEND && send_more(c) == P_DONE) {
        process_input(c);
    }
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
                      void *arg)
{
    struct server *srv = arg;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct conn *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        evutil_closesocket(fd);
        return;
    }
    c->srv = srv;
    c->fd = fd;
    c->ev_read = event_new(srv->base, fd, EV_READ | EV_PERSIST, on_read, c);
    c->ev_write = event_new(srv->base, fd, EV_WRITE, on_writable, c);
    c->ev_timer = evtimer_new(srv->base, on_timer, c);
    if (c->ev_read == NULL || c->ev_write == NULL || c->ev_timer == NULL ||
        event_add(c->ev_read, NULL) != 0) {
        event_free(c->ev_read);
        event_free(c->ev_write);
        event_free(c->ev_timer);
        evutil_closesocket(fd);
        free(c);
        return;
    }
    c->next = srv->conns;
    if (srv->conns != NULL) {
        srv->conns->prev = c;
    }
    srv->conns = c;
    srv->st.open++;
    srv->st.connections++;
}

static void on_accept_error(struct evconnlistener *l, void *arg)
{
    /* EMFILE and friends: keep serving the connections we have */
    logmsg(arg, "accept: %s", strerror(errno));
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct server *srv = arg;
    event_base_loopbreak(srv->base);
}

static int usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s [--host 127.0.0.1] [--port 0] [--quiet] [--no-prompt-cache]\n"
            "       [--machines M] [--route-rate R] [--cache-idle-ms N]\n",
            argv0);
    return 2;
}

static int listen_on(struct server *srv, const char *host, const char *port)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "fake_upstream: %s:%s: %s\n", host, port, gai_strerror(rc));
        return -1;
    }
    srv->listener = evconnlistener_new_bind(srv->base, on_accept, srv,
                                            LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 1024,
                                            res->ai_addr, (int)res->ai_addrlen);
    freeaddrinfo(res);
    if (srv->listener == NULL) {
        fprintf(stderr, "fake_upstream: bind %s:%s: %s\n", host, port, strerror(errno));
        return -1;
    }
    evconnlistener_set_error_cb(srv->listener, on_accept_error);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (getsockname(evconnlistener_get_fd(srv->listener), (struct sockaddr *)&ss, &sl) != 0) {
        return -1;
    }
    unsigned p = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                          : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    printf("PORT %u\n", p);
    fflush(stdout);
    return 0;
}

static void server_cleanup(struct server *srv)
{
    while (srv->conns != NULL) {
        conn_close(srv->conns);
    }
    if (srv->listener != NULL) {
        evconnlistener_free(srv->listener);
    }
    if (srv->ev_term != NULL) {
        event_free(srv->ev_term);
    }
    if (srv->ev_int != NULL) {
        event_free(srv->ev_int);
    }
    if (srv->base != NULL) {
        event_base_free(srv->base);
    }
    fake_buf_free(&srv->last);
    fake_buf_free(&srv->scratch);
    fake_buf_free(&srv->reply);
    fake_records_free(&srv->records);
    fake_cache_free(srv->cache);
    fake_embed_free(srv->embed);
    fake_stored_free(srv->stored);
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    const char *port = "0";
    struct server srv;
    memset(&srv, 0, sizeof(srv));
    struct fake_routing routing = {
        .machines = 0, .rate = FAKE_ROUTE_RATE, .idle_ms = FAKE_CACHE_IDLE_MS};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--host") == 0 && i + 1 < argc) {
            host = argv[++i];
        } else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
            port = argv[++i];
        } else if (strcmp(argv[i], "--quiet") == 0) {
            srv.quiet = true;
        } else if (strcmp(argv[i], "--no-prompt-cache") == 0) {
            srv.no_prompt_cache = true;
        } else if (i + 1 < argc &&
                   (strcmp(argv[i], "--machines") == 0 || strcmp(argv[i], "--route-rate") == 0 ||
                    strcmp(argv[i], "--cache-idle-ms") == 0)) {
            uint64_t v;
            const char *arg = argv[i++];
            if (parse_ms(argv[i], strlen(argv[i]), &v) != 0) {
                return usage(argv[0]);
            }
            if (strcmp(arg, "--machines") == 0 && v <= FAKE_MACHINES_MAX) {
                routing.machines = (unsigned)v;
            } else if (strcmp(arg, "--route-rate") == 0 && v <= FAKE_ROUTE_RATE_MAX) {
                routing.rate = (unsigned)v;
            } else if (strcmp(arg, "--cache-idle-ms") == 0) {
                routing.idle_ms = v;
            } else {
                return usage(argv[0]);
            }
        } else {
            return usage(argv[0]);
        }
    }
    signal(SIGPIPE, SIG_IGN);
    int status = 1;
    srv.cache = fake_cache_new();
    srv.embed = fake_embed_new();
    srv.stored = fake_stored_new();
    if (srv.cache == NULL || srv.embed == NULL || srv.stored == NULL ||
        fake_cache_set_routing(srv.cache, &routing) != 0) {
        goto out;
    }
    /* precise timers: drip_ms=1 must mean 1 ms, not the next epoll tick */
    struct event_config *cfg = event_config_new();
    if (cfg == NULL) {
        goto out;
    }
    event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
    srv.base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    if (srv.base == NULL) {
        goto out;
    }
    srv.ev_term = evsignal_new(srv.base, SIGTERM, on_signal, &srv);
    srv.ev_int = evsignal_new(srv.base, SIGINT, on_signal, &srv);
    if (srv.ev_term == NULL || srv.ev_int == NULL || event_add(srv.ev_term, NULL) != 0 ||
        event_add(srv.ev_int, NULL) != 0) {
        goto out;
    }
    if (listen_on(&srv, host, port) != 0) {
        goto out;
    }
    if (event_base_dispatch(srv.base) < 0) {
        goto out;
    }
    status = 0;
out:
    server_cleanup(&srv);
    return status;
}
