/* An agent's tool loop (core/wire/toolloop.h) and whether a reply calls a
 * tool (wire.h: reply_body_calls_tool, mp_completion_calls_tool), on the
 * three chat APIs: a request that answers tool calls, where its loop
 * began, the digest that names that beginning in every round. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "wire/chatreq.h"
#include "wire/completion.h"
#include "status.h"
#include "wire/toolloop.h"
#include "wire/wire.h"

static struct mp_chatreq_msg msgs[64];

static struct mp_chatreq scan(const struct mp_wire *w, const char *body)
{
    struct mp_chatreq req;
    ck_assert_int_eq(w->scan(body, strlen(body), msgs, 64, &req), MP_OK);
    return req;
}

static bool answers(const struct mp_wire *w, const char *body)
{
    struct mp_chatreq req = scan(w, body);
    return mp_toolloop_answers_calls(body, &req);
}

#define CHAT_CALL                                                                                  \
    "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"c1\",\"type\":"            \
    "\"function\",\"function\":{\"name\":\"run\",\"arguments\":\"{}\"}}]}"

/* Tool results last: chat's tool message, a Responses *_call_output
 * item, a Messages user message of tool_result blocks; not a user's
 * image, nor a question. */
START_TEST(test_toolloop_answers_calls_on_each_api)
{
    ck_assert(answers(&mp_wire_chat,
                      "{\"messages\":[{\"role\":\"user\",\"content\":\"fix CI\"}," CHAT_CALL
                      ",{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"ok\"}]}"));
    ck_assert(
        !answers(&mp_wire_chat, "{\"messages\":[{\"role\":\"user\",\"content\":\"fix CI\"}]}"));
    ck_assert(answers(&mp_wire_responses,
                      "{\"previous_response_id\":\"resp_1\",\"input\":[{\"type\":"
                      "\"function_call_output\",\"call_id\":\"c1\",\"output\":\"ok\"}]}"));
    ck_assert(answers(&mp_wire_responses, "{\"input\":[{\"type\":\"computer_call_output\","
                                          "\"call_id\":\"c1\",\"output\":{}}]}"));
    ck_assert(!answers(&mp_wire_responses, "{\"input\":[{\"type\":\"reasoning\",\"id\":\"r\"}]}"));
    ck_assert(answers(&mp_wire_messages,
                      "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\","
                      "\"tool_use_id\":\"t1\",\"content\":\"ok\"}]}]}"));
    ck_assert(!answers(&mp_wire_messages,
                       "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image\","
                       "\"source\":{}}]}]}"));
}
END_TEST

#define ROUND1                                                                                     \
    "{\"role\":\"user\",\"content\":\"earlier\"},{\"role\":\"assistant\",\"content\":\"ok\"},"     \
    "{\"role\":\"user\",\"content\":\"fix CI\"}"

/* The loop's beginning in body (wire w): whether there is one, its
 * messages (*f, *at) and its digest (*d). */
static bool start(const struct mp_wire *w, const char *body, size_t *f, size_t *at, uint64_t *d)
{
    struct mp_chatreq req = scan(w, body);
    bool found = mp_toolloop_start(body, &req, f, at);
    *d = found ? mp_toolloop_prefix(&req, *at) : 0;
    if (!found)
        ck_assert_uint_eq(*at, req.nmsgs);
    return found;
}

/* The beginning is the newest user message with text and no tool
 * results, with the user messages right before it; its digest is the
 * same in the first round and the last (instructions rewritten
 * meanwhile), and another for another conversation. */
START_TEST(test_toolloop_start_and_its_digest)
{
    const char *first =
        "{\"messages\":[{\"role\":\"system\",\"content\":\"at 10:00\"}," ROUND1 "]}";
    const char *last =
        "{\"messages\":[{\"role\":\"system\",\"content\":\"at 10:01\"}," ROUND1 "," CHAT_CALL
        ",{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"ok\"}]}";
    size_t f, at;
    uint64_t d1, d;
    ck_assert(start(&mp_wire_chat, first, &f, &at, &d1));
    ck_assert_uint_eq(at, 3);
    ck_assert_uint_eq(f, 3);
    ck_assert(start(&mp_wire_chat, last, &f, &at, &d));
    ck_assert_uint_eq(at, 3);
    ck_assert_uint_eq(d, d1);
    ck_assert(start(&mp_wire_chat, "{\"messages\":[{\"role\":\"user\",\"content\":\"fix CI\"}]}",
                    &f, &at, &d));
    ck_assert_uint_ne(d, d1);
    ck_assert(start(&mp_wire_chat,
                    "{\"messages\":[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"user\","
                    "\"content\":\"b\"}]}",
                    &f, &at, &d));
    ck_assert_uint_eq(f, 0);
    ck_assert_uint_eq(at, 1);
    /* a reminder beside the tool results is no beginning */
    ck_assert(
        start(&mp_wire_messages,
              "{\"messages\":[{\"role\":\"user\",\"content\":\"fix CI\"},{\"role\":"
              "\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"run\","
              "\"input\":{}}]},{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\","
              "\"tool_use_id\":\"t\",\"content\":\"ok\"},{\"type\":\"text\",\"text\":"
              "\"<system-reminder>x</system-reminder>\"}]}]}",
              &f, &at, &d));
    ck_assert_uint_eq(f, 0);
    ck_assert_uint_eq(at, 0);
    ck_assert(!start(&mp_wire_responses,
                     "{\"previous_response_id\":\"r\",\"input\":[{\"type\":"
                     "\"function_call_output\",\"call_id\":\"c\",\"output\":\"x\"}]}",
                     &f, &at, &d));
}
END_TEST

static bool body_calls(const struct mp_wire *w, const char *body)
{
    return w->reply_body_calls_tool(body, strlen(body));
}

/* A body's call: chat's tool_calls (or its finish_reason), Messages'
 * tool_use block, a Responses function_call item; text alone, or a hosted
 * tool's item, is none. */
START_TEST(test_toolloop_a_body_calls_a_tool)
{
    ck_assert(body_calls(&mp_wire_chat,
                         "{\"choices\":[{\"index\":0,\"message\":{\"content\":\"hi\","
                         "\"tool_calls\":[{\"id\":\"c\"}]},\"finish_reason\":\"stop\"}]}"));
    ck_assert(body_calls(&mp_wire_chat, "{\"choices\":[{\"message\":{\"content\":null},"
                                        "\"finish_reason\":\"tool_calls\"}]}"));
    ck_assert(!body_calls(&mp_wire_chat, "{\"choices\":[{\"message\":{\"content\":\"hi\","
                                         "\"tool_calls\":[]},\"finish_reason\":\"stop\"}]}"));
    ck_assert(
        body_calls(&mp_wire_messages,
                   "{\"content\":[{\"type\":\"text\",\"text\":\"hi\"},{\"type\":\"tool_use\","
                   "\"id\":\"t\",\"name\":\"run\",\"input\":{}}],\"stop_reason\":\"tool_use\"}"));
    ck_assert(!body_calls(&mp_wire_messages,
                          "{\"content\":[{\"type\":\"server_tool_use\",\"id\":\"s\"},{\"type\":"
                          "\"text\",\"text\":\"hi\"}],\"stop_reason\":\"end_turn\"}"));
    ck_assert(
        body_calls(&mp_wire_responses,
                   "{\"status\":\"completed\",\"output\":[{\"type\":\"message\",\"content\":[]},"
                   "{\"type\":\"function_call\",\"call_id\":\"c\"}]}"));
    ck_assert(!body_calls(&mp_wire_responses,
                          "{\"status\":\"completed\",\"output\":[{\"type\":\"web_search_call\"},"
                          "{\"type\":\"message\",\"content\":[]}]}"));
}
END_TEST

static bool stream_calls(const struct mp_wire *w, const char *const *data, size_t n)
{
    struct mp_completion *c = mp_completion_new_reader(1024, w->reply_reader);
    char ev[512];
    ck_assert_ptr_nonnull(c);
    for (size_t i = 0; i < n; i++) {
        int len = snprintf(ev, sizeof(ev), "data: %s\n\n", data[i]);
        ck_assert_int_eq(mp_completion_feed_event(c, ev, (size_t)len), MP_OK);
    }
    bool calls = mp_completion_calls_tool(c);
    mp_completion_free(c);
    return calls;
}

/* A stream's call, as each API streams one; text alone is none. */
START_TEST(test_toolloop_a_stream_calls_a_tool)
{
    const char *chat[] = {
        "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}]}",
        "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c\"}]}}]}"};
    const char *chat_text[] = {
        "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"},\"finish_reason\":\"stop\"}]}"};
    const char *messages[] = {"{\"type\":\"content_block_start\",\"index\":1,\"content_block\":{"
                              "\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"run\",\"input\":{}}}"};
    const char *messages_stop[] = {"{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
                                   "\"tool_use\"}}"};
    const char *responses[] = {"{\"type\":\"response.output_item.added\",\"output_index\":1,"
                               "\"item\":{\"type\":\"function_call\",\"call_id\":\"c\"}}"};
    const char *responses_text[] = {
        "{\"type\":\"response.output_text.delta\",\"delta\":\"hi\"}",
        "{\"type\":\"response.completed\",\"response\":{\"status\":\"completed\",\"output\":"
        "[{\"type\":\"message\",\"content\":[]}]}}"};
    ck_assert(stream_calls(&mp_wire_chat, chat, 2));
    ck_assert(!stream_calls(&mp_wire_chat, chat_text, 1));
    ck_assert(stream_calls(&mp_wire_messages, messages, 1));
    ck_assert(stream_calls(&mp_wire_messages, messages_stop, 1));
    ck_assert(stream_calls(&mp_wire_responses, responses, 1));
    ck_assert(!stream_calls(&mp_wire_responses, responses_text, 2));
}
END_TEST

Suite *mp_test_suite(void);
Suite *mp_test_suite(void)
{
    Suite *s = suite_create("toolloop");
    TCase *tc = tcase_create("toolloop");
    tcase_add_test(tc, test_toolloop_answers_calls_on_each_api);
    tcase_add_test(tc, test_toolloop_start_and_its_digest);
    tcase_add_test(tc, test_toolloop_a_body_calls_a_tool);
    tcase_add_test(tc, test_toolloop_a_stream_calls_a_tool);
    suite_add_tcase(s, tc);
    return s;
}
