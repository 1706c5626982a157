/* The conversations of a store converted to format 12 (migrate_conv.c):
 * format 11 kept a conversation's head and tail in one record; called for
 * every user by each conversion (migrate.c), inside its write transaction. */
#ifndef MP_STORAGE_MIGRATE_CONV_H
#define MP_STORAGE_MIGRATE_CONV_H

#include <stddef.h>

#include "ops/store_backend.h"

/* Splits each conversation record of format 11 of the user of physical
 * key phys[0..plen) into its head record (stamp, built_ms and head as they
 * were: the head is still reused) and its tail record (written_ms, the
 * tail unless it replayed messages), store_conv.c's layout. A record that
 * does not decode is dropped (its conversation builds a head again).
 * MP_OK or the backend's error. */
int mp_conv_split_user(struct mp_store_txn *txn, const unsigned char *phys, size_t plen);

#endif
