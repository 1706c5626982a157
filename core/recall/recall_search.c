/* Search over a recall source (recall_search.h). The question is parsed
 * once and scored against each index as the relevant strategy does; only
 * the order differs (score, not value per token). */
#include "recall/recall_search.h"

#include <stdlib.h>
#include <string.h>

#include "recall/recall_fuse.h"
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

/* Fused: those above the floor first (by fused score), then the rest
 * (by lexical score). */
static int by_found(const void *a, const void *b)
{
    const struct mp_recall_found *x = a, *y = b;
    if (x->above != y->above)
        return x->above ? -1 : 1;
    return by_score(a, b);
}

/* Appends the hits of ix (kind), fused with the source's dense hits of
 * kind when it has them, to list[*n..), the best MP_RECALL_SEARCH_MAX. */
static int score_kind(const struct mp_relevance_question *qn, const struct mp_recall_source *src,
                      const struct mp_relevance_index *ix, enum mp_relevance_kind kind,
                      struct mp_recall_found **list, size_t *n)
{
    struct mp_relevance_params rp;
    struct mp_relevance_hit *hits = NULL;
    struct mp_recall_fused *f = NULL;
    struct mp_recall_fuse_params fp;
    size_t nhits = 0, nf = 0;
    const struct mp_recall_dense_list *dl = src->dense == NULL           ? NULL
                                            : kind == MP_RELEVANCE_FACTS ? &src->dense->facts
                                                                         : &src->dense->turns;
    int rc = ix != NULL && qn != NULL
                 ? mp_relevance_score_kind(qn, ix, kind, MP_RECALL_SEARCH_MAX, &rp, &hits, &nhits)
                 : MP_OK;
    if (src->fuse != NULL)
        fp = *src->fuse;
    else
        mp_recall_fuse_defaults(&fp);
    if (dl == NULL)
        fp.weight = 0;
    if (rc == MP_OK && (nhits > 0 || (ix != NULL && dl != NULL)))
        rc = mp_recall_fuse(kind, hits, nhits, dl, &fp, &f, &nf);
    free(hits);
    if (rc != MP_OK || nf == 0)
        return rc;
    struct mp_recall_found *grown = realloc(*list, (*n + nf) * sizeof(*grown));
    if (grown == NULL) {
        free(f);
        return MP_ENOMEM;
    }
    *list = grown;
    struct mp_recall_found *mine = grown + *n;
    memset(mine, 0, nf * sizeof(*mine)); /* padding too: a page compares as bytes */
    size_t k = 0;
    for (size_t i = 0; i < nf; i++) {
        double score = fp.weight > 0 && f[i].above ? f[i].score : f[i].lex_score;
        mine[k].fact = kind == MP_RELEVANCE_FACTS;
        mine[k].id = f[i].item;
        mine[k].score = score;
        mine[k].holds = f[i].holds;
        mine[k].beside = f[i].beside;
        mine[k].lex_rank = f[i].lex_rank;
        mine[k].dense_rank = f[i].dense_rank;
        mine[k].sim = f[i].sim;
        mine[k].above = f[i].above;
        k++;
    }
    free(f);
    qsort(mine, k, sizeof(*mine), fp.weight > 0 ? by_found : by_score);
    *n += k < MP_RECALL_SEARCH_MAX ? k : MP_RECALL_SEARCH_MAX;
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
        rc = score_kind(qn, src, src->facts, MP_RELEVANCE_FACTS, &list, &got);
    if (rc == MP_OK && messages)
        rc = score_kind(qn, src, src->turns, MP_RELEVANCE_TURNS, &list, &got);
    free(qn);
    if (rc != MP_OK) {
        free(list);
        return rc;
    }
    if (got > 0)
        qsort(list, got, sizeof(*list), src->dense != NULL ? by_found : by_score);
done:
    *out = list;
    *n = got;
    return rc;
}
