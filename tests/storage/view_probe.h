/* Helpers for the index suites: what a user's view answers (storage/ops/store.h:
 * mp_store_view_*, mp_store_archive), read back through a fresh view per
 * call and checked for the invariants every answer must keep. Each fails
 * the running Check test on an error it does not return. Words are turned
 * into the index's terms with a tokenizer of their own (core/recall/terms.h). */
#ifndef MP_TESTS_STORAGE_VIEW_PROBE_H
#define MP_TESTS_STORAGE_VIEW_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "recall/relevance.h"
#include "ops/store.h"

/* A tcase's unchecked fixture: fx_setup_keys() and the tokenizer. */
void vp_setup(void);
void vp_teardown(void);

/* The term the index keeps of word (which must make one) into out
 * (MP_TERMS_MAX + 1 bytes); a date term ("@may") as it is. */
const char *vp_term_of(const char *word, char *out);

#define VP_HITS_MAX 64

/* What a view answers for one term of one kind. */
struct vp_hits {
    uint32_t df;
    size_t n; /* postings delivered (the first VP_HITS_MAX kept) */
    struct mp_relevance_posting p[VP_HITS_MAX];
};

/* The postings of word in the open view's index of facts (facts true) or
 * of the archive: df and the postings agree, come item ascending, and each
 * names an indexed item. */
struct vp_hits vp_view_hits(struct mp_store_view *v, bool facts, const char *word);

/* vp_view_hits() of a word the view samples (relevance.h: the sample):
 * df is its estimate, the postings are at most the sample, ascending. */
struct vp_hits vp_view_sample(struct mp_store_view *v, bool facts, const char *word);

/* vp_view_hits() through a fresh view of user; an unknown user has none. */
struct vp_hits vp_hits_of(struct mp_store *store, const char *user, size_t ulen, bool facts,
                          const char *word);

/* vp_hits_of()'s df. */
uint32_t vp_df(struct mp_store *store, const char *user, size_t ulen, bool facts, const char *word);

/* The one posting of word, which must have exactly one. */
struct mp_relevance_posting vp_only_hit(struct mp_store *store, const char *user, size_t ulen,
                                        bool facts, const char *word);

/* The index's n and avglen of a kind. */
struct vp_ixstats {
    uint32_t n;
    double avglen;
};
struct vp_ixstats vp_stats(struct mp_store *store, const char *user, size_t ulen, bool facts);

/* The index's item() of id: its answer, with *out. */
int vp_item(struct mp_store *store, const char *user, size_t ulen, bool facts, uint32_t id,
            struct mp_relevance_item *out);

/* Item id's content terms as "term:tc", sorted, space-separated, into out
 * (the first 64 of them); how many there are. */
size_t vp_view_item_terms(const struct mp_relevance_index *ix, uint32_t id, char *out, size_t cap);

/* vp_view_item_terms() through a fresh view: out. */
const char *vp_item_terms(struct mp_store *store, const char *user, size_t ulen, bool facts,
                          uint32_t id, char *out, size_t cap);

/* The scoring fields of an item: len and timex exact, the session, and a
 * cost that covers the item's text (bytes / 4) without inflating it. */
void vp_item_is(struct mp_store *store, const char *user, size_t ulen, bool facts, uint32_t id,
                uint32_t len, uint32_t session, bool timex, size_t text_bytes);

/* Every item of the kind has the date term year (so all items are from that
 * year): its postings list them all. Then n is their number, avglen their
 * mean len, each is readable as a fact or message, and each content term
 * it lists has its posting with the same count. */
void vp_index_consistent(struct mp_store *store, const char *user, size_t ulen, bool facts,
                         const char *year);

/* Everything user's view answers about words: the head, the facts in the
 * recent order (key, value, revision) and, per kind, the statistics and
 * each word's postings with their items. Caller frees. */
char *vp_dump(struct mp_store *store, const char *user, size_t ulen, const char *const *words,
              size_t nwords);

/* The seqs of user's whole archive, paged limit at a time, into seqs (cap):
 * how many. Fails unless each page but the last is full and says more. */
size_t vp_archive_seqs(struct mp_store *store, const char *user, size_t ulen, size_t limit,
                       uint64_t *seqs, size_t cap);

/* user's archive holds exactly the seqs listed (a 0-terminated list). */
void vp_archive_is(struct mp_store *store, const char *user, size_t ulen, const uint64_t *want);

#endif
