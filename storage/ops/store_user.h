/* Private to the op layer: one apply's write transaction with the head
 * record it has loaded, and the helpers the op files share. store_user.c
 * (the loaded user, keys, history) is their ground floor; store_ops.c
 * dispatches the ops, store_facts.c and store_archive.c carry those of
 * facts and of the archive. */
#ifndef MP_STORAGE_STORE_USER_H
#define MP_STORAGE_STORE_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "format/codec.h"
#include "ops/store.h"
#include "ops/store_backend.h"

/* What one op reports, kept until the whole apply commits. */
struct mp_ops_out {
    int result;
    uint64_t first_seq, last_seq; /* RECORD_TURN; ADD_JOB: the job's from/through */
    bool replaced;                /* RECORD_TURN: a known key's reply replaced */
    uint64_t job_id;
    uint32_t revision;
    bool met_given;                        /* UPSERT_ENTITY: store.h, mp_op.met_given */
    enum mp_hist_reason kept;              /* UPSERT_ENTITY: store.h, mp_op.kept */
    struct mp_sweep_counts swept;          /* SWEEP_USER */
    int64_t until_ms;                      /* CLAIM_JOB: the holder's lease when MP_ECONFLICT */
    struct mp_store_recognized recognized; /* RECORD_TURN: what recognition did */
    uint64_t stamp;                        /* PUT_CONV: the record's new stamp */
    int64_t written_ms;                    /* ... and when */
    uint32_t evicted;                      /* ... and the records it dropped */
    uint32_t count;                        /* PUT_VECTORS, DROP_VECTORS: vectors written, removed */
    struct mp_erased erased;               /* what the op erased (store.h) */
};

/* One attempt's write transaction, with the head record it has loaded. */
struct mp_ops_ctx {
    struct mp_store *s;
    struct mp_store_txn *txn;
    struct mp_usermem *um;                          /* the loaded head: summary and buffer */
    struct mp_codec_user meta;                      /* the loaded user's key, times, counters */
    unsigned char prefix[MP_STORE_USER_PREFIX_MAX]; /* P: u16be length | physical key */
    size_t plen;
    bool exists, dirty;
    uint64_t loaded_epoch;  /* the memory epoch as loaded: a moved one drops the
                               user's conversations when the head is written */
    struct mp_ops_out *out; /* the out of the op being applied: mp_ops_append_hist
                               tallies its erasures there (NULL: none) */
};

/* The kinds of MP_TABLE_CONVS's records (store_conv.c): P | kind | key. */
#define MP_OPS_CONV_STATE 0 /* a conversation's head */
#define MP_OPS_CONV_LEADS 1 /* a client id's beginnings */
#define MP_OPS_CONV_TAIL  2 /* a conversation's tail and written_ms (every head has one) */

/* The physical user key inside w->prefix. */
#define MP_OPS_PHYS(w)     ((w)->prefix + 2)
#define MP_OPS_PHYS_LEN(w) ((w)->plen - 2)

/* Whether user is the loaded one; forgets the loaded head (unwritten). */
bool mp_ops_is_loaded(const struct mp_ops_ctx *w, const char *user, size_t len);
void mp_ops_drop_user(struct mp_ops_ctx *w);
/* T(key) of a fact key after the user's prefix, into k: its length. */
size_t mp_ops_tag_key(const struct mp_ops_ctx *w, unsigned char *k, const char *key);
/* Makes user the loaded one: its head, or a fresh one (exists false). */
int mp_ops_load_user(struct mp_ops_ctx *w, const char *user, size_t len);
/* Makes the user of physical key phys[0..plen) the loaded one (a
 * conversion knows users by their physical keys): w's prefix, meta and
 * head (w->um, the caller's to free) from its record, whatever its
 * version. MP_OK, MP_NOTFOUND (no record), MP_EIO, MP_ENOMEM. */
int mp_ops_load_phys(struct mp_ops_ctx *w, const unsigned char *phys, size_t plen);
/* Writes the loaded head back when it changed. */
int mp_ops_flush_user(struct mp_ops_ctx *w);
/* Marks the head changed at now_ms (written back at the end); a head with
 * no memory epoch yet (a new user, a record from before epochs) gets one. */
void mp_ops_touch(struct mp_ops_ctx *w, int64_t now_ms);
/* Marks the head changed at now_ms by a person or by retention (a
 * correction, an erasure, a purge): a new memory epoch (usermem.h). */
void mp_ops_touch_edited(struct mp_ops_ctx *w, int64_t now_ms);
/* A fact record of the loaded user was written or removed: a new facts
 * stamp (codec.h: mp_codec_user.facts_stamp; 0 when no random bytes could
 * be drawn), written back with the head. Every write of the facts table
 * goes through store_facts.c, which calls it. */
void mp_ops_touch_facts(struct mp_ops_ctx *w);
/* Appends entries to the loaded user's history, each with the next seq
 * (fact entries also to the fact's histx); DELETED entries count in the
 * current op's erased (w->out). */
int mp_ops_append_hist(struct mp_ops_ctx *w, struct mp_history_item *ev, size_t n);
/* The key of P | suffix[0..n) into k: its length. */
size_t mp_ops_key(const struct mp_ops_ctx *w, unsigned char *k, const void *suffix, size_t n);
/* The opened value of key k in table t into *out: MP_OK, MP_NOTFOUND, or
 * an error (release *out with mp_store_backend_plain_done in every case). */
int mp_ops_get_plain(struct mp_ops_ctx *w, enum mp_store_table t, const unsigned char *k,
                     size_t klen, struct mp_store_plain *out);
/* History records: one entry written (h->seq set) or deleted. */
int mp_ops_put_hist(struct mp_ops_ctx *w, const struct mp_history_item *h);
int mp_ops_del_hist(struct mp_ops_ctx *w, uint64_t seq);

/* Deletes every record of table t whose key starts with prefix[0..plen). */
int mp_ops_del_range(struct mp_ops_ctx *w, enum mp_store_table t, const unsigned char *prefix,
                     size_t plen);

/* The histx record of a fact entry: written, deleted (MP_OK when absent). */
int mp_ops_histx_put(struct mp_ops_ctx *w, const char *key, uint64_t seq);
int mp_ops_histx_del(struct mp_ops_ctx *w, const char *key, uint64_t seq);

/* An op's import_key: MP_NOTFOUND when known (the op is skipped), else
 * remembered (MP_OK), or an error. MP_OK when the op has none. */
int mp_ops_import_key(struct mp_ops_ctx *w, const struct mp_op *op);

#endif
