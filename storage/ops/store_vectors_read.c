/* The vectors table's reads (store_vectors.h): a user's vectors of one
 * model for a scan, the items still without one (the backfill's pages and
 * gauge), and what the vectors take. Each call is one read transaction;
 * everything handed back is a copy. Nothing here writes. */
#include "ops/store_vectors.h"

#include <stdlib.h>
#include <string.h>

#include "embed/embed_request.h"
#include "embed/embed_vec.h"
#include "format/codec.h"
#include "ops/store.h"
#include "ops/store_backend.h"
#include "status.h"

/* A read transaction on the user's records: P into prefix, its length
 * into *plen. MP_OK or the backend's error (MP_EINVAL: a bad user). */
static int begin_user(struct mp_store *store, const char *user, size_t len,
                      struct mp_store_txn *txn, unsigned char *prefix, size_t *plen)
{
    if (mp_store_check_user(user, len) != MP_OK)
        return MP_EINVAL;
    *plen = mp_store_backend_user_prefix(store, prefix, user, len);
    return store->be->begin(store, false, txn);
}

/* The vector of item (kind, id) of the user of prefix P is current for m. */
static int is_current(struct mp_store_txn *txn, const unsigned char *prefix, size_t plen,
                      uint8_t kind, uint64_t id, const struct mp_vec_model *m, bool *current)
{
    unsigned char k[MP_STORE_USER_PREFIX_MAX + MP_VECTORS_ID_LEN];
    struct mp_store_plain pv;
    size_t klen = mp_vectors_key(k, prefix, plen, kind, id);
    int rc = mp_store_backend_get_plain(txn, MP_TABLE_VECTORS, k, klen, &pv);
    *current = rc == MP_OK && mp_vectors_current(pv.p, pv.n, m, NULL, NULL);
    mp_store_backend_plain_done(&pv);
    return rc == MP_NOTFOUND ? MP_OK : rc;
}

/* ---- a user's vectors, newest first ---- */

struct ent {
    struct mp_vec_item item;
    int64_t at;
    float scale;
    size_t slot; /* its codes in vread.codes */
};

struct vread {
    const struct mp_vec_model *m;
    size_t max;
    struct ent *e;
    size_t n, cap;
    int8_t *codes; /* slots of m->dims codes */
    size_t slots;
};

static int newest_first(const void *a, const void *b)
{
    const struct ent *x = a, *y = b;
    if (x->at != y->at)
        return x->at > y->at ? -1 : 1;
    if (x->item.kind != y->item.kind)
        return x->item.kind < y->item.kind ? -1 : 1;
    return x->item.id > y->item.id ? -1 : x->item.id < y->item.id;
}

/* Keeps the newest max entries, their codes moved to slots 0..n-1. */
static int keep_newest(struct vread *r)
{
    size_t dims = r->m->dims;
    if (r->n > 1) /* qsort of no array is undefined */
        qsort(r->e, r->n, sizeof(*r->e), newest_first);
    if (r->n > r->max)
        r->n = r->max;
    int8_t *codes = malloc((r->slots > 0 ? r->slots : 1) * dims);
    if (codes == NULL)
        return MP_ENOMEM;
    for (size_t i = 0; i < r->n; i++) {
        memcpy(codes + i * dims, r->codes + r->e[i].slot * dims, dims);
        r->e[i].slot = i;
    }
    free(r->codes);
    r->codes = codes;
    return MP_OK;
}

static int on_read(void *arg, const unsigned char *id, const struct mp_store_plain *pv)
{
    struct vread *r = arg;
    struct mp_embed_vec ev;
    int64_t at;
    if (!mp_vectors_current(pv->p, pv->n, r->m, &at, &ev))
        return MP_OK;
    if (r->n == 2 * r->max && keep_newest(r) != MP_OK)
        return MP_ENOMEM;
    if (mp_store_backend_grow(&r->e, &r->cap, r->n, sizeof(*r->e)) != MP_OK)
        return MP_ENOMEM;
    if (r->n == r->slots) {
        size_t want = r->slots > 0 ? r->slots * 2 : 16;
        if (want > 2 * r->max)
            want = 2 * r->max;
        int8_t *c = realloc(r->codes, want * r->m->dims);
        if (c == NULL)
            return MP_ENOMEM;
        r->codes = c;
        r->slots = want;
    }
    struct ent *e = &r->e[r->n];
    e->item.kind = id[0];
    e->item.id = mp_codec_be_get(id + 1, 8);
    e->at = at;
    e->scale = ev.scale;
    e->slot = r->n;
    memcpy(r->codes + r->n * r->m->dims, ev.codes, r->m->dims);
    r->n++;
    return MP_OK;
}

/* The kept entries as the caller's arrays (r's codes handed over). */
static int hand_out(struct vread *r, struct mp_store_vecs *out)
{
    out->dims = r->m->dims;
    out->items = malloc((r->n + 1) * sizeof(*out->items));
    out->at_ms = malloc((r->n + 1) * sizeof(*out->at_ms));
    out->scales = malloc((r->n + 1) * sizeof(*out->scales));
    if (out->items == NULL || out->at_ms == NULL || out->scales == NULL)
        return MP_ENOMEM;
    for (size_t i = 0; i < r->n; i++) {
        out->items[i] = r->e[i].item;
        out->at_ms[i] = r->e[i].at;
        out->scales[i] = r->e[i].scale;
    }
    out->codes = r->codes;
    r->codes = NULL;
    out->n = r->n;
    return MP_OK;
}

int mp_store_vectors_read(struct mp_store *store, const char *user, size_t user_len,
                          const struct mp_vec_model *model, size_t max, struct mp_store_vecs *out)
{
    struct mp_store_txn txn;
    unsigned char prefix[MP_STORE_USER_PREFIX_MAX];
    size_t plen;
    struct vread r = {.m = model, .max = max};
    memset(out, 0, sizeof(*out));
    if (max == 0 || max > SIZE_MAX / 4 || model->dims == 0 || model->dims > MP_EMBED_DIMS_MAX)
        return MP_EINVAL;
    int rc = begin_user(store, user, user_len, &txn, prefix, &plen);
    if (rc != MP_OK)
        return rc;
    rc = mp_store_backend_scan_plain(&txn, MP_TABLE_VECTORS, prefix, plen, plen, MP_VECTORS_ID_LEN,
                                     on_read, &r);
    store->be->end(&txn, false);
    if (rc == MP_OK)
        rc = keep_newest(&r);
    if (rc == MP_OK)
        rc = hand_out(&r, out);
    if (rc != MP_OK)
        mp_store_vecs_cleanup(out);
    free(r.e);
    free(r.codes);
    return rc;
}

void mp_store_vecs_cleanup(struct mp_store_vecs *v)
{
    if (v == NULL)
        return;
    free(v->items);
    free(v->at_ms);
    free(v->scales);
    free(v->codes);
    memset(v, 0, sizeof(*v));
}

/* ---- pending items ---- */

struct pend {
    struct mp_store_txn *txn;
    const unsigned char *prefix;
    size_t plen;
    const struct mp_vec_model *m;
    uint8_t kind;
    size_t max; /* 0: count only */
    uint64_t count;
    struct mp_vec_pending *v;
    size_t n, cap;
    bool more;
};

/* A pending item's text and time from its opened record into p. */
static int fill(const struct pend *s, uint64_t id, const struct mp_store_plain *pv,
                struct mp_vec_pending *p)
{
    memset(p, 0, sizeof(*p));
    p->item.kind = s->kind;
    p->item.id = id;
    if (s->kind == MP_VEC_FACT) {
        struct mp_mem_entity e;
        int rc = mp_codec_get_fact(pv->p, pv->n, &e);
        if (rc != MP_OK)
            return rc;
        _Static_assert(sizeof(p->key) == sizeof(e.key), "a fact key fits");
        memcpy(p->key, e.key, sizeof(p->key));
        p->text = e.value;
        p->text_len = e.value_len;
        p->at_ms = e.observed_at_ms;
        return MP_OK;
    }
    struct mp_mem_message m;
    int rc = mp_codec_get_message(pv->p, pv->n, &m);
    if (rc != MP_OK)
        return rc;
    p->at_ms = m.at_ms;
    if (s->kind == MP_VEC_MESSAGE) {
        p->text = m.content;
        p->text_len = m.content_len;
        return MP_OK;
    }
    free(m.content);
    const unsigned char *keys;
    size_t nkeys;
    rc = mp_codec_get_archived_keys(pv->p, pv->n, &keys, &nkeys);
    p->text = rc == MP_OK ? malloc(nkeys + 1) : NULL;
    if (p->text == NULL)
        return rc == MP_OK ? MP_ENOMEM : rc;
    memcpy(p->text, keys, nkeys);
    p->text[nkeys] = '\0';
    p->text_len = nkeys;
    return MP_OK;
}

static int on_item(void *arg, const unsigned char *id, const struct mp_store_plain *pv)
{
    struct pend *s = arg;
    uint64_t iid = mp_codec_be_get(id, s->kind == MP_VEC_FACT ? 4 : 8);
    bool current;
    if (s->kind == MP_VEC_KEYS) {
        const unsigned char *keys;
        size_t nkeys;
        int rc = mp_codec_get_archived_keys(pv->p, pv->n, &keys, &nkeys);
        if (rc != MP_OK || nkeys == 0)
            return rc;
    }
    int rc = is_current(s->txn, s->prefix, s->plen, s->kind, iid, s->m, &current);
    if (rc != MP_OK || current)
        return rc;
    s->count++;
    if (s->max == 0)
        return MP_OK;
    if (s->n == s->max) {
        s->more = true;
        return MP_STORE_SCAN_STOP;
    }
    if (mp_store_backend_grow(&s->v, &s->cap, s->n, sizeof(*s->v)) != MP_OK)
        return MP_ENOMEM;
    rc = fill(s, iid, pv, &s->v[s->n]);
    s->n += rc == MP_OK;
    return rc;
}

/* Walks the user's items of each kind after *after (NULL: all). */
static int walk_pending(struct pend *s, const struct mp_vec_item *after)
{
    int rc = MP_OK;
    for (uint8_t kind = 0; rc == MP_OK && !s->more && kind < MP_VEC_KINDS; kind++) {
        unsigned char start[MP_STORE_USER_PREFIX_MAX + 8];
        size_t idlen = kind == MP_VEC_FACT ? 4 : 8, slen = s->plen;
        memcpy(start, s->prefix, s->plen);
        if (after != NULL && kind < after->kind)
            continue;
        if (after != NULL && kind == after->kind) {
            if (after->id >= (kind == MP_VEC_FACT ? UINT32_MAX : UINT64_MAX))
                continue;
            mp_codec_be_put(start + s->plen, after->id + 1, idlen);
            slen += idlen;
        }
        s->kind = kind;
        rc = mp_store_backend_scan_plain(s->txn,
                                         kind == MP_VEC_FACT ? MP_TABLE_FACTS : MP_TABLE_ARCHIVE,
                                         start, slen, s->plen, idlen, on_item, s);
    }
    return rc;
}

int mp_store_vectors_pending(struct mp_store *store, const char *user, size_t user_len,
                             const struct mp_vec_model *model, const struct mp_vec_item *after,
                             size_t max, struct mp_vec_pending **out, size_t *n, bool *more)
{
    struct mp_store_txn txn;
    unsigned char prefix[MP_STORE_USER_PREFIX_MAX];
    struct pend s = {.txn = &txn, .prefix = prefix, .m = model, .max = max};
    if (max == 0 || model->dims == 0 || (after != NULL && after->kind >= MP_VEC_KINDS))
        return MP_EINVAL;
    int rc = begin_user(store, user, user_len, &txn, prefix, &s.plen);
    if (rc != MP_OK)
        return rc;
    rc = walk_pending(&s, after);
    store->be->end(&txn, false);
    if (rc != MP_OK) {
        mp_store_vectors_pending_free(s.v, s.n);
        return rc;
    }
    if (s.n == 0) {
        free(s.v);
        s.v = NULL;
    }
    *out = s.v;
    *n = s.n;
    *more = s.more;
    return MP_OK;
}

void mp_store_vectors_pending_free(struct mp_vec_pending *p, size_t n)
{
    for (size_t i = 0; p != NULL && i < n; i++)
        free(p[i].text);
    free(p);
}

/* ---- counts over every user ---- */

int mp_store_vectors_pending_count(struct mp_store *store, const char *user, size_t user_len,
                                   const struct mp_vec_model *model, uint64_t *count)
{
    struct mp_store_txn txn;
    struct mp_store_user_keys keys = {0};
    unsigned char prefix[MP_STORE_USER_PREFIX_MAX];
    struct pend s = {.txn = &txn, .m = model};
    if (model->dims == 0 || (user != NULL && mp_store_check_user(user, user_len) != MP_OK))
        return MP_EINVAL;
    int rc = store->be->begin(store, false, &txn);
    if (rc != MP_OK)
        return rc;
    s.prefix = prefix;
    if (user != NULL) {
        s.plen = mp_store_backend_user_prefix(store, prefix, user, user_len);
        rc = walk_pending(&s, NULL);
    } else {
        rc = mp_store_user_keys(&txn, &keys);
    }
    for (size_t i = 0; rc == MP_OK && i < keys.n; i++) { /* u16be length | the user's key */
        mp_codec_be_put(prefix, keys.len[i], 2);
        memcpy(prefix + 2, keys.k[i], keys.len[i]);
        s.plen = keys.len[i] + 2;
        rc = walk_pending(&s, NULL);
    }
    store->be->end(&txn, false);
    mp_store_user_keys_free(&keys);
    if (rc == MP_OK)
        *count = s.count;
    return rc;
}

struct sizes {
    uint64_t count, bytes;
};

static int on_size(void *arg, const unsigned char *key, size_t klen, const unsigned char *v,
                   size_t vn)
{
    struct sizes *z = arg;
    (void)key;
    (void)v;
    z->count++;
    z->bytes += klen + vn;
    return MP_OK;
}

int mp_store_vectors_size(struct mp_store *store, const char *user, size_t user_len,
                          uint64_t *count, uint64_t *bytes)
{
    struct mp_store_txn txn;
    unsigned char prefix[MP_STORE_USER_PREFIX_MAX];
    size_t plen = 0;
    struct sizes z = {0, 0};
    if (user != NULL && mp_store_check_user(user, user_len) != MP_OK)
        return MP_EINVAL;
    if (user != NULL)
        plen = mp_store_backend_user_prefix(store, prefix, user, user_len);
    int rc = store->be->begin(store, false, &txn);
    if (rc != MP_OK)
        return rc;
    rc = store->be->scan(&txn, MP_TABLE_VECTORS, prefix, plen, plen, on_size, &z);
    store->be->end(&txn, false);
    if (rc == MP_OK) {
        *count = z.count;
        *bytes = z.bytes;
    }
    return rc;
}
