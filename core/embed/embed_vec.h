/* A stored vector: a unit float vector quantized to one signed byte per
 * dimension with one float scale, in a little-endian record that names its
 * model. Encodes and decodes bytes only; where records live is storage's.
 *
 * The record (MP_EMBED_VEC_HEAD + dims bytes; 399 for 384 dimensions):
 *   offset 0   version, MP_EMBED_VEC_VERSION
 *   offset 1   dims, u16 little-endian, 1 to MP_EMBED_DIMS_MAX
 *   offset 3   the model's name hash, u64 little-endian (mp_embed_vec_model_hash)
 *   offset 11  scale, IEEE-754 binary32 little-endian, finite and > 0
 *   offset 15  dims codes, int8 each, in [-127, 127]
 * The codes are round(x * 127 / max|x|); the scale is chosen so that the
 * decoded vector codes[i] * scale has length exactly 1 (to float rounding),
 * so a dot product with a unit query is a cosine. For unit vectors of 384
 * dimensions the cosine of decoded to original stays above 0.999. */
#ifndef MP_CORE_EMBED_VEC_H
#define MP_CORE_EMBED_VEC_H

#include <stddef.h>
#include <stdint.h>

#define MP_EMBED_VEC_VERSION 1
#define MP_EMBED_VEC_HEAD    15

/* The bytes of a record of dims dimensions. */
#define MP_EMBED_VEC_SIZE(dims) ((size_t)MP_EMBED_VEC_HEAD + (size_t)(dims))

/* A record read in place (mp_embed_vec_view): codes points into it. */
struct mp_embed_vec {
    unsigned dims;
    uint64_t model_hash;
    float scale;
    const int8_t *codes; /* borrowed: valid while the record's bytes are */
};

/* FNV-1a 64 of the model's name model[0..len): the record's tag of which
 * model made it (a vector of another model is never compared). */
uint64_t mp_embed_vec_model_hash(const char *model, size_t len);

/* Quantizes v[0..dims) (finite, not all zero; need not be unit: its
 * direction is kept) into out[0..MP_EMBED_VEC_SIZE(dims)). Returns MP_OK
 * with *out_len; MP_EINVAL for dims 0 or over MP_EMBED_DIMS_MAX, a value
 * that is not finite, or an all-zero v; MP_ETOOBIG when cap is short.
 * out is untouched unless MP_OK. */
int mp_embed_vec_encode(const float *v, unsigned dims, uint64_t model_hash, unsigned char *out,
                        size_t cap, size_t *out_len);

/* Reads the record rec[0..len) in place. MP_OK with *out (codes borrowed
 * from rec); MP_EINVAL for another version, dims 0 or over
 * MP_EMBED_DIMS_MAX, a length other than MP_EMBED_VEC_SIZE(dims), a scale
 * that is not finite and positive, or a code of -128. *out untouched
 * unless MP_OK. */
int mp_embed_vec_view(const unsigned char *rec, size_t len, struct mp_embed_vec *out);

/* The viewed vector as floats: out[i] = codes[i] * scale, out holding
 * v->dims floats. */
void mp_embed_vec_decode(const struct mp_embed_vec *v, float *out);

#endif
