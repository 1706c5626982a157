/* The vectors table: the embedding of each archived message, fact and
 * message's search keys (a quantized record of core/embed/embed_vec.h),
 * stored beside its item, sealed like every value, erased with it. Writes
 * are ops of an apply (MP_OP_PUT_VECTORS, MP_OP_DROP_VECTORS: store.h);
 * the reads here each run in one read transaction of their own and hand
 * back copies. What makes the vectors (the embeddings client, the memory
 * jobs) and what scores them (core/embed/embed_scan.h) is not here.
 *
 * The record: key P | u8 kind | u64be item id (a fact's id, a message's
 * seq), value i64le the item's time (a message's at_ms, a fact's
 * observed_at_ms: "newest first" across kinds) | the embed_vec record.
 * 407 bytes of value at 384 dimensions, 440 sealed (MP_SEAL_OVERHEAD 33). A
 * changed fact value is a new fact id (store.h), so a vector never
 * outlives the text it was made from: an item's removal takes its vector
 * in the same write (mp_vectors_erase), a user's erasure its whole range. */
#ifndef MP_STORAGE_STORE_VECTORS_H
#define MP_STORAGE_STORE_VECTORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mp_store;
struct mp_embed_vec;
struct mp_embed_hit;
struct mp_ops_ctx;
struct mp_op;
struct mp_ops_out;

/* What a vector is of. A message's search keys are their own item (the
 * keys are set once, after the message: store.h, SET_MESSAGE_KEYS). */
enum mp_vec_kind { MP_VEC_FACT = 0, MP_VEC_MESSAGE = 1, MP_VEC_KEYS = 2, MP_VEC_KINDS };

/* An item: its kind and id (a fact id for MP_VEC_FACT, else a message
 * seq). */
struct mp_vec_item {
    uint8_t kind;
    uint64_t id;
};

/* The model a vector is current for: its name's hash
 * (mp_embed_vec_model_hash) and its dimensions. A vector of another hash
 * or dims is not current: its item is pending. */
struct mp_vec_model {
    uint64_t hash;
    unsigned dims;
};

/* One vector of MP_OP_PUT_VECTORS: rec[0..len) an embed_vec record
 * (borrowed). */
struct mp_store_vector {
    struct mp_vec_item item;
    const unsigned char *rec;
    size_t len;
};

#define MP_STORE_VECTORS_BATCH_MAX 1024 /* vectors in one PUT_VECTORS op, at most */
#define MP_STORE_VEC_VALUE_HEAD    8    /* the i64le item time before the record */

/* MP_OK when op (PUT_VECTORS or DROP_VECTORS) is well formed (store.h,
 * mp_store_check_op): u.vectors.model dims 1..MP_EMBED_DIMS_MAX; PUT: 1
 * to MP_STORE_VECTORS_BATCH_MAX items, each of a known kind, its record
 * valid (mp_embed_vec_view) and of u.vectors.model exactly. Else
 * MP_EINVAL. */
int mp_store_vectors_check_op(const struct mp_op *op);

/* ---- records (shared with store_vectors_read.c) ---- */

#define MP_VECTORS_ID_LEN 9 /* u8 kind | u64be id, after P */

/* P | kind | u64be id into k (plen + MP_VECTORS_ID_LEN bytes): its length. */
size_t mp_vectors_key(unsigned char *k, const unsigned char *prefix, size_t plen, uint8_t kind,
                      uint64_t id);

/* Whether the opened value v[0..n) is a vector current for *m (m NULL:
 * any well-formed one): then its time into *at_ms and its record, viewed
 * in place, into *out (each when not NULL). */
bool mp_vectors_current(const unsigned char *v, size_t n, const struct mp_vec_model *m,
                        int64_t *at_ms, struct mp_embed_vec *out);

/* ---- inside an apply (store_ops.c) ---- */

/* PUT_VECTORS: each item that exists now (a fact id that is a current
 * fact, an archived message, an archived message with search keys) gets
 * its vector, replacing any (of any model); an item that does not is
 * skipped (erased or changed while its text was embedded). The count
 * written goes to out->count. MP_OK or the backend's error. */
int mp_ops_put_vectors(struct mp_ops_ctx *w, const struct mp_op *op, struct mp_ops_out *out);

/* DROP_VECTORS: the user's vectors that are not current for
 * u.vectors.model go (a model change: their items are pending again
 * either way; this frees their bytes). The count removed to out->count. */
int mp_ops_drop_vectors(struct mp_ops_ctx *w, const struct mp_op *op, struct mp_ops_out *out);

/* The vector of the loaded user's item (kind, id) goes, when there is
 * one (MP_OK either way, or the backend's error). MP_VEC_MESSAGE takes
 * the message's search keys' vector too. Every removal of a fact or an
 * archived message calls it, in the same write (store_facts.c,
 * store_archive.c): erasure, retraction, supersession, retention,
 * client-text undo. */
int mp_vectors_erase(struct mp_ops_ctx *w, enum mp_vec_kind kind, uint64_t id);

/* ---- reads ---- */

/* A user's vectors of one model, newest item first, as the scan takes
 * them (embed_scan.h: mp_embed_scan_topk): vector i is items[i], its time
 * at_ms[i], its scale scales[i] and its codes codes[i * dims ..
 * (i + 1) * dims). All arrays owned (mp_store_vecs_cleanup). */
struct mp_store_vecs {
    size_t n;
    unsigned dims;
    struct mp_vec_item *items;
    int64_t *at_ms;
    float *scales;
    int8_t *codes;
};

/* The newest max (>= 1) vectors of user's that are current for *model
 * (copies: nothing points into the store), ties by kind then id, newest
 * first. Vectors of other models are passed over. Memory is bounded by
 * 2 x max vectors whatever the user holds; the walk reads every vector of
 * the user (the ceiling on scoring is the caller's max). MP_OK with *out
 * (n 0 when none; cleanup in every case), MP_EINVAL (bad user, max 0,
 * dims 0), MP_EIO (a record that does not open), MP_ENOMEM. */
int mp_store_vectors_read(struct mp_store *store, const char *user, size_t user_len,
                          const struct mp_vec_model *model, size_t max, struct mp_store_vecs *out);
void mp_store_vecs_cleanup(struct mp_store_vecs *v); /* zeroes *v; NULL-safe */

/* The dense candidates of one question (issue 71): the best k facts and
 * the best k archived messages by cosine with the question, a message
 * scoring the better of its content's and its search keys' vectors, and
 * of each kind the mean and standard deviation of every similarity
 * computed (recall_fuse.h's floor). Arrays owned (mp_store_dense_cleanup). */
struct mp_store_dense {
    struct mp_embed_hit *facts, *turns; /* item: the fact id / the seq */
    size_t nfacts, nturns;
    double mean[2], sd[2]; /* [0] facts, [1] messages */
    uint64_t counted[2];   /* similarities behind each */
    uint64_t scanned;      /* vectors scored */
    bool capped;           /* max_scan left older messages unscored */
};

/* Scores the user's vectors current for *model against q (q->dims must be
 * model->dims) in one read transaction, in place (no copy of a vector):
 * every fact's first, then the search keys' of the messages from about
 * newest_seq - L / 2 on (L: what the facts left of max_scan), then the
 * messages' own from about newest_seq - L' on (L': what the keys left):
 * when the user holds more than max_scan vectors, the older messages are
 * not scored (*capped; they are still found by words), and a user
 * without search keys gets the whole of L for the messages. newest_seq: the user's last
 * message seq (0: not known: every message is scanned within max_scan in
 * seq order). k: hits kept of each kind, 1..1024. Ids above UINT32_MAX
 * are passed over (recall's ids are 32-bit). MP_OK with *out (n 0 when
 * none; cleanup in every case), MP_EINVAL, MP_EIO, MP_ENOMEM. */
struct mp_embed_query;
int mp_store_vectors_top(struct mp_store *store, const char *user, size_t user_len,
                         const struct mp_vec_model *model, const struct mp_embed_query *q,
                         uint64_t newest_seq, size_t max_scan, size_t k,
                         struct mp_store_dense *out);
void mp_store_dense_cleanup(struct mp_store_dense *d); /* zeroes *d; NULL-safe */

/* An item without a current vector, with the text to embed (owned): a
 * fact's value (its key in key, NUL-terminated), a message's content, a
 * message's search keys; at_ms its time. */
struct mp_vec_pending {
    struct mp_vec_item item;
    int64_t at_ms;
    char *text;
    size_t text_len;
    char key[65]; /* facts: MP_ENTITY_KEY_MAX + 1; else "" */
};

/* Up to max (>= 1) of user's items that have no vector current for
 * *model, in (kind, id) order (facts, then messages, then search keys),
 * after the item *after (NULL: from the first): a backfill's page, which
 * shrinks as PUT_VECTORS writes. *more when more follow. MP_OK with *out
 * (free with mp_store_vectors_pending_free; NULL when *n is 0), MP_EINVAL,
 * MP_EIO, MP_ENOMEM. */
int mp_store_vectors_pending(struct mp_store *store, const char *user, size_t user_len,
                             const struct mp_vec_model *model, const struct mp_vec_item *after,
                             size_t max, struct mp_vec_pending **out, size_t *n, bool *more);
void mp_store_vectors_pending_free(struct mp_vec_pending *p, size_t n);

/* How many of user's items (user NULL: every user's) have no vector
 * current for *model: the gauge of what the backfill has left. A walk of
 * the users' facts and archive (a get per item) in one read transaction.
 * MP_OK with *count, MP_EINVAL, MP_EIO, MP_ENOMEM. */
int mp_store_vectors_pending_count(struct mp_store *store, const char *user, size_t user_len,
                                   const struct mp_vec_model *model, uint64_t *count);

/* What vectors take in the store: of user's (user NULL: every user's),
 * how many records (any model) and their bytes as stored (key and value,
 * sealed in a sealed store). On LMDB and PostgreSQL they are also inside
 * the store's size (mp_store_stats: map_used). MP_OK, MP_EINVAL, MP_EIO. */
int mp_store_vectors_size(struct mp_store *store, const char *user, size_t user_len,
                          uint64_t *count, uint64_t *bytes);

#endif
