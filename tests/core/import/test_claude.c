/* core/import/claude.c: a Claude export's conversations.json into
 * messages: text blocks kept, other blocks, attachments and files
 * counted, the branch of current_leaf_message_uuid, ISO times, malformed
 * files refused with their line. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "import/claude.h"
#include "import_fixture.h"
#include "status.h"

Suite *mp_test_suite(void);

#define NOW 1735689600000LL /* 2025-01-01 */

static struct mp_import_batch b;
static struct mp_import_error err;

static void setup(void)
{
    size_t len;
    char *buf = fx_read("claude_conversations.json", &len);
    memset(&b, 0, sizeof(b));
    ck_assert_int_eq(mp_claude_read(buf, len, NOW, &b, &err), MP_OK);
    free(buf);
}

static void teardown(void)
{
    mp_importitem_free(&b);
}

static int read_text(const char *text)
{
    mp_importitem_free(&b);
    return mp_claude_read(text, strlen(text), NOW, &b, &err);
}

START_TEST(test_claude_messages_in_order_text_blocks_kept)
{
    static const char *const want[] = {"I grow tomatoes on my balcony.",
                                       "Tomatoes love sun.",
                                       "See my notes, I water them twice a day.",
                                       "I am learning Italian.",
                                       "Bravo! How long have you studied?",
                                       "Three months.",
                                       "A good start."};
    ck_assert_uint_eq(b.n, 7);
    for (size_t i = 0; i < b.n; i++)
        ck_assert_str_eq(b.items[i].text, want[i]);
    ck_assert_int_eq(b.items[0].role, MP_ROLE_USER);
    ck_assert_int_eq(b.items[1].role, MP_ROLE_ASSISTANT);
}
END_TEST

START_TEST(test_claude_other_blocks_attachments_and_files_counted)
{
    ck_assert_uint_eq(b.skipped[MP_IMPORT_SKIP_REASONING], 1);
    ck_assert_uint_eq(b.skipped[MP_IMPORT_SKIP_TOOL], 2);
    ck_assert_uint_eq(b.skipped[MP_IMPORT_SKIP_FILE], 1);  /* notes.txt */
    ck_assert_uint_eq(b.skipped[MP_IMPORT_SKIP_IMAGE], 1); /* photo.jpg: no text, not empty */
    ck_assert_uint_eq(b.skipped[MP_IMPORT_SKIP_EMPTY], 0);
    ck_assert_ptr_null(fx_item(&b, "water, sun"));
}
END_TEST

START_TEST(test_claude_branch_of_the_current_leaf)
{
    ck_assert_ptr_null(fx_item(&b, "Two years."));
    ck_assert_uint_eq(b.skipped[MP_IMPORT_SKIP_OTHER_BRANCH], 1);
    /* without a leaf every message is kept, in order */
    ck_assert_int_eq(
        read_text("[{\"uuid\":\"c\",\"chat_messages\":["
                  "{\"uuid\":\"1\",\"sender\":\"human\",\"text\":\"a\","
                  "\"created_at\":\"2024-01-01T00:00:00Z\",\"parent_message_uuid\":\"0\"},"
                  "{\"uuid\":\"2\",\"sender\":\"human\",\"text\":\"b\","
                  "\"created_at\":\"2024-01-01T00:00:00Z\",\"parent_message_uuid\":\"0\"}]}]"),
        MP_OK);
    ck_assert_uint_eq(b.n, 2);
}
END_TEST

START_TEST(test_claude_iso_times_ids_and_conversations)
{
    const struct mp_import_item *m1 = fx_item(&b, "I grow tomatoes on my balcony.");
    ck_assert_int_eq(m1->at_ms, 1709287201123LL);
    ck_assert_int_eq(fx_item(&b, "Tomatoes love sun.")->at_ms, 1709287205500LL);
    ck_assert_str_eq(m1->id, "claude:4c1a0000-0000-4000-8000-0000000000a1/m1");
    ck_assert_uint_eq(b.nconvs, 2);
    ck_assert_str_eq(b.convs[1].source, "claude");
    ck_assert_uint_eq(fx_item(&b, "A good start.")->conv_ref, 2);
    /* no created_at: the conversation's */
    ck_assert_int_eq(read_text("[{\"uuid\":\"c\",\"created_at\":\"2024-01-01T00:00:01Z\","
                               "\"chat_messages\":[{\"sender\":\"human\",\"text\":\"x\"}]}]"),
                     MP_OK);
    ck_assert_int_eq(b.items[0].at_ms, 1704067201000LL);
    ck_assert(!b.items[0].has_id); /* no uuid: the proxy derives one */
}
END_TEST

static void refused(const char *text, const char *why, size_t line)
{
    ck_assert_int_eq(read_text(text), MP_EINVAL);
    ck_assert_str_eq(err.why, why);
    ck_assert_uint_eq(err.line, line);
}

START_TEST(test_claude_malformed_files_refused_with_a_clear_reason)
{
    refused("[", "not JSON", 1);
    refused("{\"uuid\":\"c\"}", "not a list of conversations", 1);
    refused("[{\"chat_messages\":[]}]", "uuid", 1);
    refused("[{\"uuid\":\"c\"}]", "chat_messages", 1);
    refused("[{\"uuid\":\"c\",\"chat_messages\":[\n{\"sender\":7,\"text\":\"x\"}]}]", "sender", 2);
    refused("[{\"uuid\":\"c\",\"chat_messages\":[{\"sender\":\"human\",\"text\":\"x\","
            "\"created_at\":\"soon\"}]}]",
            "created_at", 1);
    refused("[{\"uuid\":\"c\",\"chat_messages\":[{\"sender\":\"human\",\"text\":\"x\"}]}]",
            "created_at", 1);
    refused("[{\"uuid\":\"c\",\"chat_messages\":[{\"sender\":\"human\",\"content\":[7],"
            "\"created_at\":\"2024-01-01T00:00:00Z\"}]}]",
            "content", 1);
    refused("[{\"uuid\":\"c\",\"current_leaf_message_uuid\":\"1\",\"chat_messages\":["
            "{\"uuid\":\"1\",\"sender\":\"human\",\"text\":\"a\",\"parent_message_uuid\":\"2\"},"
            "{\"uuid\":\"2\",\"sender\":\"human\",\"text\":\"b\",\"parent_message_uuid\":\"1\"}]}]",
            "parent_message_uuid", 1);
    /* another sender is left out, not refused */
    ck_assert_int_eq(read_text("[{\"uuid\":\"c\",\"chat_messages\":[{\"sender\":\"system\","
                               "\"text\":\"x\",\"created_at\":\"2024-01-01T00:00:00Z\"}]}]"),
                     MP_OK);
    ck_assert_uint_eq(b.skipped[MP_IMPORT_SKIP_UNSUPPORTED], 1);
}
END_TEST

START_TEST(test_claude_time_past_now_plus_a_day_refused_naming_its_line)
{
    ck_assert_int_eq(
        read_text(
            "[{\"uuid\":\"c\",\"chat_messages\":[\n"
            "{\"sender\":\"human\",\"text\":\"ok\",\"created_at\":\"2024-01-01T00:00:00Z\"},\n"
            "{\"sender\":\"human\",\"text\":\"late\",\n"
            "\"created_at\":\"2025-01-02T00:00:01Z\"}]}]"),
        MP_EINVAL);
    ck_assert_str_eq(err.why, "at");
    ck_assert(err.future);
    ck_assert_uint_eq(err.line, 4);
    ck_assert_uint_eq(err.conversation, 1);
    ck_assert_uint_eq(err.message, 2);
}
END_TEST

START_TEST(test_claude_byte_order_mark_and_title_of_a_refusal)
{
    ck_assert_int_eq(
        read_text("\xef\xbb\xbf[{\"uuid\":\"c\",\"chat_messages\":[{\"sender\":"
                  "\"human\",\"text\":\"hi\",\"created_at\":\"2024-01-01T00:00:00Z\"}]}]"),
        MP_OK);
    ck_assert_uint_eq(b.nmessages, 1);
    ck_assert_int_eq(read_text("[{\"uuid\":\"c\",\"name\":\"Trip\",\"chat_messages\":[{\"sender\":"
                               "7,\"text\":\"hi\"}]}]"),
                     MP_EINVAL);
    ck_assert_str_eq(err.why, "sender");
    ck_assert_str_eq(err.title, "Trip");
    ck_assert_uint_eq(err.message, 1);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("claude");
    TCase *tc = tcase_create("claude");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_claude_messages_in_order_text_blocks_kept);
    tcase_add_test(tc, test_claude_other_blocks_attachments_and_files_counted);
    tcase_add_test(tc, test_claude_branch_of_the_current_leaf);
    tcase_add_test(tc, test_claude_iso_times_ids_and_conversations);
    tcase_add_test(tc, test_claude_malformed_files_refused_with_a_clear_reason);
    tcase_add_test(tc, test_claude_time_past_now_plus_a_day_refused_naming_its_line);
    tcase_add_test(tc, test_claude_byte_order_mark_and_title_of_a_refusal);
    suite_add_tcase(s, tc);
    return s;
}
