/* core/hex.c: hex digits both ways, and the size line of an HTTP chunk. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "hex.h"
#include "status.h"

Suite *mp_test_suite(void);

/* mp_hex_size(n) must be what printf's %zx writes: no leading zeros. */
static void size_line_is_printf_hex(size_t n)
{
    char want[32], got[32];
    snprintf(want, sizeof(want), "%zx", n);
    size_t k = mp_hex_size(n, got);
    got[k] = '\0';
    ck_assert_str_eq(got, want);
}

START_TEST(test_hex_size_is_lower_case_without_leading_zeros)
{
    size_line_is_printf_hex(0);
    size_line_is_printf_hex(1);
    size_line_is_printf_hex(15);
    size_line_is_printf_hex(16);
    size_line_is_printf_hex(255);
    size_line_is_printf_hex(256);
    size_line_is_printf_hex(1024);
    size_line_is_printf_hex(0xabcdef);
    size_line_is_printf_hex(16u << 20);
    size_line_is_printf_hex((size_t)-1); /* 16 digits: the most the contract allows for */
}
END_TEST

START_TEST(test_hex_encodes_and_decodes_back)
{
    const unsigned char in[] = {0x00, 0x0f, 0xa5, 0xff};
    char hex[9];
    mp_hex_encode(in, sizeof(in), hex);
    ck_assert_str_eq(hex, "000fa5ff");
    unsigned char out[4];
    ck_assert_int_eq(mp_hex_decode("000FA5ff", 4, out), MP_OK);
    ck_assert(memcmp(out, in, sizeof(in)) == 0);
    ck_assert_int_eq(mp_hex_decode("0g", 1, out), MP_EINVAL);
    ck_assert_int_eq(mp_hex_value('F'), 15);
    ck_assert_int_eq(mp_hex_value('x'), -1);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("hex");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_hex_size_is_lower_case_without_leading_zeros);
    tcase_add_test(tc, test_hex_encodes_and_decodes_back);
    suite_add_tcase(s, tc);
    return s;
}
