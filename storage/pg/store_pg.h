/* The PostgreSQL backend ([storage] backend = postgres): the store's tables
 * as rows of one table in a database that any number of memproxy processes
 * share, through libpq. Only store_pg*.c include <libpq-fe.h>.
 *
 * Schema (store_pg_schema.c), created and upgraded by memproxy itself:
 *
 *   mp_schema (version integer)            one row: the schema version
 *   mp_kv (t smallint, k bytea, part bytea, v bytea, PRIMARY KEY (t, k))
 *   mp_kv_part: an index on (part, t, k), by which a request reads its
 *   user's rows in one query
 *   mp_usnap (part bytea PRIMARY KEY, v bytea): per user, those rows
 *   packed in one value, rebuilt by every write that changes them
 *   (store_pg_usnap.h): a request reads one row
 *
 * t is enum mp_store_table, k and v a record's key and (sealed, in a
 * sealed store) value exactly as store_backend.h lays them out, so bytea's
 * byte order is the format's key order. part is the physical user key the
 * record belongs to (empty for meta and jobs): the column by which a
 * user's rows sit together, and by which a sharded deployment would
 * distribute them (docs/scaling.md).
 *
 * Transactions: a write is SERIALIZABLE, so two proxies changing one user
 * at once never lose an update: the loser's commit (or statement) fails
 * with a serialization failure or a deadlock, its end() answers MP_AGAIN,
 * and the op layer runs the whole transaction again. A read is REPEATABLE
 * READ READ ONLY: one snapshot. Each transaction holds one connection of
 * the store's pool from begin to end.
 *
 * Secrets: the connection string is kept in process memory only and never
 * appears in an error or a log line; libpq's messages are reduced to a
 * short cause ("connection refused", "authentication failed", ...). */
#ifndef MP_STORAGE_STORE_PG_H
#define MP_STORAGE_STORE_PG_H

#include <stdbool.h>
#include <stddef.h>

#include "format/seal.h"
#include "ops/store.h"

#define MP_PG_SCHEMA_VERSION 3

struct mp_store_pg_options {
    const char *conninfo;          /* borrowed: a libpq connection string or URI */
    unsigned pool;                 /* connections at most (1 .. 1024) */
    bool migrate;                  /* create or upgrade the schema at open; false: it must
                                      already be MP_PG_SCHEMA_VERSION */
    const struct mp_seal_key *key; /* borrowed (copied); NULL: data in clear */
};

/* Opens the store in the database: MP_OK with *out (free with
 * mp_store_free()); MP_EIO with a reason in err (the database cannot be
 * reached, the schema is missing or of another version and migrate is
 * off, the store is sealed under another key, ...); MP_ENOMEM. */
int mp_store_open_pg(const struct mp_store_pg_options *opts, struct mp_store **out, char *err,
                     size_t errcap);

/* The connection string of a PostgreSQL store (kept by the store: never
 * log it), or NULL for a store of another backend. */
const char *mp_store_pg_conninfo(const struct mp_store *store);

/* Creates or upgrades the schema to MP_PG_SCHEMA_VERSION (idempotent; safe
 * when several proxies run it at once: a transaction-scoped advisory lock
 * serializes them). *from receives the version found (0: none). MP_OK;
 * MP_EIO with a reason in err (a version newer than this build knows is
 * refused). */
int mp_store_pg_migrate(const char *conninfo, int *from, char *err, size_t errcap);

/* Whether the schema is the one this build writes (MP_PG_SCHEMA_VERSION):
 * MP_OK, or MP_EIO with the reason in err (the server cannot be reached,
 * or the version differs: run memproxy --migrate). */
int mp_store_pg_check_schema(const char *conninfo, char *err, size_t errcap);

/* mp_store_backend_attach() of store (a PostgreSQL store opening, on
 * conninfo) under a session advisory lock, so that proxies opening a new
 * database at once agree on one secret: MP_OK, or its error with err. */
int mp_store_pg_attach(struct mp_store *store, const char *conninfo, char *err, size_t errcap);

/* Loads libpq now; otherwise the first connection loads it (pq_lib.h).
 * MP_OK, or MP_EIO with *why a static sentence naming what is missing. */
int mp_store_pg_load_libpq(const char **why);

#endif
