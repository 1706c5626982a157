/* The configured store: the key file and the connection string are read
 * here, held only for the open, and wiped. */
#include "store_open.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_load.h"
#include "format/seal.h"
#include "status.h"
#include "pg/store_pg.h"

void mp_store_lmdb_options(const struct mp_config *cfg, struct mp_store_options *out)
{
    *out = (struct mp_store_options){
        .path = cfg->storage.path,
        .map_size = (uint64_t)cfg->storage.map_size_mb * 1024 * 1024,
        .sync = cfg->storage.sync == MP_SYNC_FULL   ? MP_STORE_SYNC_FULL
                : cfg->storage.sync == MP_SYNC_META ? MP_STORE_SYNC_META
                                                    : MP_STORE_SYNC_NONE,
    };
}

static int open_pg(const struct mp_config *cfg, unsigned connections, const struct mp_seal_key *key,
                   struct mp_store **out, char *err, size_t errcap)
{
    char *url = NULL;
    if (mp_config_postgres_url(cfg, &url, err, errcap) != MP_OK)
        return MP_EIO;
    struct mp_store_pg_options o = {
        .conninfo = url, .pool = connections, .migrate = cfg->storage.migrate, .key = key};
    int rc = mp_store_open_pg(&o, out, err, errcap);
    mp_config_postgres_url_free(url);
    return rc;
}

int mp_store_open_configured(const struct mp_config *cfg, unsigned pg_connections,
                             struct mp_store **out, bool *sealed, char *err, size_t errcap)
{
    struct mp_seal_key key;
    char why[256] = "";
    *sealed = cfg->storage.encryption_key_file[0] != '\0';
    memset(&key, 0, sizeof(key));
    if (*sealed &&
        mp_seal_key_load(cfg->storage.encryption_key_file, &key, why, sizeof(why)) != MP_OK) {
        snprintf(err, errcap, "cannot load [storage] encryption_key_file: %s", why);
        return MP_EIO;
    }
    int rc;
    if (cfg->storage.backend == MP_BACKEND_POSTGRES) {
        rc = open_pg(cfg, pg_connections, *sealed ? &key : NULL, out, err, errcap);
    } else {
        struct mp_store_options o;
        mp_store_lmdb_options(cfg, &o);
        o.key = *sealed ? &key : NULL;
        rc = mp_store_open_lmdb(&o, out, err, errcap);
    }
    mp_seal_key_wipe(&key);
    return rc == MP_OK ? MP_OK : MP_EIO;
}
