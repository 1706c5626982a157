/* benchvec: vectors for populate's users and the dense path's cost
 * (benchvec.h). */
#include "benchvec.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "embed/embed_request.h"
#include "embed/embed_scan.h"
#include "embed/embed_vec.h"
#include "memory/usermem.h"
#include "ops/store_vectors.h"
#include "recall/recall.h"
#include "recall/recall_fuse.h"
#include "recall/terms.h"
#include "status.h"

#define PAGE     1024
#define RUNS_MAX 500
#define RUN_SECS 0.5
#define TOP_K    64 /* as proxy/memview/meaning.h's MP_MEANING_TOP_K */

static uint64_t rng = 0x2545f4914f6cdd1dULL;

static float uniform(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((double)(rng >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

static void random_vec(float *v, unsigned dims)
{
    for (unsigned i = 0; i < dims; i++)
        v[i] = uniform();
}

static struct mp_vec_model model(unsigned dims)
{
    return (struct mp_vec_model){
        mp_embed_vec_model_hash(MP_BENCHVEC_MODEL, strlen(MP_BENCHVEC_MODEL)), dims};
}

int mp_benchvec_fill(struct mp_store *store, const char *user, unsigned dims, uint64_t *written)
{
    struct mp_vec_model m = model(dims);
    size_t rl = MP_EMBED_VEC_SIZE(dims);
    unsigned char *recs = malloc(rl * PAGE);
    struct mp_store_vector *sv = calloc(PAGE, sizeof(*sv));
    float *v = malloc(dims * sizeof(float));
    int rc = recs != NULL && sv != NULL && v != NULL ? MP_OK : MP_ENOMEM;
    bool more = true;
    *written = 0;
    while (rc == MP_OK && more) {
        struct mp_vec_pending *p = NULL;
        size_t n = 0;
        rc = mp_store_vectors_pending(store, user, strlen(user), &m, NULL, PAGE, &p, &n, &more);
        for (size_t i = 0; rc == MP_OK && i < n; i++) {
            size_t got = 0;
            random_vec(v, dims);
            rc = mp_embed_vec_encode(v, dims, m.hash, recs + i * rl, rl, &got);
            sv[i] = (struct mp_store_vector){p[i].item, recs + i * rl, got};
        }
        mp_store_vectors_pending_free(p, n);
        if (rc != MP_OK || n == 0)
            break;
        struct mp_op op = {.kind = MP_OP_PUT_VECTORS, .user = user, .user_len = strlen(user)};
        op.u.vectors.items = sv;
        op.u.vectors.nitems = n;
        op.u.vectors.model = m;
        rc = mp_store_apply(store, &op, 1);
        *written += op.u.vectors.count;
    }
    free(recs);
    free(sv);
    free(v);
    return rc;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct bench {
    struct mp_store *store;
    const char *user, *q;
    struct mp_terms *terms;
    struct mp_config cfg;
    struct mp_vec_model m;
    struct mp_embed_query eq;
    bool capped;
    uint64_t scanned;
    uint64_t newest; /* the user's next message seq, as the request path passes it */
};

/* The dense lists of one question; with recall, a view and the relevant
 * recall fused with them. */
static int one(struct bench *b, bool recall)
{
    struct mp_store_dense d;
    int rc = mp_store_vectors_top(b->store, b->user, strlen(b->user), &b->m, &b->eq, b->newest,
                                  b->cfg.embeddings.max_scan, TOP_K, &d);
    if (rc != MP_OK)
        return rc;
    b->capped = d.capped;
    b->scanned = d.scanned;
    struct mp_recall_dense dense = {{d.facts, d.nfacts, d.mean[0], d.sd[0], d.counted[0]},
                                    {d.turns, d.nturns, d.mean[1], d.sd[1], d.counted[1]}};
    struct mp_recall_fuse_params fp;
    mp_recall_fuse_defaults(&fp);
    fp.weight = b->cfg.embeddings.dense_weight;
    struct mp_store_view *v = NULL;
    if (recall && (rc = mp_store_view_open(b->store, b->user, strlen(b->user), &v)) == MP_OK) {
        const struct mp_config *cfg = &b->cfg;
        struct mp_relevance_index ix[2];
        struct mp_recall_source src;
        struct mp_recall_plan plan;
        mp_store_view_source(v, &src, ix);
        src.dense = &dense;
        src.fuse = &fp;
        struct mp_recall_params p = {.sections = mp_recall_sections(MP_MEMORY_HYBRID),
                                     .budget_tokens = cfg->memory.context_budget_tokens,
                                     .retrieval = MP_RETRIEVAL_RELEVANT,
                                     .terms = b->terms,
                                     .share_profile = cfg->memory.share_profile,
                                     .share_past = cfg->memory.share_past,
                                     .share_summary = cfg->memory.share_summary,
                                     .share_buffer = cfg->memory.share_buffer};
        struct mp_recall_request rq = {.question = b->q, .question_len = strlen(b->q)};
        rc = mp_recall_relevant(mp_store_view_head(v), &src, &p, &rq, &plan);
        if (rc == MP_OK)
            mp_recall_plan_cleanup(&plan);
        mp_store_view_close(v);
    }
    mp_store_dense_cleanup(&d);
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int timed(struct bench *b, bool recall, double *mean, double *p50)
{
    static double each[RUNS_MAX];
    double t0 = mono_s();
    unsigned n = 0;
    int rc = MP_OK;
    while (rc == MP_OK && n < RUNS_MAX && (n < 3 || mono_s() - t0 < RUN_SECS)) {
        double s = mono_s();
        rc = one(b, recall);
        each[n++] = (mono_s() - s) * 1e6;
    }
    qsort(each, n, sizeof(*each), cmp_double);
    *mean = (mono_s() - t0) * 1e6 / n;
    *p50 = each[n / 2];
    return rc;
}

int mp_benchvec_time(struct mp_store *store, const char *user, const char *q, unsigned dims)
{
    struct bench *b = calloc(1, sizeof(*b));
    float *v = malloc(dims * sizeof(float));
    int16_t *q16 = malloc(dims * sizeof(int16_t));
    double dm = 0, dp = 0, hm = 0, hp = 0;
    uint64_t count = 0, bytes = 0;
    int rc = b != NULL && v != NULL && q16 != NULL ? mp_terms_new(&b->terms) : MP_ENOMEM;
    if (rc == MP_OK) {
        *b = (struct bench){
            .store = store, .user = user, .q = q, .terms = b->terms, .m = model(dims)};
        mp_config_defaults(&b->cfg);
        random_vec(v, dims);
        rc = mp_embed_scan_query(v, dims, q16, &b->eq);
    }
    struct mp_usermem *um = NULL;
    if (rc == MP_OK && mp_store_get_head(store, user, strlen(user), &um) == MP_OK) {
        b->newest = um->next_seq;
        mp_usermem_free(um);
    }
    if (rc == MP_OK)
        rc = mp_store_vectors_size(store, user, strlen(user), &count, &bytes);
    if (rc == MP_OK)
        rc = timed(b, false, &dm, &dp);
    if (rc == MP_OK)
        rc = timed(b, true, &hm, &hp);
    printf("VEC user=%s", user);
    if (rc == MP_OK)
        printf(" vectors=%" PRIu64 " vector_bytes=%" PRIu64 " dense_us=%.1f dense_p50_us=%.1f "
               "hybrid_us=%.1f hybrid_p50_us=%.1f dense_scanned=%" PRIu64 " dense_capped=%d",
               count, bytes, dm, dp, hm, hp, b->scanned, b->capped ? 1 : 0);
    printf("\n");
    if (b != NULL)
        mp_terms_free(b->terms);
    free(b);
    free(v);
    free(q16);
    return rc;
}
