/* Dense scoring. The dot product keeps eight partial sums so the compiler
 * can vectorize it without -ffast-math (float addition is not reassociated
 * on its own); the best K are held in a min-heap whose root is the worst
 * kept, so most vectors cost one comparison after their dot product. */
#include "embed/embed_scan.h"

#include <stdbool.h>
#include <stdlib.h>

float mp_embed_scan_dot(const float *q, const int8_t *codes, unsigned dims)
{
    float acc[8] = {0};
    unsigned i = 0;

    for (; i + 8 <= dims; i += 8)
        for (unsigned j = 0; j < 8; j++)
            acc[j] += q[i + j] * (float)codes[i + j];
    for (; i < dims; i++)
        acc[0] += q[i] * (float)codes[i];
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
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

size_t mp_embed_scan_topk(const float *q, unsigned dims, const int8_t *codes, const float *scales,
                          size_t n, size_t max_scan, struct mp_embed_hit *out, size_t k,
                          size_t *scanned)
{
    size_t todo = n < max_scan ? n : max_scan, kept = 0;

    todo = todo < UINT32_MAX ? todo : UINT32_MAX;
    for (size_t i = 0; i < todo && k > 0; i++) {
        struct mp_embed_hit h = {(uint32_t)i,
                                 scales[i] * mp_embed_scan_dot(q, codes + i * dims, dims)};
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
