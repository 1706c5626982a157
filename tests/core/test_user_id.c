/* Tests for core/user_id.c: docs/http-api.md user id rules. */
#include <check.h>
#include <string.h>

#include "status.h"
#include "user_id.h"

Suite *mp_test_suite(void);

static int check(const char *s)
{
    return mp_user_id_validate(s, strlen(s));
}

START_TEST(test_user_id_accepts_ascii)
{
    ck_assert_int_eq(check("alice"), MP_OK);
    ck_assert_int_eq(check("user-42@example.com"), MP_OK);
    ck_assert_int_eq(check("a b~!#$^&*()[]|\\\"'<>?,./;:=+`"), MP_OK);
    ck_assert_int_eq(check("x"), MP_OK);
}
END_TEST

START_TEST(test_user_id_accepts_accented)
{
    ck_assert_int_eq(check("Jos\xC3\xA9 M\xC3\xBCller"), MP_OK);
}
END_TEST

START_TEST(test_user_id_accepts_cjk)
{
    ck_assert_int_eq(check("\xE7\x94\xA8\xE6\x88\xB7\xE4\xB8\x80"), MP_OK);
}
END_TEST

START_TEST(test_user_id_accepts_emoji)
{
    ck_assert_int_eq(check("bob\xF0\x9F\x98\x80"), MP_OK);
    ck_assert_int_eq(check("\xF4\x8F\xBF\xBD"), MP_OK); /* U+10FFFD, last valid plane */
}
END_TEST

START_TEST(test_user_id_accepts_percent_encoded_bytes)
{
    ck_assert_int_eq(check("caf%C3%A9"), MP_OK);
    ck_assert_int_eq(check("100%"), MP_OK);
    ck_assert_int_eq(check("$USER"), MP_OK);
}
END_TEST

START_TEST(test_user_id_length_limits)
{
    char buf[MP_USER_ID_MAX + 1];
    memset(buf, 'a', sizeof(buf));
    ck_assert_int_eq(mp_user_id_validate(buf, MP_USER_ID_MAX), MP_OK);
    ck_assert_int_eq(mp_user_id_validate(buf, MP_USER_ID_MAX + 1), MP_EINVAL);
    ck_assert_int_eq(mp_user_id_validate(buf, 0), MP_EINVAL);
}
END_TEST

START_TEST(test_user_id_length_counts_bytes)
{
    char buf[MP_USER_ID_MAX + 2];
    for (size_t i = 0; i + 1 < sizeof(buf); i += 2)
        memcpy(buf + i, "\xC3\xA9", 2);
    ck_assert_int_eq(mp_user_id_validate(buf, MP_USER_ID_MAX), MP_OK);
    ck_assert_int_eq(mp_user_id_validate(buf, MP_USER_ID_MAX + 2), MP_EINVAL);
}
END_TEST

START_TEST(test_user_id_rejects_c0_controls)
{
    for (int c = 0; c < 0x20; c++) {
        char buf[] = "ab?cd";
        buf[2] = (char)c;
        ck_assert_int_eq(mp_user_id_validate(buf, 5), MP_EINVAL);
    }
}
END_TEST

START_TEST(test_user_id_rejects_del)
{
    ck_assert_int_eq(check("ab\x7F"), MP_EINVAL);
}
END_TEST

START_TEST(test_user_id_rejects_c1_controls)
{
    ck_assert_int_eq(check("a\xC2\x80"), MP_EINVAL);
    ck_assert_int_eq(check("a\xC2\x85"), MP_EINVAL);
    ck_assert_int_eq(check("a\xC2\x9F"), MP_EINVAL);
    ck_assert_int_eq(check("a\xC2\xA0"), MP_OK); /* NBSP is past C1 */
}
END_TEST

START_TEST(test_user_id_rejects_overlong)
{
    ck_assert_int_eq(mp_user_id_validate("a\xC0\x80", 3), MP_EINVAL);
    ck_assert_int_eq(check("a\xC1\xBF"), MP_EINVAL);
    ck_assert_int_eq(check("a\xE0\x80\x80"), MP_EINVAL);
    ck_assert_int_eq(check("a\xE0\x9F\xBF"), MP_EINVAL);
    ck_assert_int_eq(check("a\xF0\x8F\xBF\xBF"), MP_EINVAL);
    /* Overlong forms of printable characters: 'A', '/', U+FFFD. */
    ck_assert_int_eq(check("a\xC1\x81"), MP_EINVAL);
    ck_assert_int_eq(check("a\xC0\xAF"), MP_EINVAL);
    ck_assert_int_eq(check("a\xE0\x81\x81"), MP_EINVAL);
    ck_assert_int_eq(check("a\xF0\x8F\xBF\xBD"), MP_EINVAL);
}
END_TEST

START_TEST(test_user_id_rejects_surrogates)
{
    ck_assert_int_eq(check("a\xED\xA0\x80"), MP_EINVAL);
    ck_assert_int_eq(check("a\xED\xBF\xBF"), MP_EINVAL);
    ck_assert_int_eq(check("a\xED\x9F\xBF"), MP_OK); /* U+D7FF */
}
END_TEST

START_TEST(test_user_id_rejects_beyond_max_code_point)
{
    ck_assert_int_eq(check("a\xF4\x90\x80\x80"), MP_EINVAL);
    ck_assert_int_eq(check("a\xF5\x80\x80\x80"), MP_EINVAL);
    ck_assert_int_eq(check("a\xFF"), MP_EINVAL);
}
END_TEST

START_TEST(test_user_id_rejects_truncated_sequences)
{
    ck_assert_int_eq(check("a\xC3"), MP_EINVAL);
    ck_assert_int_eq(check("a\xE7\x94"), MP_EINVAL);
    ck_assert_int_eq(check("a\xF0\x9F\x98"), MP_EINVAL);
    ck_assert_int_eq(check("a\xF0\x9F\x98z"), MP_EINVAL);
    ck_assert_int_eq(check("\x80"), MP_EINVAL);
    /* The sequence completes only past len: still truncated. */
    ck_assert_int_eq(mp_user_id_validate("a\xC3\xA9", 2), MP_EINVAL);
    ck_assert_int_eq(mp_user_id_validate("a\xF0\x9F\x98\x80", 4), MP_EINVAL);
}
END_TEST

START_TEST(test_user_id_rejects_zero_width)
{
    ck_assert_int_eq(check("a\xE2\x80\x8B"), MP_EINVAL); /* U+200B */
    ck_assert_int_eq(check("a\xE2\x80\x8D"), MP_EINVAL); /* U+200D ZWJ */
    ck_assert_int_eq(check("a\xE2\x81\xA0"), MP_EINVAL); /* U+2060 */
    ck_assert_int_eq(check("a\xC2\xAD"), MP_EINVAL);     /* soft hyphen */
}
END_TEST

START_TEST(test_user_id_rejects_bom)
{
    ck_assert_int_eq(check("\xEF\xBB\xBF"
                           "alice"),
                     MP_EINVAL);
}
END_TEST

START_TEST(test_user_id_rejects_bidi_overrides)
{
    ck_assert_int_eq(check("a\xE2\x80\xAE"), MP_EINVAL); /* U+202E RLO */
    ck_assert_int_eq(check("a\xE2\x80\xAA"), MP_EINVAL); /* U+202A LRE */
    ck_assert_int_eq(check("a\xE2\x81\xA6"), MP_EINVAL); /* U+2066 LRI */
    ck_assert_int_eq(check("a\xE2\x80\x8F"), MP_EINVAL); /* U+200F RLM */
}
END_TEST

START_TEST(test_user_id_rejects_noncharacters)
{
    ck_assert_int_eq(check("a\xEF\xB7\x90"), MP_EINVAL);     /* U+FDD0 */
    ck_assert_int_eq(check("a\xEF\xBF\xBE"), MP_EINVAL);     /* U+FFFE */
    ck_assert_int_eq(check("a\xF0\x9F\xBF\xBF"), MP_EINVAL); /* U+1FFFF */
    ck_assert_int_eq(check("a\xEF\xBF\xBD"), MP_OK);         /* U+FFFD */
}
END_TEST

START_TEST(test_user_id_noncharacter_bounds)
{
    ck_assert_int_eq(check("a\xEF\xB7\x8F"), MP_OK);         /* U+FDCF */
    ck_assert_int_eq(check("a\xEF\xB7\x90"), MP_EINVAL);     /* U+FDD0 */
    ck_assert_int_eq(check("a\xEF\xB7\xAF"), MP_EINVAL);     /* U+FDEF */
    ck_assert_int_eq(check("a\xEF\xB7\xB0"), MP_OK);         /* U+FDF0 */
    ck_assert_int_eq(check("a\xEF\xBF\xBF"), MP_EINVAL);     /* U+FFFF */
    ck_assert_int_eq(check("a\xF0\x9F\xBF\xBD"), MP_OK);     /* U+1FFFD */
    ck_assert_int_eq(check("a\xF0\x9F\xBF\xBE"), MP_EINVAL); /* U+1FFFE */
    ck_assert_int_eq(check("a\xF4\x8F\xBF\xBE"), MP_EINVAL); /* U+10FFFE */
    ck_assert_int_eq(check("a\xF4\x8F\xBF\xBF"), MP_EINVAL); /* U+10FFFF */
}
END_TEST

START_TEST(test_user_id_format_character_bounds)
{
    /* Each refused range and its neighbours on both sides. */
    static const struct {
        const char *s;
        int rc;
    } cases[] = {
        {"a\x1F", MP_EINVAL},         /* U+001F */
        {"a\x20", MP_OK},             /* U+0020 */
        {"a\x7E", MP_OK},             /* U+007E */
        {"a\xC2\x9F", MP_EINVAL},     /* U+009F */
        {"a\xC2\xA0", MP_OK},         /* U+00A0 */
        {"a\xC2\xAC", MP_OK},         /* U+00AC */
        {"a\xC2\xAD", MP_EINVAL},     /* U+00AD soft hyphen */
        {"a\xC2\xAE", MP_OK},         /* U+00AE */
        {"a\xE2\x80\x8A", MP_OK},     /* U+200A */
        {"a\xE2\x80\x8B", MP_EINVAL}, /* U+200B */
        {"a\xE2\x80\x8F", MP_EINVAL}, /* U+200F */
        {"a\xE2\x80\x90", MP_OK},     /* U+2010 */
        {"a\xE2\x80\xA9", MP_OK},     /* U+2029 */
        {"a\xE2\x80\xAA", MP_EINVAL}, /* U+202A */
        {"a\xE2\x80\xAE", MP_EINVAL}, /* U+202E */
        {"a\xE2\x80\xAF", MP_OK},     /* U+202F */
        {"a\xE2\x81\x9F", MP_OK},     /* U+205F */
        {"a\xE2\x81\xA0", MP_EINVAL}, /* U+2060 */
        {"a\xE2\x81\xAF", MP_EINVAL}, /* U+206F */
        {"a\xE2\x81\xB0", MP_OK},     /* U+2070 */
        {"a\xEF\xBB\xBE", MP_OK},     /* U+FEFE */
        {"a\xEF\xBB\xBF", MP_EINVAL}, /* U+FEFF */
        {"a\xEF\xBC\x80", MP_OK},     /* U+FF00 */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        ck_assert_msg(check(cases[i].s) == cases[i].rc, "case %zu", i);
}
END_TEST

START_TEST(test_user_id_rejects_mustache_template)
{
    ck_assert_int_eq(check("{{user}}"), MP_EINVAL);
    ck_assert_int_eq(check("abc}}"), MP_EINVAL);
    ck_assert_int_eq(check("{{abc"), MP_EINVAL);
    ck_assert_int_eq(check("{user}"), MP_OK);
}
END_TEST

START_TEST(test_user_id_rejects_shell_template)
{
    ck_assert_int_eq(check("${USER}"), MP_EINVAL);
    ck_assert_int_eq(check("id-${env.ID}-x"), MP_EINVAL);
}
END_TEST

START_TEST(test_user_id_rejects_percent_template)
{
    ck_assert_int_eq(check("%USERNAME%"), MP_EINVAL);
    ck_assert_int_eq(check("x%user_id%"), MP_EINVAL);
}
END_TEST

START_TEST(test_user_id_rejects_erb_template)
{
    ck_assert_int_eq(check("<%= id %>"), MP_EINVAL);
    ck_assert_int_eq(check("<%>"), MP_OK);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("user_id");
    TCase *ok = tcase_create("accept");
    TCase *bad = tcase_create("reject");

    tcase_add_test(ok, test_user_id_accepts_ascii);
    tcase_add_test(ok, test_user_id_accepts_accented);
    tcase_add_test(ok, test_user_id_accepts_cjk);
    tcase_add_test(ok, test_user_id_accepts_emoji);
    tcase_add_test(ok, test_user_id_accepts_percent_encoded_bytes);
    tcase_add_test(ok, test_user_id_length_limits);
    tcase_add_test(ok, test_user_id_length_counts_bytes);
    suite_add_tcase(s, ok);

    tcase_add_test(bad, test_user_id_rejects_c0_controls);
    tcase_add_test(bad, test_user_id_rejects_del);
    tcase_add_test(bad, test_user_id_rejects_c1_controls);
    tcase_add_test(bad, test_user_id_rejects_overlong);
    tcase_add_test(bad, test_user_id_rejects_surrogates);
    tcase_add_test(bad, test_user_id_rejects_beyond_max_code_point);
    tcase_add_test(bad, test_user_id_rejects_truncated_sequences);
    tcase_add_test(bad, test_user_id_rejects_zero_width);
    tcase_add_test(bad, test_user_id_rejects_bom);
    tcase_add_test(bad, test_user_id_rejects_bidi_overrides);
    tcase_add_test(bad, test_user_id_rejects_noncharacters);
    tcase_add_test(bad, test_user_id_noncharacter_bounds);
    tcase_add_test(bad, test_user_id_format_character_bounds);
    tcase_add_test(bad, test_user_id_rejects_mustache_template);
    tcase_add_test(bad, test_user_id_rejects_shell_template);
    tcase_add_test(bad, test_user_id_rejects_percent_template);
    tcase_add_test(bad, test_user_id_rejects_erb_template);
    suite_add_tcase(s, bad);
    return s;
}
