/* The per-call item table of relevance scoring (see relevance_items.h). It
 * neither scores nor decides what to look at.
 *
 * Records live in one array in the order first looked at (so that a caller can
 * walk them by index while the table grows); a separate open-addressing array
 * of slots, linear probing, at most half full, maps an id to its record. Item
 * ids are arbitrary (fact ids, message sequence numbers), often consecutive:
 * a multiplicative hash spreads them. */
#include "recall/relevance_items.h"

#include <stdlib.h>
#include <string.h>

#include "status.h"

#define FIRST_RECS 256

void mp_relevance_items_init(struct mp_relevance_items *t)
{
    memset(t, 0, sizeof(*t));
}

void mp_relevance_items_cleanup(struct mp_relevance_items *t)
{
    free(t->rec);
    free(t->slot);
    mp_relevance_items_init(t);
}

/* The top bits of id times 2^32 / phi (Fibonacci hashing): strided ids spread
 * as well as consecutive ones. */
static size_t home(const struct mp_relevance_items *t, uint32_t id)
{
    return (size_t)((uint32_t)(id * UINT32_C(2654435761)) >> (32 - t->bits));
}

/* The slot holding id, or the empty slot where it would go. */
static size_t probe(const struct mp_relevance_items *t, uint32_t id)
{
    size_t s = home(t, id);
    while (t->slot[s].at != 0 && t->slot[s].id != id)
        s = (s + 1) & (t->nslot - 1);
    return s;
}

int mp_relevance_items_find(const struct mp_relevance_items *t, uint32_t id, size_t *at)
{
    if (t->nslot == 0)
        return MP_NOTFOUND;
    size_t s = probe(t, id);
    if (t->slot[s].at == 0)
        return MP_NOTFOUND;
    *at = t->slot[s].at - 1;
    return MP_OK;
}

/* Room for want records: rec, and the slots at most half full, each
 * doubled until it fits. */
static int room(struct mp_relevance_items *t, size_t want)
{
    if (want > t->cap) {
        size_t cap = t->cap ? t->cap : FIRST_RECS;
        while (cap < want && cap <= UINT32_MAX / 2)
            cap *= 2;
        if (cap < want || cap > UINT32_MAX / 2)
            return MP_ENOMEM;
        struct mp_relevance_rec *rec = realloc(t->rec, cap * sizeof(*rec));
        if (rec == NULL)
            return MP_ENOMEM;
        t->rec = rec;
        t->cap = cap;
    }
    if (2 * want <= t->nslot)
        return MP_OK;
    size_t nslot = t->nslot ? t->nslot : 2 * FIRST_RECS;
    while (nslot < 2 * want)
        nslot *= 2;
    struct mp_relevance_slot *slot = calloc(nslot, sizeof(*slot));
    if (slot == NULL)
        return MP_ENOMEM;
    free(t->slot);
    t->slot = slot;
    t->nslot = nslot;
    t->bits = 0;
    while (((size_t)1 << t->bits) < nslot)
        t->bits++;
    for (size_t k = 0; k < t->n; k++)
        t->slot[probe(t, t->rec[k].id)] =
            (struct mp_relevance_slot){t->rec[k].id, (uint32_t)(k + 1)};
    return MP_OK;
}

int mp_relevance_items_reserve(struct mp_relevance_items *t, size_t n)
{
    return n > UINT32_MAX / 2 ? MP_ENOMEM : room(t, t->n + n);
}

int mp_relevance_items_put(struct mp_relevance_items *t, uint32_t id,
                           const struct mp_relevance_item *f, size_t *at)
{
    size_t s = t->nslot > 0 ? probe(t, id) : 0;
    if (t->nslot > 0 && t->slot[s].at != 0) {
        *at = t->slot[s].at - 1;
        return MP_OK;
    }
    size_t nslot = t->nslot;
    int grc = room(t, t->n + 1);
    if (grc != MP_OK)
        return grc;
    if (t->nslot != nslot)
        s = probe(t, id);
    struct mp_relevance_rec *r = &t->rec[t->n];
    memset(r, 0, sizeof(*r));
    r->id = id;
    r->present = f != NULL;
    if (r->present)
        r->f = *f;
    t->slot[s] = (struct mp_relevance_slot){id, (uint32_t)(t->n + 1)};
    *at = t->n++;
    return MP_OK;
}

int mp_relevance_items_get(struct mp_relevance_items *t, const struct mp_relevance_index *ix,
                           uint32_t id, size_t *at)
{
    if (mp_relevance_items_find(t, id, at) == MP_OK)
        return MP_OK;
    struct mp_relevance_item f;
    int rc = ix->item(ix->ctx, id, &f);
    if (rc != MP_OK && rc != MP_NOTFOUND)
        return rc;
    return mp_relevance_items_put(t, id, rc == MP_OK ? &f : NULL, at);
}

#define MERGE_RUNS 16 /* up to this many ascending runs: merged, not radix sorted */

/* The runs of idx[0..n) ascending by id: their starts into start[0..*nruns)
 * (start[*nruns] = n); false when there are more than MERGE_RUNS. */
static bool find_runs(const struct mp_relevance_items *t, const size_t *idx, size_t n,
                      size_t start[MERGE_RUNS + 1], size_t *nruns)
{
    size_t r = 0;
    start[r++] = 0;
    for (size_t k = 1; k < n; k++) {
        if (t->rec[idx[k]].id > t->rec[idx[k - 1]].id)
            continue;
        if (r == MERGE_RUNS)
            return false;
        start[r++] = k;
    }
    start[r] = n;
    *nruns = r;
    return true;
}

/* Merges the ascending runs idx[start[i]..start[i+1]) pairwise until one is
 * left, through tmp. */
static void merge_runs(const struct mp_relevance_items *t, size_t *idx, size_t n, size_t *tmp,
                       size_t start[MERGE_RUNS + 1], size_t nruns)
{
    size_t *a = idx, *b = tmp;
    while (nruns > 1) {
        size_t m = 0;
        for (size_t r = 0; r < nruns; r += 2) {
            size_t lo = start[r], mid = start[r + 1], hi = r + 1 < nruns ? start[r + 2] : mid;
            size_t i = lo, j = mid, o = lo;
            while (i < mid && j < hi)
                b[o++] = t->rec[a[j]].id < t->rec[a[i]].id ? a[j++] : a[i++];
            while (i < mid)
                b[o++] = a[i++];
            while (j < hi)
                b[o++] = a[j++];
            start[m++] = lo;
        }
        start[m] = n;
        nruns = m;
        size_t *x = a;
        a = b;
        b = x;
    }
    if (a != idx)
        memcpy(idx, a, n * sizeof(*idx));
}

void mp_relevance_items_sort(const struct mp_relevance_items *t, size_t *idx, size_t n, size_t *tmp)
{
    size_t start[MERGE_RUNS + 1], nruns;
    if (n <= 32) { /* a few: insertion sort beats clearing the radix counts */
        for (size_t k = 1; k < n; k++) {
            size_t x = idx[k], j = k;
            for (; j > 0 && t->rec[idx[j - 1]].id > t->rec[x].id; j--)
                idx[j] = idx[j - 1];
            idx[j] = x;
        }
        return;
    }
    /* the table is mostly filled in id order (ranges of the index read
     * ascending): a few runs merge in one or two passes */
    if (find_runs(t, idx, n, start, &nruns)) {
        merge_runs(t, idx, n, tmp, start, nruns);
        return;
    }
    uint32_t diff = 0; /* the bits in which some id differs from the first */
    for (size_t k = 1; k < n; k++)
        diff |= t->rec[idx[k]].id ^ t->rec[idx[0]].id;
    size_t *a = idx, *b = tmp;
    for (unsigned shift = 0; shift < 32; shift += 8) {
        size_t count[257] = {0};
        if ((diff >> shift & 255) == 0)
            continue; /* one byte value: the pass would change nothing */
        for (size_t k = 0; k < n; k++)
            count[(t->rec[a[k]].id >> shift & 255) + 1]++;
        for (size_t v = 1; v < 257; v++)
            count[v] += count[v - 1];
        for (size_t k = 0; k < n; k++)
            b[count[t->rec[a[k]].id >> shift & 255]++] = a[k];
        size_t *x = a;
        a = b;
        b = x;
    }
    if (a != idx)
        memcpy(idx, a, n * sizeof(*idx));
}

/* Is record a worse than b by s0 (lower, ties: the higher id)? */
static bool worse(const struct mp_relevance_rec *a, const struct mp_relevance_rec *b)
{
    return a->s0 < b->s0 || (a->s0 == b->s0 && a->id > b->id);
}

/* Restores the heap order of h[0..n) (the worst record at h[0]) below i. */
static void sift(const struct mp_relevance_items *t, size_t *h, size_t n, size_t i)
{
    for (;;) {
        size_t w = i, l = 2 * i + 1, r = l + 1;
        if (l < n && worse(&t->rec[h[l]], &t->rec[h[w]]))
            w = l;
        if (r < n && worse(&t->rec[h[r]], &t->rec[h[w]]))
            w = r;
        if (w == i)
            return;
        size_t x = h[i];
        h[i] = h[w];
        h[w] = x;
        i = w;
    }
}

size_t mp_relevance_items_top(const struct mp_relevance_items *t, size_t k, size_t *out)
{
    size_t m = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (!(t->rec[i].s0 > 0))
            continue;
        if (k == 0 || m < k) {
            out[m++] = i;
            if (m == k) /* full: heapify once, the worst on top */
                for (size_t j = m / 2; j-- > 0;)
                    sift(t, out, m, j);
            continue;
        }
        if (worse(&t->rec[out[0]], &t->rec[i])) {
            out[0] = i;
            sift(t, out, m, 0);
        }
    }
    return m;
}
