/* Tests for core/json/utf8.c: every boundary of Unicode table 3-7, truncation,
 * maximal subparts as in the Unicode examples, and encode round-trips. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json/utf8.h"

START_TEST(test_utf8_cut_never_splits_a_sequence)
{
    static const char s[] = "ab\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80z"; /* a b é € 😀 z */
    size_t n = sizeof(s) - 1;
    ck_assert_uint_eq(mp_utf8_cut(s, n, 100), n); /* short enough: whole */
    ck_assert_uint_eq(mp_utf8_cut(s, n, n), n);
    ck_assert_uint_eq(mp_utf8_cut(s, n, 2), 2);
    ck_assert_uint_eq(mp_utf8_cut(s, n, 3), 2); /* inside é */
    ck_assert_uint_eq(mp_utf8_cut(s, n, 4), 4);
    ck_assert_uint_eq(mp_utf8_cut(s, n, 5), 4); /* inside € */
    ck_assert_uint_eq(mp_utf8_cut(s, n, 6), 4);
    ck_assert_uint_eq(mp_utf8_cut(s, n, 7), 7);
    ck_assert_uint_eq(mp_utf8_cut(s, n, 10), 7); /* inside 😀 */
    ck_assert_uint_eq(mp_utf8_cut(s, n, 11), 11);
    ck_assert_uint_eq(mp_utf8_cut(s, n, 0), 0);
}
END_TEST

Suite *mp_test_suite(void);

#define NO_CP 0xDEADBEEFu

/* Decodes the literal s (its length from sizeof, minus the NUL) and checks
 * the length and, on success, the code point. The bytes are copied to a
 * buffer of exactly that size, so ASan catches a read past n. */
static void check_decode(const char *s, size_t n, size_t want_len, uint32_t want_cp)
{
    unsigned char *buf = malloc(n > 0 ? n : 1);
    uint32_t cp = NO_CP;
    ck_assert_ptr_nonnull(buf);
    memcpy(buf, s, n);
    ck_assert_uint_eq(mp_utf8_decode(buf, n, &cp), want_len);
    ck_assert_uint_eq(cp, want_len != 0 ? want_cp : NO_CP);
    free(buf);
}

#define DECODES(lit, cp) check_decode(lit, sizeof(lit) - 1, sizeof(lit) - 1, cp)
#define REFUSES(lit)     check_decode(lit, sizeof(lit) - 1, 0, 0)

/* mp_utf8_ill_formed_len on a copy of s[0..n) in a buffer of exactly n
 * bytes, as in check_decode. */
static size_t ill_len(const char *s, size_t n)
{
    unsigned char *buf = malloc(n > 0 ? n : 1);
    size_t got;
    ck_assert_ptr_nonnull(buf);
    memcpy(buf, s, n);
    got = mp_utf8_ill_formed_len(buf, n);
    free(buf);
    return got;
}

/* Replaces ill-formed parts of s[0..n) the way mp_json_escape does: each
 * well-formed sequence is kept, each maximal subpart becomes one '?'. */
static void check_substitution(const char *s, size_t n, const char *want)
{
    const unsigned char *u = (const unsigned char *)s;
    char out[64];
    size_t i = 0, o = 0;
    while (i < n) {
        size_t k = mp_utf8_decode(u + i, n - i, NULL);
        if (k != 0) {
            memcpy(out + o, s + i, k);
            o += k;
            i += k;
            continue;
        }
        out[o++] = '?';
        i += ill_len(s + i, n - i);
    }
    ck_assert_uint_eq(o, strlen(want));
    ck_assert_int_eq(memcmp(out, want, o), 0);
}

START_TEST(test_utf8_decode_ascii_is_one_byte)
{
    check_decode("\0", 1, 1, 0x00);
    DECODES("A", 0x41);
    DECODES("\x7F", 0x7F);
}
END_TEST

START_TEST(test_utf8_decode_two_byte_bounds)
{
    DECODES("\xC2\x80", 0x80);
    DECODES("\xDF\xBF", 0x7FF);
    REFUSES("\xC2\x7F");
    REFUSES("\xC2\xC0");
}
END_TEST

START_TEST(test_utf8_decode_refuses_c0_c1_overlong_leads)
{
    REFUSES("\xC0\x80");
    REFUSES("\xC0\xAF");
    REFUSES("\xC1\xBF");
}
END_TEST

START_TEST(test_utf8_decode_e0_second_byte_a0_to_bf)
{
    DECODES("\xE0\xA0\x80", 0x800);
    DECODES("\xE0\xBF\xBF", 0xFFF);
    REFUSES("\xE0\x9F\xBF");
    REFUSES("\xE0\x80\x80");
    REFUSES("\xE0\xC0\x80");
}
END_TEST

START_TEST(test_utf8_decode_e1_to_ec_full_range)
{
    DECODES("\xE1\x80\x80", 0x1000);
    DECODES("\xEC\xBF\xBF", 0xCFFF);
    REFUSES("\xE1\x7F\x80");
    REFUSES("\xEC\xC0\x80");
}
END_TEST

START_TEST(test_utf8_decode_ed_excludes_surrogates)
{
    DECODES("\xED\x80\x80", 0xD000);
    DECODES("\xED\x9F\xBF", 0xD7FF);
    REFUSES("\xED\xA0\x80");
    REFUSES("\xED\xBF\xBF");
}
END_TEST

START_TEST(test_utf8_decode_ee_ef_full_range)
{
    DECODES("\xEE\x80\x80", 0xE000);
    DECODES("\xEF\xBF\xBF", 0xFFFF);
    REFUSES("\xEE\x7F\x80");
    REFUSES("\xEF\xC0\x80");
}
END_TEST

START_TEST(test_utf8_decode_f0_second_byte_90_to_bf)
{
    DECODES("\xF0\x90\x80\x80", 0x10000);
    DECODES("\xF0\xBF\xBF\xBF", 0x3FFFF);
    REFUSES("\xF0\x8F\xBF\xBF");
    REFUSES("\xF0\x80\x80\xAF");
    REFUSES("\xF0\xC0\x80\x80");
}
END_TEST

START_TEST(test_utf8_decode_f1_to_f3_full_range)
{
    DECODES("\xF1\x80\x80\x80", 0x40000);
    DECODES("\xF3\xBF\xBF\xBF", 0xFFFFF);
    REFUSES("\xF1\x7F\x80\x80");
    REFUSES("\xF3\xC0\x80\x80");
}
END_TEST

START_TEST(test_utf8_decode_f4_stops_at_10ffff)
{
    DECODES("\xF4\x80\x80\x80", 0x100000);
    DECODES("\xF4\x8F\xBF\xBF", 0x10FFFF);
    REFUSES("\xF4\x90\x80\x80");
    REFUSES("\xF4\xBF\xBF\xBF");
}
END_TEST

START_TEST(test_utf8_decode_refuses_f5_to_ff)
{
    for (unsigned b = 0xF5; b <= 0xFF; b++) {
        char s[4] = {(char)b, '\x80', '\x80', '\x80'};
        check_decode(s, sizeof(s), 0, 0);
    }
}
END_TEST

START_TEST(test_utf8_decode_refuses_lone_continuation)
{
    REFUSES("\x80");
    REFUSES("\xBF");
    REFUSES("\x80\x80");
}
END_TEST

START_TEST(test_utf8_decode_checks_every_continuation_byte)
{
    REFUSES("\xE1\x80\x7F");
    REFUSES("\xE1\x80\xC0");
    REFUSES("\xF1\x80\x7F\x80");
    REFUSES("\xF1\x80\x80\x7F");
    REFUSES("\xF1\x80\x80\xC0");
}
END_TEST

START_TEST(test_utf8_decode_truncated_sequence)
{
    check_decode("\xC3\xA9", 1, 0, 0);
    check_decode("\xE2\x82\xAC", 1, 0, 0);
    check_decode("\xE2\x82\xAC", 2, 0, 0);
    check_decode("\xF0\x9F\x98\x80", 1, 0, 0);
    check_decode("\xF0\x9F\x98\x80", 2, 0, 0);
    check_decode("\xF0\x9F\x98\x80", 3, 0, 0);
    check_decode("A", 0, 0, 0);
}
END_TEST

START_TEST(test_utf8_decode_ignores_bytes_after_sequence)
{
    check_decode("\xC3\xA9\xFF", 3, 2, 0xE9);
    check_decode("\xE2\x82\xAC\x80", 4, 3, 0x20AC);
    check_decode("\xF0\x9F\x98\x80\xF0\x9F", 6, 4, 0x1F600);
    check_decode("AB", 2, 1, 0x41);
}
END_TEST

START_TEST(test_utf8_decode_null_cp_validates_only)
{
    ck_assert_uint_eq(mp_utf8_decode((const unsigned char *)"\xE2\x82\xAC", 3, NULL), 3);
    ck_assert_uint_eq(mp_utf8_decode((const unsigned char *)"\xED\xA0\x80", 3, NULL), 0);
}
END_TEST

/* Brute force over every 2-byte input and every 3-byte input with a 3-byte
 * lead: exactly U+0080..U+07FF and U+0800..U+FFFF minus the surrogates. */
START_TEST(test_utf8_decode_accepts_exactly_table_3_7)
{
    size_t two = 0, three = 0;
    unsigned char s[3];
    uint32_t cp;
    for (unsigned a = 0x80; a <= 0xFF; a++) {
        for (unsigned b = 0; b <= 0xFF; b++) {
            s[0] = (unsigned char)a;
            s[1] = (unsigned char)b;
            two += mp_utf8_decode(s, 2, NULL) == 2;
        }
    }
    for (unsigned a = 0xE0; a <= 0xEF; a++) {
        for (unsigned b = 0; b <= 0xFFFF; b++) {
            s[0] = (unsigned char)a;
            s[1] = (unsigned char)(b >> 8);
            s[2] = (unsigned char)b;
            if (mp_utf8_decode(s, 3, &cp) != 3)
                continue;
            if (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))
                ck_abort_msg("accepted U+%04X", (unsigned)cp);
            three++;
        }
    }
    ck_assert_uint_eq(two, 0x800 - 0x80);
    ck_assert_uint_eq(three, 0x10000 - 0x800 - 0x800);
}
END_TEST

START_TEST(test_utf8_ill_formed_bad_lead_is_one_byte)
{
    ck_assert_uint_eq(ill_len("\x80\x80\x80", 3), 1);
    ck_assert_uint_eq(ill_len("\xBF", 1), 1);
    ck_assert_uint_eq(ill_len("\xC0\x80", 2), 1);
    ck_assert_uint_eq(ill_len("\xC1\xBF", 2), 1);
    ck_assert_uint_eq(ill_len("\xF5\x80\x80\x80", 4), 1);
    ck_assert_uint_eq(ill_len("\xFF\x80", 2), 1);
}
END_TEST

START_TEST(test_utf8_ill_formed_narrowed_second_byte_is_one_byte)
{
    ck_assert_uint_eq(ill_len("\xE0\x80\x80", 3), 1);
    ck_assert_uint_eq(ill_len("\xED\xA0\x80", 3), 1);
    ck_assert_uint_eq(ill_len("\xF0\x8F\xBF\xBF", 4), 1);
    ck_assert_uint_eq(ill_len("\xF4\x90\x80\x80", 4), 1);
}
END_TEST

START_TEST(test_utf8_ill_formed_cut_sequence_is_its_valid_prefix)
{
    ck_assert_uint_eq(ill_len("\xC3", 1), 1);
    ck_assert_uint_eq(ill_len("\xC3z", 2), 1);
    ck_assert_uint_eq(ill_len("\xE0\xA0", 2), 2);
    ck_assert_uint_eq(ill_len("\xE1\x80z", 3), 2);
    ck_assert_uint_eq(ill_len("\xF0\x9F\x98", 3), 3);
    ck_assert_uint_eq(ill_len("\xF1\x80\x80z", 4), 3);
    ck_assert_uint_eq(ill_len("\xF4\x8F\xBF\xC0", 4), 3);
}
END_TEST

START_TEST(test_utf8_ill_formed_stops_at_n)
{
    /* The bytes past n would continue the sequence; they must not count. */
    ck_assert_uint_eq(mp_utf8_ill_formed_len((const unsigned char *)"\xE1\x80\x80", 2), 2);
    ck_assert_uint_eq(mp_utf8_ill_formed_len((const unsigned char *)"\xF1\x80\x80\x80", 3), 3);
    ck_assert_uint_eq(mp_utf8_ill_formed_len((const unsigned char *)"\xC3\xA9", 1), 1);
}
END_TEST

START_TEST(test_utf8_ill_formed_well_formed_start_is_sequence_length)
{
    ck_assert_uint_eq(ill_len("A", 1), 1);
    ck_assert_uint_eq(ill_len("\xC3\xA9", 2), 2);
    ck_assert_uint_eq(ill_len("\xE2\x82\xAC", 3), 3);
    ck_assert_uint_eq(ill_len("\xF0\x9F\x98\x80\x80", 5), 4);
}
END_TEST

START_TEST(test_utf8_ill_formed_empty_is_zero)
{
    ck_assert_uint_eq(ill_len("", 0), 0);
}
END_TEST

/* Unicode chapter 3, "U+FFFD Substitution of Maximal Subparts" (table 3-8)
 * and the non-shortest, surrogate, other and truncated examples after it. */
START_TEST(test_utf8_maximal_subparts_unicode_examples)
{
    static const char t38[] = "\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64";
    static const char overlong[] = "\xC0\xAF\xE0\x80\xBF\xF0\x81\x82\x41";
    static const char surrogate[] = "\xED\xA0\x80\xED\xBF\xBF\xED\xAF\x41";
    static const char other[] = "\xF4\x91\x92\x93\xFF\x41\x80\xBF\x42";
    static const char truncated[] = "\xE1\x80\xE2\xF0\x91\x92\xF1\xBF\x41";
    check_substitution(t38, sizeof(t38) - 1, "a???b?c??d");
    check_substitution(overlong, sizeof(overlong) - 1, "????????A");
    check_substitution(surrogate, sizeof(surrogate) - 1, "????????A");
    check_substitution(other, sizeof(other) - 1, "?????A??B");
    check_substitution(truncated, sizeof(truncated) - 1, "????A");
}
END_TEST

static void check_encode(uint32_t cp, const char *want)
{
    unsigned char out[4] = {'Z', 'Z', 'Z', 'Z'};
    size_t n = strlen(want);
    if (cp == 0)
        n = 1;
    ck_assert_uint_eq(mp_utf8_encode(cp, out), n);
    ck_assert_int_eq(memcmp(out, want, n), 0);
    for (size_t i = n; i < 4; i++)
        ck_assert_int_eq(out[i], 'Z');
}

START_TEST(test_utf8_encode_length_boundaries)
{
    check_encode(0x00, "");
    check_encode(0x7F, "\x7F");
    check_encode(0x80, "\xC2\x80");
    check_encode(0x7FF, "\xDF\xBF");
    check_encode(0x800, "\xE0\xA0\x80");
    check_encode(0xD7FF, "\xED\x9F\xBF");
    check_encode(0xE000, "\xEE\x80\x80");
    check_encode(0xFFFF, "\xEF\xBF\xBF");
    check_encode(0x10000, "\xF0\x90\x80\x80");
    check_encode(0x10FFFF, "\xF4\x8F\xBF\xBF");
}
END_TEST

START_TEST(test_utf8_encode_refuses_non_scalar_values)
{
    static const uint32_t bad[] = {0xD800, 0xDBFF, 0xDC00, 0xDFFF, 0x110000, 0xFFFFFFFF};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        unsigned char out[4] = {'Z', 'Z', 'Z', 'Z'};
        ck_assert_uint_eq(mp_utf8_encode(bad[i], out), 0);
        ck_assert_int_eq(memcmp(out, "ZZZZ", 4), 0);
    }
}
END_TEST

START_TEST(test_utf8_encode_decode_round_trip_every_scalar)
{
    for (uint32_t cp = 0; cp <= 0x10FFFF; cp++) {
        unsigned char out[4];
        uint32_t back = NO_CP;
        if (cp == 0xD800)
            cp = 0xE000;
        size_t n = mp_utf8_encode(cp, out);
        size_t want = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
        /* ck_assert per round would log a mark each time: test, then abort. */
        if (n != want || mp_utf8_decode(out, n, &back) != n || back != cp)
            ck_abort_msg("U+%04X: %zu bytes, decoded U+%04X", (unsigned)cp, n, (unsigned)back);
    }
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("utf8");
    TCase *dec = tcase_create("decode");
    TCase *ill = tcase_create("ill_formed");
    TCase *enc = tcase_create("encode");

    tcase_add_test(dec, test_utf8_decode_ascii_is_one_byte);
    tcase_add_test(dec, test_utf8_decode_two_byte_bounds);
    tcase_add_test(dec, test_utf8_decode_refuses_c0_c1_overlong_leads);
    tcase_add_test(dec, test_utf8_decode_e0_second_byte_a0_to_bf);
    tcase_add_test(dec, test_utf8_decode_e1_to_ec_full_range);
    tcase_add_test(dec, test_utf8_decode_ed_excludes_surrogates);
    tcase_add_test(dec, test_utf8_decode_ee_ef_full_range);
    tcase_add_test(dec, test_utf8_decode_f0_second_byte_90_to_bf);
    tcase_add_test(dec, test_utf8_decode_f1_to_f3_full_range);
    tcase_add_test(dec, test_utf8_decode_f4_stops_at_10ffff);
    tcase_add_test(dec, test_utf8_decode_refuses_f5_to_ff);
    tcase_add_test(dec, test_utf8_decode_refuses_lone_continuation);
    tcase_add_test(dec, test_utf8_decode_checks_every_continuation_byte);
    tcase_add_test(dec, test_utf8_decode_truncated_sequence);
    tcase_add_test(dec, test_utf8_decode_ignores_bytes_after_sequence);
    tcase_add_test(dec, test_utf8_decode_null_cp_validates_only);
    tcase_add_test(dec, test_utf8_decode_accepts_exactly_table_3_7);
    suite_add_tcase(s, dec);

    tcase_add_test(ill, test_utf8_ill_formed_bad_lead_is_one_byte);
    tcase_add_test(ill, test_utf8_ill_formed_narrowed_second_byte_is_one_byte);
    tcase_add_test(ill, test_utf8_ill_formed_cut_sequence_is_its_valid_prefix);
    tcase_add_test(ill, test_utf8_ill_formed_stops_at_n);
    tcase_add_test(ill, test_utf8_ill_formed_well_formed_start_is_sequence_length);
    tcase_add_test(ill, test_utf8_ill_formed_empty_is_zero);
    tcase_add_test(ill, test_utf8_maximal_subparts_unicode_examples);
    suite_add_tcase(s, ill);

    tcase_add_test(enc, test_utf8_cut_never_splits_a_sequence);
    tcase_add_test(enc, test_utf8_encode_length_boundaries);
    tcase_add_test(enc, test_utf8_encode_refuses_non_scalar_values);
    tcase_add_test(enc, test_utf8_encode_decode_round_trip_every_scalar);
    suite_add_tcase(s, enc);
    return s;
}
