/* core/import/importzip.c: a member of an export's ZIP inflated from
 * memory, within a bound. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "import_fixture.h"
#include "import/importzip.h"
#include "status.h"

Suite *mp_test_suite(void);

START_TEST(test_importzip_member_inflated_whole)
{
    size_t zlen, jlen, n = 0;
    char *zip = fx_read("chatgpt_export.zip", &zlen);
    char *json = fx_read("chatgpt_conversations.json", &jlen);
    char *out = NULL;
    ck_assert(mp_importzip_is_zip(zip, zlen));
    ck_assert(!mp_importzip_is_zip(json, jlen));
    ck_assert_int_eq(mp_importzip_member(zip, zlen, "conversations.json", 1 << 20, &out, &n),
                     MP_OK);
    ck_assert_uint_eq(n, jlen);
    ck_assert_mem_eq(out, json, n);
    ck_assert_int_eq(out[n], '\0');
    free(out);
    /* letter case of the name does not matter */
    ck_assert_int_eq(mp_importzip_member(zip, zlen, "CONVERSATIONS.JSON", 1 << 20, &out, &n),
                     MP_OK);
    free(out);
    free(zip);
    free(json);
}
END_TEST

START_TEST(test_importzip_missing_damaged_or_too_big)
{
    size_t zlen, n = 0;
    char *zip = fx_read("claude_export.zip", &zlen);
    char *out = NULL;
    ck_assert_int_eq(mp_importzip_member(zip, zlen, "chat.html", 1 << 20, &out, &n), MP_NOTFOUND);
    ck_assert_int_eq(mp_importzip_member(zip, zlen, "conversations.json", 100, &out, &n),
                     MP_ETOOBIG);
    ck_assert_ptr_null(out);
    ck_assert_int_eq(mp_importzip_member("PK\3\4 not really", 16, "a", 100, &out, &n), MP_EINVAL);
    ck_assert_int_eq(mp_importzip_member(zip, zlen / 2, "conversations.json", 1 << 20, &out, &n),
                     MP_EINVAL);
    free(zip);
}
END_TEST

START_TEST(test_importzip_bound_is_exact)
{
    size_t zlen, jlen, n = 0;
    char *zip = fx_read("chatgpt_export.zip", &zlen);
    char *json = fx_read("chatgpt_conversations.json", &jlen);
    char *out = NULL;
    /* a member of exactly max bytes inflates; one byte less refuses it */
    ck_assert_int_eq(mp_importzip_member(zip, zlen, "conversations.json", jlen, &out, &n), MP_OK);
    ck_assert_uint_eq(n, jlen);
    free(out);
    out = NULL;
    ck_assert_int_eq(mp_importzip_member(zip, zlen, "conversations.json", jlen - 1, &out, &n),
                     MP_ETOOBIG);
    ck_assert_ptr_null(out);
    free(zip);
    free(json);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("importzip");
    TCase *tc = tcase_create("importzip");
    tcase_add_test(tc, test_importzip_member_inflated_whole);
    tcase_add_test(tc, test_importzip_missing_damaged_or_too_big);
    tcase_add_test(tc, test_importzip_bound_is_exact);
    suite_add_tcase(s, tc);
    return s;
}
