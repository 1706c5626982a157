/* The op layer's loaded user (store_user.h): keys under the user's prefix,
 * the head record loaded, changed and written back, and the history
 * appended to (with each fact entry listed under its key in histx). The
 * op files (store_ops.c, store_facts.c, store_archive.c) build on it. */
#include <stdlib.h>
#include <openssl/rand.h>
#include <string.h>

#include "format/codec.h"
#include "ops/store.h"
#include "ops/index.h"
#include "status.h"

#include "ops/store_user.h"
#include "ops/store_conv.h"

static int be_get(struct mp_ops_ctx *w, enum mp_store_table t, const void *k, size_t klen,
                  const unsigned char **v, size_t *vn)
{
    return w->s->be->get(w->txn, t, k, klen, v, vn);
}

static int be_del(struct mp_ops_ctx *w, enum mp_store_table t, const void *k, size_t klen)
{
    return w->s->be->del(w->txn, t, k, klen);
}

size_t mp_ops_key(const struct mp_ops_ctx *w, unsigned char *k, const void *suffix, size_t n)
{
    memcpy(k, w->prefix, w->plen);
    if (n > 0)
        memcpy(k + w->plen, suffix, n);
    return w->plen + n;
}

int mp_ops_get_plain(struct mp_ops_ctx *w, enum mp_store_table t, const unsigned char *k,
                     size_t klen, struct mp_store_plain *out)
{
    return mp_store_backend_get_plain(w->txn, t, k, klen, out);
}

/* ---- the loaded user ---- */

/* The loaded user's conversations (MP_TABLE_CONVS, store_conv.c) lose
 * their heads and tails when a person's change moved the memory epoch:
 * what they hold may be erased or no longer true. Each becomes a
 * tombstone (no head, no tail, no text), which tells the next turn its
 * head is built again. */
struct conv_keys {
    unsigned char (*k)[MP_STORE_KEY_MAX];
    size_t *klen;
    size_t n, cap;
    const unsigned char *after; /* the previous pass's last key (cleared already) */
    size_t after_len;
};

static int on_conv_key(void *arg, const unsigned char *key, size_t klen, const unsigned char *v,
                       size_t vn)
{
    struct conv_keys *ck = arg;
    (void)v;
    (void)vn;
    if (klen == ck->after_len && memcmp(key, ck->after, klen) == 0)
        return MP_OK;
    if (ck->n == ck->cap || klen > MP_STORE_KEY_MAX)
        return ck->n == ck->cap ? MP_STORE_SCAN_STOP : MP_OK;
    memcpy(ck->k[ck->n], key, klen);
    ck->klen[ck->n++] = klen;
    return MP_OK;
}

#define CONV_CLEAR_MAX 1024 /* records cleared per pass (a scan never runs beside its writes) */

static int clear_convs(struct mp_ops_ctx *w)
{
    unsigned char p[MP_STORE_KEY_MAX];
    size_t plen = w->plen + 1;
    memcpy(p, w->prefix, w->plen);
    p[w->plen] = MP_OPS_CONV_STATE;
    struct conv_keys ck = {.k = malloc(CONV_CLEAR_MAX * MP_STORE_KEY_MAX),
                           .klen = malloc(CONV_CLEAR_MAX * sizeof(size_t)),
                           .cap = CONV_CLEAR_MAX,
                           .after = p};
    int rc = ck.k != NULL && ck.klen != NULL ? MP_OK : MP_ENOMEM;
    /* pass after pass from the last key cleared, until one finds less
       than it can take: every record of the user, however many */
    for (bool more = rc == MP_OK; more;) {
        ck.n = 0;
        rc = w->s->be->scan(w->txn, MP_TABLE_CONVS, p, ck.after_len > 0 ? ck.after_len : plen, plen,
                            on_conv_key, &ck);
        for (size_t i = 0; rc == MP_OK && i < ck.n; i++)
            rc = mp_ops_clear_conv(w, ck.k[i], ck.klen[i], w->meta.updated_at_ms);
        more = rc == MP_OK && ck.n == ck.cap;
        if (more) {
            memcpy(p, ck.k[ck.n - 1], ck.klen[ck.n - 1]);
            ck.after_len = ck.klen[ck.n - 1];
        }
    }
    free(ck.k);
    free(ck.klen);
    return rc;
}

int mp_ops_flush_user(struct mp_ops_ctx *w)
{
    if (w->um == NULL || !w->dirty)
        return MP_OK;
    if (w->um->memory_epoch != w->loaded_epoch) {
        int rc = clear_convs(w);
        if (rc != MP_OK)
            return rc;
        w->loaded_epoch = w->um->memory_epoch;
    }
    size_t n = mp_codec_put_user(NULL, &w->meta, w->um);
    unsigned char *buf = malloc(n);
    if (buf == NULL)
        return MP_ENOMEM;
    mp_codec_put_user(buf, &w->meta, w->um);
    int rc =
        mp_store_backend_put(w->txn, MP_TABLE_USERS, MP_OPS_PHYS(w), MP_OPS_PHYS_LEN(w), buf, n);
    free(buf);
    if (rc == MP_OK)
        w->dirty = false;
    return rc;
}

void mp_ops_drop_user(struct mp_ops_ctx *w)
{
    mp_usermem_free(w->um);
    w->um = NULL;
    w->dirty = false;
}

bool mp_ops_is_loaded(const struct mp_ops_ctx *w, const char *user, size_t len)
{
    return w->um != NULL && w->meta.user_len == len && memcmp(w->meta.user, user, len) == 0;
}

int mp_ops_load_user(struct mp_ops_ctx *w, const char *user, size_t len)
{
    struct mp_store_plain pv;
    if (mp_ops_is_loaded(w, user, len))
        return MP_OK;
    int rc = mp_ops_flush_user(w);
    if (rc != MP_OK)
        return rc;
    mp_ops_drop_user(w);
    w->plen = mp_store_backend_user_prefix(w->s, w->prefix, user, len);
    if (w->s->be->hint_user != NULL)
        w->s->be->hint_user(w->txn, w->prefix, w->plen); /* PostgreSQL: one round trip */
    rc = mp_ops_get_plain(w, MP_TABLE_USERS, MP_OPS_PHYS(w), MP_OPS_PHYS_LEN(w), &pv);
    w->exists = rc == MP_OK;
    memset(&w->meta, 0, sizeof(w->meta));
    if (rc == MP_OK)
        rc = mp_codec_get_user(pv.p, pv.n, &w->meta, &w->um);
    mp_store_backend_plain_done(&pv);
    if (rc == MP_OK && w->meta.version < MP_CODEC_USER_VERSION_MIN)
        rc = MP_EIO; /* converted at open (migrate.c): never met here */
    /* version 3 has no term filter: built here, written back with the user */
    if (rc == MP_OK && !w->meta.filtered)
        rc = mp_index_filter_build(w->txn, w->prefix, w->plen, &w->meta);
    if (rc == MP_OK)
        w->meta.version = MP_CODEC_USER_VERSION;
    w->loaded_epoch = w->um != NULL ? w->um->memory_epoch : 0;
    if (w->exists)
        return rc;
    if (rc != MP_NOTFOUND)
        return rc;
    w->um = mp_usermem_new();
    if (w->um == NULL)
        return MP_ENOMEM;
    w->um->next_seq = 1;
    w->meta.next_hist = 1;
    w->meta.next_fact = 1;
    w->meta.filtered = true; /* nothing indexed: the empty filter is whole */
    memcpy(w->meta.user, user, len);
    w->meta.user_len = len;
    return MP_OK;
}

int mp_ops_load_phys(struct mp_ops_ctx *w, const unsigned char *phys, size_t plen)
{
    struct mp_store_plain pv;
    w->plen = 2 + plen;
    mp_codec_be_put(w->prefix, plen, 2);
    memcpy(w->prefix + 2, phys, plen);
    int rc = mp_ops_get_plain(w, MP_TABLE_USERS, phys, plen, &pv);
    if (rc == MP_OK)
        rc = mp_codec_get_user(pv.p, pv.n, &w->meta, &w->um);
    mp_store_backend_plain_done(&pv);
    return rc;
}

/* An epoch no earlier record of the user had: the time in its high bits
 * (a user deleted and made again starts above every epoch it had before),
 * 20 random bits below (several processes, one millisecond). */
static uint64_t first_epoch(int64_t now_ms)
{
    unsigned char r[4] = {0};
    (void)RAND_bytes(r, sizeof(r)); /* on failure the time alone still orders them */
    uint64_t low = ((uint64_t)r[0] << 16 | (uint64_t)r[1] << 8 | r[2]) & 0xfffffu;
    return ((uint64_t)(now_ms > 0 ? now_ms : 1) << 20) | low;
}

void mp_ops_touch(struct mp_ops_ctx *w, int64_t now_ms)
{
    w->exists = true;
    w->dirty = true;
    w->meta.updated_at_ms = now_ms;
    if (w->um->memory_epoch == 0)
        w->um->memory_epoch = first_epoch(now_ms);
}

void mp_ops_touch_edited(struct mp_ops_ctx *w, int64_t now_ms)
{
    mp_ops_touch(w, now_ms);
    w->um->memory_epoch++;
}

void mp_ops_touch_facts(struct mp_ops_ctx *w)
{
    unsigned char r[8];
    /* random, not a count: a user erased and made again, or a store
       restored from a copy and written on, would count through the stamps
       of other facts again */
    w->meta.facts_stamp = RAND_bytes(r, sizeof(r)) == 1 ? mp_codec_le_get(r, 8) : 0;
    w->dirty = true;
}

/* ---- history ---- */

static size_t hist_key(const struct mp_ops_ctx *w, unsigned char *k, uint64_t seq)
{
    unsigned char b[8];
    mp_codec_be_put(b, seq, 8);
    return mp_ops_key(w, k, b, 8);
}

int mp_ops_put_hist(struct mp_ops_ctx *w, const struct mp_history_item *h)
{
    unsigned char kb[MP_STORE_HIST_KEY_MAX];
    size_t klen = hist_key(w, kb, h->seq);
    size_t n = mp_codec_put_history(NULL, h);
    unsigned char *buf = malloc(n);
    if (buf == NULL)
        return MP_ENOMEM;
    mp_codec_put_history(buf, h);
    int rc = mp_store_backend_put(w->txn, MP_TABLE_HISTORY, kb, klen, buf, n);
    free(buf);
    return rc;
}

int mp_ops_del_hist(struct mp_ops_ctx *w, uint64_t seq)
{
    unsigned char kb[MP_STORE_HIST_KEY_MAX];
    return be_del(w, MP_TABLE_HISTORY, kb, hist_key(w, kb, seq));
}

/* What the DELETED entry ev says was erased, added to e. */
static void tally_erased(struct mp_erased *e, const struct mp_history_item *ev)
{
    if (ev->event != MP_HIST_DELETED)
        return;
    if (ev->item == MP_ITEM_FACT)
        e->facts++;
    else if (ev->item == MP_ITEM_SUMMARY)
        e->summaries++;
    else
        e->messages += ev->count;
}

int mp_ops_append_hist(struct mp_ops_ctx *w, struct mp_history_item *ev, size_t n)
{
    int rc = MP_OK;
    for (size_t i = 0; w->out != NULL && i < n; i++)
        tally_erased(&w->out->erased, &ev[i]);
    for (size_t i = 0; rc == MP_OK && i < n; i++) {
        ev[i].seq = w->meta.next_hist++;
        rc = mp_ops_put_hist(w, &ev[i]);
        if (rc == MP_OK && ev[i].item == MP_ITEM_FACT)
            rc = mp_ops_histx_put(w, ev[i].entity.key, ev[i].seq);
    }
    if (n > 0)
        w->dirty = true; /* next_hist moved: the head is written back */
    return rc;
}

int mp_ops_import_key(struct mp_ops_ctx *w, const struct mp_op *op)
{
    unsigned char kb[MP_STORE_IDEM_KEY_MAX], at[8];
    const unsigned char *v;
    size_t vn;
    if (op->import_key == NULL)
        return MP_OK;
    size_t n = mp_ops_key(w, kb, op->import_key, MP_IDEM_KEY_LEN);
    int rc = be_get(w, MP_TABLE_IDEM, kb, n, &v, &vn);
    if (rc != MP_NOTFOUND)
        return rc == MP_OK ? MP_NOTFOUND : rc;
    mp_codec_le_put(at, (uint64_t)(op->import_key_at_ms != 0 ? op->import_key_at_ms : op->now_ms),
                    8);
    return mp_store_backend_put(w->txn, MP_TABLE_IDEM, kb, n, at, sizeof(at));
}

size_t mp_ops_tag_key(const struct mp_ops_ctx *w, unsigned char *k, const char *key)
{
    unsigned char tag[MP_STORE_TAG_MAX];
    return mp_ops_key(w, k, tag, mp_store_backend_tag(w->s, key, strlen(key), tag));
}

/* ---- histx: a fact's history entries by its key ---- */

static size_t histx_key(const struct mp_ops_ctx *w, unsigned char *k, const char *key, uint64_t seq)
{
    size_t n = mp_ops_tag_key(w, k, key);
    mp_codec_be_put(k + n, seq, 8);
    return n + 8;
}

int mp_ops_histx_put(struct mp_ops_ctx *w, const char *key, uint64_t seq)
{
    unsigned char k[MP_STORE_KEY_MAX];
    return mp_store_backend_put_raw(w->txn, MP_TABLE_HISTX, k, histx_key(w, k, key, seq));
}

int mp_ops_histx_del(struct mp_ops_ctx *w, const char *key, uint64_t seq)
{
    unsigned char k[MP_STORE_KEY_MAX];
    int rc = w->s->be->del(w->txn, MP_TABLE_HISTX, k, histx_key(w, k, key, seq));
    return rc == MP_NOTFOUND ? MP_OK : rc;
}

/* ---- ranges ---- */

struct first_key {
    unsigned char key[MP_STORE_KEY_MAX];
    size_t len;
};

static int on_first(void *arg, const unsigned char *key, size_t klen, const unsigned char *val,
                    size_t vlen)
{
    struct first_key *f = arg;
    if (klen > sizeof(f->key))
        return MP_EIO;
    memcpy(f->key, key, klen);
    f->len = klen;
    return MP_STORE_SCAN_STOP;
}

int mp_ops_del_range(struct mp_ops_ctx *w, enum mp_store_table t, const unsigned char *prefix,
                     size_t plen)
{
    /* the first one at a time: a scan never runs beside the deletes it would see */
    for (;;) {
        struct first_key f = {.len = 0};
        int rc = w->s->be->scan(w->txn, t, prefix, plen, plen, on_first, &f);
        if (rc != MP_OK || f.len == 0)
            return rc;
        rc = w->s->be->del(w->txn, t, f.key, f.len);
        if (rc != MP_OK)
            return rc;
    }
}
