/* benchvec: retrieval by meaning's cost in populate (issue 71): every item
 * of a user given a random vector of the bench model, and the request
 * path's dense scan, fusion and hybrid recall timed on it, in process (no
 * HTTP, no embeddings call: the question's vector is random too, which
 * the scan's cost does not depend on). A measuring aid: it checks nothing. */
#ifndef MP_TESTS_BENCH_BENCHVEC_H
#define MP_TESTS_BENCH_BENCHVEC_H

#include "ops/store.h"

/* The bench model's name: vectors are current for it at dims dimensions. */
#define MP_BENCHVEC_MODEL "bench-embed"

/* Gives every item of user that has no vector one (PUT_VECTORS in
 * batches, as the backfill writes them): MP_OK with *written, or the
 * store's error. */
int mp_benchvec_fill(struct mp_store *store, const char *user, unsigned dims, uint64_t *written);

/* Prints a line "VEC user=U vectors=N vector_bytes=B dense_us=F dense_p50_us=F hybrid_us=F
 * hybrid_p50_us=F dense_scanned=N dense_capped=0|1" for user and question q (borrowed): the mean
 * and median time of the dense candidates (mp_store_vectors_top under the default [embeddings]
 * max_scan, both kinds' lists) and of a view with the whole relevant recall fused with them
 * (default configuration, hybrid mode, as proxy/plane/reqmem.c runs it), and whether max_scan cut
 * the scan. MP_OK or an error (the line may then be cut short). */
int mp_benchvec_time(struct mp_store *store, const char *user, const char *q, unsigned dims);

#endif
