/* Vector records: one scale per vector, not per block or per dimension,
 * because items are scored one at a time against a query and the record
 * must stay small (one byte a dimension plus a 15-byte head). */
#include "embed/embed_vec.h"

#include <math.h>
#include <string.h>

#include "embed/embed_request.h"
#include "fnv1a.h"
#include "status.h"

uint64_t mp_embed_vec_model_hash(const char *model, size_t len)
{
    return mp_fnv1a64(MP_FNV1A64_BASIS, model, len);
}

static void put_le(unsigned char *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, int bytes)
{
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* The largest magnitude of v, or -1 when a value is not finite. */
static double max_abs(const float *v, unsigned dims)
{
    double m = 0.0;
    for (unsigned i = 0; i < dims; i++) {
        if (!isfinite(v[i]))
            return -1.0;
        m = fmax(m, fabs((double)v[i]));
    }
    return m;
}

int mp_embed_vec_encode(const float *v, unsigned dims, uint64_t model_hash, unsigned char *out,
                        size_t cap, size_t *out_len)
{
    if (dims == 0 || dims > MP_EMBED_DIMS_MAX)
        return MP_EINVAL;
    double m = max_abs(v, dims);
    if (!(m > 0.0))
        return MP_EINVAL;
    if (cap < MP_EMBED_VEC_SIZE(dims))
        return MP_ETOOBIG;
    double k = 127.0 / m, sum = 0.0;
    for (unsigned i = 0; i < dims; i++) {
        long q = lrint((double)v[i] * k);
        q = q > 127 ? 127 : (q < -127 ? -127 : q);
        out[MP_EMBED_VEC_HEAD + i] = (unsigned char)(int8_t)q;
        sum += (double)(q * q);
    }
    float scale = (float)(1.0 / sqrt(sum)); /* sum >= 127 * 127: the max maps to 127 */
    uint32_t bits;
    memcpy(&bits, &scale, sizeof(bits));
    out[0] = MP_EMBED_VEC_VERSION;
    put_le(out + 1, dims, 2);
    put_le(out + 3, model_hash, 8);
    put_le(out + 11, bits, 4);
    *out_len = MP_EMBED_VEC_SIZE(dims);
    return MP_OK;
}

int mp_embed_vec_view(const unsigned char *rec, size_t len, struct mp_embed_vec *out)
{
    if (rec == NULL || len < MP_EMBED_VEC_HEAD || rec[0] != MP_EMBED_VEC_VERSION)
        return MP_EINVAL;
    unsigned dims = (unsigned)get_le(rec + 1, 2);
    uint32_t bits = (uint32_t)get_le(rec + 11, 4);
    float scale;
    memcpy(&scale, &bits, sizeof(scale));
    if (dims == 0 || dims > MP_EMBED_DIMS_MAX || len != MP_EMBED_VEC_SIZE(dims) ||
        !isfinite(scale) || !(scale > 0.0f))
        return MP_EINVAL;
    const int8_t *codes = (const int8_t *)(rec + MP_EMBED_VEC_HEAD);
    /* no early exit and a trip count that is a multiple of 16: gcc -O2
       vectorizes it (a scan views every vector it scores: embed_scan.h) */
    unsigned body = dims & ~15u;
    uint8_t bad = 0; /* bytes: sixteen to an instruction */
    for (unsigned i = 0; i < body; i++)
        bad |= (uint8_t)(codes[i] == -128);
    for (unsigned i = body; i < dims; i++)
        bad |= (uint8_t)(codes[i] == -128);
    if (bad)
        return MP_EINVAL;
    out->dims = dims;
    out->model_hash = get_le(rec + 3, 8);
    out->scale = scale;
    out->codes = codes;
    return MP_OK;
}

void mp_embed_vec_decode(const struct mp_embed_vec *v, float *out)
{
    for (unsigned i = 0; i < v->dims; i++)
        out[i] = (float)v->codes[i] * v->scale;
}
