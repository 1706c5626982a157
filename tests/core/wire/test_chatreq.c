/* Tests for core/wire/chatreq.c: the messages array, roles, texts, hashes and the
 * splice point, on exact byte offsets of hand-written bodies. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/chatreq.h"
#include "json/json_scan.h"
#include "status.h"

Suite *mp_test_suite(void);

#define CAP 16

static struct mp_chatreq_msg msgs[CAP];

static struct mp_chatreq scan_ok(const char *body)
{
    struct mp_chatreq r;
    memset(&r, 0xAB, sizeof(r));
    ck_assert_int_eq(mp_chatreq_scan(body, strlen(body), msgs, CAP, &r), MP_OK);
    ck_assert_ptr_eq(r.msgs, msgs);
    return r;
}

static int scan_rc(const char *body)
{
    struct mp_chatreq r;
    return mp_chatreq_scan(body, strlen(body), msgs, CAP, &r);
}

/* Offset of the first byte after the first occurrence of needle. */
static size_t after(const char *body, const char *needle)
{
    const char *p = strstr(body, needle);
    ck_assert_ptr_nonnull(p);
    return (size_t)(p - body) + strlen(needle);
}

static size_t at(const char *body, const char *needle)
{
    const char *p = strstr(body, needle);
    ck_assert_ptr_nonnull(p);
    return (size_t)(p - body);
}

/* The message's text as a NUL-terminated string in buf. */
static const char *text_of(const char *body, size_t i, char *buf, size_t cap)
{
    size_t n = 12345;
    ck_assert_int_eq(mp_chatreq_message_text(body, &msgs[i], buf, cap - 1, &n), MP_OK);
    ck_assert_uint_eq(n, msgs[i].text_len);
    buf[n] = '\0';
    return buf;
}

/* The hash as the header defines it, written independently of the
 * streaming implementation. */
static uint64_t rotl(uint64_t x, unsigned r)
{
    return (x << r) | (x >> (64 - r));
}

static uint64_t ref_word(const char *text, size_t len, size_t at)
{
    uint64_t w = 0;
    for (size_t k = 0; k < 8 && at + k < len; k++)
        w |= (uint64_t)(unsigned char)text[at + k] << (8 * k);
    return w;
}

static uint64_t ref_hash(int role, const char *text, size_t len)
{
    const uint64_t k1 = 0x9e3779b97f4a7c15ull, k2 = 0xff51afd7ed558ccdull,
                   k3 = 0xc4ceb9fe1a85ec53ull;
    uint64_t a = 0x6d656d70726f7879ull ^ ((uint64_t)(role + 1) * k1), b = ~a, h;
    for (size_t i = 0; i < len; i += 16) {
        a = rotl((a ^ ref_word(text, len, i)) * k2, 29);
        b = rotl((b ^ ref_word(text, len, i + 8)) * k3, 31);
    }
    h = a ^ rotl(b, 32) ^ len;
    h ^= h >> 33;
    h *= k2;
    h ^= h >> 33;
    h *= k3;
    h ^= h >> 33;
    return h;
}

START_TEST(test_chatreq_insert_after_leading_system_and_developer)
{
    const char *b = "{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":\"S\"},"
                    "{\"role\":\"developer\",\"content\":\"D\"},{\"role\":\"user\",\"content\":"
                    "\"hi\"},{\"role\":\"system\",\"content\":\"late\"}]}";
    struct mp_chatreq r = scan_ok(b);
    ck_assert_uint_eq(r.nmsgs, 4);
    ck_assert_uint_eq(r.insert_at, after(b, "\"D\"}"));
    ck_assert(r.insert_needs_comma_before);
    ck_assert(!r.insert_needs_comma_after); /* the body's ',' follows insert_at */
    ck_assert_int_eq(b[r.insert_at], ',');
    ck_assert_uint_eq(r.messages_start, at(b, "[{"));
    ck_assert_uint_eq(r.messages_end, strlen(b) - 1);
}
END_TEST

START_TEST(test_chatreq_insert_first_without_leading_system)
{
    const char *b = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"system\","
                    "\"content\":\"S\"}],\"model\":\"m\"}";
    struct mp_chatreq r = scan_ok(b);
    ck_assert_uint_eq(r.insert_at, after(b, "\"messages\":["));
    ck_assert(!r.insert_needs_comma_before);
    ck_assert(r.insert_needs_comma_after);
}
END_TEST

START_TEST(test_chatreq_empty_messages_array)
{
    const char *b = "{\"messages\":[ \n ],\"model\":\"m\"}";
    struct mp_chatreq r = scan_ok(b);
    ck_assert_uint_eq(r.nmsgs, 0);
    ck_assert_uint_eq(r.insert_at, after(b, "["));
    ck_assert(!r.insert_needs_comma_before);
    ck_assert(!r.insert_needs_comma_after);
    ck_assert_uint_eq(r.first_new_user, 0);
    ck_assert_uint_eq(r.messages_end, after(b, "]"));
}
END_TEST

START_TEST(test_chatreq_only_system_messages)
{
    const char *b = "{\"messages\":[{\"role\":\"system\",\"content\":\"a\"},{\"role\":\"system\","
                    "\"content\":\"b\"} ]}";
    struct mp_chatreq r = scan_ok(b);
    ck_assert_uint_eq(r.nmsgs, 2);
    ck_assert_uint_eq(r.insert_at, after(b, "\"b\"}"));
    ck_assert(r.insert_needs_comma_before);
    ck_assert(!r.insert_needs_comma_after);
    ck_assert_uint_eq(r.first_new_user, 2);
}
END_TEST

START_TEST(test_chatreq_pretty_printed_body_spans)
{
    const char *b =
        "{\n  \"model\" : \"m\",\n  \"messages\" : [\n    {\n      \"role\" : "
        "\"system\",\n      \"content\" : \"S\"\n    } ,\n    {\r\n\t\"content\":\t\"hi\""
        ",\"role\"  :  \"user\"}\n  ]\n}\n";
    struct mp_chatreq r = scan_ok(b);
    ck_assert_uint_eq(r.nmsgs, 2);
    ck_assert_uint_eq(msgs[0].start, at(b, "{\n      \"role\""));
    ck_assert_uint_eq(msgs[0].end, after(b, "\"S\"\n    }"));
    ck_assert_uint_eq(msgs[1].start, at(b, "{\r\n"));
    ck_assert_uint_eq(msgs[1].end, after(b, "\"user\"}"));
    ck_assert_int_eq(msgs[1].role, MP_CR_USER);
    ck_assert_uint_eq(r.insert_at, msgs[0].end);
    ck_assert_uint_eq(msgs[1].content_start, at(b, "\"hi\""));
    ck_assert_uint_eq(msgs[1].content_end, after(b, "\"hi\""));
}
END_TEST

START_TEST(test_chatreq_escaped_role_and_member_names)
{
    const char *b = "{\"m\\u0065ssages\":[{\"r\\u006fle\":\"\\u0073ystem\",\"content\":\"S\"},"
                    "{\"role\":\"\\u0075ser\",\"c\\u006fntent\":\"\\u0022hi\\u0022\"}]}";
    char buf[64];
    struct mp_chatreq r = scan_ok(b);
    ck_assert_uint_eq(r.nmsgs, 2);
    ck_assert_int_eq(msgs[0].role, MP_CR_SYSTEM);
    ck_assert_int_eq(msgs[1].role, MP_CR_USER);
    ck_assert_str_eq(text_of(b, 1, buf, sizeof(buf)), "\"hi\"");
    ck_assert_uint_eq(r.insert_at, msgs[0].end);
}
END_TEST

/* Each message's span is the JSON value that opens at its start (the
 * scanner's own walk): objects nested in it, strings holding brackets and
 * escaped quotes, blanks anywhere, a member after the content. */
START_TEST(test_chatreq_message_spans_are_their_objects)
{
    static const char *const bodies[] = {
        "{\"messages\":[{\"role\":\"user\",\"content\":\"a }] \\\" {[\"}]}",
        "{\"messages\" : [ { \"content\" : [ {\"type\":\"text\",\"text\":\"x\"} , "
        "{\"type\":\"image_url\",\"image_url\":{\"url\":\"u}\"}} ] , \"role\" : \"user\" } ,\n"
        "\t{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"c\",\"f\":{\"a\":[1,{"
        "}]}}]}"
        " ] }",
        "{\"messages\":[{\"extra\":{\"role\":\"system\"},\"role\":\"system\",\"content\":\"S\"},"
        "{\"role\":\"user\",\"content\":\"q\",\"name\":\"n\"}]}",
        "{\"messages\":[{}]}",
    };
    for (size_t b = 0; b < sizeof(bodies) / sizeof(bodies[0]); b++) {
        struct mp_chatreq r;
        size_t len = strlen(bodies[b]), vs, ve;
        if (mp_chatreq_scan(bodies[b], len, msgs, CAP, &r) != MP_OK) {
            ck_assert_uint_eq(b, 3); /* {} has no role */
            continue;
        }
        ck_assert_uint_gt(r.nmsgs, 0);
        for (size_t i = 0; i < r.nmsgs; i++) {
            ck_assert_int_eq(mp_json_scan_value(bodies[b], len, msgs[i].start, &vs, &ve), MP_OK);
            ck_assert_uint_eq(vs, msgs[i].start);
            ck_assert_uint_eq(ve, msgs[i].end);
        }
    }
}
END_TEST

START_TEST(test_chatreq_role_kinds)
{
    const char *b = "{\"messages\":[{\"role\":\"developer\"},{\"role\":\"assistant\"},{\"role\":"
                    "\"tool\"},{\"role\":\"function\"},{\"role\":\"User\"},{\"role\":\"critic\"}]}";
    scan_ok(b);
    ck_assert_int_eq(msgs[0].role, MP_CR_DEVELOPER);
    ck_assert_int_eq(msgs[1].role, MP_CR_ASSISTANT);
    ck_assert_int_eq(msgs[2].role, MP_CR_TOOL);
    ck_assert_int_eq(msgs[3].role, MP_CR_TOOL);
    ck_assert_int_eq(msgs[4].role, MP_CR_OTHER);
    ck_assert_int_eq(msgs[5].role, MP_CR_OTHER);
}
END_TEST

START_TEST(test_chatreq_first_new_user_after_last_assistant)
{
    struct mp_chatreq r =
        scan_ok("{\"messages\":[{\"role\":\"system\"},{\"role\":\"user\"},{\"role\":"
                "\"assistant\"},{\"role\":\"user\"},{\"role\":\"user\"}]}");
    ck_assert_uint_eq(r.first_new_user, 3);
}
END_TEST

START_TEST(test_chatreq_first_new_user_edge_cases)
{
    struct mp_chatreq r;
    r = scan_ok("{\"messages\":[{\"role\":\"system\"},{\"role\":\"user\"}]}");
    ck_assert_uint_eq(r.first_new_user, 1);
    r = scan_ok("{\"messages\":[{\"role\":\"user\"},{\"role\":\"assistant\"}]}");
    ck_assert_uint_eq(r.first_new_user, 2);
    r = scan_ok("{\"messages\":[{\"role\":\"user\"},{\"role\":\"assistant\"},{\"role\":\"tool\"},"
                "{\"role\":\"system\"},{\"role\":\"user\"}]}");
    ck_assert_uint_eq(r.first_new_user, 4);
}
END_TEST

START_TEST(test_chatreq_question_is_newest_user_text_and_turn_before)
{
    size_t q, prev;
    struct mp_chatreq r = scan_ok(
        "{\"messages\":[{\"role\":\"system\",\"content\":\"s\"},{\"role\":\"user\",\"content\":"
        "\"a\"},{\"role\":\"assistant\",\"content\":\"b\"},{\"role\":\"tool\",\"content\":\"t\"},"
        "{\"role\":\"user\",\"content\":\"c\"},{\"role\":\"user\",\"content\":null}]}");
    mp_chatreq_question(&r, &q, &prev);
    ck_assert_uint_eq(q, 4);    /* the last user message has no text */
    ck_assert_uint_eq(prev, 2); /* the tool result is no turn */
}
END_TEST

START_TEST(test_chatreq_question_edge_cases)
{
    size_t q, prev;
    struct mp_chatreq r;
    r = scan_ok("{\"messages\":[{\"role\":\"user\",\"content\":\"only\"}]}");
    mp_chatreq_question(&r, &q, &prev);
    ck_assert_uint_eq(q, 0);
    ck_assert_uint_eq(prev, 1);
    r = scan_ok("{\"messages\":[{\"role\":\"system\",\"content\":\"s\"},{\"role\":"
                "\"assistant\",\"content\":\"a\"}]}");
    mp_chatreq_question(&r, &q, &prev);
    ck_assert_uint_eq(q, 2);
    ck_assert_uint_eq(prev, 2);
    r = scan_ok("{\"messages\":[{\"role\":\"user\",\"content\":\"u\"},{\"role\":\"user\","
                "\"content\":\"v\"},{\"role\":\"assistant\",\"content\":\"w\"}]}");
    mp_chatreq_question(&r, &q, &prev);
    ck_assert_uint_eq(q, 1);
    ck_assert_uint_eq(prev, 0);
    r = scan_ok("{\"messages\":[]}");
    mp_chatreq_question(&r, &q, &prev);
    ck_assert_uint_eq(q, 0);
    ck_assert_uint_eq(prev, 0);
}
END_TEST

START_TEST(test_chatreq_message_text_decodes_escapes_and_unicode)
{
    const char *b = "{\"messages\":[{\"role\":\"user\",\"content\":\"a\\\"b\\\\c\\n\\u00e9\\ud83d"
                    "\\ude00 \xc3\xa9\\/\"}]}";
    char buf[64];
    scan_ok(b);
    ck_assert(msgs[0].has_text);
    ck_assert_str_eq(text_of(b, 0, buf, sizeof(buf)),
                     "a\"b\\c\n\xc3\xa9\xf0\x9f\x98\x80 \xc3\xa9/");
}
END_TEST

START_TEST(test_chatreq_lone_surrogate_becomes_replacement)
{
    const char *b = "{\"messages\":[{\"role\":\"user\",\"content\":\"x\\ud800y\\udc00\"}]}";
    char buf[64];
    scan_ok(b);
    ck_assert_str_eq(text_of(b, 0, buf, sizeof(buf)), "x\xef\xbf\xbdy\xef\xbf\xbd");
}
END_TEST

START_TEST(test_chatreq_surrogate_pair_bounds)
{
    /* Both ends of the high and low ranges pair up; a high one before
     * E000 (just past the low range) is lone. */
    const char *b = "{\"messages\":[{\"role\":\"user\",\"content\":"
                    "\"\\uD800\\uDC00|\\uDBFF\\uDFFF|\\uD800\\uE000\"}]}";
    char buf[64];
    scan_ok(b);
    ck_assert_str_eq(text_of(b, 0, buf, sizeof(buf)),
                     "\xf0\x90\x80\x80|\xf4\x8f\xbf\xbf|\xef\xbf\xbd\xee\x80\x80");
}
END_TEST

START_TEST(test_chatreq_lone_surrogate_range_edges)
{
    /* D7FF and E000 are characters; DBFF and DFFF alone are U+FFFD. */
    const char *b = "{\"messages\":[{\"role\":\"user\",\"content\":"
                    "\"\\uD7FFx\\uDBFFx\\uDFFFx\\uE000\"}]}";
    char buf[64];
    scan_ok(b);
    ck_assert_str_eq(text_of(b, 0, buf, sizeof(buf)),
                     "\xed\x9f\xbfx\xef\xbf\xbdx\xef\xbf\xbdx\xee\x80\x80");
}
END_TEST

START_TEST(test_chatreq_string_ending_in_backslashes_and_quotes)
{
    /* content "c:\dir\" then a quote-laden string: the walker must pair
     * backslashes to find where each string ends. */
    const char *b = "{\"messages\":[{\"content\":\"c:\\\\dir\\\\\",\"name\":\"\\\\\\\"},{\\\"\","
                    "\"role\":\"user\"},{\"role\":\"assistant\",\"content\":\"ok\"}]}";
    char buf[64];
    struct mp_chatreq r = scan_ok(b);
    ck_assert_uint_eq(r.nmsgs, 2);
    ck_assert_int_eq(msgs[0].role, MP_CR_USER);
    ck_assert_str_eq(text_of(b, 0, buf, sizeof(buf)), "c:\\dir\\");
    ck_assert_str_eq(text_of(b, 1, buf, sizeof(buf)), "ok");
}
END_TEST

START_TEST(test_chatreq_multimodal_text_parts_joined)
{
    const char *b =
        "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":"
        "\"look\"},{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:x\",\"text\":"
        "\"no\"}},{\"text\":\"here\",\"type\":\"t\\u0065xt\"},{\"type\":\"input_audio\","
        "\"input_audio\":{\"data\":\"AA\"}},\"stray\",{\"type\":\"text\",\"text\":7}]}]}";
    char buf[64];
    scan_ok(b);
    ck_assert(msgs[0].has_text);
    ck_assert_str_eq(text_of(b, 0, buf, sizeof(buf)), "look\nhere");
    ck_assert_uint_eq(msgs[0].text_hash, mp_chatreq_hash_text(MP_CR_USER, "look\nhere", 9));
}
END_TEST

START_TEST(test_chatreq_no_text_notfound)
{
    const char *b = "{\"messages\":[{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{"
                    "\"id\":\"c\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":"
                    "\"{\\\"content\\\":\\\"x\\\"}\"}}]},{\"role\":\"user\",\"content\":[{\"type\":"
                    "\"image_url\",\"image_url\":{\"url\":\"u\"}}]},{\"role\":\"user\"},{\"role\":"
                    "\"user\",\"content\":\"\"}]}";
    char buf[8];
    size_t n = 99;
    scan_ok(b);
    for (size_t i = 0; i < 3; i++) {
        ck_assert(!msgs[i].has_text);
        ck_assert_uint_eq(msgs[i].text_len, 0);
        ck_assert_int_eq(mp_chatreq_message_text(b, &msgs[i], buf, sizeof(buf), &n), MP_NOTFOUND);
        ck_assert_uint_eq(n, 99);
    }
    ck_assert(msgs[3].has_text);
    ck_assert_int_eq(mp_chatreq_message_text(b, &msgs[3], buf, sizeof(buf), &n), MP_OK);
    ck_assert_uint_eq(n, 0);
}
END_TEST

/* A string content without an escape is its text in place; one with an
 * escape, parts, null or no content are not: their text (if any) is
 * mp_chatreq_message_text's alone. In place, it is that text. */
START_TEST(test_chatreq_text_in_place_only_as_is)
{
    const char *b = "{\"messages\":[{\"role\":\"system\",\"content\":\"plain \\u00e9\"},"
                    "{\"role\":\"user\",\"content\":\"lorem ipsum\"},"
                    "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\"}]},"
                    "{\"role\":\"assistant\",\"content\":null},"
                    "{\"role\":\"user\",\"content\":\"\"}]}";
    const bool in_place[] = {false, true, false, false, true};
    char buf[64];
    scan_ok(b);
    for (size_t i = 0; i < 5; i++) {
        const char *text = NULL;
        size_t n = 99, len = 0;
        ck_assert_msg(mp_chatreq_text_in_place(b, &msgs[i], &text, &n) == in_place[i], "%zu", i);
        if (!in_place[i]) {
            ck_assert_ptr_null(text);
            continue;
        }
        ck_assert_int_eq(mp_chatreq_message_text(b, &msgs[i], buf, sizeof(buf), &len), MP_OK);
        ck_assert_uint_eq(n, len);
        ck_assert_uint_eq(n, msgs[i].text_len);
        ck_assert(memcmp(text, buf, n) == 0);
        ck_assert(text > b && text < b + strlen(b));
    }
}
END_TEST

START_TEST(test_chatreq_message_text_etoobig)
{
    const char *b = "{\"messages\":[{\"role\":\"user\",\"content\":\"\\u00e9t\\u00e9\"}]}";
    char buf[8];
    size_t n = 99;
    scan_ok(b);
    ck_assert_uint_eq(msgs[0].text_len, 5);
    memset(buf, 'Z', sizeof(buf));
    ck_assert_int_eq(mp_chatreq_message_text(b, &msgs[0], buf, 4, &n), MP_ETOOBIG);
    ck_assert_uint_eq(n, 99);
    ck_assert_int_eq(buf[0], 'Z');
    ck_assert_int_eq(mp_chatreq_message_text(b, &msgs[0], buf, 5, &n), MP_OK);
    ck_assert_uint_eq(n, 5);
    ck_assert_int_eq(memcmp(buf, "\xc3\xa9t\xc3\xa9", 5), 0);
}
END_TEST

START_TEST(test_chatreq_text_hash_is_role_and_decoded_text)
{
    const char *b = "{\"messages\":[{\"role\":\"user\",\"content\":\"\\u0061bcdefghij\\u006b\"},"
                    "{\"role\":\"assistant\",\"content\":\"abcdefghijk\"},{\"role\":\"user\","
                    "\"content\":[{\"type\":\"text\",\"text\":\"abcdefghijk\"}]}]}";
    scan_ok(b);
    ck_assert_uint_eq(msgs[0].text_hash, mp_chatreq_hash_text(MP_CR_USER, "abcdefghijk", 11));
    ck_assert_uint_eq(msgs[1].text_hash, mp_chatreq_hash_text(MP_CR_ASSISTANT, "abcdefghijk", 11));
    ck_assert_uint_eq(msgs[2].text_hash, msgs[0].text_hash);
    ck_assert_uint_ne(msgs[0].text_hash, msgs[1].text_hash);
}
END_TEST

START_TEST(test_chatreq_hash_text_matches_definition)
{
    const char *t = "The quick brown fox jumps over the lazy dog \xf0\x9f\x98\x80";
    for (size_t n = 0; n <= strlen(t); n++) {
        ck_assert_uint_eq(mp_chatreq_hash_text(MP_CR_USER, t, n), ref_hash(MP_CR_USER, t, n));
        ck_assert_uint_eq(mp_chatreq_hash_text(MP_CR_TOOL, t, n), ref_hash(MP_CR_TOOL, t, n));
    }
    ck_assert_uint_ne(mp_chatreq_hash_text(MP_CR_USER, "a", 1),
                      mp_chatreq_hash_text(MP_CR_USER, "a\0", 2));
}
END_TEST

START_TEST(test_chatreq_message_text_equals)
{
    const char *b = "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":"
                    "\"a\\tb\"},{\"type\":\"text\",\"text\":\"c\"}]},{\"role\":\"user\"}]}";
    scan_ok(b);
    ck_assert(mp_chatreq_message_text_equals(b, &msgs[0], "a\tb\nc", 5));
    ck_assert(!mp_chatreq_message_text_equals(b, &msgs[0], "a\tb\nd", 5));
    ck_assert(!mp_chatreq_message_text_equals(b, &msgs[0], "a\tb\n", 4));
    ck_assert(!mp_chatreq_message_text_equals(b, &msgs[1], "", 0));
}
END_TEST

START_TEST(test_chatreq_only_top_level_messages_count)
{
    const char *b =
        "{\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":"
        "{\"messages\":[{\"role\":\"system\"}]}}}],\"x\":{\"messages\":7},\"messages\":"
        "[{\"role\":\"user\",\"content\":\"hi\",\"extra\":{\"role\":\"system\",\"a\":[1,"
        "{\"b\":null}],\"n\":-1.5e3,\"t\":true}}],\"response_format\":{\"type\":\"json\"}}";
    char buf[16];
    struct mp_chatreq r = scan_ok(b);
    ck_assert_uint_eq(r.nmsgs, 1);
    ck_assert_int_eq(msgs[0].role, MP_CR_USER);
    ck_assert_str_eq(text_of(b, 0, buf, sizeof(buf)), "hi");
    ck_assert_uint_eq(r.messages_start, at(b, "[{\"role\":\"user\""));
}
END_TEST

START_TEST(test_chatreq_last_duplicate_member_wins)
{
    const char *b = "{\"messages\":[{\"role\":\"system\",\"content\":\"a\",\"role\":\"user\","
                    "\"content\":\"b\"}]}";
    char buf[8];
    struct mp_chatreq r = scan_ok(b);
    ck_assert_int_eq(msgs[0].role, MP_CR_USER);
    ck_assert_str_eq(text_of(b, 0, buf, sizeof(buf)), "b");
    ck_assert_uint_eq(r.insert_at, after(b, "["));
}
END_TEST

START_TEST(test_chatreq_invalid_json_einval)
{
    ck_assert_int_eq(scan_rc(""), MP_EINVAL);
    ck_assert_int_eq(scan_rc("{\"messages\":[{\"role\":\"user\"}]"), MP_EINVAL);
    ck_assert_int_eq(scan_rc("{\"messages\":[{\"role\":\"user\"}]} x"), MP_EINVAL);
    ck_assert_int_eq(scan_rc("{\"messages\":[{\"role\":\"user\",}]}"), MP_EINVAL);
    ck_assert_int_eq(scan_rc("{\"messages\":[{\"role\":\"us\x01r\"}]}"), MP_EINVAL);
    ck_assert_int_eq(scan_rc("[{\"messages\":[]}]"), MP_EINVAL);
}
END_TEST

START_TEST(test_chatreq_messages_not_array_einval)
{
    ck_assert_int_eq(scan_rc("{\"messages\":{\"role\":\"user\"}}"), MP_EINVAL);
    ck_assert_int_eq(scan_rc("{\"messages\":\"hi\"}"), MP_EINVAL);
    ck_assert_int_eq(scan_rc("{\"messages\":null}"), MP_EINVAL);
    ck_assert_int_eq(scan_rc("{\"model\":\"m\"}"), MP_EINVAL);
    ck_assert_int_eq(scan_rc("{\"messages\":[],\"messages\":1}"), MP_EINVAL);
}
END_TEST

START_TEST(test_chatreq_non_object_elements_einval)
{
    ck_assert_int_eq(scan_rc("{\"messages\":[{\"role\":\"user\"},\"hi\"]}"), MP_EINVAL);
    ck_assert_int_eq(scan_rc("{\"messages\":[[]]}"), MP_EINVAL);
    ck_assert_int_eq(scan_rc("{\"messages\":[null]}"), MP_EINVAL);
    ck_assert_int_eq(scan_rc("{\"messages\":[{\"content\":\"x\"}]}"), MP_EINVAL);
    ck_assert_int_eq(scan_rc("{\"messages\":[{\"role\":1}]}"), MP_EINVAL);
    ck_assert_int_eq(scan_rc("{\"messages\":[{\"role\":null}]}"), MP_EINVAL);
}
END_TEST

START_TEST(test_chatreq_too_many_messages_etoobig)
{
    const char *b = "{\"messages\":[{\"role\":\"user\"},{\"role\":\"user\"},{\"role\":\"user\"}]}";
    struct mp_chatreq r, keep;
    memset(&r, 0x5A, sizeof(r));
    keep = r;
    ck_assert_int_eq(mp_chatreq_scan(b, strlen(b), msgs, 2, &r), MP_ETOOBIG);
    ck_assert_int_eq(memcmp(&r, &keep, sizeof(r)), 0);
    ck_assert_int_eq(mp_chatreq_scan(b, strlen(b), msgs, 3, &r), MP_OK);
    ck_assert_uint_eq(r.nmsgs, 3);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("chatreq");
    TCase *p = tcase_create("position");
    tcase_add_test(p, test_chatreq_insert_after_leading_system_and_developer);
    tcase_add_test(p, test_chatreq_insert_first_without_leading_system);
    tcase_add_test(p, test_chatreq_empty_messages_array);
    tcase_add_test(p, test_chatreq_only_system_messages);
    tcase_add_test(p, test_chatreq_pretty_printed_body_spans);
    tcase_add_test(p, test_chatreq_escaped_role_and_member_names);
    tcase_add_test(p, test_chatreq_message_spans_are_their_objects);
    tcase_add_test(p, test_chatreq_role_kinds);
    tcase_add_test(p, test_chatreq_first_new_user_after_last_assistant);
    tcase_add_test(p, test_chatreq_first_new_user_edge_cases);
    tcase_add_test(p, test_chatreq_only_top_level_messages_count);
    tcase_add_test(p, test_chatreq_last_duplicate_member_wins);
    tcase_add_test(p, test_chatreq_question_is_newest_user_text_and_turn_before);
    tcase_add_test(p, test_chatreq_question_edge_cases);
    suite_add_tcase(s, p);

    TCase *t = tcase_create("text");
    tcase_add_test(t, test_chatreq_message_text_decodes_escapes_and_unicode);
    tcase_add_test(t, test_chatreq_lone_surrogate_becomes_replacement);
    tcase_add_test(t, test_chatreq_surrogate_pair_bounds);
    tcase_add_test(t, test_chatreq_lone_surrogate_range_edges);
    tcase_add_test(t, test_chatreq_string_ending_in_backslashes_and_quotes);
    tcase_add_test(t, test_chatreq_multimodal_text_parts_joined);
    tcase_add_test(t, test_chatreq_no_text_notfound);
    tcase_add_test(t, test_chatreq_message_text_etoobig);
    tcase_add_test(t, test_chatreq_text_hash_is_role_and_decoded_text);
    tcase_add_test(t, test_chatreq_hash_text_matches_definition);
    tcase_add_test(t, test_chatreq_text_in_place_only_as_is);
    tcase_add_test(t, test_chatreq_message_text_equals);
    suite_add_tcase(s, t);

    TCase *e = tcase_create("errors");
    tcase_add_test(e, test_chatreq_invalid_json_einval);
    tcase_add_test(e, test_chatreq_messages_not_array_einval);
    tcase_add_test(e, test_chatreq_non_object_elements_einval);
    tcase_add_test(e, test_chatreq_too_many_messages_etoobig);
    suite_add_tcase(s, e);
    return s;
}
