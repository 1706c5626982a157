/* Tests for core/config/ini.c: the INI tokenizer, one behaviour per test. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "config/ini.h"
#include "status.h"

Suite *mp_test_suite(void);

/* Items are large (the value buffer holds a whole line): keep one per test. */
static struct mp_ini ini;
static struct mp_ini_item item;

static void start(const char *text)
{
    mp_ini_init(&ini, text, strlen(text));
}

static void expect_pair(unsigned line, const char *name, const char *value)
{
    ck_assert_int_eq(mp_ini_next(&ini, &item), MP_OK);
    ck_assert_int_eq(item.kind, MP_INI_PAIR);
    ck_assert_uint_eq(item.line, line);
    ck_assert_str_eq(item.name, name);
    ck_assert_str_eq(item.value, value);
}

static void expect_section(unsigned line, const char *name)
{
    ck_assert_int_eq(mp_ini_next(&ini, &item), MP_OK);
    ck_assert_int_eq(item.kind, MP_INI_SECTION);
    ck_assert_uint_eq(item.line, line);
    ck_assert_str_eq(item.name, name);
}

static void expect_error(unsigned line, const char *msg)
{
    ck_assert_int_eq(mp_ini_next(&ini, &item), MP_OK);
    ck_assert_int_eq(item.kind, MP_INI_ERROR);
    ck_assert_uint_eq(item.line, line);
    ck_assert_str_eq(item.error, msg);
}

static void expect_end(void)
{
    ck_assert_int_eq(mp_ini_next(&ini, &item), MP_NOTFOUND);
}

START_TEST(test_ini_sections_and_pairs_with_line_numbers)
{
    start("[server]\nlisten = 1.2.3.4:80\n\n[Log]\nlevel=debug\n");
    expect_section(1, "server");
    expect_pair(2, "listen", "1.2.3.4:80");
    expect_section(4, "Log");
    expect_pair(5, "level", "debug");
    expect_end();
}
END_TEST

START_TEST(test_ini_empty_text_has_no_items)
{
    mp_ini_init(&ini, NULL, 0);
    expect_end();
    start("\n\n   \n\t\n");
    expect_end();
}
END_TEST

START_TEST(test_ini_full_line_comments_skipped)
{
    start("; one\n# two\n   ; three = 3\n\t# [four]\nk = v\n");
    expect_pair(5, "k", "v");
    expect_end();
}
END_TEST

START_TEST(test_ini_inline_comment_after_blank)
{
    start("a = 1 ; c\nb = 2\t# c\nc = x;y\nd = x#y\ne = ;only a comment\nf =\n");
    expect_pair(1, "a", "1");
    expect_pair(2, "b", "2");
    expect_pair(3, "c", "x;y");
    expect_pair(4, "d", "x#y");
    expect_pair(5, "e", "");
    expect_pair(6, "f", "");
    expect_end();
}
END_TEST

START_TEST(test_ini_semicolon_right_after_equals_is_value)
{
    start("a=;x\n");
    expect_pair(1, "a", ";x");
    expect_end();
}
END_TEST

START_TEST(test_ini_blanks_inside_value_kept)
{
    start("a =   two  words   \n");
    expect_pair(1, "a", "two  words");
}
END_TEST

START_TEST(test_ini_quoted_value_keeps_comment_chars_and_unescapes)
{
    start("a = \" x ; y # z \"\nb = \"q\\\"uote\\\\d\" ; trailing\nc = \"\"\n");
    expect_pair(1, "a", " x ; y # z ");
    expect_pair(2, "b", "q\"uote\\d");
    expect_pair(3, "c", "");
    expect_end();
}
END_TEST

START_TEST(test_ini_quoted_value_errors)
{
    start("a = \"open\nb = \"x\\n\"\nc = \"x\" y\nd = \"x\"# c\nok = 1\n");
    expect_error(1, "unterminated quoted value");
    expect_error(2, "invalid escape in quoted value (only \\\" and \\\\)");
    expect_error(3, "unexpected text after quoted value");
    expect_pair(4, "d", "x");
    expect_pair(5, "ok", "1");
}
END_TEST

START_TEST(test_ini_value_with_inner_quotes_is_literal)
{
    start("a = say \"hi\"\n");
    expect_pair(1, "a", "say \"hi\"");
}
END_TEST

START_TEST(test_ini_crlf_line_ends)
{
    start("[s]\r\na = 1\r\nb = \"2\"\r\n");
    expect_section(1, "s");
    expect_pair(2, "a", "1");
    expect_pair(3, "b", "2");
    expect_end();
}
END_TEST

START_TEST(test_ini_bom_skipped_only_at_start)
{
    start("\xEF\xBB\xBF[s]\na = 1\n\xEF\xBB\xBF"
          "b = 2\n");
    expect_section(1, "s");
    expect_pair(2, "a", "1");
    expect_error(3, "invalid key name");
    expect_end();
}
END_TEST

START_TEST(test_ini_last_line_without_newline)
{
    start("a = 1\nb = 2");
    expect_pair(1, "a", "1");
    expect_pair(2, "b", "2");
    expect_end();
}
END_TEST

START_TEST(test_ini_text_need_not_be_nul_terminated)
{
    const char text[] = "a = 12345";
    mp_ini_init(&ini, text, 7); /* "a = 123" */
    expect_pair(1, "a", "123");
    expect_end();
}
END_TEST

START_TEST(test_ini_line_at_limit_accepted)
{
    /* "k = " + value: exactly MP_INI_LINE_MAX bytes, then CRLF. */
    size_t n = MP_INI_LINE_MAX;
    char *text = malloc(n + 3);
    ck_assert_ptr_nonnull(text);
    memset(text, 'v', n);
    memcpy(text, "k = ", 4);
    memcpy(text + n, "\r\n", 3);
    start(text);
    ck_assert_int_eq(mp_ini_next(&ini, &item), MP_OK);
    ck_assert_int_eq(item.kind, MP_INI_PAIR);
    ck_assert_uint_eq(strlen(item.value), n - 4);
    expect_end();
    free(text);
}
END_TEST

START_TEST(test_ini_line_over_limit_is_error_and_parsing_continues)
{
    size_t n = MP_INI_LINE_MAX + 1;
    char *text = malloc(n + 32);
    ck_assert_ptr_nonnull(text);
    memcpy(text, "a = 1\n", 6);
    memset(text + 6, 'v', n);
    memcpy(text + 6, "k = ", 4);
    strcpy(text + 6 + n, "\nb = 2\n");
    start(text);
    expect_pair(1, "a", "1");
    expect_error(2, "line too long (max 4096 bytes)");
    expect_pair(3, "b", "2");
    expect_end();
    free(text);
}
END_TEST

START_TEST(test_ini_control_bytes_rejected)
{
    const char text[] = "a = x\0y\nb = x\ry\nc = x\x7fy\nd = x\ty\n";
    mp_ini_init(&ini, text, sizeof(text) - 1);
    expect_error(1, "control character in line");
    expect_error(2, "control character in line");
    expect_error(3, "control character in line");
    expect_pair(4, "d", "x\ty");
}
END_TEST

START_TEST(test_ini_section_header_errors)
{
    start("[server\n[server] x\n[]\n[a b]\n[ ok ] ; fine\n");
    expect_error(1, "missing ']' in section header");
    expect_error(2, "unexpected text after section header");
    expect_error(3, "invalid section name");
    expect_error(4, "invalid section name");
    expect_section(5, "ok");
}
END_TEST

START_TEST(test_ini_pair_errors)
{
    start("just words\n = 1\nmy key = 1\nk\xC3\xA9y = 1\n");
    expect_error(1, "expected 'key = value'");
    expect_error(2, "invalid key name");
    expect_error(3, "invalid key name");
    expect_error(4, "invalid key name");
    expect_end();
}
END_TEST

START_TEST(test_ini_name_length_limit)
{
    char text[256];
    memset(text, 'n', 63);
    strcpy(text + 63, " = 1\n");
    start(text);
    ck_assert_int_eq(mp_ini_next(&ini, &item), MP_OK);
    ck_assert_int_eq(item.kind, MP_INI_PAIR);
    ck_assert_uint_eq(strlen(item.name), 63);
    memset(text, 'n', 64);
    strcpy(text + 64, " = 1\n");
    start(text);
    expect_error(1, "name too long (max 63 bytes)");
}
END_TEST

START_TEST(test_ini_equals_inside_value_kept)
{
    start("url = http://x/?a=b\n");
    expect_pair(1, "url", "http://x/?a=b");
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("ini");
    TCase *tc = tcase_create("ini");
    tcase_add_test(tc, test_ini_sections_and_pairs_with_line_numbers);
    tcase_add_test(tc, test_ini_empty_text_has_no_items);
    tcase_add_test(tc, test_ini_full_line_comments_skipped);
    tcase_add_test(tc, test_ini_inline_comment_after_blank);
    tcase_add_test(tc, test_ini_semicolon_right_after_equals_is_value);
    tcase_add_test(tc, test_ini_blanks_inside_value_kept);
    tcase_add_test(tc, test_ini_quoted_value_keeps_comment_chars_and_unescapes);
    tcase_add_test(tc, test_ini_quoted_value_errors);
    tcase_add_test(tc, test_ini_value_with_inner_quotes_is_literal);
    tcase_add_test(tc, test_ini_crlf_line_ends);
    tcase_add_test(tc, test_ini_bom_skipped_only_at_start);
    tcase_add_test(tc, test_ini_last_line_without_newline);
    tcase_add_test(tc, test_ini_text_need_not_be_nul_terminated);
    tcase_add_test(tc, test_ini_line_at_limit_accepted);
    tcase_add_test(tc, test_ini_line_over_limit_is_error_and_parsing_continues);
    tcase_add_test(tc, test_ini_control_bytes_rejected);
    tcase_add_test(tc, test_ini_section_header_errors);
    tcase_add_test(tc, test_ini_pair_errors);
    tcase_add_test(tc, test_ini_name_length_limit);
    tcase_add_test(tc, test_ini_equals_inside_value_kept);
    suite_add_tcase(s, tc);
    return s;
}
