/* Embeddings request bodies. The buffer is sized once for the worst case
 * (every byte escaped to six) and filled in one pass: no growing buffer,
 * and a body can never be cut short. */
#include "embed/embed_request.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/json_write.h"
#include "status.h"

/* The worst-case escaped size of a string body: six bytes per byte. */
#define ESC_MAX(n) ((n)*6)

/* Fixed bytes around the members: names, quotes, commas, the closing
 * brace, "dimensions" with ten digits, and the terminating NUL. */
#define FIXED_MAX 128

static size_t len0(const char *s)
{
    return s == NULL ? 0 : strlen(s);
}

/* The writing position; a write that does not fit is a bug in the sizing,
 * caught as MP_ETOOBIG rather than an overrun. */
struct wpos {
    char *buf;
    size_t len;
    size_t cap;
    int err;
};

static void put(struct wpos *w, const char *s, size_t n)
{
    if (w->err != MP_OK || n > w->cap - w->len) {
        w->err = MP_ETOOBIG;
        return;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
}

static void put_esc(struct wpos *w, const char *s, size_t n)
{
    if (w->err != MP_OK || n == 0)
        return;
    size_t done = mp_json_escape(w->buf + w->len, w->cap - w->len, s, n);
    if (done == (size_t)-1) {
        w->err = MP_ETOOBIG;
        return;
    }
    w->len += done;
}

/* "name":"value" with value escaped, after a comma. */
static void put_member(struct wpos *w, const char *name, const char *value)
{
    put(w, ",\"", 2);
    put_esc(w, name, strlen(name));
    put(w, "\":\"", 3);
    put_esc(w, value, strlen(value));
    put(w, "\"", 1);
}

/* The worst-case size of the whole body, or 0 when it overflows. */
static size_t body_max(const struct mp_embed_server *srv, const char *prefix,
                       const char *type_value, const size_t *lens, size_t n)
{
    size_t plen = len0(prefix);
    size_t total;

    if (plen > SIZE_MAX / 32)
        return 0;
    total = FIXED_MAX + ESC_MAX(strlen(srv->model)) + ESC_MAX(len0(srv->type_field)) +
            ESC_MAX(len0(type_value));

    for (size_t i = 0; i < n; i++) {
        if (lens[i] > SIZE_MAX / 32 || total > SIZE_MAX / 4)
            return 0;
        total += ESC_MAX(plen + lens[i]) + 3;
    }
    return total;
}

static int check_args(const struct mp_embed_server *srv, const char *prefix, const size_t *lens,
                      size_t n)
{
    if (n == 0 || n > MP_EMBED_BATCH_MAX || srv->model == NULL || srv->model[0] == '\0' ||
        srv->dimensions > MP_EMBED_DIMS_MAX)
        return MP_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (lens[i] == 0 && len0(prefix) == 0)
            return MP_EINVAL;
    return MP_OK;
}

int mp_embed_request_build(const struct mp_embed_server *srv, enum mp_embed_kind kind,
                           const char *const *texts, const size_t *lens, size_t n, char **out,
                           size_t *out_len)
{
    bool query = kind == MP_EMBED_QUERY;
    const char *prefix = query ? srv->query_prefix : srv->document_prefix;
    const char *tvalue = query ? srv->query_type : srv->document_type;
    bool typed = srv->type_field != NULL && srv->type_field[0] != '\0';
    struct wpos w = {0};
    int rc = check_args(srv, prefix, lens, n);

    if (rc != MP_OK)
        return rc;
    if (tvalue == NULL)
        tvalue = query ? "query" : "passage";
    w.cap = body_max(srv, prefix, typed ? tvalue : NULL, lens, n);
    if (w.cap == 0)
        return MP_ENOMEM;
    w.buf = malloc(w.cap);
    if (w.buf == NULL)
        return MP_ENOMEM;
    w.cap--; /* room for the NUL */
    put(&w, "{\"model\":\"", 10);
    put_esc(&w, srv->model, strlen(srv->model));
    put(&w, "\",\"input\":[", 11);
    for (size_t i = 0; i < n; i++) {
        put(&w, i == 0 ? "\"" : ",\"", i == 0 ? 1 : 2);
        put_esc(&w, prefix, len0(prefix));
        put_esc(&w, texts[i], lens[i]);
        put(&w, "\"", 1);
    }
    put(&w, "]", 1);
    if (srv->dimensions != 0) {
        char num[32];
        int k = snprintf(num, sizeof(num), ",\"dimensions\":%u", srv->dimensions);
        put(&w, num, (size_t)k);
    }
    if (typed)
        put_member(&w, srv->type_field, tvalue);
    put(&w, ",\"encoding_format\":\"float\"}", 27);
    if (w.err != MP_OK) {
        free(w.buf);
        return w.err;
    }
    w.buf[w.len] = '\0';
    *out = w.buf;
    *out_len = w.len;
    return MP_OK;
}
