/* A write transaction's puts gathered into one statement (store_pg.h):
 * the rows go as four array parameters in PostgreSQL's binary array
 * format, one statement instead of one per record, so the server starts
 * its executor once for them all:
 *
 *   put, put, put ... ─> t[], k[], part[], v[] ─> INSERT ... SELECT FROM unnest(...)
 *
 * No libpq here: bytes in, parameters out. */
#ifndef MP_STORAGE_STORE_PG_BATCH_H
#define MP_STORAGE_STORE_PG_BATCH_H

#include <stdbool.h>
#include <stddef.h>

/* A batch is sent when it holds this many rows or bytes. */
#define MP_PG_BATCH_ROWS  256
#define MP_PG_BATCH_BYTES (1024 * 1024)

/* The statement that writes a batch: $1 smallint[], $2..$4 bytea[]; a key
 * put twice keeps its last value. */
#define MP_PG_BATCH_SQL                                                                            \
    "INSERT INTO mp_kv (t, k, part, v) SELECT DISTINCT ON (t, k) t, k, part, v FROM "              \
    "unnest($1::smallint[], $2::bytea[], $3::bytea[], $4::bytea[]) WITH ORDINALITY "               \
    "AS u(t, k, part, v, n) ORDER BY t, k, n DESC ON CONFLICT (t, k) DO UPDATE SET v = "           \
    "EXCLUDED.v"
#define MP_PG_OID_INT2_ARRAY  1005
#define MP_PG_OID_BYTEA_ARRAY 1001

struct mp_pg_batch {
    unsigned char *col[4]; /* owned: each column's array, its header first */
    size_t len[4], cap[4];
    size_t n; /* rows */
};

/* Adds a row (copied): MP_OK or MP_ENOMEM (the batch unchanged). */
int mp_pg_batch_add(struct mp_pg_batch *b, int t, const void *k, size_t klen, const void *part,
                    size_t plen, const void *v, size_t vlen);

/* Whether the batch should be sent now. */
bool mp_pg_batch_full(const struct mp_pg_batch *b);

/* The four parameters (binary format), valid until the next add or
 * reset. */
void mp_pg_batch_params(struct mp_pg_batch *b, const char *values[4], int lengths[4]);

/* Empties the batch, keeping its memory; cleanup frees it. */
void mp_pg_batch_reset(struct mp_pg_batch *b);
void mp_pg_batch_cleanup(struct mp_pg_batch *b);

#endif
