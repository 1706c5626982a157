/* Embeddings answers: validated by json_scan as a whole first, then walked
 * element by element. An element is written where its index says, so the
 * vectors come out in input order whatever order the server sent; a bitmap
 * of the indexes seen catches repeats, and the count catches gaps. */
#include "embed/embed_answer.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "embed/embed_request.h"
#include "json/json_num.h"
#include "json/json_scan.h"
#include "status.h"

static const char *const verdict_names[MP_EMBED_VERDICTS] = {
    "ok",        "too_big", "not_json",  "no_data", "count",     "bad_item", "bad_index",
    "dup_index", "dims",    "nonfinite", "zero",    "bad_model", "args",
};

const char *mp_embed_answer_verdict_name(enum mp_embed_verdict v)
{
    if ((unsigned)v >= MP_EMBED_VERDICTS)
        return "unknown";
    return verdict_names[v];
}

/* Whether the bytes hold a bare NaN or Infinity outside every string: the
 * reason a body that is not JSON was refused, when it is. Strings are
 * skipped by their quotes and backslashes; nothing else is judged. */
static bool bare_nonfinite(const char *s, size_t len)
{
    bool in_str = false;

    for (size_t i = 0; i < len; i++) {
        if (in_str) {
            if (s[i] == '\\')
                i++; /* the escaped byte is no quote */
            else if (s[i] == '"')
                in_str = false;
            continue;
        }
        if (s[i] == '"')
            in_str = true;
        else if (s[i] == 'N' && len - i >= 3 && memcmp(s + i, "NaN", 3) == 0)
            return true;
        else if (s[i] == 'I' && len - i >= 8 && memcmp(s + i, "Infinity", 8) == 0)
            return true;
    }
    return false;
}

/* A non-negative integer literal of at most 18 digits (no sign, fraction
 * or exponent), or -1. */
static int64_t small_uint(const char *b, size_t s, size_t e)
{
    int64_t v = 0;

    if (e <= s || e - s > 18)
        return -1;
    for (size_t i = s; i < e; i++) {
        if (b[i] < '0' || b[i] > '9')
            return -1;
        v = v * 10 + (b[i] - '0');
    }
    return v;
}

/* Reads the numbers of one embedding array into v[0..dims) and scales
 * them to unit length. */
static enum mp_embed_verdict read_vector(const char *b, size_t s, size_t e, unsigned dims, float *v)
{
    size_t cur = 0, vs, ve, k = 0;
    double sum = 0.0;

    while (mp_json_next(b, s, e, &cur, NULL, NULL, &vs, &ve) == MP_OK) {
        if (b[vs] != '-' && (b[vs] < '0' || b[vs] > '9'))
            return MP_EMBED_BAD_ITEM;
        if (k == dims)
            return MP_EMBED_DIMS;
        double x = mp_json_num_value(b + vs, ve - vs);
        if (!isfinite(x) || fabs(x) > FLT_MAX)
            return MP_EMBED_NONFINITE;
        v[k++] = (float)x;
        sum += (double)v[k - 1] * v[k - 1];
    }
    if (k != dims)
        return MP_EMBED_DIMS;
    if (sum == 0.0)
        return MP_EMBED_ZERO;
    double inv = 1.0 / sqrt(sum);
    for (size_t i = 0; i < dims; i++)
        v[i] = (float)(v[i] * inv);
    return MP_EMBED_OK;
}

/* One element of data, the pos-th: its index, then its vector. */
static enum mp_embed_verdict read_item(const char *b, size_t s, size_t e, size_t pos, size_t n,
                                       unsigned dims, unsigned char *seen, float *vecs)
{
    static const char *const keys[] = {"index", "embedding"};
    size_t sp[2][2];
    size_t idx = pos;

    if (b[s] != '{' || mp_json_members_in(b, s, e, keys, 2, sp) != MP_OK)
        return MP_EMBED_BAD_ITEM;
    if (sp[1][0] == 0 || b[sp[1][0]] != '[')
        return MP_EMBED_BAD_ITEM;
    if (sp[0][0] != 0) {
        int64_t v = small_uint(b, sp[0][0], sp[0][1]);
        if (v < 0 || (uint64_t)v >= n)
            return MP_EMBED_BAD_INDEX;
        idx = (size_t)v;
    }
    if (seen[idx])
        return MP_EMBED_DUP_INDEX;
    seen[idx] = 1;
    return read_vector(b, sp[1][0], sp[1][1], dims, vecs + idx * dims);
}

static enum mp_embed_verdict read_data(const char *b, size_t s, size_t e, size_t n, unsigned dims,
                                       float *vecs)
{
    unsigned char seen[MP_EMBED_BATCH_MAX] = {0};
    size_t cur = 0, es, ee, k = 0;

    while (mp_json_next(b, s, e, &cur, NULL, NULL, &es, &ee) == MP_OK) {
        if (k == n)
            return MP_EMBED_COUNT;
        enum mp_embed_verdict v = read_item(b, es, ee, k, n, dims, seen, vecs);
        if (v != MP_EMBED_OK)
            return v;
        k++;
    }
    return k == n ? MP_EMBED_OK : MP_EMBED_COUNT;
}

/* The answer's model name into a->model; absent is "". */
static enum mp_embed_verdict read_model(const char *b, size_t s, size_t e,
                                        struct mp_embed_answer *a)
{
    size_t n = 0;

    if (s != 0) {
        if (b[s] != '"' ||
            mp_json_string_decode(b, s, e, a->model, MP_EMBED_MODEL_MAX, &n) != MP_OK)
            return MP_EMBED_BAD_MODEL;
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)a->model[i] < 0x20 || a->model[i] == 0x7F)
                return MP_EMBED_BAD_MODEL;
    }
    a->model[n] = '\0';
    a->model_len = n;
    return MP_EMBED_OK;
}

/* usage.prompt_tokens when it is there and sound; nothing is refused. */
static void read_usage(const char *b, size_t s, size_t e, struct mp_embed_answer *a)
{
    static const char *const keys[] = {"prompt_tokens"};
    size_t sp[1][2];

    a->has_tokens = false;
    a->prompt_tokens = 0;
    if (s == 0 || b[s] != '{' || mp_json_members_in(b, s, e, keys, 1, sp) != MP_OK)
        return;
    int64_t v = sp[0][0] != 0 ? small_uint(b, sp[0][0], sp[0][1]) : -1;
    if (v >= 0) {
        a->has_tokens = true;
        a->prompt_tokens = (uint64_t)v;
    }
}

enum mp_embed_verdict mp_embed_answer_parse(const char *body, size_t len, size_t cap, size_t n,
                                            unsigned dims, float *vecs, struct mp_embed_answer *ans)
{
    static const char *const keys[] = {"model", "data", "usage"};
    size_t sp[3][2];
    struct mp_embed_answer a;
    enum mp_embed_verdict v;

    if (n == 0 || n > MP_EMBED_BATCH_MAX || dims == 0 || dims > MP_EMBED_DIMS_MAX)
        return MP_EMBED_ARGS;
    if (len > cap)
        return MP_EMBED_TOO_BIG;
    if (body == NULL || mp_json_members_in(body, 0, len, keys, 3, sp) != MP_OK)
        return body != NULL && bare_nonfinite(body, len) ? MP_EMBED_NONFINITE : MP_EMBED_NOT_JSON;
    v = read_model(body, sp[0][0], sp[0][1], &a);
    if (v != MP_EMBED_OK)
        return v;
    if (sp[1][0] == 0 || body[sp[1][0]] != '[')
        return MP_EMBED_NO_DATA;
    v = read_data(body, sp[1][0], sp[1][1], n, dims, vecs);
    if (v != MP_EMBED_OK)
        return v;
    read_usage(body, sp[2][0], sp[2][1], &a);
    *ans = a;
    return MP_EMBED_OK;
}

unsigned mp_embed_answer_sniff_dims(const char *s, size_t len)
{
    const char *p = memmem(s, len, "\"embedding\"", 11);
    unsigned n = 1;
    if (p == NULL || (p = memchr(p, '[', len - (size_t)(p - s))) == NULL)
        return 0;
    for (p++; p < s + len && *p != ']'; p++)
        n += *p == ',';
    return p < s + len && n <= MP_EMBED_DIMS_MAX ? n : 0;
}
