/* Tests for core/wire/messages.c (Anthropic's Messages API) and what it
 * reads through core/wire/chatreq.c and core/wire/completion.c: the block appended to
 * the end of "system" (a string, an array of blocks, or a new member),
 * the replay first in "messages" starting with the user, nothing else
 * touched; the reply's text blocks from a body and from stream events. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/completion.h"
#include "status.h"
#include "wire/wire.h"
#include "wire_fixture.h"

/* A tool loop: the newest user message holds tool_result blocks alone
 * (no text), so the tail stays in the message that began the loop, the
 * same bytes on every round; a user message that starts with
 * tool_result blocks and has text gets the tail after them (Anthropic
 * refuses any block before a tool_result). */
START_TEST(test_messages_tail_never_before_tool_results)
{
    static const char start[] = "{\"system\":\"S\",\"messages\":[{\"role\":\"user\",\"content\":"
                                "\"fix CI\"}";
    static const char round[] =
        ",{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"t1\","
        "\"name\":\"sh\",\"input\":{}}]},{\"role\":\"user\",\"content\":[{\"type\":"
        "\"tool_result\",\"tool_use_id\":\"t1\",\"content\":\"ok\"}]}";
    static const char tail_turn[] = "{\"system\":\"S\\n\\nB\",\"messages\":[{\"role\":\"user\","
                                    "\"content\":[{\"type\":\"text\",\"text\":\"T\"},{\"type\":"
                                    "\"text\",\"text\":\"fix CI\"}]}";
    char body[1024], want[1024];
    wf_use(&mp_wire_messages, "B");
    wf_use_tail("T");
    for (int rounds = 1; rounds <= 3; rounds++) {
        snprintf(body, sizeof(body), "%s", start);
        snprintf(want, sizeof(want), "%s", tail_turn);
        for (int k = 0; k < rounds; k++) {
            strcat(body, round);
            strcat(want, round);
        }
        strcat(body, "]}");
        strcat(want, "]}");
        char *out = wf_spliced(body, NULL, 0);
        ck_assert_str_eq(out, want);
        free(out);
    }
    /* tool results and text in one message: the tail after the results */
    char *out = wf_spliced(
        "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\","
        "\"tool_use_id\":\"a\"}, {\"type\":\"tool_result\",\"tool_use_id\":\"b\"},{\"type\":"
        "\"text\",\"text\":\"q\"}]}]}",
        NULL, 0);
    ck_assert_str_eq(out, "{\"system\":\"B\",\"messages\":[{\"role\":\"user\",\"content\":[{"
                          "\"type\":\"tool_result\",\"tool_use_id\":\"a\"}, {\"type\":"
                          "\"tool_result\",\"tool_use_id\":\"b\"},{\"type\":\"text\",\"text\":"
                          "\"T\"},{\"type\":\"text\",\"text\":\"q\"}]}]}");
    free(out);
    wf_use(&mp_wire_messages, "B\nC");
}
END_TEST

Suite *mp_test_suite(void);

static const struct mp_wire_pick PAIR[] = {{MP_ROLE_USER, "old", 3, false},
                                           {MP_ROLE_ASSISTANT, "ans", 3, false}};

START_TEST(test_messages_no_system_gets_one)
{
    char *out = wf_spliced("{\"model\":\"c\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\","
                           "\"content\":\"q\"}]}",
                           PAIR, 2);
    ck_assert_str_eq(out, "{\"system\":\"B\\nC\",\"model\":\"c\",\"max_tokens\":5,\"messages\":["
                          "{\"role\":\"user\",\"content\":\"old\"},{\"role\":\"assistant\","
                          "\"content\":\"ans\"},{\"role\":\"user\",\"content\":\"q\"}]}");
    free(out);
}
END_TEST

START_TEST(test_messages_string_system_appended_inside)
{
    char *out =
        wf_spliced(" {\"messages\":[{\"role\":\"user\",\"content\":\"q\"}],\"system\":\"You "
                   "are \\\"terse\\\".\"}",
                   NULL, 0);
    ck_assert_str_eq(out, " {\"messages\":[{\"role\":\"user\",\"content\":\"q\"}],\"system\":\"You "
                          "are \\\"terse\\\".\\n\\nB\\nC\"}");
    free(out);
}
END_TEST

START_TEST(test_messages_array_system_gets_a_block_after_the_clients)
{
    const char *body = "{\"system\":[{\"type\":\"text\",\"text\":\"S\",\"cache_control\":{\"type\":"
                       "\"ephemeral\"}}],\"messages\":[{\"role\":\"user\",\"content\":\"q\"}]}";
    char *out = wf_spliced(body, PAIR + 1, 1); /* a lone assistant message is not replayed */
    ck_assert_str_eq(out,
                     "{\"system\":[{\"type\":\"text\",\"text\":\"S\",\"cache_control\":{\"type\":"
                     "\"ephemeral\"}},{\"type\":\"text\",\"text\":\"B\\nC\"}],\"messages\":["
                     "{\"role\":\"user\",\"content\":\"q\"}]}");
    free(out);
    out = wf_spliced("{\"system\":[ ],\"messages\":[]}", PAIR, 2);
    ck_assert_str_eq(out, "{\"system\":[ {\"type\":\"text\",\"text\":\"B\\nC\"}],\"messages\":["
                          "{\"role\":\"user\",\"content\":\"old\"},{\"role\":\"assistant\","
                          "\"content\":\"ans\"}]}");
    free(out);
}
END_TEST

START_TEST(test_messages_bad_requests)
{
    struct mp_chatreq req;
    ck_assert_int_eq(wf_scan("{\"system\":null,\"messages\":[]}", &req), MP_EINVAL);
    ck_assert_int_eq(wf_scan("{\"system\":\"s\",\"messages\":[],\"syst\\u0065m\":null}", &req),
                     MP_EINVAL); /* the last "system" is the one */
    ck_assert_int_eq(wf_scan("{\"system\":3,\"messages\":[]}", &req), MP_EINVAL);
    ck_assert_int_eq(wf_scan("{\"system\":\"s\"}", &req), MP_EINVAL); /* no messages */
    ck_assert_int_eq(wf_scan("{\"messages\":[{\"content\":\"x\"}]}", &req), MP_EINVAL);
    ck_assert_int_eq(wf_scan("{\"messages\":[]", &req), MP_EINVAL);
}
END_TEST

START_TEST(test_messages_text_and_new_user_messages)
{
    const char *body =
        "{\"messages\":[{\"role\":\"user\",\"content\":\"weather?\"},{\"role\":\"assistant\","
        "\"content\":[{\"type\":\"thinking\",\"thinking\":\"hm\",\"signature\":\"s\"},{\"type\":"
        "\"text\",\"text\":\"checking\"},{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"w\","
        "\"input\":{}}]},{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":"
        "\"t\",\"content\":\"sunny\"}]},{\"role\":\"user\",\"content\":[{\"type\":\"image\","
        "\"source\":{}},{\"type\":\"text\",\"text\":\"and now?\"}]}]}";
    struct mp_chatreq req;
    ck_assert_int_eq(wf_scan(body, &req), MP_OK);
    ck_assert_uint_eq(req.nmsgs, 4);
    ck_assert_str_eq(wf_text_of(body, &req.msgs[1]), "checking");
    ck_assert_ptr_null(wf_text_of(body, &req.msgs[2])); /* tool results are not the user's text */
    ck_assert_str_eq(wf_text_of(body, &req.msgs[3]), "and now?");
    ck_assert_uint_eq(req.first_new_user, 2);
}
END_TEST

START_TEST(test_messages_reply_body)
{
    char *t = NULL;
    ck_assert_int_eq(wf_body_text("{\"type\":\"message\",\"role\":\"assistant\",\"content\":["
                                  "{\"type\":\"thinking\",\"thinking\":\"x\",\"signature\":\"s\"},"
                                  "{\"type\":\"text\",\"text\":\"Hi\"},{\"type\":\"tool_use\","
                                  "\"id\":\"t\",\"name\":\"f\",\"input\":{}},{\"type\":\"text\","
                                  "\"text\":\"th\\u00e9re\"}],\"stop_reason\":\"tool_use\"}",
                                  &t),
                     MP_OK);
    ck_assert_str_eq(t, "Hi\nth\xc3\xa9re");
    free(t);
    ck_assert_int_eq(wf_body_text("{\"type\":\"message\",\"content\":[{\"type\":\"tool_use\","
                                  "\"id\":\"t\",\"name\":\"f\",\"input\":{}}]}",
                                  &t),
                     MP_NOTFOUND);
    ck_assert_int_eq(wf_body_text("{\"type\":\"error\",\"error\":{}}", &t), MP_EINVAL);
    ck_assert_int_eq(wf_body_text("nope", &t), MP_EINVAL);
}
END_TEST

#define EV(t, d) "event: " t "\ndata: " d "\n\n"
#define START(i, type)                                                                             \
    EV("content_block_start", "{\"type\":\"content_block_start\",\"index\":" i                     \
                              ",\"content_block\":{\"type\":\"" type "\",\"text\":\"\"}}")
#define TEXT(i, t)                                                                                 \
    EV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":" i                     \
                              ",\"delta\":{\"type\":\"text_delta\",\"text\":\"" t "\"}}")

START_TEST(test_messages_stream)
{
    size_t n = 0;
    const char *const ok[] = {
        EV("message_start", "{\"type\":\"message_start\",\"message\":{\"content\":[]}}"),
        EV("ping", "{\"type\": \"ping\"}"),
        START("0", "thinking"),
        EV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
                                  "{\"type\":\"thinking_delta\",\"thinking\":\"no\"}}"),
        START("1", "text"),
        TEXT("1", "Hel"),
        TEXT("1", "lo"),
        START("2", "text"),
        TEXT("2", "again"),
        EV("message_delta",
           "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"}}"),
        EV("message_stop", "{\"type\":\"message_stop\"}")};
    struct mp_completion *c = wf_stream(ok, 11, 1024);
    ck_assert(mp_completion_complete(c));
    ck_assert_str_eq(mp_completion_text(c, &n), "Hello\nagain");
    mp_completion_free(c);
    c = wf_stream(ok, 10, 1024); /* cut before message_stop */
    ck_assert(!mp_completion_complete(c));
    mp_completion_free(c);
    const char *const err[] = {
        START("0", "text"), TEXT("0", "x"),
        EV("error", "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":"
                    "\"Overloaded\"}}"),
        EV("message_stop", "{\"type\":\"message_stop\"}")};
    c = wf_stream(err, 4, 1024);
    ck_assert(!mp_completion_complete(c));
    mp_completion_free(c);
    c = wf_stream(ok, 11, 3); /* past the cap */
    ck_assert(mp_completion_overflowed(c));
    mp_completion_free(c);
}
END_TEST

/* The tail: a text block first in the newest user message's content, an
 * array or a string (which becomes an array); the client's cache_control
 * blocks and system stay as they were. Without a place it joins the block. */
START_TEST(test_messages_tail_in_newest_user_turn)
{
    char *out;
    wf_use(&mp_wire_messages, "B");
    wf_use_tail("T");
    out = wf_spliced("{\"system\":\"S\",\"messages\":[{\"role\":\"user\",\"content\":\"a\"},"
                     "{\"role\":\"assistant\",\"content\":\"b\"},{\"role\":\"user\",\"content\":"
                     "[{\"type\":\"text\",\"text\":\"q\",\"cache_control\":{\"type\":"
                     "\"ephemeral\"}}]}]}",
                     NULL, 0);
    ck_assert_str_eq(out, "{\"system\":\"S\\n\\nB\",\"messages\":[{\"role\":\"user\",\"content\":"
                          "\"a\"},{\"role\":\"assistant\",\"content\":\"b\"},{\"role\":\"user\","
                          "\"content\":[{\"type\":\"text\",\"text\":\"T\"},{\"type\":\"text\","
                          "\"text\":\"q\",\"cache_control\":{\"type\":\"ephemeral\"}}]}]}");
    free(out);
    /* a string content, "system" after "messages", a replay first */
    out = wf_spliced("{\"messages\":[{\"role\":\"user\",\"content\":\"q\\\"\"}],\"system\":\"S\"}",
                     PAIR, 2);
    ck_assert_str_eq(out,
                     "{\"messages\":[{\"role\":\"user\",\"content\":\"old\"},{\"role\":"
                     "\"assistant\",\"content\":\"ans\"},{\"role\":\"user\",\"content\":[{"
                     "\"type\":\"text\",\"text\":\"T\"},{\"type\":\"text\",\"text\":\"q\\\"\"}]}"
                     "],\"system\":\"S\\n\\nB\"}");
    free(out);
    /* an empty array has no text, no system: joined in a new system */
    out = wf_spliced("{\"messages\":[{\"role\":\"user\",\"content\":[ ]}]}", NULL, 0);
    ck_assert_str_eq(out, "{\"system\":\"B\\n\\nT\",\"messages\":[{\"role\":\"user\","
                          "\"content\":[ ]}]}");
    free(out);
    /* no user message: joined to the block */
    out = wf_spliced("{\"system\":\"S\",\"messages\":[]}", NULL, 0);
    ck_assert_str_eq(out, "{\"system\":\"S\\n\\nB\\n\\nT\",\"messages\":[]}");
    free(out);
    wf_use(&mp_wire_messages, "B\nC");
}
END_TEST

/* In a conversation the replay goes right before the question's message
 * (whose content gets the tail), after the client's turns. */
START_TEST(test_messages_replay_with_tail)
{
    wf_use(&mp_wire_messages, "B");
    wf_use_tail("T");
    wf_use_replay_with_tail(true);
    char *out = wf_spliced("{\"system\":\"S\",\"messages\":[{\"role\":\"user\",\"content\":"
                           "\"a\"},{\"role\":\"assistant\",\"content\":\"b\"},{\"role\":\"user\","
                           "\"content\":\"q\"}]}",
                           PAIR, 2);
    ck_assert_str_eq(out, "{\"system\":\"S\\n\\nB\",\"messages\":[{\"role\":\"user\",\"content\":"
                          "\"a\"},{\"role\":\"assistant\",\"content\":\"b\"},{\"role\":\"user\","
                          "\"content\":\"old\"},{\"role\":\"assistant\",\"content\":\"ans\"},{"
                          "\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"T\"},{"
                          "\"type\":\"text\",\"text\":\"q\"}]}]}");
    free(out);
    wf_use_replay_with_tail(false);
    wf_use(&mp_wire_messages, "B\nC");
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("wire_messages");
    wf_use(&mp_wire_messages, "B\nC");
    TCase *tc = tcase_create("messages");
    tcase_add_test(tc, test_messages_no_system_gets_one);
    tcase_add_test(tc, test_messages_string_system_appended_inside);
    tcase_add_test(tc, test_messages_array_system_gets_a_block_after_the_clients);
    tcase_add_test(tc, test_messages_bad_requests);
    tcase_add_test(tc, test_messages_tail_in_newest_user_turn);
    tcase_add_test(tc, test_messages_tail_never_before_tool_results);
    tcase_add_test(tc, test_messages_replay_with_tail);
    tcase_add_test(tc, test_messages_text_and_new_user_messages);
    tcase_add_test(tc, test_messages_reply_body);
    tcase_add_test(tc, test_messages_stream);
    suite_add_tcase(s, tc);
    return s;
}
