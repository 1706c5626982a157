/* The PostgreSQL user snapshot's walk (storage/pg/store_pg_usnap.h): the rows
 * of a well-formed snapshot in order, byte for byte, and MP_EIO for every
 * way a value read back from the database could be malformed; packing,
 * LZ4 when it is smaller, plain when not, empty past the bounds. (Writing and
 * reading snapshots on a server: tests/proxy/process/test_postgres.py.) */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/codec.h"
#include "ops/store.h"
#include "status.h"
#include "pg/store_pg_usnap.h"

Suite *mp_test_suite(void);

/* A snapshot being built: the format byte, then rows. */
struct blob {
    unsigned char b[64 * 1024];
    size_t n;
};

static void start(struct blob *s)
{
    s->b[0] = MP_PG_USNAP_FORMAT;
    s->n = 1;
}

static void row(struct blob *s, int t, const char *k, const char *v)
{
    size_t kl = strlen(k), vl = strlen(v);
    mp_codec_be_put(s->b + s->n, (uint64_t)t, 2);
    mp_codec_be_put(s->b + s->n + 2, kl, 4);
    memcpy(s->b + s->n + 6, k, kl);
    mp_codec_be_put(s->b + s->n + 6 + kl, vl, 4);
    memcpy(s->b + s->n + 10 + kl, v, vl);
    s->n += 10 + kl + vl;
}

/* What the walk saw, as "t:k=v;" per row. */
struct seen {
    char text[512];
    int stop_after; /* rows to take before answering MP_ENOMEM; 0: never */
    int rows;
};

static int on_row(void *arg, enum mp_store_table t, const unsigned char *k, size_t klen,
                  const unsigned char *v, size_t vlen)
{
    struct seen *s = arg;
    size_t at = strlen(s->text);
    snprintf(s->text + at, sizeof(s->text) - at, "%d:%.*s=%.*s;", (int)t, (int)klen,
             (const char *)k, (int)vlen, (const char *)v);
    if (++s->rows == s->stop_after)
        return MP_ENOMEM;
    return MP_OK;
}

static int walk(const struct blob *b, bool sealed, struct seen *s)
{
    memset(s->text, 0, sizeof(s->text));
    s->rows = 0;
    return mp_pg_usnap_each(b->b, b->n, sealed, on_row, s);
}

START_TEST(test_rows_come_in_order_byte_for_byte)
{
    struct blob b;
    struct seen s = {.stop_after = 0};
    start(&b);
    row(&b, MP_TABLE_USERS, "u1", "head");
    row(&b, MP_TABLE_FACTS, "u1f", "");
    row(&b, MP_TABLE_FACTS, "u1g", "a value");
    ck_assert_int_eq(walk(&b, false, &s), MP_OK);
    char want[128];
    snprintf(want, sizeof(want), "%d:u1=head;%d:u1f=;%d:u1g=a value;", MP_TABLE_USERS,
             MP_TABLE_FACTS, MP_TABLE_FACTS);
    ck_assert_str_eq(s.text, want);
    s.stop_after = 1; /* the callback's status stops the walk and is its answer */
    ck_assert_int_eq(walk(&b, false, &s), MP_ENOMEM);
    ck_assert_int_eq(s.rows, 1);
    s.stop_after = 0;
    start(&b); /* a user with no rows would have no snapshot, but the walk takes it */
    ck_assert_int_eq(walk(&b, false, &s), MP_OK);
    ck_assert_int_eq(s.rows, 0);
}
END_TEST

START_TEST(test_malformed_snapshots_are_refused)
{
    struct blob b;
    struct seen s = {.stop_after = 0};
    start(&b);
    ck_assert_int_eq(mp_pg_usnap_each(b.b, 0, false, on_row, &s), MP_EIO); /* empty */
    b.b[0] = MP_PG_USNAP_FORMAT + 1; /* a format this build does not know */
    ck_assert_int_eq(walk(&b, false, &s), MP_EIO);
    start(&b);
    row(&b, MP_TABLE_FACTS, "key", "value");
    size_t whole = b.n;
    for (size_t cut = 2; cut < whole; cut++) { /* cut anywhere inside the row */
        b.n = cut;
        ck_assert_msg(walk(&b, false, &s) == MP_EIO, "cut at %zu", cut);
    }
    b.n = whole;
    ck_assert_int_eq(walk(&b, false, &s), MP_OK);
    mp_codec_be_put(b.b + 3, 1u << 30, 4); /* a key longer than the value */
    ck_assert_int_eq(walk(&b, false, &s), MP_EIO);
}
END_TEST

START_TEST(test_only_the_tables_a_request_reads)
{
    struct blob b;
    struct seen s = {.stop_after = 0};
    start(&b);
    row(&b, MP_TABLE_JOBS, "j", "x"); /* never in a snapshot */
    ck_assert_int_eq(walk(&b, false, &s), MP_EIO);
    ck_assert_int_eq(walk(&b, true, &s), MP_EIO);
    start(&b);
    row(&b, MP_TABLE_POSTINGS, "p", "x"); /* derived: in a sealed store's snapshot only */
    ck_assert_int_eq(walk(&b, false, &s), MP_EIO);
    ck_assert_int_eq(walk(&b, true, &s), MP_OK);
    ck_assert(mp_pg_usnap_table(MP_TABLE_FACTS, false));
    ck_assert(!mp_pg_usnap_table(MP_TABLE_FACTRANK, false));
    ck_assert(mp_pg_usnap_table(MP_TABLE_FACTRANK, true));
    ck_assert(!mp_pg_usnap_table(MP_TABLE_HISTORY, true));
}
END_TEST

START_TEST(test_no_more_rows_than_a_user_read_holds)
{
    struct blob b;
    struct seen s = {.stop_after = 0};
    start(&b);
    for (int i = 0; i < MP_PG_USER_ROWS; i++)
        row(&b, MP_TABLE_DOCS, "d", "");
    ck_assert_int_eq(mp_pg_usnap_each(b.b, b.n, false, on_row, &s), MP_OK);
    row(&b, MP_TABLE_DOCS, "d", "");
    ck_assert_int_eq(mp_pg_usnap_each(b.b, b.n, false, on_row, &s), MP_EIO);
}
END_TEST

/* Packs rows[0..n) and walks the result: what the walk saw. */
static int pack_and_walk(const struct mp_pg_usnap_row *rows, size_t n, struct seen *s,
                         unsigned char **packed, size_t *len)
{
    ck_assert_int_eq(mp_pg_usnap_pack(rows, n, packed, len), MP_OK);
    memset(s->text, 0, sizeof(s->text));
    s->rows = 0;
    return mp_pg_usnap_each(*packed, *len, false, on_row, s);
}

START_TEST(test_packed_rows_compress_and_walk_back_byte_for_byte)
{
    /* text that repeats (as facts and messages do) packs as LZ4 */
    static const char v1[] = "likes hiking in the hills; likes hiking in the hills; likes hiking";
    struct mp_pg_usnap_row rows[3] = {
        {.t = MP_TABLE_USERS,
         .k = (const unsigned char *)"u1",
         .klen = 2,
         .v = (const unsigned char *)"head",
         .vlen = 4},
        {.t = MP_TABLE_FACTS,
         .k = (const unsigned char *)"u1f",
         .klen = 3,
         .v = (const unsigned char *)v1,
         .vlen = sizeof(v1) - 1},
        {.t = MP_TABLE_FACTS,
         .k = (const unsigned char *)"u1g",
         .klen = 3,
         .v = (const unsigned char *)"",
         .vlen = 0},
    };
    struct seen s = {.stop_after = 0};
    unsigned char *packed = NULL;
    size_t len = 0;
    ck_assert_int_eq(pack_and_walk(rows, 3, &s, &packed, &len), MP_OK);
    ck_assert_int_eq(packed[0], MP_PG_USNAP_FORMAT_LZ4);
    size_t raw = 3 * 10 + 2 + 4 + 3 + sizeof(v1) - 1 + 3;
    ck_assert_uint_eq(mp_codec_be_get(packed + 1, 4), raw);
    ck_assert_uint_lt(len, 1 + raw);
    char want[256];
    snprintf(want, sizeof(want), "%d:u1=head;%d:u1f=%s;%d:u1g=;", MP_TABLE_USERS, MP_TABLE_FACTS,
             v1, MP_TABLE_FACTS);
    ck_assert_str_eq(s.text, want);
    /* the walk refuses a block that does not inflate to the length it states */
    mp_codec_be_put(packed + 1, raw + 1, 4);
    ck_assert_int_eq(mp_pg_usnap_each(packed, len, false, on_row, &s), MP_EIO);
    mp_codec_be_put(packed + 1, raw, 4);
    for (size_t cut = 0; cut < len; cut++) /* or one cut short */
        ck_assert_msg(mp_pg_usnap_each(packed, cut, false, on_row, &s) == MP_EIO, "cut at %zu",
                      cut);
    mp_codec_be_put(packed + 1, 1u << 30, 4); /* or one that states more than a snapshot holds */
    ck_assert_int_eq(mp_pg_usnap_each(packed, len, false, on_row, &s), MP_EIO);
    free(packed);
}
END_TEST

START_TEST(test_rows_that_do_not_compress_stay_plain)
{
    unsigned char noise[200];
    uint64_t x = 88172645463325252ULL;
    for (size_t i = 0; i < sizeof(noise); i++) { /* xorshift: no repeats to find */
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        noise[i] = (unsigned char)x;
    }
    struct mp_pg_usnap_row row1 = {.t = MP_TABLE_FACTS,
                                   .k = (const unsigned char *)"k",
                                   .klen = 1,
                                   .v = noise,
                                   .vlen = sizeof(noise)};
    struct seen s = {.stop_after = 0};
    unsigned char *packed = NULL;
    size_t len = 0;
    ck_assert_int_eq(pack_and_walk(&row1, 1, &s, &packed, &len), MP_OK);
    ck_assert_int_eq(packed[0], MP_PG_USNAP_FORMAT);
    ck_assert_uint_eq(len, 1 + 10 + 1 + sizeof(noise));
    ck_assert_int_eq(memcmp(packed + 1 + 6 + 1 + 4, noise, sizeof(noise)), 0);
    ck_assert_int_eq(s.rows, 1);
    free(packed);
}
END_TEST

START_TEST(test_too_many_rows_or_bytes_pack_empty)
{
    static unsigned char big[MP_PG_USNAP_BYTES_MAX];
    struct mp_pg_usnap_row *rows = calloc(MP_PG_USER_ROWS + 1, sizeof(*rows));
    ck_assert_ptr_nonnull(rows);
    for (size_t i = 0; i <= MP_PG_USER_ROWS; i++)
        rows[i] = (struct mp_pg_usnap_row){
            .t = MP_TABLE_DOCS, .k = (const unsigned char *)"d", .klen = 1, .v = big, .vlen = 0};
    unsigned char *packed = (unsigned char *)"x";
    size_t len = 1;
    ck_assert_int_eq(mp_pg_usnap_pack(rows, MP_PG_USER_ROWS + 1, &packed, &len), MP_OK);
    ck_assert_ptr_null(packed);
    ck_assert_uint_eq(len, 0);
    ck_assert_int_eq(mp_pg_usnap_pack(rows, MP_PG_USER_ROWS, &packed, &len), MP_OK); /* fits */
    ck_assert_uint_gt(len, 0);
    free(packed);
    rows[0].vlen = sizeof(big); /* one byte of key past the bytes a snapshot holds */
    ck_assert_int_eq(mp_pg_usnap_pack(rows, 1, &packed, &len), MP_OK);
    ck_assert_ptr_null(packed);
    ck_assert_uint_eq(len, 0);
    rows[0].vlen = sizeof(big) - 1; /* exactly that many */
    ck_assert_int_eq(mp_pg_usnap_pack(rows, 1, &packed, &len), MP_OK);
    ck_assert_uint_gt(len, 0);
    free(packed);
    free(rows);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("pg_usnap");
    TCase *tc = tcase_create("walk");
    tcase_add_test(tc, test_rows_come_in_order_byte_for_byte);
    tcase_add_test(tc, test_malformed_snapshots_are_refused);
    tcase_add_test(tc, test_only_the_tables_a_request_reads);
    tcase_add_test(tc, test_no_more_rows_than_a_user_read_holds);
    suite_add_tcase(s, tc);
    TCase *pack = tcase_create("pack");
    tcase_add_test(pack, test_packed_rows_compress_and_walk_back_byte_for_byte);
    tcase_add_test(pack, test_rows_that_do_not_compress_stay_plain);
    tcase_add_test(pack, test_too_many_rows_or_bytes_pack_empty);
    suite_add_tcase(s, pack);
    return s;
}
