/* What a question's vector finds in one user's vectors (issue 71,
 * docs/memory-retrieval.md): the dense hits of facts and past messages
 * (storage/ops/store_vectors.h: mp_store_vectors_top) under the
 * [embeddings] max_scan ceiling, made the recall source's dense lists
 * (core/recall/recall_fuse.h) with the configured fusion. Runs where the
 * user's memory is read (a chat request's read, a search); the vector
 * itself comes from plane/qvec.h. */
#ifndef MP_PROXY_MEMVIEW_MEANING_H
#define MP_PROXY_MEMVIEW_MEANING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "ops/store_vectors.h"
#include "recall/recall_fuse.h"

struct mp_store;

/* Dense hits of each kind kept for fusion (the fusion looks at fewer). */
#define MP_MEANING_TOP_K 64

struct mp_meaning {
    struct mp_store_dense found;
    struct mp_recall_dense dense;
    struct mp_recall_fuse_params fuse;
    bool have; /* dense is set */
};

/* Scores the user's vectors of cfg's model against vec[0..dims) (a unit
 * vector; borrowed) into *mn (zeroed first): newest_seq the user's last
 * message seq (0: not known). MP_OK (have true, even with no vector
 * stored), MP_EINVAL (a vector that cannot be scanned: have false), or
 * the store's error. mp_meaning_cleanup in every case. */
int mp_meaning_find(struct mp_meaning *mn, const struct mp_config *cfg, struct mp_store *store,
                    const char *user, size_t user_len, const float *vec, unsigned dims,
                    uint64_t newest_seq);

/* The dense lists to put in a recall source (NULL: none: lexical only). */
const struct mp_recall_dense *mp_meaning_dense(const struct mp_meaning *mn);
const struct mp_recall_fuse_params *mp_meaning_fuse(const struct mp_meaning *mn);

void mp_meaning_cleanup(struct mp_meaning *mn);

#endif
