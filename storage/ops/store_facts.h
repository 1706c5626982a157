/* The fact ops of the op layer (store_facts.c): see store.h for what
 * each does and store_backend.h for the records. */
#ifndef MP_STORAGE_STORE_FACTS_H
#define MP_STORAGE_STORE_FACTS_H

#include "ops/store_user.h"

/* The recent order's fields of fact e, strongest first when compared as
 * numbers: *trust_conf tier << 16 | (65535 - confidence scaled to
 * 0..65535), the tier 0 admin, 1 corrected, 2 stated, 3 inferred (an
 * agent's fact: tier 2 with 65535, after every stated fact of a confidence
 * above 0), *newer (INT64_MAX - observed time). The factrank key is these,
 * big-endian, then T(key). */
void mp_facts_rank_fields(const struct mp_mem_entity *e, uint32_t *trust_conf, uint64_t *newer);

/* P | rank | T(key) of the current fact e of the user of prefix P, into k
 * (MP_STORE_KEY_MAX bytes): its factrank key, the recent order (trust,
 * confidence, observed time newer first), ties by key (in a sealed store
 * by its tag). Its length. The value under it is the fact id (RAW, u32
 * little-endian). */
size_t mp_facts_rank_key(const struct mp_store *s, const unsigned char *prefix, size_t plen,
                         const struct mp_mem_entity *e, unsigned char *k);

/* A new current value e under a new fact id: record, key, rank, index. */
int mp_ops_add_fact(struct mp_ops_ctx *w, const struct mp_mem_entity *e);
int mp_ops_upsert(struct mp_ops_ctx *w, const struct mp_op *op, struct mp_ops_out *out);
/* The current value of key: MP_OK with *fid and *e (e->value: caller
 * frees), MP_NOTFOUND, or an error. */
int mp_ops_find_fact(struct mp_ops_ctx *w, const char *key, uint32_t *fid, struct mp_mem_entity *e);
/* Removes fact fid (e: its record) with its key, rank and postings. */
int mp_ops_remove_fact(struct mp_ops_ctx *w, uint32_t fid, const struct mp_mem_entity *e);
/* Erasure: key's past values leave the history (the entries stay). */
int mp_ops_strip_history(struct mp_ops_ctx *w, const char *key);
/* Whether key's history still holds a value (*any): a SUPERSEDED or KEPT
 * entry's not yet stripped. */
int mp_ops_history_has_values(struct mp_ops_ctx *w, const char *key, bool *any);

/* SET_SUMMARY's rule (store.h): the summary just written to the loaded
 * head, which folds messages said at or after since (ms), loses the
 * sentences that hold a value a person displaced, or a given value kept
 * out, at or after since, of a key whose current value is still given
 * outright. *ev: the FILTERED
 * entry (count 0: nothing dropped, no entry). */
int mp_ops_filter_fold(struct mp_ops_ctx *w, const struct mp_op *op, int64_t since,
                       struct mp_history_item *ev);
/* Retention of the loaded user's facts: removes the expired ones; *ev
 * (caller frees) their EXPIRED entries, by key descending, to append. */
int mp_ops_sweep_facts(struct mp_ops_ctx *w, const struct mp_op *op, struct mp_sweep_counts *c,
                       struct mp_history_item **ev, size_t *nev);
/* A replaced reply (RECORD_TURN of a known idem key): removes the loaded
 * user's facts told by the assistant alone in a turn that ended in one
 * of seqs [from, through] (source_role assistant, source_last_seq in the
 * range); *ev (caller frees, also on an error) their DELETED entries
 * (actor op's), *nev their number. */
int mp_ops_drop_reply_facts(struct mp_ops_ctx *w, const struct mp_op *op, uint64_t from,
                            uint64_t through, struct mp_history_item **ev, size_t *nev);
/* Retraction (store_whose.c): removes the loaded user's current facts
 * pick() takes, their history kept; each value's sentences leave the
 * summary too (mp_lifecycle_filter_summary). *ev (caller frees, also on
 * an error) gets a DELETED entry per fact and a FILTERED one per summary
 * change, of op's actor; *nev their number. */
int mp_ops_retract_facts(struct mp_ops_ctx *w, const struct mp_op *op,
                         bool (*pick)(const struct mp_mem_entity *e, const void *arg),
                         const void *arg, struct mp_history_item **ev, size_t *nev);
/* [governance] history_per_fact for the subject of added. */
int mp_ops_cap_history(struct mp_ops_ctx *w, const struct mp_history_item *added);

#endif
