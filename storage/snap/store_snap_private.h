/* The snapshot store's insides (store_snap.c), shared with the derivation
 * of tables from others (store_snap_derive.c). Nothing else includes this. */
#ifndef MP_STORAGE_STORE_SNAP_PRIVATE_H
#define MP_STORAGE_STORE_SNAP_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>

#include "snap/store_snap.h"

#define CHUNK_MIN (64 * 1024)

struct chunk {
    struct chunk *next;
    size_t used, cap;
    unsigned char data[];
};

struct row {
    const unsigned char *k, *v;
    size_t klen, vlen;
};

/* A covered range [lo, hi); hilen 0: no upper bound. */
struct span {
    unsigned char *lo, *hi; /* one allocation: lo, then hi */
    size_t lolen, hilen;
};

struct snap_table {
    struct row *rows;
    size_t nrows, cap;
    bool unsorted;
    struct span *spans;
    size_t nspans, spancap;
};

struct derive;

struct snap_store {
    struct mp_store base;
    struct chunk *chunks;
    struct snap_table tables[MP_TABLE_COUNT];
    struct mp_snap_range misses[MP_SNAP_MISSES_MAX];
    size_t nmisses;
    struct derive *postings;     /* derived from the dterms, not yet rows; NULL: none */
    struct derive *derive_spare; /* a retired derivation's arrays, for the next one */
};

struct snap_store *mp_snap_of(const struct mp_store *s);

/* n bytes that never move until the snapshot is cleared; NULL when out of
 * memory. */
unsigned char *mp_snap_chunk_alloc(struct snap_store *s, size_t n);

/* Sorts a table's records added out of order and drops repeats. */
void mp_snap_settle(struct snap_table *tb);

/* The first record of a (settled) table whose key is >= k. */
size_t mp_snap_lower_row(const struct snap_table *tb, const unsigned char *k, size_t klen);

/* ---- store_snap_derive.c: the postings derived, served before rows ---- */

/* A scan of one term's postings (start = P | T(kind | term), slen = plen)
 * from s->postings: *handled false for a scan of another shape. */
int mp_snap_derived_scan(struct snap_store *s, const unsigned char *start, size_t slen, size_t plen,
                         mp_store_scan_fn fn, void *arg, bool *handled);

/* s->postings turned into rows of the table (and freed). MP_OK, MP_ENOMEM,
 * MP_EIO. */
int mp_snap_materialize(struct snap_store *s);

/* Where a copy moved the bytes of its source's chunks (store_snap_copy.c):
 * n runs, each from[i][0..len[i]) now at to[i]. */
struct mp_snap_moved {
    const unsigned char **from;
    unsigned char **to;
    size_t *len;
    size_t n;
};

/* p (in a source chunk, or just past one's used bytes) where the copy put
 * it; NULL stays NULL. */
const unsigned char *mp_snap_moved_ptr(const struct mp_snap_moved *m, const unsigned char *p);

/* dst->postings made a copy of src's (NULL: none), its term pointers
 * moved by m. MP_OK, MP_ENOMEM. */
int mp_snap_derive_copy(struct snap_store *dst, const struct snap_store *src,
                        const struct mp_snap_moved *m);

/* The bytes a derivation holds (an estimate, for a cache's bound). */
size_t mp_snap_derive_bytes(const struct derive *d);

/* Frees derived postings. NULL: nothing. */
void mp_snap_derive_free(struct derive *d);

/* Ends s->postings (if any), keeping its arrays as s->derive_spare for the
 * next derivation. */
void mp_snap_derive_retire(struct snap_store *s);

#endif
