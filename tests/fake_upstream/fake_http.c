/* Request parsing for the fake upstream: lenient where the proxy could
 * legitimately differ (case, blanks, bare LF), strict enough to notice a
 * proxy that sends garbage. Every loop is linear in the bytes it is given. */
#include "fake_http.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LINE_MAX_BYTES 4096

int fake_buf_reserve(struct fake_buf *b, size_t extra)
{
    if (b->oom) {
        return -1;
    }
    if (b->cap - b->len >= extra) {
        return 0;
    }
    size_t want = b->cap != 0 ? b->cap : 1024;
    while (want - b->len < extra) {
        if (want > SIZE_MAX / 2) {
            b->oom = true;
            return -1;
        }
        want *= 2;
    }
    char *p = realloc(b->p, want);
    if (p == NULL) {
        b->oom = true;
        return -1;
    }
    b->p = p;
    b->cap = want;
    return 0;
}

void fake_buf_put(struct fake_buf *b, const void *p, size_t n)
{
    if (n == 0 || fake_buf_reserve(b, n) != 0) {
        return;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

void fake_buf_puts(struct fake_buf *b, const char *s)
{
    fake_buf_put(b, s, strlen(s));
}

void fake_buf_put_u64(struct fake_buf *b, uint64_t v)
{
    char tmp[24];
    size_t i = sizeof(tmp);
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    fake_buf_put(b, tmp + i, sizeof(tmp) - i);
}

void fake_buf_put_hex(struct fake_buf *b, uint64_t v)
{
    static const char digits[] = "0123456789abcdef";
    char tmp[20];
    size_t i = sizeof(tmp);
    do {
        tmp[--i] = digits[v & 15];
        v >>= 4;
    } while (v != 0);
    fake_buf_put(b, tmp + i, sizeof(tmp) - i);
}

/* Length of the valid UTF-8 sequence at s[0..n) (no overlongs, surrogates
 * or code points past U+10FFFF), or 0 when the lead byte starts none. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    size_t k = s[0] < 0xc2 ? 0 : s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : s[0] < 0xf5 ? 4 : 0;
    if (k == 0 || k > n) {
        return 0;
    }
    for (size_t i = 1; i < k; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
    }
    if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f) ||
        (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f)) {
        return 0;
    }
    return k;
}

void fake_buf_put_json_string(struct fake_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    size_t run = 0; /* start of the bytes not yet copied */
    fake_buf_puts(b, "\"");
    if (n == 0) {
        fake_buf_puts(b, "\"");
        return;
    }
    for (size_t i = 0; i < n;) {
        unsigned char c = u[i];
        size_t k = c < 0x80 ? 1 : utf8_len(u + i, n - i);
        if (k > 0 && c >= 0x20 && c != '"' && c != '\\') {
            i += k;
            continue;
        }
        fake_buf_put(b, s + run, i - run);
        if (k == 0) {
            fake_buf_puts(b, "\\ufffd");
        } else if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            fake_buf_put(b, esc, 2);
        } else if (c == '\n') {
            fake_buf_puts(b, "\\n");
        } else {
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            fake_buf_put(b, esc, 6);
        }
        i++;
        run = i;
    }
    fake_buf_put(b, s + run, n - run);
    fake_buf_puts(b, "\"");
}

void fake_buf_free(struct fake_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
    b->oom = false;
}

static bool span_is(const char *p, size_t n, const char *lit)
{
    size_t l = strlen(lit);
    return n == l && strncasecmp(p, lit, l) == 0;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* True when the comma-separated list value contains token (case-insensitive). */
static bool list_has(const char *v, size_t n, const char *token)
{
    size_t i = 0;
    while (i < n) {
        size_t s = i;
        while (i < n && v[i] != ',') {
            i++;
        }
        size_t e = i;
        while (s < e && is_blank(v[s])) {
            s++;
        }
        while (e > s && is_blank(v[e - 1])) {
            e--;
        }
        if (span_is(v + s, e - s, token)) {
            return true;
        }
        i++;
    }
    return false;
}

static enum fake_route route_of(const char *t, size_t n)
{
    const char *q = memchr(t, '?', n);
    size_t plen = q != NULL ? (size_t)(q - t) : n;
    if (plen >= 3 && memcmp(t, "/v1", 3) == 0 && (plen == 3 || t[3] == '/')) {
        return FAKE_ROUTE_V1;
    }
    if (plen == 11 && memcmp(t, "/_fake/last", 11) == 0) {
        return FAKE_ROUTE_LAST;
    }
    if (plen == 12 && memcmp(t, "/_fake/stats", 12) == 0) {
        return FAKE_ROUTE_STATS;
    }
    if (plen == 12 && memcmp(t, "/_fake/reset", 12) == 0) {
        return FAKE_ROUTE_RESET;
    }
    if (plen == 15 && memcmp(t, "/_fake/requests", 15) == 0) {
        return FAKE_ROUTE_REQUESTS;
    }
    if (plen == 11 && memcmp(t, "/_fake/jobs", 11) == 0) {
        return FAKE_ROUTE_JOBS;
    }
    if (plen == 14 && memcmp(t, "/_fake/jobmode", 14) == 0) {
        return FAKE_ROUTE_JOBMODE;
    }
    if (plen == 12 && memcmp(t, "/_fake/cache", 12) == 0) {
        return FAKE_ROUTE_CACHE;
    }
    if (plen == 13 && memcmp(t, "/_fake/stored", 13) == 0) {
        return FAKE_ROUTE_STORED;
    }
    if (plen == 12 && memcmp(t, "/_fake/reply", 12) == 0) {
        return FAKE_ROUTE_REPLY;
    }
    if (plen == 11 && memcmp(t, "/_fake/hold", 11) == 0) {
        return FAKE_ROUTE_HOLD;
    }
    if (plen == 14 && memcmp(t, "/_fake/release", 14) == 0) {
        return FAKE_ROUTE_RELEASE;
    }
    if (plen == 14 && memcmp(t, "/_fake/routing", 14) == 0) {
        return FAKE_ROUTE_ROUTING;
    }
    if (plen == 17 && memcmp(t, "/_fake/embeddings", 17) == 0) {
        return FAKE_ROUTE_EMBEDDINGS;
    }
    if (plen == 16 && memcmp(t, "/_fake/embedmode", 16) == 0) {
        return FAKE_ROUTE_EMBEDMODE;
    }
    if (plen == 1) {
        return FAKE_ROUTE_ROOT;
    }
    return FAKE_ROUTE_OTHER;
}

/* "METHOD SP target SP HTTP/1.x"; sets route and the version's keep-alive default. */
static int parse_request_line(const char *l, size_t n, struct fake_head *h, int *minor)
{
    const char *sp1 = memchr(l, ' ', n);
    if (sp1 == NULL || sp1 == l) {
        return FAKE_HTTP_BAD;
    }
    const char *t = sp1 + 1;
    const char *sp2 = memchr(t, ' ', n - (size_t)(t - l));
    if (sp2 == NULL || sp2 == t || *t != '/') {
        return FAKE_HTTP_BAD;
    }
    const char *v = sp2 + 1;
    size_t vlen = n - (size_t)(v - l);
    if (vlen != 8 || memcmp(v, "HTTP/1.", 7) != 0 || (v[7] != '0' && v[7] != '1')) {
        return FAKE_HTTP_BAD;
    }
    *minor = v[7] - '0';
    h->method.off = 0;
    h->method.len = (size_t)(sp1 - l);
    h->target.off = (size_t)(t - l);
    h->target.len = (size_t)(sp2 - t);
    h->route = route_of(t, (size_t)(sp2 - t));
    return FAKE_HTTP_OK;
}

static int parse_content_length(const char *v, size_t n, int64_t *out)
{
    if (n == 0 || n > 15) {
        return FAKE_HTTP_BAD;
    }
    int64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9') {
            return FAKE_HTTP_BAD;
        }
        x = x * 10 + (v[i] - '0');
    }
    if (*out >= 0 && *out != x) {
        return FAKE_HTTP_BAD;
    }
    *out = x;
    return FAKE_HTTP_OK;
}

/* One "name: value" line (without its line end). */
static int parse_field(const char *buf, size_t off, size_t n, struct fake_head *h, int *conn_flags)
{
    const char *l = buf + off;
    const char *colon = memchr(l, ':', n);
    if (colon == NULL || colon == l || is_blank(l[0])) {
        return FAKE_HTTP_BAD;
    }
    size_t nlen = (size_t)(colon - l);
    for (size_t i = 0; i < nlen; i++) {
        if ((unsigned char)l[i] <= ' ' || l[i] == 0x7f) {
            return FAKE_HTTP_BAD;
        }
    }
    size_t vs = nlen + 1;
    size_t ve = n;
    while (vs < ve && is_blank(l[vs])) {
        vs++;
    }
    while (ve > vs && is_blank(l[ve - 1])) {
        ve--;
    }
    const char *v = l + vs;
    size_t vlen = ve - vs;
    if (span_is(l, nlen, "content-length")) {
        return parse_content_length(v, vlen, &h->content_length);
    }
    if (span_is(l, nlen, "transfer-encoding")) {
        if (!list_has(v, vlen, "chunked")) {
            return FAKE_HTTP_BAD;
        }
        h->chunked = true;
    } else if (span_is(l, nlen, "connection")) {
        *conn_flags |= list_has(v, vlen, "close") ? 1 : 0;
        *conn_flags |= list_has(v, vlen, "keep-alive") ? 2 : 0;
    } else if (span_is(l, nlen, "expect")) {
        h->expect_continue = span_is(v, vlen, "100-continue");
    } else if (span_is(l, nlen, "content-type")) {
        h->has_ctype = true;
        h->ctype.off = off + vs;
        h->ctype.len = vlen;
    } else if (span_is(l, nlen, "x-fake-behavior") && h->num_behavior < FAKE_HTTP_MAX_BEHAVIOR) {
        h->behavior[h->num_behavior].off = off + vs;
        h->behavior[h->num_behavior].len = vlen;
        h->num_behavior++;
    } else if (span_is(l, nlen, "x-fake-tool-call") && !h->has_tool_call) {
        h->has_tool_call = true;
        h->tool_call.off = off + vs;
        h->tool_call.len = vlen;
    } else if (span_is(l, nlen, "x-fake-now-ms") && !h->has_now) {
        h->has_now = true;
        h->now.off = off + vs;
        h->now.len = vlen;
    }
    return FAKE_HTTP_OK;
}

/* Finds the end of the head; returns its length or 0 while incomplete. */
static size_t find_head_end(const char *buf, size_t len, size_t *scan_pos)
{
    size_t pos = *scan_pos;
    while (pos < len) {
        const char *nl = memchr(buf + pos, '\n', len - pos);
        if (nl == NULL) {
            break;
        }
        size_t end = (size_t)(nl - buf);
        bool empty = end == pos || (end == pos + 1 && buf[pos] == '\r');
        pos = end + 1;
        if (empty && end != 0) {
            *scan_pos = pos;
            return pos;
        }
    }
    *scan_pos = pos;
    return 0;
}

int fake_http_parse_head(const char *buf, size_t len, size_t *scan_pos, size_t max_head,
                         struct fake_head *out)
{
    size_t head_len = find_head_end(buf, len, scan_pos);
    if (head_len == 0) {
        return len > max_head ? FAKE_HTTP_TOOBIG : FAKE_HTTP_AGAIN;
    }
    if (head_len > max_head) {
        return FAKE_HTTP_TOOBIG;
    }
    struct fake_head h;
    memset(&h, 0, sizeof(h));
    h.content_length = -1;
    h.head_len = head_len;
    int minor = 1;
    int conn_flags = 0;
    size_t pos = 0;
    bool first = true;
    for (;;) {
        const char *nl = memchr(buf + pos, '\n', head_len - pos);
        size_t end = (size_t)(nl - buf);
        size_t n = end - pos;
        if (n > 0 && buf[end - 1] == '\r') {
            n--;
        }
        if (n == 0) {
            break;
        }
        int r = first ? parse_request_line(buf + pos, n, &h, &minor)
                      : parse_field(buf, pos, n, &h, &conn_flags);
        if (r != FAKE_HTTP_OK) {
            return r;
        }
        first = false;
        pos = end + 1;
    }
    if (first) {
        return FAKE_HTTP_BAD;
    }
    if (h.chunked) {
        h.content_length = -1;
    }
    h.keep_alive = minor == 1 ? (conn_flags & 1) == 0 : (conn_flags & 2) != 0;
    *out = h;
    return FAKE_HTTP_OK;
}

enum { CH_SIZE, CH_DATA, CH_DATA_END, CH_TRAILER, CH_DONE };

void fake_http_chunked_init(struct fake_chunked *c, size_t start)
{
    c->state = CH_SIZE;
    c->pos = start;
    c->remaining = 0;
}

/* The next complete line at c->pos: its length without the line end, and
 * the offset after it. AGAIN while incomplete, TOOBIG past the line cap. */
static int next_line(const struct fake_chunked *c, const char *buf, size_t len, size_t *n,
                     size_t *after)
{
    const char *nl = memchr(buf + c->pos, '\n', len - c->pos);
    if (nl == NULL) {
        return len - c->pos > LINE_MAX_BYTES ? FAKE_HTTP_TOOBIG : FAKE_HTTP_AGAIN;
    }
    size_t end = (size_t)(nl - buf);
    if (end - c->pos > LINE_MAX_BYTES) {
        return FAKE_HTTP_TOOBIG;
    }
    *n = end - c->pos;
    if (*n > 0 && buf[end - 1] == '\r') {
        (*n)--;
    }
    *after = end + 1;
    return FAKE_HTTP_OK;
}

static int parse_chunk_size(const char *l, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    size_t i = 0;
    for (; i < n; i++) {
        char ch = l[i];
        int d = ch >= '0' && ch <= '9'   ? ch - '0'
                : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                         : -1;
        if (d < 0) {
            break;
        }
        if (i >= 15) {
            return FAKE_HTTP_BAD;
        }
        v = v * 16 + (uint64_t)d;
    }
    if (i == 0 || (i < n && l[i] != ';' && !is_blank(l[i]))) {
        return FAKE_HTTP_BAD;
    }
    *out = v;
    return FAKE_HTTP_OK;
}

static int chunked_step(struct fake_chunked *c, const char *buf, size_t len, struct fake_buf *body,
                        size_t cap)
{
    size_t n = 0;
    size_t after = 0;
    int r;
    switch (c->state) {
    case CH_SIZE:
        r = next_line(c, buf, len, &n, &after);
        if (r == FAKE_HTTP_OK) {
            r = parse_chunk_size(buf + c->pos, n, &c->remaining);
        }
        if (r != FAKE_HTTP_OK) {
            return r;
        }
        c->pos = after;
        c->state = c->remaining == 0 ? CH_TRAILER : CH_DATA;
        return FAKE_HTTP_OK;
    case CH_DATA: {
        size_t avail = len - c->pos;
        size_t take = c->remaining < avail ? (size_t)c->remaining : avail;
        if (take == 0) {
            return FAKE_HTTP_AGAIN;
        }
        if (body->len + take > cap) {
            return FAKE_HTTP_TOOBIG;
        }
        fake_buf_put(body, buf + c->pos, take);
        if (body->oom) {
            return FAKE_HTTP_TOOBIG;
        }
        c->pos += take;
        c->remaining -= take;
        c->state = c->remaining == 0 ? CH_DATA_END : CH_DATA;
        return FAKE_HTTP_OK;
    }
    case CH_DATA_END:
        r = next_line(c, buf, len, &n, &after);
        if (r != FAKE_HTTP_OK) {
            return r;
        }
        if (n != 0) {
            return FAKE_HTTP_BAD;
        }
        c->pos = after;
        c->state = CH_SIZE;
        return FAKE_HTTP_OK;
    default:
        r = next_line(c, buf, len, &n, &after);
        if (r != FAKE_HTTP_OK) {
            return r;
        }
        c->pos = after;
        c->state = n == 0 ? CH_DONE : CH_TRAILER;
        return FAKE_HTTP_OK;
    }
}

int fake_http_chunked_feed(struct fake_chunked *c, const char *buf, size_t len,
                           struct fake_buf *body, size_t cap)
{
    while (c->state != CH_DONE) {
        int r = chunked_step(c, buf, len, body, cap);
        if (r != FAKE_HTTP_OK) {
            return r;
        }
    }
    return FAKE_HTTP_OK;
}

static size_t skip_ws(const char *b, size_t n, size_t i)
{
    while (i < n && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n')) {
        i++;
    }
    return i;
}

/* i at an opening quote; returns the offset after the closing one, or n + 1.
 * Message contents are most of a request body (a memory block's "\n"
 * escapes included): memchr from quote to quote, and a quote closes the
 * string when an even number of backslashes stands right before it. */
static size_t skip_string(const char *b, size_t n, size_t i)
{
    size_t start = i + 1;
    for (i = start; i < n;) {
        const char *q = memchr(b + i, '"', n - i);
        if (q == NULL) {
            return n + 1;
        }
        size_t at = (size_t)(q - b);
        size_t k = at;
        while (k > start && b[k - 1] == '\\') {
            k--;
        }
        if ((at - k) % 2 == 0) {
            return at + 1;
        }
        i = at + 1;
    }
    return n + 1;
}

/* Returns the offset after the value starting at i, or n + 1 if it is cut. */
static size_t skip_value(const char *b, size_t n, size_t i)
{
    if (i < n && b[i] == '"') {
        return skip_string(b, n, i);
    }
    if (i < n && (b[i] == '{' || b[i] == '[')) {
        size_t depth = 0;
        for (; i < n; i++) {
            if (b[i] == '"') {
                i = skip_string(b, n, i) - 1;
            } else if (b[i] == '{' || b[i] == '[') {
                depth++;
            } else if ((b[i] == '}' || b[i] == ']') && --depth == 0) {
                return i + 1;
            }
        }
        return n + 1;
    }
    while (i < n && b[i] != ',' && b[i] != '}' && b[i] != ']' && b[i] != ' ' && b[i] != '\t' &&
           b[i] != '\r' && b[i] != '\n') {
        i++;
    }
    return i;
}

/* The member of the object b[0..n) starting at *i (just after '{' or a
 * ','): its key and value spans; *i moves past it and its comma. Returns
 * 1, 0 at the object's end, or -1 when cut or malformed. */
static int next_member(const char *b, size_t n, size_t *i, struct fake_span *key,
                       struct fake_span *val)
{
    size_t p = skip_ws(b, n, *i);
    if (p < n && b[p] == '}') {
        return 0;
    }
    if (p >= n || b[p] != '"') {
        return -1;
    }
    key->off = p + 1;
    p = skip_string(b, n, p);
    if (p > n) {
        return -1;
    }
    key->len = p - 1 - key->off;
    p = skip_ws(b, n, p);
    if (p >= n || b[p] != ':') {
        return -1;
    }
    val->off = skip_ws(b, n, p + 1);
    if (val->off >= n) {
        return -1;
    }
    p = skip_value(b, n, val->off);
    if (p > n) {
        return -1;
    }
    val->len = p - val->off;
    p = skip_ws(b, n, p);
    if (p < n && b[p] == ',') {
        *i = p + 1;
        return 1;
    }
    *i = p; /* the next call sees the closing brace, or fails */
    return 1;
}

static bool key_is(const char *b, struct fake_span k, const char *name, size_t len)
{
    return k.len == len && memcmp(b + k.off, name, len) == 0;
}

/* The first element of the array value v, if any. */
static bool first_element(const char *b, struct fake_span v, struct fake_span *out)
{
    if (v.len < 2 || b[v.off] != '[') {
        return false;
    }
    size_t end = v.off + v.len;
    size_t s = skip_ws(b, end, v.off + 1);
    if (s >= end || b[s] == ']') {
        return false;
    }
    size_t e = skip_value(b, end, s);
    if (e > end) {
        return false;
    }
    out->off = s;
    out->len = e - s;
    return true;
}

void fake_http_scan_body(const char *b, size_t n, struct fake_body_info *out)
{
    memset(out, 0, sizeof(*out));
    size_t i = skip_ws(b, n, 0);
    if (i >= n || b[i] != '{') {
        return;
    }
    i++;
    struct fake_span k;
    struct fake_span v;
    while (next_member(b, n, &i, &k, &v) == 1) {
        if (key_is(b, k, "stream", 6)) {
            out->stream = v.len == 4 && memcmp(b + v.off, "true", 4) == 0;
        } else if (key_is(b, k, "background", 10)) {
            out->background = v.len == 4 && memcmp(b + v.off, "true", 4) == 0;
        } else if (key_is(b, k, "system", 6)) {
            out->has_system = true;
            out->system = v;
        } else if (key_is(b, k, "model", 5)) {
            out->has_model = v.len >= 2 && b[v.off] == '"';
            out->model.off = v.off + 1;
            out->model.len = out->has_model ? v.len - 2 : 0;
        } else if (key_is(b, k, "response_format", 15)) {
            out->response_format = !(v.len == 4 && memcmp(b + v.off, "null", 4) == 0);
        } else if (key_is(b, k, "messages", 8)) {
            out->has_first_message = first_element(b, v, &out->first_message);
        }
    }
}

bool fake_json_member(const char *b, size_t n, const char *name, struct fake_span *value)
{
    size_t i = skip_ws(b, n, 0);
    if (i >= n || b[i] != '{') {
        return false;
    }
    i++;
    size_t len = strlen(name);
    struct fake_span k;
    struct fake_span v;
    while (next_member(b, n, &i, &k, &v) == 1) {
        if (key_is(b, k, name, len)) {
            *value = v;
            return true;
        }
    }
    return false;
}
