/* Dense scoring. The query is scaled to 16-bit integers once, so each
 * vector costs one integer dot product (16-bit by 8-bit into 32-bit sums:
 * a loop the compiler vectorizes with SSE2 alone, where a float sum is
 * never reassociated without -ffast-math); the best K are held in a min-heap
 * whose root is the worst kept, so most vectors cost one comparison after
 * their dot product. */
#include "embed/embed_scan.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

#include "embed/embed_request.h"
#include "status.h"

int mp_embed_scan_query(const float *q, unsigned dims, int16_t *q16, struct mp_embed_query *out)
{
    double m = 0.0;

    if (dims == 0 || dims > MP_EMBED_DIMS_MAX)
        return MP_EINVAL;
    for (unsigned i = 0; i < dims; i++) {
        if (!isfinite(q[i]))
            return MP_EINVAL;
        m = fmax(m, fabs((double)q[i]));
    }
    if (!(m > 0.0))
        return MP_EINVAL;
    double top = fmin(32767.0, floor(2147483647.0 / (127.0 * dims)));
    double k = top / m;
    for (unsigned i = 0; i < dims; i++)
        q16[i] = (int16_t)lrint((double)q[i] * k);
    out->q = q16;
    out->dims = dims;
    out->unit = (float)(1.0 / k);
    return MP_OK;
}

int32_t mp_embed_scan_dot(const struct mp_embed_query *q, const int8_t *codes)
{
    const int16_t *v = q->q;
    unsigned body = q->dims & ~15u;
    int32_t sum = 0;

    /* a trip count that is a multiple of 16 is what gcc's -O2 (its "very
     * cheap" cost model) vectorizes: four times faster than one loop */
    for (unsigned i = 0; i < body; i++)
        sum += (int32_t)v[i] * codes[i];
    for (unsigned i = body; i < q->dims; i++)
        sum += (int32_t)v[i] * codes[i];
    return sum;
}

/* Whether a ranks below b: lower similarity, or the same and a later item. */
static bool worse(const struct mp_embed_hit *a, const struct mp_embed_hit *b)
{
    return a->sim < b->sim || (a->sim == b->sim && a->item > b->item);
}

/* Restores the min-heap (the worst at h[0]) below position i. */
static void sift_down(struct mp_embed_hit *h, size_t n, size_t i)
{
    for (;;) {
        size_t w = i, l = 2 * i + 1, r = l + 1;
        if (l < n && worse(&h[l], &h[w]))
            w = l;
        if (r < n && worse(&h[r], &h[w]))
            w = r;
        if (w == i)
            return;
        struct mp_embed_hit t = h[i];
        h[i] = h[w];
        h[w] = t;
        i = w;
    }
}

static void sift_up(struct mp_embed_hit *h, size_t i)
{
    while (i > 0 && worse(&h[i], &h[(i - 1) / 2])) {
        struct mp_embed_hit t = h[i];
        h[i] = h[(i - 1) / 2];
        h[(i - 1) / 2] = t;
        i = (i - 1) / 2;
    }
}

size_t mp_embed_scan_topk(const struct mp_embed_query *q, const int8_t *codes, const float *scales,
                          size_t n, size_t max_scan, struct mp_embed_hit *out, size_t k,
                          size_t *scanned)
{
    size_t dims = q->dims;
    size_t todo = n < max_scan ? n : max_scan, kept = 0;

    todo = todo < UINT32_MAX ? todo : UINT32_MAX;
    for (size_t i = 0; i < todo && k > 0; i++) {
        float dot = (float)mp_embed_scan_dot(q, codes + i * dims);
        struct mp_embed_hit h = {(uint32_t)i, scales[i] * q->unit * dot};
        if (kept < k) {
            out[kept] = h;
            sift_up(out, kept++);
        } else if (worse(&out[0], &h)) {
            out[0] = h;
            sift_down(out, kept, 0);
        }
    }
    /* heap sort: the worst goes to the end, leaving the best first */
    for (size_t end = kept; end > 1; end--) {
        struct mp_embed_hit t = out[0];
        out[0] = out[end - 1];
        out[end - 1] = t;
        sift_down(out, end - 1, 0);
    }
    if (scanned != NULL)
        *scanned = k > 0 ? todo : 0;
    return kept;
}
