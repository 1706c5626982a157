/* core/import/memtext.c: another assistant's memory, one item a line,
 * into imported facts with keys derived from the lines. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "import_fixture.h"
#include "import/memtext.h"
#include "status.h"

Suite *mp_test_suite(void);

#define NOW 1735689600000LL

static struct mp_import_batch b;
static struct mp_import_error err;

static int read_text(const char *text)
{
    mp_importitem_free(&b);
    return mp_memtext_read(text, strlen(text), NOW, &b, &err);
}

START_TEST(test_memtext_bullets_numbers_and_emphasis_stripped)
{
    static const char *const want[] = {"Lives in Graz, Austria.",
                                       "Name: Alex",
                                       "Has a cat called Miso",
                                       "Prefers metric units",
                                       "Works as a software engineer at a bike shop",
                                       "Enjoys hiking in the Alps",
                                       "Is learning Italian",
                                       "Wants reminders in the morning"};
    size_t len;
    char *buf = fx_read("memory.txt", &len);
    ck_assert_int_eq(mp_memtext_read(buf, len, NOW, &b, &err), MP_OK);
    free(buf);
    ck_assert_uint_eq(b.n, 8);
    for (size_t i = 0; i < b.n; i++) {
        ck_assert_str_eq(b.items[i].text, want[i]);
        ck_assert_int_eq(b.items[i].type, MP_IMPORT_FACT);
    }
    /* the introduction, the heading, the rule */
    ck_assert_uint_eq(b.skipped[MP_IMPORT_SKIP_HEADING], 3);
    ck_assert_uint_eq(b.items[3].line, 7);
    mp_importitem_free(&b);
}
END_TEST

START_TEST(test_memtext_facts_are_imported_now_with_their_key_as_id)
{
    ck_assert_int_eq(read_text("- Lives in Graz\n"), MP_OK);
    const struct mp_import_item *it = &b.items[0];
    ck_assert_int_eq(it->trust, MP_TRUST_IMPORTED);
    ck_assert_int_eq(it->at_ms, NOW);
    ck_assert(it->confidence == 1.0);
    ck_assert(it->has_id);
    ck_assert_uint_eq(strncmp(it->id, "memory-text:mem_lives_in_graz_", 30), 0);
    ck_assert_str_eq(it->id + strlen("memory-text:"), it->key);
    mp_importitem_free(&b);
}
END_TEST

START_TEST(test_memtext_keys_stable_and_normalized)
{
    char a[MP_ENTITY_KEY_MAX + 1], c[MP_ENTITY_KEY_MAX + 1], n[MP_ENTITY_KEY_MAX + 1];
    mp_memtext_key("Lives in Graz, Austria.", 23, a);
    ck_assert_uint_eq(strlen(a), strlen("mem_lives_in_graz_austria_") + 8);
    ck_assert_uint_eq(strncmp(a, "mem_lives_in_graz_austria_", 26), 0);
    /* letter case and runs of blanks do not change it; other words do */
    mp_memtext_key("lives  in GRAZ, Austria.", 24, c);
    ck_assert_str_eq(a, c);
    mp_memtext_key("Lives in Graz, Austria!", 23, c);
    ck_assert_str_ne(a, c);
    /* no ASCII word: the whole hash */
    mp_memtext_key("住在格拉茨", strlen("住在格拉茨"), c);
    ck_assert_uint_eq(strlen(c), 4 + 16);
    /* at most five words, at most 40 bytes before the hash */
    mp_memtext_key("one two three four five six seven", 33, c);
    ck_assert_uint_eq(strncmp(c, "mem_one_two_three_four_five_", 28), 0);
    mp_memtext_key("Supercalifragilisticexpialidocious antidisestablishmentarianism", 63, c);
    ck_assert_uint_le(strlen(c), 40 + 9);
    /* every key is a normalized key */
    const char *lines[] = {"Lives in Graz, Austria.", "住在格拉茨", "a", "42 is the answer"};
    for (size_t i = 0; i < 4; i++) {
        mp_memtext_key(lines[i], strlen(lines[i]), c);
        ck_assert_int_eq(mp_usermem_normalize_key(c, strlen(c), n), MP_OK);
        ck_assert_str_eq(c, n);
    }
}
END_TEST

START_TEST(test_memtext_long_line_cut_control_character_refused)
{
    char line[800];
    memset(line, 'w', sizeof(line) - 1);
    line[sizeof(line) - 1] = '\0';
    ck_assert_int_eq(read_text(line), MP_OK);
    ck_assert_uint_le(b.items[0].text_len, MP_ENTITY_VALUE_MAX);
    ck_assert_int_eq(read_text("- fine\n- bell \a here\n"), MP_EINVAL);
    ck_assert_str_eq(err.why, "not UTF-8 text");
    ck_assert_uint_eq(err.line, 2);
    ck_assert_int_eq(read_text("- fine\n- \xff\xfe\n"), MP_EINVAL);
    ck_assert_uint_eq(err.line, 2);
    /* a BOM and blank lines: nothing, and nothing counted */
    ck_assert_int_eq(read_text("\xef\xbb\xbf\n  \n\t\n"), MP_OK);
    ck_assert_uint_eq(b.n, 0);
    ck_assert_uint_eq(b.skipped[MP_IMPORT_SKIP_HEADING], 0);
    mp_importitem_free(&b);
}
END_TEST

START_TEST(test_memtext_reading_stops_past_the_batch_facts_bound)
{
    static const char text[] = "Lives in Graz\nHas a cat\nLikes tea\n";
    mp_importitem_free(&b);
    b.max_facts = 2;
    ck_assert_int_eq(mp_memtext_read(text, strlen(text), NOW, &b, &err), MP_ETOOBIG);
    ck_assert_uint_eq(b.nfacts, 2); /* the third is never held */
    mp_importitem_free(&b);
    b.max_facts = 3;
    ck_assert_int_eq(mp_memtext_read(text, strlen(text), NOW, &b, &err), MP_OK);
    ck_assert_uint_eq(b.nfacts, 3);
    mp_importitem_free(&b);
}
END_TEST

START_TEST(test_memtext_assistant_words_and_group_names_left_out)
{
    /* ChatGPT's answer, and Claude's memory with its bold group names */
    ck_assert_int_eq(read_text("Sure! Here's what I remember about you.\n"
                               "**Work context**\n"
                               "- Works as a nurse in Graz\n"
                               "## Personal\n"
                               "- **Name:** Alex\n"
                               "- **Prefers dark mode**\n"
                               "__Other notes__\n"
                               "Lives with a cat.\n"
                               "Would you like me to add anything else?\n"
                               "Let me know if you\xe2\x80\x99"
                               "d like me to update or forget any of this!\n"
                               "Hope this helps.\n"
                               "Hiking is a favourite pastime.\n"),
                     MP_OK);
    static const char *const want[] = {"Works as a nurse in Graz", "Name: Alex",
                                       "Prefers dark mode", "Lives with a cat.",
                                       "Hiking is a favourite pastime."};
    ck_assert_uint_eq(b.n, 5);
    for (size_t i = 0; i < b.n; i++)
        ck_assert_str_eq(b.items[i].text, want[i]);
    ck_assert_uint_eq(b.skipped[MP_IMPORT_SKIP_HEADING], 3);
    ck_assert_uint_eq(b.skipped[MP_IMPORT_SKIP_ASSISTANT], 4);
    for (size_t i = 0; i < b.n; i++)
        ck_assert_ptr_null(strstr(b.items[i].key, "let_me_know"));
}
END_TEST

START_TEST(test_memtext_code_words_kept)
{
    ck_assert_int_eq(read_text("- Writes `__init__` methods by hand\n"
                               "- Names files my__module.py\n"
                               "- Keeps __dunder__ names\n"
                               "- `**kwargs` everywhere\n"
                               "- __Really__ likes Rust\n"
                               "- __likes Go a lot__\n"),
                     MP_OK);
    ck_assert_uint_eq(b.n, 6);
    ck_assert_str_eq(b.items[0].text, "Writes __init__ methods by hand");
    ck_assert_str_eq(b.items[1].text, "Names files my__module.py");
    ck_assert_str_eq(b.items[2].text, "Keeps __dunder__ names");
    ck_assert_str_eq(b.items[3].text, "**kwargs everywhere");
    ck_assert_str_eq(b.items[4].text, "__Really__ likes Rust"); /* one word: a code word */
    ck_assert_str_eq(b.items[5].text, "likes Go a lot");
    ck_assert(strncmp(b.items[0].key, "mem_writes_init_methods_by", 26) == 0);
}
END_TEST

START_TEST(test_memtext_byte_order_mark_dropped)
{
    ck_assert_int_eq(read_text("\xef\xbb\xbf- Lives in Graz\n"), MP_OK);
    ck_assert_uint_eq(b.n, 1);
    ck_assert_str_eq(b.items[0].text, "Lives in Graz");
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("memtext");
    TCase *tc = tcase_create("memtext");
    tcase_add_test(tc, test_memtext_bullets_numbers_and_emphasis_stripped);
    tcase_add_test(tc, test_memtext_facts_are_imported_now_with_their_key_as_id);
    tcase_add_test(tc, test_memtext_keys_stable_and_normalized);
    tcase_add_test(tc, test_memtext_long_line_cut_control_character_refused);
    tcase_add_test(tc, test_memtext_reading_stops_past_the_batch_facts_bound);
    tcase_add_test(tc, test_memtext_assistant_words_and_group_names_left_out);
    tcase_add_test(tc, test_memtext_code_words_kept);
    tcase_add_test(tc, test_memtext_byte_order_mark_dropped);
    suite_add_tcase(s, tc);
    return s;
}
