/* Search over a recall source (recall_search.h). The question is parsed
 * once and scored against each index as the relevant strategy does; only
 * the order differs (score, not value per token). */
#include "recall/recall_search.h"

#include <stdlib.h>
#include <string.h>

#include "recall/relevance.h"
#include "status.h"

static int by_score(const void *a, const void *b)
{
    const struct mp_recall_found *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    if (x->fact != y->fact)
        return x->fact ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Appends the hits of ix (kind) to list[*n..), the best MP_RECALL_SEARCH_MAX. */
static int score_kind(const struct mp_relevance_question *qn, const struct mp_relevance_index *ix,
                      enum mp_relevance_kind kind, struct mp_recall_found **list, size_t *n)
{
    struct mp_relevance_params rp;
    struct mp_relevance_hit *hits;
    size_t nhits;
    int rc = mp_relevance_score_kind(qn, ix, kind, MP_RECALL_SEARCH_MAX, &rp, &hits, &nhits);
    if (rc != MP_OK || nhits == 0)
        return rc;
    struct mp_recall_found *grown = realloc(*list, (*n + nhits) * sizeof(*grown));
    if (grown == NULL) {
        free(hits);
        return MP_ENOMEM;
    }
    *list = grown;
    struct mp_recall_found *mine = grown + *n;
    memset(mine, 0, nhits * sizeof(*mine)); /* padding too: a page compares as bytes */
    for (size_t i = 0; i < nhits; i++) {
        mine[i].fact = kind == MP_RELEVANCE_FACTS;
        mine[i].id = hits[i].item;
        mine[i].score = hits[i].score;
        mine[i].holds = hits[i].holds;
        mine[i].beside = hits[i].beside;
    }
    free(hits);
    qsort(mine, nhits, sizeof(*mine), by_score);
    *n += nhits < MP_RECALL_SEARCH_MAX ? nhits : MP_RECALL_SEARCH_MAX;
    return MP_OK;
}

int mp_recall_search(struct mp_terms *terms, const struct mp_recall_source *src, const char *q,
                     size_t qlen, const char *prev, size_t prevlen, struct mp_userlang_prior *prior,
                     bool facts, bool messages, struct mp_recall_found **out, size_t *n)
{
    struct mp_relevance_question *qn = NULL;
    struct mp_recall_found *list = NULL;
    size_t got = 0;
    int rc = MP_OK;
    if (terms == NULL || src == NULL || qlen == 0)
        goto done;
    qn = malloc(sizeof(*qn)); /* about 9 KiB: not on the stack */
    if (qn == NULL)
        return MP_ENOMEM;
    rc = mp_relevance_question_parse(terms, q, qlen, prev, prevlen, prior, qn);
    if (rc == MP_OK && facts)
        rc = score_kind(qn, src->facts, MP_RELEVANCE_FACTS, &list, &got);
    if (rc == MP_OK && messages)
        rc = score_kind(qn, src->turns, MP_RELEVANCE_TURNS, &list, &got);
    free(qn);
    if (rc != MP_OK) {
        free(list);
        return rc;
    }
    if (got > 0)
        qsort(list, got, sizeof(*list), by_score);
done:
    *out = list;
    *n = got;
    return rc;
}
