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
 * Formats 3 to 7 (mp_store_migrate_lang): every message gets its
 * language, and every user's index and heads are made again with the
 * terms of its language (below); format 6's messages are format 7's
 * without a conversation (codec.h), and the heads of formats 3 to 5 come
 * with the rest of the index.
 *
 * Every conversion, and alone for formats 8 to 10 (mp_store_migrate_told),
 * gives each user the told records of format 11 (migrate_told.c); every
 * one, and alone for format 11 (mp_store_migrate_convs), splits each
 * user's conversation records into head and tail records (format 12,
 * migrate_conv.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/codec.h"
#include "ops/store.h"
#include "ops/heads.h"
#include "ops/index.h"
#include "recall/lang.h"
#include "ops/lifecycle.h"
#include "ops/migrate_conv.h"
#include "ops/migrate_told.h"
#include "status.h"
#include "ops/store_backend.h"
#include "ops/store_archive.h"
#include "ops/store_facts.h"
#include "ops/store_user.h"
#include "ops/store_read.h"

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

/* Each message of m[0..n) without a language gets one, read with the
 * language of the message before it in the same turn (its request id) as
 * the prior, as a turn's are when it is recorded (lifecycle.h). */
static void identify_turns(struct mp_mem_message *m, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        bool same_turn = i > 0 && strcmp(m[i - 1].request_id, m[i].request_id) == 0;
        mp_lifecycle_identify(&m[i], 1, same_turn ? m[i - 1].lang : MP_LANG_NONE);
    }
}

static int convert_user(struct mp_store_txn *txn, const unsigned char *phys, size_t plen)
{
    struct mp_ops_ctx w = {.s = txn->store, .txn = txn};
    int rc = mp_ops_load_phys(&w, phys, plen);
    struct mp_usermem *um = w.um;
    w.um = NULL;
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
    identify_turns(um->messages, um->nmessages);
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

/* fn (NULL: none) for every user (its physical key), then its told
 * records (when told: a store before format 11), its conversations split,
 * then this format's number. */
static int each_user(struct mp_store_txn *txn,
                     int (*fn)(struct mp_store_txn *txn, const unsigned char *phys, size_t plen),
                     bool told)
{
    struct mp_store_user_keys l = {0};
    unsigned char b[4];
    int rc = mp_store_user_keys(txn, &l);
    for (size_t i = 0; rc == MP_OK && fn != NULL && i < l.n; i++)
        rc = fn(txn, l.k[i], l.len[i]);
    for (size_t i = 0; rc == MP_OK && told && i < l.n; i++)
        rc = mp_told_backfill_user(txn, l.k[i], l.len[i]);
    for (size_t i = 0; rc == MP_OK && i < l.n; i++)
        rc = mp_conv_split_user(txn, l.k[i], l.len[i]);
    mp_store_user_keys_free(&l);
    mp_codec_le_put(b, MP_STORE_FORMAT_VERSION, 4);
    if (rc == MP_OK)
        rc = txn->store->be->put(txn, MP_TABLE_META, "format", 6, b, 4);
    return rc;
}

static int convert(struct mp_store_txn *txn)
{
    return each_user(txn, convert_user, true);
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

/* fn in one write transaction (in_one_write), a conversion from format
 * from: MP_OK, or MP_EIO with the reason in err. */
static int convert_from(struct mp_store *s, int (*fn)(struct mp_store_txn *txn), uint32_t from,
                        const char *what, char *err, size_t errcap)
{
    int rc = in_one_write(s, fn);
    if (rc == MP_OK)
        return MP_OK;
    snprintf(err, errcap, "cannot convert %s from record format %u to %u: %s", what, from,
             MP_STORE_FORMAT_VERSION,
             rc == MP_ETOOBIG ? "no space left (free disk space or raise map_size_max)"
                              : "a record could not be converted");
    return MP_EIO;
}

int mp_store_migrate(struct mp_store *s, const char *what, char *err, size_t errcap)
{
    uint32_t version = 0;
    int rc = format_of(s, &version);
    if (rc != MP_OK || version == MP_STORE_FORMAT_VERSION)
        return rc == MP_OK ? MP_OK : MP_EIO;
    return convert_from(s, convert, 2, what, err, errcap);
}

/* ---- formats 3 to 7: each message's language, the index made again ----
 *
 * The terms of formats before 8 were made by reading every text as
 * English. Each user's messages (archive and buffer) get their language
 * identified and stored, its index (docs, terms records, postings, heads)
 * is dropped and every archived message, search key and fact indexed again
 * with the terms of its language, as a new store's are; then its heads are
 * built (heads.h). */

#define DROP_BATCH 1024 /* keys deleted per scan of a range */

struct key_batch {
    unsigned char (*k)[MP_STORE_KEY_MAX];
    size_t *len;
    size_t n;
};

static int on_drop_key(void *arg, const unsigned char *key, size_t klen, const unsigned char *val,
                       size_t vlen)
{
    struct key_batch *b = arg;
    (void)val;
    (void)vlen;
    if (klen > MP_STORE_KEY_MAX)
        return MP_EIO;
    memcpy(b->k[b->n], key, klen);
    b->len[b->n++] = klen;
    return b->n == DROP_BATCH ? MP_STORE_SCAN_STOP : MP_OK;
}

/* Deletes every key of table t under prefix[0..plen): at once when the
 * backend can (PostgreSQL), else a batch of keys collected by a scan at a
 * time (a scan never runs beside its deletes). */
static int drop_range(struct mp_store_txn *txn, enum mp_store_table t, const unsigned char *prefix,
                      size_t plen)
{
    if (txn->store->be->del_prefix != NULL)
        return txn->store->be->del_prefix(txn, t, prefix, plen);
    struct key_batch b = {malloc(DROP_BATCH * sizeof(*b.k)), malloc(DROP_BATCH * sizeof(size_t)),
                          0};
    int rc = b.k != NULL && b.len != NULL ? MP_OK : MP_ENOMEM;
    do {
        b.n = 0;
        if (rc == MP_OK)
            rc = txn->store->be->scan(txn, t, prefix, plen, plen, on_drop_key, &b);
        for (size_t i = 0; rc == MP_OK && i < b.n; i++)
            rc = txn->store->be->del(txn, t, b.k[i], b.len[i]);
    } while (rc == MP_OK && b.n == DROP_BATCH);
    free(b.k);
    free(b.len);
    return rc;
}

struct id_list {
    uint64_t *v;
    size_t n, cap;
    size_t at, width; /* where the id is in a key, its bytes */
};

static int on_item_id(void *arg, const unsigned char *key, size_t klen, const unsigned char *val,
                      size_t vlen)
{
    struct id_list *l = arg;
    (void)val;
    (void)vlen;
    if (klen != l->at + l->width)
        return MP_EIO;
    if (mp_store_backend_grow(&l->v, &l->cap, l->n, sizeof(*l->v)) != MP_OK)
        return MP_ENOMEM;
    l->v[l->n++] = mp_codec_be_get(key + l->at, l->width);
    return MP_OK;
}

/* The ids of the user's records in table t (keys P | id of width bytes). */
static int list_ids(struct mp_ops_ctx *w, enum mp_store_table t, size_t width, struct id_list *l)
{
    l->at = w->plen;
    l->width = width;
    return w->s->be->scan(w->txn, t, w->prefix, w->plen, w->plen, on_item_id, l);
}

/* Archived message seq: its language identified (prior: the language of
 * the message before it in the same turn, *prev), stored and counted in
 * the user's tally (mp_codec_user), its text and search keys indexed. */
static int reindex_message(struct mp_ops_ctx *w, uint64_t seq, struct mp_mem_message *prev)
{
    unsigned char k[MP_STORE_KEY_MAX], b[8];
    struct mp_store_plain pv;
    struct mp_mem_message m = {.content = NULL};
    const unsigned char *keys = NULL;
    size_t nkeys = 0, n = 0;
    unsigned char *buf = NULL;
    mp_codec_be_put(b, seq, 8);
    size_t klen = mp_ops_key(w, k, b, 8);
    int rc = mp_ops_get_plain(w, MP_TABLE_ARCHIVE, k, klen, &pv);
    if (rc == MP_OK)
        rc = mp_codec_get_message(pv.p, pv.n, &m);
    if (rc == MP_OK)
        rc = mp_codec_get_archived_keys(pv.p, pv.n, &keys, &nkeys);
    if (rc == MP_OK) {
        bool same_turn = prev->seq + 1 == seq && strcmp(prev->request_id, m.request_id) == 0;
        mp_lifecycle_identify(&m, 1, same_turn ? prev->lang : MP_LANG_NONE);
        n = mp_codec_put_archived(NULL, &m, (const char *)keys, nkeys);
        buf = malloc(n);
        rc = buf != NULL ? MP_OK : MP_ENOMEM;
    }
    if (rc == MP_OK) /* keys point into pv: copied before it goes */
        mp_codec_put_archived(buf, &m, (const char *)keys, nkeys);
    mp_store_backend_plain_done(&pv);
    struct mp_index_item it = {
        MP_CODEC_KIND_MESSAGE, (uint32_t)seq, m.content, m.content_len, NULL, m.at_ms, m.lang};
    if (rc == MP_OK)
        rc = mp_store_backend_put(w->txn, MP_TABLE_ARCHIVE, k, klen, buf, n);
    if (rc == MP_OK)
        mp_codec_user_count_lang(&w->meta, &m, 1);
    if (rc == MP_OK && seq <= UINT32_MAX)
        rc = mp_index_add(w->txn, w->prefix, w->plen, &w->meta, &it);
    if (rc == MP_OK && seq <= UINT32_MAX && nkeys > 0) {
        rc = mp_codec_get_archived_keys(buf, n, &keys, &nkeys);
        if (rc == MP_OK)
            rc = mp_index_add_keys(w->txn, w->prefix, w->plen, &w->meta, MP_CODEC_KIND_MESSAGE,
                                   (uint32_t)seq, m.lang, (const char *)keys, nkeys);
        rc = rc == MP_NOTFOUND ? MP_OK : rc; /* no room for the keys: as when they were set */
    }
    free(buf);
    free(prev->content);
    *prev = m; /* its text is freed with the next one */
    return rc;
}

static int reindex_fact(struct mp_ops_ctx *w, uint32_t fid)
{
    unsigned char k[MP_STORE_KEY_MAX], b[4];
    struct mp_store_plain pv;
    struct mp_mem_entity e;
    mp_codec_be_put(b, fid, 4);
    int rc = mp_ops_get_plain(w, MP_TABLE_FACTS, k, mp_ops_key(w, k, b, 4), &pv);
    if (rc == MP_OK)
        rc = mp_codec_get_fact(pv.p, pv.n, &e);
    mp_store_backend_plain_done(&pv);
    if (rc != MP_OK)
        return rc;
    struct mp_index_item it = {MP_CODEC_KIND_FACT, fid, e.value, e.value_len, e.key,
                               e.observed_at_ms,   0};
    rc = mp_index_add(w->txn, w->prefix, w->plen, &w->meta, &it);
    free(e.value);
    return rc;
}

/* The buffered messages take their archived copies' language (the same
 * identification otherwise: a store that keeps no archive). */
static int buffer_langs(struct mp_ops_ctx *w)
{
    for (size_t i = 0; i < w->um->nmessages; i++) {
        struct mp_mem_message *m = &w->um->messages[i], a;
        int rc = mp_ops_archive_get(w, m->seq, &a);
        if (rc == MP_OK) {
            m->lang = a.lang;
            free(a.content);
        } else if (rc != MP_NOTFOUND) {
            return rc;
        }
    }
    identify_turns(w->um->messages, w->um->nmessages);
    return MP_OK;
}

static const enum mp_store_table index_tables[] = {MP_TABLE_DOCS, MP_TABLE_DTERMS,
                                                   MP_TABLE_POSTINGS, MP_TABLE_HEADS};

static int reindex_user(struct mp_store_txn *txn, const unsigned char *phys, size_t plen)
{
    struct mp_ops_ctx w = {.s = txn->store, .txn = txn};
    struct id_list seqs = {NULL, 0, 0, 0, 0}, fids = {NULL, 0, 0, 0, 0};
    struct mp_mem_message prev = {.seq = 0};
    int rc = mp_ops_load_phys(&w, phys, plen);
    for (size_t i = 0; rc == MP_OK && i < sizeof(index_tables) / sizeof(index_tables[0]); i++)
        rc = drop_range(txn, index_tables[i], w.prefix, w.plen);
    memset(w.meta.kinds, 0, sizeof(w.meta.kinds));
    memset(&w.meta.filter, 0, sizeof(w.meta.filter));
    memset(w.meta.langs, 0, sizeof(w.meta.langs)); /* counted as each is identified */
    w.meta.filtered = true;                        /* every term is added below */
    w.meta.version = MP_CODEC_USER_VERSION;
    if (rc == MP_OK)
        rc = list_ids(&w, MP_TABLE_ARCHIVE, 8, &seqs);
    for (size_t i = 0; rc == MP_OK && i < seqs.n; i++)
        rc = reindex_message(&w, seqs.v[i], &prev);
    if (rc == MP_OK)
        rc = list_ids(&w, MP_TABLE_FACTS, 4, &fids);
    for (size_t i = 0; rc == MP_OK && i < fids.n; i++)
        rc = reindex_fact(&w, (uint32_t)fids.v[i]);
    if (rc == MP_OK)
        rc = buffer_langs(&w);
    if (rc == MP_OK) /* the heads the adds kept are a sample: built whole */
        rc = drop_range(txn, MP_TABLE_HEADS, w.prefix, w.plen);
    if (rc == MP_OK)
        rc = mp_heads_build_user(txn, w.prefix, w.plen, &w.meta);
    w.dirty = w.exists = true;
    if (rc == MP_OK)
        rc = mp_ops_flush_user(&w);
    free(prev.content);
    free(seqs.v);
    free(fids.v);
    mp_usermem_free(w.um);
    return rc == MP_NOTFOUND ? MP_EIO : rc;
}

static int reindex(struct mp_store_txn *txn)
{
    return each_user(txn, reindex_user, true);
}

int mp_store_migrate_lang(struct mp_store *s, uint32_t from, const char *what, char *err,
                          size_t errcap)
{
    return convert_from(s, reindex, from, what, err, errcap);
}

/* ---- formats 8 to 10: the told records (and the conversations split) ---- */

static int told_only(struct mp_store_txn *txn)
{
    return each_user(txn, NULL, true);
}

int mp_store_migrate_told(struct mp_store *s, uint32_t from, const char *what, char *err,
                          size_t errcap)
{
    return convert_from(s, told_only, from, what, err, errcap);
}

/* ---- format 11: the conversations split ---- */

static int convs_only(struct mp_store_txn *txn)
{
    return each_user(txn, NULL, false);
}

int mp_store_migrate_convs(struct mp_store *s, uint32_t from, const char *what, char *err,
                           size_t errcap)
{
    return convert_from(s, convs_only, from, what, err, errcap);
}
