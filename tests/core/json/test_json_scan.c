/* Tests for core/json/json_scan.c: member lookup, RFC 8259 rejections, string
 * decoding and array/object iteration, all on exact byte offsets. */
#include <check.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "json/json_scan.h"
#include "status.h"

Suite *mp_test_suite(void);

/* Scans s from offset 0; MP_OK only when the value spans all of s. */
static int scan_whole(const char *s, size_t len)
{
    size_t a = 0, b = 0;
    int rc = mp_json_scan_value(s, len, 0, &a, &b);
    if (rc == MP_OK && (a != 0 || b != len))
        return 99;
    return rc;
}

static int scan_str(const char *s)
{
    return scan_whole(s, strlen(s));
}

/* Puts value into {"a":value} and looks "a" up; MP_OK only when the value
 * span is exactly the value given. */
static int member_rc(const char *value)
{
    char buf[512];
    size_t vs = 0, ve = 0, n = strlen(value);
    ck_assert_uint_lt(n + 7, sizeof(buf));
    memcpy(buf, "{\"a\":", 5);
    memcpy(buf + 5, value, n);
    buf[5 + n] = '}';
    int rc = mp_json_find_member(buf, n + 6, "a", 1, &vs, &ve);
    if (rc == MP_OK && (vs != 5 || ve != 5 + n))
        return 99;
    return rc;
}

/* Both entry points must refuse value. */
static void assert_rejected(const char *value)
{
    ck_assert_int_eq(scan_str(value), MP_EINVAL);
    ck_assert_int_eq(member_rc(value), MP_EINVAL);
}

static void assert_accepted(const char *value)
{
    ck_assert_int_eq(scan_str(value), MP_OK);
    ck_assert_int_eq(member_rc(value), MP_OK);
}

/* Looks key up in json and compares the value's text with want. */
static void assert_member(const char *json, const char *key, const char *want)
{
    size_t vs = 0, ve = 0;
    ck_assert_int_eq(mp_json_find_member(json, strlen(json), key, strlen(key), &vs, &ve), MP_OK);
    ck_assert_uint_le(ve, strlen(json));
    ck_assert_uint_eq(ve - vs, strlen(want));
    ck_assert_mem_eq(json + vs, want, strlen(want));
}

static int find_rc(const char *json, const char *key)
{
    size_t vs = 7, ve = 7;
    int rc = mp_json_find_member(json, strlen(json), key, strlen(key), &vs, &ve);
    if (rc != MP_OK && (vs != 7 || ve != 7))
        return 98; /* outputs touched on failure */
    return rc;
}

static int decode(const char *lit, char *out, size_t cap, size_t *out_len)
{
    return mp_json_string_decode(lit, 0, strlen(lit), out, cap, out_len);
}

/* Builds n nested arrays around a 0; caller frees. */
static char *nested_arrays(size_t n, size_t *len)
{
    char *s = malloc(2 * n + 1);
    ck_assert_ptr_nonnull(s);
    memset(s, '[', n);
    s[n] = '0';
    memset(s + n + 1, ']', n);
    *len = 2 * n + 1;
    return s;
}

/* --- members_in --- */

/* Several members in one walk, in a larger document: each key's last value
 * (names compared unescaped), {0, 0} for a key the object lacks, and the
 * offsets the document's. */
START_TEST(test_json_members_in_several_keys_one_walk)
{
    const char doc[] = "[1, {\"b\":[2],\"\\u0061\":\"x\",\"c\":{\"a\":9},\"b\":true} ]";
    const char *keys[] = {"a", "b", "z"};
    size_t s = 4, e = sizeof(doc) - 3, v[3][2];
    ck_assert_int_eq(doc[s], '{');
    ck_assert_int_eq(doc[e - 1], '}');
    ck_assert_int_eq(mp_json_members_in(doc, s, e, keys, 3, v), MP_OK);
    ck_assert(mp_json_span_is(doc, v[0][0], v[0][1], "\"x\""));
    ck_assert(mp_json_span_is(doc, v[1][0], v[1][1], "true"));
    ck_assert_uint_eq(v[2][0], 0);
    ck_assert_uint_eq(v[2][1], 0);
}
END_TEST

START_TEST(test_json_members_in_refuses_what_find_member_refuses)
{
    const char *keys[] = {"a"};
    size_t v[1][2];
    const char *bad[] = {"{\"a\":1", "{\"a\":1} x", "[1]", "{\"a\":01}", "{\"a\":1,}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_int_eq(mp_json_members_in(bad[i], 0, strlen(bad[i]), keys, 1, v), MP_EINVAL);
    ck_assert_int_eq(mp_json_members_in(" {} ", 0, 4, keys, 1, v), MP_OK);
    ck_assert_uint_eq(v[0][1], 0);
    const char *many[MP_JSON_MEMBERS_MAX + 1];
    for (size_t i = 0; i <= MP_JSON_MEMBERS_MAX; i++)
        many[i] = "a";
    size_t w[MP_JSON_MEMBERS_MAX + 1][2];
    ck_assert_int_eq(mp_json_members_in("{}", 0, 2, many, MP_JSON_MEMBERS_MAX + 1, w), MP_EINVAL);
}
END_TEST

/* --- find_member --- */

START_TEST(test_json_find_member_top_level_not_nested)
{
    const char *json = "{\"a\":{\"user\":\"inner\"},\"b\":[{\"user\":\"x\"}],"
                       "\"user\":\"outer\",\"c\":{\"user\":1}}";
    assert_member(json, "user", "\"outer\"");
    assert_member(json, "b", "[{\"user\":\"x\"}]");
}
END_TEST

START_TEST(test_json_find_member_ignores_nested_keys_only)
{
    ck_assert_int_eq(find_rc("{\"a\":{\"user\":\"inner\"},\"b\":[{\"user\":2}]}", "user"),
                     MP_NOTFOUND);
    ck_assert_int_eq(find_rc("{\"a\":\"\\\"user\\\":1\"}", "user"), MP_NOTFOUND);
}
END_TEST

START_TEST(test_json_find_member_escaped_name)
{
    assert_member("{\"us\\u0065r\":\"e\"}", "user", "\"e\"");
    assert_member("{\"\\u0075\\u0073\\u0065\\u0072\":1}", "user", "1");
    assert_member("{\"a\\\"b\\\\c\\/\\n\":2}", "a\"b\\c/\n", "2");
    ck_assert_int_eq(find_rc("{\"us\\u0065\":1}", "user"), MP_NOTFOUND);
    ck_assert_int_eq(find_rc("{\"us\\u0065rs\":1}", "user"), MP_NOTFOUND);
    ck_assert_int_eq(find_rc("{\"user\\u0000\":1}", "user"), MP_NOTFOUND);
}
END_TEST

START_TEST(test_json_find_member_name_prefix_does_not_match)
{
    ck_assert_int_eq(find_rc("{\"use\":1,\"users\":2,\"\":3}", "user"), MP_NOTFOUND);
    assert_member("{\"use\":1,\"users\":2,\"\":3}", "", "3");
}
END_TEST

START_TEST(test_json_find_member_duplicate_last_wins)
{
    assert_member("{\"user\":\"first\",\"x\":0,\"user\":\"second\"}", "user", "\"second\"");
    assert_member("{\"user\":\"first\",\"us\\u0065r\":[2]}", "user", "[2]");
}
END_TEST

START_TEST(test_json_find_member_notfound_on_valid_object)
{
    ck_assert_int_eq(find_rc("{\"model\":\"m\",\"messages\":[]}", "user"), MP_NOTFOUND);
    ck_assert_int_eq(find_rc("{}", "user"), MP_NOTFOUND);
    ck_assert_int_eq(find_rc(" { } ", "user"), MP_NOTFOUND);
}
END_TEST

START_TEST(test_json_find_member_outputs_untouched_on_failure)
{
    /* find_rc reports 98 if the outputs moved. */
    ck_assert_int_eq(find_rc("{\"a\":1}", "user"), MP_NOTFOUND);
    ck_assert_int_eq(find_rc("{\"user\":1,}", "user"), MP_EINVAL);
}
END_TEST

START_TEST(test_json_find_member_rejects_top_level_array)
{
    ck_assert_int_eq(find_rc("[{\"user\":1}]", "user"), MP_EINVAL);
}
END_TEST

START_TEST(test_json_find_member_rejects_top_level_string)
{
    ck_assert_int_eq(find_rc("\"user\"", "user"), MP_EINVAL);
    ck_assert_int_eq(find_rc("1", "user"), MP_EINVAL);
    ck_assert_int_eq(find_rc("", "user"), MP_EINVAL);
    ck_assert_int_eq(find_rc("   ", "user"), MP_EINVAL);
}
END_TEST

START_TEST(test_json_find_member_rejects_trailing_garbage)
{
    ck_assert_int_eq(find_rc("{\"user\":1} x", "user"), MP_EINVAL);
    ck_assert_int_eq(find_rc("{\"user\":1}{}", "user"), MP_EINVAL);
    ck_assert_int_eq(find_rc("{\"user\":1}}", "user"), MP_EINVAL);
    ck_assert_int_eq(find_rc("{\"user\":1}\n\t ", "user"), MP_OK);
}
END_TEST

START_TEST(test_json_find_member_rejects_nul_after_object)
{
    const char json[] = "{\"user\":1}\0";
    size_t vs, ve;
    ck_assert_int_eq(mp_json_find_member(json, sizeof(json) - 1, "user", 4, &vs, &ve), MP_EINVAL);
    ck_assert_int_eq(mp_json_find_member(json, sizeof(json) - 2, "user", 4, &vs, &ve), MP_OK);
}
END_TEST

START_TEST(test_json_find_member_rejects_truncated_object)
{
    ck_assert_int_eq(find_rc("{\"user\":1", "user"), MP_EINVAL);
    ck_assert_int_eq(find_rc("{\"user\":", "user"), MP_EINVAL);
    ck_assert_int_eq(find_rc("{\"user\"", "user"), MP_EINVAL);
    ck_assert_int_eq(find_rc("{", "user"), MP_EINVAL);
}
END_TEST

START_TEST(test_json_find_member_rejects_bad_member_syntax)
{
    ck_assert_int_eq(find_rc("{user:1}", "user"), MP_EINVAL);
    ck_assert_int_eq(find_rc("{\"user\" 1}", "user"), MP_EINVAL);
    ck_assert_int_eq(find_rc("{\"a\":1 \"user\":2}", "user"), MP_EINVAL);
    ck_assert_int_eq(find_rc("{,\"user\":1}", "user"), MP_EINVAL);
    ck_assert_int_eq(find_rc("{\"a\":{\"b\" 1},\"user\":2}", "user"), MP_EINVAL);
    ck_assert_int_eq(find_rc("{\"a\":{1:2},\"user\":2}", "user"), MP_EINVAL);
}
END_TEST

START_TEST(test_json_find_member_invalid_later_member_is_einval)
{
    /* The object is validated in full even after the key was found. */
    ck_assert_int_eq(find_rc("{\"user\":\"u\",\"messages\":[1,]}", "user"), MP_EINVAL);
}
END_TEST

START_TEST(test_json_whitespace_everywhere)
{
    const char *json = " \t\r\n{ \n\"user\" \t:\r \"x\" ,\n \"b\" : [ 1 ,\t2 , { \"c\" :"
                       " [ ] } ] \r} \n";
    assert_member(json, "user", "\"x\"");
    assert_member(json, "b", "[ 1 ,\t2 , { \"c\" : [ ] } ]");
    ck_assert_int_eq(find_rc("\f{}", "user"), MP_EINVAL);
    ck_assert_int_eq(find_rc("{}\v", "user"), MP_EINVAL);
    ck_assert_int_eq(scan_str("[1,\xC2\xA0"
                              "2]"),
                     MP_EINVAL);
}
END_TEST

START_TEST(test_json_unicode_names_and_values)
{
    /* "ключ" raw and as escapes; an emoji name as a surrogate pair. */
    const char *raw = "{\"\xD0\xBA\xD0\xBB\xD1\x8E\xD1\x87\":\"\xE2\x82\xAC\"}";
    const char *esc = "{\"\\u043a\\u043B\\u044e\\u0447\":1}";
    assert_member(raw, "\xD0\xBA\xD0\xBB\xD1\x8E\xD1\x87", "\"\xE2\x82\xAC\"");
    assert_member(esc, "\xD0\xBA\xD0\xBB\xD1\x8E\xD1\x87", "1");
    assert_member("{\"\\ud83d\\ude00\":2}", "\xF0\x9F\x98\x80", "2");
    ck_assert_int_eq(find_rc("{\"\\ud83d\\ude00\":2}", "\xF0\x9F\x98\x81"), MP_NOTFOUND);
    ck_assert_int_eq(find_rc("{\"\\ud83d\":2}", "\xED\xA0\xBD"), MP_NOTFOUND);
}
END_TEST

/* --- scan_value --- */

START_TEST(test_json_scan_value_span_skips_leading_ws)
{
    const char *s = "xx \t[1, {\"a\": null}] , 3";
    size_t a = 0, b = 0;
    ck_assert_int_eq(mp_json_scan_value(s, strlen(s), 2, &a, &b), MP_OK);
    ck_assert_uint_eq(a, 4);
    ck_assert_uint_eq(b, 20);
    ck_assert_int_eq(mp_json_scan_value(s, strlen(s), 21 + 1, &a, &b), MP_OK);
    ck_assert_uint_eq(a, 23);
    ck_assert_uint_eq(b, 24);
}
END_TEST

START_TEST(test_json_scan_value_stops_after_value)
{
    size_t a = 0, b = 0;
    ck_assert_int_eq(mp_json_scan_value("true x", 6, 0, &a, &b), MP_OK);
    ck_assert_uint_eq(b, 4);
    ck_assert_int_eq(mp_json_scan_value("-12.5e+3,", 9, 0, &a, &b), MP_OK);
    ck_assert_uint_eq(b, 8);
    ck_assert_int_eq(mp_json_scan_value("\"a\"\"b\"", 6, 0, &a, &b), MP_OK);
    ck_assert_uint_eq(b, 3);
}
END_TEST

START_TEST(test_json_scan_value_accepts_every_kind)
{
    const char *ok[] = {"0",    "-0",    "1",     "-1",        "10",        "0.5",        "-0.0e0",
                        "1E10", "1e-10", "1e+10", "123.456e7", "true",      "false",      "null",
                        "\"\"", "[]",    "{}",    "[[],{}]",   "{\"\":{}}", "\"\\u00e9\""};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        ck_assert_msg(scan_str(ok[i]) == MP_OK, "rejected %s", ok[i]);
        ck_assert_msg(member_rc(ok[i]) == MP_OK, "member rejected %s", ok[i]);
    }
}
END_TEST

START_TEST(test_json_scan_value_empty_and_out_of_range)
{
    size_t a, b;
    ck_assert_int_eq(mp_json_scan_value("", 0, 0, &a, &b), MP_EINVAL);
    ck_assert_int_eq(mp_json_scan_value(" \n", 2, 0, &a, &b), MP_EINVAL);
    ck_assert_int_eq(mp_json_scan_value("1", 1, 2, &a, &b), MP_EINVAL);
}
END_TEST

START_TEST(test_json_rejects_trailing_comma_array)
{
    assert_accepted("[1,2]");
    assert_rejected("[1,2,]");
    assert_rejected("[,]");
    assert_rejected("[,1]");
    assert_rejected("[1,,2]");
}
END_TEST

START_TEST(test_json_rejects_trailing_comma_object)
{
    assert_accepted("{\"a\":1,\"b\":2}");
    assert_rejected("{\"a\":1,}");
    assert_rejected("{\"a\":1 , }");
    assert_rejected("{,}");
}
END_TEST

START_TEST(test_json_rejects_leading_zero)
{
    assert_accepted("0");
    assert_accepted("[0,10]");
    assert_rejected("01");
    assert_rejected("-01");
    assert_rejected("00");
    assert_rejected("[01]");
}
END_TEST

START_TEST(test_json_rejects_plus_sign)
{
    assert_accepted("1e+1");
    assert_rejected("+1");
    assert_rejected("[+1]");
}
END_TEST

START_TEST(test_json_rejects_leading_dot)
{
    assert_rejected(".5");
    assert_rejected("-.5");
}
END_TEST

START_TEST(test_json_rejects_trailing_dot_and_bare_exponent)
{
    assert_rejected("1.");
    assert_rejected("1.e5");
    assert_rejected("1e");
    assert_rejected("1e+");
    assert_rejected("-");
    assert_rejected("[1.]");
}
END_TEST

START_TEST(test_json_rejects_nan_infinity)
{
    assert_rejected("NaN");
    assert_rejected("Infinity");
    assert_rejected("-Infinity");
    assert_rejected("nan");
}
END_TEST

START_TEST(test_json_rejects_bad_literals)
{
    assert_rejected("tru");
    assert_rejected("True");
    assert_rejected("nul");
    assert_rejected("undefined");
    assert_rejected("[truex]");
}
END_TEST

START_TEST(test_json_rejects_single_quotes)
{
    assert_rejected("'a'");
    ck_assert_int_eq(find_rc("{'user':1}", "user"), MP_EINVAL);
}
END_TEST

START_TEST(test_json_rejects_unescaped_control_char)
{
    assert_accepted("\"a\\tb\"");
    assert_rejected("\"a\tb\"");
    assert_rejected("\"a\nb\"");
    assert_rejected("\"\x1f\"");
    ck_assert_int_eq(scan_whole("\"a\0b\"", 5), MP_EINVAL);
    assert_accepted("\"\x7f\""); /* DEL is not a control char for JSON */
}
END_TEST

START_TEST(test_json_rejects_invalid_escape)
{
    assert_accepted("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"");
    assert_rejected("\"\\a\"");
    assert_rejected("\"\\x41\"");
    assert_rejected("\"\\'\"");
    assert_rejected("\"\\U0041\"");
    assert_rejected("\"\\\"");
    assert_rejected("\"abc\\");
}
END_TEST

START_TEST(test_json_rejects_bad_unicode_escape)
{
    assert_accepted("\"\\u00aF\"");
    assert_rejected("\"\\u00g0\"");
    assert_rejected("\"\\u12\"");
    assert_rejected("\"\\u\"");
    assert_rejected("\"\\u-123\"");
    ck_assert_int_eq(scan_whole("\"\\u12", 5), MP_EINVAL);
}
END_TEST

START_TEST(test_json_accepts_escaped_lone_surrogate)
{
    assert_accepted("\"\\ud800\"");
    assert_accepted("\"\\udc00x\"");
    assert_accepted("\"\\ud83d\\ud83d\"");
}
END_TEST

START_TEST(test_json_rejects_overlong_utf8)
{
    assert_accepted("\"\xC2\x80\"");
    assert_rejected("\"\xC0\xAF\"");
    assert_rejected("\"\xC1\xBF\"");
    assert_rejected("\"\xE0\x80\xAF\"");
    assert_rejected("\"\xF0\x80\x80\xAF\"");
}
END_TEST

START_TEST(test_json_rejects_utf8_encoded_surrogate)
{
    assert_accepted("\"\xED\x9F\xBF\"");
    assert_rejected("\"\xED\xA0\x80\"");
    assert_rejected("\"\xED\xBF\xBF\"");
}
END_TEST

START_TEST(test_json_rejects_utf8_above_max)
{
    assert_accepted("\"\xF4\x8F\xBF\xBF\"");
    assert_rejected("\"\xF4\x90\x80\x80\"");
    assert_rejected("\"\xF5\x80\x80\x80\"");
    assert_rejected("\"\xFF\"");
}
END_TEST

START_TEST(test_json_rejects_truncated_utf8)
{
    assert_accepted("\"\xE2\x82\xAC\"");
    assert_rejected("\"\xE2\x82\"");
    assert_rejected("\"\xF0\x9F\x98\"");
    assert_rejected("\"\x80\"");
    assert_rejected("\"\xE2\x82"
                    "a\"");
    ck_assert_int_eq(scan_whole("\"\xE2\x82", 3), MP_EINVAL);
}
END_TEST

START_TEST(test_json_rejects_invalid_utf8_outside_strings)
{
    assert_rejected("[\xE2\x82\xAC]");
}
END_TEST

START_TEST(test_json_rejects_unterminated_containers)
{
    assert_rejected("[1");
    assert_rejected("[1}");
    assert_rejected("{\"a\":1]");
    assert_rejected("[");
    assert_rejected("]");
    assert_rejected("\"abc");
}
END_TEST

START_TEST(test_json_special_byte_found_at_every_alignment)
{
    /* The 8-byte fast path must not step over a quote, backslash, control
     * or high byte wherever it sits in the word. */
    char s[40];
    for (size_t at = 1; at < 30; at++) {
        memset(s, 'a', sizeof(s));
        s[0] = '"';
        s[at] = '"';
        ck_assert_int_eq(scan_whole(s, at + 1), MP_OK);
        s[at] = '\x01';
        s[39] = '"';
        ck_assert_int_eq(scan_whole(s, 40), MP_EINVAL);
        s[at] = '\xC3'; /* truncated before 'a' */
        ck_assert_int_eq(scan_whole(s, 40), MP_EINVAL);
        s[at] = '\\';
        ck_assert_int_eq(scan_whole(s, 40), MP_EINVAL); /* \a */
        s[at + 1] = 'n';
        ck_assert_int_eq(scan_whole(s, 40), MP_OK);
    }
}
END_TEST

/* Each byte on either side of a bound of the plain class (0x1F/0x20
 * control, 0x21/0x22/0x23 around the quote, 0x5B/0x5C/0x5D around the
 * backslash, 0x7F/0x80 high bit), and whether a plain run stops at it. */
static const struct {
    unsigned char byte;
    bool stops;
} byte_bounds[] = {{0x1F, true},  {0x20, false}, {0x21, false}, {0x22, true},
                   {0x23, false}, {0x5B, false}, {0x5C, true},  {0x5D, false},
                   {0x7F, false}, {0x80, true},  {0x00, true},  {0xFF, true}};

/* Each of byte_bounds at every position of len bytes of 'a'. */
static void check_byte_bounds(size_t len)
{
    char s[128];
    ck_assert_uint_le(len, sizeof(s));
    for (size_t c = 0; c < sizeof(byte_bounds) / sizeof(byte_bounds[0]); c++) {
        for (size_t at = 0; at < len; at++) {
            memset(s, 'a', len);
            s[at] = (char)byte_bounds[c].byte;
            size_t want = byte_bounds[c].stops ? at : len;
            ck_assert_msg(mp_json_plain_run(s, len, 0) == want, "byte 0x%02x at %zu of %zu",
                          byte_bounds[c].byte, at, len);
        }
    }
}

START_TEST(test_json_plain_run_byte_class_bounds_in_words)
{
    /* Runs long enough that the 16-byte test (where there is one) sees
     * every byte, and the 64-byte one. */
    check_byte_bounds(32);
    check_byte_bounds(128);
}
END_TEST

START_TEST(test_json_plain_run_byte_class_bounds_under_16)
{
    /* Texts of 8 to 15 bytes: no 16 to look at, the 8-byte word test
     * sees the first 8 whole, the byte loop the rest. */
    for (size_t len = 8; len < 16; len++)
        check_byte_bounds(len);
}
END_TEST

START_TEST(test_json_plain_run_finds_the_first_special_from_any_start_in_any_length)
{
    /* A quote at every place of texts of every length up to 144, the run
     * started from every place: the scan looks 64 bytes at a time, then
     * 16, and at a text's last 16 together, and must end exactly at the
     * quote (or at the end when it starts past it). */
    char s[144];
    for (size_t len = 1; len <= sizeof(s); len++) {
        for (size_t at = 0; at <= len; at++) { /* at == len: no quote */
            memset(s, 'a', len);
            if (at < len)
                s[at] = '"';
            for (size_t from = 0; from <= len; from++) {
                size_t want = from <= at ? at : len;
                ck_assert_msg(mp_json_plain_run(s, len, from) == want,
                              "len %zu, quote at %zu, from %zu", len, at, from);
            }
        }
    }
}
END_TEST

/* "aaa...": n bytes between the quotes, byte b at offset at of them. */
static size_t string_with(char *s, size_t n, size_t at, unsigned char b)
{
    s[0] = '"';
    memset(s + 1, 'a', n);
    s[1 + at] = (char)b;
    s[1 + n] = '"';
    s[2 + n] = '\0';
    return n + 2;
}

/* Strings of lo to hi - 1 bytes: 0x1F, the last control byte, at each
 * place is refused, a space there accepted. */
static void check_control_bound(size_t lo, size_t hi)
{
    char s[48];
    ck_assert_uint_le(hi + 2, sizeof(s));
    for (size_t n = lo; n < hi; n++) {
        for (size_t at = 0; at < n; at++) {
            string_with(s, n, at, 0x1F);
            assert_rejected(s);
            string_with(s, n, at, 0x20);
            assert_accepted(s);
        }
    }
}

START_TEST(test_json_string_control_bound_long)
{
    /* 40 bytes: the byte lies in a word the fast path tests whole. */
    check_control_bound(40, 41);
}
END_TEST

START_TEST(test_json_string_control_bound_short)
{
    /* Under 8 bytes left: only the byte loop sees them. */
    check_control_bound(1, 6);
}
END_TEST

START_TEST(test_json_string_control_bound_one_word)
{
    /* Whole texts of 8 to 15 bytes: the string's bytes go through the
     * 8-byte word test, not the 16-byte one. */
    check_control_bound(6, 14);
}
END_TEST

/* --- depth --- */

START_TEST(test_json_depth_limit_arrays)
{
    size_t len;
    char *s = nested_arrays(MP_JSON_MAX_DEPTH, &len);
    ck_assert_int_eq(scan_whole(s, len), MP_OK);
    free(s);
    s = nested_arrays(MP_JSON_MAX_DEPTH + 1, &len);
    ck_assert_int_eq(scan_whole(s, len), MP_EINVAL);
    free(s);
}
END_TEST

START_TEST(test_json_depth_limit_objects)
{
    /* {"a":{"a":...{"a":{}}...}} with n objects */
    char s[8 * (MP_JSON_MAX_DEPTH + 2)];
    for (size_t n = MP_JSON_MAX_DEPTH; n <= MP_JSON_MAX_DEPTH + 1; n++) {
        size_t len = 0;
        for (size_t i = 0; i + 1 < n; i++) {
            memcpy(s + len, "{\"a\":", 5);
            len += 5;
        }
        memcpy(s + len, "{}", 2);
        len += 2;
        memset(s + len, '}', n - 1);
        len += n - 1;
        ck_assert_int_eq(scan_whole(s, len), n == MP_JSON_MAX_DEPTH ? MP_OK : MP_EINVAL);
    }
}
END_TEST

START_TEST(test_json_depth_limit_counts_find_member_object)
{
    /* {"a": + n arrays + }: the object is one level. */
    size_t n = MP_JSON_MAX_DEPTH - 1, alen, vs, ve;
    char *arr = nested_arrays(n + 1, &alen);
    char *s = malloc(alen + 8);
    ck_assert_ptr_nonnull(s);
    memcpy(s, "{\"a\":", 5);
    memcpy(s + 5, arr + 1, alen - 2); /* n arrays */
    s[5 + alen - 2] = '}';
    ck_assert_int_eq(mp_json_find_member(s, alen + 4, "a", 1, &vs, &ve), MP_OK);
    ck_assert_uint_eq(ve - vs, alen - 2);
    memcpy(s + 5, arr, alen); /* n + 1 arrays */
    s[5 + alen] = '}';
    ck_assert_int_eq(mp_json_find_member(s, alen + 6, "a", 1, &vs, &ve), MP_EINVAL);
    free(arr);
    free(s);
}
END_TEST

START_TEST(test_json_depth_limit_deep_input_is_rejected_quickly)
{
    size_t len;
    char *s = nested_arrays(100000, &len);
    ck_assert_int_eq(scan_whole(s, len), MP_EINVAL);
    free(s);
}
END_TEST

/* --- large input --- */

START_TEST(test_json_one_mib_string_value)
{
    size_t n = 1u << 20, len, vs = 0, ve = 0, out_len = 0;
    char *s = malloc(n + 64), *out = malloc(n);
    ck_assert_ptr_nonnull(s);
    ck_assert_ptr_nonnull(out);
    memcpy(s, "{\"model\":\"m\",\"user\":\"", 21);
    for (size_t i = 0; i < n; i++)
        s[21 + i] = (char)('a' + i % 26);
    memcpy(s + 21 + 1000, "\xE2\x82\xAC", 3);
    memcpy(s + 21 + n - 8, "\\n\\u00e9", 8);
    len = 21 + n;
    memcpy(s + len, "\"}", 2);
    len += 2;
    ck_assert_int_eq(mp_json_find_member(s, len, "user", 4, &vs, &ve), MP_OK);
    ck_assert_uint_eq(vs, 20);
    ck_assert_uint_eq(ve, len - 1);
    ck_assert_int_eq(mp_json_string_decode(s, vs, ve, out, n, &out_len), MP_OK);
    ck_assert_uint_eq(out_len, n - 8 + 3);
    ck_assert_mem_eq(out, s + 21, n - 8);
    ck_assert_mem_eq(out + n - 8, "\n\xC3\xA9", 3);
    s[21 + n - 100] = '\n'; /* a raw control char deep inside */
    ck_assert_int_eq(mp_json_find_member(s, len, "user", 4, &vs, &ve), MP_EINVAL);
    free(s);
    free(out);
}
END_TEST

/* --- string_decode --- */

START_TEST(test_json_string_decode_simple_escapes)
{
    char out[64];
    size_t n = 0;
    ck_assert_int_eq(decode("\"a\\\"b\\\\c\\/d\\be\\ff\\ng\\rh\\ti\"", out, sizeof(out), &n),
                     MP_OK);
    ck_assert_uint_eq(n, 17);
    ck_assert_mem_eq(out, "a\"b\\c/d\be\ff\ng\rh\ti", 17);
}
END_TEST

START_TEST(test_json_string_decode_unicode_escapes)
{
    char out[64];
    size_t n = 0;
    ck_assert_int_eq(decode("\"\\u0041\\u00e9\\u20AC\\uffff\"", out, sizeof(out), &n), MP_OK);
    ck_assert_uint_eq(n, 1 + 2 + 3 + 3);
    ck_assert_mem_eq(out, "A\xC3\xA9\xE2\x82\xAC\xEF\xBF\xBF", 9);
}
END_TEST

START_TEST(test_json_string_decode_surrogate_pair)
{
    char out[16];
    size_t n = 0;
    ck_assert_int_eq(decode("\"\\ud83d\\ude00\"", out, sizeof(out), &n), MP_OK);
    ck_assert_uint_eq(n, 4);
    ck_assert_mem_eq(out, "\xF0\x9F\x98\x80", 4);
    ck_assert_int_eq(decode("\"x\\uDBFF\\uDFFFy\"", out, sizeof(out), &n), MP_OK);
    ck_assert_uint_eq(n, 6);
    ck_assert_mem_eq(out, "x\xF4\x8F\xBF\xBFy", 6);
}
END_TEST

START_TEST(test_json_string_decode_raw_utf8_passes_through)
{
    char out[16];
    size_t n = 0;
    ck_assert_int_eq(decode("\"\xF0\x9F\x98\x80 \xC3\xA9\"", out, sizeof(out), &n), MP_OK);
    ck_assert_uint_eq(n, 7);
    ck_assert_mem_eq(out, "\xF0\x9F\x98\x80 \xC3\xA9", 7);
}
END_TEST

START_TEST(test_json_string_decode_surrogate_pair_bounds)
{
    /* Both ends of the high (D800-DBFF) and low (DC00-DFFF) ranges. */
    static const struct {
        const char *lit;
        const char *utf8;
    } ok[] = {
        {"\"\\uD800\\uDC00\"", "\xF0\x90\x80\x80"}, /* U+10000 */
        {"\"\\uD800\\uDFFF\"", "\xF0\x90\x8F\xBF"}, /* U+103FF */
        {"\"\\uDBFF\\uDC00\"", "\xF4\x8F\xB0\x80"}, /* U+10FC00 */
        {"\"\\udbff\\udfff\"", "\xF4\x8F\xBF\xBF"}, /* U+10FFFF */
    };
    char out[16];
    size_t n = 0;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        ck_assert_msg(decode(ok[i].lit, out, sizeof(out), &n) == MP_OK, "%s", ok[i].lit);
        ck_assert_uint_eq(n, 4);
        ck_assert_mem_eq(out, ok[i].utf8, 4);
    }
}
END_TEST

START_TEST(test_json_string_decode_low_surrogate_out_of_range_einval)
{
    /* A high surrogate followed by an escape just outside DC00-DFFF. */
    char out[16];
    size_t n = 77;
    ck_assert_int_eq(decode("\"\\uD800\\uDBFF\"", out, sizeof(out), &n), MP_EINVAL);
    ck_assert_int_eq(decode("\"\\uDBFF\\uE000\"", out, sizeof(out), &n), MP_EINVAL);
    ck_assert_int_eq(decode("\"\\uD800\\uD7FF\"", out, sizeof(out), &n), MP_EINVAL);
    ck_assert_uint_eq(n, 77);
}
END_TEST

START_TEST(test_json_string_decode_surrogate_range_edges)
{
    /* D7FF and E000 are ordinary code points; D800, DBFF, DC00 and DFFF
     * alone are lone surrogates. */
    char out[16];
    size_t n = 0;
    ck_assert_int_eq(decode("\"\\uD7FF\"", out, sizeof(out), &n), MP_OK);
    ck_assert_uint_eq(n, 3);
    ck_assert_mem_eq(out, "\xED\x9F\xBF", 3);
    ck_assert_int_eq(decode("\"\\uE000\"", out, sizeof(out), &n), MP_OK);
    ck_assert_uint_eq(n, 3);
    ck_assert_mem_eq(out, "\xEE\x80\x80", 3);
    ck_assert_int_eq(decode("\"\\uD800\"", out, sizeof(out), &n), MP_EINVAL);
    ck_assert_int_eq(decode("\"\\uDBFF\"", out, sizeof(out), &n), MP_EINVAL);
    ck_assert_int_eq(decode("\"\\uDC00\"", out, sizeof(out), &n), MP_EINVAL);
    ck_assert_int_eq(decode("\"\\uDFFF\"", out, sizeof(out), &n), MP_EINVAL);
}
END_TEST

START_TEST(test_json_find_member_name_surrogate_pair_bounds)
{
    /* Member names go through the same escape reader as decode. */
    assert_member("{\"\\uD800\\uDC00\":1}", "\xF0\x90\x80\x80", "1");
    assert_member("{\"\\uDBFF\\uDFFF\":2}", "\xF4\x8F\xBF\xBF", "2");
    ck_assert_int_eq(find_rc("{\"\\uD800\\uDBFF\":1}", "\xF0\x90\x80\x80"), MP_NOTFOUND);
    ck_assert_int_eq(find_rc("{\"\\uDBFF\\uE000\":1}", "\xF4\x8F\xBF\xBF"), MP_NOTFOUND);
}
END_TEST

START_TEST(test_json_string_decode_lone_surrogate_einval)
{
    char out[32];
    size_t n = 77;
    ck_assert_int_eq(decode("\"\\ud83d\"", out, sizeof(out), &n), MP_EINVAL);
    ck_assert_int_eq(decode("\"\\ud83dx\"", out, sizeof(out), &n), MP_EINVAL);
    ck_assert_int_eq(decode("\"\\ud83d\\u0041\"", out, sizeof(out), &n), MP_EINVAL);
    ck_assert_int_eq(decode("\"\\ud83d\\ud83d\"", out, sizeof(out), &n), MP_EINVAL);
    ck_assert_int_eq(decode("\"\\ude00\"", out, sizeof(out), &n), MP_EINVAL);
    ck_assert_int_eq(decode("\"\\ude00\\ud83d\"", out, sizeof(out), &n), MP_EINVAL);
    ck_assert_uint_eq(n, 77);
}
END_TEST

START_TEST(test_json_text_decode_escaped_nul_is_replacement)
{
    const char *lit = "\"a\\u0000b\"";
    char out[16];
    size_t n = 0;
    ck_assert_int_eq(mp_json_text_decode(lit, 0, strlen(lit), out, sizeof(out), &n), MP_OK);
    ck_assert_uint_eq(n, 5);
    ck_assert_mem_eq(out,
                     "a\xef\xbf\xbd"
                     "b",
                     5);
    /* a lone surrogate is still refused */
    lit = "\"\\ud800\"";
    ck_assert_int_eq(mp_json_text_decode(lit, 0, strlen(lit), out, sizeof(out), &n), MP_EINVAL);
}
END_TEST

START_TEST(test_json_string_decode_escaped_nul_einval)
{
    char out[16];
    size_t n = 77;
    ck_assert_int_eq(decode("\"a\\u0000b\"", out, sizeof(out), &n), MP_EINVAL);
    ck_assert_uint_eq(n, 77);
    ck_assert_int_eq(decode("\"a\\u0001b\"", out, sizeof(out), &n), MP_OK);
    ck_assert_uint_eq(n, 3);
}
END_TEST

START_TEST(test_json_string_decode_etoobig)
{
    char out[8];
    size_t n = 77;
    ck_assert_int_eq(decode("\"abc\\u00e9\"", out, 4, &n), MP_ETOOBIG);
    ck_assert_uint_eq(n, 77);
    ck_assert_int_eq(decode("\"abc\\u00e9\"", out, 5, &n), MP_OK);
    ck_assert_uint_eq(n, 5);
    ck_assert_mem_eq(out, "abc\xC3\xA9", 5);
    ck_assert_int_eq(decode("\"abcdef\"", out, 5, &n), MP_ETOOBIG);
    ck_assert_int_eq(decode("\"\"", NULL, 0, &n), MP_OK);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(decode("\"a\"", NULL, 0, &n), MP_ETOOBIG);
}
END_TEST

START_TEST(test_json_string_decode_einval_beats_etoobig)
{
    char out[2];
    size_t n = 77;
    ck_assert_int_eq(decode("\"abcdef\\ud800\"", out, sizeof(out), &n), MP_EINVAL);
    ck_assert_uint_eq(n, 77);
}
END_TEST

START_TEST(test_json_string_decode_rejects_non_string_span)
{
    char out[16];
    size_t n = 77;
    ck_assert_int_eq(decode("abc", out, sizeof(out), &n), MP_EINVAL);
    ck_assert_int_eq(decode("\"abc", out, sizeof(out), &n), MP_EINVAL);
    ck_assert_int_eq(decode("\"", out, sizeof(out), &n), MP_EINVAL);
    ck_assert_int_eq(decode("\"a\"b\"", out, sizeof(out), &n), MP_EINVAL);
    ck_assert_int_eq(decode("\"a\\\"", out, sizeof(out), &n), MP_EINVAL);
    ck_assert_int_eq(decode("\"\\x\"", out, sizeof(out), &n), MP_EINVAL);
    ck_assert_int_eq(decode("\"\xC0\xAF\"", out, sizeof(out), &n), MP_EINVAL);
    ck_assert_int_eq(mp_json_string_decode("x\"ab\"y", 1, 5, out, sizeof(out), &n), MP_OK);
    ck_assert_uint_eq(n, 2);
}
END_TEST

/* --- next --- */

START_TEST(test_json_next_array_elements_exact_spans)
{
    const char *s = "{\"m\": [ 1 ,\"two\", {\"a\":[3]} ,null,[ ] ] }";
    size_t vs, ve, cur = 0, a = 0, b = 0;
    const char *want[] = {"1", "\"two\"", "{\"a\":[3]}", "null", "[ ]"};
    ck_assert_int_eq(mp_json_find_member(s, strlen(s), "m", 1, &vs, &ve), MP_OK);
    for (size_t i = 0; i < 5; i++) {
        ck_assert_int_eq(mp_json_next(s, vs, ve, &cur, NULL, NULL, &a, &b), MP_OK);
        ck_assert_uint_eq(b - a, strlen(want[i]));
        ck_assert_mem_eq(s + a, want[i], strlen(want[i]));
    }
    ck_assert_int_eq(mp_json_next(s, vs, ve, &cur, NULL, NULL, &a, &b), MP_NOTFOUND);
    ck_assert_int_eq(mp_json_next(s, vs, ve, &cur, NULL, NULL, &a, &b), MP_NOTFOUND);
    ck_assert_uint_eq(b, ve - 2); /* last element ends before " ]" */
}
END_TEST

START_TEST(test_json_next_object_members_exact_spans)
{
    const char *s = "{ \"a\" : 1 , \"b\\u0041\":[2,{}] ,\"\":\"\"}";
    size_t cur = 0, ns = 0, ne = 0, a = 0, b = 0, len = strlen(s);
    const char *names[] = {"\"a\"", "\"b\\u0041\"", "\"\""};
    const char *vals[] = {"1", "[2,{}]", "\"\""};
    for (size_t i = 0; i < 3; i++) {
        ck_assert_int_eq(mp_json_next(s, 0, len, &cur, &ns, &ne, &a, &b), MP_OK);
        ck_assert_uint_eq(ne - ns, strlen(names[i]));
        ck_assert_mem_eq(s + ns, names[i], strlen(names[i]));
        ck_assert_uint_eq(b - a, strlen(vals[i]));
        ck_assert_mem_eq(s + a, vals[i], strlen(vals[i]));
    }
    ck_assert_int_eq(mp_json_next(s, 0, len, &cur, &ns, &ne, &a, &b), MP_NOTFOUND);
}
END_TEST

START_TEST(test_json_next_empty_array_and_object)
{
    size_t cur = 0, ns = 5, ne = 5, a = 5, b = 5;
    ck_assert_int_eq(mp_json_next("[]", 0, 2, &cur, NULL, NULL, &a, &b), MP_NOTFOUND);
    ck_assert_int_eq(mp_json_next("[ \n ]", 0, 5, &cur, NULL, NULL, &a, &b), MP_NOTFOUND);
    ck_assert_int_eq(mp_json_next("{}", 0, 2, &cur, &ns, &ne, &a, &b), MP_NOTFOUND);
    ck_assert_int_eq(mp_json_next("{ }", 0, 3, &cur, &ns, &ne, &a, &b), MP_NOTFOUND);
    ck_assert_uint_eq(cur, 0);
    ck_assert_uint_eq(a + b + ns + ne, 20);
}
END_TEST

START_TEST(test_json_next_mismatched_kind_einval)
{
    size_t cur = 0, ns, ne, a, b;
    ck_assert_int_eq(mp_json_next("[1]", 0, 3, &cur, &ns, &ne, &a, &b), MP_EINVAL);
    ck_assert_int_eq(mp_json_next("{\"a\":1}", 0, 7, &cur, NULL, NULL, &a, &b), MP_EINVAL);
    ck_assert_int_eq(mp_json_next("\"ab\"", 0, 4, &cur, NULL, NULL, &a, &b), MP_EINVAL);
    ck_assert_int_eq(mp_json_next("1", 0, 1, &cur, NULL, NULL, &a, &b), MP_EINVAL);
    ck_assert_uint_eq(cur, 0);
    ck_assert_int_eq(mp_json_next("[1]", 0, 3, &cur, NULL, NULL, &a, &b), MP_OK);
}
END_TEST

START_TEST(test_json_next_splice_point_after_last_element)
{
    /* The proxy appends to "messages" at the end of the last element. */
    const char *s = "{\"messages\":[{\"role\":\"user\"} ,{\"role\":\"x\"}\n]}";
    size_t vs, ve, cur = 0, a = 0, b = 0, last = 0;
    ck_assert_int_eq(mp_json_find_member(s, strlen(s), "messages", 8, &vs, &ve), MP_OK);
    while (mp_json_next(s, vs, ve, &cur, NULL, NULL, &a, &b) == MP_OK)
        last = b;
    ck_assert_uint_eq(last, strlen(s) - 3);
    ck_assert_int_eq(s[last - 1], '}');
    ck_assert_int_eq(s[last], '\n');
}
END_TEST

START_TEST(test_json_next_unvalidated_span_einval)
{
    size_t cur = 0, a, b;
    ck_assert_int_eq(mp_json_next("[1,]", 0, 4, &cur, NULL, NULL, &a, &b), MP_OK);
    ck_assert_int_eq(mp_json_next("[1,]", 0, 4, &cur, NULL, NULL, &a, &b), MP_EINVAL);
    cur = 0;
    ck_assert_int_eq(mp_json_next("[1 2]", 0, 5, &cur, NULL, NULL, &a, &b), MP_OK);
    ck_assert_int_eq(mp_json_next("[1 2]", 0, 5, &cur, NULL, NULL, &a, &b), MP_EINVAL);
    cur = 0;
    ck_assert_int_eq(mp_json_next("[[1]", 0, 4, &cur, NULL, NULL, &a, &b), MP_EINVAL);
}
END_TEST

START_TEST(test_json_skip_ws)
{
    ck_assert_uint_eq(mp_json_skip_ws(" \t\r\nx", 5, 0), 4);
    ck_assert_uint_eq(mp_json_skip_ws("   ", 3, 1), 3);
    ck_assert_uint_eq(mp_json_skip_ws("a ", 2, 0), 0);
    ck_assert_uint_eq(mp_json_skip_ws("\f", 1, 0), 0);
    ck_assert_uint_eq(mp_json_skip_ws("ab", 2, 5), 2);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("json_scan");
    TCase *f = tcase_create("find_member");
    tcase_add_test(f, test_json_members_in_several_keys_one_walk);
    tcase_add_test(f, test_json_members_in_refuses_what_find_member_refuses);
    tcase_add_test(f, test_json_find_member_top_level_not_nested);
    tcase_add_test(f, test_json_find_member_ignores_nested_keys_only);
    tcase_add_test(f, test_json_find_member_escaped_name);
    tcase_add_test(f, test_json_find_member_name_prefix_does_not_match);
    tcase_add_test(f, test_json_find_member_duplicate_last_wins);
    tcase_add_test(f, test_json_find_member_notfound_on_valid_object);
    tcase_add_test(f, test_json_find_member_outputs_untouched_on_failure);
    tcase_add_test(f, test_json_find_member_rejects_top_level_array);
    tcase_add_test(f, test_json_find_member_rejects_top_level_string);
    tcase_add_test(f, test_json_find_member_rejects_trailing_garbage);
    tcase_add_test(f, test_json_find_member_rejects_nul_after_object);
    tcase_add_test(f, test_json_find_member_rejects_truncated_object);
    tcase_add_test(f, test_json_find_member_rejects_bad_member_syntax);
    tcase_add_test(f, test_json_find_member_invalid_later_member_is_einval);
    tcase_add_test(f, test_json_whitespace_everywhere);
    tcase_add_test(f, test_json_unicode_names_and_values);
    tcase_add_test(f, test_json_find_member_name_surrogate_pair_bounds);
    suite_add_tcase(s, f);

    TCase *v = tcase_create("scan_value");
    tcase_add_test(v, test_json_scan_value_span_skips_leading_ws);
    tcase_add_test(v, test_json_scan_value_stops_after_value);
    tcase_add_test(v, test_json_scan_value_accepts_every_kind);
    tcase_add_test(v, test_json_scan_value_empty_and_out_of_range);
    tcase_add_test(v, test_json_rejects_trailing_comma_array);
    tcase_add_test(v, test_json_rejects_trailing_comma_object);
    tcase_add_test(v, test_json_rejects_leading_zero);
    tcase_add_test(v, test_json_rejects_plus_sign);
    tcase_add_test(v, test_json_rejects_leading_dot);
    tcase_add_test(v, test_json_rejects_trailing_dot_and_bare_exponent);
    tcase_add_test(v, test_json_rejects_nan_infinity);
    tcase_add_test(v, test_json_rejects_bad_literals);
    tcase_add_test(v, test_json_rejects_single_quotes);
    tcase_add_test(v, test_json_rejects_unescaped_control_char);
    tcase_add_test(v, test_json_rejects_invalid_escape);
    tcase_add_test(v, test_json_rejects_bad_unicode_escape);
    tcase_add_test(v, test_json_accepts_escaped_lone_surrogate);
    tcase_add_test(v, test_json_rejects_overlong_utf8);
    tcase_add_test(v, test_json_rejects_utf8_encoded_surrogate);
    tcase_add_test(v, test_json_rejects_utf8_above_max);
    tcase_add_test(v, test_json_rejects_truncated_utf8);
    tcase_add_test(v, test_json_rejects_invalid_utf8_outside_strings);
    tcase_add_test(v, test_json_rejects_unterminated_containers);
    tcase_add_test(v, test_json_special_byte_found_at_every_alignment);
    tcase_add_test(v, test_json_plain_run_byte_class_bounds_in_words);
    tcase_add_test(v, test_json_plain_run_byte_class_bounds_under_16);
    tcase_add_test(v, test_json_plain_run_finds_the_first_special_from_any_start_in_any_length);
    tcase_add_test(v, test_json_string_control_bound_long);
    tcase_add_test(v, test_json_string_control_bound_short);
    tcase_add_test(v, test_json_string_control_bound_one_word);
    tcase_add_test(v, test_json_depth_limit_arrays);
    tcase_add_test(v, test_json_depth_limit_objects);
    tcase_add_test(v, test_json_depth_limit_counts_find_member_object);
    tcase_add_test(v, test_json_depth_limit_deep_input_is_rejected_quickly);
    tcase_add_test(v, test_json_one_mib_string_value);
    tcase_add_test(v, test_json_skip_ws);
    suite_add_tcase(s, v);

    TCase *d = tcase_create("string_decode");
    tcase_add_test(d, test_json_string_decode_simple_escapes);
    tcase_add_test(d, test_json_string_decode_unicode_escapes);
    tcase_add_test(d, test_json_string_decode_surrogate_pair);
    tcase_add_test(d, test_json_string_decode_raw_utf8_passes_through);
    tcase_add_test(d, test_json_string_decode_surrogate_pair_bounds);
    tcase_add_test(d, test_json_string_decode_low_surrogate_out_of_range_einval);
    tcase_add_test(d, test_json_string_decode_surrogate_range_edges);
    tcase_add_test(d, test_json_string_decode_lone_surrogate_einval);
    tcase_add_test(d, test_json_string_decode_escaped_nul_einval);
    tcase_add_test(d, test_json_text_decode_escaped_nul_is_replacement);
    tcase_add_test(d, test_json_string_decode_etoobig);
    tcase_add_test(d, test_json_string_decode_einval_beats_etoobig);
    tcase_add_test(d, test_json_string_decode_rejects_non_string_span);
    suite_add_tcase(s, d);

    TCase *n = tcase_create("next");
    tcase_add_test(n, test_json_next_array_elements_exact_spans);
    tcase_add_test(n, test_json_next_object_members_exact_spans);
    tcase_add_test(n, test_json_next_empty_array_and_object);
    tcase_add_test(n, test_json_next_mismatched_kind_einval);
    tcase_add_test(n, test_json_next_splice_point_after_last_element);
    tcase_add_test(n, test_json_next_unvalidated_span_einval);
    suite_add_tcase(s, n);
    return s;
}
