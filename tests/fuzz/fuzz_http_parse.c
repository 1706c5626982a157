/* libFuzzer target for core/http/http_parse.c: the head parser and the chunked
 * decoder on arbitrary bytes. Besides the sanitizers it checks invariants:
 * results stay inside the input, a complete head's prefixes are incomplete,
 * and the chunked decoder gives the same answer however the input is cut.
 * The values of each header (mp_http_values, as a list and not) stay inside
 * the head, and mp_http_find_single agrees with them.
 * Input: two parameter bytes (limits and a split point), then the payload. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_parse.h"
#include "status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void require(bool ok)
{
    if (!ok)
        abort();
}

static bool inside(const char *p, size_t n, const char *buf, size_t len)
{
    return p >= buf && n <= len && (size_t)(p - buf) <= len - n;
}

/* The values of f's header: inside the head; one at least per line; the
 * single value, when the lines agree, is the first line's. */
static void check_values(const char *buf, size_t hl, const struct mp_http_request_head *h,
                         const struct mp_http_header *f)
{
    struct mp_http_values it;
    const char *v, *first = NULL, *one = NULL;
    size_t n, first_len = 0, one_len = 0, count[2] = {0, 0};
    for (int list = 0; list < 2; list++) {
        mp_http_values_init(&it, h, f->name, f->name_len, list == 1);
        while (mp_http_values_next(&it, &v, &n)) {
            require(inside(v, n, buf, hl));
            if (count[list]++ == 0 && list == 0) {
                first = v;
                first_len = n;
            }
        }
    }
    require(count[0] > 0 && count[1] >= count[0]);
    int rc = mp_http_find_single(h, f->name, f->name_len, &one, &one_len);
    require(rc == MP_OK || rc == MP_EINVAL);
    require(rc != MP_OK || (one_len == first_len && memcmp(one, first, one_len) == 0));
}

static void check_head(const char *buf, size_t len, const struct mp_http_request_head *h)
{
    size_t hl = h->head_len;
    require(hl <= len && hl >= 4);
    require(inside(h->method, h->method_len, buf, hl) && h->method_len > 0);
    require(inside(h->target, h->target_len, buf, hl) && h->target[0] == '/');
    require(h->minor_version == 0 || h->minor_version == 1);
    require(h->num_headers <= MP_HTTP_MAX_HEADERS);
    require(!(h->chunked && h->content_length >= 0));
    require(h->content_length >= -1);
    require(!(h->chunked && h->minor_version == 0));
    for (size_t i = 0; i < h->num_headers; i++) {
        const struct mp_http_header *f = &h->headers[i];
        require(inside(f->name, f->name_len, buf, hl) && f->name_len > 0);
        require(inside(f->value, f->value_len, buf, hl));
        const struct mp_http_header *g = mp_http_find_header(h, f->name, f->name_len);
        require(g != NULL && g <= f && g->name_len == f->name_len);
        (void)mp_http_is_hop_by_hop(f->name, f->name_len);
        (void)mp_http_connection_lists(f->value, f->value_len, "close", 5);
        check_values(buf, hl, h, f);
    }
}

static void fuzz_head(const char *buf, size_t len, size_t max_head)
{
    struct mp_http_request_head h, h2;
    int rc = mp_http_parse_request_head(buf, len, max_head, &h);
    require(rc == MP_OK || rc == MP_AGAIN || rc == MP_ETOOBIG || rc == MP_EINVAL);
    if (rc == MP_AGAIN)
        require(len <= max_head);
    if (rc != MP_OK)
        return;
    require(h.head_len <= max_head);
    check_head(buf, len, &h);
    /* Exactly the head, at a limit of exactly its size: the same result. */
    rc = mp_http_parse_request_head(buf, h.head_len, h.head_len, &h2);
    require(rc == MP_OK && h2.head_len == h.head_len && h2.num_headers == h.num_headers);
    require(h2.content_length == h.content_length && h2.keep_alive == h.keep_alive);
    /* One byte short of a valid head is incomplete, never an error. */
    rc = mp_http_parse_request_head(buf, h.head_len - 1, max_head, &h2);
    require(rc == MP_AGAIN);
}

struct chunk_result {
    int rc;
    size_t consumed;
    size_t produced;
};

/* Decodes in[0..len) in pieces of at most step bytes (0: one call). */
static struct chunk_result decode(const char *in, size_t len, size_t step, char *out, size_t cap)
{
    struct mp_http_chunked c;
    struct chunk_result r = {MP_AGAIN, 0, 0};
    mp_http_chunked_init(&c);
    while (r.rc == MP_AGAIN && r.consumed < len) {
        size_t n = len - r.consumed, used = 0, made = 0;
        if (step > 0 && n > step)
            n = step;
        r.rc = mp_http_chunked_decode(&c, in + r.consumed, n, &used, out + r.produced,
                                      cap - r.produced, &made);
        require(used <= n && made <= cap - r.produced);
        require(r.rc != MP_AGAIN || used == n);
        r.consumed += used;
        r.produced += made;
        require(r.produced <= r.consumed);
    }
    return r;
}

static void fuzz_chunked(const char *in, size_t len, size_t cap, size_t split)
{
    char *a = malloc(cap + 1), *b = malloc(cap + 1);
    require(a != NULL && b != NULL);
    struct chunk_result whole = decode(in, len, 0, a, cap);
    struct chunk_result cut = decode(in, len, split, b, cap);
    require(whole.rc == cut.rc && whole.consumed == cut.consumed);
    require(whole.produced == cut.produced && memcmp(a, b, whole.produced) == 0);
    if (len <= 512) {
        cut = decode(in, len, 1, b, cap);
        require(whole.rc == cut.rc && whole.consumed == cut.consumed);
        require(whole.produced == cut.produced && memcmp(a, b, whole.produced) == 0);
    }
    free(a);
    free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    const char *in = (const char *)data + 2;
    size_t len = size - 2;
    /* Even first byte: a roomy limit; odd: a tight one that the fuzzer
     * can push heads against. */
    size_t max_head = data[0] % 2 == 0 ? 65536 : (size_t)data[0] * 2;
    size_t cap = data[0] % 2 == 0 ? len : (size_t)data[0] / 4;
    size_t split = 1 + (size_t)data[1] * len / 256;
    fuzz_head(in, len, max_head);
    fuzz_chunked(in, len, cap, split);
    return 0;
}
