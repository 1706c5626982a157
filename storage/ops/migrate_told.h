/* The told records of a store converted to format 11 (migrate_told.c),
 * made from what it kept: called for every user by each conversion
 * (migrate.c), inside its write transaction. */
#ifndef MP_STORAGE_MIGRATE_TOLD_H
#define MP_STORAGE_MIGRATE_TOLD_H

#include <stddef.h>

#include "ops/store_backend.h"

/* Writes the told records of the user of physical key phys[0..plen) that
 * its facts, its history and its messages say: MP_OK or an error (MP_EIO
 * for a user record that is missing or does not decode). */
int mp_told_backfill_user(struct mp_store_txn *txn, const unsigned char *phys, size_t plen);

#endif
