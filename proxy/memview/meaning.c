/* A question's dense hits in one user's vectors (meaning.h). */
#include "memview/meaning.h"

#include <string.h>

#include "embed/embed_request.h"
#include "embed/embed_scan.h"
#include "embed/embed_vec.h"
#include "status.h"

int mp_meaning_find(struct mp_meaning *mn, const struct mp_config *cfg, struct mp_store *store,
                    const char *user, size_t user_len, const float *vec, unsigned dims,
                    uint64_t newest_seq)
{
    int16_t q16[MP_EMBED_DIMS_MAX];
    struct mp_embed_query q;
    memset(mn, 0, sizeof(*mn));
    if (mp_embed_scan_query(vec, dims, q16, &q) != MP_OK)
        return MP_EINVAL;
    const char *model = cfg->embeddings.model;
    struct mp_vec_model m = {mp_embed_vec_model_hash(model, strlen(model)), dims};
    int rc = mp_store_vectors_top(store, user, user_len, &m, &q, newest_seq,
                                  cfg->embeddings.max_scan, MP_MEANING_TOP_K, &mn->found);
    if (rc != MP_OK)
        return rc;
    const struct mp_store_dense *f = &mn->found;
    mn->dense.facts =
        (struct mp_recall_dense_list){f->facts, f->nfacts, f->mean[0], f->sd[0], f->counted[0]};
    mn->dense.turns =
        (struct mp_recall_dense_list){f->turns, f->nturns, f->mean[1], f->sd[1], f->counted[1]};
    mp_recall_fuse_defaults(&mn->fuse);
    mn->fuse.weight = cfg->embeddings.dense_weight;
    mn->have = true;
    return MP_OK;
}

const struct mp_recall_dense *mp_meaning_dense(const struct mp_meaning *mn)
{
    return mn->have ? &mn->dense : NULL;
}

const struct mp_recall_fuse_params *mp_meaning_fuse(const struct mp_meaning *mn)
{
    return mn->have ? &mn->fuse : NULL;
}

void mp_meaning_cleanup(struct mp_meaning *mn)
{
    mp_store_dense_cleanup(&mn->found);
    memset(mn, 0, sizeof(*mn));
}
