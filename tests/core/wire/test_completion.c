/* Tests for core/wire/completion.c: the assistant's text of choice 0 from a
 * chat completion body and from the SSE events of a stream. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "wire/completion.h"
#include "status.h"
#include "wire/wire.h"

Suite *mp_test_suite(void);

/* Runs mp_completion_reply_text on a NUL-terminated body. */
static int reply(const char *body, char **out, size_t *out_len)
{
    return mp_completion_reply_text(body, strlen(body), out, out_len);
}

static int feed(struct mp_completion *c, const char *ev)
{
    return mp_completion_feed_event(c, ev, strlen(ev));
}

static void assert_text(const struct mp_completion *c, const char *want)
{
    size_t len = 99;
    const char *got = mp_completion_text(c, &len);
    ck_assert_uint_eq(len, strlen(want));
    ck_assert_str_eq(got, want);
}

/* The shape OpenAI returns for a plain non-stream chat completion. */
static const char body_string[] =
    "{\n"
    "  \"id\": \"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG\",\n"
    "  \"object\": \"chat.completion\",\n"
    "  \"created\": 1741570283,\n"
    "  \"model\": \"gpt-4o-2024-08-06\",\n"
    "  \"choices\": [\n"
    "    {\n"
    "      \"index\": 0,\n"
    "      \"message\": {\n"
    "        \"role\": \"assistant\",\n"
    "        \"content\": \"You said \\\"ChromaDB\\\".\\nCaf\\u00e9 \\ud83d\\ude00 ok\",\n"
    "        \"refusal\": null,\n"
    "        \"annotations\": []\n"
    "      },\n"
    "      \"logprobs\": null,\n"
    "      \"finish_reason\": \"stop\"\n"
    "    }\n"
    "  ],\n"
    "  \"usage\": {\"prompt_tokens\": 1117, \"completion_tokens\": 46, \"total_tokens\": 1163},\n"
    "  \"service_tier\": \"default\",\n"
    "  \"system_fingerprint\": \"fp_fc9f1d7035\"\n"
    "}\n";

START_TEST(test_completion_body_string_content_decoded)
{
    char *out = NULL;
    size_t len = 0;

    ck_assert_int_eq(reply(body_string, &out, &len), MP_OK);
    ck_assert_str_eq(out, "You said \"ChromaDB\".\nCaf\xC3\xA9 \xF0\x9F\x98\x80 ok");
    ck_assert_uint_eq(len, strlen(out));
    free(out);
}
END_TEST

START_TEST(test_completion_body_array_content_joins_text_parts)
{
    static const char body[] =
        "{\"id\":\"x\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":"
        "{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":\"Part one.\"},"
        "{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://x/y.png\"}},"
        "{\"type\":\"text\",\"text\":\"Part \\\"two\\\".\"}]},\"finish_reason\":\"stop\"}]}";
    char *out = NULL;
    size_t len = 0;

    ck_assert_int_eq(reply(body, &out, &len), MP_OK);
    ck_assert_str_eq(out, "Part one.\nPart \"two\".");
    ck_assert_uint_eq(len, 21);
    free(out);
}
END_TEST

START_TEST(test_completion_body_tool_calls_only_is_notfound)
{
    static const char body[] =
        "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"model\":\"gpt-4o\",\"choices\":[{"
        "\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{"
        "\"id\":\"call_abc\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
        "\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"}}],\"refusal\":null},"
        "\"finish_reason\":\"tool_calls\"}]}";
    char *out = (char *)"untouched";
    size_t len = 7;

    ck_assert_int_eq(reply(body, &out, &len), MP_NOTFOUND);
    ck_assert_str_eq(out, "untouched");
    ck_assert_uint_eq(len, 7);
}
END_TEST

START_TEST(test_completion_body_choice_1_ignored)
{
    static const char body[] =
        "{\"choices\":[{\"index\":1,\"message\":{\"role\":\"assistant\",\"content\":\"second\"}},"
        "{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"first\"}}]}";
    char *out = NULL;
    size_t len = 0;

    ck_assert_int_eq(reply(body, &out, &len), MP_OK);
    ck_assert_str_eq(out, "first");
    free(out);
}
END_TEST

START_TEST(test_completion_body_without_index_takes_first_choice)
{
    static const char body[] = "{\"choices\":[{\"message\":{\"content\":\"a\"}},"
                               "{\"message\":{\"content\":\"b\"}}]}";
    char *out = NULL;
    size_t len = 0;

    ck_assert_int_eq(reply(body, &out, &len), MP_OK);
    ck_assert_str_eq(out, "a");
    free(out);
}
END_TEST

START_TEST(test_completion_body_without_index_only_first_position_counts)
{
    /* The first choice says it is choice 1; the second has no index but
     * is not first, so nothing is choice 0. */
    static const char body[] = "{\"choices\":[{\"index\":1,\"message\":{\"content\":\"b\"}},"
                               "{\"message\":{\"content\":\"x\"}}]}";
    char *out = NULL;
    size_t len = 0;

    ck_assert_int_eq(reply(body, &out, &len), MP_NOTFOUND);
    ck_assert_ptr_null(out);
}
END_TEST

START_TEST(test_completion_body_empty_content_is_notfound)
{
    char *out = NULL;
    size_t len = 0;

    ck_assert_int_eq(
        reply("{\"choices\":[{\"index\":0,\"message\":{\"content\":\"\"}}]}", &out, &len),
        MP_NOTFOUND);
    ck_assert_int_eq(
        reply("{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\"}}]}", &out, &len),
        MP_NOTFOUND);
    ck_assert_int_eq(reply("{\"choices\":[]}", &out, &len), MP_NOTFOUND);
    ck_assert_ptr_null(out);
}
END_TEST

START_TEST(test_completion_body_not_a_completion_is_einval)
{
    char *out = NULL;
    size_t len = 0;

    ck_assert_int_eq(reply("not json", &out, &len), MP_EINVAL);
    ck_assert_int_eq(
        reply("{\"choices\":[{\"index\":0,\"message\":{\"content\":\"x\"}}", &out, &len),
        MP_EINVAL);
    ck_assert_int_eq(reply("{\"error\":{\"message\":\"bad\",\"type\":\"x\"}}", &out, &len),
                     MP_EINVAL);
    ck_assert_int_eq(reply("{\"choices\":{}}", &out, &len), MP_EINVAL);
    ck_assert_int_eq(reply("{\"choices\":[{\"index\":0,\"text\":\"legacy\"}]}", &out, &len),
                     MP_EINVAL);
    ck_assert_int_eq(
        reply("{\"choices\":[{\"index\":0,\"message\":{\"content\":42}}]}", &out, &len), MP_EINVAL);
    ck_assert_ptr_null(out);
}
END_TEST

/* A voice reply (modalities ["audio"]) as OpenAI returns it: no content,
 * the words in the audio's transcript beside its base64 data. */
static const char body_audio[] =
    "{\"id\":\"chatcmpl-A1\",\"object\":\"chat.completion\",\"model\":\"gpt-4o-audio-preview\","
    "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":null,"
    "\"refusal\":null,\"audio\":{\"id\":\"audio_abc123\",\"expires_at\":1729018505,"
    "\"data\":\"UklGRiQAAABXQVZFZm10\",\"transcript\":\"Golden retrievers are "
    "\\u00e9nergique.\"}},\"finish_reason\":\"stop\"}]}";

/* body's words are want for recording (the chat wire's reader); a memory
 * model's answer, its content only, has none. */
static void assert_words_not_content(const char *body, const char *want)
{
    char *out = NULL;
    size_t len = 0;

    ck_assert(mp_wire_chat.reply_body_text == mp_completion_reply_words);
    ck_assert_int_eq(mp_completion_reply_words(body, strlen(body), &out, &len), MP_OK);
    ck_assert_str_eq(out, want);
    ck_assert_uint_eq(len, strlen(want));
    free(out);
    out = NULL;
    ck_assert_int_eq(reply(body, &out, &len), MP_NOTFOUND);
    ck_assert_ptr_null(out);
}

START_TEST(test_completion_body_audio_transcript_is_the_words)
{
    assert_words_not_content(body_audio, "Golden retrievers are \xc3\xa9nergique.");
}
END_TEST

START_TEST(test_completion_body_refusal_is_the_words)
{
    assert_words_not_content(
        "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":null,"
        "\"refusal\":\"I can\\u2019t help with that.\"},\"finish_reason\":\"stop\"}]}",
        "I can\xe2\x80\x99t help with that.");
}
END_TEST

START_TEST(test_completion_body_words_none_is_notfound)
{
    static const char filtered[] =
        "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":null,"
        "\"refusal\":null,\"audio\":{\"id\":\"a\",\"data\":\"UklG\"}},"
        "\"finish_reason\":\"content_filter\"}]}";
    static const char bad[] = "{\"choices\":[{\"index\":0,\"message\":{\"content\":42,"
                              "\"refusal\":\"no\"}}]}";
    char *out = NULL;
    size_t len = 0;

    ck_assert_int_eq(mp_completion_reply_words(filtered, strlen(filtered), &out, &len),
                     MP_NOTFOUND);
    ck_assert_int_eq(mp_completion_reply_words(bad, strlen(bad), &out, &len), MP_EINVAL);
    ck_assert_ptr_null(out);
}
END_TEST

/* A real stream as OpenAI sends it: a role-only first delta with empty
 * content, text deltas, an empty delta with the finish_reason, a usage
 * chunk, then [DONE]. */
#define CHUNK(choices)                                                                             \
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1741570283,"    \
    "\"model\":\"gpt-4o-2024-08-06\",\"system_fingerprint\":\"fp_f9f4fb6dbf\","                    \
    "\"choices\":" choices "}\n\n"

START_TEST(test_completion_stream_gathers_text_until_finish)
{
    struct mp_completion *c = mp_completion_new(1024);

    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(feed(c, CHUNK("[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":"
                                   "\"\",\"refusal\":null},\"logprobs\":null,\"finish_reason\":"
                                   "null}]")),
                     MP_OK);
    assert_text(c, "");
    ck_assert(!mp_completion_complete(c));
    ck_assert_int_eq(feed(c, CHUNK("[{\"index\":0,\"delta\":{\"content\":\"Chroma\"},"
                                   "\"logprobs\":null,\"finish_reason\":null}]")),
                     MP_OK);
    ck_assert_int_eq(
        feed(c, CHUNK("[{\"index\":0,\"delta\":{\"content\":\"DB \\u00e9\\n\\\"q\\\"\"}"
                      ",\"logprobs\":null,\"finish_reason\":null}]")),
        MP_OK);
    ck_assert(!mp_completion_complete(c));
    ck_assert_int_eq(
        feed(c, CHUNK("[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"stop\"}]")),
        MP_OK);
    ck_assert(mp_completion_complete(c));
    ck_assert_int_eq(feed(c, CHUNK("[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":3}")),
                     MP_OK);
    ck_assert_int_eq(feed(c, "data: [DONE]\n\n"), MP_OK);
    assert_text(c, "ChromaDB \xC3\xA9\n\"q\"");
    ck_assert(mp_completion_complete(c));
    ck_assert(!mp_completion_overflowed(c));
    mp_completion_free(c);
}
END_TEST

/* A stream of the events ev[0..n), each of them accepted, completes
 * with the words want. */
static void assert_stream_words(const char *const *ev, size_t n, const char *want)
{
    struct mp_completion *c = mp_completion_new(256);

    ck_assert_ptr_nonnull(c);
    for (size_t i = 0; i < n; i++)
        ck_assert_int_eq(feed(c, ev[i]), MP_OK);
    assert_text(c, want);
    ck_assert(mp_completion_complete(c));
    mp_completion_free(c);
}

START_TEST(test_completion_stream_audio_transcript_deltas_are_the_words)
{
    static const char *const ev[] = {
        CHUNK("[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":null,\"refusal\":"
              "null,\"audio\":{\"id\":\"audio_1\",\"transcript\":\"Golden \"}},"
              "\"finish_reason\":null}]"),
        CHUNK("[{\"index\":0,\"delta\":{\"audio\":{\"data\":\"UklG\"}},\"finish_reason\":null}]"),
        CHUNK("[{\"index\":0,\"delta\":{\"audio\":{\"transcript\":\"retrievers\"}},"
              "\"finish_reason\":null}]"),
        CHUNK("[{\"index\":0,\"delta\":{\"audio\":{\"expires_at\":1,\"id\":\"audio_1\"}},"
              "\"finish_reason\":\"stop\"}]"),
        "data: [DONE]\n\n"};

    assert_stream_words(ev, sizeof(ev) / sizeof(ev[0]), "Golden retrievers");
}
END_TEST

START_TEST(test_completion_stream_refusal_deltas_are_the_words)
{
    static const char *const ev[] = {
        CHUNK("[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":null,\"refusal\":"
              "\"\"},\"finish_reason\":null}]"),
        CHUNK("[{\"index\":0,\"delta\":{\"refusal\":\"I can't \"},\"finish_reason\":null}]"),
        CHUNK("[{\"index\":0,\"delta\":{\"refusal\":\"help.\"},\"finish_reason\":null}]"),
        CHUNK("[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]")};

    assert_stream_words(ev, sizeof(ev) / sizeof(ev[0]), "I can't help.");
}
END_TEST

START_TEST(test_completion_stream_role_only_delta_adds_nothing)
{
    struct mp_completion *c = mp_completion_new(64);

    ck_assert_int_eq(feed(c, CHUNK("[{\"index\":0,\"delta\":{\"role\":\"assistant\"},"
                                   "\"finish_reason\":null}]")),
                     MP_OK);
    assert_text(c, "");
    ck_assert(!mp_completion_complete(c));
    mp_completion_free(c);
}
END_TEST

START_TEST(test_completion_stream_tool_call_deltas_ignored)
{
    struct mp_completion *c = mp_completion_new(256);

    ck_assert_int_eq(feed(c, CHUNK("[{\"index\":0,\"delta\":{\"content\":\"Let me check.\"},"
                                   "\"finish_reason\":null}]")),
                     MP_OK);
    ck_assert_int_eq(feed(c, CHUNK("[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,"
                                   "\"id\":\"call_1\",\"type\":\"function\",\"function\":{"
                                   "\"name\":\"get_weather\",\"arguments\":\"\"}}]},"
                                   "\"finish_reason\":null}]")),
                     MP_OK);
    ck_assert_int_eq(feed(c, CHUNK("[{\"index\":0,\"delta\":{\"content\":null,\"tool_calls\":[{"
                                   "\"index\":0,\"function\":{\"arguments\":\"{\\\"city\\\":"
                                   "\\\"Paris\\\"}\"}}]},\"finish_reason\":null}]")),
                     MP_OK);
    ck_assert_int_eq(
        feed(c, CHUNK("[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]")), MP_OK);
    assert_text(c, "Let me check.");
    ck_assert(mp_completion_complete(c));
    mp_completion_free(c);
}
END_TEST

START_TEST(test_completion_stream_other_choice_ignored)
{
    struct mp_completion *c = mp_completion_new(256);

    feed(c, CHUNK("[{\"index\":1,\"delta\":{\"content\":\"other\"},\"finish_reason\":null}]"));
    feed(c, CHUNK("[{\"index\":0,\"delta\":{\"content\":\"mine\"},\"finish_reason\":null}]"));
    feed(c, CHUNK("[{\"index\":1,\"delta\":{},\"finish_reason\":\"stop\"}]"));
    assert_text(c, "mine");
    ck_assert(!mp_completion_complete(c));
    mp_completion_free(c);
}
END_TEST

START_TEST(test_completion_stream_done_alone_completes)
{
    struct mp_completion *c = mp_completion_new(256);

    feed(c, CHUNK("[{\"index\":0,\"delta\":{\"content\":\"hi\"},\"finish_reason\":null}]"));
    ck_assert(!mp_completion_complete(c));
    ck_assert_int_eq(feed(c, "data: [DONE]\n\n"), MP_OK);
    ck_assert(mp_completion_complete(c));
    assert_text(c, "hi");
    mp_completion_free(c);
}
END_TEST

START_TEST(test_completion_stream_crlf_events)
{
    struct mp_completion *c = mp_completion_new(256);

    ck_assert_int_eq(feed(c,
                          "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\\r\\nb\"},"
                          "\"finish_reason\":null}]}\r\n\r\n"),
                     MP_OK);
    ck_assert_int_eq(feed(c, ": keep-alive\r\n\r\n"), MP_OK);
    ck_assert_int_eq(feed(c, "data: {\"choices\":[{\"index\":0,\"delta\":{},"
                             "\"finish_reason\":\"stop\"}]}\r\n\r\n"),
                     MP_OK);
    ck_assert_int_eq(feed(c, "data: [DONE]\r\n\r\n"), MP_OK);
    assert_text(c, "a\r\nb");
    ck_assert(mp_completion_complete(c));
    mp_completion_free(c);
}
END_TEST

START_TEST(test_completion_cutting_keeps_text_and_reads_on)
{
    struct mp_completion *c = mp_completion_new_cutting(10, mp_completion_read_chat);

    ck_assert_int_eq(feed(c, CHUNK("[{\"index\":0,\"delta\":{\"content\":\"12345678\"}}]")), MP_OK);
    ck_assert(!mp_completion_cut(c));
    ck_assert_int_eq(feed(c, CHUNK("[{\"index\":0,\"delta\":{\"content\":\"abc\"}}]")), MP_OK);
    ck_assert(mp_completion_cut(c));
    /* cut for good: a later delta that would fit adds nothing */
    ck_assert_int_eq(feed(c, CHUNK("[{\"index\":0,\"delta\":{\"content\":\"z\"}}]")), MP_OK);
    ck_assert_int_eq(feed(c, CHUNK("[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]")),
                     MP_OK);
    ck_assert_int_eq(feed(c, "data: [DONE]\n\n"), MP_OK);
    assert_text(c, "12345678");
    ck_assert(!mp_completion_overflowed(c));
    ck_assert(mp_completion_complete(c));
    mp_completion_free(c);
}
END_TEST

START_TEST(test_completion_nul_in_text_is_replacement)
{
    struct mp_completion *c = mp_completion_new(64);
    char *text = NULL;
    size_t n = 0;
    const char *body = "{\"choices\":[{\"index\":0,\"message\":{\"content\":\"a\\u0000b\"}}]}";

    ck_assert_int_eq(feed(c, CHUNK("[{\"index\":0,\"delta\":{\"content\":\"x\\u0000y\"}}]")),
                     MP_OK);
    assert_text(c, "x\xef\xbf\xbdy");
    mp_completion_free(c);
    ck_assert_int_eq(mp_completion_reply_text(body, strlen(body), &text, &n), MP_OK);
    ck_assert_str_eq(text, "a\xef\xbf\xbd"
                           "b");
    free(text);
}
END_TEST

START_TEST(test_completion_stream_cap_stops_accumulating)
{
    struct mp_completion *c = mp_completion_new(10);

    ck_assert_int_eq(feed(c, CHUNK("[{\"index\":0,\"delta\":{\"content\":\"12345\"}}]")), MP_OK);
    ck_assert_int_eq(feed(c, CHUNK("[{\"index\":0,\"delta\":{\"content\":\"67890\"}}]")), MP_OK);
    assert_text(c, "1234567890");
    ck_assert(!mp_completion_overflowed(c));
    ck_assert_int_eq(feed(c, CHUNK("[{\"index\":0,\"delta\":{\"content\":\"x\"}}]")), MP_ETOOBIG);
    ck_assert(mp_completion_overflowed(c));
    ck_assert_int_eq(feed(c, CHUNK("[{\"index\":0,\"delta\":{\"content\":\"\"}}]")), MP_ETOOBIG);
    ck_assert_int_eq(feed(c, "data: [DONE]\n\n"), MP_ETOOBIG);
    assert_text(c, "1234567890");
    mp_completion_free(c);
}
END_TEST

START_TEST(test_completion_stream_non_json_data_is_einval)
{
    struct mp_completion *c = mp_completion_new(64);

    feed(c, CHUNK("[{\"index\":0,\"delta\":{\"content\":\"ok\"}}]"));
    ck_assert_int_eq(feed(c, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}\n\n"),
                     MP_EINVAL);
    ck_assert_int_eq(feed(c, "data: hello\n\n"), MP_EINVAL);
    ck_assert_int_eq(feed(c, "data: [1,2]\n\n"), MP_EINVAL);
    assert_text(c, "ok");
    ck_assert_int_eq(feed(c, CHUNK("[{\"index\":0,\"delta\":{\"content\":\"!\"}}]")), MP_OK);
    assert_text(c, "ok!");
    mp_completion_free(c);
}
END_TEST

START_TEST(test_completion_stream_error_event_not_complete)
{
    struct mp_completion *c = mp_completion_new(64);

    feed(c, CHUNK("[{\"index\":0,\"delta\":{\"content\":\"par\"}}]"));
    ck_assert_int_eq(
        feed(c, "data: {\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\"}}\n\n"),
        MP_OK);
    ck_assert_int_eq(feed(c, "data: [DONE]\n\n"), MP_OK);
    ck_assert(!mp_completion_complete(c));
    mp_completion_free(c);
}
END_TEST

START_TEST(test_completion_stream_multiline_data_joined)
{
    struct mp_completion *c = mp_completion_new(64);

    ck_assert_int_eq(feed(c, "data: {\"choices\":[{\"index\":0,\n"
                             "data: \"delta\":{\"content\":\"two lines\"}}]}\n\n"),
                     MP_OK);
    assert_text(c, "two lines");
    mp_completion_free(c);
}
END_TEST

START_TEST(test_completion_free_null_is_noop)
{
    mp_completion_free(NULL);
    struct mp_completion *c = mp_completion_new(0);
    assert_text(c, "");
    ck_assert_int_eq(feed(c, CHUNK("[{\"index\":0,\"delta\":{\"content\":\"\"}}]")), MP_OK);
    ck_assert_int_eq(feed(c, CHUNK("[{\"index\":0,\"delta\":{\"content\":\"a\"}}]")), MP_ETOOBIG);
    mp_completion_free(c);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("completion");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_completion_body_string_content_decoded);
    tcase_add_test(tc, test_completion_body_array_content_joins_text_parts);
    tcase_add_test(tc, test_completion_body_tool_calls_only_is_notfound);
    tcase_add_test(tc, test_completion_body_choice_1_ignored);
    tcase_add_test(tc, test_completion_body_without_index_takes_first_choice);
    tcase_add_test(tc, test_completion_body_without_index_only_first_position_counts);
    tcase_add_test(tc, test_completion_body_empty_content_is_notfound);
    tcase_add_test(tc, test_completion_body_not_a_completion_is_einval);
    tcase_add_test(tc, test_completion_body_audio_transcript_is_the_words);
    tcase_add_test(tc, test_completion_body_refusal_is_the_words);
    tcase_add_test(tc, test_completion_body_words_none_is_notfound);
    tcase_add_test(tc, test_completion_stream_gathers_text_until_finish);
    tcase_add_test(tc, test_completion_stream_audio_transcript_deltas_are_the_words);
    tcase_add_test(tc, test_completion_stream_refusal_deltas_are_the_words);
    tcase_add_test(tc, test_completion_stream_role_only_delta_adds_nothing);
    tcase_add_test(tc, test_completion_stream_tool_call_deltas_ignored);
    tcase_add_test(tc, test_completion_stream_other_choice_ignored);
    tcase_add_test(tc, test_completion_stream_done_alone_completes);
    tcase_add_test(tc, test_completion_stream_crlf_events);
    tcase_add_test(tc, test_completion_stream_cap_stops_accumulating);
    tcase_add_test(tc, test_completion_cutting_keeps_text_and_reads_on);
    tcase_add_test(tc, test_completion_nul_in_text_is_replacement);
    tcase_add_test(tc, test_completion_stream_non_json_data_is_einval);
    tcase_add_test(tc, test_completion_stream_error_event_not_complete);
    tcase_add_test(tc, test_completion_stream_multiline_data_joined);
    tcase_add_test(tc, test_completion_free_null_is_noop);
    suite_add_tcase(s, tc);
    return s;
}
