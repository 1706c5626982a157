/* benchcheck: populate --question's read-back of a user (benchcheck.h).
 * Times are means of repeated runs in this process, one view each, as a
 * request opens one: no HTTP, no JSON, no injection into a body. */
#include "benchcheck.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "recall/recall.h"
#include "recall/relevance.h"
#include "status.h"
#include "recall/terms.h"

#define RUNS_MAX   2000
#define RUN_SECS   0.3
#define KINDS      2 /* facts, archive */
#define STRATEGIES 2 /* recent, relevant */

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct check {
    struct mp_store *store;
    struct mp_terms *terms;
    struct mp_config *cfg;
    const char *user, *q;
    size_t nhits[KINDS];
    unsigned long ranked; /* facts the last recall's ranked walk visited */
};

/* ---- document frequencies and scoring ---- */

struct term_df {
    struct mp_relevance_index *ix; /* [0] facts, [1] archive */
    bool first;
};

static int on_question_term(void *arg, const char *term, size_t len, uint32_t pos)
{
    struct term_df *a = arg;
    (void)pos;
    uint32_t f = a->ix[0].n > 0 ? a->ix[0].df(a->ix[0].ctx, term, len) : 0;
    uint32_t m = a->ix[1].n > 0 ? a->ix[1].df(a->ix[1].ctx, term, len) : 0;
    printf("%s%.*s:%" PRIu32 "+%" PRIu32, a->first ? "" : ",", (int)len, term, f, m);
    a->first = false;
    return MP_OK;
}

/* One view, both kinds scored as core/recall/recall_relevant.c's rank() scores
 * them (no previous turn); with df, each question term's document
 * frequencies are printed first. */
static int score_view(struct check *c, bool df)
{
    struct mp_store_view *v = NULL;
    struct mp_relevance_index ix[KINDS];
    int rc = mp_store_view_open(c->store, c->user, strlen(c->user), &v);
    if (rc != MP_OK)
        return rc;
    mp_store_view_index(v, true, &ix[0]);
    mp_store_view_index(v, false, &ix[1]);
    if (df) {
        struct term_df a = {ix, true};
        printf(" question_terms=");
        rc = mp_terms_each(c->terms, c->q, strlen(c->q), on_question_term, &a);
    }
    for (int k = 0; k < KINDS && rc == MP_OK; k++) {
        struct mp_relevance_params rp;
        struct mp_relevance_hit *hits = NULL;
        c->nhits[k] = 0;
        if (ix[k].n == 0)
            continue;
        mp_relevance_preset(k == 0 ? MP_RELEVANCE_FACTS : MP_RELEVANCE_TURNS, &rp);
        rc = mp_relevance_score(c->terms, &ix[k], &rp, c->q, strlen(c->q), NULL, 0, &hits,
                                &c->nhits[k]);
        free(hits);
    }
    mp_store_view_close(v);
    return rc;
}

/* ---- the whole recall ---- */

/* The view's source, its ranked walk counted. */
struct counted {
    struct mp_recall_source inner;
    struct check *c;
    int (*fn)(void *arg, const struct mp_mem_entity *e);
    void *arg;
};

static int on_ranked(void *arg, const struct mp_mem_entity *e)
{
    struct counted *w = arg;
    w->c->ranked++;
    return w->fn(w->arg, e);
}

static int ranked(void *ctx, int (*fn)(void *arg, const struct mp_mem_entity *e), void *arg)
{
    struct counted *w = ctx;
    w->fn = fn;
    w->arg = arg;
    return w->inner.ranked_facts(w->inner.ctx, on_ranked, w);
}

static int fact(void *ctx, uint32_t id, const struct mp_mem_entity **out)
{
    struct counted *w = ctx;
    return w->inner.fact(w->inner.ctx, id, out);
}

static int message(void *ctx, uint32_t id, struct mp_mem_message *out)
{
    struct counted *w = ctx;
    return w->inner.message(w->inner.ctx, id, out);
}

/* One view and one recall of retrieval, as proxy/plane/reqmem.c makes them. */
static int recall_view(struct check *c, enum mp_retrieval retrieval)
{
    const struct mp_config *cfg = c->cfg;
    struct mp_store_view *v = NULL;
    struct mp_relevance_index ix[KINDS];
    struct counted w = {.c = c};
    struct mp_recall_plan plan;
    int rc = mp_store_view_open(c->store, c->user, strlen(c->user), &v);
    if (rc != MP_OK)
        return rc;
    mp_store_view_source(v, &w.inner, ix);
    struct mp_recall_source src = w.inner;
    src.ctx = &w;
    src.ranked_facts = w.inner.ranked_facts != NULL ? ranked : NULL;
    src.fact = fact;
    src.message = message;
    struct mp_recall_params p = {.sections = mp_recall_sections(MP_MEMORY_HYBRID),
                                 .budget_tokens = cfg->memory.context_budget_tokens,
                                 .inject_pii = cfg->governance.inject_pii,
                                 .retrieval = retrieval,
                                 .terms = c->terms,
                                 .share_profile = cfg->memory.share_profile,
                                 .share_past = cfg->memory.share_past,
                                 .share_summary = cfg->memory.share_summary,
                                 .share_buffer = cfg->memory.share_buffer};
    struct mp_recall_request rq = {.now_ms = 0, .question = c->q, .question_len = strlen(c->q)};
    c->ranked = 0;
    rc = retrieval == MP_RETRIEVAL_RELEVANT
             ? mp_recall_relevant(mp_store_view_head(v), &src, &p, &rq, &plan)
             : mp_recall_recent(mp_store_view_head(v), &src, &p, &rq, &plan);
    if (rc == MP_OK)
        mp_recall_plan_cleanup(&plan);
    else if (rc == MP_NOTFOUND)
        rc = MP_OK;
    mp_store_view_close(v);
    return rc;
}

/* ---- timing ---- */

enum what { SCORE, RECENT, RELEVANT };

static int run(struct check *c, enum what w)
{
    switch (w) {
    case SCORE:
        return score_view(c, false);
    case RECENT:
        return recall_view(c, MP_RETRIEVAL_RECENT);
    default:
        return recall_view(c, MP_RETRIEVAL_RELEVANT);
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The mean and the median µs of w over up to RUNS_MAX runs, about RUN_SECS. */
static int timed(struct check *c, enum what w, double *us, double *p50_us, unsigned *runs)
{
    static double each[RUNS_MAX];
    double t0 = mono_s(), t = 0;
    unsigned n = 0;
    int rc = MP_OK;
    while (rc == MP_OK && n < RUNS_MAX && (n < 3 || t < RUN_SECS)) {
        double s = mono_s();
        rc = run(c, w);
        each[n++] = (mono_s() - s) * 1e6;
        t = mono_s() - t0;
    }
    qsort(each, n, sizeof(*each), cmp_double);
    *us = t * 1e6 / n;
    *p50_us = each[n / 2];
    *runs = n;
    return rc;
}

int mp_benchcheck_question(struct mp_store *store, const char *user, const char *q)
{
    struct check c = {.store = store, .user = user, .q = q};
    double us[3] = {0}, p50[3] = {0};
    unsigned long visited[STRATEGIES] = {0};
    unsigned runs = 0;
    int rc = MP_ENOMEM;
    c.cfg = malloc(sizeof(*c.cfg));
    if (c.cfg == NULL || mp_terms_new(&c.terms) != MP_OK)
        goto out;
    mp_config_defaults(c.cfg);
    printf("CHECK user=%s", user);
    rc = score_view(&c, true);
    for (int w = SCORE; w <= RELEVANT && rc == MP_OK; w++) {
        rc = timed(&c, (enum what)w, &us[w], &p50[w], &runs);
        if (w != SCORE)
            visited[w - RECENT] = c.ranked;
    }
    printf(" hits_facts=%zu hits_archive=%zu score_us=%.1f recent_us=%.1f relevant_us=%.1f "
           "relevant_p50_us=%.1f ranked_recent=%lu ranked_relevant=%lu runs=%u\n",
           c.nhits[0], c.nhits[1], us[SCORE], us[RECENT], us[RELEVANT], p50[RELEVANT], visited[0],
           visited[1], runs);
out:
    mp_terms_free(c.terms);
    free(c.cfg);
    return rc;
}
