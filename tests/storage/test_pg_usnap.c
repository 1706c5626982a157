/* The PostgreSQL user snapshot's walk (storage/store_pg_usnap.h): the rows
 * of a well-formed snapshot in order, byte for byte, and MP_EIO for every
 * way a value read back from the database could be malformed. (Writing and
 * reading snapshots on a server: tests/proxy/test_postgres.py.) */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "status.h"
#include "store_pg_usnap.h"

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

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("pg_usnap");
    TCase *tc = tcase_create("walk");
    tcase_add_test(tc, test_rows_come_in_order_byte_for_byte);
    tcase_add_test(tc, test_malformed_snapshots_are_refused);
    tcase_add_test(tc, test_only_the_tables_a_request_reads);
    tcase_add_test(tc, test_no_more_rows_than_a_user_read_holds);
    suite_add_tcase(s, tc);
    return s;
}
