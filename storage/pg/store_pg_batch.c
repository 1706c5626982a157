/* Puts gathered into array parameters (store_pg_batch.h). PostgreSQL's
 * binary array: ndim, flags, element type, then per dimension its size and
 * lower bound (20 bytes for one dimension), then each element as a length
 * (int32) and its bytes. */
#include "pg/store_pg_batch.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "format/codec.h"
#include "status.h"

#define HEADER 20

static int reserve(struct mp_pg_batch *b, int c, size_t more)
{
    size_t need = (b->len[c] > 0 ? b->len[c] : HEADER) + more;
    if (need <= b->cap[c]) {
        if (b->len[c] == 0)
            b->len[c] = HEADER;
        return MP_OK;
    }
    size_t cap = b->cap[c] > 0 ? b->cap[c] : 4096;
    while (cap < need)
        cap *= 2;
    unsigned char *p = realloc(b->col[c], cap);
    if (p == NULL)
        return MP_ENOMEM;
    b->col[c] = p;
    b->cap[c] = cap;
    if (b->len[c] == 0)
        b->len[c] = HEADER;
    return MP_OK;
}

static void element(struct mp_pg_batch *b, int c, const void *p, size_t n)
{
    mp_codec_be_put(b->col[c] + b->len[c], n, 4);
    if (n > 0)
        memcpy(b->col[c] + b->len[c] + 4, p, n);
    b->len[c] += 4 + n;
}

int mp_pg_batch_add(struct mp_pg_batch *b, int t, const void *k, size_t klen, const void *part,
                    size_t plen, const void *v, size_t vlen)
{
    unsigned char t2[2];
    mp_codec_be_put(t2, (uint64_t)(uint16_t)(int16_t)t, 2);
    if (reserve(b, 0, 6) != MP_OK || reserve(b, 1, 4 + klen) != MP_OK ||
        reserve(b, 2, 4 + plen) != MP_OK || reserve(b, 3, 4 + vlen) != MP_OK)
        return MP_ENOMEM;
    element(b, 0, t2, 2);
    element(b, 1, k, klen);
    element(b, 2, part, plen);
    element(b, 3, v, vlen);
    b->n++;
    return MP_OK;
}

bool mp_pg_batch_full(const struct mp_pg_batch *b)
{
    return b->n >= MP_PG_BATCH_ROWS || b->len[1] + b->len[3] >= MP_PG_BATCH_BYTES;
}

void mp_pg_batch_params(struct mp_pg_batch *b, const char *values[4], int lengths[4])
{
    for (int c = 0; c < 4; c++) {
        unsigned char *h = b->col[c];
        mp_codec_be_put(h, 1, 4);                    /* ndim */
        mp_codec_be_put(h + 4, 0, 4);                /* no NULLs */
        mp_codec_be_put(h + 8, c == 0 ? 21 : 17, 4); /* int2, bytea */
        mp_codec_be_put(h + 12, b->n, 4);            /* size */
        mp_codec_be_put(h + 16, 1, 4);               /* lower bound */
        values[c] = (const char *)h;
        lengths[c] = (int)b->len[c];
    }
}

void mp_pg_batch_reset(struct mp_pg_batch *b)
{
    for (int c = 0; c < 4; c++)
        b->len[c] = 0;
    b->n = 0;
}

void mp_pg_batch_cleanup(struct mp_pg_batch *b)
{
    for (int c = 0; c < 4; c++)
        free(b->col[c]);
    memset(b, 0, sizeof(*b));
}
