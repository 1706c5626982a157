/* The PostgreSQL backend's user snapshots (store_pg.h): one row per user in
 * mp_usnap holding, packed in one value, exactly the rows of mp_kv a
 * request reads (mp_pg_user_sql()'s), so that the hot read is one row
 * instead of a few hundred (the server's cost is per row).
 *
 * A snapshot is derived data, kept exact by the writers: every write
 * transaction that puts or deletes a row of those tables rebuilds its
 * user's snapshot before COMMIT, in the same SERIALIZABLE transaction:
 * from its copy of the snapshot it read at its start, edited by its own
 * writes (store_pg_wcache.h), or else from the user's rows
 * (mp_pg_usnap_rows_sql()), packed here (mp_pg_usnap_pack()), and writes
 * the value (two proxies rebuilding one user at once: one of them fails
 * with a serialization failure and runs its transaction again). No
 * snapshot (a user not written since the schema got the table, or after
 * TRUNCATE mp_usnap) and an empty one (a
 * user with more than MP_PG_USER_ROWS rows or MP_PG_USNAP_BYTES_MAX bytes:
 * too big to pack) both mean "read the rows", which is always right. A
 * user whose rows are all gone has no snapshot.
 *
 * The value is packed by memproxy, not by the server, so that it can be
 * compressed: what a read costs the server is mostly the bytes it sends
 * (a user with 50 facts: 27 KB of rows, about 5 KB in LZ4). Its first
 * byte is the format:
 *   MP_PG_USNAP_FORMAT (1): then per row in (t, k) order t (u16be), the
 *     key's length (u32be), the key, the value's length (u32be), the
 *     value: bytes as mp_kv holds them (sealed in a sealed store);
 *   MP_PG_USNAP_FORMAT_LZ4 (2): then the length (u32be) of those rows,
 *     then the rows as one LZ4 block (written when it is smaller: a sealed
 *     store's rows hardly compress). */
#ifndef MP_STORAGE_STORE_PG_USNAP_H
#define MP_STORAGE_STORE_PG_USNAP_H

#include <stdbool.h>
#include <stddef.h>

#include "pg/pq_lib.h"

#include "ops/store_backend.h"

/* The most rows of a user a request reads at once (a bigger user is read
 * in parts: store_pg_link.h); no snapshot holds more. */
#define MP_PG_USER_ROWS 4096

#define MP_PG_USNAP_FORMAT     1
#define MP_PG_USNAP_FORMAT_LZ4 2
#define MP_PG_USNAP_SQL_MAX    1280

/* A user whose rows (keys and values) come to more bytes than this gets an
 * empty snapshot: every write rebuilds the snapshot, so its size is what
 * a write pays on top (a user with 50 facts and 15 recent messages: about
 * 27 KB). */
#define MP_PG_USNAP_BYTES_MAX (64 * 1024)

/* The marker the hot read gives the snapshot's row as its table (a
 * smallint that is no table): the row's value is the snapshot. */
#define MP_PG_USNAP_ROW_TABLE (-1)

/* The marker row mp_pg_usnap_rows_sql() answers alone when the snapshot
 * stays as it is (an empty one, not forced). */
#define MP_PG_USNAP_KEEP_TABLE (-2)

/* Whether a write to table t changes the snapshots of a store (sealed or
 * in clear): the tables a request reads, less those a clear store's reader
 * derives. */
bool mp_pg_usnap_table(int t, bool sealed);

/* The writer's read of user $1's rows (bytea: the part column) for its
 * snapshot, inside the writing transaction, into out (MP_PG_USNAP_SQL_MAX
 * bytes): t, k, v in (t, k) order, at most one more than a snapshot
 * holds; or the one row (MP_PG_USNAP_KEEP_TABLE, NULL, NULL) when the
 * user's snapshot is empty (too big) and $2 (boolean: the transaction
 * deleted rows, the user may fit again) is false: then it stays empty
 * without its rows being read. */
void mp_pg_usnap_rows_sql(char *out, bool sealed);

/* One row of a user's, as mp_pg_usnap_rows_sql() gives them. */
struct mp_pg_usnap_row {
    int t;
    const unsigned char *k, *v;
    size_t klen, vlen;
};

/* The snapshot of rows[0..n) (n > 0, in (t, k) order) into *out (malloc'd,
 * *len bytes): LZ4 when smaller, else format 1; empty (*len 0, *out NULL)
 * when they are more than MP_PG_USER_ROWS or MP_PG_USNAP_BYTES_MAX bytes.
 * MP_OK or MP_ENOMEM. */
int mp_pg_usnap_pack(const struct mp_pg_usnap_row *rows, size_t n, unsigned char **out,
                     size_t *len);

/* What a writer does with a user's snapshot. */
enum mp_pg_usnap_act {
    MP_PG_USNAP_KEEP,   /* leave it (an empty one stays empty) */
    MP_PG_USNAP_DELETE, /* the user has no rows left */
    MP_PG_USNAP_PUT     /* write the new value */
};

/* The statements that write a snapshot ($1 part, $2 value) and delete one
 * ($1 part), both bytea. */
#define MP_PG_USNAP_PUT_SQL                                                                        \
    "INSERT INTO mp_usnap (part, v) VALUES ($1, $2) ON CONFLICT (part) DO UPDATE SET v = "         \
    "EXCLUDED.v"
#define MP_PG_USNAP_DELETE_SQL "DELETE FROM mp_usnap WHERE part = $1"

/* The new snapshot of a user from r, its rows as mp_pg_usnap_rows_sql()
 * read them inside the writing transaction: *act, and for MP_PG_USNAP_PUT
 * the value in *v (malloc'd, *vlen bytes; NULL and 0: empty, too big).
 * MP_OK; MP_EIO (a table column that is no smallint); MP_ENOMEM. */
int mp_pg_usnap_from_rows(const PGresult *r, enum mp_pg_usnap_act *act, unsigned char **v,
                          size_t *vlen);

/* The marker the hot read gives the snapshot's row when its version is
 * the one the reader holds ($2): the row's key is the version, its value
 * NULL (not sent). */
#define MP_PG_USNAP_SAME_TABLE (-3)

/* The hot read (mp_pg_user_sql() unordered) into out
 * (MP_PG_USER_SQL_MAX bytes), $1 the user's part, $2 the version of the
 * user's snapshot the reader holds (bytea; empty: none,
 * store_pg_rcache.h): when the user has a full snapshot, one row, its key
 * the row's version (its xmin and the value's length), either
 * (MP_PG_USNAP_ROW_TABLE, version, value) or, the version being $2,
 * (MP_PG_USNAP_SAME_TABLE, version, NULL); else the user's rows as
 * mp_pg_user_sql() reads them. */
void mp_pg_usnap_read_sql(char *out, bool sealed);

/* Calls fn for each row of the snapshot b[0..n) of a store (sealed or
 * not), in order, in either format; stops at fn's first status other than
 * MP_OK and returns it. The row's bytes live only during the call. MP_EIO
 * for a malformed snapshot, or one holding a table the store's snapshots
 * do not; MP_ENOMEM. */
int mp_pg_usnap_each(const unsigned char *b, size_t n, bool sealed,
                     int (*fn)(void *arg, enum mp_store_table t, const unsigned char *k,
                               size_t klen, const unsigned char *v, size_t vlen),
                     void *arg);

#endif
