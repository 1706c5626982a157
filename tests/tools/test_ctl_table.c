/* Tests for tools/ctl/ctl_table.c: columns as wide as their widest cell,
 * no trailing blanks, every cell one safe line. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl_table.h"
#include "status.h"

Suite *mp_test_suite(void);

/* What t prints with indent. */
static char *printed(const struct mp_ctl_table *t, const char *indent)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(f);
    mp_ctl_table_print(t, indent, f);
    fclose(f);
    return buf;
}

START_TEST(test_ctl_table_aligns_columns)
{
    struct mp_ctl_table *t = mp_ctl_table_new(3, 64);
    const char *r1[] = {"KEY", "VALUE", "PII"};
    const char *r2[] = {"city", "Gr\xc3\xbcnwald", "no"};
    const char *r3[] = {"name", NULL, "yes"};
    ck_assert_int_eq(mp_ctl_table_add(t, r1), MP_OK);
    ck_assert_int_eq(mp_ctl_table_add(t, r2), MP_OK);
    ck_assert_int_eq(mp_ctl_table_add(t, r3), MP_OK);
    ck_assert_uint_eq(mp_ctl_table_rows(t), 3);
    char *out = printed(t, "  ");
    ck_assert_str_eq(out, "  KEY   VALUE     PII\n"
                          "  city  Gr\xc3\xbcnwald  no\n"
                          "  name  -         yes\n");
    free(out);
    mp_ctl_table_free(t);
}
END_TEST

START_TEST(test_ctl_table_no_trailing_blanks)
{
    struct mp_ctl_table *t = mp_ctl_table_new(2, 64);
    const char *r1[] = {"a", ""};
    const char *r2[] = {"longer", "x"};
    mp_ctl_table_add(t, r1);
    mp_ctl_table_add(t, r2);
    char *out = printed(t, NULL);
    ck_assert_str_eq(out, "a\nlonger  x\n");
    free(out);
    mp_ctl_table_free(t);
}
END_TEST

START_TEST(test_ctl_table_cells_are_safe_lines)
{
    struct mp_ctl_table *t = mp_ctl_table_new(2, 16);
    const char *r1[] = {"two\nlines", "\x1b]0;title\x07"
                                      "abcdefghij"};
    mp_ctl_table_add(t, r1);
    char *out = printed(t, NULL);
    ck_assert_str_eq(out, "two lines  ]0;title abcd\xe2\x80\xa6\n");
    free(out);
    mp_ctl_table_free(t);
}
END_TEST

START_TEST(test_ctl_table_refuses_bad_shapes)
{
    ck_assert_ptr_null(mp_ctl_table_new(0, 64));
    ck_assert_ptr_null(mp_ctl_table_new(17, 64));
    ck_assert_ptr_null(mp_ctl_table_new(2, 3));
    mp_ctl_table_free(NULL);
}
END_TEST

START_TEST(test_ctl_table_many_rows)
{
    struct mp_ctl_table *t = mp_ctl_table_new(1, 16);
    char cell[16];
    for (int i = 0; i < 1000; i++) {
        const char *row[] = {cell};
        snprintf(cell, sizeof(cell), "%d", i);
        ck_assert_int_eq(mp_ctl_table_add(t, row), MP_OK);
    }
    ck_assert_uint_eq(mp_ctl_table_rows(t), 1000);
    char *out = printed(t, NULL);
    ck_assert(strncmp(out, "0\n1\n2\n", 6) == 0);
    ck_assert(strstr(out, "\n999\n") != NULL);
    free(out);
    mp_ctl_table_free(t);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("ctl_table");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_ctl_table_aligns_columns);
    tcase_add_test(tc, test_ctl_table_no_trailing_blanks);
    tcase_add_test(tc, test_ctl_table_cells_are_safe_lines);
    tcase_add_test(tc, test_ctl_table_refuses_bad_shapes);
    tcase_add_test(tc, test_ctl_table_many_rows);
    suite_add_tcase(s, tc);
    return s;
}
