/* core/import/importwhy.c: a refused import file in words a person
 * reads: the file, its line, the conversation by place and title, the
 * message, and what is wrong with which field. */
#include <check.h>
#include <string.h>

#include "import/importwhy.h"

Suite *mp_test_suite(void);

static const char *say(const struct mp_import_error *err, const char *file)
{
    static char out[320];
    mp_importwhy_say(err, file, out, sizeof(out));
    return out;
}

START_TEST(test_importwhy_export_names_conversation_title_and_message)
{
    struct mp_import_error err = {.line = 40, .why = "author", .conversation = 3, .message = 12};
    strcpy(err.title, "Trip");
    ck_assert_str_eq(say(&err, "conversations.json"),
                     "conversations.json, line 40, conversation 3 (\"Trip\"), message 12: field "
                     "`author` is missing or not an object. Nothing was imported.");
    err.title[0] = '\0';
    err.message = 0;
    err.why = "mapping";
    ck_assert_str_eq(say(&err, "conversations.json"),
                     "conversations.json, line 40, conversation 3: field `mapping` is missing or "
                     "not an object of nodes. Nothing was imported.");
    err.future = true;
    ck_assert_str_eq(say(&err, "conversations.json"),
                     "conversations.json, line 40, conversation 3: its time is more than a day "
                     "past now. Nothing was imported.");
}
END_TEST

START_TEST(test_importwhy_lines_and_the_whole_upload)
{
    struct mp_import_error err = {.line = 2, .why = "not UTF-8 text"};
    ck_assert_str_eq(say(&err, NULL), "Line 2: the line is not UTF-8 text, or holds a control "
                                      "character. Nothing was imported.");
    err.why = "reply_ref"; /* a field without words of its own */
    ck_assert_str_eq(say(&err, NULL),
                     "Line 2: field `reply_ref` is not valid. Nothing was imported.");
    struct mp_import_error zip = {.line = 0, .why = "the ZIP holds no conversations.json"};
    ck_assert_str_eq(say(&zip, "conversations.json"),
                     "The upload: the ZIP holds no conversations.json. Nothing was imported.");
}
END_TEST

START_TEST(test_importwhy_cut_to_fit)
{
    struct mp_import_error err = {.line = 1, .why = "author", .conversation = 1, .message = 1};
    memset(err.title, 'T', MP_IMPORT_TITLE_MAX);
    strcpy(err.title + MP_IMPORT_TITLE_MAX, "...");
    char out[32];
    mp_importwhy_say(&err, "conversations.json", out, sizeof(out));
    ck_assert_uint_eq(strlen(out), sizeof(out) - 1);
    ck_assert(strlen(say(&err, "conversations.json")) < 320);
    ck_assert_ptr_nonnull(strstr(say(&err, "conversations.json"), "...\"), message 1: field"));
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("importwhy");
    TCase *tc = tcase_create("importwhy");
    tcase_add_test(tc, test_importwhy_export_names_conversation_title_and_message);
    tcase_add_test(tc, test_importwhy_lines_and_the_whole_upload);
    tcase_add_test(tc, test_importwhy_cut_to_fit);
    suite_add_tcase(s, tc);
    return s;
}
