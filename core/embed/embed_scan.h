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

/* A query made ready for the scan: q scaled to 16-bit integers so that a
 * dot product with a vector's codes is an integer sum the compiler
 * vectorizes (several times faster than a float sum at -O2), and the
 * factor that turns such a sum back into q's units. */
struct mp_embed_query {
    const int16_t *q; /* borrowed: the caller's buffer of dims */
    unsigned dims;
    float unit;
};

/* Scales q[0..dims) (finite, not all zero) into q16[0..dims) (caller-owned)
 * and fills *out (out->q = q16). The largest magnitude becomes
 * min(32767, (2^31 - 1) / (127 * dims)), so no sum of dims products can
 * overflow; each coordinate is off by at most half a step of that scale
 * (under 2e-5 of the largest for 384 dimensions). MP_OK; MP_EINVAL for dims
 * 0 or over MP_EMBED_DIMS_MAX, a value that is not finite, or all zeros
 * (q16 and *out then untouched). */
int mp_embed_scan_query(const float *q, unsigned dims, int16_t *q16, struct mp_embed_query *out);

/* sum of q->q[i] * codes[i] over q->dims: times q->unit times the
 * vector's scale, the cosine. codes borrowed. */
int32_t mp_embed_scan_dot(const struct mp_embed_query *q, const int8_t *codes);

/* Scores the first min(n, max_scan) vectors: vector i has the codes
 * codes[i * dims .. (i + 1) * dims) (dims = q->dims) and the scale
 * scales[i] (the fields of its record, mp_embed_vec_view), and its
 * similarity is scales[i] * q->unit * mp_embed_scan_dot(q, codes + i * dims).
 * Writes the k best to out[0..k) by similarity, highest first, ties by
 * the lower item; returns how many were written (min(k, vectors
 * scanned)). *scanned, when not NULL, gets the vectors scanned, so the
 * caller can tell that the ceiling cut the scan (scanned < n). Offer the
 * vectors most worth scanning first (the newest). Past UINT32_MAX vectors
 * are not scanned; k 0 scans nothing. All arrays are borrowed; out is
 * caller-owned. */
size_t mp_embed_scan_topk(const struct mp_embed_query *q, const int8_t *codes, const float *scales,
                          size_t n, size_t max_scan, struct mp_embed_hit *out, size_t k,
                          size_t *scanned);

#endif
