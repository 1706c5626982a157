/* Search: a user's facts and archived messages that answer a query, best
 * first, for the memory search API and the MCP search tool. It scores
 * with the functions and presets injection scores with (relevance.h:
 * mp_relevance_score_question, FACTS and TURNS), so an item ranks here as
 * it competes for the block; it renders nothing and packs nothing (no
 * budget: the order is by score, not by score per token). */
#ifndef MP_CORE_RECALL_SEARCH_H
#define MP_CORE_RECALL_SEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "recall/recall.h"

struct mp_userlang_prior;

/* Items of each kind kept, the best by score: a search pages through at
 * most twice this many. */
#define MP_RECALL_SEARCH_MAX 1000

/* One item found. */
struct mp_recall_found {
    bool fact; /* a fact (id: the source's fact id), else an archived message (id: its seq) */
    uint32_t id;
    double score; /* the fused score when fused and above, else relevance's: 0 for a
                     dense hit under its floor (listed for explain, last) */
    bool holds;   /* it holds a word of the query itself (relevance.h: hit) */
    bool beside;  /* the item next to it in its session holds one */
    /* With the source's dense hits (recall_fuse.h): score is the fused
     * one, and these say where each list put the item (1-based; 0: not
     * in it) and its cosine (0: none). Without: lex_rank only. */
    uint32_t lex_rank, dense_rank;
    float sim;
    bool above; /* it passes the floor recall applies (recall.h) */
};

/* Scores q[0..qlen) (borrowed), with the optional turn before it
 * prev[0..prevlen) at lower weight (NULL: none; relevance.h), each read in
 * its language identified with the user's usual language as the prior
 * (core/recall/userlang.h; NULL: none), against
 * src's facts index (when facts) and
 * turns index (when messages) with the calling thread's tokenizer terms
 * (borrowed; NULL: nothing matches). *out (caller frees with free(); NULL
 * when *n is 0) holds the items scoring above 0 among the
 * MP_RECALL_SEARCH_MAX survivors of each kind and their windows
 * (relevance.h), and the src->dense hits of each kind (fused with them:
 * recall_fuse.h), at most MP_RECALL_SEARCH_MAX of each kind (the best),
 * by score descending (those above the floor first when fused), ties
 * facts first, then lower id: the same memory and query give the same
 * order. A missing index finds nothing of its kind. MP_OK, MP_ENOMEM, or
 * what a source callback returned; *out and *n untouched on failure. */
int mp_recall_search(struct mp_terms *terms, const struct mp_recall_source *src, const char *q,
                     size_t qlen, const char *prev, size_t prevlen, struct mp_userlang_prior *prior,
                     bool facts, bool messages, struct mp_recall_found **out, size_t *n);

#endif
