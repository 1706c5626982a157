/* Hybrid retrieval's fusion (issue 71): one kind's lexical hits (what
 * relevance.h scored by words) and its dense hits (the user's vectors the
 * question's vector is nearest to, core/embed/embed_scan.h) made one
 * ranked list, with the floor recall applies (recall.h).
 *
 *   lexical hits (item, BM25F...)      dense hits (item, cosine)
 *        |  rank by score                   |  rank by similarity
 *        |  floor: recall.h's               |  floor: mean + z * sd of every
 *        v                                  v  similarity scanned, top depth
 *   lex_rank, lex score                dense_rank, sim
 *          \________________  ________________/
 *                           \/
 *        fused = lex / best lex + w * (sim - floor) / (best sim - floor)
 *                (MP_RECALL_FUSE_CONVEX), or
 *        fused = 1 / (k + lex_rank) + w / (k + dense_rank) (MP_RECALL_FUSE_RRF)
 *
 * An item passes the floor when it passes either list's floor; only the
 * list floors it passed add to its fused score. With no dense hit above
 * the dense floor, the convex fusion orders exactly as lexical scoring does
 * (every score divided by one constant): a question meaning finds nothing
 * for costs nothing. Similarities of one model sit in a narrow band (about
 * 0.73-0.83 for multilingual-e5-small), so the dense floor is relative to
 * the user's own distribution of similarities for this question, not a
 * fixed cosine. Pure: no allocation beyond the result. */
#ifndef MP_CORE_RECALL_FUSE_H
#define MP_CORE_RECALL_FUSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "embed/embed_scan.h"
#include "recall/relevance.h"

/* The dense hits of one kind for one question: best first, each item an
 * id of that kind's index (a fact id, a message seq); mean and sd of
 * every similarity the scan computed for the kind (n_scanned of them). */
struct mp_recall_dense_list {
    const struct mp_embed_hit *hits; /* borrowed */
    size_t n;
    double mean, sd;
    uint64_t n_scanned;
};

/* A question's dense hits of both kinds (struct mp_recall_source: dense). */
struct mp_recall_dense {
    struct mp_recall_dense_list facts, turns;
};

enum mp_recall_fuse_method { MP_RECALL_FUSE_CONVEX = 0, MP_RECALL_FUSE_RRF = 1 };

/* How the lists are fused. weight: the dense list's weight (0: lexical
 * only, byte for byte); floor_sd: the dense floor in standard deviations
 * above the mean; depth: dense hits looked at, at most. */
struct mp_recall_fuse_params {
    enum mp_recall_fuse_method method;
    double weight;
    double floor_sd;
    unsigned depth;
    unsigned rrf_k;
};

/* The defaults (recall_fuse.c says which set chose each). */
void mp_recall_fuse_defaults(struct mp_recall_fuse_params *p);

/* One item of the fused list. */
struct mp_recall_fused {
    uint32_t item;
    double score;        /* fused; > 0 when above */
    double lex_score;    /* relevance's score; 0: not a lexical hit */
    uint32_t lex_rank;   /* 1-based among the lexical hits by score; 0: none */
    uint32_t dense_rank; /* 1-based in the dense list; 0: none */
    float sim;           /* cosine; 0 when dense_rank is 0 */
    uint32_t tokens;     /* the lexical hit's tokens (0: ask the index) */
    bool holds, beside;  /* the lexical hit's */
    bool above;          /* passes either list's floor */
};

/* Fuses hits[0..nhits) (relevance's hits of kind, any order, score > 0)
 * with dense (NULL or n 0: none) into *out (caller frees with free(); NULL
 * when *n is 0): one entry per distinct item of either list, the lexical
 * hits all (above or not, for explain), the dense hits within p->depth;
 * sorted by fused score descending among those above, then the rest by
 * lexical score, ties by the lower id. MP_OK or MP_ENOMEM (*out, *n
 * untouched). */
int mp_recall_fuse(enum mp_relevance_kind kind, const struct mp_relevance_hit *hits, size_t nhits,
                   const struct mp_recall_dense_list *dense, const struct mp_recall_fuse_params *p,
                   struct mp_recall_fused **out, size_t *n);

#endif
