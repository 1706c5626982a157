/* embed_scan: the cost of the dense scan (core/embed/embed_scan.c) on this
 * machine: ns per scored vector of 384 int8 dimensions for archives of
 * 1,000 to 100,000 vectors, top 50, and the archive size where one scan
 * costs 1 ms. A tool, not a test: run it by hand, on a quiet machine:
 *   build/tests/bench/embed_scan [DIMS] */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "embed/embed_request.h"
#include "embed/embed_scan.h"
#include "embed/embed_vec.h"
#include "status.h"

#define K     50
#define SIZES 4

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static float uniform(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((double)(rng >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

/* n random vectors quantized as records, gathered into the scan's arrays. */
static int fill(unsigned dims, size_t n, int8_t *codes, float *scales)
{
    float *v = malloc(dims * sizeof(*v));
    unsigned char *rec = malloc(MP_EMBED_VEC_SIZE(dims));
    struct mp_embed_vec view;
    size_t len;
    int rc = v != NULL && rec != NULL ? MP_OK : MP_ENOMEM;

    for (size_t i = 0; rc == MP_OK && i < n; i++) {
        for (unsigned d = 0; d < dims; d++)
            v[d] = uniform();
        rc = mp_embed_vec_encode(v, dims, 1, rec, MP_EMBED_VEC_SIZE(dims), &len);
        if (rc == MP_OK)
            rc = mp_embed_vec_view(rec, len, &view);
        if (rc == MP_OK) {
            memcpy(codes + i * dims, view.codes, dims);
            scales[i] = view.scale;
        }
    }
    free(v);
    free(rec);
    return rc;
}

int main(int argc, char **argv)
{
    static const size_t sizes[SIZES] = {1000, 10000, 100000, 300000};
    unsigned dims = argc > 1 ? (unsigned)atoi(argv[1]) : 384;
    size_t max = sizes[SIZES - 1];
    int8_t *codes = malloc(max * dims);
    float *scales = malloc(max * sizeof(*scales));
    float *q = malloc(dims * sizeof(*q));
    int16_t *q16 = malloc(dims * sizeof(*q16));
    struct mp_embed_query eq;
    struct mp_embed_hit out[K];
    double worst_ns = 0;

    if (codes == NULL || scales == NULL || q == NULL || q16 == NULL || dims == 0 ||
        dims > MP_EMBED_DIMS_MAX || fill(dims, max, codes, scales) != MP_OK) {
        fprintf(stderr, "embed_scan: setup failed\n");
        return 1;
    }
    for (unsigned d = 0; d < dims; d++)
        q[d] = uniform() / 10.0f;
    if (mp_embed_scan_query(q, dims, q16, &eq) != MP_OK)
        return 1;
    printf("| vectors | dims | scan ms (best of runs) | ns per vector | vectors in 1 ms |\n"
           "|---|---|---|---|---|\n");
    for (int s = 0; s < SIZES; s++) {
        size_t n = sizes[s], scanned = 0;
        double best = 1e30;
        int runs = (int)(3000000 / n) + 3;
        for (int r = 0; r < runs; r++) {
            double t0 = now_ns();
            mp_embed_scan_topk(&eq, codes, scales, n, n, out, K, &scanned);
            double t = now_ns() - t0;
            best = t < best ? t : best;
        }
        double per = best / (double)scanned;
        worst_ns = per > worst_ns ? per : worst_ns;
        printf("| %zu | %u | %.3f | %.1f | %.0f |\n", n, dims, best / 1e6, per, 1e6 / per);
    }
    printf("\n1 ms scans at least %.0f vectors (the slowest rate above: an archive out of the "
           "caches)\n",
           1e6 / worst_ns);
    free(codes);
    free(scales);
    free(q);
    free(q16);
    return 0;
}
