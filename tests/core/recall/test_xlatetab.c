/* Tests for core/recall/xlatetab.c: the bytes of a translation table,
 * written by the builder and read where they lie. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "recall/lang.h"
#include "status.h"
#include "recall/xlatetab.h"

Suite *mp_test_suite(void);

struct got {
    char t[8][64];
    unsigned rank[8];
    size_t n;
};

static int on_t(void *arg, const char *term, size_t len, unsigned rank)
{
    struct got *g = arg;
    if (g->n < 8 && len < 64) {
        memcpy(g->t[g->n], term, len);
        g->t[g->n][len] = '\0';
        g->rank[g->n++] = rank;
    }
    return MP_OK;
}

static unsigned char *build(size_t *len)
{
    struct mp_xlatetab_builder *b = NULL;
    unsigned char *p = NULL;
    ck_assert_int_eq(mp_xlatetab_builder_new(MP_LANG_EN, MP_LANG_DE, &b), MP_OK);
    const char *tr[] = {"arzt", "doktor",  "arzt",   "betreu",  "kirchenlehr",
                        "dr",   "medizin", "heiler", "hausarzt"};
    for (size_t i = 0; i < sizeof(tr) / sizeof(tr[0]); i++)
        ck_assert_int_eq(mp_xlatetab_builder_add(b, "doctor", 6, tr[i], strlen(tr[i])), MP_OK);
    ck_assert_int_eq(mp_xlatetab_builder_add(b, "blood pressur", 13, "blutdruck", 9), MP_OK);
    ck_assert_int_eq(mp_xlatetab_builder_add(b, "lena", 4, "lena", 4), MP_OK);
    ck_assert_int_eq(mp_xlatetab_builder_add(b, "", 0, "x", 1), MP_EINVAL);
    ck_assert_int_eq(mp_xlatetab_builder_finish(b, &p, len), MP_OK);
    mp_xlatetab_builder_free(b);
    return p;
}

/* Ranked as added, a repeat dropped, capped at MP_XLATETAB_MAX_TRANS. */
START_TEST(test_xlatetab_ranked_capped_and_deduplicated)
{
    size_t len = 0;
    unsigned char *p = build(&len);
    struct mp_xlatetab t;
    struct got g = {.n = 0};
    ck_assert_int_eq(mp_xlatetab_open(&t, p, len), MP_OK);
    ck_assert_int_eq(t.src, MP_LANG_EN);
    ck_assert_int_eq(t.dst, MP_LANG_DE);
    ck_assert_int_eq(mp_xlatetab_find(&t, "doctor", 6, on_t, &g), MP_OK);
    ck_assert_uint_eq(g.n, MP_XLATETAB_MAX_TRANS);
    ck_assert_str_eq(g.t[0], "arzt");
    ck_assert_str_eq(g.t[1], "doktor");
    ck_assert_str_eq(g.t[2], "betreu");
    ck_assert_str_eq(g.t[3], "kirchenlehr");
    ck_assert_uint_eq(g.rank[3], 3);
    /* six kept: a large dictionary's common sense can come fifth or sixth */
    ck_assert_uint_eq(MP_XLATETAB_MAX_TRANS, 6);
    ck_assert_str_eq(g.t[5], "medizin");
    ck_assert_uint_eq(g.rank[5], 5);
    free(p);
}
END_TEST

/* A two-word key is found whole; a key translated to itself (a name) and
 * an unknown key are not found. */
START_TEST(test_xlatetab_phrase_key_and_misses)
{
    size_t len = 0;
    unsigned char *p = build(&len);
    struct mp_xlatetab t;
    struct got g = {.n = 0};
    ck_assert_int_eq(mp_xlatetab_open(&t, p, len), MP_OK);
    ck_assert_int_eq(mp_xlatetab_find(&t, "blood pressur", 13, on_t, &g), MP_OK);
    ck_assert_uint_eq(g.n, 1);
    ck_assert_str_eq(g.t[0], "blutdruck");
    ck_assert_int_eq(mp_xlatetab_find(&t, "lena", 4, on_t, &g), MP_NOTFOUND);
    ck_assert_int_eq(mp_xlatetab_find(&t, "blood", 5, on_t, &g), MP_NOTFOUND);
    ck_assert_uint_eq(t.nkeys, 2);
    free(p);
}
END_TEST

/* Bytes that are not a table, or are cut short, are refused; an entry cut
 * off by a damaged size is a miss, never a read past the end. */
START_TEST(test_xlatetab_refuses_damaged_bytes)
{
    size_t len = 0;
    unsigned char *p = build(&len);
    struct mp_xlatetab t;
    ck_assert_int_eq(mp_xlatetab_open(&t, p, len - 1), MP_EINVAL);
    ck_assert_int_eq(mp_xlatetab_open(&t, "MPXL", 4), MP_EINVAL);
    ck_assert_int_eq(mp_xlatetab_open(&t, NULL, 0), MP_EINVAL);
    p[0] = 'X';
    ck_assert_int_eq(mp_xlatetab_open(&t, p, len), MP_EINVAL);
    p[0] = 'M';
    ck_assert_int_eq(mp_xlatetab_open(&t, p, len), MP_OK);
    t.size = MP_XLATETAB_HEADER + 4 * (size_t)t.nslots + 3; /* the entries cut */
    struct got g = {.n = 0};
    ck_assert_int_eq(mp_xlatetab_find(&t, "doctor", 6, on_t, &g), MP_NOTFOUND);
    free(p);
}
END_TEST

/* The header read from a copy: the table's own first bytes are not read
 * (a mapping stays untouched until a lookup), lookups read the table. */
START_TEST(test_xlatetab_header_from_a_copy)
{
    size_t len = 0;
    unsigned char *p = build(&len);
    unsigned char head[MP_XLATETAB_HEADER];
    memcpy(head, p, sizeof(head));
    memset(p, 0, 8); /* the table's own magic and version: gone */
    struct mp_xlatetab t;
    struct got g = {.n = 0};
    ck_assert_int_eq(mp_xlatetab_open(&t, p, len), MP_EINVAL);
    ck_assert_int_eq(mp_xlatetab_open_head(&t, head, p, len), MP_OK);
    ck_assert_ptr_eq(t.p, p);
    ck_assert_int_eq(mp_xlatetab_find(&t, "blood pressur", 13, on_t, &g), MP_OK);
    ck_assert_str_eq(g.t[0], "blutdruck");
    ck_assert_int_eq(mp_xlatetab_open_head(&t, head, p, len - 1), MP_EINVAL);
    free(p);
}
END_TEST

/* The same entries give the same bytes, whatever order they came in. */
START_TEST(test_xlatetab_same_bytes_every_build)
{
    size_t la = 0, lb = 0;
    unsigned char *a = build(&la), *b = NULL;
    struct mp_xlatetab_builder *bd = NULL;
    ck_assert_int_eq(mp_xlatetab_builder_new(MP_LANG_EN, MP_LANG_DE, &bd), MP_OK);
    ck_assert_int_eq(mp_xlatetab_builder_add(bd, "blood pressur", 13, "blutdruck", 9), MP_OK);
    const char *tr[] = {"arzt", "doktor", "betreu", "kirchenlehr", "dr", "medizin"};
    for (size_t i = 0; i < 6; i++)
        ck_assert_int_eq(mp_xlatetab_builder_add(bd, "doctor", 6, tr[i], strlen(tr[i])), MP_OK);
    ck_assert_int_eq(mp_xlatetab_builder_finish(bd, &b, &lb), MP_OK);
    mp_xlatetab_builder_free(bd);
    ck_assert_uint_eq(la, lb);
    ck_assert_int_eq(memcmp(a, b, la), 0);
    free(a);
    free(b);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("xlatetab");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_xlatetab_ranked_capped_and_deduplicated);
    tcase_add_test(tc, test_xlatetab_phrase_key_and_misses);
    tcase_add_test(tc, test_xlatetab_refuses_damaged_bytes);
    tcase_add_test(tc, test_xlatetab_header_from_a_copy);
    tcase_add_test(tc, test_xlatetab_same_bytes_every_build);
    suite_add_tcase(s, tc);
    return s;
}
