/* Directives and response plans for the fake upstream.
 *
 * A response is built in full before the first byte goes out: the exact
 * bytes in plan->out, plus a sorted list of breaks ("before byte off, wait
 * N ms") and an ending (keep, close, stall, RST). Splits, event delays and
 * delay_ms are breaks; stall_after/reset_after cut the bytes and set the
 * ending; drip_ms is a flag the sender applies to every body byte. So the
 * default path is one buffer and one write, and misbehaviour costs nothing
 * when it is not asked for. */
#include "fake_behavior.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SPLIT_PAUSE_MS  20
#define MAX_MS          600000L
#define MAX_BODY_BYTES  (256L * 1024 * 1024)
#define MAX_EVENT_BYTES (64L * 1024 * 1024)
#define PAD_OVERHEAD    (sizeof(",\"pad\":\"\"") - 1)
#define JSON_CHUNK      100 /* `chunked` sends the JSON body in chunks of this size */

struct directive {
    const char *name;
    bool flag;
    size_t off;
    long min;
    long max;
};

#define NUM(field, lo, hi)                                                                         \
    {                                                                                              \
#field, false, offsetof(struct fake_behavior, field), lo, hi                               \
    }
#define FLAG(field)                                                                                \
    {                                                                                              \
#field, true, offsetof(struct fake_behavior, field), 0, 0                                  \
    }

static const struct directive directives[] = {
    NUM(status, 200, 599),
    NUM(events, 0, 100000),
    NUM(split, 0, 1L << 30),
    NUM(drip_ms, 0, MAX_MS),
    NUM(event_delay_ms, 0, MAX_MS),
    NUM(delay_ms, 0, MAX_MS),
    NUM(stall_after, 0, 1L << 30),
    NUM(reset_after, 0, 1L << 30),
    NUM(close_after, 0, 1L << 30),
    NUM(body_bytes, 0, MAX_BODY_BYTES),
    NUM(end_delay_ms, 0, MAX_MS),
    NUM(event_bytes, 0, MAX_EVENT_BYTES),
    NUM(error_after, 0, 100000),
    FLAG(crlf),
    FLAG(no_done),
    FLAG(stall),
    FLAG(reset_before_headers),
    FLAG(chunked),
    FLAG(echo),
    FLAG(inside),
    FLAG(failed),
    FLAG(thinking),
    FLAG(tool_use),
    FLAG(audio),
    FLAG(refusal),
    FLAG(no_text),
};

void fake_behavior_init(struct fake_behavior *b)
{
    memset(b, 0, sizeof(*b));
    b->status = -1;
    b->events = 3;
    b->split = -1;
    b->drip_ms = -1;
    b->event_delay_ms = -1;
    b->delay_ms = -1;
    b->stall_after = -1;
    b->reset_after = -1;
    b->close_after = -1;
    b->body_bytes = -1;
    b->end_delay_ms = -1;
    b->event_bytes = -1;
    b->error_after = -1;
}

/* The message goes into a JSON string: keep it to harmless characters. */
static int fail(struct fake_behavior *b, const char *what, const char *item, size_t len)
{
    snprintf(b->err, sizeof(b->err), "%s '%.*s'", what, (int)(len > 60 ? 60 : len), item);
    for (char *c = b->err; *c != '\0'; c++) {
        if (*c < 0x20 || *c > 0x7e || *c == '"' || *c == '\\') {
            *c = '?';
        }
    }
    return -1;
}

static bool parse_long(const char *s, size_t n, long *out)
{
    if (n == 0 || n > 10) {
        return false;
    }
    long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

static void trim(const char **s, size_t *n)
{
    while (*n > 0 && (**s == ' ' || **s == '\t')) {
        (*s)++;
        (*n)--;
    }
    while (*n > 0 && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t')) {
        (*n)--;
    }
}

static int apply(struct fake_behavior *b, const char *item, size_t len)
{
    const char *name = item;
    size_t nlen = len;
    const char *val = NULL;
    size_t vlen = 0;
    const char *eq = memchr(item, '=', len);
    if (eq != NULL) {
        nlen = (size_t)(eq - item);
        val = eq + 1;
        vlen = len - nlen - 1;
        trim(&name, &nlen);
        trim(&val, &vlen);
    }
    for (size_t i = 0; i < sizeof(directives) / sizeof(directives[0]); i++) {
        const struct directive *d = &directives[i];
        if (strlen(d->name) != nlen || strncasecmp(d->name, name, nlen) != 0) {
            continue;
        }
        if (d->flag) {
            if (val != NULL) {
                return fail(b, "directive takes no value:", item, len);
            }
            *(bool *)((char *)b + d->off) = true;
            return 0;
        }
        long v = 0;
        if (val == NULL || !parse_long(val, vlen, &v) || v < d->min || v > d->max) {
            return fail(b, "bad or out-of-range value:", item, len);
        }
        *(long *)((char *)b + d->off) = v;
        return 0;
    }
    return fail(b, "unknown directive", item, len);
}

int fake_behavior_parse(struct fake_behavior *b, const char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        size_t start = i;
        while (i < len && s[i] != ',') {
            i++;
        }
        const char *item = s + start;
        size_t n = i - start;
        trim(&item, &n);
        if (n > 0 && apply(b, item, n) != 0) {
            return -1;
        }
        i++;
    }
    return 0;
}

size_t fake_behavior_pieces(const struct fake_behavior *b)
{
    if (b->no_text) {
        return 0;
    }
    if (b->error_after >= 0 && b->error_after < b->events) {
        return (size_t)b->error_after;
    }
    return (size_t)b->events;
}

void fake_plan_free(struct fake_plan *p)
{
    fake_buf_free(&p->out);
    fake_buf_free(&p->tmp);
    free(p->brk);
    p->brk = NULL;
    p->nbrk = 0;
    p->brk_cap = 0;
}

static void plan_reset(struct fake_plan *p, bool close)
{
    p->out.len = 0;
    p->out.oom = false;
    p->tmp.len = 0;
    p->tmp.oom = false;
    p->nbrk = 0;
    p->brk_oom = false;
    p->body_off = 0;
    p->drip_ms = -1;
    p->bad = false;
    p->end = close ? FAKE_END_CLOSE : FAKE_END_KEEP;
}

static void add_brk(struct fake_plan *p, size_t off, long delay_ms)
{
    if (p->nbrk == p->brk_cap) {
        size_t cap = p->brk_cap != 0 ? p->brk_cap * 2 : 16;
        struct fake_brk *nb = realloc(p->brk, cap * sizeof(*nb));
        if (nb == NULL) {
            p->brk_oom = true;
            return;
        }
        p->brk = nb;
        p->brk_cap = cap;
    }
    p->brk[p->nbrk].off = off;
    p->brk[p->nbrk].delay_ms = (uint32_t)delay_ms;
    p->nbrk++;
}

static int plan_status(const struct fake_plan *p)
{
    return p->out.oom || p->tmp.oom || p->brk_oom ? -1 : 0;
}

static const char *reason(long status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 413:
        return "Payload Too Large";
    case 422:
        return "Unprocessable Entity";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 529:
        return "Site Overloaded";
    default:
        return "Fake Status";
    }
}

static void put_status_line(struct fake_buf *o, long status)
{
    fake_buf_puts(o, "HTTP/1.1 ");
    fake_buf_put_u64(o, (uint64_t)status);
    fake_buf_puts(o, " ");
    fake_buf_puts(o, reason(status));
    fake_buf_puts(o, "\r\n");
}

/* The headers every /v1 response carries, then the empty line. */
static void put_v1_tail(struct fake_buf *o, const struct fake_v1_req *r, long status)
{
    static const char fixed[] = "openai-processing-ms: 1\r\n"
                                "openai-version: 2020-10-01\r\n"
                                "x-ratelimit-remaining-requests: 99\r\n"
                                "x-fake-custom: kept\r\n";
    fake_buf_puts(o, "x-request-id: fake-");
    fake_buf_put_u64(o, r->n);
    fake_buf_puts(o, "\r\n");
    fake_buf_put(o, fixed, sizeof(fixed) - 1);
    if (status == 429 || status == 503 || status == 529) {
        fake_buf_puts(o, "retry-after: 1\r\nretry-after-ms: 1000\r\nx-should-retry: true\r\n");
    }
    if (r->close) {
        fake_buf_puts(o, "Connection: close\r\n");
    }
    fake_buf_puts(o, "\r\n");
}

/* A bad X-Fake-Behavior: 400 and nothing else of what was asked. */
static int build_bad(const char *err, const struct fake_v1_req *r, struct fake_plan *p)
{
    plan_reset(p, r->close);
    p->bad = true;
    struct fake_buf *t = &p->tmp;
    fake_buf_puts(t, "{\"error\":{\"message\":\"fake: ");
    fake_buf_puts(t, err);
    fake_buf_puts(t, "\",\"type\":\"fake_bad_behavior\",\"param\":null,\"code\":\"fake_400\"}}");
    put_status_line(&p->out, 400);
    fake_buf_puts(&p->out, "Content-Type: application/json\r\nContent-Length: ");
    fake_buf_put_u64(&p->out, t->len);
    fake_buf_puts(&p->out, "\r\n");
    put_v1_tail(&p->out, r, 400);
    p->body_off = p->out.len;
    fake_buf_put(&p->out, t->p, t->len);
    return plan_status(p);
}

/* Cuts the bytes at off (if shorter) and sets the ending; breaks past the cut go. */
static void cut_at(struct fake_plan *p, size_t off, enum fake_end end)
{
    if (off < p->out.len) {
        p->out.len = off;
    }
    while (p->nbrk > 0 && p->brk[p->nbrk - 1].off > p->out.len) {
        p->nbrk--;
    }
    p->end = end;
}

/* stall_after / reset_after / close_after: which applies (the smallest N;
 * a tie resets, else closes). */
static bool cut_of(const struct fake_behavior *b, long *n, enum fake_end *end)
{
    static const enum fake_end ends[] = {FAKE_END_RST, FAKE_END_CLOSE, FAKE_END_STALL};
    const long at[] = {b->reset_after, b->close_after, b->stall_after};
    bool found = false;
    for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
        if (at[i] >= 0 && (!found || at[i] < *n)) {
            *n = at[i];
            *end = ends[i];
            found = true;
        }
    }
    return found;
}

/* Pads the JSON object in t to exactly want bytes with a "pad" member. */
static int pad_to(struct fake_buf *t, size_t want)
{
    if (want == t->len) {
        return 0;
    }
    if (want < t->len + PAD_OVERHEAD) {
        return -1;
    }
    size_t k = want - t->len - PAD_OVERHEAD;
    t->len--; /* the closing brace */
    fake_buf_puts(t, ",\"pad\":\"");
    if (fake_buf_reserve(t, k) == 0) {
        memset(t->p + t->len, 'x', k);
        t->len += k;
    }
    fake_buf_puts(t, "\"}");
    return 0;
}

/* close_after: an answer without Content-Length or chunked framing, which
 * the close ends (the response says so even when the request did not). */
static void put_unframed(struct fake_buf *o, const struct fake_v1_req *r)
{
    if (!r->close) {
        fake_buf_puts(o, "Connection: close\r\n");
    }
}

static void put_chunked(struct fake_buf *o, const char *body, size_t len)
{
    for (size_t i = 0; i < len; i += JSON_CHUNK) {
        size_t n = len - i < JSON_CHUNK ? len - i : JSON_CHUNK;
        fake_buf_put_hex(o, n);
        fake_buf_puts(o, "\r\n");
        fake_buf_put(o, body + i, n);
        fake_buf_puts(o, "\r\n");
    }
    fake_buf_puts(o, "0\r\n\r\n");
}

/* One JSON (or echoed) body: the non-stream answer and every status=N answer. */
static int build_single(const struct fake_behavior *b, const struct fake_v1_req *r,
                        struct fake_plan *p, long status)
{
    const char *ctype = "application/json";
    size_t ctype_len = 16;
    const char *body = r->body;
    size_t len = r->body_len;
    if (b->echo) {
        ctype = r->ctype;
        ctype_len = r->ctype_len;
    } else {
        if (status == 200) {
            r->wire->put_reply(&p->tmp, r, b);
        } else if (r->error != NULL) {
            fake_buf_put(&p->tmp, r->error, r->error_len);
        } else {
            r->wire->put_error(&p->tmp, status);
        }
        if (b->body_bytes >= 0 && pad_to(&p->tmp, (size_t)b->body_bytes) != 0) {
            char err[128];
            snprintf(err, sizeof(err), "body_bytes=%ld is below the minimum %zu", b->body_bytes,
                     p->tmp.len + 9);
            return build_bad(err, r, p);
        }
        body = p->tmp.p;
        len = p->tmp.len;
    }
    bool no_body = status == 204 || status == 304;
    struct fake_buf *o = &p->out;
    fake_buf_reserve(o, len + 512);
    put_status_line(o, status);
    if (ctype != NULL) {
        fake_buf_puts(o, "Content-Type: ");
        fake_buf_put(o, ctype, ctype_len);
        fake_buf_puts(o, "\r\n");
    }
    if (!no_body && b->close_after >= 0) {
        put_unframed(o, r);
    } else if (!no_body && b->chunked) {
        fake_buf_puts(o, "Transfer-Encoding: chunked\r\n");
    } else if (!no_body) {
        fake_buf_puts(o, "Content-Length: ");
        fake_buf_put_u64(o, len);
        fake_buf_puts(o, "\r\n");
    }
    put_v1_tail(o, r, status);
    p->body_off = o->len;
    if (!no_body && b->chunked && b->close_after < 0) {
        put_chunked(o, body, len);
    } else if (!no_body) {
        fake_buf_put(o, body, len);
    }
    long n = 0;
    enum fake_end end = FAKE_END_KEEP;
    if (cut_of(b, &n, &end)) {
        cut_at(p, p->body_off + (size_t)n, end);
    }
    return plan_status(p);
}

struct fake_sse {
    struct fake_plan *p;
    const struct fake_behavior *b;
    size_t events;  /* events framed so far */
    bool cut;       /* stall_after or reset_after asks to cut the stream */
    long cut_n;     /* before which event */
    size_t cut_off; /* where that event starts in p->out */
    size_t need;    /* event_bytes: the least that fits every content event */
};

struct fake_buf *fake_sse_begin(struct fake_sse *s, const char *type)
{
    struct fake_buf *e = &s->p->tmp;
    e->len = 0;
    if (type != NULL) {
        fake_buf_puts(e, "event: ");
        fake_buf_puts(e, type);
        fake_buf_puts(e, s->b->crlf ? "\r\n" : "\n");
    }
    fake_buf_puts(e, "data: ");
    return e;
}

struct fake_buf *fake_sse_begin_typed(struct fake_sse *s, const char *type)
{
    struct fake_buf *e = fake_sse_begin(s, type);
    fake_buf_puts(e, "{\"type\":\"");
    fake_buf_puts(e, type);
    fake_buf_puts(e, "\"");
    return e;
}

/* Each event is one chunk. Breaks: before every event after the first
 * (event_delay_ms, or a new write for split), and split's pause inside it. */
void fake_sse_end(struct fake_sse *s, bool content)
{
    const struct fake_behavior *b = s->b;
    struct fake_plan *p = s->p;
    struct fake_buf *e = &p->tmp;
    struct fake_buf *o = &p->out;
    const char *eol = b->crlf ? "\r\n\r\n" : "\n\n";
    size_t eol_len = b->crlf ? 4 : 2;
    if (content && b->event_bytes >= 0) {
        size_t least = e->len + eol_len + PAD_OVERHEAD;
        s->need = least > s->need ? least : s->need;
        if ((size_t)b->event_bytes < s->need) {
            return; /* a 400 once every event is measured */
        }
        pad_to(e, (size_t)b->event_bytes - eol_len);
    }
    size_t len = e->len + eol_len;
    size_t k = s->events++;
    size_t start = o->len;
    if (k > 0 && b->event_delay_ms > 0) {
        add_brk(p, o->len, b->event_delay_ms);
    } else if (k > 0 && b->split >= 0) {
        add_brk(p, o->len, 0);
    }
    if (b->close_after < 0) {
        fake_buf_put_hex(o, len);
        fake_buf_puts(o, "\r\n");
    }
    if (s->cut && k == (size_t)s->cut_n) /* before the event, or inside: half of it sent */
        s->cut_off = b->inside ? o->len + len / 2 : start;
    if (b->split >= 0 && (size_t)b->split < len) {
        add_brk(p, o->len + (size_t)b->split, SPLIT_PAUSE_MS);
    }
    fake_buf_put(o, e->p, e->len);
    fake_buf_put(o, eol, eol_len);
    if (b->close_after < 0) {
        fake_buf_puts(o, "\r\n");
    }
}

/* The SSE answer: the wire's events, then the last chunk. */
static int build_stream(const struct fake_behavior *b, const struct fake_v1_req *r,
                        struct fake_plan *p)
{
    struct fake_sse s = {.p = p, .b = b};
    enum fake_end end = FAKE_END_KEEP;
    s.cut = cut_of(b, &s.cut_n, &end);
    struct fake_buf *o = &p->out;
    put_status_line(o, 200);
    fake_buf_puts(o, "Content-Type: text/event-stream\r\n");
    if (b->close_after >= 0) {
        put_unframed(o, r);
    } else {
        fake_buf_puts(o, "Transfer-Encoding: chunked\r\n");
    }
    put_v1_tail(o, r, 200);
    p->body_off = o->len;
    r->wire->put_stream(&s, r, b);
    if (b->event_bytes >= 0 && (size_t)b->event_bytes < s.need) {
        char err[128];
        snprintf(err, sizeof(err), "event_bytes=%ld is below the minimum %zu", b->event_bytes,
                 s.need);
        return build_bad(err, r, p);
    }
    if (s.cut && (size_t)s.cut_n >= s.events) {
        s.cut_off = o->len;
    }
    if (b->close_after < 0) {
        fake_buf_puts(o, "0\r\n\r\n");
    }
    if (s.cut) {
        cut_at(p, s.cut_off, end);
    }
    return plan_status(p);
}

int fake_behavior_build(const struct fake_behavior *b, const struct fake_v1_req *r,
                        struct fake_plan *p)
{
    plan_reset(p, r->close);
    if (b->err[0] != '\0') {
        return build_bad(b->err, r, p);
    }
    if (b->delay_ms > 0) {
        add_brk(p, 0, b->delay_ms);
    }
    if (b->reset_before_headers) {
        p->end = FAKE_END_RST;
        return plan_status(p);
    }
    if (b->stall) {
        p->end = FAKE_END_STALL;
        return plan_status(p);
    }
    p->drip_ms = b->drip_ms;
    bool error = b->status > 0 && b->status != 200;
    bool stream = r->stream && !error && r->wire->put_stream != NULL;
    int rc = stream ? build_stream(b, r, p) : build_single(b, r, p, error ? b->status : 200);
    if (rc == 0 && !p->bad && b->end_delay_ms > 0) {
        add_brk(p, p->out.len, b->end_delay_ms); /* after the last byte, before the ending */
        rc = plan_status(p);
    }
    return rc;
}

int fake_plan_simple(struct fake_plan *p, int status, const char *ctype, const char *body,
                     size_t len, bool close)
{
    plan_reset(p, close);
    struct fake_buf *o = &p->out;
    fake_buf_reserve(o, len + 256);
    put_status_line(o, status);
    fake_buf_puts(o, "Content-Type: ");
    fake_buf_puts(o, ctype);
    fake_buf_puts(o, "\r\nContent-Length: ");
    fake_buf_put_u64(o, len);
    fake_buf_puts(o, close ? "\r\nConnection: close\r\n\r\n" : "\r\n\r\n");
    p->body_off = o->len;
    fake_buf_put(o, body, len);
    return plan_status(p);
}
