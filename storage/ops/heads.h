/* The heads of common terms (issue 34): for a term many items hold, a
 * record beside its postings that keeps the postings of highest impact
 * (mp_relevance_impact) and the term's df, so that a question about it
 * reads one record and a short tail instead of a sample of its postings.
 *
 * The record is in the heads table (store_backend.h) under the term's
 * posting key without the id (index.h: mp_index_posting_key's first n - 4
 * bytes), so every op that moves a user's records (erasure of the user,
 * compaction, rekey, both backends) moves it too.
 *
 * It is one of two things:
 *   counter  u8 0 | u32le count: how many postings the sampled adds saw,
 *            an estimate of the term's df (MP_HEADS_EVERY per sampled add);
 *   head     u8 1 | u32le df | u32le covered | u16le n | n entries of
 *            u32le id | u16le tc | u16le tk | u8 td (index.h) | u32le len
 *            (UINT32_MAX: the posting has none): df counts every posting
 *            of an id up to covered, and the entries are the
 *            MP_HEADS_KEEP (or fewer) of them of highest impact under the
 *            kind's constants and the user's mean length when last
 *            written (ties: the lower id), in no order.
 * A posting of an id above covered is the head's tail: a reader reads it
 * from the postings (at most MP_HEADS_TAIL_MAX of them).
 *
 * Upkeep, in the transaction that changes the postings (index.c):
 *   an add    is sampled once in MP_HEADS_EVERY (a hash of the term and
 *             the id, the same in every store, so that one history makes
 *             the same records on every backend): a sampled add counts
 *             the term, builds its head once the count reaches
 *             MP_HEADS_BUILD_AT (one read of all its postings), or takes
 *             a head's tail into it once it holds MP_HEADS_TAIL_TAKE
 *             postings. Other adds cost nothing here: an added
 *             item's id is above every covered id, so it is in the tail.
 *   a rewrite of an item's postings (search keys added) and a removal
 *             update the head of each of its terms that covers the id.
 *   a head that removals left with fewer than half its entries while
 *             more items hold the term is built again by the next sampled
 *             add (a reader does not read one with fewer than
 *             MP_HEADS_READ).
 * A head's entries are the best of the postings it covers (ranked under
 * the mean length when written): while it leaves some out, a rewrite or a
 * tail taken in keeps an entry only if it ranks above the worst entry
 * before the change (the postings left out rank below that one).
 * Writer only (a write transaction), except mp_heads_key, the decoders
 * and the rankings, which the view uses. */
#ifndef MP_STORAGE_HEADS_H
#define MP_STORAGE_HEADS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "format/codec.h"
#include "ops/store.h"
#include "recall/relevance.h"
#include "ops/store_backend.h"

/* The sizes below are the release's. A build may set smaller ones with -D
 * (tests/fuzz/meson.build does, so that a short fuzz input reaches every
 * state of a record); the store's records then differ from a release's, so
 * such a build must never open a real store. */
#ifndef MP_HEADS_KEEP
#define MP_HEADS_KEEP 256 /* entries a head keeps: twice what a reader takes */
#endif
#ifndef MP_HEADS_READ
#define MP_HEADS_READ 128 /* postings of a common term a reader takes from head and tail */
#endif
#ifndef MP_HEADS_EVERY
#define MP_HEADS_EVERY 32 /* one add in this many looks at its term's record */
#endif
#ifndef MP_HEADS_BUILD_AT
#define MP_HEADS_BUILD_AT 384 /* a term counted this high gets a head */
#endif
#ifndef MP_HEADS_TAIL_TAKE
#define MP_HEADS_TAIL_TAKE 128 /* a sampled add takes in a tail this long */
#endif
#ifndef MP_HEADS_TAIL_MAX
#define MP_HEADS_TAIL_MAX 256 /* a reader reads at most this many postings after covered */
#endif

/* A reader asking whether more than cap items hold a term (cap at least
 * this, below the sample) reads this many of its postings, then, when more
 * items hold it, its head's count, which answers when above cap: reading
 * cap + 1 postings costs more than the record, and a rarer term's read no
 * more than without heads. */
#define MP_HEADS_COUNT_AT 32

/* A decoded record. */
struct mp_heads_record {
    bool head;                      /* false: a counter */
    uint32_t count;                 /* counter: the estimate; head: the df of ids up to covered */
    uint32_t covered;               /* head only */
    struct mp_relevance_posting *p; /* head: n entries, in no order; caller frees with free() */
    uint32_t n;
};

/* The record's key of (kind, term[0..tlen)) under prefix[0..plen) into k
 * (MP_STORE_KEY_MAX bytes): its length. */
size_t mp_heads_key(const struct mp_store *s, unsigned char *k, const unsigned char *prefix,
                    size_t plen, enum mp_codec_kind kind, const char *term, size_t tlen);

/* Decodes v[0..n) into *out (out->p allocated for a head with entries).
 * MP_OK, MP_EIO (not a record of this shape), MP_ENOMEM. */
int mp_heads_decode(const unsigned char *v, size_t n, struct mp_heads_record *out);

/* mp_heads_decode without the entries: out->p NULL, out->n how many. */
int mp_heads_decode_count(const unsigned char *v, size_t n, struct mp_heads_record *out);

/* Sorts p[0..n) by impact under kind's preset and avglen (> 0), highest
 * first, ties by the lower id. MP_OK or MP_ENOMEM (p untouched). */
int mp_heads_rank(struct mp_relevance_posting *p, size_t n, enum mp_codec_kind kind, double avglen);

/* p[0..*kept) becomes the best `want` of p[0..n) in the order of
 * mp_heads_rank (all of them when n <= want), ids ascending: what a reader
 * takes of a head and its tail, without ranking the rest. MP_OK or
 * MP_ENOMEM (p untouched). */
int mp_heads_best(struct mp_relevance_posting *p, size_t n, size_t want, enum mp_codec_kind kind,
                  double avglen, size_t *kept);

/* Whether the add of item id to term's postings looks at its record. */
bool mp_heads_sampled(const struct mp_store *s, enum mp_codec_kind kind, const char *term,
                      size_t tlen, uint32_t id);

/* A sampled add of item id (its posting already put): counts the term,
 * builds its head, or takes its tail in. meta gives the kind's mean
 * length. MP_OK or the backend's error. */
int mp_heads_on_add(struct mp_store_txn *txn, const unsigned char *prefix, size_t plen,
                    const struct mp_codec_user *meta, enum mp_codec_kind kind, const char *term,
                    size_t tlen, uint32_t id);

/* Item now->item's posting of term was rewritten to now (was_held: it
 * had one before): a head covering the id counts it and offers it a
 * place. MP_OK or the backend's error. */
int mp_heads_on_rewrite(struct mp_store_txn *txn, const unsigned char *prefix, size_t plen,
                        const struct mp_codec_user *meta, enum mp_codec_kind kind, const char *term,
                        size_t tlen, const struct mp_relevance_posting *now, bool was_held);

/* Item id's posting of term was removed: a head covering the id stops
 * counting it and drops its entry; a word no item holds any more loses
 * its record (its key is the word: erasure leaves none). MP_OK or the
 * backend's error. */
int mp_heads_on_remove(struct mp_store_txn *txn, const unsigned char *prefix, size_t plen,
                       enum mp_codec_kind kind, const char *term, size_t tlen, uint32_t id);

/* Builds every record of the user under prefix[0..plen) from its index
 * (its terms records, then the postings of each term held MP_HEADS_BUILD_AT
 * times or more): a head for such a term, a counter for a term held
 * MP_HEADS_EVERY times or more, what a store of this format would hold.
 * For a store written before heads (migrate.c); meta gives the mean
 * lengths. MP_OK, MP_ENOMEM, MP_EIO or the backend's error. */
int mp_heads_build_user(struct mp_store_txn *txn, const unsigned char *prefix, size_t plen,
                        const struct mp_codec_user *meta);

#endif
