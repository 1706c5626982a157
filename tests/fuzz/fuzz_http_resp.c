/* libFuzzer target for core/http/http_resp.c: the response head parser and the
 * body decoder on arbitrary bytes. Besides the sanitizers it checks
 * invariants: results stay inside the input, a complete head's prefixes
 * are incomplete, the framing follows the status, and the body decoder
 * gives the same body bytes, consumption and result however the input is
 * cut (each piece fed from an exact-size copy, so a read past it is
 * caught). Input: three parameter bytes (flags and limits, a split seed, a
 * failing callback run), then the payload: a response, or with flag bit 1
 * a bare body. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_resp.h"
#include "status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_SPLITS 8

static void require(bool ok)
{
    if (!ok)
        abort();
}

static bool inside(const char *p, size_t n, const char *buf, size_t len)
{
    return p >= buf && n <= len && (size_t)(p - buf) <= len - n;
}

/* What the callback saw, and where the piece being fed lies. */
struct sink {
    char *data; /* the runs joined; capacity: the payload's length */
    size_t len;
    size_t cap;
    int runs;
    int fail_at; /* the run to fail with MP_EUPSTREAM; 0: never */
    const char *piece;
    size_t piece_len;
};

static int on_body(void *arg, const char *p, size_t n)
{
    struct sink *s = arg;
    require(n > 0 && inside(p, n, s->piece, s->piece_len));
    require(n <= s->cap - s->len); /* never more body than input */
    memcpy(s->data + s->len, p, n);
    s->len += n;
    s->runs++;
    return s->runs == s->fail_at ? MP_EUPSTREAM : MP_OK;
}

struct body_result {
    int rc;
    size_t used;
};

/* Feeds in[0..len) in pieces ending at cuts[0..ncuts) (ascending), each
 * from an exact-size heap copy, until the decoder stops taking input. */
static struct body_result decode(const struct mp_http_response_head *h, const char *in, size_t len,
                                 const size_t *cuts, size_t ncuts, struct sink *s)
{
    struct mp_http_body b;
    struct body_result r = {MP_AGAIN, 0};
    mp_http_body_init(&b, h);
    bool done_before = mp_http_body_done(&b);
    for (size_t k = 0; k <= ncuts && r.rc == MP_AGAIN; k++) {
        size_t end = k < ncuts ? cuts[k] : len;
        size_t n = end - r.used, used = n + 1;
        char *piece = malloc(n > 0 ? n : 1);
        require(piece != NULL);
        memcpy(piece, in + r.used, n);
        s->piece = piece;
        s->piece_len = n;
        r.rc = mp_http_body_feed(&b, piece, n, &used, on_body, s);
        free(piece);
        require(used <= n);
        require(r.rc != MP_AGAIN || used == n);
        r.used += used;
    }
    if (done_before)
        require(r.rc == MP_OK && r.used == 0 && s->runs == 0);
    require(mp_http_body_done(&b) == (r.rc == MP_OK));
    int eof = mp_http_body_eof(&b);
    if (r.rc == MP_OK || (r.rc == MP_AGAIN && h->framing == MP_HTTP_BODY_CLOSE))
        require(eof == MP_OK);
    else
        require(eof == MP_EIO);
    require(r.rc == MP_OK || r.rc == MP_AGAIN || r.rc == MP_EINVAL || r.rc == MP_EUPSTREAM);
    if (h->framing == MP_HTTP_BODY_LENGTH && r.rc == MP_AGAIN)
        require(s->len == len && len < h->content_length);
    if (h->framing == MP_HTTP_BODY_CLOSE && s->fail_at == 0)
        require(r.rc == MP_AGAIN && s->len == len);
    return r;
}

/* The same body fed whole, at seeded random cuts and byte by byte: the
 * same bytes, runs' contents and result. */
static void check_body(const struct mp_http_response_head *h, const char *in, size_t len,
                       unsigned seed, int fail_at)
{
    size_t cuts[MAX_SPLITS];
    size_t ncuts = 0;
    char *a = malloc(len + 1), *b = malloc(len + 1);
    require(a != NULL && b != NULL);
    struct sink whole = {.data = a, .cap = len, .fail_at = fail_at};
    struct body_result rw = decode(h, in, len, NULL, 0, &whole);
    for (size_t k = 0; k < MAX_SPLITS && len > 0; k++) {
        seed = seed * 1103515245u + 12345u;
        size_t c = (seed >> 8) % (len + 1);
        if (ncuts == 0 || c > cuts[ncuts - 1])
            cuts[ncuts++] = c;
    }
    struct sink cut = {.data = b, .cap = len};
    struct body_result rc = decode(h, in, len, cuts, ncuts, &cut);
    if (fail_at == 0) {
        require(rw.rc == rc.rc && rw.used == rc.used);
        require(whole.len == cut.len && memcmp(a, b, whole.len) == 0);
    }
    if (len <= 512 && fail_at == 0) {
        size_t every[512];
        for (size_t i = 0; i < len; i++)
            every[i] = i;
        struct sink one = {.data = b, .cap = len};
        struct body_result r1 = decode(h, in, len, every, len, &one);
        require(rw.rc == r1.rc && rw.used == r1.used);
        require(whole.len == one.len && memcmp(a, b, whole.len) == 0);
    }
    free(a);
    free(b);
}

static void check_head(const char *buf, size_t len, bool head_request,
                       const struct mp_http_response_head *h)
{
    size_t hl = h->head_len;
    require(hl >= 16 && hl <= len);
    require(memcmp(buf, "HTTP/1.", 7) == 0 && memcmp(buf + hl - 4, "\r\n\r\n", 4) == 0);
    require(h->minor_version == 0 || h->minor_version == 1);
    require(h->status >= 100 && h->status <= 999);
    require(inside(h->reason, h->reason_len, buf, hl));
    require(h->num_headers <= MP_HTTP_MAX_HEADERS);
    for (size_t i = 0; i < h->num_headers; i++) {
        const struct mp_http_header *f = &h->headers[i];
        require(inside(f->name, f->name_len, buf, hl) && f->name_len > 0);
        require(inside(f->value, f->value_len, buf, hl));
    }
    bool none = head_request || h->status < 200 || h->status == 204 || h->status == 304;
    require(none == (h->framing == MP_HTTP_BODY_NONE));
    require(h->framing == MP_HTTP_BODY_LENGTH || h->content_length == 0);
    require(h->content_length <= (uint64_t)INT64_MAX);
    if (h->framing == MP_HTTP_BODY_CLOSE || h->status == 101)
        require(!h->keep_alive);
    if (h->framing == MP_HTTP_BODY_LENGTH)
        require(mp_http_response_find(h, "content-length") != NULL);
    if (h->framing == MP_HTTP_BODY_CHUNKED)
        require(mp_http_response_find(h, "Transfer-Encoding") != NULL);
}

/* Parses a head at buf[0..len); on MP_OK checks it and returns its length
 * (0 otherwise). */
static size_t fuzz_head(const char *buf, size_t len, bool head_request, size_t max_head,
                        struct mp_http_response_head *h)
{
    static struct mp_http_response_head h2;
    int rc = mp_http_response_parse(buf, len, head_request, max_head, h);
    require(rc == MP_OK || rc == MP_AGAIN || rc == MP_ETOOBIG || rc == MP_EINVAL);
    if (rc == MP_AGAIN)
        require(len <= max_head);
    if (rc != MP_OK)
        return 0;
    require(h->head_len <= max_head);
    check_head(buf, len, head_request, h);
    /* Exactly the head, at a limit of exactly its size: the same result. */
    rc = mp_http_response_parse(buf, h->head_len, head_request, h->head_len, &h2);
    require(rc == MP_OK && h2.head_len == h->head_len && h2.num_headers == h->num_headers);
    require(h2.framing == h->framing && h2.content_length == h->content_length);
    require(h2.keep_alive == h->keep_alive && h2.status == h->status);
    /* One byte short of a valid head is incomplete, never an error. */
    rc = mp_http_response_parse(buf, h->head_len - 1, head_request, max_head, &h2);
    require(rc == MP_AGAIN);
    return h->head_len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct mp_http_response_head h;
    if (size < 3)
        return 0;
    const char *in = (const char *)data + 3;
    size_t len = size - 3;
    bool head_request = (data[0] & 1) != 0;
    unsigned seed = data[1];
    int fail_at = data[2] % 4;

    if (data[0] & 2) {
        /* A bare body under each framing: the chunked decoder sees
         * arbitrary bytes without a valid head before them. */
        static const enum mp_http_framing kinds[] = {MP_HTTP_BODY_CHUNKED, MP_HTTP_BODY_LENGTH,
                                                     MP_HTTP_BODY_CLOSE};
        memset(&h, 0, sizeof(h));
        h.framing = kinds[(data[0] >> 2) % 3];
        h.content_length = (uint64_t)data[1] * 3;
        check_body(&h, in, len, seed, fail_at);
        return 0;
    }
    /* Even bits 2..7: a roomy limit; else a tight one to push heads at. */
    size_t max_head = (data[0] & 4) == 0 ? 65536 : (size_t)(data[0] >> 3) * 16;
    size_t off = 0;
    /* Interim responses, then the final one and its body. */
    for (int i = 0; i < 4; i++) {
        size_t hl = fuzz_head(in + off, len - off, head_request, max_head, &h);
        if (hl == 0)
            return 0;
        off += hl;
        if (h.status >= 200 || h.status == 101)
            break;
    }
    check_body(&h, in + off, len - off, seed, fail_at);
    return 0;
}
