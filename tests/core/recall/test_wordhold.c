/* core/recall/wordhold.c: a text holds a value only as whole words, the
 * rule erasure applies to the buffer and the archive alike. */
#include <check.h>
#include <string.h>

#include "recall/lang.h"
#include "recall/wordhold.h"

Suite *mp_test_suite(void);

static bool holds_in(const char *text, int lang, const char *value)
{
    return mp_wordhold_in(text, strlen(text), lang, value, strlen(value));
}

static bool holds(const char *text, const char *value)
{
    return holds_in(text, MP_LANG_EN, value);
}

START_TEST(test_wordhold_short_latin_value_not_inside_longer_words)
{
    ck_assert(holds("I write Go every day.", "Go"));
    ck_assert(holds("go", "Go"));
    ck_assert(holds("GO!", "Go"));
    ck_assert(holds("(Go)", "Go"));
    ck_assert(holds("Go-based services", "Go"));
    ck_assert(holds("\"Go\"", "Go"));
    ck_assert(!holds("I am going home", "Go"));
    ck_assert(!holds("good morning", "Go"));
    ck_assert(!holds("two days ago", "Go"));
    ck_assert(!holds("Cargo builds it", "Go"));
    ck_assert(!holds("Go2 is not Go 2", "Go2x"));
    ck_assert(holds("I work in AI.", "AI"));
    ck_assert(!holds("my AIM handle", "AI"));
    ck_assert(!holds("she said so", "AI"));
    ck_assert(holds("I moved to Porto.", "Porto"));
    ck_assert(!holds("from Oporto", "Porto"));
    ck_assert(!holds("Portobello mushrooms", "Porto"));
}
END_TEST

START_TEST(test_wordhold_digits_are_word_characters)
{
    ck_assert(holds("I have 7 cats", "7"));
    ck_assert(holds("7, then 8", "7"));
    ck_assert(holds("$7 each", "7"));
    ck_assert(holds("a 7-day week", "7"));
    ck_assert(holds("at 7:30", "7"));
    ck_assert(holds("7%", "7"));
    ck_assert(!holds("17 cats", "7"));
    ck_assert(!holds("the 7th floor", "7"));
    ck_assert(!holds("version 7.5", "7"));
    ck_assert(!holds("version 3.7", "7"));
    ck_assert(!holds("7,000 people", "7"));
    ck_assert(!holds("70", "7"));
    ck_assert(holds("floor 7th", "7th"));
    ck_assert(holds("Python 3.12 is out", "3.12"));
    ck_assert(!holds("Python 3.125", "3.12"));
}
END_TEST

START_TEST(test_wordhold_case_and_width_folded_as_recall_folds)
{
    ck_assert(holds("Я живу в МОСКВА", "Москва"));
    ck_assert(!holds("Я живу в Москвабад", "Москва"));
    ck_assert(holds("ＡＢＣ corp", "abc"));
    ck_assert(holds("ÉCOLE", "école"));
    ck_assert(!holds("Cafe\xcc\x81", "Cafe")); /* a combining accent continues the word */
}
END_TEST

START_TEST(test_wordhold_spaces_in_value_match_any_run)
{
    ck_assert(holds("I live in New\n  York now", "New York"));
    ck_assert(holds("new york", "  New York "));
    ck_assert(!holds("I live in NewYork", "New York"));
    ck_assert(!holds("New Yorker", "New York"));
    ck_assert(!holds("anything", "   "));
    ck_assert(!holds("anything", ""));
}
END_TEST

START_TEST(test_wordhold_unspaced_scripts_need_no_boundary)
{
    ck_assert(holds("我住在杭州市", "杭州"));
    ck_assert(holds("東京に住んでいます", "東京"));
    ck_assert(holds("서울에서 살아요", "서울"));
    ck_assert(holds("ผมอยู่กรุงเทพ", "กรุงเทพ"));
    ck_assert(!holds("我住在北京", "杭州"));
    /* another script ends a Latin word; a CJK neighbour needs no space */
    ck_assert(holds("Go语言很好", "Go"));
    ck_assert(holds("我喜欢Go", "Go"));
    ck_assert(!holds("我喜欢Google", "Go"));
    ck_assert(mp_wordhold_unspaced("杭州", strlen("杭州")));
    ck_assert(mp_wordhold_unspaced("서울", strlen("서울")));
    ck_assert(!mp_wordhold_unspaced("Москва 7", strlen("Москва 7")));
}
END_TEST

START_TEST(test_wordhold_apostrophes_as_recall_reads_them)
{
    ck_assert(holds("Caroline's car", "Caroline"));
    ck_assert(holds("Caroline’s car", "Caroline"));
    ck_assert(holds("James' car", "James"));
    ck_assert(holds("'Go' he said", "Go"));
    ck_assert(!holds("O'Brien called", "Brien"));
    ck_assert(!holds("O'Brien called", "O"));
    ck_assert(!holds("Ankara'da yaşıyorum", "Ankara"));
    ck_assert(holds_in("Ankara'da yaşıyorum", MP_LANG_TR, "Ankara"));
    ck_assert(!holds("J'aime l'Italie", "Italie"));
    ck_assert(holds_in("J'aime l'Italie", MP_LANG_FR, "Italie"));
    ck_assert(!holds_in("J'aime l'Italie", MP_LANG_FR, "Talie"));
    ck_assert(holds("the 90's", "90"));
}
END_TEST

START_TEST(test_wordhold_invalid_bytes_separate_and_match_themselves)
{
    const char text[] = "x\xffGo\xfe y";
    ck_assert(mp_wordhold_in(text, sizeof(text) - 1, MP_LANG_EN, "Go", 2));
    ck_assert(mp_wordhold_in(text, sizeof(text) - 1, MP_LANG_EN, "\xffGo", 3));
    ck_assert(!mp_wordhold_in(text, sizeof(text) - 1, MP_LANG_EN, "\xfdGo", 3));
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("wordhold");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_wordhold_short_latin_value_not_inside_longer_words);
    tcase_add_test(tc, test_wordhold_digits_are_word_characters);
    tcase_add_test(tc, test_wordhold_case_and_width_folded_as_recall_folds);
    tcase_add_test(tc, test_wordhold_spaces_in_value_match_any_run);
    tcase_add_test(tc, test_wordhold_unspaced_scripts_need_no_boundary);
    tcase_add_test(tc, test_wordhold_apostrophes_as_recall_reads_them);
    tcase_add_test(tc, test_wordhold_invalid_bytes_separate_and_match_themselves);
    suite_add_tcase(s, tc);
    return s;
}
