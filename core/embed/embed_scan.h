/* The dense candidate list: a unit float query against a user's quantized
 * vectors (embed_vec.h), the best K by similarity, under a ceiling on the
 * vectors scanned. Scores only: which vectors are the user's, in what
 * order they are offered, and what the items are is the caller's. */
#ifndef MP_CORE_EMBED_SCAN_H
#define MP_CORE_EMBED_SCAN_H

#include <stddef.h>
#include <stdint.h>

/* One scored vector: its position in the arrays scanned and its cosine. */
struct mp_embed_hit {
    uint32_t item;
    float sim;
};

/* sum of q[i] * codes[i] over dims (unscaled: multiply by the vector's
 * scale for the cosine). q finite; both borrowed. */
float mp_embed_scan_dot(const float *q, const int8_t *codes, unsigned dims);

/* Scores the first min(n, max_scan) vectors: vector i has the codes
 * codes[i * dims .. (i + 1) * dims) and the scale scales[i] (the fields of
 * its record, mp_embed_vec_view), and its similarity is
 * scales[i] * mp_embed_scan_dot(q, codes + i * dims, dims). Writes the k
 * best to out[0..k) by similarity, highest first, ties by the lower item;
 * returns how many were written (min(k, vectors scanned)). *scanned, when
 * not NULL, gets the vectors scanned, so the caller can tell that the
 * ceiling cut the scan (scanned < n). Offer the vectors most worth
 * scanning first (the newest). q holds dims finite floats (a unit vector
 * for cosines); n must fit in uint32_t (larger n is scanned up to
 * UINT32_MAX); k 0 scans nothing. All arrays are borrowed; out is
 * caller-owned. */
size_t mp_embed_scan_topk(const float *q, unsigned dims, const int8_t *codes, const float *scales,
                          size_t n, size_t max_scan, struct mp_embed_hit *out, size_t k,
                          size_t *scanned);

#endif
