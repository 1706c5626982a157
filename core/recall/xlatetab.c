/* Translation tables in bytes (see xlatetab.h): reading them where they
 * lie, and the build tool's writer. The writer sorts its keys, so the same
 * dictionary gives the same bytes on every build. */
#include "recall/xlatetab.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fnv1a.h"
#include "status.h"

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

int mp_xlatetab_open(struct mp_xlatetab *t, const void *bytes, size_t len)
{
    if (bytes == NULL || len < MP_XLATETAB_HEADER)
        return MP_EINVAL;
    return mp_xlatetab_open_head(t, bytes, bytes, len);
}

int mp_xlatetab_open_head(struct mp_xlatetab *t, const void *head, const void *bytes, size_t len)
{
    const unsigned char *p = head;
    if (p == NULL || bytes == NULL || len < MP_XLATETAB_HEADER || memcmp(p, "MPXL", 4) != 0 ||
        get32(p + 4) != MP_XLATETAB_VERSION)
        return MP_EINVAL;
    uint32_t nslots = get32(p + 16), size = get32(p + 20);
    if (size != len || nslots == 0 || (nslots & (nslots - 1)) != 0 ||
        (uint64_t)nslots * 4 > len - MP_XLATETAB_HEADER)
        return MP_EINVAL;
    t->p = bytes;
    t->size = len;
    t->src = p[8];
    t->dst = p[9];
    t->nkeys = get32(p + 12);
    t->nslots = nslots;
    return MP_OK;
}

/* The entry at off, checked to lie whole in the table: its key's bytes
 * and *n, *body the offset of its translations; false when it does not. */
static bool entry_at(const struct mp_xlatetab *t, uint32_t off, const unsigned char **key,
                     size_t *klen, uint32_t *body)
{
    if (off >= t->size || (size_t)off + 2 + t->p[off] > t->size)
        return false;
    *klen = t->p[off];
    *key = t->p + off + 1;
    *body = off + 1 + (uint32_t)*klen;
    return true;
}

static int walk(const struct mp_xlatetab *t, uint32_t body, mp_xlatetab_fn fn, void *arg)
{
    unsigned n = t->p[body];
    size_t at = (size_t)body + 1;
    for (unsigned k = 0; k < n; k++) {
        if (at >= t->size || at + 1 + t->p[at] > t->size)
            return MP_NOTFOUND; /* damaged: the table ends inside it */
        int rc = fn(arg, (const char *)t->p + at + 1, t->p[at], k);
        if (rc != MP_OK)
            return rc;
        at += 1 + (size_t)t->p[at];
    }
    return MP_OK;
}

int mp_xlatetab_find(const struct mp_xlatetab *t, const char *key, size_t klen, mp_xlatetab_fn fn,
                     void *arg)
{
    if (t == NULL || t->p == NULL || klen == 0 || klen > MP_XLATETAB_KEY_MAX)
        return MP_NOTFOUND;
    uint32_t mask = t->nslots - 1;
    uint32_t s = mp_fnv1a32(MP_FNV1A32_BASIS, key, klen) & mask;
    for (uint32_t probes = 0; probes < t->nslots; probes++, s = (s + 1) & mask) {
        uint32_t v = get32(t->p + MP_XLATETAB_HEADER + 4 * (size_t)s);
        const unsigned char *k;
        size_t kl;
        uint32_t body;
        if (v == 0)
            return MP_NOTFOUND;
        if (!entry_at(t, v - 1, &k, &kl, &body))
            return MP_NOTFOUND;
        if (kl == klen && memcmp(k, key, klen) == 0)
            return walk(t, body, fn, arg);
    }
    return MP_NOTFOUND;
}

/* ---- building ---- */

struct bentry {
    char *key;
    uint8_t klen, n;
    char *t[MP_XLATETAB_MAX_TRANS];
    uint8_t tlen[MP_XLATETAB_MAX_TRANS];
};

struct mp_xlatetab_builder {
    int src, dst;
    struct bentry *e;
    size_t n, cap;
    uint32_t *slot; /* index + 1 into e, open addressing */
    size_t nslot;
};

int mp_xlatetab_builder_new(int src, int dst, struct mp_xlatetab_builder **out)
{
    struct mp_xlatetab_builder *b = calloc(1, sizeof(*b));
    if (b == NULL)
        return MP_ENOMEM;
    b->src = src;
    b->dst = dst;
    *out = b;
    return MP_OK;
}

void mp_xlatetab_builder_free(struct mp_xlatetab_builder *b)
{
    if (b == NULL)
        return;
    for (size_t i = 0; i < b->n; i++) {
        free(b->e[i].key);
        for (unsigned k = 0; k < b->e[i].n; k++)
            free(b->e[i].t[k]);
    }
    free(b->e);
    free(b->slot);
    free(b);
}

/* The slot of key in the builder's own hash (empty: not there). */
static size_t slot_of(const struct mp_xlatetab_builder *b, const char *key, size_t klen)
{
    size_t mask = b->nslot - 1;
    size_t s = mp_fnv1a32(MP_FNV1A32_BASIS, key, klen) & mask;
    while (b->slot[s] != 0) {
        const struct bentry *e = &b->e[b->slot[s] - 1];
        if (e->klen == klen && memcmp(e->key, key, klen) == 0)
            break;
        s = (s + 1) & mask;
    }
    return s;
}

/* Room for one more entry: the array, and a hash at most half full. */
static int grow(struct mp_xlatetab_builder *b)
{
    if (b->n == b->cap) {
        size_t cap = b->cap > 0 ? 2 * b->cap : 256;
        struct bentry *e = realloc(b->e, cap * sizeof(*e));
        if (e == NULL)
            return MP_ENOMEM;
        b->e = e;
        b->cap = cap;
    }
    if (2 * (b->n + 1) <= b->nslot)
        return MP_OK;
    size_t nslot = b->nslot > 0 ? 2 * b->nslot : 512;
    uint32_t *old = b->slot;
    b->slot = calloc(nslot, sizeof(*b->slot));
    if (b->slot == NULL) {
        b->slot = old;
        return MP_ENOMEM;
    }
    b->nslot = nslot;
    for (size_t i = 0; i < b->n; i++)
        b->slot[slot_of(b, b->e[i].key, b->e[i].klen)] = (uint32_t)i + 1;
    free(old);
    return MP_OK;
}

static char *dup(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d != NULL) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static struct bentry *entry_for(struct mp_xlatetab_builder *b, const char *key, size_t klen)
{
    if (grow(b) != MP_OK)
        return NULL;
    size_t s = slot_of(b, key, klen);
    if (b->slot[s] != 0)
        return &b->e[b->slot[s] - 1];
    struct bentry *e = &b->e[b->n];
    memset(e, 0, sizeof(*e));
    e->key = dup(key, klen);
    if (e->key == NULL)
        return NULL;
    e->klen = (uint8_t)klen;
    b->slot[s] = (uint32_t)++b->n;
    return e;
}

int mp_xlatetab_builder_add(struct mp_xlatetab_builder *b, const char *key, size_t klen,
                            const char *term, size_t len)
{
    if (klen == 0 || len == 0 || klen > MP_XLATETAB_KEY_MAX || len > MP_XLATETAB_KEY_MAX)
        return MP_EINVAL;
    if (klen == len && memcmp(key, term, len) == 0)
        return MP_OK;
    struct bentry *e = entry_for(b, key, klen);
    if (e == NULL)
        return MP_ENOMEM;
    if (e->n >= MP_XLATETAB_MAX_TRANS)
        return MP_OK;
    for (unsigned k = 0; k < e->n; k++)
        if (e->tlen[k] == len && memcmp(e->t[k], term, len) == 0)
            return MP_OK;
    e->t[e->n] = dup(term, len);
    if (e->t[e->n] == NULL)
        return MP_ENOMEM;
    e->tlen[e->n++] = (uint8_t)len;
    return MP_OK;
}

static int by_key(const void *a, const void *b)
{
    const struct bentry *x = a, *y = b;
    int c = memcmp(x->key, y->key, x->klen < y->klen ? x->klen : y->klen);
    return c != 0 ? c : (int)x->klen - (int)y->klen;
}

/* Writes the entries and their slots into out (sized by the caller). */
static void lay_out(const struct mp_xlatetab_builder *b, unsigned char *out, uint32_t nslots)
{
    size_t at = MP_XLATETAB_HEADER + 4 * (size_t)nslots;
    for (size_t i = 0; i < b->n; i++) {
        const struct bentry *e = &b->e[i];
        uint32_t s = mp_fnv1a32(MP_FNV1A32_BASIS, e->key, e->klen) & (nslots - 1);
        while (get32(out + MP_XLATETAB_HEADER + 4 * (size_t)s) != 0)
            s = (s + 1) & (nslots - 1);
        put32(out + MP_XLATETAB_HEADER + 4 * (size_t)s, (uint32_t)at + 1);
        out[at++] = e->klen;
        memcpy(out + at, e->key, e->klen);
        at += e->klen;
        out[at++] = e->n;
        for (unsigned k = 0; k < e->n; k++) {
            out[at++] = e->tlen[k];
            memcpy(out + at, e->t[k], e->tlen[k]);
            at += e->tlen[k];
        }
    }
}

int mp_xlatetab_builder_finish(struct mp_xlatetab_builder *b, unsigned char **out, size_t *len)
{
    uint32_t nslots = 2;
    while (nslots < 2 * b->n)
        nslots *= 2;
    uint64_t size = MP_XLATETAB_HEADER + 4 * (uint64_t)nslots;
    if (b->n > 0)
        qsort(b->e, b->n, sizeof(*b->e), by_key);
    for (size_t i = 0; i < b->n; i++) {
        size += 2 + (uint64_t)b->e[i].klen;
        for (unsigned k = 0; k < b->e[i].n; k++)
            size += 1 + (uint64_t)b->e[i].tlen[k];
    }
    if (size > UINT32_MAX)
        return MP_ETOOBIG;
    unsigned char *p = calloc(1, (size_t)size);
    if (p == NULL)
        return MP_ENOMEM;
    memcpy(p, "MPXL", 4);
    put32(p + 4, MP_XLATETAB_VERSION);
    p[8] = (unsigned char)b->src;
    p[9] = (unsigned char)b->dst;
    put32(p + 12, (uint32_t)b->n);
    put32(p + 16, nslots);
    put32(p + 20, (uint32_t)size);
    lay_out(b, p, nslots);
    /* the sort moved the entries: the builder's own hash is stale now */
    for (size_t s = 0; s < b->nslot; s++)
        b->slot[s] = 0;
    for (size_t i = 0; i < b->n; i++)
        b->slot[slot_of(b, b->e[i].key, b->e[i].klen)] = (uint32_t)i + 1;
    *out = p;
    *len = (size_t)size;
    return MP_OK;
}
