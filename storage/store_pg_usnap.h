/* The PostgreSQL backend's user snapshots (store_pg.h): one row per user in
 * mp_usnap holding, packed in one value, exactly the rows of mp_kv a
 * request reads (mp_pg_user_sql()'s), so that the hot read is one row
 * instead of a few hundred (the server's cost is per row).
 *
 * A snapshot is derived data, kept exact by the writers: every write
 * transaction that puts or deletes a row of those tables rebuilds its
 * user's snapshot from mp_kv in the same SERIALIZABLE transaction, before
 * COMMIT (two proxies rebuilding one user at once: one of them fails with
 * a serialization failure and runs its transaction again). No snapshot
 * (a user not written since the schema got the table, or after
 * TRUNCATE mp_usnap) and an empty one (a user with more than
 * MP_PG_USER_ROWS rows or MP_PG_USNAP_BYTES_MAX bytes: too big to pack)
 * both mean "read the rows", which is always right. A user whose rows are all gone has no snapshot.
 *
 * The value: the format byte MP_PG_USNAP_FORMAT, then per row in (t, k)
 * order t (u16be), the key's length (u32be), the key, the value's length
 * (u32be), the value: bytes as mp_kv holds them (sealed in a sealed
 * store). */
#ifndef MP_STORAGE_STORE_PG_USNAP_H
#define MP_STORAGE_STORE_PG_USNAP_H

#include <stdbool.h>
#include <stddef.h>

#include "store_backend.h"

/* The most rows of a user a request reads at once (a bigger user is read
 * in parts: store_pg_link.h); no snapshot holds more. */
#define MP_PG_USER_ROWS 4096

#define MP_PG_USNAP_FORMAT  1
#define MP_PG_USNAP_SQL_MAX 1280

/* A user whose rows (keys and values) come to more bytes than this gets an
 * empty snapshot: every write rebuilds the snapshot, so its size is what
 * a write pays on top (a user with 50 facts and 15 recent messages: about
 * 27 KB). */
#define MP_PG_USNAP_BYTES_MAX (64 * 1024)

/* The marker the hot read gives the snapshot's row as its table (a
 * smallint that is no table): the row's value is the snapshot. */
#define MP_PG_USNAP_ROW_TABLE (-1)

/* Whether a write to table t changes the snapshots of a store (sealed or
 * in clear): the tables a request reads, less those a clear store's reader
 * derives. */
bool mp_pg_usnap_table(int t, bool sealed);

/* The statement that rebuilds user $1's snapshot (bytea: the part column)
 * inside the writing transaction, into out (MP_PG_USNAP_SQL_MAX bytes).
 * $2 (boolean) forces a rebuild of an empty snapshot (the transaction
 * deleted rows: the user may fit again); without it a user too big stays
 * empty without reading its rows. */
void mp_pg_usnap_rebuild_sql(char *out, bool sealed);

/* The hot read (mp_pg_user_sql() unordered) into out
 * (MP_PG_USER_SQL_MAX bytes): the user's snapshot as one row
 * (MP_PG_USNAP_ROW_TABLE, NULL, value) when it has a full one, else its
 * rows as mp_pg_user_sql() reads them. */
void mp_pg_usnap_read_sql(char *out, bool sealed);

/* Calls fn for each row of the snapshot b[0..n) of a store (sealed or
 * not), in order; stops at fn's first status other than MP_OK and
 * returns it. MP_EIO for a malformed snapshot, or one holding a table
 * the store's snapshots do not. */
int mp_pg_usnap_each(const unsigned char *b, size_t n, bool sealed,
                     int (*fn)(void *arg, enum mp_store_table t, const unsigned char *k,
                               size_t klen, const unsigned char *v, size_t vlen),
                     void *arg);

#endif
