/* Copying a whole store into another, across backends (LMDB to
 * PostgreSQL and back): `memproxy ctl copy-store`. The records go as they
 * are stored (sealed values stay sealed, hashed user keys stay hashed), the
 * store's meta records included, so the copy is the same store: the same
 * secret, the same key id, the same job counter, the same memory. */
#ifndef MP_STORAGE_STORE_COPY_H
#define MP_STORAGE_STORE_COPY_H

#include <stddef.h>
#include <stdint.h>

#include "ops/store.h"

struct mp_store_copy_counts {
    uint64_t records; /* every record, meta's included */
    uint64_t users;   /* records of the users table: the users copied */
};

/* Copies every record of from into to. to must hold nothing but its meta
 * records (a store just opened), and both must be in clear or sealed
 * under the same key. Writes go in transactions of at most a few thousand
 * records; a copy that fails part way leaves to partly written: remove it
 * and copy again. Nothing in from changes. MP_OK with *counts; MP_EINVAL
 * with a reason in err (to is not empty, the keys differ); MP_EIO,
 * MP_ETOOBIG (to is full), MP_ENOMEM, each with a reason. */
int mp_store_copy(struct mp_store *from, struct mp_store *to, struct mp_store_copy_counts *counts,
                  char *err, size_t errcap);

#endif
