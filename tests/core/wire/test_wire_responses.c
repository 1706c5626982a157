/* Tests for core/wire/responses.c (and what it reads through core/wire/chatreq.c
 * and core/wire/completion.c): the Responses API request read in place, the
 * splice (string input made an array, developer message after the leading
 * system/developer items, nothing else touched) of a request the upstream
 * does not store, the stored and upstream-state flags and the block in
 * "instructions" then, and the reply's text from a body
 * and from stream events. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "wire/completion.h"
#include "json/json_scan.h"
#include "status.h"
#include "wire/wire.h"
#include "wire_fixture.h"

/* The tail: a developer item right before the newest user item (a string
 * input too: its own item after the head's); joined to the block with
 * upstream state (instructions, head first: input is stored upstream). */
START_TEST(test_responses_tail)
{
    char *out;
    wf_use_tail("T");
    out = wf_spliced("{\"store\":false,\"input\":[{\"role\":\"user\",\"content\":\"a\"},{\"type\":"
                     "\"function_call_output\",\"call_id\":\"c\",\"output\":\"x\"},{\"role\":"
                     "\"user\",\"content\":\"q\"}]}",
                     NULL, 0);
    ck_assert_str_eq(
        out, "{\"store\":false,\"input\":[{\"role\":\"developer\",\"content\":\"B\"},{\"role\":"
             "\"user\",\"content\":\"a\"},{\"type\":\"function_call_output\","
             "\"call_id\":\"c\",\"output\":\"x\"},{\"role\":\"developer\",\"content\":"
             "\"T\"},{\"role\":\"user\",\"content\":\"q\"}]}");
    free(out);
    out = wf_spliced("{\"store\":false,\"input\":\"q\"}", NULL, 0);
    ck_assert_str_eq(
        out, "{\"store\":false,\"input\":[{\"role\":\"developer\",\"content\":\"B\"},{\"role\":"
             "\"developer\",\"content\":\"T\"},{\"role\":\"user\",\"content\":"
             "\"q\"}]}");
    free(out);
    /* a stored first turn ("store" absent): as with upstream state */
    out = wf_spliced("{\"instructions\":\"I\",\"input\":\"q\"}", NULL, 0);
    ck_assert_str_eq(out, "{\"instructions\":\"I\\n\\nB\\n\\nT\",\"input\":\"q\"}");
    free(out);
    out = wf_spliced("{\"previous_response_id\":\"r\",\"instructions\":\"I\",\"input\":[{"
                     "\"role\":\"user\",\"content\":\"q\"}]}",
                     NULL, 0);
    ck_assert_str_eq(out, "{\"previous_response_id\":\"r\",\"instructions\":\"I\\n\\nB\\n\\nT\","
                          "\"input\":[{\"role\":\"user\",\"content\":\"q\"}]}");
    free(out);
    /* a tool loop: function calls and their outputs after the question
       keep the tail before it, never between a call and its output */
    out = wf_spliced("{\"store\":false,\"input\":[{\"role\":\"user\",\"content\":\"q\"},{\"type\":"
                     "\"function_call\",\"call_id\":\"c\",\"name\":\"f\",\"arguments\":\"{}\"},"
                     "{\"type\":\"function_call_output\",\"call_id\":\"c\",\"output\":\"x\"}]}",
                     NULL, 0);
    ck_assert_str_eq(
        out, "{\"store\":false,\"input\":[{\"role\":\"developer\",\"content\":\"B\"},{\"role\":"
             "\"developer\",\"content\":\"T\"},{\"role\":\"user\",\"content\":"
             "\"q\"},{\"type\":\"function_call\",\"call_id\":\"c\",\"name\":\"f\","
             "\"arguments\":\"{}\"},{\"type\":\"function_call_output\",\"call_id\":"
             "\"c\",\"output\":\"x\"}]}");
    free(out);
    wf_use_tail("");
}
END_TEST

Suite *mp_test_suite(void);

START_TEST(test_responses_string_input_becomes_an_array)
{
    const char *body = "{\"model\":\"m\",\"store\":false,\"instructions\":\"be "
                       "brief\",\"input\":\"what db \\u00e9?\"}";
    struct mp_chatreq req;
    ck_assert_int_eq(wf_scan(body, &req), MP_OK);
    ck_assert(req.text_input);
    ck_assert_uint_eq(req.nmsgs, 1);
    ck_assert_int_eq(req.msgs[0].role, MP_CR_USER);
    ck_assert_uint_eq(req.first_new_user, 0);
    ck_assert_str_eq(wf_text_of(body, &req.msgs[0]), "what db \xc3\xa9?");
    const struct mp_wire_pick picks[] = {{MP_ROLE_USER, "old q", 5, false},
                                         {MP_ROLE_ASSISTANT, "old \"a\"", 7, true}};
    char *out = wf_spliced(body, picks, 2);
    ck_assert_str_eq(out,
                     "{\"model\":\"m\",\"store\":false,\"instructions\":\"be brief\",\"input\":["
                     "{\"role\":\"developer\",\"content\":\"B\"},"
                     "{\"role\":\"user\",\"content\":\"old q\"},"
                     "{\"role\":\"assistant\",\"content\":\"old \\\"a\\\"\xe2\x80\xa6\"},"
                     "{\"role\":\"user\",\"content\":\"what db \\u00e9?\"}]}");
    free(out);
}
END_TEST

START_TEST(test_responses_block_after_leading_system_and_developer_items)
{
    const char *body = "{\"store\":false,\"input\":[{\"role\":\"system\",\"content\":\"S\"},"
                       "{\"type\":\"message\",\"role\":\"developer\",\"content\":[{\"type\":"
                       "\"input_text\",\"text\":\"D\"}]},{\"role\":\"user\",\"content\":\"Q\"}]}";
    char *out = wf_spliced(body, NULL, 0);
    ck_assert_str_eq(out, "{\"store\":false,\"input\":[{\"role\":\"system\",\"content\":\"S\"},"
                          "{\"type\":\"message\",\"role\":\"developer\",\"content\":[{\"type\":"
                          "\"input_text\",\"text\":\"D\"}]},"
                          "{\"role\":\"developer\",\"content\":\"B\"},"
                          "{\"role\":\"user\",\"content\":\"Q\"}]}");
    free(out);
    out =
        wf_spliced("{\"store\":false,\"input\":[{\"role\":\"user\",\"content\":\"Q\"}]}", NULL, 0);
    ck_assert_str_eq(out, "{\"store\":false,\"input\":[{\"role\":\"developer\",\"content\":\"B\"},"
                          "{\"role\":\"user\",\"content\":\"Q\"}]}");
    free(out);
    out = wf_spliced("{\"store\":false,\"input\":[ ]}", NULL, 0);
    ck_assert_str_eq(out,
                     "{\"store\":false,\"input\":[{\"role\":\"developer\",\"content\":\"B\"} ]}");
    free(out);
}
END_TEST

START_TEST(test_responses_items_roles_and_text)
{
    /* an image part, a function call and its output: the new user message
     * is the one after the tool output; text parts only */
    const char *body =
        "{\"input\":[{\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":\"look\"},"
        "{\"type\":\"input_image\",\"image_url\":\"data:x\"},{\"type\":\"input_text\",\"text\":"
        "\"here\"}]},{\"type\":\"function_call\",\"call_id\":\"c1\",\"name\":\"f\",\"arguments\":"
        "\"{}\"},{\"type\":\"function_call_output\",\"call_id\":\"c1\",\"output\":\"42\"},"
        "{\"type\":\"reasoning\",\"summary\":[]},{\"role\":\"assistant\",\"content\":[{\"type\":"
        "\"output_text\",\"text\":\"A\"}]},{\"role\":\"user\",\"content\":\"next\"}]}";
    struct mp_chatreq req;
    ck_assert_int_eq(wf_scan(body, &req), MP_OK);
    ck_assert(!req.text_input && !req.upstream_state);
    ck_assert_uint_eq(req.nmsgs, 6);
    ck_assert_str_eq(wf_text_of(body, &req.msgs[0]), "look\nhere");
    ck_assert_int_eq(req.msgs[1].role, MP_CR_OTHER);
    ck_assert(!req.msgs[1].has_text);
    ck_assert_int_eq(req.msgs[2].role, MP_CR_TOOL);
    ck_assert(!req.msgs[2].has_text); /* a tool's output is not the user's */
    ck_assert_int_eq(req.msgs[4].role, MP_CR_ASSISTANT);
    ck_assert_str_eq(wf_text_of(body, &req.msgs[4]), "A");
    ck_assert_uint_eq(req.first_new_user, 5);
    ck_assert_str_eq(wf_text_of(body, &req.msgs[5]), "next");
}
END_TEST

START_TEST(test_responses_bad_requests)
{
    struct mp_chatreq req;
    ck_assert_int_eq(wf_scan("{\"model\":\"m\"}", &req), MP_EINVAL);   /* no input */
    ck_assert_int_eq(wf_scan("{\"input\":42}", &req), MP_EINVAL);      /* not text */
    ck_assert_int_eq(wf_scan("{\"input\":[\"x\"]}", &req), MP_EINVAL); /* not an item */
    ck_assert_int_eq(wf_scan("{\"input\":[{\"content\":\"x\"}]}", &req),
                     MP_EINVAL);                                    /* no role/type */
    ck_assert_int_eq(wf_scan("{\"input\":\"x\"", &req), MP_EINVAL); /* not JSON */
    const char *two = "{\"input\":[{\"role\":\"user\",\"content\":\"a\"},"
                      "{\"role\":\"user\",\"content\":\"b\"}]}";
    ck_assert_int_eq(mp_wire_responses.scan(two, strlen(two), wf_msgs, 1, &req), MP_ETOOBIG);
    ck_assert_int_eq(mp_wire_responses.scan(two, strlen(two), wf_msgs, 2, &req), MP_OK);
}
END_TEST

START_TEST(test_responses_upstream_state)
{
    struct mp_chatreq req;
    ck_assert_int_eq(wf_scan("{\"previous_response_id\":\"resp_1\",\"input\":\"q\"}", &req), MP_OK);
    ck_assert(req.upstream_state);
    ck_assert_int_eq(wf_scan("{\"conversation\":{\"id\":\"conv_1\"},\"input\":\"q\"}", &req),
                     MP_OK);
    ck_assert(req.upstream_state);
    /* an escaped name is the same name */
    ck_assert_int_eq(wf_scan("{\"previous_\\u0072esponse_id\":\"resp_1\",\"input\":\"q\"}", &req),
                     MP_OK);
    ck_assert(req.upstream_state);
    ck_assert_int_eq(wf_scan("{\"previous_response_id\":null,\"input\":\"q\"}", &req), MP_OK);
    ck_assert(!req.upstream_state);
    ck_assert_int_eq(wf_scan("{\"input\":\"q\",\"store\":false}", &req), MP_OK);
    ck_assert(!req.upstream_state && !req.stored);
}
END_TEST

/* stored: "store" absent, null or true (the API's default), or a chain
 * whatever "store" says; only the literal false without one is not. */
START_TEST(test_responses_stored)
{
    static const char *const stored[] = {
        "{\"input\":\"q\"}",
        "{\"input\":\"q\",\"store\":true}",
        "{\"store\":null,\"input\":\"q\"}",
        "{\"previous_response_id\":\"r\",\"store\":false,\"input\":\"q\"}",
        "{\"conversation\":\"c\",\"store\":false,\"input\":\"q\"}",
        "{\"store\":false,\"store\":true,\"input\":\"q\"}", /* the last one wins */
    };
    static const char *const unstored[] = {
        "{\"input\":\"q\",\"store\":false}",
        "{\"previous_response_id\":null,\"store\" : false ,\"input\":[]}",
    };
    struct mp_chatreq req;
    for (size_t k = 0; k < sizeof(stored) / sizeof(stored[0]); k++) {
        ck_assert_int_eq(wf_scan(stored[k], &req), MP_OK);
        ck_assert_msg(req.stored, "%s", stored[k]);
    }
    for (size_t k = 0; k < sizeof(unstored) / sizeof(unstored[0]); k++) {
        ck_assert_int_eq(wf_scan(unstored[k], &req), MP_OK);
        ck_assert_msg(!req.stored, "%s", unstored[k]);
    }
}
END_TEST

/* body spliced with upstream state: "input" exactly as it was, and the
 * decoded "instructions" equal to want (the body stays one JSON object). */
static char *spliced_state(const char *body, const char *want)
{
    char *out = wf_spliced(body, NULL, 0);
    size_t is, ie, bs, be, os, oe, n = 0;
    char text[256];
    ck_assert_int_eq(mp_json_find_member(body, strlen(body), "input", 5, &bs, &be), MP_OK);
    ck_assert_int_eq(mp_json_find_member(out, strlen(out), "input", 5, &os, &oe), MP_OK);
    ck_assert_uint_eq(oe - os, be - bs);
    ck_assert(memcmp(out + os, body + bs, be - bs) == 0);
    ck_assert_int_eq(mp_json_find_member(out, strlen(out), "instructions", 12, &is, &ie), MP_OK);
    ck_assert_int_eq(mp_json_string_decode(out, is, ie, text, sizeof(text) - 1, &n), MP_OK);
    text[n] = '\0';
    ck_assert_str_eq(text, want);
    return out;
}

START_TEST(test_responses_upstream_state_block_in_instructions)
{
    /* the client's text byte for byte (its escapes as it wrote them), then
       "\n\n" and the block in the same string; "input" untouched */
    const char *body = "{\"model\":\"m\",\"previous_response_id\":\"resp_1\",\"instructions\":"
                       "\"Be \\\"brief\\\"\\n\\u00e9 \xe2\x9c\x93\\\\\",\"input\":[{\"role\":"
                       "\"user\",\"content\":\"q\"}],\"store\":true}";
    char *out = spliced_state(body, "Be \"brief\"\n\xc3\xa9 \xe2\x9c\x93\\\n\nB");
    ck_assert_str_eq(out, "{\"model\":\"m\",\"previous_response_id\":\"resp_1\",\"instructions\":"
                          "\"Be \\\"brief\\\"\\n\\u00e9 \xe2\x9c\x93\\\\\\n\\nB\",\"input\":[{"
                          "\"role\":\"user\",\"content\":\"q\"}],\"store\":true}");
    free(out);
    /* conversation as an id and as an object; a string input stays a string */
    out = spliced_state("{\"conversation\":\"conv_1\",\"instructions\":\"\",\"input\":\"q\"}",
                        "\n\nB");
    ck_assert_str_eq(out,
                     "{\"conversation\":\"conv_1\",\"instructions\":\"\\n\\nB\",\"input\":\"q\"}");
    free(out);
    out = spliced_state("{\"conversation\":{\"id\":\"conv_1\"},\"input\":\"q\"}", "B");
    ck_assert_str_eq(
        out, "{\"instructions\":\"B\",\"conversation\":{\"id\":\"conv_1\"},\"input\":\"q\"}");
    free(out);
    /* instructions null: the block's string in its place */
    out = spliced_state(" { \"previous_response_id\":\"r\", \"instructions\" : null ,\"input\":[]}",
                        "B");
    ck_assert_str_eq(out, " { \"previous_response_id\":\"r\", \"instructions\" : \"B\" ,"
                          "\"input\":[]}");
    free(out);
}
END_TEST

START_TEST(test_responses_upstream_state_block_escaped)
{
    /* a block with quotes, a newline and non-ASCII text: escaped once, inside
       the client's string; picks are not written (nothing is replayed) */
    wf_use(&mp_wire_responses, "Facts:\n- name: \"Zo\xc3\xab\" \\ ok");
    const struct mp_wire_pick pick = {MP_ROLE_USER, "old", 3, false};
    const char *body = "{\"previous_response_id\":\"r\",\"instructions\":\"I\",\"input\":\"q\"}";
    char *out = wf_spliced(body, &pick, 1);
    ck_assert_str_eq(out, "{\"previous_response_id\":\"r\",\"instructions\":\"I\\n\\nFacts:\\n- "
                          "name: \\\"Zo\xc3\xab\\\" \\\\ ok\",\"input\":\"q\"}");
    free(out);
    free(spliced_state(body, "I\n\nFacts:\n- name: \"Zo\xc3\xab\" \\ ok"));
}
END_TEST

START_TEST(test_responses_upstream_state_instructions_not_a_string)
{
    /* the API takes a string or null: anything else has no place for the
       block, and the splice says so without touching *out */
    const char *const bodies[] = {
        ("{\"previous_response_id\":\"r\",\"instructions\":[{\"role\":\"developer\","
         "\"content\":\"x\"}],\"input\":\"q\"}"),
        "{\"conversation\":\"c\",\"instructions\":42,\"input\":\"q\"}",
        "{\"conversation\":\"c\",\"instructions\":{\"a\":1},\"input\":\"q\"}"};
    struct mp_wire_memory mem = {"B", 1, NULL, 0, NULL, 0, false};
    for (size_t k = 0; k < 3; k++) {
        struct mp_chatreq req;
        struct mp_splice out = {0};
        ck_assert_int_eq(wf_scan(bodies[k], &req), MP_OK);
        ck_assert(req.upstream_state);
        ck_assert_int_eq(mp_wire_responses.splice(bodies[k], strlen(bodies[k]), &req, &mem, &out),
                         MP_EUNSUPPORTED);
        ck_assert_ptr_null(out.gen);
        ck_assert_uint_eq(out.npieces, 0);
    }
    /* a request not stored: such instructions do not matter, into "input" */
    char *o = wf_spliced("{\"store\":false,\"instructions\":42,\"input\":\"q\"}", NULL, 0);
    ck_assert_str_eq(
        o, "{\"store\":false,\"instructions\":42,\"input\":[{\"role\":\"developer\",\"content\":"
           "\"B\"},{\"role\":\"user\",\"content\":\"q\"}]}");
    free(o);
}
END_TEST

START_TEST(test_responses_null_state_keeps_input_placement)
{
    /* previous_response_id and conversation null: no upstream state; not
       stored either, the block goes into "input" and "instructions" stays
       as it was */
    char *o =
        wf_spliced("{\"previous_response_id\":null,\"conversation\":null,\"store\":false,"
                   "\"instructions\":\"I\",\"input\":[{\"role\":\"user\",\"content\":\"q\"}]}",
                   NULL, 0);
    ck_assert_str_eq(o,
                     "{\"previous_response_id\":null,\"conversation\":null,\"store\":false,"
                     "\"instructions\":\"I\",\"input\":[{\"role\":\"developer\",\"content\":\"B\"},"
                     "{\"role\":\"user\",\"content\":\"q\"}]}");
    free(o);
    /* stored (no "store"): "instructions", "input" untouched */
    o = wf_spliced("{\"previous_response_id\":null,\"instructions\":\"I\",\"input\":[{\"role\":"
                   "\"user\",\"content\":\"q\"}]}",
                   NULL, 0);
    ck_assert_str_eq(o, "{\"previous_response_id\":null,\"instructions\":\"I\\n\\nB\",\"input\":[{"
                        "\"role\":\"user\",\"content\":\"q\"}]}");
    free(o);
}
END_TEST

/* ---- the reply ---- */

START_TEST(test_responses_reply_body)
{
    char *t = NULL;
    const char *body =
        "{\"id\":\"resp_1\",\"object\":\"response\",\"status\":\"completed\",\"output\":["
        "{\"type\":\"reasoning\",\"summary\":[{\"type\":\"summary_text\",\"text\":\"hmm\"}]},"
        "{\"type\":\"function_call\",\"name\":\"f\",\"arguments\":\"{}\"},"
        "{\"type\":\"message\",\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\","
        "\"text\":\"Hello\",\"annotations\":[]},{\"type\":\"refusal\",\"refusal\":\"no\"}]},"
        "{\"type\":\"message\",\"role\":\"assistant\",\"content\":[]},"
        "{\"type\":\"message\",\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\","
        "\"text\":\"w\\u00f6rld\"}]}]}";
    ck_assert_int_eq(wf_body_text(body, &t), MP_OK);
    ck_assert_str_eq(t, "Hello\nno\nw\xc3\xb6rld"); /* the refusal part is what it said */
    free(t);
    ck_assert_int_eq(wf_body_text("{\"status\":\"completed\"}", &t), MP_EINVAL);
    ck_assert_int_eq(wf_body_text("not json", &t), MP_EINVAL);
}
END_TEST

START_TEST(test_responses_reply_body_refusal_and_audio_are_words)
{
    char *t = NULL;
    const char *refused =
        "{\"status\":\"completed\",\"output\":[{\"type\":\"message\",\"role\":"
        "\"assistant\",\"content\":[{\"type\":\"refusal\",\"refusal\":\"I can\\u2019t "
        "help.\"}]}]}";
    ck_assert_int_eq(wf_body_text(refused, &t), MP_OK);
    ck_assert_str_eq(t, "I can\xe2\x80\x99t help.");
    free(t);
    const char *spoken =
        "{\"status\":\"completed\",\"output\":[{\"type\":\"web_search_call\",\"id\":\"ws_1\","
        "\"status\":\"completed\"},{\"type\":\"message\",\"content\":[{\"type\":"
        "\"output_audio\",\"data\":\"UklGRg==\",\"transcript\":\"Spoken words\"},{\"type\":"
        "\"output_text\",\"text\":\"and text\"},{\"type\":\"refusal\",\"refusal\":null}]}]}";
    ck_assert_int_eq(wf_body_text(spoken, &t), MP_OK);
    ck_assert_str_eq(t, "Spoken words\nand text");
    free(t);
}
END_TEST

/* A completed reply that says nothing (NOTFOUND: the user's words are
 * recorded) is told from one the upstream did not complete (EUPSTREAM:
 * nothing is). */
START_TEST(test_responses_reply_body_wordless_told_from_unfinished)
{
    char *t = NULL;
    static const char *const wordless[] = {
        "{\"status\":\"completed\",\"output\":[{\"type\":\"reasoning\",\"id\":\"rs_1\","
        "\"summary\":[]}]}",
        "{\"status\":\"completed\",\"output\":[{\"type\":\"image_generation_call\","
        "\"id\":\"ig_1\",\"status\":\"completed\",\"result\":\"iVBORw0KGgo=\"}]}",
        "{\"status\":\"completed\",\"output\":[{\"type\":\"web_search_call\",\"id\":\"ws_1\","
        "\"status\":\"completed\"},{\"type\":\"message\",\"content\":[]}]}",
        "{\"status\":\"completed\",\"output\":[{\"type\":\"function_call\"}]}",
        "{\"status\":\"completed\",\"output\":[]}",
    };
    for (size_t i = 0; i < sizeof(wordless) / sizeof(wordless[0]); i++)
        ck_assert_int_eq(wf_body_text(wordless[i], &t), MP_NOTFOUND);
    static const char *const unfinished[] = {
        "{\"status\":\"queued\",\"output\":[]}",
        "{\"status\":\"in_progress\",\"output\":[]}",
        "{\"status\":\"failed\",\"output\":[]}",
        "{\"status\":\"incomplete\",\"output\":[{\"type\":\"message\",\"content\":[{\"type\":"
        "\"output_text\",\"text\":\"x\"}]}]}",
        "{\"output\":[]}",
    };
    for (size_t i = 0; i < sizeof(unfinished) / sizeof(unfinished[0]); i++)
        ck_assert_int_eq(wf_body_text(unfinished[i], &t), MP_EUPSTREAM);
    ck_assert_ptr_null(t);
}
END_TEST

#define DELTA(t)                                                                                   \
    "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\","           \
    "\"item_id\":\"m\",\"output_index\":0,\"content_index\":0,\"delta\":\"" t "\"}\n\n"
#define COMPLETED(text)                                                                            \
    "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{"             \
    "\"status\":\"completed\",\"output\":[{\"type\":\"message\",\"content\":[{\"type\":"           \
    "\"output_text\",\"text\":\"" text "\"}]}]}}\n\n"

START_TEST(test_responses_stream)
{
    size_t n = 0;
    const char *const ok[] = {
        "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{}}\n\n",
        DELTA("Hel"), DELTA("lo \\u00e9"), COMPLETED("ignored: the deltas came")};
    struct mp_completion *c = wf_stream(ok, 4, 1024);
    ck_assert(mp_completion_complete(c) && !mp_completion_overflowed(c));
    ck_assert_str_eq(mp_completion_text(c, &n), "Hello \xc3\xa9");
    mp_completion_free(c);
    /* cut before completed: not complete */
    c = wf_stream(ok, 3, 1024);
    ck_assert(!mp_completion_complete(c));
    mp_completion_free(c);
    /* completed without deltas: the full response's text */
    const char *const whole[] = {COMPLETED("all at once")};
    c = wf_stream(whole, 1, 1024);
    ck_assert(mp_completion_complete(c));
    ck_assert_str_eq(mp_completion_text(c, &n), "all at once");
    mp_completion_free(c);
    /* an error event, a failed or an incomplete response: never complete */
    const char *const bad[][3] = {
        {DELTA("x"),
         "event: error\ndata: {\"type\":\"error\",\"code\":\"server_error\","
         "\"message\":\"boom\"}\n\n",
         COMPLETED("x")},
        {DELTA("x"),
         "event: response.failed\ndata: {\"type\":\"response.failed\",\"response\":"
         "{\"status\":\"failed\"}}\n\n",
         COMPLETED("x")},
        {DELTA("x"), "event: response.incomplete\ndata: {\"type\":\"response.incomplete\"}\n\n",
         COMPLETED("x")}};
    for (size_t k = 0; k < 3; k++) {
        c = wf_stream(bad[k], 3, 1024);
        ck_assert(!mp_completion_complete(c));
        mp_completion_free(c);
    }
    /* past the cap: overflowed */
    c = wf_stream(ok, 4, 4);
    ck_assert(mp_completion_overflowed(c));
    mp_completion_free(c);
}
END_TEST

#define EVENT(type, rest)                                                                          \
    "event: " type "\ndata: {\"type\":\"" type "\",\"item_id\":\"m\",\"output_index\":0," rest     \
    "}\n\n"

START_TEST(test_responses_stream_refusal_and_audio_deltas_are_words)
{
    size_t n = 0;
    const char *const refused[] = {
        EVENT("response.refusal.delta", "\"content_index\":0,\"delta\":\"I can't \""),
        EVENT("response.refusal.delta", "\"content_index\":0,\"delta\":\"help.\""),
        EVENT("response.refusal.done", "\"content_index\":0,\"refusal\":\"I can't help.\""),
        COMPLETED("ignored: the deltas came")};
    struct mp_completion *c = wf_stream(refused, 4, 1024);
    ck_assert(mp_completion_complete(c));
    ck_assert_str_eq(mp_completion_text(c, &n), "I can't help.");
    mp_completion_free(c);
    const char *const spoken[] = {
        EVENT("response.audio.delta", "\"delta\":\"UklGRg==\""),
        EVENT("response.audio.transcript.delta", "\"delta\":\"Spoken \""),
        EVENT("response.audio.transcript.delta", "\"delta\":\"words\""),
        EVENT("response.audio.transcript.done", "\"transcript\":\"Spoken words\""),
        COMPLETED("ignored: the deltas came")};
    c = wf_stream(spoken, 5, 1024);
    ck_assert(mp_completion_complete(c));
    ck_assert_str_eq(mp_completion_text(c, &n), "Spoken words");
    mp_completion_free(c);
    /* completed without deltas: a refusal part of the full response */
    const char *const whole[] = {
        "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{"
        "\"status\":\"completed\",\"output\":[{\"type\":\"message\",\"content\":[{\"type\":"
        "\"refusal\",\"refusal\":\"No.\"}]}]}}\n\n"};
    c = wf_stream(whole, 1, 1024);
    ck_assert(mp_completion_complete(c));
    ck_assert_str_eq(mp_completion_text(c, &n), "No.");
    mp_completion_free(c);
}
END_TEST

/* Every test starts with the block "B" (one test uses its own). */
static void use_b(void)
{
    wf_use(&mp_wire_responses, "B");
}

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("wire_responses");
    wf_use(&mp_wire_responses, "B");
    TCase *tc = tcase_create("responses");
    tcase_add_checked_fixture(tc, use_b, NULL);
    tcase_add_test(tc, test_responses_string_input_becomes_an_array);
    tcase_add_test(tc, test_responses_block_after_leading_system_and_developer_items);
    tcase_add_test(tc, test_responses_items_roles_and_text);
    tcase_add_test(tc, test_responses_bad_requests);
    tcase_add_test(tc, test_responses_upstream_state);
    tcase_add_test(tc, test_responses_stored);
    tcase_add_test(tc, test_responses_upstream_state_block_in_instructions);
    tcase_add_test(tc, test_responses_upstream_state_block_escaped);
    tcase_add_test(tc, test_responses_upstream_state_instructions_not_a_string);
    tcase_add_test(tc, test_responses_null_state_keeps_input_placement);
    tcase_add_test(tc, test_responses_reply_body);
    tcase_add_test(tc, test_responses_reply_body_refusal_and_audio_are_words);
    tcase_add_test(tc, test_responses_reply_body_wordless_told_from_unfinished);
    tcase_add_test(tc, test_responses_stream);
    tcase_add_test(tc, test_responses_stream_refusal_and_audio_deltas_are_words);
    tcase_add_test(tc, test_responses_tail);
    suite_add_tcase(s, tc);
    return s;
}
