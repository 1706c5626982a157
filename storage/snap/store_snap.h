/* A read-only store over records fetched from another store ahead of the
 * reads: how the request path reads a store it may not wait on (the
 * PostgreSQL backend, through proxy/plane/memread.c) with the read ops
 * written once (store_view.c, store_read.c) and unchanged.
 *
 * A run is one call of any read op on the snapshot store (a view opened,
 * read and closed; mp_store_get(); mp_store_user_mode()). It answers from
 * the records fetched so far. A read of a key or a range no fetch has
 * covered yet is a miss: the get answers MP_NOTFOUND, the scan ends there,
 * and the range is noted. A run that noted misses answered from a partial
 * copy: the caller throws its answer away, fetches the misses (one batch:
 * mp_store_snap_misses()), adds what came (mp_store_snap_add(),
 * mp_store_snap_cover()) and runs again. Each round covers more, so the
 * rounds end (the caller bounds them too); the answer of a run without a
 * miss is the one the source store gives, provided every fetch saw one
 * snapshot of it (one read transaction, or one statement).
 *
 * The snapshot store carries the source's sealing (key, secret, index
 * key): it opens sealed values and makes physical user keys as the source
 * does. One thread at a time. */
#ifndef MP_STORAGE_STORE_SNAP_H
#define MP_STORAGE_STORE_SNAP_H

#include <stdbool.h>
#include <stddef.h>

#include "ops/store_backend.h"

#define MP_SNAP_FETCH_ROWS 256                    /* a scan's miss asks for this many records */
#define MP_SNAP_MISSES_MAX 64                     /* a run notes this many misses at most */
#define MP_SNAP_KEY_MAX    (MP_STORE_KEY_MAX + 1) /* a key, or a key's successor */

/* A range to fetch: the records of table t whose keys are >= lo[0..lolen)
 * and < hi[0..hilen) (hilen 0: no upper bound), in key order, at most
 * limit of them. A get's miss is the range of its one key (limit 1). */
struct mp_snap_range {
    enum mp_store_table t;
    unsigned char lo[MP_SNAP_KEY_MAX];
    size_t lolen;
    unsigned char hi[MP_SNAP_KEY_MAX];
    size_t hilen;
    unsigned limit;
};

/* A new, empty snapshot store with like's sealing (copied): MP_OK with
 * *out (free with mp_store_free()); MP_ENOMEM. */
int mp_store_snap_new(const struct mp_store *like, struct mp_store **out);

/* Forgets every record and covered range (a new snapshot begins), keeping
 * memory for the next one: a reader may reuse one snapshot store for one
 * read after another. */
void mp_store_snap_clear(struct mp_store *snap);

/* Makes dst (a snapshot store of src's sealing) hold exactly what src
 * holds: records, covered ranges and derived postings, not its misses.
 * What dst held before is forgotten. Bytes are copied, nothing decoded,
 * so a reader may keep a built snapshot and hand out copies of it. MP_OK;
 * MP_ENOMEM (dst left empty). */
int mp_store_snap_copy(struct mp_store *dst, const struct mp_store *src);

/* About how many bytes snap holds (records, rows, ranges, derivations):
 * for a cache's bound. */
size_t mp_store_snap_bytes(const struct mp_store *snap);

/* Forgets the misses noted so far: call before each run. */
void mp_store_snap_run_begin(struct mp_store *snap);

/* The misses the runs since mp_store_snap_run_begin() noted (distinct;
 * MP_SNAP_MISSES_MAX at most), in *out (valid until the next run): how
 * many. */
size_t mp_store_snap_misses(const struct mp_store *snap, const struct mp_snap_range **out);

/* Adds a fetched record (copied). Add a fetch's records, then cover its
 * range. MP_OK, MP_ENOMEM, MP_EINVAL (a key longer than
 * MP_STORE_KEY_MAX). */
int mp_store_snap_add(struct mp_store *snap, enum mp_store_table t, const unsigned char *k,
                      size_t klen, const unsigned char *v, size_t vlen);

/* Says the records of table t in [lo, hi) (hilen 0: no upper bound) are
 * all added: a key there that was not added is absent. MP_OK, MP_ENOMEM. */
int mp_store_snap_cover(struct mp_store *snap, enum mp_store_table t, const unsigned char *lo,
                        size_t lolen, const unsigned char *hi, size_t hilen);

/* Covers what the fetch of r brought, n records (added), the last of key
 * last[0..lastlen): all of r when n < r->limit, else up to just past the
 * last one. */
int mp_store_snap_cover_fetched(struct mp_store *snap, const struct mp_snap_range *r, size_t n,
                                const unsigned char *last, size_t lastlen);

/* Covers the records of the user of prefix P (u16be length | physical key,
 * store_backend.h) in table t: the one key of a table keyed by the user,
 * else every key that begins with P. */
int mp_store_snap_cover_user(struct mp_store *snap, enum mp_store_table t,
                             const unsigned char *prefix, size_t plen);

/* Adds the postings of the user of prefix P from the user's dterms (which
 * must be covered whole: each item's terms with their counts are exactly
 * its postings, index.c writes both in one transaction) and covers them:
 * a clear store's reader fetches a user's dterms and not the postings,
 * a fourth of the rows. MP_OK; MP_EUNSUPPORTED for a sealed store (its
 * posting keys are keyed hashes and its values sealed: fetch them);
 * MP_EIO (a record fails to decode), MP_ENOMEM. */
int mp_store_snap_derive_postings(struct mp_store *snap, const unsigned char *prefix, size_t plen);

/* Adds the factrank records of the user of prefix P from the user's facts
 * (which must be covered whole: a fact's rank key follows from its record,
 * store_facts.h) and covers them. MP_OK; MP_EUNSUPPORTED for a sealed
 * store; MP_EIO, MP_ENOMEM. */
int mp_store_snap_derive_factrank(struct mp_store *snap, const unsigned char *prefix, size_t plen);

/* Fetches the noted misses from the store from, in one read transaction,
 * with its primitives: how a store that blocks no one is read the same way
 * (and how the tests check a snapshot against its source). MP_OK, or the
 * store's error. */
int mp_store_snap_fetch_from(struct mp_store *snap, struct mp_store *from);

#endif
