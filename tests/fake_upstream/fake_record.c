/* The request log of the fake upstream (see fake_record.h). A record keeps
 * the request's own bytes; method, path and header fields are re-read from
 * them when the log is rendered, which is rare next to recording. */
#include "fake_record.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SHRINK_OVER (1024 * 1024) /* a buffer above this is freed before reuse */

/* Starts a buffer afresh, giving back memory a big request left behind. */
static void buf_restart(struct fake_buf *b)
{
    if (b->cap > SHRINK_OVER) {
        fake_buf_free(b);
    }
    b->len = 0;
    b->oom = false;
}

struct fake_record *fake_records_add(struct fake_records *r, uint64_t n, const char *raw,
                                     size_t raw_len, size_t head_len, const char *body,
                                     size_t body_len, bool chunked)
{
    struct fake_record *e = &r->e[r->next];
    r->next = (r->next + 1) % FAKE_RECORD_MAX;
    r->count += r->count < FAKE_RECORD_MAX;
    buf_restart(&e->raw);
    buf_restart(&e->body);
    e->n = n;
    e->head_len = head_len;
    e->chunked = chunked;
    e->job = NULL;
    e->t_ms = 0;
    e->body_truncated = body_len > FAKE_RECORD_BODY_MAX;
    size_t keep =
        raw_len - head_len > FAKE_RECORD_BODY_MAX ? head_len + FAKE_RECORD_BODY_MAX : raw_len;
    e->complete = keep == raw_len;
    fake_buf_put(&e->raw, raw, keep);
    if (chunked) {
        fake_buf_put(&e->body, body, e->body_truncated ? FAKE_RECORD_BODY_MAX : body_len);
    }
    if (e->raw.oom || e->body.oom) {
        r->next = (r->next + FAKE_RECORD_MAX - 1) % FAKE_RECORD_MAX;
        r->count--;
        return NULL;
    }
    return e;
}

const struct fake_record *fake_records_newest(const struct fake_records *r)
{
    if (r->count == 0) {
        return NULL;
    }
    return &r->e[(r->next + FAKE_RECORD_MAX - 1) % FAKE_RECORD_MAX];
}

void fake_records_clear(struct fake_records *r)
{
    r->next = 0;
    r->count = 0;
}

void fake_records_free(struct fake_records *r)
{
    for (size_t i = 0; i < FAKE_RECORD_MAX; i++) {
        fake_buf_free(&r->e[i].raw);
        fake_buf_free(&r->e[i].body);
    }
    fake_records_clear(r);
}

/* A header field of a recorded head. */
struct field {
    struct fake_span name;
    struct fake_span value;
};

/* Splits head[0..len) into its request line and at most max fields. */
static size_t split_head(const char *h, size_t len, struct fake_span *line, struct field *f,
                         size_t max)
{
    size_t nf = 0;
    size_t pos = 0;
    bool first = true;
    while (pos < len) {
        const char *nl = memchr(h + pos, '\n', len - pos);
        size_t end = nl != NULL ? (size_t)(nl - h) : len;
        size_t n = end - pos;
        n -= n > 0 && h[end - 1] == '\r';
        const char *colon = memchr(h + pos, ':', n);
        if (first) {
            line->off = pos;
            line->len = n;
        } else if (n > 0 && colon != NULL && nf < max) {
            size_t vs = (size_t)(colon - h) + 1;
            size_t ve = pos + n;
            while (vs < ve && (h[vs] == ' ' || h[vs] == '\t')) {
                vs++;
            }
            while (ve > vs && (h[ve - 1] == ' ' || h[ve - 1] == '\t')) {
                ve--;
            }
            f[nf].name = (struct fake_span){pos, (size_t)(colon - h) - pos};
            f[nf].value = (struct fake_span){vs, ve - vs};
            nf++;
        }
        first = false;
        pos = end + 1;
    }
    return nf;
}

static bool same_name(const char *h, const struct field *a, const struct field *b)
{
    return a->name.len == b->name.len &&
           strncasecmp(h + a->name.off, h + b->name.off, a->name.len) == 0;
}

/* "headers":{...}: names lower-cased, repeated fields joined. */
static void put_headers(const char *h, const struct field *f, size_t nf, struct fake_buf *out,
                        struct fake_buf *tmp)
{
    fake_buf_puts(out, "\"headers\":{");
    bool any = false;
    for (size_t i = 0; i < nf; i++) {
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++) {
            seen = same_name(h, &f[i], &f[j]);
        }
        if (seen) {
            continue;
        }
        tmp->len = 0;
        for (size_t k = 0; k < f[i].name.len; k++) {
            char c = h[f[i].name.off + k];
            c = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
            fake_buf_put(tmp, &c, 1);
        }
        fake_buf_puts(out, any ? "," : "");
        fake_buf_put_json_string(out, tmp->p, tmp->len);
        tmp->len = 0;
        for (size_t j = i; j < nf; j++) {
            if (same_name(h, &f[i], &f[j])) {
                fake_buf_puts(tmp, tmp->len > 0 ? ", " : "");
                fake_buf_put(tmp, h + f[j].value.off, f[j].value.len);
            }
        }
        fake_buf_puts(out, ":");
        fake_buf_put_json_string(out, tmp->p, tmp->len);
        any = true;
    }
    fake_buf_puts(out, "}");
}

static void put_record(const struct fake_record *e, struct field *f, struct fake_buf *out,
                       struct fake_buf *tmp)
{
    const char *h = e->raw.p;
    struct fake_span line = {0, 0};
    size_t nf = split_head(h, e->head_len, &line, f, FAKE_RECORD_HEADERS);
    const char *l = h + line.off;
    const char *sp1 = memchr(l, ' ', line.len);
    size_t mlen = sp1 != NULL ? (size_t)(sp1 - l) : line.len;
    size_t ts = sp1 != NULL ? mlen + 1 : line.len;
    const char *sp2 = memchr(l + ts, ' ', line.len - ts);
    size_t tlen = sp2 != NULL ? (size_t)(sp2 - (l + ts)) : line.len - ts;
    fake_buf_puts(out, "{\"n\":");
    fake_buf_put_u64(out, e->n);
    fake_buf_puts(out, ",\"t_ms\":");
    fake_buf_put_u64(out, e->t_ms);
    fake_buf_puts(out, ",\"method\":");
    fake_buf_put_json_string(out, l, mlen);
    fake_buf_puts(out, ",\"path\":");
    fake_buf_put_json_string(out, l + ts, tlen);
    fake_buf_puts(out, ",\"job\":");
    if (e->job != NULL) {
        fake_buf_put_json_string(out, e->job, strlen(e->job));
    } else {
        fake_buf_puts(out, "null");
    }
    fake_buf_puts(out, ",");
    put_headers(h, f, nf, out, tmp);
    fake_buf_puts(out, ",\"body\":");
    if (e->chunked) {
        fake_buf_put_json_string(out, e->body.p, e->body.len);
    } else {
        fake_buf_put_json_string(out, h + e->head_len, e->raw.len - e->head_len);
    }
    fake_buf_puts(out,
                  e->body_truncated ? ",\"body_truncated\":true}" : ",\"body_truncated\":false}");
}

int fake_records_json(const struct fake_records *r, struct fake_buf *out)
{
    struct field *f = malloc(FAKE_RECORD_HEADERS * sizeof(*f));
    struct fake_buf tmp = {0};
    if (f == NULL) {
        return -1;
    }
    fake_buf_puts(out, "[");
    size_t first = (r->next + FAKE_RECORD_MAX - r->count) % FAKE_RECORD_MAX;
    for (size_t i = 0; i < r->count; i++) {
        fake_buf_puts(out, i > 0 ? "," : "");
        put_record(&r->e[(first + i) % FAKE_RECORD_MAX], f, out, &tmp);
    }
    fake_buf_puts(out, "]");
    free(f);
    int rc = out->oom || tmp.oom ? -1 : 0;
    fake_buf_free(&tmp);
    return rc;
}
