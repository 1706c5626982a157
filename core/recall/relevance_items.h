/* The items one relevance call has looked at, by id: a hash table in front of
 * the index view's item() so that each id is read at most once per call, gaps
 * (MP_NOTFOUND) included, with the per-item working scores of relevance.c. Its
 * memory grows with the items looked at, never with the index. Not a cache
 * across calls: it is filled and freed within one call, so nothing goes stale. */
#ifndef MP_CORE_RELEVANCE_ITEMS_H
#define MP_CORE_RELEVANCE_ITEMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "recall/relevance.h"

/* One id looked at. Scores are relevance.c's stages (see relevance.h). */
struct mp_relevance_rec {
    uint32_t id;
    bool present;  /* false: a gap, item() answered MP_NOTFOUND; f is zero */
    bool key;      /* the item's key holds a group's own term */
    bool near;     /* a candidate (s0 > 0) or in a candidate's window */
    bool inwin;    /* met by a survivor's walk: an item of its window */
    bool window;   /* the nb_window ids on each side have been read (prefetched) */
    bool survivor; /* among the best candidates by s0 (relevance.h, survivors) */
    bool beside;   /* the item next to it in its session is a candidate (relevance.h: hit) */
    struct mp_relevance_item f;
    double s0;   /* BM25F, summed over the groups read so far */
    double best; /* the open group's best member */
    double nb;   /* the best neighbour's share */
    double s;    /* the score after the latest stage */
};

/* A slot of the hash: the id with 1 + its record's index; at 0, empty. */
struct mp_relevance_slot {
    uint32_t id, at;
};

/* Embedded by the caller; fields are read-only outside relevance_items.c.
 * rec[0..n) are the records in the order first looked at; rec moves when the
 * table grows, so hold indexes into it, not pointers, across a get. */
struct mp_relevance_items {
    struct mp_relevance_rec *rec;
    size_t n, cap;
    struct mp_relevance_slot *slot; /* open addressing, linear probing */
    size_t nslot;                   /* 2^bits, at least 2 n */
    unsigned bits;
};

/* An empty table; allocates nothing. */
void mp_relevance_items_init(struct mp_relevance_items *t);

/* Frees what the table holds and leaves it empty; the table may be reused. */
void mp_relevance_items_cleanup(struct mp_relevance_items *t);

/* Room for n more records without growing on the way (a caller that
 * knows how many may come). MP_OK or MP_ENOMEM. */
int mp_relevance_items_reserve(struct mp_relevance_items *t, size_t n);

/* *at = the index in t->rec of id's record, reading it through ix->item
 * (borrowed) the first time id is asked for; rec[*at].present tells an item
 * from a gap. MP_OK; MP_ENOMEM; or what ix->item returned other than
 * MP_NOTFOUND (the id is then not recorded). */
int mp_relevance_items_get(struct mp_relevance_items *t, const struct mp_relevance_index *ix,
                           uint32_t id, size_t *at);

/* Records id (f: its fields; NULL: a gap) unless it is recorded already;
 * *at = its record's index either way. MP_OK or MP_ENOMEM. */
int mp_relevance_items_put(struct mp_relevance_items *t, uint32_t id,
                           const struct mp_relevance_item *f, size_t *at);

/* The index of id's record without reading the view: MP_OK with *at, or
 * MP_NOTFOUND when id has not been looked at. */
int mp_relevance_items_find(const struct mp_relevance_items *t, uint32_t id, size_t *at);

/* Sorts idx[0..n), indexes into t->rec, by id ascending (ids are
 * distinct): an insertion sort for a few, a merge of the ascending runs when
 * there are at most 16 (O(n) for a table filled mostly in id order), else a
 * radix sort, O(n); tmp is scratch room for n indexes. */
void mp_relevance_items_sort(const struct mp_relevance_items *t, size_t *idx, size_t n,
                             size_t *tmp);

/* The records of t with s0 > 0, the k best by s0 (ties: the lower id
 * first; k 0: all of them) into out[0..return), in no particular order.
 * O(n log k); out holds at least t->n indexes. */
size_t mp_relevance_items_top(const struct mp_relevance_items *t, size_t k, size_t *out);

#endif
