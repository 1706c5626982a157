/* HTTP/1.1 response head parser and body decoder over plain bytes. It never
 * allocates or copies: the head points into the caller's buffer, the body
 * decoder hands out runs of it. It does not read sockets or decide what a
 * response means.
 *
 * The head parser keeps no state between calls, as the request parser: the
 * caller's buffer may move between them, and a head is a few hundred
 * bytes. An incomplete head costs a check of its first bytes (so
 * an upstream that speaks anything but HTTP/1.x fails at once) and a
 * memchr for the empty line; only a complete head is validated, in one
 * pass that also gathers what the fields say about framing (http_lex.c).
 *
 * Where a response ends is decided once, here, by RFC 9112 6.3, and the
 * decoder follows it: a proxy that read a body's end differently from the
 * upstream would hand the rest of it to the next request as its response.
 * So the doubtful cases either refuse the response or close the connection
 * after it (http_resp.h lists them).
 *
 * The body decoder keeps the few numbers it needs between feeds: bytes
 * left for Content-Length, the chunked framing's state machine (shared
 * with the request side) for chunked. Body bytes are never copied: each
 * run of them inside the fed buffer goes to the callback. */
#include "http/http_resp.h"

#include <string.h>

#include "http/http_lex.h"
#include "status.h"

/* Over this a chunk size is refused: far past any real body, and it keeps
 * sums of sizes in a uint64_t. */
#define MAX_CHUNK_SIZE ((uint64_t)1 << 62)

/* The shortest head: "HTTP/1.1 200\r\n\r\n". */
#define MIN_HEAD 16

static bool is_digit(unsigned char ch)
{
    return ch >= '0' && ch <= '9';
}

/* The first bytes as far as they arrived: a response starts "HTTP/1.". */
static int check_start(const unsigned char *p, size_t lim)
{
    static const char want[] = "HTTP/1.";
    for (size_t i = 0; i < lim && i < sizeof(want) - 1; i++) {
        if (p[i] != (unsigned char)want[i])
            return MP_EINVAL;
    }
    return MP_OK;
}

/* Parses "HTTP/1.x SP 3DIGIT [SP reason] CRLF" at the start of the head
 * p[0..end); *pos: the next line. Past the length check every byte read is
 * at or before the head's last LF: the checks stop at the first byte that
 * does not fit, and LF fits none. */
static int parse_status_line(const unsigned char *p, size_t end, size_t *pos,
                             struct mp_http_response_head *h)
{
    if (end < MIN_HEAD || memcmp(p, "HTTP/1.", 7) != 0)
        return MP_EINVAL;
    if ((p[7] != '0' && p[7] != '1') || p[8] != ' ')
        return MP_EINVAL;
    if (p[9] < '1' || p[9] > '9' || !is_digit(p[10]) || !is_digit(p[11]))
        return MP_EINVAL;
    h->minor_version = p[7] - '0';
    h->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
    size_t i = 12, r = 12;
    if (p[i] == ' ') {
        r = ++i;
        while (mp_http_lex_ctype[p[i]] & MP_HTTP_FIELD)
            i++;
    }
    h->reason = (const char *)p + r;
    h->reason_len = i - r;
    *pos = mp_http_lex_line_end(p, i);
    return *pos == 0 ? MP_EINVAL : MP_OK;
}

static bool no_body(const struct mp_http_response_head *h, bool head_request)
{
    return head_request || h->status < 200 || h->status == 204 || h->status == 304;
}

/* RFC 9112 6.3 in its order: item 1 (no body), 3 (both fields: chunked,
 * and never reused), 4 (chunked; the fields' parser refused any other
 * coding), 5 and 6 (Content-Length; it refused an invalid one), 8 (until
 * close). Item 2 is about CONNECT, never sent; 7 about requests. */
static void decide_framing(struct mp_http_response_head *h, const struct mp_http_lex_facts *k,
                           bool head_request)
{
    bool keep = mp_http_lex_keep_alive(h->minor_version, k);
    if (k->chunked && k->has_length)
        keep = false; /* item 3: smuggling or splitting; never reuse */
    if (h->status == 101)
        keep = false; /* the connection now speaks another protocol */
    h->content_length = 0;
    if (no_body(h, head_request)) {
        h->framing = MP_HTTP_BODY_NONE;
    } else if (k->chunked) {
        h->framing = MP_HTTP_BODY_CHUNKED;
    } else if (k->has_length) {
        h->framing = MP_HTTP_BODY_LENGTH;
        h->content_length = k->content_length;
    } else {
        h->framing = MP_HTTP_BODY_CLOSE;
        keep = false;
    }
    h->keep_alive = keep;
}

int mp_http_response_parse(const char *buf, size_t len, bool head_request, size_t max_head,
                           struct mp_http_response_head *out)
{
    const unsigned char *p = (const unsigned char *)buf;
    size_t lim = len < max_head ? len : max_head;
    size_t end = 0, pos = 0, num = 0;
    struct mp_http_response_head h;
    struct mp_http_lex_facts k;

    int rc = check_start(p, lim);
    if (rc == MP_OK)
        rc = mp_http_lex_head_end(p, 0, lim, &end);
    if (rc == MP_AGAIN && len > max_head)
        return MP_ETOOBIG;
    if (rc != MP_OK)
        return rc;
    if (parse_status_line(p, end, &pos, &h) != MP_OK)
        return MP_EINVAL;
    /* Fields go to h.headers; only the used part is copied to out. */
    rc = mp_http_lex_fields(p, pos, end, h.headers, &num, &k);
    if (rc != MP_OK)
        return rc;
    if (k.chunked && h.minor_version == 0)
        return MP_EINVAL; /* RFC 9112 6.1: faulty framing */
    decide_framing(&h, &k, head_request);

    out->minor_version = h.minor_version;
    out->status = h.status;
    out->reason = h.reason;
    out->reason_len = h.reason_len;
    memcpy(out->headers, h.headers, num * sizeof(h.headers[0]));
    out->num_headers = num;
    out->head_len = end;
    out->framing = h.framing;
    out->content_length = h.content_length;
    out->keep_alive = h.keep_alive;
    return MP_OK;
}

const struct mp_http_header *mp_http_response_find(const struct mp_http_response_head *h,
                                                   const char *name)
{
    return mp_http_lex_find(h->headers, h->num_headers, name, strlen(name));
}

/* ---- body ---- */

void mp_http_body_init(struct mp_http_body *b, const struct mp_http_response_head *h)
{
    b->framing = h->framing;
    b->remaining = h->framing == MP_HTTP_BODY_LENGTH ? h->content_length : 0;
    b->status = MP_AGAIN;
    if (h->framing == MP_HTTP_BODY_NONE || (h->framing == MP_HTTP_BODY_LENGTH && b->remaining == 0))
        b->status = MP_OK;
    mp_http_lex_chunk_init(&b->chunked);
}

static int feed_length(struct mp_http_body *b, const char *in, size_t n, size_t *used,
                       mp_http_body_fn fn, void *arg)
{
    size_t k = n < b->remaining ? n : (size_t)b->remaining;
    b->remaining -= k;
    *used = k;
    if (k > 0) {
        int rc = fn(arg, in, k);
        if (rc != MP_OK)
            return rc;
    }
    return b->remaining == 0 ? MP_OK : MP_AGAIN;
}

/* One fn call a run of chunk data inside in. */
static int feed_chunked(struct mp_http_body *b, const char *in, size_t n, size_t *used,
                        mp_http_body_fn fn, void *arg)
{
    size_t i = 0;
    int rc;
    for (;;) {
        rc = mp_http_lex_chunk_frame(&b->chunked, in, n, &i, MAX_CHUNK_SIZE);
        size_t k = rc == MP_AGAIN ? mp_http_lex_chunk_take(&b->chunked, n - i) : 0;
        if (k == 0)
            break;
        i += k;
        rc = fn(arg, in + i - k, k);
        if (rc != MP_OK)
            break;
    }
    *used = i;
    return rc == MP_ETOOBIG ? MP_EINVAL : rc; /* a chunk over MAX_CHUNK_SIZE */
}

int mp_http_body_feed(struct mp_http_body *b, const char *in, size_t n, size_t *used,
                      mp_http_body_fn fn, void *arg)
{
    int rc;
    if (b->status != MP_AGAIN) {
        *used = 0;
        return b->status;
    }
    switch (b->framing) {
    case MP_HTTP_BODY_LENGTH:
        rc = feed_length(b, in, n, used, fn, arg);
        break;
    case MP_HTTP_BODY_CHUNKED:
        rc = feed_chunked(b, in, n, used, fn, arg);
        break;
    default: /* MP_HTTP_BODY_CLOSE; NONE never runs */
        *used = n;
        rc = n > 0 ? fn(arg, in, n) : MP_OK;
        if (rc == MP_OK)
            rc = MP_AGAIN;
        break;
    }
    if (rc != MP_AGAIN)
        b->status = rc;
    return rc;
}

int mp_http_body_eof(const struct mp_http_body *b)
{
    if (b->status == MP_OK || (b->status == MP_AGAIN && b->framing == MP_HTTP_BODY_CLOSE))
        return MP_OK;
    return MP_EIO;
}

bool mp_http_body_done(const struct mp_http_body *b)
{
    return b->status == MP_OK;
}
