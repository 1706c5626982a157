/* The settings table (store_backend.h): a user's own memory setting, read
 * and written inside a transaction of the caller's. The op that sets it
 * and the rule it imposes on other ops are store_ops.c's. */
#ifndef MP_STORAGE_STORE_SETTINGS_H
#define MP_STORAGE_STORE_SETTINGS_H

#include <stddef.h>
#include <stdint.h>

#include "ops/store.h"
#include "ops/store_backend.h"

/* The setting of the user with physical key phys[0..len) into *mode (auto
 * when none is stored) and *set_at_ms (0 then; may be NULL): MP_OK, or
 * MP_EIO when the record cannot be read or decoded. */
int mp_settings_read(struct mp_store_txn *txn, const unsigned char *phys, size_t len,
                     enum mp_user_mode *mode, int64_t *set_at_ms);

/* Stores mode for the user (auto: removes the record): MP_OK or an error
 * of the backend. */
int mp_settings_write(struct mp_store_txn *txn, const unsigned char *phys, size_t len,
                      enum mp_user_mode mode, int64_t set_at_ms, enum mp_actor actor);

#endif
