/* The vectors table (store_vectors.h): its records, the ops that write
 * them inside an apply, and the one erase every item removal calls. The
 * reads are store_vectors_read.c's. */
#include "ops/store_vectors.h"

#include <stdlib.h>
#include <string.h>

#include "embed/embed_request.h"
#include "embed/embed_vec.h"
#include "format/codec.h"
#include "ops/store.h"
#include "ops/store_backend.h"
#include "ops/store_user.h"
#include "status.h"

size_t mp_vectors_key(unsigned char *k, const unsigned char *prefix, size_t plen, uint8_t kind,
                      uint64_t id)
{
    memcpy(k, prefix, plen);
    k[plen] = kind;
    mp_codec_be_put(k + plen + 1, id, 8);
    return plen + MP_VECTORS_ID_LEN;
}

bool mp_vectors_current(const unsigned char *v, size_t n, const struct mp_vec_model *m,
                        int64_t *at_ms, struct mp_embed_vec *out)
{
    struct mp_embed_vec ev;
    if (n <= MP_STORE_VEC_VALUE_HEAD ||
        mp_embed_vec_view(v + MP_STORE_VEC_VALUE_HEAD, n - MP_STORE_VEC_VALUE_HEAD, &ev) != MP_OK)
        return false; /* not of this format's records: never current, replaced by a put */
    if (m != NULL && (ev.model_hash != m->hash || ev.dims != m->dims))
        return false;
    if (at_ms != NULL)
        *at_ms = (int64_t)mp_codec_le_get(v, 8);
    if (out != NULL)
        *out = ev;
    return true;
}

int mp_store_vectors_check_op(const struct mp_op *op)
{
    const struct mp_vec_model *m = &op->u.vectors.model;
    if (m->dims == 0 || m->dims > MP_EMBED_DIMS_MAX)
        return MP_EINVAL;
    if (op->kind == MP_OP_DROP_VECTORS)
        return MP_OK;
    if (op->u.vectors.items == NULL || op->u.vectors.nitems == 0 ||
        op->u.vectors.nitems > MP_STORE_VECTORS_BATCH_MAX)
        return MP_EINVAL;
    for (size_t i = 0; i < op->u.vectors.nitems; i++) {
        const struct mp_store_vector *v = &op->u.vectors.items[i];
        struct mp_embed_vec ev;
        if (v->item.kind >= MP_VEC_KINDS || v->rec == NULL ||
            (v->item.kind == MP_VEC_FACT && v->item.id > UINT32_MAX) ||
            mp_embed_vec_view(v->rec, v->len, &ev) != MP_OK || ev.model_hash != m->hash ||
            ev.dims != m->dims)
            return MP_EINVAL;
    }
    return MP_OK;
}

/* ---- erasure ---- */

static int del_one(struct mp_ops_ctx *w, uint8_t kind, uint64_t id)
{
    unsigned char k[MP_STORE_USER_PREFIX_MAX + MP_VECTORS_ID_LEN];
    int rc =
        w->s->be->del(w->txn, MP_TABLE_VECTORS, k, mp_vectors_key(k, w->prefix, w->plen, kind, id));
    return rc == MP_NOTFOUND ? MP_OK : rc;
}

int mp_vectors_erase(struct mp_ops_ctx *w, enum mp_vec_kind kind, uint64_t id)
{
    int rc = del_one(w, (uint8_t)kind, id);
    if (rc == MP_OK && kind == MP_VEC_MESSAGE)
        rc = del_one(w, MP_VEC_KEYS, id);
    return rc;
}

/* ---- put ---- */

/* Whether the loaded user's item exists now, and its time: MP_OK with
 * *at_ms, MP_NOTFOUND, or an error. */
static int item_time(struct mp_ops_ctx *w, const struct mp_vec_item *it, int64_t *at_ms)
{
    unsigned char k[MP_STORE_KEY_MAX], b[8];
    struct mp_store_plain pv;
    bool fact = it->kind == MP_VEC_FACT;
    mp_codec_be_put(b, it->id, fact ? 4 : 8);
    size_t klen = mp_ops_key(w, k, b, fact ? 4 : 8);
    int rc = mp_ops_get_plain(w, fact ? MP_TABLE_FACTS : MP_TABLE_ARCHIVE, k, klen, &pv);
    if (rc == MP_OK && fact) {
        struct mp_mem_entity e;
        rc = mp_codec_get_fact_head(pv.p, pv.n, &e, NULL);
        *at_ms = e.observed_at_ms;
    } else if (rc == MP_OK) {
        struct mp_mem_message m;
        const unsigned char *keys = NULL;
        size_t nkeys = 0;
        if (it->kind == MP_VEC_KEYS)
            rc = mp_codec_get_archived_keys(pv.p, pv.n, &keys, &nkeys);
        if (rc == MP_OK && it->kind == MP_VEC_KEYS && nkeys == 0)
            rc = MP_NOTFOUND;
        if (rc == MP_OK)
            rc = mp_codec_get_message(pv.p, pv.n, &m);
        if (rc == MP_OK) {
            *at_ms = m.at_ms;
            free(m.content);
        }
    }
    mp_store_backend_plain_done(&pv);
    return rc;
}

static int put_one(struct mp_ops_ctx *w, const struct mp_store_vector *v, uint32_t *count)
{
    unsigned char k[MP_STORE_USER_PREFIX_MAX + MP_VECTORS_ID_LEN];
    int64_t at = 0;
    int rc = item_time(w, &v->item, &at);
    if (rc == MP_NOTFOUND)
        return MP_OK; /* erased, or changed, while its text was embedded */
    if (rc != MP_OK)
        return rc;
    unsigned char *val = malloc(MP_STORE_VEC_VALUE_HEAD + v->len);
    if (val == NULL)
        return MP_ENOMEM;
    mp_codec_le_put(val, (uint64_t)at, 8);
    memcpy(val + MP_STORE_VEC_VALUE_HEAD, v->rec, v->len);
    size_t klen = mp_vectors_key(k, w->prefix, w->plen, v->item.kind, v->item.id);
    rc = mp_store_backend_put(w->txn, MP_TABLE_VECTORS, k, klen, val,
                              MP_STORE_VEC_VALUE_HEAD + v->len);
    free(val);
    if (rc == MP_OK)
        (*count)++;
    return rc;
}

int mp_ops_put_vectors(struct mp_ops_ctx *w, const struct mp_op *op, struct mp_ops_out *out)
{
    int rc = mp_ops_load_user(w, op->user, op->user_len);
    if (rc != MP_OK || !w->exists)
        return rc; /* nothing of the user's: no item to give a vector */
    for (size_t i = 0; rc == MP_OK && i < op->u.vectors.nitems; i++)
        rc = put_one(w, &op->u.vectors.items[i], &out->count);
    return rc;
}

/* ---- drop ---- */

struct stale {
    const struct mp_vec_model *m;
    unsigned char (*ids)[MP_VECTORS_ID_LEN];
    size_t n, cap;
};

static int on_vector(void *arg, const unsigned char *id, const struct mp_store_plain *pv)
{
    struct stale *s = arg;
    if (mp_vectors_current(pv->p, pv->n, s->m, NULL, NULL))
        return MP_OK;
    if (mp_store_backend_grow(&s->ids, &s->cap, s->n, sizeof(*s->ids)) != MP_OK)
        return MP_ENOMEM;
    memcpy(s->ids[s->n++], id, MP_VECTORS_ID_LEN);
    return MP_OK;
}

int mp_ops_drop_vectors(struct mp_ops_ctx *w, const struct mp_op *op, struct mp_ops_out *out)
{
    struct stale s = {.m = &op->u.vectors.model};
    int rc = mp_ops_load_user(w, op->user, op->user_len);
    if (rc == MP_OK)
        rc = mp_store_backend_scan_plain(w->txn, MP_TABLE_VECTORS, w->prefix, w->plen, w->plen,
                                         MP_VECTORS_ID_LEN, on_vector, &s);
    /* deleted after the walk: a scan never runs beside the deletes it would see */
    for (size_t i = 0; rc == MP_OK && i < s.n; i++) {
        rc = del_one(w, s.ids[i][0], mp_codec_be_get(s.ids[i] + 1, 8));
        out->count += rc == MP_OK;
    }
    free(s.ids);
    return rc;
}
