/* The conversions of older formats, in place, each in one write
 * transaction with the new format number, so that a crash leaves the store
 * as it was.
 *
 * Format 2 (store_backend.h: mp_store_migrate): a format-2 user record
 * holds the user's facts; the conversion writes them as fact records
 * through the op layer (so they are ranked and indexed exactly as new
 * ones), archives and indexes the buffered messages, lists the fact
 * history entries in histx, and writes the head record.
 *
 * Formats 3 to 5 (mp_store_migrate_heads): every user's heads of common
 * terms are built from its index (heads.h).
 *
 * Format 6 needs no pass over the records: its messages are format 7's
 * without a conversation (codec.h), so its number is rewritten in the
 * transaction that checks the store at open (store_backend.c), and so is
 * every older format's by the conversions above. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "heads.h"
#include "status.h"
#include "store_backend.h"
#include "store_archive.h"
#include "store_facts.h"
#include "store_user.h"
#include "store_read.h"

struct key_list {
    unsigned char (*k)[MP_STORE_PHYS_USER_MAX];
    size_t *len;
    size_t n, cap, cap2;
};

static int on_user_key(void *arg, const unsigned char *key, size_t klen, const unsigned char *val,
                       size_t vlen)
{
    struct key_list *l = arg;
    (void)val;
    (void)vlen;
    if (klen > MP_STORE_PHYS_USER_MAX)
        return MP_EIO;
    size_t cap = l->cap;
    if (mp_store_backend_grow(&l->k, &l->cap, l->n, sizeof(*l->k)) != MP_OK ||
        mp_store_backend_grow(&l->len, &cap, l->n, sizeof(*l->len)) != MP_OK)
        return MP_ENOMEM;
    memcpy(l->k[l->n], key, klen);
    l->len[l->n++] = klen;
    return MP_OK;
}

/* The fact entries of the user's history get their histx records. */
static int list_fact_history(struct mp_ops_ctx *w)
{
    struct mp_history h = {NULL, 0};
    int rc = mp_store_read_history_until(w->txn, w->prefix, w->plen, INT64_MAX, &h, NULL);
    for (size_t i = 0; rc == MP_OK && i < h.nitems; i++)
        if (h.items[i].item == MP_ITEM_FACT)
            rc = mp_ops_histx_put(w, h.items[i].entity.key, h.items[i].seq);
    mp_store_read_history_clear(&h);
    return rc;
}

static int convert_user(struct mp_store_txn *txn, const unsigned char *phys, size_t plen)
{
    struct mp_ops_ctx w = {.s = txn->store, .txn = txn};
    struct mp_store_plain pv;
    struct mp_usermem *um = NULL;
    w.plen = 2 + plen;
    mp_codec_be_put(w.prefix, plen, 2);
    memcpy(w.prefix + 2, phys, plen);
    int rc = mp_ops_get_plain(&w, MP_TABLE_USERS, phys, plen, &pv);
    if (rc == MP_OK)
        rc = mp_codec_get_user(pv.p, pv.n, &w.meta, &um);
    mp_store_backend_plain_done(&pv);
    if (rc != MP_OK)
        return rc == MP_NOTFOUND ? MP_EIO : rc;
    if (w.meta.version >= MP_CODEC_USER_VERSION_MIN) {
        mp_usermem_free(um);
        return MP_OK; /* already converted */
    }
    struct mp_mem_entity *facts = um->entities;
    size_t nfacts = um->nentities;
    um->entities = NULL;
    um->nentities = 0;
    w.um = um;
    w.meta.version = MP_CODEC_USER_VERSION;
    w.meta.filtered = true; /* format 2 has no index: every term is added below */
    w.exists = true;
    for (size_t i = 0; rc == MP_OK && i < nfacts; i++)
        rc = mp_ops_add_fact(&w, &facts[i]);
    if (rc == MP_OK)
        rc = mp_ops_archive_turn(&w, 0);
    if (rc == MP_OK)
        rc = list_fact_history(&w);
    w.dirty = true;
    if (rc == MP_OK)
        rc = mp_ops_flush_user(&w);
    for (size_t i = 0; i < nfacts; i++)
        free(facts[i].value);
    free(facts);
    mp_usermem_free(um);
    return rc;
}

/* fn for every user (its physical key), then this format's number. */
static int each_user(struct mp_store_txn *txn,
                     int (*fn)(struct mp_store_txn *txn, const unsigned char *phys, size_t plen))
{
    struct key_list l = {NULL, NULL, 0, 0, 0};
    unsigned char b[4];
    int rc = txn->store->be->scan(txn, MP_TABLE_USERS, NULL, 0, 0, on_user_key, &l);
    for (size_t i = 0; rc == MP_OK && i < l.n; i++)
        rc = fn(txn, l.k[i], l.len[i]);
    free(l.k);
    free(l.len);
    mp_codec_le_put(b, MP_STORE_FORMAT_VERSION, 4);
    if (rc == MP_OK)
        rc = txn->store->be->put(txn, MP_TABLE_META, "format", 6, b, 4);
    return rc;
}

static int convert(struct mp_store_txn *txn)
{
    return each_user(txn, convert_user);
}

static int format_of(struct mp_store *s, uint32_t *version)
{
    struct mp_store_txn txn;
    const unsigned char *v;
    size_t n;
    int rc = s->be->begin(s, false, &txn);
    if (rc != MP_OK)
        return rc;
    rc = s->be->get(&txn, MP_TABLE_META, "format", 6, &v, &n);
    if (rc == MP_OK)
        *version = n == 4 ? (uint32_t)mp_codec_le_get(v, 4) : 0;
    s->be->end(&txn, false);
    return rc;
}

/* fn(txn) in one write transaction, committed when it succeeds (begun
 * again when the map grew): MP_OK, or why not. */
static int in_one_write(struct mp_store *s, int (*fn)(struct mp_store_txn *txn))
{
    for (;;) {
        struct mp_store_txn txn;
        if (s->be->begin(s, true, &txn) != MP_OK)
            return MP_EIO;
        int rc = fn(&txn);
        int end = s->be->end(&txn, rc == MP_OK);
        if (end == MP_AGAIN)
            continue; /* the map grew: once more */
        return rc != MP_OK ? rc : end;
    }
}

int mp_store_migrate(struct mp_store *s, const char *what, char *err, size_t errcap)
{
    uint32_t version = 0;
    int rc = format_of(s, &version);
    if (rc != MP_OK || version == MP_STORE_FORMAT_VERSION)
        return rc == MP_OK ? MP_OK : MP_EIO;
    rc = in_one_write(s, convert);
    if (rc == MP_OK)
        return MP_OK;
    snprintf(err, errcap, "cannot convert %s from record format 2 to %u: %s", what,
             MP_STORE_FORMAT_VERSION,
             rc == MP_ETOOBIG ? "no space left (free disk space or raise map_size_max)"
                              : "a record could not be converted");
    return MP_EIO;
}

/* ---- formats 3 to 5: the heads (heads.h) ---- */

static int user_heads(struct mp_store_txn *txn, const unsigned char *phys, size_t plen)
{
    unsigned char prefix[MP_STORE_USER_PREFIX_MAX];
    struct mp_store_plain pv;
    struct mp_codec_user meta;
    struct mp_usermem *um = NULL; /* decoded for the index statistics after it */
    mp_codec_be_put(prefix, plen, 2);
    memcpy(prefix + 2, phys, plen);
    int rc = mp_store_backend_get_plain(txn, MP_TABLE_USERS, phys, plen, &pv);
    if (rc == MP_OK)
        rc = mp_codec_get_user(pv.p, pv.n, &meta, &um);
    mp_store_backend_plain_done(&pv);
    mp_usermem_free(um);
    return rc == MP_OK ? mp_heads_build_user(txn, prefix, 2 + plen, &meta) : rc;
}

static int build_heads(struct mp_store_txn *txn)
{
    return each_user(txn, user_heads);
}

int mp_store_migrate_heads(struct mp_store *s, const char *what, char *err, size_t errcap)
{
    int rc = in_one_write(s, build_heads);
    if (rc == MP_OK)
        return MP_OK;
    snprintf(err, errcap, "cannot build the heads of common terms in %s (record format %u): %s",
             what, MP_STORE_FORMAT_VERSION,
             rc == MP_ETOOBIG ? "no space left (free disk space or raise map_size_max)"
                              : "the index could not be read");
    return MP_EIO;
}
