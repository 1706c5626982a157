/* LMDB backend: the only file that includes <lmdb.h>. This version opens the
 * environment (creating the directory), clears stale reader slots and checks
 * it can begin a transaction; the record layout arrives with the memory engine. */
#include "store.h"

#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "status.h"

struct lmdb_store {
    struct mp_store base;
    MDB_env *env;
};

static int lmdb_ping(struct mp_store *store)
{
    struct lmdb_store *s = (struct lmdb_store *)store;
    MDB_txn *txn = NULL;
    if (mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn) != 0)
        return MP_EIO;
    mdb_txn_abort(txn);
    return MP_OK;
}

static void lmdb_close(struct mp_store *store)
{
    struct lmdb_store *s = (struct lmdb_store *)store;
    mdb_env_close(s->env);
    free(s);
}

static const struct mp_store_ops lmdb_ops = {
    .name = "lmdb",
    .ping = lmdb_ping,
    .close = lmdb_close,
};

static unsigned sync_flags(enum mp_store_sync sync)
{
    switch (sync) {
    case MP_STORE_SYNC_META:
        return MDB_NOMETASYNC;
    case MP_STORE_SYNC_NONE:
        return MDB_NOSYNC;
    case MP_STORE_SYNC_FULL:
    default:
        return 0;
    }
}

int mp_store_open_lmdb(const struct mp_store_options *opts, struct mp_store **out, char *err,
                       size_t errcap)
{
    int status = MP_EIO;
    int rc;
    int dead = 0;
    struct lmdb_store *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return MP_ENOMEM;
    s->base.ops = &lmdb_ops;
    if (mkdir(opts->path, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errcap, "cannot create %s: %s", opts->path, strerror(errno));
        goto out;
    }
    rc = mdb_env_create(&s->env);
    if (rc == 0)
        rc = mdb_env_set_mapsize(s->env, (size_t)opts->map_size);
    if (rc == 0)
        rc = mdb_env_set_maxreaders(s->env, 512);
    if (rc == 0)
        rc = mdb_env_open(s->env, opts->path, MDB_NOTLS | sync_flags(opts->sync), 0600);
    if (rc != 0) {
        snprintf(err, errcap, "cannot open LMDB environment %s: %s", opts->path, mdb_strerror(rc));
        goto out;
    }
    mdb_reader_check(s->env, &dead);
    if (lmdb_ping(&s->base) != MP_OK) {
        snprintf(err, errcap, "LMDB environment %s cannot begin a transaction", opts->path);
        goto out;
    }
    *out = &s->base;
    s = NULL;
    status = MP_OK;
out:
    if (s != NULL) {
        if (s->env != NULL)
            mdb_env_close(s->env);
        free(s);
    }
    return status;
}
