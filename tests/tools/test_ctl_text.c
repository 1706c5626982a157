/* Tests for tools/ctl/ctl_text.c: percent-encoding, sizes, durations, times,
 * terminal-safe lines and widths. */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "ctl/ctl_text.h"

Suite *mp_test_suite(void);

static const char *pct(const char *in)
{
    static char out[1024];
    mp_ctl_text_pct(in, strlen(in), out, sizeof(out));
    return out;
}

START_TEST(test_ctl_text_pct_keeps_only_unreserved)
{
    ck_assert_str_eq(pct("alice"), "alice");
    ck_assert_str_eq(pct("A-z_0.9~"), "A-z_0.9~");
    ck_assert_str_eq(pct("al ice/x"), "al%20ice%2Fx");
    ck_assert_str_eq(pct("a+b?c#d%e&f=g"), "a%2Bb%3Fc%23d%25e%26f%3Dg");
    ck_assert_str_eq(pct("\xc3\xbc"), "%C3%BC");
    ck_assert_str_eq(pct("john.doe"), "john.doe");
}
END_TEST

START_TEST(test_ctl_text_pct_encodes_dot_segments)
{
    ck_assert_str_eq(pct("."), "%2E");
    ck_assert_str_eq(pct(".."), "%2E%2E");
    ck_assert_str_eq(pct("..."), "%2E%2E%2E");
    ck_assert_str_eq(pct(".a"), ".a");
}
END_TEST

START_TEST(test_ctl_text_pct_every_byte)
{
    char in[1], out[8];
    for (int c = 1; c < 256; c++) {
        in[0] = (char)c;
        size_t n = mp_ctl_text_pct(in, 1, out, sizeof(out));
        bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                     c == '-' || c == '_' || c == '~';
        ck_assert_uint_eq(n, plain ? 1 : 3);
        if (!plain) {
            char want[4];
            snprintf(want, sizeof(want), "%%%02X", c);
            ck_assert_str_eq(out, want);
        }
    }
}
END_TEST

START_TEST(test_ctl_text_pct_too_small_writes_nothing)
{
    char out[6] = "xxxxx";
    ck_assert_uint_eq(mp_ctl_text_pct("a b", 3, out, 5), 0);
    ck_assert_str_eq(out, "");
    ck_assert_uint_eq(mp_ctl_text_pct("a b", 3, out, 0), 0);
    ck_assert_uint_eq(mp_ctl_text_pct("a b", 3, out, sizeof(out)), 5); /* 3 * len + 1 fits */
    ck_assert_str_eq(out, "a%20b");
    ck_assert_uint_eq(mp_ctl_text_pct("", 0, out, sizeof(out)), 0);
    ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(test_ctl_text_bytes_in_binary_units)
{
    char b[32];
    ck_assert_str_eq(mp_ctl_text_bytes(0, b, sizeof(b)), "0 B");
    ck_assert_str_eq(mp_ctl_text_bytes(1023, b, sizeof(b)), "1023 B");
    ck_assert_str_eq(mp_ctl_text_bytes(1024, b, sizeof(b)), "1.0 KiB");
    ck_assert_str_eq(mp_ctl_text_bytes(24576, b, sizeof(b)), "24.0 KiB");
    ck_assert_str_eq(mp_ctl_text_bytes(1536 * 1024, b, sizeof(b)), "1.5 MiB");
    ck_assert_str_eq(mp_ctl_text_bytes(1073741824ULL, b, sizeof(b)), "1.0 GiB");
    ck_assert_str_eq(mp_ctl_text_bytes(68719476736ULL, b, sizeof(b)), "64.0 GiB");
    ck_assert_str_eq(mp_ctl_text_bytes(UINT64_MAX, b, sizeof(b)), "16.0 EiB");
}
END_TEST

START_TEST(test_ctl_text_duration_two_units)
{
    char b[32];
    ck_assert_str_eq(mp_ctl_text_duration(0, b, sizeof(b)), "0s");
    ck_assert_str_eq(mp_ctl_text_duration(59, b, sizeof(b)), "59s");
    ck_assert_str_eq(mp_ctl_text_duration(65, b, sizeof(b)), "1m 05s");
    ck_assert_str_eq(mp_ctl_text_duration(3599, b, sizeof(b)), "59m 59s");
    ck_assert_str_eq(mp_ctl_text_duration(7380, b, sizeof(b)), "2h 03m");
    ck_assert_str_eq(mp_ctl_text_duration(86400 * 4 + 7200, b, sizeof(b)), "4d 02h");
}
END_TEST

START_TEST(test_ctl_text_time_drops_millis)
{
    char b[32];
    ck_assert_str_eq(mp_ctl_text_time("2025-01-31T09:15:02.123Z", b, sizeof(b)),
                     "2025-01-31 09:15:02");
    ck_assert_str_eq(mp_ctl_text_time("2025-01-31T09:15:02Z", b, sizeof(b)), "2025-01-31 09:15:02");
    ck_assert_str_eq(mp_ctl_text_time(NULL, b, sizeof(b)), "-");
    ck_assert_str_eq(mp_ctl_text_time("2025-01-31", b, sizeof(b)), "-");
    ck_assert_str_eq(mp_ctl_text_time("2025-01-31 09:15:02", b, sizeof(b)), "-");
    ck_assert_str_eq(mp_ctl_text_time("yesterday at noon!!", b, sizeof(b)), "-");
}
END_TEST

static const char *line(const char *in, size_t max)
{
    static char out[256];
    mp_ctl_text_line(in, strlen(in), max, out, sizeof(out));
    return out;
}

START_TEST(test_ctl_text_line_folds_controls_and_blanks)
{
    ck_assert_str_eq(line("plain text", 100), "plain text");
    ck_assert_str_eq(line("  two\n\nlines\t here  ", 100), "two lines here");
    ck_assert_str_eq(line("red \x1b[31mtext", 100), "red [31mtext");
    ck_assert_str_eq(line("c1 \xc2\x9b"
                          "x",
                          100),
                     "c1 x");
    ck_assert_str_eq(line("del\x7fx", 100), "del x");
    ck_assert_str_eq(line("\n\n", 100), "");
}
END_TEST

START_TEST(test_ctl_text_line_replaces_ill_formed_utf8)
{
    ck_assert_str_eq(line("a\xff"
                          "b",
                          100),
                     "a\xef\xbf\xbd"
                     "b");
    ck_assert_str_eq(line("\xc3", 100), "\xef\xbf\xbd");
    ck_assert_str_eq(line("gr\xc3\xbc\xc3\x9f", 100), "gr\xc3\xbc\xc3\x9f");
}
END_TEST

START_TEST(test_ctl_text_line_cuts_with_ellipsis)
{
    ck_assert_str_eq(line("abcdefghij", 10), "abcdefghij");
    ck_assert_str_eq(line("abcdefghijk", 10), "abcdefg\xe2\x80\xa6");
    ck_assert_uint_eq(strlen(line("abcdefghijk", 10)), 10);
    /* never inside a character: ü is two bytes */
    ck_assert_str_eq(line("abcdef\xc3\xbcxyz", 10), "abcdef\xe2\x80\xa6");
    ck_assert_str_eq(line("abcde \n fghij", 9), "abcde\xe2\x80\xa6");
    char small[8];
    ck_assert_uint_eq(mp_ctl_text_line("abcdefghij", 10, 100, small, sizeof(small)), 7);
    ck_assert_str_eq(small, "abcd\xe2\x80\xa6");
}
END_TEST

START_TEST(test_ctl_text_width_counts_code_points)
{
    ck_assert_uint_eq(mp_ctl_text_width(""), 0);
    ck_assert_uint_eq(mp_ctl_text_width("Graz"), 4);
    ck_assert_uint_eq(mp_ctl_text_width("gr\xc3\xbc\xc3\x9f"), 4);
    ck_assert_uint_eq(mp_ctl_text_width("\xe2\x80\xa6"), 1);
    ck_assert_uint_eq(mp_ctl_text_width("a\xff"), 2);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("ctl_text");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_ctl_text_pct_keeps_only_unreserved);
    tcase_add_test(tc, test_ctl_text_pct_encodes_dot_segments);
    tcase_add_test(tc, test_ctl_text_pct_every_byte);
    tcase_add_test(tc, test_ctl_text_pct_too_small_writes_nothing);
    tcase_add_test(tc, test_ctl_text_bytes_in_binary_units);
    tcase_add_test(tc, test_ctl_text_duration_two_units);
    tcase_add_test(tc, test_ctl_text_time_drops_millis);
    tcase_add_test(tc, test_ctl_text_line_folds_controls_and_blanks);
    tcase_add_test(tc, test_ctl_text_line_replaces_ill_formed_utf8);
    tcase_add_test(tc, test_ctl_text_line_cuts_with_ellipsis);
    tcase_add_test(tc, test_ctl_text_width_counts_code_points);
    suite_add_tcase(s, tc);
    return s;
}
