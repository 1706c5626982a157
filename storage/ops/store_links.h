/* The links table (store_backend.h): since when a user's memory page
 * links are void, read and written inside a transaction of the caller's.
 * Kept apart from the user's records, under a keyed hash of the user key,
 * so that erasure, which removes the user, leaves the revocation and no
 * trace of the id. */
#ifndef MP_STORAGE_STORE_LINKS_H
#define MP_STORAGE_STORE_LINKS_H

#include <stddef.h>
#include <stdint.h>

#include "ops/store_backend.h"

/* Voids the links of user[0..len) issued before before_ms: a later time
 * than the one stored wins, an earlier one changes nothing. MP_OK, MP_EIO
 * or an error of the backend. */
int mp_links_void(struct mp_store_txn *txn, const char *user, size_t len, int64_t before_ms);

#endif
