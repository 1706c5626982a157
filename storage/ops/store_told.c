/* The told records (store_told.h): P | T(fact key) | u64be first seq ->
 * codec.h's struct mp_codec_told, sealed like every value. Written by
 * UPSERT_ENTITY (store_facts.c) and the conversion of older stores
 * (migrate_told.c), read and removed by erasure (store_erase.c). */
#include "ops/store_told.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fnv1a.h"
#include "status.h"

uint64_t mp_told_print(const char *value, size_t len)
{
    uint64_t h = mp_fnv1a64(MP_FNV1A64_BASIS, value, len);
    return h != 0 ? h : 1;
}

static size_t told_key(const struct mp_ops_ctx *w, unsigned char *k, const char *key,
                       uint64_t first_seq)
{
    size_t n = mp_ops_tag_key(w, k, key);
    mp_codec_be_put(k + n, first_seq, 8);
    return n + 8;
}

int mp_told_note(struct mp_ops_ctx *w, const struct mp_mem_entity *e)
{
    return mp_told_note_print(w, e, mp_told_print(e->value, e->value_len));
}

int mp_told_note_print(struct mp_ops_ctx *w, const struct mp_mem_entity *e, uint64_t print)
{
    unsigned char k[MP_STORE_KEY_MAX];
    unsigned char v[8 + 8 + 1 + 1 + MP_REQUEST_ID_MAX + 1 + MP_ENTITY_KEY_MAX];
    struct mp_codec_told t = {
        .last_seq = e->source_last_seq, .value_print = print, .role = e->source_role};
    if (e->source_first_seq == 0 || e->source_last_seq < e->source_first_seq)
        return MP_OK; /* no turn told it */
    snprintf(t.request_id, sizeof(t.request_id), "%s", mp_usermem_fact_turn(e));
    memcpy(t.key, e->key, sizeof(t.key));
    return mp_store_backend_put(w->txn, MP_TABLE_TOLD, k,
                                told_key(w, k, e->key, e->source_first_seq), v,
                                mp_codec_put_told(v, &t));
}

struct told_list {
    struct mp_told *v;
    size_t n, cap;
};

static int push(struct told_list *l, uint64_t first, const struct mp_codec_told *t)
{
    if (mp_store_backend_grow(&l->v, &l->cap, l->n, sizeof(*l->v)) != MP_OK)
        return MP_ENOMEM;
    l->v[l->n].first_seq = first;
    l->v[l->n++].rec = *t;
    return MP_OK;
}

static int on_key_told(void *arg, const unsigned char *id, const struct mp_store_plain *pv)
{
    struct mp_codec_told t;
    int rc = mp_codec_get_told(pv->p, pv->n, &t);
    return rc == MP_OK ? push(arg, mp_codec_be_get(id, 8), &t) : rc;
}

static void done_list(struct told_list *l, int rc, struct mp_told **out, size_t *n)
{
    if (rc != MP_OK) {
        free(l->v);
        l->v = NULL;
        l->n = 0;
    }
    *out = l->v;
    *n = l->n;
}

int mp_told_of_key(struct mp_ops_ctx *w, const char *key, struct mp_told **out, size_t *n)
{
    unsigned char k[MP_STORE_KEY_MAX];
    struct told_list l = {NULL, 0, 0};
    size_t plen = mp_ops_tag_key(w, k, key);
    int rc = mp_store_backend_scan_plain(w->txn, MP_TABLE_TOLD, k, plen, plen, 8, on_key_told, &l);
    done_list(&l, rc, out, n);
    return rc;
}

/* A walk of every record of the loaded user: its key is P | T(key) | seq,
 * a tag of either length (a clear store's key, a sealed store's 16
 * bytes), its value says which fact. The records take() takes go to l. */
struct user_scan {
    struct mp_ops_ctx *w;
    bool (*take)(const struct mp_told *t, uint64_t arg);
    uint64_t arg;
    struct told_list l;
};

static int on_user_told(void *arg, const unsigned char *key, size_t klen, const unsigned char *v,
                        size_t vn)
{
    struct user_scan *us = arg;
    struct mp_store_plain pv;
    struct mp_told t;
    if (klen < us->w->plen + 8)
        return MP_EIO;
    t.first_seq = mp_codec_be_get(key + klen - 8, 8);
    int rc = mp_store_backend_open(us->w->s, MP_TABLE_TOLD, key, klen, v, vn, &pv);
    if (rc == MP_OK)
        rc = mp_codec_get_told(pv.p, pv.n, &t.rec);
    mp_store_backend_plain_done(&pv);
    if (rc != MP_OK || !us->take(&t, us->arg))
        return rc;
    return push(&us->l, t.first_seq, &t.rec);
}

static int scan_user(struct mp_ops_ctx *w, bool (*take)(const struct mp_told *t, uint64_t arg),
                     uint64_t arg, struct mp_told **out, size_t *n)
{
    struct user_scan us = {w, take, arg, {NULL, 0, 0}};
    int rc = w->s->be->scan(w->txn, MP_TABLE_TOLD, w->prefix, w->plen, w->plen, on_user_told, &us);
    done_list(&us.l, rc, out, n);
    return rc;
}

static bool holds_seq(const struct mp_told *t, uint64_t seq)
{
    return t->first_seq <= seq && t->rec.last_seq >= seq;
}

int mp_told_covering(struct mp_ops_ctx *w, uint64_t seq, struct mp_told **out, size_t *n)
{
    return scan_user(w, holds_seq, seq, out, n);
}

int mp_told_drop(struct mp_ops_ctx *w, const char *key, uint64_t first_seq)
{
    unsigned char k[MP_STORE_KEY_MAX];
    int rc = w->s->be->del(w->txn, MP_TABLE_TOLD, k, told_key(w, k, key, first_seq));
    return rc == MP_NOTFOUND ? MP_OK : rc;
}

int mp_told_drop_key(struct mp_ops_ctx *w, const char *key)
{
    unsigned char k[MP_STORE_KEY_MAX];
    return mp_ops_del_range(w, MP_TABLE_TOLD, k, mp_ops_tag_key(w, k, key));
}

static int on_first_seq(void *arg, const unsigned char *key, size_t klen, const unsigned char *v,
                        size_t vn)
{
    uint64_t *min = arg;
    (void)v;
    (void)vn;
    if (klen >= 8)
        *min = mp_codec_be_get(key + klen - 8, 8);
    return MP_STORE_SCAN_STOP;
}

/* The lowest seq the loaded user keeps (buffer, archive): UINT64_MAX when
 * none. */
static int lowest_kept(struct mp_ops_ctx *w, uint64_t *min)
{
    uint64_t archived = UINT64_MAX;
    *min = w->um->nmessages > 0 ? w->um->messages[0].seq : UINT64_MAX;
    int rc = w->s->be->scan(w->txn, MP_TABLE_ARCHIVE, w->prefix, w->plen, w->plen, on_first_seq,
                            &archived);
    if (archived < *min)
        *min = archived;
    return rc;
}

static bool ends_below(const struct mp_told *t, uint64_t below)
{
    return t->rec.last_seq < below;
}

int mp_told_sweep(struct mp_ops_ctx *w)
{
    struct mp_told *old = NULL;
    size_t n = 0;
    uint64_t below = 0;
    int rc = lowest_kept(w, &below);
    if (rc == MP_OK)
        rc = scan_user(w, ends_below, below, &old, &n);
    for (size_t i = 0; rc == MP_OK && i < n; i++)
        rc = mp_told_drop(w, old[i].rec.key, old[i].first_seq);
    free(old);
    return rc;
}

struct kept_scan {
    const struct mp_told *t;
    bool of_role;
    bool *kept;
};

static int on_archived(void *arg, const unsigned char *id, const struct mp_store_plain *pv)
{
    struct kept_scan *ks = arg;
    struct mp_mem_message m;
    if (mp_codec_be_get(id, 8) > ks->t->rec.last_seq)
        return MP_STORE_SCAN_STOP;
    int rc = mp_codec_get_message(pv->p, pv->n, &m);
    if (rc != MP_OK)
        return rc;
    free(m.content);
    *ks->kept = !ks->of_role || m.role == ks->t->rec.role;
    return *ks->kept ? MP_STORE_SCAN_STOP : MP_OK;
}

int mp_told_kept(struct mp_ops_ctx *w, const struct mp_told *t, bool of_role, bool *kept)
{
    unsigned char k[MP_STORE_KEY_MAX], b[8];
    *kept = false;
    for (size_t i = 0; i < w->um->nmessages && !*kept; i++) {
        const struct mp_mem_message *m = &w->um->messages[i];
        *kept = m->seq >= t->first_seq && m->seq <= t->rec.last_seq &&
                (!of_role || m->role == t->rec.role);
    }
    if (*kept || w->meta.narchive == 0)
        return MP_OK;
    struct kept_scan ks = {t, of_role, kept};
    mp_codec_be_put(b, t->first_seq, 8);
    size_t n = mp_ops_key(w, k, b, 8);
    return mp_store_backend_scan_plain(w->txn, MP_TABLE_ARCHIVE, k, n, w->plen, 8, on_archived,
                                       &ks);
}
