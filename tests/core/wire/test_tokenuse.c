/* Tests for core/wire/tokenuse.c: the upstream's token usage read from a
 * whole reply and from a stream's events, on each chat API, in the shapes
 * the providers send (and the ones they send around it). */
#include <check.h>
#include <string.h>

#include "status.h"
#include "wire/tokenuse.h"

Suite *mp_test_suite(void);

static struct mp_tokenuse body(enum mp_tokenuse_api api, const char *text)
{
    struct mp_tokenuse u;
    memset(&u, 0, sizeof(u));
    mp_tokenuse_read_body(&u, api, text, strlen(text));
    return u;
}

static void event(struct mp_tokenuse *u, enum mp_tokenuse_api api, const char *ev)
{
    mp_tokenuse_read_event(u, api, ev, strlen(ev));
}

static void assert_use(const struct mp_tokenuse *u, uint64_t input, uint64_t cached,
                       uint64_t creation, uint64_t output)
{
    ck_assert(u->seen);
    ck_assert_uint_eq(u->input, input);
    ck_assert_uint_eq(u->cached, cached);
    ck_assert_uint_eq(u->creation, creation);
    ck_assert_uint_eq(u->output, output);
}

START_TEST(test_tokenuse_chat_body_prompt_cached_and_completion)
{
    struct mp_tokenuse u = body(
        MP_TOKENUSE_CHAT,
        "{\"id\":\"c\",\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{\"index\":0,\"message\":"
        "{\"role\":\"assistant\",\"content\":\"usage: 3\"}}],\"usage\":{\"prompt_tokens\":2006,"
        "\"completion_tokens\":300,\"total_tokens\":2306,\"prompt_tokens_details\":"
        "{\"cached_tokens\":1920,\"audio_tokens\":0},\"completion_tokens_details\":"
        "{\"reasoning_tokens\":0}}}");
    assert_use(&u, 2006, 1920, 0, 300);
    ck_assert_str_eq(u.model, "gpt-4o-2024-08-06");
}
END_TEST

START_TEST(test_tokenuse_responses_body_input_details)
{
    struct mp_tokenuse u =
        body(MP_TOKENUSE_RESPONSES,
             "{\"id\":\"resp_1\",\"object\":\"response\",\"model\":\"gpt-4.1\",\"output\":[],"
             "\"usage\":{\"input_tokens\":1500,\"input_tokens_details\":{\"cached_tokens\":1408},"
             "\"output_tokens\":42,\"output_tokens_details\":{\"reasoning_tokens\":0},"
             "\"total_tokens\":1542}}");
    assert_use(&u, 1500, 1408, 0, 42);
    ck_assert_str_eq(u.model, "gpt-4.1");
}
END_TEST

/* Anthropic's input_tokens is the part after the last breakpoint: the
 * whole prompt is it plus what was read from and written to the cache. */
START_TEST(test_tokenuse_messages_body_sums_the_whole_prompt)
{
    struct mp_tokenuse u =
        body(MP_TOKENUSE_MESSAGES,
             "{\"id\":\"msg_1\",\"type\":\"message\",\"model\":\"claude-sonnet-4-5\",\"content\":"
             "[{\"type\":\"text\",\"text\":\"hi\"}],\"usage\":{\"input_tokens\":12,"
             "\"cache_creation_input_tokens\":300,\"cache_read_input_tokens\":2048,"
             "\"output_tokens\":9}}");
    assert_use(&u, 2360, 2048, 300, 9);
}
END_TEST

START_TEST(test_tokenuse_messages_stream_start_then_delta)
{
    struct mp_tokenuse u;
    memset(&u, 0, sizeof(u));
    event(&u, MP_TOKENUSE_MESSAGES,
          "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\","
          "\"model\":\"claude-opus-4-1\",\"usage\":{\"input_tokens\":5,"
          "\"cache_read_input_tokens\":1024,\"cache_creation_input_tokens\":0,"
          "\"output_tokens\":1}}}\n\n");
    event(&u, MP_TOKENUSE_MESSAGES,
          "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
          "\"delta\":{\"type\":\"text_delta\",\"text\":\"the usage is\"}}\n\n");
    event(&u, MP_TOKENUSE_MESSAGES,
          "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":"
          "{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":77}}\n\n");
    assert_use(&u, 1029, 1024, 0, 77);
    ck_assert_str_eq(u.model, "claude-opus-4-1");
}
END_TEST

/* With include_usage every chunk carries "usage":null and the last one,
 * with no choices, the numbers. */
START_TEST(test_tokenuse_chat_stream_final_usage_chunk)
{
    struct mp_tokenuse u;
    memset(&u, 0, sizeof(u));
    event(&u, MP_TOKENUSE_CHAT,
          "data: {\"id\":\"c\",\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":"
          "{\"content\":\"hi\"}}],\"usage\":null}\n\n");
    ck_assert(!u.seen);
    ck_assert_str_eq(u.model, "gpt-4o-mini");
    event(&u, MP_TOKENUSE_CHAT,
          "data: {\"id\":\"c\",\"model\":\"gpt-4o-mini\",\"choices\":[],\"usage\":"
          "{\"prompt_tokens\":1100,\"completion_tokens\":2,\"prompt_tokens_details\":"
          "{\"cached_tokens\":1024}}}\n\n");
    event(&u, MP_TOKENUSE_CHAT, "data: [DONE]\n\n");
    assert_use(&u, 1100, 1024, 0, 2);
}
END_TEST

START_TEST(test_tokenuse_responses_stream_completed)
{
    struct mp_tokenuse u;
    memset(&u, 0, sizeof(u));
    event(&u, MP_TOKENUSE_RESPONSES,
          "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\","
          "\"delta\":\"x\"}\n\n");
    ck_assert(!u.seen);
    event(&u, MP_TOKENUSE_RESPONSES,
          "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":"
          "{\"id\":\"r\",\"model\":\"gpt-5\",\"usage\":{\"input_tokens\":2000,"
          "\"input_tokens_details\":{\"cached_tokens\":0},\"output_tokens\":5}}}\n\n");
    assert_use(&u, 2000, 0, 0, 5);
    ck_assert_str_eq(u.model, "gpt-5");
}
END_TEST

/* Member names are compared unescaped, a repeated one is read last, and a
 * member of a nested object or a string that only looks like one is not
 * the top level's. */
START_TEST(test_tokenuse_names_unescaped_last_repeat_wins)
{
    struct mp_tokenuse u =
        body(MP_TOKENUSE_CHAT,
             "{\"choices\":[{\"message\":{\"model\":\"inner\",\"content\":"
             "\"\\\"usage\\\":{\\\"prompt_tokens\\\":9}\"}}],\"\\u006dodel\":\"m-1\","
             "\"usage\":{\"prompt_tokens\":5,\"prompt_tokens\":7,\"completion_tokens\":2,"
             "\"prompt_tokens_d\\u0065tails\":{\"cached_tokens\":4}}}");
    assert_use(&u, 7, 4, 0, 2);
    ck_assert_str_eq(u.model, "m-1");
}
END_TEST

/* What is not a reply with usage changes nothing; counts that are not
 * unsigned integers, or would overflow, are not taken. */
START_TEST(test_tokenuse_bad_input_changes_nothing)
{
    static const char *const bodies[] = {"",
                                         "not json",
                                         "[1,2]",
                                         "{\"usage\":\"many\"}",
                                         "{\"usage\":{\"prompt_tokens\":",
                                         "{\"model\":\"m\",\"usage\":null}"};
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        struct mp_tokenuse u = body(MP_TOKENUSE_CHAT, bodies[i]);
        ck_assert_msg(!u.seen, "%s", bodies[i]);
        ck_assert_uint_eq(u.input, 0);
    }
    struct mp_tokenuse u =
        body(MP_TOKENUSE_CHAT, "{\"usage\":{\"prompt_tokens\":-5,\"completion_tokens\":"
                               "99999999999999999999999,\"prompt_tokens_details\":"
                               "{\"cached_tokens\":\"7\"}}}");
    assert_use(&u, 0, 0, 0, 0);
}
END_TEST

START_TEST(test_tokenuse_api_of_wire_names)
{
    enum mp_tokenuse_api api = MP_TOKENUSE_API_COUNT;
    ck_assert_int_eq(mp_tokenuse_api_of("messages", &api), MP_OK);
    ck_assert_int_eq(api, MP_TOKENUSE_MESSAGES);
    ck_assert_int_eq(mp_tokenuse_api_of("responses", &api), MP_OK);
    ck_assert_int_eq(api, MP_TOKENUSE_RESPONSES);
    ck_assert_int_eq(mp_tokenuse_api_of("embeddings", &api), MP_NOTFOUND);
    ck_assert_int_eq(api, MP_TOKENUSE_RESPONSES);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("tokenuse");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_tokenuse_chat_body_prompt_cached_and_completion);
    tcase_add_test(tc, test_tokenuse_responses_body_input_details);
    tcase_add_test(tc, test_tokenuse_messages_body_sums_the_whole_prompt);
    tcase_add_test(tc, test_tokenuse_messages_stream_start_then_delta);
    tcase_add_test(tc, test_tokenuse_chat_stream_final_usage_chunk);
    tcase_add_test(tc, test_tokenuse_responses_stream_completed);
    tcase_add_test(tc, test_tokenuse_names_unescaped_last_repeat_wins);
    tcase_add_test(tc, test_tokenuse_bad_input_changes_nothing);
    tcase_add_test(tc, test_tokenuse_api_of_wire_names);
    suite_add_tcase(s, tc);
    return s;
}
