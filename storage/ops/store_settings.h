/* The settings table (store_backend.h): a user's own memory setting, read
 * and written inside a transaction of the caller's. The op that sets it
 * and the rule it imposes on other ops are store_ops.c's. */
#ifndef MP_STORAGE_STORE_SETTINGS_H
#define MP_STORAGE_STORE_SETTINGS_H

#include <stddef.h>
#include <stdint.h>

#include "ops/store.h"
#include "ops/store_backend.h"

/* The whole record of one user. */
struct mp_settings {
    enum mp_user_mode mode; /* auto when none is stored */
    int64_t set_at_ms;      /* when mode was set; 0 for auto */
    unsigned char actor;    /* enum mp_actor that set it */
    int64_t links_void_ms;  /* the user's page links issued before this are void; 0: none */
};

/* The setting of the user with physical key phys[0..len) into *mode (auto
 * when none is stored) and *set_at_ms (0 then; may be NULL): MP_OK, or
 * MP_EIO when the record cannot be read or decoded. */
int mp_settings_read(struct mp_store_txn *txn, const unsigned char *phys, size_t len,
                     enum mp_user_mode *mode, int64_t *set_at_ms);

/* Stores mode for the user, keeping the rest of the record (a record
 * that says nothing, auto and no revocation, is removed): MP_OK, MP_EIO
 * or an error of the backend. */
int mp_settings_write(struct mp_store_txn *txn, const unsigned char *phys, size_t len,
                      enum mp_user_mode mode, int64_t set_at_ms, enum mp_actor actor);

/* Voids the user's page links issued before before_ms (a later time
 * than the one stored wins; an earlier one changes nothing): MP_OK,
 * MP_EIO or an error of the backend. */
int mp_settings_void_links(struct mp_store_txn *txn, const unsigned char *phys, size_t len,
                           int64_t before_ms);

#endif
