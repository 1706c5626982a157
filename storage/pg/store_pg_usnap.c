/* User snapshots (store_pg_usnap.h): the statements that read rows for
 * them and read them, their packing, and the walk over one. */
#include "pg/store_pg_usnap.h"

#include <limits.h>
#include <lz4.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/codec.h"
#include "ops/store.h"
#include "status.h"
#include "pg/store_pg_conn.h"

bool mp_pg_usnap_table(int t, bool sealed)
{
    return t >= 0 && t < MP_TABLE_COUNT && mp_pg_user_tables[t] &&
           (sealed || !mp_pg_derived_table(t));
}

/* The rows in key order, at most one more than fit; the marker alone
 * instead when the snapshot is empty and $2 does not force a rebuild. */
void mp_pg_usnap_rows_sql(char *out, bool sealed)
{
    char in[64];
    mp_pg_user_tables_list(in, sizeof(in), sealed);
    snprintf(out, MP_PG_USNAP_SQL_MAX,
             "WITH go AS (SELECT $2::boolean OR NOT EXISTS "
             "(SELECT 1 FROM mp_usnap WHERE part = $1 AND length(v) = 0) AS ok) "
             "SELECT %d::smallint, NULL::bytea, NULL::bytea FROM go WHERE NOT ok "
             "UNION ALL (SELECT t, k, v FROM mp_kv WHERE part = $1 AND t IN (%s) "
             "AND (SELECT ok FROM go) ORDER BY t, k LIMIT %d)",
             MP_PG_USNAP_KEEP_TABLE, in, MP_PG_USER_ROWS + 1);
}

/* Format 1's bytes after the format byte for rows[0..n). */
static size_t rows_bytes(const struct mp_pg_usnap_row *rows, size_t n, size_t *kv)
{
    size_t b = 0;
    *kv = 0;
    for (size_t i = 0; i < n; i++) {
        *kv += rows[i].klen + rows[i].vlen;
        b += 10 + rows[i].klen + rows[i].vlen;
    }
    return b;
}

int mp_pg_usnap_pack(const struct mp_pg_usnap_row *rows, size_t n, unsigned char **out, size_t *len)
{
    size_t kv, raw = rows_bytes(rows, n, &kv);
    *out = NULL;
    *len = 0;
    if (n > MP_PG_USER_ROWS || kv > MP_PG_USNAP_BYTES_MAX)
        return MP_OK; /* too big: empty */
    size_t bound = (size_t)LZ4_compressBound((int)raw);
    unsigned char *b = malloc(1 + raw), *z = malloc(5 + bound);
    if (b == NULL || z == NULL) {
        free(b);
        free(z);
        return MP_ENOMEM;
    }
    size_t at = 1;
    b[0] = MP_PG_USNAP_FORMAT;
    for (size_t i = 0; i < n; i++) {
        mp_codec_be_put(b + at, (uint64_t)rows[i].t, 2);
        mp_codec_be_put(b + at + 2, rows[i].klen, 4);
        memcpy(b + at + 6, rows[i].k, rows[i].klen);
        at += 6 + rows[i].klen;
        mp_codec_be_put(b + at, rows[i].vlen, 4);
        memcpy(b + at + 4, rows[i].v, rows[i].vlen);
        at += 4 + rows[i].vlen;
    }
    int zlen = LZ4_compress_default((const char *)b + 1, (char *)z + 5, (int)raw, (int)bound);
    if (zlen > 0 && 5 + (size_t)zlen < 1 + raw) {
        z[0] = MP_PG_USNAP_FORMAT_LZ4;
        mp_codec_be_put(z + 1, raw, 4);
        free(b);
        *out = z;
        *len = 5 + (size_t)zlen;
    } else {
        free(z);
        *out = b;
        *len = 1 + raw;
    }
    return MP_OK;
}

/* r's rows as snapshot rows into rows[0..mp_pq.ntuples(r)): MP_OK, or MP_EIO
 * for a table column that is not a smallint. */
static int rows_of(const PGresult *r, struct mp_pg_usnap_row *rows)
{
    for (int i = 0; i < mp_pq.ntuples(r); i++) {
        rows[i].t = mp_pg_int2(r, i, 0);
        if (rows[i].t == MP_PG_NOT_INT2)
            return MP_EIO;
        rows[i].k = mp_pg_cell(r, i, 1, &rows[i].klen);
        rows[i].v = mp_pg_cell(r, i, 2, &rows[i].vlen);
    }
    return MP_OK;
}

int mp_pg_usnap_from_rows(const PGresult *r, enum mp_pg_usnap_act *act, unsigned char **v,
                          size_t *vlen)
{
    size_t n = (size_t)mp_pq.ntuples(r);
    *v = NULL;
    *vlen = 0;
    *act = n > 0 ? MP_PG_USNAP_PUT : MP_PG_USNAP_DELETE;
    if (n == 0)
        return MP_OK;
    struct mp_pg_usnap_row *rows = calloc(n, sizeof(*rows));
    int rc = rows == NULL ? MP_ENOMEM : rows_of(r, rows);
    if (rc == MP_OK && n == 1 && rows[0].t == MP_PG_USNAP_KEEP_TABLE)
        *act = MP_PG_USNAP_KEEP;
    else if (rc == MP_OK)
        rc = mp_pg_usnap_pack(rows, n, v, vlen);
    free(rows);
    return rc;
}

/* The rows' branch runs only when the snapshot's does not answer (the
 * planner makes NOT EXISTS a one-time filter). */
void mp_pg_usnap_read_sql(char *out, bool sealed)
{
    char in[64];
    mp_pg_user_tables_list(in, sizeof(in), sealed);
    snprintf(out, MP_PG_USER_SQL_MAX,
             "SELECT CASE WHEN s.ver = $2 THEN %d ELSE %d END::smallint, s.ver, "
             "CASE WHEN s.ver = $2 THEN NULL ELSE s.v END FROM (SELECT (xmin::text || '.' || "
             "octet_length(v)::text)::bytea AS ver, v FROM mp_usnap WHERE part = $1 AND "
             "length(v) > 0) s "
             "UNION ALL (SELECT t, k, v FROM mp_kv WHERE part = $1 AND t IN (%s) AND NOT EXISTS "
             "(SELECT 1 FROM mp_usnap WHERE part = $1 AND length(v) > 0) LIMIT %d)",
             MP_PG_USNAP_SAME_TABLE, MP_PG_USNAP_ROW_TABLE, in, MP_PG_USER_ROWS + 1);
}

/* Format 1's rows, b[0..n) past the format byte. */
static int each_row(const unsigned char *b, size_t n, bool sealed,
                    int (*fn)(void *arg, enum mp_store_table t, const unsigned char *k, size_t klen,
                              const unsigned char *v, size_t vlen),
                    void *arg)
{
    size_t at = 0, rows = 0;
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

/* The most bytes of rows a snapshot packs: MP_PG_USNAP_BYTES_MAX of keys
 * and values and each row's lengths. */
#define ROWS_BYTES_MAX (MP_PG_USNAP_BYTES_MAX + 10 * MP_PG_USER_ROWS)

int mp_pg_usnap_each(const unsigned char *b, size_t n, bool sealed,
                     int (*fn)(void *arg, enum mp_store_table t, const unsigned char *k,
                               size_t klen, const unsigned char *v, size_t vlen),
                     void *arg)
{
    if (n > 0 && b[0] == MP_PG_USNAP_FORMAT)
        return each_row(b + 1, n - 1, sealed, fn, arg);
    if (n < 5 || b[0] != MP_PG_USNAP_FORMAT_LZ4 || n - 5 > INT_MAX)
        return MP_EIO;
    size_t raw = (size_t)mp_codec_be_get(b + 1, 4);
    if (raw == 0 || raw > ROWS_BYTES_MAX)
        return MP_EIO;
    char *rows = malloc(raw);
    if (rows == NULL)
        return MP_ENOMEM;
    int got = LZ4_decompress_safe((const char *)b + 5, rows, (int)(n - 5), (int)raw);
    int rc = got >= 0 && (size_t)got == raw
                 ? each_row((const unsigned char *)rows, raw, sealed, fn, arg)
                 : MP_EIO;
    free(rows);
    return rc;
}
