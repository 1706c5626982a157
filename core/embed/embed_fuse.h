/* Reciprocal rank fusion of the two candidate lists of one question: the
 * lexical one (ranked by words) and the dense one (ranked by meaning,
 * embed_scan.h). An item's fused score is the sum over the lists that
 * hold it of 1 / (k + its rank there), ranks from 1 (Cormack, Clarke and
 * Buettcher, 2009): ranks, not scores, so the two scales never need to
 * agree. Ranks and merges ids only: what the items are is the caller's. */
#ifndef MP_CORE_EMBED_FUSE_H
#define MP_CORE_EMBED_FUSE_H

#include <stddef.h>
#include <stdint.h>

#include "embed/embed_scan.h"

/* The customary k: it damps the difference between the first ranks. */
#define MP_EMBED_RRF_K 60

/* One fused item. A rank is the 1-based position in its list, 0 when the
 * list does not hold the item; sim is the dense list's similarity (0 when
 * dense_rank is 0). */
struct mp_embed_fused {
    uint32_t item;
    uint32_t lex_rank;
    uint32_t dense_rank;
    float sim;
    double score;
};

/* Fuses lex[0..nlex) (item ids, best first) with dense[0..ndense) (best
 * first, as mp_embed_scan_topk writes them; its item fields are ids in
 * the same space as lex's) with the constant k into out, one entry per
 * distinct item: score from highest, ties by the item's better rank in
 * either list, then the lexically ranked first, then the lower id. An id
 * repeated within one list counts at its first (best) rank there. Returns
 * MP_OK with *n_out; MP_ETOOBIG when cap < nlex + ndense (out then holds
 * nothing usable); MP_EINVAL when a list is longer than UINT32_MAX / 2. Does
 * not allocate; the inputs are borrowed (lex may be NULL when nlex is 0,
 * dense when ndense is 0), out caller-owned. */
int mp_embed_fuse_rrf(const uint32_t *lex, size_t nlex, const struct mp_embed_hit *dense,
                      size_t ndense, unsigned k, struct mp_embed_fused *out, size_t cap,
                      size_t *n_out);

#endif
