/* Opening the store a configuration names ([storage] backend, path or
 * PostgreSQL connection string, encryption key), for the proxy and the
 * offline tools alike. */
#ifndef MP_STORAGE_STORE_OPEN_H
#define MP_STORAGE_STORE_OPEN_H

#include <stddef.h>

#include "config/config.h"
#include "ops/store.h"

/* The LMDB options of cfg ([storage] path, map_size_mb, sync; no key). */
void mp_store_lmdb_options(const struct mp_config *cfg, struct mp_store_options *out);

/* Opens cfg's store with its encryption key (read from
 * encryption_key_file and wiped after); a PostgreSQL store with at most
 * pg_connections connections. MP_OK with *out (free with mp_store_free());
 * MP_EIO with a reason in err that never holds key material or the
 * connection string. *sealed says whether a key was configured. */
int mp_store_open_configured(const struct mp_config *cfg, unsigned pg_connections,
                             struct mp_store **out, bool *sealed, char *err, size_t errcap);

#endif
