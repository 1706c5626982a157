/* core/import/chatgpt.c: a ChatGPT export's conversations.json into
 * messages: the kept branch only, what is hidden or no text left out and
 * counted, float times, ids and conversations, malformed files refused
 * with their line. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "import/chatgpt.h"
#include "import_fixture.h"
#include "status.h"

Suite *mp_test_suite(void);

#define NOW 1735689600000LL /* 2025-01-01 */

static struct mp_import_batch b;
static struct mp_import_error err;

static void setup(void)
{
    size_t len;
    char *buf = fx_read("chatgpt_conversations.json", &len);
    memset(&b, 0, sizeof(b));
    ck_assert_int_eq(mp_chatgpt_read(buf, len, NOW, &b, &err), MP_OK);
    free(buf);
}

static void teardown(void)
{
    mp_importitem_free(&b);
}

/* Reads text alone: its status, b and err filled. */
static int read_text(const char *text)
{
    mp_importitem_free(&b);
    return mp_chatgpt_read(text, strlen(text), NOW, &b, &err);
}

START_TEST(test_chatgpt_walks_current_node_branch_not_the_abandoned_edit)
{
    static const char *const want[] = {"I am moving to Graz next month.",
                                       "Graz is lovely. Do you need help with the move?",
                                       "Here is a photo of my new flat in Graz.",
                                       "The flat looks bright and spacious.",
                                       "Also, I love hiking.",
                                       "My cat is called Miso.",
                                       "Miso is a lovely name."};
    static const enum mp_role roles[] = {MP_ROLE_USER,      MP_ROLE_ASSISTANT, MP_ROLE_USER,
                                         MP_ROLE_ASSISTANT, MP_ROLE_USER,      MP_ROLE_USER,
                                         MP_ROLE_ASSISTANT};
    ck_assert_uint_eq(b.n, 7);
    ck_assert_uint_eq(b.nmessages, 7);
    for (size_t i = 0; i < b.n; i++) {
        ck_assert_str_eq(b.items[i].text, want[i]);
        ck_assert_int_eq(b.items[i].role, roles[i]);
        ck_assert_int_eq(b.items[i].type, MP_IMPORT_MESSAGE);
    }
    ck_assert_ptr_null(fx_item(&b, "Actually I mean Vienna."));
    ck_assert_ptr_null(fx_item(&b, "Vienna it is."));
    ck_assert_uint_eq(b.skipped[MP_IMPORT_SKIP_OTHER_BRANCH], 2);
}
END_TEST

START_TEST(test_chatgpt_hidden_system_tool_and_reasoning_nodes_left_out)
{
    ck_assert_uint_eq(b.skipped[MP_IMPORT_SKIP_HIDDEN], 1); /* the hidden system node */
    ck_assert_uint_eq(b.skipped[MP_IMPORT_SKIP_SYSTEM], 0); /* counted once, as hidden */
    ck_assert_uint_eq(b.skipped[MP_IMPORT_SKIP_TOOL], 2);   /* code to python, its output */
    ck_assert_uint_eq(b.skipped[MP_IMPORT_SKIP_REASONING], 1);
    ck_assert_ptr_null(fx_item(&b, "print(1)"));
    ck_assert_ptr_null(fx_item(&b, "1"));
    ck_assert_uint_eq(read_text("[{\"id\":\"c\",\"current_node\":\"s\",\"mapping\":{\"s\":{"
                                "\"parent\":null,\"message\":{\"author\":{\"role\":\"system\"},"
                                "\"create_time\":1,\"content\":{\"content_type\":\"text\","
                                "\"parts\":[\"be nice\"]}}}}}]"),
                      MP_OK);
    ck_assert_uint_eq(b.n, 0);
    ck_assert_uint_eq(b.skipped[MP_IMPORT_SKIP_SYSTEM], 1);
}
END_TEST

START_TEST(test_chatgpt_float_seconds_to_ms_and_missing_times_inherited)
{
    ck_assert_int_eq(fx_item(&b, "I am moving to Graz next month.")->at_ms, 1683554161250LL);
    ck_assert_int_eq(fx_item(&b, "Here is a photo of my new flat in Graz.")->at_ms,
                     1683554200750LL);
    /* no create_time: the node before it in the branch (left out) */
    ck_assert_int_eq(fx_item(&b, "The flat looks bright and spacious.")->at_ms, 1683554203000LL);
    ck_assert_int_eq(fx_item(&b, "Miso is a lovely name.")->at_ms, 1700000002500LL);
    /* none at all: the conversation's */
    ck_assert_uint_eq(read_text("[{\"id\":\"c\",\"create_time\":7.5,\"current_node\":\"u\","
                                "\"mapping\":{\"u\":{\"message\":{\"author\":{\"role\":\"user\"},"
                                "\"content\":{\"content_type\":\"text\",\"parts\":[\"hi\"]}}}}}]"),
                      MP_OK);
    ck_assert_int_eq(b.items[0].at_ms, 7500);
}
END_TEST

START_TEST(test_chatgpt_non_text_parts_counted_text_parts_kept)
{
    ck_assert_uint_eq(b.skipped[MP_IMPORT_SKIP_IMAGE], 1);
    ck_assert_uint_eq(b.skipped[MP_IMPORT_SKIP_AUDIO], 1);
    ck_assert_uint_eq(b.skipped[MP_IMPORT_SKIP_EMPTY], 0);
    /* an image alone is no empty message: it counts as an image */
    ck_assert_uint_eq(read_text("[{\"id\":\"c\",\"current_node\":\"u\",\"mapping\":{\"u\":{"
                                "\"message\":{\"author\":{\"role\":\"user\"},\"create_time\":1,"
                                "\"content\":{\"content_type\":\"multimodal_text\",\"parts\":["
                                "{\"content_type\":\"image_asset_pointer\"},{\"content_type\":"
                                "\"file_thing\"},\"  \"]}}}}}]"),
                      MP_OK);
    ck_assert_uint_eq(b.n, 0);
    ck_assert_uint_eq(b.skipped[MP_IMPORT_SKIP_IMAGE], 1);
    ck_assert_uint_eq(b.skipped[MP_IMPORT_SKIP_FILE], 1);
    ck_assert_uint_eq(b.skipped[MP_IMPORT_SKIP_EMPTY], 0);
    /* parts joined by a blank line */
    ck_assert_uint_eq(read_text("[{\"id\":\"c\",\"current_node\":\"u\",\"mapping\":{\"u\":{"
                                "\"message\":{\"author\":{\"role\":\"user\"},\"create_time\":1,"
                                "\"content\":{\"content_type\":\"text\",\"parts\":[\"a\",\"b\"]},"
                                "\"recipient\":\"all\"}}}}]"),
                      MP_OK);
    ck_assert_str_eq(b.items[0].text, "a\n\nb");
}
END_TEST

START_TEST(test_chatgpt_ids_and_conversations_kept)
{
    const struct mp_import_item *u1 = fx_item(&b, "I am moving to Graz next month.");
    const struct mp_import_item *cat = fx_item(&b, "My cat is called Miso.");
    ck_assert(u1->has_id);
    ck_assert_str_eq(u1->id, "chatgpt:c0ffee00-0000-4000-8000-000000000001/m-u1");
    ck_assert_uint_eq(b.nconvs, 2);
    ck_assert_uint_eq(u1->conv_ref, 1);
    ck_assert_uint_eq(cat->conv_ref, 2);
    ck_assert_str_eq(b.convs[0].source, "chatgpt");
    ck_assert_str_eq(b.convs[1].id, "c0ffee00-0000-4000-8000-000000000002"); /* by "id" */
    /* one conversation object, not in a list, is read too */
    ck_assert_uint_eq(read_text("{\"id\":\"c\",\"current_node\":\"u\",\"mapping\":{\"u\":{"
                                "\"message\":{\"id\":\"x\",\"author\":{\"role\":\"user\"},"
                                "\"create_time\":1,\"content\":{\"content_type\":\"text\","
                                "\"parts\":[\"alone\"]}}}}}"),
                      MP_OK);
    ck_assert_str_eq(b.items[0].id, "chatgpt:c/x");
}
END_TEST

/* What read_text refuses, and where. */
static void refused(const char *text, const char *why, size_t line)
{
    ck_assert_int_eq(read_text(text), MP_EINVAL);
    ck_assert_str_eq(err.why, why);
    ck_assert_uint_eq(err.line, line);
}

START_TEST(test_chatgpt_malformed_files_refused_with_a_clear_reason)
{
    refused("[{\"id\":", "not JSON", 1);
    refused("42", "not a list of conversations", 1);
    refused("[42]", "not a list of conversations", 1);
    refused("[{\"current_node\":\"u\",\"mapping\":{}}]", "conversation_id", 1);
    refused("[{\"id\":\"c\",\"current_node\":\"u\"}]", "mapping", 1);
    /* parents that loop, with no current_node: no leaf to start from */
    refused("[{\"id\":\"c\",\"mapping\":{\"a\":{\"parent\":\"b\"},\"b\":{\"parent\":\"a\"}}}]",
            "parent", 1);
    refused("[{\"id\":\"c\",\"current_node\":\"x\",\"mapping\":{\"u\":{}}}]", "current_node", 1);
    refused("[{\"id\":\"c\",\"current_node\":\"u\",\"mapping\":{\n\"u\":{\"parent\":\"gone\"}}}]",
            "parent", 2);
    /* parents that loop */
    refused("[{\"id\":\"c\",\"current_node\":\"a\",\"mapping\":{\"a\":{\"parent\":\"b\"},"
            "\"b\":{\"parent\":\"a\"}}}]",
            "parent", 1);
    refused("[{\"id\":\"c\",\"current_node\":\"u\",\"mapping\":{\"u\":{\"message\":{"
            "\"author\":{\"role\":\"user\"},\"create_time\":\"yesterday\",\"content\":{"
            "\"content_type\":\"text\",\"parts\":[\"x\"]}}}}}]",
            "create_time", 1);
    refused("[{\"id\":\"c\",\"current_node\":\"u\",\"mapping\":{\"u\":{\"message\":{"
            "\"author\":{\"role\":\"user\"},\"create_time\":1,\"content\":{"
            "\"content_type\":\"text\",\"parts\":\"x\"}}}}}]",
            "content", 1);
    refused("[{\"id\":\"c\",\"current_node\":\"u\",\"mapping\":{\"u\":{\"message\":{"
            "\"author\":\"me\",\"create_time\":1}}}}]",
            "author", 1);
    ck_assert(!err.future);
}
END_TEST

START_TEST(test_chatgpt_time_past_now_plus_a_day_refused_naming_its_line)
{
    /* a day and a second ahead, on line 4, in the second conversation */
    const char *text = "[{\"id\":\"a\",\"current_node\":\"u\",\"mapping\":{\"u\":{\"message\":{"
                       "\"author\":{\"role\":\"user\"},\"create_time\":1,\"content\":{"
                       "\"content_type\":\"text\",\"parts\":[\"fine\"]}}}}},\n"
                       "{\"id\":\"b\",\"current_node\":\"u\",\"mapping\":{\"u\":{\n\"message\":{"
                       "\"author\":{\"role\":\"user\"},\n\"create_time\":1735776001,"
                       "\"content\":{\"content_type\":\"text\",\"parts\":[\"late\"]}}}}}]";
    ck_assert_int_eq(read_text(text), MP_EINVAL);
    ck_assert_str_eq(err.why, "at");
    ck_assert(err.future);
    ck_assert_uint_eq(err.line, 4);
    ck_assert_uint_eq(err.conversation, 2);
    ck_assert_uint_eq(err.message, 1);
    /* a day ahead is within the skew */
    char ok[512];
    snprintf(ok, sizeof(ok),
             "[{\"id\":\"a\",\"current_node\":\"u\",\"mapping\":{\"u\":{\"message\":{"
             "\"author\":{\"role\":\"user\"},\"create_time\":%lld,\"content\":{"
             "\"content_type\":\"text\",\"parts\":[\"soon\"]}}}}}]",
             (NOW + 24LL * 3600 * 1000) / 1000);
    ck_assert_int_eq(read_text(ok), MP_OK);
    refused("[{\"id\":\"a\",\"current_node\":\"u\",\"mapping\":{\"u\":{\"message\":{"
            "\"author\":{\"role\":\"user\"},\"create_time\":-1,\"content\":{"
            "\"content_type\":\"text\",\"parts\":[\"x\"]}}}}}]",
            "create_time", 1);
}
END_TEST

/* A node of the tree: id, parent (NULL: the root), role, time, text. */
#define NODE(id, parent, role, t, text)                                                            \
    "\"" id "\":{\"parent\":" parent ",\"message\":{\"id\":\"" id                                  \
    "\",\"author\":{\"role\":\"" role "\"},\"create_time\":" t                                     \
    ",\"content\":{\"content_type\":\"text\",\"parts\":[\"" text "\"]}}}"

START_TEST(test_chatgpt_without_current_node_keeps_the_newest_leaf)
{
    /* a third-party tool's minimal shape: no current_node, no children;
       the answer was regenerated (a2 newer than a1) */
    ck_assert_int_eq(
        read_text(
            "[{\"id\":\"c\",\"mapping\":{"
            "\"r\":{\"parent\":null}," NODE("u1", "\"r\"", "user", "10", "Which city?") "," NODE(
                "a2", "\"u1\"", "assistant", "30",
                "Graz, again.") "," NODE("a1", "\"u1\"", "assistant", "20", "Graz.") "}}]"),
        MP_OK);
    ck_assert_uint_eq(b.nmessages, 2);
    ck_assert_str_eq(b.items[0].text, "Which city?");
    ck_assert_str_eq(b.items[1].text, "Graz, again.");
    ck_assert_uint_eq(b.skipped[MP_IMPORT_SKIP_OTHER_BRANCH], 1);
    /* equal times: the later in the file */
    ck_assert_int_eq(
        read_text("[{\"id\":\"c\",\"mapping\":{" NODE("u1", "null", "user", "10", "Hi") "," NODE(
            "a1", "\"u1\"", "assistant", "20", "first") "," NODE("a2", "\"u1\"", "assistant", "20",
                                                                 "second") "}}]"),
        MP_OK);
    ck_assert_uint_eq(b.nmessages, 2);
    ck_assert_str_eq(b.items[1].text, "second");
    /* an empty mapping is an empty conversation */
    ck_assert_int_eq(read_text("[{\"id\":\"c\",\"mapping\":{}}]"), MP_OK);
    ck_assert_uint_eq(b.n, 0);
}
END_TEST

START_TEST(test_chatgpt_byte_order_mark_accepted)
{
    ck_assert_int_eq(read_text("\xef\xbb\xbf[{\"id\":\"c\",\"mapping\":{" NODE(
                         "u1", "null", "user", "10", "Hello") "}}]"),
                     MP_OK);
    ck_assert_uint_eq(b.nmessages, 1);
    /* a mark elsewhere is still no JSON */
    refused("[\xef\xbb\xbf]", "not JSON", 1);
}
END_TEST

/* A conversation whose first message is the custom instructions, at t. */
#define INSTR_CONV(id, t, about, how)                                                              \
    "{\"id\":\"" id "\",\"mapping\":{\"i\":{\"parent\":null,\"message\":{\"id\":\"i\","            \
    "\"author\":{\"role\":\"user\"},\"create_time\":" t ",\"content\":{\"content_type\":"          \
    "\"user_editable_context\",\"user_profile\":\"The user provided the following information "    \
    "about themselves.\\nUser profile:\\n```" about "```\",\"user_instructions\":\"The user "      \
    "provided the additional info about how they would like you to respond:\\n```" how "```\"},"   \
    "\"metadata\":{\"is_visually_hidden_from_conversation\":true}}}," NODE("u", "\"i\"", "user",   \
                                                                           t, "Hello") "}}"

START_TEST(test_chatgpt_custom_instructions_kept_as_the_persons_facts)
{
    /* two conversations: the newer instructions win; the person's words
       only, not ChatGPT's text around them, one line */
    ck_assert_int_eq(
        read_text("[" INSTR_CONV("old", "10", "I live in Linz.", "Be formal.") "," INSTR_CONV(
            "new", "20", "I live in Graz.\\nI am a nurse.", "Be brief.") "]"),
        MP_OK);
    ck_assert_uint_eq(b.nmessages, 2);
    ck_assert_uint_eq(b.nfacts, 2);
    ck_assert_uint_eq(b.skipped[MP_IMPORT_SKIP_HIDDEN], 0);
    const struct mp_import_item *about = fx_item(&b, "I live in Graz. I am a nurse.");
    const struct mp_import_item *how = fx_item(&b, "Be brief.");
    ck_assert_int_eq(about->type, MP_IMPORT_FACT);
    ck_assert_str_eq(about->key, "about_me");
    ck_assert_str_eq(how->key, "how_to_respond");
    ck_assert_int_eq(about->trust, MP_TRUST_STATED);
    ck_assert_str_eq(about->source, "custom_instructions");
    ck_assert_int_eq(about->at_ms, 20000);
    ck_assert(about->has_id);
    ck_assert_str_eq(about->id, "chatgpt:custom_instructions/about_me/" /* text's FNV-1a */
                                "d28502307e671dd4");
    ck_assert(fx_item(&b, "I live in Linz.") == NULL);
    /* the newer shape: the person's words in metadata */
    ck_assert_int_eq(
        read_text(
            "{\"id\":\"m\",\"mapping\":{\"i\":{\"parent\":null,\"message\":{\"id\":\"i\","
            "\"author\":{\"role\":\"system\"},\"create_time\":5,\"content\":{\"content_type\":"
            "\"user_editable_context\",\"user_profile\":\"x\"},\"metadata\":{"
            "\"is_visually_hidden_from_conversation\":true,\"user_context_message_data\":{"
            "\"about_user_message\":\"  I build\\u0085\\tbikes.  \"}}}}}}"),
        MP_OK);
    ck_assert_uint_eq(b.nfacts, 1);
    ck_assert_str_eq(b.items[0].text, "I build bikes.");
    ck_assert_str_eq(b.items[0].key, "about_me");
}
END_TEST

START_TEST(test_chatgpt_refusal_names_the_conversation_by_title)
{
    ck_assert_int_eq(read_text("[{\"id\":\"a\",\"title\":\"Fine\",\"mapping\":{}},\n"
                               "{\"id\":\"b\",\"title\":\"Trip\",\"mapping\":{\"u\":{\"message\":{"
                               "\"author\":\"me\",\"create_time\":1}}}}]"),
                     MP_EINVAL);
    ck_assert_str_eq(err.why, "author");
    ck_assert_uint_eq(err.conversation, 2);
    ck_assert_uint_eq(err.message, 1);
    ck_assert_uint_eq(err.line, 2);
    ck_assert_str_eq(err.title, "Trip");
    char title[200];
    memset(title, 'T', sizeof(title));
    char text[400];
    snprintf(text, sizeof(text), "[{\"title\":\"%.*s\",\"mapping\":{}}]", 100, title);
    ck_assert_int_eq(read_text(text), MP_EINVAL); /* no id */
    ck_assert_uint_eq(strlen(err.title), MP_IMPORT_TITLE_MAX + 3);
    ck_assert_str_eq(err.title + MP_IMPORT_TITLE_MAX, "...");
}
END_TEST

START_TEST(test_chatgpt_long_text_cut_like_a_turn)
{
    size_t n = MP_MESSAGE_CONTENT_MAX + 100;
    char *text = malloc(n + 256);
    int k = snprintf(text, 256,
                     "[{\"id\":\"a\",\"current_node\":\"u\",\"mapping\":{\"u\":{\"message\":{"
                     "\"author\":{\"role\":\"user\"},\"create_time\":1,\"content\":{"
                     "\"content_type\":\"text\",\"parts\":[\"");
    memset(text + k, 'x', n);
    strcpy(text + k + n, "\"]}}}}}]");
    ck_assert_int_eq(read_text(text), MP_OK);
    ck_assert_uint_le(b.items[0].text_len, MP_MESSAGE_CONTENT_MAX);
    ck_assert_str_eq(b.items[0].text + b.items[0].text_len - 3, "\xe2\x80\xa6");
    free(text);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("chatgpt");
    TCase *tc = tcase_create("chatgpt");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_chatgpt_walks_current_node_branch_not_the_abandoned_edit);
    tcase_add_test(tc, test_chatgpt_hidden_system_tool_and_reasoning_nodes_left_out);
    tcase_add_test(tc, test_chatgpt_float_seconds_to_ms_and_missing_times_inherited);
    tcase_add_test(tc, test_chatgpt_non_text_parts_counted_text_parts_kept);
    tcase_add_test(tc, test_chatgpt_ids_and_conversations_kept);
    tcase_add_test(tc, test_chatgpt_malformed_files_refused_with_a_clear_reason);
    tcase_add_test(tc, test_chatgpt_time_past_now_plus_a_day_refused_naming_its_line);
    tcase_add_test(tc, test_chatgpt_long_text_cut_like_a_turn);
    tcase_add_test(tc, test_chatgpt_without_current_node_keeps_the_newest_leaf);
    tcase_add_test(tc, test_chatgpt_byte_order_mark_accepted);
    tcase_add_test(tc, test_chatgpt_custom_instructions_kept_as_the_persons_facts);
    tcase_add_test(tc, test_chatgpt_refusal_names_the_conversation_by_title);
    suite_add_tcase(s, tc);
    return s;
}
