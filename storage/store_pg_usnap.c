/* User snapshots (store_pg_usnap.h): the statements that write and read
 * them, and the walk over one. */
#include "store_pg_usnap.h"

#include <stdio.h>

#include "codec.h"
#include "status.h"
#include "store_pg_conn.h"

bool mp_pg_usnap_table(int t, bool sealed)
{
    return t >= 0 && t < MP_TABLE_COUNT && mp_pg_user_tables[t] &&
           (sealed || !mp_pg_derived_table(t));
}

/* The snapshot is packed by the server from the user's rows in key order
 * (at most one more than fit: then, or past the bytes, it is left empty),
 * in the writer's transaction; $2 or a snapshot that is not empty lets it
 * read them. No rows: no snapshot. */
void mp_pg_usnap_rebuild_sql(char *out, bool sealed)
{
    char in[64];
    mp_pg_user_tables_list(in, sizeof(in), sealed);
    snprintf(
        out, MP_PG_USNAP_SQL_MAX,
        "WITH go AS (SELECT $2::boolean OR NOT EXISTS "
        "(SELECT 1 FROM mp_usnap WHERE part = $1 AND length(v) = 0) AS ok), "
        "r AS (SELECT t, k, v FROM mp_kv WHERE part = $1 AND t IN (%s) AND (SELECT ok FROM go) "
        "ORDER BY t, k LIMIT %d), "
        "a AS (SELECT count(*) AS n, sum(length(k) + length(v)) AS bytes, '\\x%02x'::bytea || "
        "string_agg(int2send(t) || int4send(length(k)) || k || int4send(length(v)) || v, "
        "''::bytea ORDER BY t, k) AS v FROM r), "
        "d AS (DELETE FROM mp_usnap WHERE part = $1 AND (SELECT ok FROM go) "
        "AND (SELECT n FROM a) = 0) "
        "INSERT INTO mp_usnap (part, v) SELECT $1, CASE WHEN a.n > %d OR a.bytes > %d THEN "
        "''::bytea ELSE a.v END "
        "FROM a, go WHERE go.ok AND a.n > 0 ON CONFLICT (part) DO UPDATE SET v = EXCLUDED.v",
        in, MP_PG_USER_ROWS + 1, MP_PG_USNAP_FORMAT, MP_PG_USER_ROWS, MP_PG_USNAP_BYTES_MAX);
}

/* The rows' branch runs only when the snapshot's does not answer (the
 * planner makes NOT EXISTS a one-time filter). */
void mp_pg_usnap_read_sql(char *out, bool sealed)
{
    char in[64];
    mp_pg_user_tables_list(in, sizeof(in), sealed);
    snprintf(out, MP_PG_USER_SQL_MAX,
             "SELECT %d::smallint, NULL::bytea, v FROM mp_usnap WHERE part = $1 AND length(v) > 0 "
             "UNION ALL (SELECT t, k, v FROM mp_kv WHERE part = $1 AND t IN (%s) AND NOT EXISTS "
             "(SELECT 1 FROM mp_usnap WHERE part = $1 AND length(v) > 0) LIMIT %d)",
             MP_PG_USNAP_ROW_TABLE, in, MP_PG_USER_ROWS + 1);
}

int mp_pg_usnap_each(const unsigned char *b, size_t n, bool sealed,
                     int (*fn)(void *arg, enum mp_store_table t, const unsigned char *k,
                               size_t klen, const unsigned char *v, size_t vlen),
                     void *arg)
{
    size_t at = 1, rows = 0;
    if (n == 0 || b[0] != MP_PG_USNAP_FORMAT)
        return MP_EIO;
    while (at < n) {
        if (n - at < 6 || ++rows > MP_PG_USER_ROWS)
            return MP_EIO;
        int t = (int)mp_codec_be_get(b + at, 2);
        size_t klen = (size_t)mp_codec_be_get(b + at + 2, 4);
        at += 6;
        if (!mp_pg_usnap_table(t, sealed) || klen > n - at || n - at - klen < 4)
            return MP_EIO;
        const unsigned char *k = b + at;
        at += klen;
        size_t vlen = (size_t)mp_codec_be_get(b + at, 4);
        at += 4;
        if (vlen > n - at)
            return MP_EIO;
        int rc = fn(arg, (enum mp_store_table)t, k, klen, b + at, vlen);
        if (rc != MP_OK)
            return rc;
        at += vlen;
    }
    return MP_OK;
}
