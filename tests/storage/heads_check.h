/* What a store's heads of common terms (storage/ops/heads.h) must hold,
 * checked against the postings they stand for, and the view's read of a
 * term against ranking every posting of it. Shared by the Check suite
 * (test_store_heads.c) and the fuzz target (tests/fuzz/fuzz_heads.c), so
 * both hold the store to one contract. Neither function fails a test by
 * itself: each says what it found and the caller asserts. */
#ifndef MP_TESTS_STORAGE_HEADS_CHECK_H
#define MP_TESTS_STORAGE_HEADS_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "format/codec.h"
#include "ops/store.h"

#include "ops/heads.h"
#include "recall/relevance.h"

struct hc_postings {
    struct mp_relevance_posting *p;
    size_t n, cap;
};

/* One term of one kind of a user, as the store holds it and as a view
 * reads it. */
struct hc_term {
    bool found;               /* the term has a record (a counter or a head) */
    struct mp_heads_record r; /* the record, when found */
    struct hc_postings all;   /* every posting of the term, ids ascending */
    struct hc_postings view;  /* the postings the view gave */
    uint32_t view_df;         /* the view's df */
    uint32_t sample;          /* the view's sample (relevance.h) */
    double avglen;            /* the view's mean length of the kind */
    uint64_t view_read;       /* postings the view read from the store */
};

/* Reads term[0..tlen) (an index term, as stored) of kind for user into
 * *out: the record and every posting in one read transaction, then a
 * fresh view's df and postings (max_postings: mp_store_view_set_max_postings,
 * 0 for its default; a user the store does not know reads nothing). MP_OK
 * or the store's error; free with hc_term_free either way. */
int hc_read_term(struct mp_store *store, const char *user, size_t ulen, enum mp_codec_kind kind,
                 const char *term, size_t tlen, uint32_t max_postings, struct hc_term *out);

void hc_term_free(struct hc_term *t);

/* Whether two postings are of one item with the same fields. */
bool hc_same_posting(const struct mp_relevance_posting *a, const struct mp_relevance_posting *b);

/* What hc_check_term found besides a violation. */
struct hc_found {
    bool record;       /* the term has a record (a counter or a head) */
    bool head;         /* ... and it is a head */
    bool through_head; /* the view read the term through its head */
    size_t postings;   /* postings of the term in the store */
};

#define HC_ENTRIES_BEST 1u

/* Checks term of kind for user (hc_read_term's arguments):
 *   - no record of a term no item holds;
 *   - a head's df is the count of postings of ids up to covered; its
 *     entries are at most MP_HEADS_KEEP and its df, each a posting of the
 *     term with the same fields, of an id up to covered, none twice;
 *   - the view reading a term through its head (a head of MP_HEADS_READ
 *     entries or of its whole df, more postings than the view's sample, a
 *     tail of at most MP_HEADS_TAIL_MAX) gives the exact df and the
 *     MP_HEADS_READ postings of highest impact under the mean length now
 *     (mp_heads_rank's order), ids ascending, having read at most the
 *     head's entries and the tail. A head keeps its best under the mean
 *     length when it was written: the read is exact when the mean has not
 *     moved enough since to reorder them, which the callers' histories
 *     keep (the fuzz target's items are all of one length; the suite's
 *     histories move it little and keep twice what a read takes);
 *   - the view reading a term the sample holds whole gives every posting;
 *   - with HC_ENTRIES_BEST in flags, a head's entries are the best of the
 *     postings it covers (every posting it leaves out ranks after each of
 *     them), ranked now: for histories whose mean length never moves.
 * true when all hold; false with why (cap bytes) saying the first that did
 * not, or the store's error that stopped the check. */
bool hc_check_term(struct mp_store *store, const char *user, size_t ulen, enum mp_codec_kind kind,
                   const char *term, size_t tlen, uint32_t max_postings, unsigned flags,
                   struct hc_found *found, char *why, size_t cap);

/* How many records of user the heads table holds; SIZE_MAX on a store
 * error. */
size_t hc_head_records(struct mp_store *store, const char *user, size_t ulen);

#endif
