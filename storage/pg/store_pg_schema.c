/* The PostgreSQL backend's schema: versioned steps, applied in one
 * transaction under a transaction-scoped advisory lock, so that proxies
 * starting at once on an empty database take turns and the second finds
 * the work done. */
#include "pg/store_pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/store_backend.h"
#include "status.h"
#include "pg/store_pg_conn.h"

/* pg_advisory_xact_lock's key: "memproxy" in ASCII, as a bigint. */
#define SCHEMA_LOCK "7882829859807852665"
#define ATTACH_LOCK "7882829859807852666" /* the schema lock's key + 1 */

/* Step n takes the schema from version n - 1 to n. */
static const char *const steps[] = {
    NULL,
    /* 1: the records */
    "CREATE TABLE mp_kv ("
    "  t smallint NOT NULL,"
    "  k bytea NOT NULL,"
    "  part bytea NOT NULL,"
    "  v bytea NOT NULL,"
    "  PRIMARY KEY (t, k))",
    /* 2: a user's rows found together (a request reads them in one query) */
    "CREATE INDEX mp_kv_part ON mp_kv (part, t, k)",
    /* 3: each user's rows a request reads, packed in one (store_pg_usnap.h),
       stored as written (memproxy compresses it: the server would inflate it
       for every read) */
    "CREATE TABLE mp_usnap (part bytea PRIMARY KEY, v bytea NOT NULL);"
    "ALTER TABLE mp_usnap ALTER COLUMN v SET STORAGE EXTERNAL",
};

_Static_assert(sizeof(steps) / sizeof(steps[0]) == MP_PG_SCHEMA_VERSION + 1,
               "one step per schema version");

/* The version the database is at (0: no schema yet), inside the caller's
 * transaction: MP_OK or MP_EIO. */
static int read_version(PGconn *c, int *version)
{
    PGresult *r = mp_pq.exec(c, "SELECT version FROM mp_schema");
    int rc = MP_EIO;
    if (mp_pq.resultStatus(r) == PGRES_TUPLES_OK && mp_pq.ntuples(r) == 1) {
        *version = atoi(mp_pq.getvalue(r, 0, 0));
        rc = MP_OK;
    } else if (mp_pq.resultStatus(r) == PGRES_TUPLES_OK && mp_pq.ntuples(r) == 0) {
        *version = 0;
        rc = MP_OK;
    }
    mp_pq.clear(r);
    return rc;
}

static int apply_steps(PGconn *c, int *from, char *err, size_t errcap)
{
    int version = 0;
    if (!mp_pg_exec_ok(c, "SELECT pg_advisory_xact_lock(" SCHEMA_LOCK ")") ||
        !mp_pg_exec_ok(c, "CREATE TABLE IF NOT EXISTS mp_schema (version integer NOT NULL)") ||
        read_version(c, &version) != MP_OK) {
        snprintf(err, errcap, "cannot read the PostgreSQL schema version: %s", mp_pg_cause(c));
        return MP_EIO;
    }
    *from = version;
    if (version > MP_PG_SCHEMA_VERSION) {
        snprintf(err, errcap,
                 "the PostgreSQL schema is at version %d, newer than this memproxy knows (%d)",
                 version, MP_PG_SCHEMA_VERSION);
        return MP_EIO;
    }
    for (int v = version + 1; v <= MP_PG_SCHEMA_VERSION; v++) {
        if (!mp_pg_exec_ok(c, steps[v])) {
            snprintf(err, errcap, "cannot upgrade the PostgreSQL schema to version %d: %s", v,
                     mp_pg_cause(c));
            return MP_EIO;
        }
    }
    char sql[96];
    snprintf(sql, sizeof(sql), "%s mp_schema %s %d", version == 0 ? "INSERT INTO" : "UPDATE",
             version == 0 ? "VALUES (" : "SET version =", MP_PG_SCHEMA_VERSION);
    if (version == 0)
        strcat(sql, ")");
    if (version < MP_PG_SCHEMA_VERSION && !mp_pg_exec_ok(c, sql)) {
        snprintf(err, errcap, "cannot record the PostgreSQL schema version: %s", mp_pg_cause(c));
        return MP_EIO;
    }
    return MP_OK;
}

int mp_store_pg_migrate(const char *conninfo, int *from, char *err, size_t errcap)
{
    PGconn *c = mp_pg_connect(conninfo, err, errcap);
    if (c == NULL)
        return MP_EIO;
    int rc = mp_pg_exec_ok(c, "BEGIN") ? apply_steps(c, from, err, errcap) : MP_EIO;
    if (rc == MP_OK && !mp_pg_exec_ok(c, "COMMIT")) {
        snprintf(err, errcap, "cannot commit the PostgreSQL schema: %s", mp_pg_cause(c));
        rc = MP_EIO;
    }
    if (rc != MP_OK)
        mp_pg_exec_ok(c, "ROLLBACK");
    mp_pq.finish(c);
    return rc;
}

int mp_store_pg_check_schema(const char *conninfo, char *err, size_t errcap)
{
    PGconn *c = mp_pg_connect(conninfo, err, errcap);
    if (c == NULL)
        return MP_EIO;
    PGresult *r = mp_pq.exec(c, "SELECT version FROM mp_schema");
    int version = mp_pq.resultStatus(r) == PGRES_TUPLES_OK && mp_pq.ntuples(r) == 1
                      ? atoi(mp_pq.getvalue(r, 0, 0))
                      : 0;
    mp_pq.clear(r);
    mp_pq.finish(c);
    if (version == MP_PG_SCHEMA_VERSION)
        return MP_OK;
    snprintf(err, errcap,
             "the PostgreSQL schema is at version %d, this memproxy needs %d: run memproxy "
             "--migrate (or set [storage] migrate = true)",
             version, MP_PG_SCHEMA_VERSION);
    return MP_EIO;
}

int mp_store_pg_attach(struct mp_store *store, const char *conninfo, char *err, size_t errcap)
{
    PGconn *c = mp_pg_connect(conninfo, err, errcap);
    if (c == NULL)
        return MP_EIO;
    int rc = MP_EIO;
    if (mp_pg_exec_ok(c, "SELECT pg_advisory_lock(" ATTACH_LOCK ")")) {
        rc = mp_store_backend_attach(store, false, "PostgreSQL store", err, errcap);
        mp_pg_exec_ok(c, "SELECT pg_advisory_unlock(" ATTACH_LOCK ")");
    } else {
        snprintf(err, errcap, "cannot lock the PostgreSQL store: %s", mp_pg_cause(c));
    }
    mp_pq.finish(c);
    return rc;
}
