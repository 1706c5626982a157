/* Tests for core/memory/userkey.c: store user keys with an optional tenant. */
#include <check.h>
#include <string.h>

#include "status.h"
#include "memory/userkey.h"

Suite *mp_test_suite(void);

static const unsigned char tenant[MP_USERKEY_TENANT_LEN] = {
    0x00, 0x01, 0x7f, 0x80, 0xff, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0xab, 0xcd, 0xef, 0x99};

START_TEST(test_userkey_without_tenant_is_the_id)
{
    char out[MP_USERKEY_MAX];
    size_t n = mp_userkey_make(NULL, "alice", 5, out);
    ck_assert_uint_eq(n, 5);
    ck_assert_int_eq(memcmp(out, "alice", 5), 0);
}
END_TEST

START_TEST(test_userkey_with_tenant_prefixes_marker_and_tenant)
{
    char out[MP_USERKEY_MAX];
    size_t n = mp_userkey_make(tenant, "alice", 5, out);
    ck_assert_uint_eq(n, 1 + MP_USERKEY_TENANT_LEN + 5);
    ck_assert_int_eq((unsigned char)out[0], MP_USERKEY_TENANT);
    ck_assert_int_eq(memcmp(out + 1, tenant, MP_USERKEY_TENANT_LEN), 0);
    ck_assert_int_eq(memcmp(out + 1 + MP_USERKEY_TENANT_LEN, "alice", 5), 0);
}
END_TEST

START_TEST(test_userkey_split_round_trips_both_forms)
{
    char out[MP_USERKEY_MAX];
    const unsigned char *t = tenant;
    const char *id = NULL;
    size_t id_len = 0;
    size_t n = mp_userkey_make(tenant, "bob", 3, out);
    mp_userkey_split(out, n, &t, &id, &id_len);
    ck_assert_ptr_eq(t, (const unsigned char *)out + 1);
    ck_assert_uint_eq(id_len, 3);
    ck_assert_int_eq(memcmp(id, "bob", 3), 0);
    n = mp_userkey_make(NULL, "bob", 3, out);
    mp_userkey_split(out, n, &t, &id, &id_len);
    ck_assert_ptr_null(t);
    ck_assert_ptr_eq(id, out);
    ck_assert_uint_eq(id_len, 3);
}
END_TEST

START_TEST(test_userkey_tenant_hex_is_lowercase_and_parses_back)
{
    char hex[MP_USERKEY_TENANT_HEX + 1];
    unsigned char back[MP_USERKEY_TENANT_LEN];
    mp_userkey_tenant_hex(tenant, hex);
    ck_assert_str_eq(hex, "00017f80ff10203040506070abcdef99");
    ck_assert_int_eq(mp_userkey_tenant_parse(hex, strlen(hex), back), MP_OK);
    ck_assert_int_eq(memcmp(back, tenant, sizeof(back)), 0);
}
END_TEST

START_TEST(test_userkey_tenant_parse_accepts_uppercase)
{
    unsigned char back[MP_USERKEY_TENANT_LEN];
    const char *hex = "00017F80FF10203040506070ABCDEF99";
    ck_assert_int_eq(mp_userkey_tenant_parse(hex, strlen(hex), back), MP_OK);
    ck_assert_int_eq(memcmp(back, tenant, sizeof(back)), 0);
}
END_TEST

START_TEST(test_userkey_tenant_parse_rejects_bad_input_untouched)
{
    unsigned char back[MP_USERKEY_TENANT_LEN];
    memset(back, 0x5a, sizeof(back));
    ck_assert_int_eq(mp_userkey_tenant_parse("00017f80ff10203040506070abcdef9", 31, back),
                     MP_EINVAL);
    ck_assert_int_eq(mp_userkey_tenant_parse("00017f80ff10203040506070abcdef990", 33, back),
                     MP_EINVAL);
    ck_assert_int_eq(mp_userkey_tenant_parse("00017f80ff10203040506070abcdef9g", 32, back),
                     MP_EINVAL);
    ck_assert_int_eq(mp_userkey_tenant_parse("00017f80ff10203040506070abcdef9 ", 32, back),
                     MP_EINVAL);
    for (size_t i = 0; i < sizeof(back); i++)
        ck_assert_int_eq(back[i], 0x5a);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("userkey");
    TCase *tc = tcase_create("userkey");
    tcase_add_test(tc, test_userkey_without_tenant_is_the_id);
    tcase_add_test(tc, test_userkey_with_tenant_prefixes_marker_and_tenant);
    tcase_add_test(tc, test_userkey_split_round_trips_both_forms);
    tcase_add_test(tc, test_userkey_tenant_hex_is_lowercase_and_parses_back);
    tcase_add_test(tc, test_userkey_tenant_parse_accepts_uppercase);
    tcase_add_test(tc, test_userkey_tenant_parse_rejects_bad_input_untouched);
    suite_add_tcase(s, tc);
    return s;
}
