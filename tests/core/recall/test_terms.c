/* Tests for core/recall/terms.c and core/recall/lang.c: words by script,
 * folding, stop words and stemming by language, numbers, language
 * identification. */
#include <check.h>
#include <libstemmer.h>
#include <stdio.h>
#include <string.h>
#include <unicode/uchar.h>

#include "recall/lang.h"
#include "recall/lang_stop.h"
#include "status.h"
#include "recall/terms.h"
#include "json/utf8.h"
#include "lang_ref.h"
#include "terms_ref.h"
#include "terms_texts.h"

Suite *mp_test_suite(void);

/* The terms of text as "term@pos term@pos ...". */
struct collect {
    char out[1024];
    size_t len;
};

static int add(void *arg, const char *term, size_t len, uint32_t pos)
{
    struct collect *c = arg;
    int n = snprintf(c->out + c->len, sizeof(c->out) - c->len, "%s%.*s@%u", c->len ? " " : "",
                     (int)len, term, pos);
    c->len += (size_t)n;
    return MP_OK;
}

static const char *terms_of(const char *text)
{
    static struct collect c;
    struct mp_terms *t = NULL;
    memset(&c, 0, sizeof(c));
    ck_assert_int_eq(mp_terms_new(&t), MP_OK);
    ck_assert_int_eq(mp_terms_each(t, text, strlen(text), add, &c), MP_OK);
    mp_terms_free(t);
    return c.out;
}

/* The terms of text through tokenizer t (kept across calls). */
static void terms_with(struct mp_terms *t, const char *text, struct collect *c)
{
    memset(c, 0, sizeof(*c));
    ck_assert_int_eq(mp_terms_each(t, text, strlen(text), add, c), MP_OK);
}

/* A tokenizer remembers the words it met: the same terms every time, also
 * after 3,000 other words have pushed them out of its table, and the same
 * as a fresh tokenizer's. */
START_TEST(test_terms_remembered_words_give_the_same_terms)
{
    static const char *const texts[] = {
        "What vector DB does Melanie use for her Running shoes?",
        "doings of the runners, running and ran: the runner's running shoes",
        "Caroline's adoption agencies; I'm adopting, they'd adopted",
    };
    struct mp_terms *kept = NULL;
    struct collect first, again, fresh;
    char filler[64];
    ck_assert_int_eq(mp_terms_new(&kept), MP_OK);
    for (size_t k = 0; k < 3; k++) {
        terms_with(kept, texts[k], &first);
        terms_with(kept, texts[k], &again);
        ck_assert_str_eq(again.out, first.out);
        ck_assert_str_eq(terms_of(texts[k]), first.out);
    }
    for (unsigned i = 0; i < 3000; i++) { /* other words, into every slot */
        snprintf(filler, sizeof(filler), "walking%c%c%c talks", 'a' + i % 26, 'a' + i / 26 % 26,
                 'a' + i / 676 % 26);
        terms_with(kept, filler, &fresh);
        ck_assert(strstr(fresh.out, "talk@1") != NULL);
    }
    for (size_t k = 0; k < 3; k++) {
        terms_with(kept, texts[k], &again);
        ck_assert_str_eq(terms_of(texts[k]), again.out);
    }
    for (unsigned i = 2000; i < 3000; i += 7) { /* the newest, from either slot of a set */
        snprintf(filler, sizeof(filler), "walking%c%c%c talks", 'a' + i % 26, 'a' + i / 26 % 26,
                 'a' + i / 676 % 26);
        terms_with(kept, filler, &again);
        ck_assert_str_eq(terms_of(filler), again.out);
    }
    mp_terms_free(kept);
}
END_TEST

START_TEST(test_terms_words_fold_stop_and_stem)
{
    ck_assert_str_eq(terms_of("What vector DB does Melanie use for her Running shoes?"),
                     "vector@1 db@2 melani@4 use@5 run@8 shoe@9");
}
END_TEST

START_TEST(test_terms_stop_words_keep_their_positions)
{
    ck_assert_str_eq(terms_of("the cat and the hat"), "cat@1 hat@4");
    ck_assert(mp_terms_is_stop("the", 3));
    ck_assert(mp_terms_is_stop("don't", 5));
    ck_assert(!mp_terms_is_stop("cat", 3));
    ck_assert(!mp_terms_is_stop("th", 2));
    ck_assert(!mp_terms_is_stop("thee", 4));
}
END_TEST

START_TEST(test_terms_apostrophes_possessive_and_contractions)
{
    /* the possessive goes with stemming; a contraction that is a stop word
     * goes whole; a curly apostrophe is the same as a straight one */
    ck_assert_str_eq(terms_of("Caroline's dog"), "carolin@0 dog@1");
    ck_assert_str_eq(terms_of("Caroline\xE2\x80\x99s dog"), "carolin@0 dog@1");
    ck_assert_str_eq(terms_of("I don't know"), "know@2");
    ck_assert_str_eq(terms_of("'quoted' words'"), "quot@0 word@1");
}
END_TEST

START_TEST(test_terms_numbers_and_dates_kept_whole)
{
    ck_assert_str_eq(terms_of("On 8 May, 2023 at 1:56 pm"), "8@1 may@2 2023@3 1@5 56@6 pm@7");
    ck_assert_str_eq(terms_of("version 3.5 and 8th place"), "version@0 3.5@1 8th@3 place@4");
    ck_assert_str_eq(terms_of("2023-05-08"), "2023@0 05@1 08@2");
    /* a trailing dot ends a sentence, not a number */
    ck_assert_str_eq(terms_of("in 2022."), "2022@1");
}
END_TEST

START_TEST(test_terms_unicode_folding_and_separators)
{
    ck_assert_str_eq(terms_of("ÉCOLE école"),
                     "école@0 école@1"); /* folded; English stemming leaves it */
    /* Greek and Cyrillic by their languages' stemmers */
    ck_assert_str_eq(terms_of("ΑΘΗΝΑ Москва"), "αθην@0 москв@1");
    /* emoji, dashes and symbols separate words */
    ck_assert_str_eq(terms_of("self-care\xF0\x9F\x98\x80"
                              "yoga\xE2\x80\x94"
                              "fun"),
                     "self@0 care@1 yoga@2 fun@3");
    /* invalid UTF-8 separates words too */
    ck_assert_str_eq(terms_of("abc\xFF"
                              "def"),
                     "abc@0 def@1");
}
END_TEST

START_TEST(test_terms_fold_table)
{
    ck_assert_uint_eq(mp_terms_fold('A'), 'a');
    ck_assert_uint_eq(mp_terms_fold('z'), 'z');
    ck_assert_uint_eq(mp_terms_fold(0xC9), 0xE9);   /* É */
    ck_assert_uint_eq(mp_terms_fold(0xD7), 0xD7);   /* × is no letter */
    ck_assert_uint_eq(mp_terms_fold(0x100), 0x101); /* Ā */
    ck_assert_uint_eq(mp_terms_fold(0x101), 0x101);
    ck_assert_uint_eq(mp_terms_fold(0x139), 0x13A); /* Ĺ: odd capitals */
    ck_assert_uint_eq(mp_terms_fold(0x13A), 0x13A);
    ck_assert_uint_eq(mp_terms_fold(0x178), 0xFF);  /* Ÿ */
    ck_assert_uint_eq(mp_terms_fold(0x17D), 0x17E); /* Ž */
    ck_assert_uint_eq(mp_terms_fold(0x391), 0x3B1); /* Α */
    ck_assert_uint_eq(mp_terms_fold(0x3C2), 0x3C3); /* ς */
    ck_assert_uint_eq(mp_terms_fold(0x401), 0x451); /* Ё */
    ck_assert_uint_eq(mp_terms_fold(0x42F), 0x44F); /* Я */
    ck_assert_uint_eq(mp_terms_fold(0x4E00), 0x4E00);
    ck_assert_uint_eq(mp_terms_fold(0xFF21), 'a');    /* Ａ: full width, then the case */
    ck_assert_uint_eq(mp_terms_fold(0xFF11), '1');    /* １ */
    ck_assert_uint_eq(mp_terms_fold(0xFF5E), '~');    /* the last full-width form */
    ck_assert_uint_eq(mp_terms_fold(0xFF5F), 0xFF5F); /* past them: unchanged */
}
END_TEST

START_TEST(test_terms_long_word_cut_at_a_code_point)
{
    char text[200];
    memset(text, 'x', 150);
    memcpy(text + 62, "\xC3\xA9", 2); /* é straddles the 64-byte cap */
    text[150] = '\0';
    const char *got = terms_of(text);
    const char *at = strchr(got, '@');
    ck_assert_ptr_nonnull(at);
    ck_assert_uint_le((size_t)(at - got), MP_TERMS_MAX);
    ck_assert_str_eq(at, "@0");
}
END_TEST

static int stop_at_second(void *arg, const char *term, size_t len, uint32_t pos)
{
    int *seen = arg;
    (void)term;
    (void)len;
    (void)pos;
    return ++*seen == 2 ? MP_ETOOBIG : MP_OK;
}

START_TEST(test_terms_callback_stops_the_walk)
{
    struct mp_terms *t = NULL;
    int seen = 0;
    const char *text = "alpha beta gamma delta";
    ck_assert_int_eq(mp_terms_new(&t), MP_OK);
    ck_assert_int_eq(mp_terms_each(t, text, strlen(text), stop_at_second, &seen), MP_ETOOBIG);
    ck_assert_int_eq(seen, 2);
    mp_terms_free(t);
    mp_terms_free(NULL);
}
END_TEST

START_TEST(test_terms_empty_and_punctuation_only)
{
    ck_assert_str_eq(terms_of(""), "");
    ck_assert_str_eq(terms_of(" ,.;!? -- "), "");
}
END_TEST

static int add_word(void *arg, const char *word, size_t wlen, const char *term, size_t len,
                    uint32_t pos)
{
    struct collect *c = arg;
    int n = snprintf(c->out + c->len, sizeof(c->out) - c->len, "%s%.*s=%.*s@%u", c->len ? " " : "",
                     (int)wlen, word, term != NULL ? (int)len : 1, term != NULL ? term : "-", pos);
    c->len += (size_t)n;
    return MP_OK;
}

START_TEST(test_terms_each_word_gives_word_and_term)
{
    /* stop words come with no term; the word is folded, apostrophes kept */
    struct collect c;
    struct mp_terms *t = NULL;
    const char *text = "After Caroline's Running";
    memset(&c, 0, sizeof(c));
    ck_assert_int_eq(mp_terms_new(&t), MP_OK);
    ck_assert_int_eq(mp_terms_each_word(t, text, strlen(text), add_word, &c), MP_OK);
    mp_terms_free(t);
    ck_assert_str_eq(c.out, "after=-@0 caroline's=carolin@1 running=run@2");
}
END_TEST

/* ---- the walk's ASCII fast path against the general path ---- */

/* The general path of terms.h's step 1, a code point at a time, as the
 * walk read every byte before its ASCII fast path: the word that starts at
 * s[i] (a word character) ends where this returns; *ascii: all of it ASCII
 * or U+2019. */
static uint32_t ref_cp(const char *s, size_t n, size_t i, size_t *k)
{
    uint32_t cp = 0;
    *k = mp_utf8_decode((const unsigned char *)s + i, n - i, &cp);
    if (*k == 0) {
        *k = 1;
        cp = 0;
    }
    return cp;
}

static bool ref_word_cp(uint32_t cp)
{
    if (cp < 0x80)
        return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9');
    if ((cp >= 0xFE00 && cp <= 0xFE0F) || (cp >= 0xE0100 && cp <= 0xE01EF) || cp > 0x10FFFF)
        return false;
    return (U_GET_GC_MASK((UChar32)cp) & (U_GC_L_MASK | U_GC_M_MASK | U_GC_N_MASK)) != 0;
}

static size_t ref_word_end(const char *s, size_t n, size_t i, bool *ascii)
{
    uint32_t prev = 0;
    *ascii = true;
    while (i < n) {
        size_t k, k2;
        uint32_t cp = ref_cp(s, n, i, &k);
        bool joiner = cp == '\'' || cp == 0x2019 || cp == '.';
        if (!ref_word_cp(cp) && !joiner)
            break;
        if (joiner) {
            if (i + k >= n || !ref_word_cp(prev))
                break;
            uint32_t nx = ref_cp(s, n, i + k, &k2);
            bool pd = prev >= '0' && prev <= '9', nd = nx >= '0' && nx <= '9';
            if (!(cp == '.' ? pd && nd : ref_word_cp(nx) && !pd && !nd))
                break;
        }
        *ascii = *ascii && (cp < 0x80 || cp == 0x2019);
        prev = cp;
        i += k;
    }
    return i;
}

/* Appends "word=term;" ("-" for no term) to a collect. */
static int add_pair(void *arg, const char *word, size_t wlen, const char *term, size_t len,
                    uint32_t pos)
{
    struct collect *c = arg;
    (void)pos;
    int n = snprintf(c->out + c->len, sizeof(c->out) - c->len, "%.*s=%.*s;", (int)wlen, word,
                     term != NULL ? (int)len : 1, term != NULL ? term : "-");
    ck_assert(n >= 0 && (size_t)n < sizeof(c->out) - c->len);
    c->len += (size_t)n;
    return MP_OK;
}

/* The walk of text[0..n) as the general path splits it: each word walked
 * alone (its terms do not depend on its neighbours), an ASCII word's folded
 * form checked against mp_terms_fold of each of its code points. */
static void ref_walk(struct mp_terms *t, const char *text, size_t n, int lang, struct collect *c)
{
    for (size_t i = 0, k; i < n;) {
        if (!ref_word_cp(ref_cp(text, n, i, &k))) {
            i += k;
            continue;
        }
        bool ascii;
        size_t end = ref_word_end(text, n, i, &ascii);
        size_t at = c->len;
        ck_assert_int_eq(mp_terms_each_word_lang(t, text + i, end - i, lang, add_pair, c), MP_OK);
        if (ascii) {
            char folded[MP_TERMS_MAX];
            size_t f = 0;
            for (size_t j = i; j < end; j += k) {
                uint32_t cp = mp_terms_fold(ref_cp(text, end, j, &k));
                if (f < MP_TERMS_MAX)
                    folded[f++] = (char)cp;
            }
            ck_assert_msg(c->len - at > f && memcmp(c->out + at, folded, f) == 0 &&
                              c->out[at + f] == '=',
                          "%.*s: %.*s", (int)f, folded, (int)(c->len - at), c->out + at);
        }
        i = end;
    }
}

START_TEST(test_terms_ascii_fast_path_agrees_with_the_general_path)
{
    /* pieces glued without spaces, so that every pair meets at a boundary */
    static const char *const pieces[] = {
        "Lorem",
        "DON'T",
        "don\u2019t",
        "Caroline's",
        "3.5",
        "2023",
        "8th",
        "caf\u00e9",
        "Stra\u00dfe",
        "\u041f\u0440\u0438\u0432\u0435\u0442",
        "\u0451\u043b\u043a\u0430",
        "\u676d\u5dde\u5e02",
        "\u6771\u4eac\u30bf\u30ef\u30fc",
        "\ud55c\uad6d\uc5b4",
        "'",
        "\u2019",
        ".",
        "..",
        " ",
        ",",
        "-",
        "_",
        "x",
        "A1",
        "l'h\u00f4tel",
        "qu'il",
        "1.2.3",
        "\xff",
        "\xc3",
        "e\u0301",
        "\U0001F600",
        "\u0661\u0662",
        "\u00bd",
        "\uff21\uff22",
        "O'Brien",
        "a.b",
        "'s",
        "TheQuickBrownFoxJumpsOverTheLazyDogAndKeepsOnRunningPastSixtyFourBytes",
    };
    static const int langs[] = {MP_LANG_EN, MP_LANG_FR, MP_LANG_TR, MP_LANG_RU};
    const size_t np = sizeof(pieces) / sizeof(pieces[0]);
    struct mp_terms *t = NULL;
    ck_assert_int_eq(mp_terms_new(&t), MP_OK);
    uint32_t seed = 12345;
    for (int round = 0; round < 3000; round++) {
        char text[256];
        size_t n = 0;
        for (int p = 0, count = 1 + round % 7; p < count; p++) {
            seed = seed * 1103515245u + 12345u;
            const char *piece = pieces[(seed >> 8) % np];
            if (n + strlen(piece) > sizeof(text))
                break;
            memcpy(text + n, piece, strlen(piece));
            n += strlen(piece);
        }
        int lang = langs[round % 4];
        struct collect whole, parts;
        memset(&whole, 0, sizeof(whole));
        memset(&parts, 0, sizeof(parts));
        ck_assert_int_eq(mp_terms_each_word_lang(t, text, n, lang, add_pair, &whole), MP_OK);
        ref_walk(t, text, n, lang, &parts);
        ck_assert_msg(strcmp(whole.out, parts.out) == 0, "%.*s: %s != %s", (int)n, text, whole.out,
                      parts.out);
    }
    mp_terms_free(t);
}
END_TEST

/* The terms of text read as language lang (MP_LANG_AUTO: identified). */
static const char *terms_in(const char *text, int lang)
{
    static struct collect c;
    struct mp_terms *t = NULL;
    memset(&c, 0, sizeof(c));
    ck_assert_int_eq(mp_terms_new(&t), MP_OK);
    ck_assert_int_eq(mp_terms_each_lang(t, text, strlen(text), lang, add, &c), MP_OK);
    mp_terms_free(t);
    return c.out;
}

static int last_pos(void *arg, const char *term, size_t len, uint32_t pos)
{
    (void)term;
    (void)len;
    *(uint32_t *)arg = pos;
    return MP_OK;
}

START_TEST(test_terms_han_and_kana_by_dictionary_words)
{
    /* a sentence without spaces: ICU's dictionary words, 。 ends it */
    ck_assert_str_eq(terms_of("我住在杭州。"), "我@0 住在@1 杭州@2");
    ck_assert_str_eq(terms_of("我。你"), "我@0 你@1");
    /* a word of three characters or more adds its bigrams: 杭州市 meets 杭州 */
    ck_assert_str_eq(terms_of("我在杭州市工作"), "我在@0 杭州市@1 杭州@2 州市@3 工作@4");
    /* Kana and Han together; the prolonged sound mark stays in its word */
    ck_assert_str_eq(terms_of("大阪でカレーを食べた"),
                     "大阪@0 で@1 カレー@2 カレ@3 レー@4 を@5 食@6 べた@7");
    /* 、「」 and full-width ？ separate */
    ck_assert_str_eq(terms_of("東京、「大阪」？京都"), "東京@0 大阪@1 京都@2");
    /* a run longer than ICU's piece is read in pieces: 600 characters
     * (你好 300 times) are 300 words, but for one cut at a piece's end */
    char text[3 * 600 + 1];
    for (int i = 0; i < 600; i++)
        memcpy(text + 3 * i, i % 2 ? "\xE5\xA5\xBD" : "\xE4\xBD\xA0", 3);
    text[sizeof(text) - 1] = '\0';
    struct mp_terms *t = NULL;
    uint32_t last = 0;
    ck_assert_int_eq(mp_terms_new(&t), MP_OK);
    ck_assert_int_eq(mp_terms_each(t, text, strlen(text), last_pos, &last), MP_OK);
    mp_terms_free(t);
    ck_assert_uint_ge(last, 298);
    ck_assert_uint_le(last, 302);
}
END_TEST

START_TEST(test_terms_chinese_question_words_dropped)
{
    /* 什么, 哪里 and 如何 ask, 来着, 吗 and 呢 end a question: dropped as stop
     * words (core/recall/stopwords/chinese.txt), their positions kept */
    ck_assert_str_eq(terms_of("这个公园叫什么名字来着？"), "这个@0 公园@1 叫@2 名字@4");
    ck_assert_str_eq(terms_of("你们去哪里吃饭呢？"), "你们@0 去@1 吃饭@3");
    ck_assert_str_eq(terms_of("如何解决这个问题"), "解决@1 这个@2 问题@3");
    /* particles inside a sentence stay (的 and 了 are in every message) */
    ck_assert_str_eq(terms_of("你吃饭了吗"), "你@0 吃饭@1 了@2");
    /* a stop word of three characters adds no bigrams (为什么: no 什么) */
    ck_assert_str_eq(terms_of("为什么下雨"), "下雨@1");
    /* Japanese keeps 如何 (ikaga, a word of its own): the list is Chinese */
    ck_assert_str_eq(terms_of("ご気分は如何ですか"), "ご@0 気分@1 は@2 如何@3 です@4 か@5");
}
END_TEST

START_TEST(test_terms_hangul_syllable_bigrams)
{
    /* 발표회는 and 발표회가 share 발표 and 표회: the particle is one bigram */
    ck_assert_str_eq(terms_of("딸의 발표회는 언제야?"),
                     "딸의@0 발표@1 표회@2 회는@3 언제@4 제야@5");
    ck_assert_str_eq(terms_of("발표회가"), "발표@0 표회@1 회가@2");
}
END_TEST

START_TEST(test_terms_thai_by_dictionary_word_break)
{
    ck_assert_str_eq(terms_of("ภาษาไทยง่ายนิดเดียว"), "ภาษา@0 ไทย@1 ง่าย@2 นิด@3 เดียว@4");
}
END_TEST

START_TEST(test_terms_mixed_script_gets_both)
{
    /* an English product name in a Chinese sentence: stemmed as English,
     * the Chinese in words; digits stay whole beside Han */
    ck_assert_str_eq(terms_of("我的iPhone很好用"), "我的@0 iphon@1 很好@2 用@3");
    ck_assert_str_eq(terms_of("2023年买的"), "2023@0 年@1 买@2 的@3");
    /* a Russian name in an English sentence: stemmed as Russian */
    ck_assert_str_eq(terms_of("I met Наташей today"), "met@1 наташ@2 today@3");
}
END_TEST

START_TEST(test_terms_punctuation_of_every_script_ends_words)
{
    /* Arabic comma and question mark: القاهرة، is القاهرة */
    ck_assert_str_eq(terms_of("القاهرة، أين أعيش؟"), terms_of("القاهرة أين أعيش"));
    ck_assert_str_eq(terms_of("مدينة؛القاهرة"), terms_of("مدينة القاهرة"));
    ck_assert_str_eq(terms_of("شهر۔ نیا"), terms_of("شهر نیا")); /* Urdu full stop */
    /* Devanagari danda */
    ck_assert_str_eq(terms_of("मैं पुणे में रहता हूँ।दिल्ली"), terms_of("मैं पुणे में रहता हूँ दिल्ली"));
    /* full-width forms */
    ck_assert_str_eq(terms_of("ok！yes？maybe，"), "ok@0 yes@1 mayb@2");
}
END_TEST

START_TEST(test_terms_nfkc_and_full_case_folding)
{
    /* full-width letters and digits fold to ASCII and take the ASCII terms */
    ck_assert_str_eq(terms_of("ＡＢＣ１２３ Ｒｕｎｎｉｎｇ"), "abc123@0 run@1");
    /* full folding: ß is ss (German), final sigma is sigma */
    ck_assert_str_eq(terms_in("Straße STRASSE", MP_LANG_DE), "strass@0 strass@1");
    ck_assert_str_eq(terms_in("ΟΔΟΣ οδος", MP_LANG_EL), terms_in("οδοσ ΟΔΟΣ", MP_LANG_EL));
}
END_TEST

START_TEST(test_terms_arabic_tashkeel_and_tatweel_ignored)
{
    ck_assert_str_eq(terms_of("مُحَمَّد"), terms_of("محمد"));
    ck_assert_str_eq(terms_of("القـــاهرة"), terms_of("القاهرة"));
    /* and the Arabic stemmer: the article goes */
    ck_assert_str_eq(terms_of("القاهرة"), "قاهر@0");
}
END_TEST

START_TEST(test_terms_stems_and_stop_words_by_language)
{
    /* German: articles and pronouns are stop words, nouns stemmed */
    ck_assert_str_eq(terms_of("Das ist mein Fahrrad, die Kinder spielen im Garten"),
                     "fahrrad@3 kind@5 spiel@6 gart@8");
    /* Spanish: el, de, mi, es are stop words */
    ck_assert_str_eq(terms_of("Mi hija vive en Sevilla, es el centro de la ciudad"),
                     "hij@1 viv@2 sevill@4 centr@7 ciud@10");
    /* Russian: дочери and дочерью meet */
    ck_assert_str_eq(terms_in("дочери", MP_LANG_RU), terms_in("дочерью", MP_LANG_RU));
    /* French and Italian elide the article; Turkish suffixes of a name go */
    ck_assert_str_eq(terms_of("J'ai payé l'appartement avec mon frère"), "pai@1 appart@2 frer@5");
    ck_assert_str_eq(terms_in("dell'affitto", MP_LANG_IT), terms_in("affitto", MP_LANG_IT));
    ck_assert_str_eq(terms_in("Cunda'daki pansiyon", MP_LANG_TR),
                     terms_in("Cunda pansiyon", MP_LANG_TR));
    /* elision only before a vowel or h: an English possessive or an Irish
     * name in Italian text is no article */
    ck_assert_str_eq(terms_in("l'hotel", MP_LANG_IT), terms_in("hotel", MP_LANG_IT));
    ck_assert_str_eq(terms_in("Tom's", MP_LANG_IT), "tom's@0");
    ck_assert_str_eq(terms_in("O'Brien", MP_LANG_FR), "o'brien@0");
    /* a stem of one letter made of a longer word is the folded word: the
     * Turkish stemmer makes "ç" of the place "Cunda" */
    ck_assert_str_eq(terms_in("Cunda'daki", MP_LANG_TR), "cunda@0");
    ck_assert_str_eq(terms_in("Cunda", MP_LANG_TR), "cunda@0");
    /* English keeps its apostrophes */
    ck_assert_str_eq(terms_in("don't Caroline's", MP_LANG_EN), "carolin@1");
    /* a script without a stemmer: folded, not stemmed; Latin letters of
     * no known language are read as English, as always */
    ck_assert_str_eq(terms_in("שלומות", MP_LANG_NONE), "שלומות@0");
    ck_assert_str_eq(terms_in("Running", MP_LANG_NONE), "run@0");
}
END_TEST

/* restem of word as a text of lang would stem it, asked from a text of
 * from: "-" when none. */
static const char *restem(const char *word, int from, int lang)
{
    static char out[MP_TERMS_MAX + 1];
    struct mp_terms *t = NULL;
    const char *term = NULL;
    size_t n = 0;
    ck_assert_int_eq(mp_terms_new(&t), MP_OK);
    ck_assert_int_eq(mp_terms_restem(t, word, strlen(word), from, lang, &term, &n), MP_OK);
    if (term == NULL) {
        ck_assert_uint_eq(n, 0);
        strcpy(out, "-");
    } else {
        memcpy(out, term, n);
        out[n] = '\0';
    }
    mp_terms_free(t);
    return out;
}

/* A question's word stemmed as the memory's language stems it (issue 66):
 * a name kept in the memory's spelling meets the memory's stem. */
START_TEST(test_terms_restem_as_the_memorys_language)
{
    /* Spanish stems the name "Priya" to priy; English memory has priya */
    ck_assert_str_eq(terms_in("Priya", MP_LANG_ES), "priy@0");
    ck_assert_str_eq(restem("priya", MP_LANG_ES, MP_LANG_EN), "priya");
    /* a Turkish suffix after the apostrophe goes, then English stems */
    ck_assert_str_eq(restem("ridgeline'da", MP_LANG_TR, MP_LANG_EN), "ridgelin");
    ck_assert_str_eq(terms_in("Ridgeline", MP_LANG_EN), "ridgelin@0");
    /* an English possessive goes before German stems */
    ck_assert_str_eq(restem("katrin's", MP_LANG_EN, MP_LANG_DE), "katrin");
    /* an English word as Russian text stems it: its Latin words are English */
    ck_assert_str_eq(restem("running", MP_LANG_EN, MP_LANG_RU), "-");
    /* a Cyrillic word in an English text is Russian already, but not its
     * English possessive */
    ck_assert_str_eq(restem("лены", MP_LANG_EN, MP_LANG_RU), "-");
    ck_assert_str_eq(terms_in("Алиса's", MP_LANG_EN), "алиса's@0");
    ck_assert_str_eq(restem("алиса's", MP_LANG_EN, MP_LANG_RU), "алис");
    /* Spanish memory stems an English question's word as Spanish */
    ck_assert_str_eq(restem("priya", MP_LANG_EN, MP_LANG_ES), "priy");
    /* numbers, Han and Kana, stop words there: nothing */
    ck_assert_str_eq(restem("2023", MP_LANG_EN, MP_LANG_DE), "-");
    ck_assert_str_eq(restem("北海道", MP_LANG_EN, MP_LANG_JA), "-");
    ck_assert_str_eq(restem("und", MP_LANG_EN, MP_LANG_DE), "-");
}
END_TEST

/* The row of word[0..len) in the stop table, found the slow way: -1 for none. */
static long stop_row(const char *word, size_t len)
{
    for (size_t i = 0; i < mp_lang_nstops; i++)
        if (strlen(mp_lang_stops[i].word) == len && memcmp(mp_lang_stops[i].word, word, len) == 0)
            return (long)i;
    return -1;
}

/* mp_lang_stop_langs's hash (mp_terms_find_hashed) answers as a look at
 * every row does: every row with its languages, and the words near one (a
 * prefix, one byte more, one byte changed, upper case). */
START_TEST(test_lang_stop_hash_agrees_with_every_row)
{
    for (size_t i = 0; i < mp_lang_nstops; i++) {
        const struct mp_lang_stop *st = &mp_lang_stops[i];
        size_t n = strlen(st->word);
        ck_assert_uint_lt(n, MP_TERMS_MAX);
        ck_assert_uint_eq(mp_lang_stop_langs(st->word, n), st->langs);
        char near[4][MP_TERMS_MAX + 2];
        size_t nlen[4] = {n - 1, n + 1, n, n};
        memcpy(near[0], st->word, n);
        memcpy(near[1], st->word, n);
        near[1][n] = 's';
        memcpy(near[2], st->word, n);
        near[2][n - 1] = (char)(near[2][n - 1] ^ 1);
        for (size_t k = 0; k < n; k++)
            near[3][k] =
                st->word[k] >= 'a' && st->word[k] <= 'z' ? (char)(st->word[k] - 32) : st->word[k];
        for (int v = 0; v < 4; v++) {
            long at = stop_row(near[v], nlen[v]);
            ck_assert_uint_eq(mp_lang_stop_langs(near[v], nlen[v]),
                              at >= 0 ? mp_lang_stops[at].langs : 0);
        }
    }
    ck_assert_uint_eq(mp_lang_stop_langs("", 0), 0);
    ck_assert_uint_eq(mp_lang_stop_langs("memproxy", 8), 0);
    ck_assert_uint_eq(mp_lang_stop_langs("the", 3), 1u << MP_LANG_EN);
    ck_assert_uint_eq(mp_lang_stop_langs("the\0", 4), 0);
}
END_TEST

START_TEST(test_terms_every_language_has_its_stemmer_and_stop_list)
{
    /* the first word of each Snowball stop list in use */
    static const struct {
        int lang;
        const char *stop;
    } lists[] = {
        {MP_LANG_DA, "og"},   {MP_LANG_NL, "de"},   {MP_LANG_FI, "olla"}, {MP_LANG_FR, "au"},
        {MP_LANG_DE, "aber"}, {MP_LANG_HU, "a"},    {MP_LANG_IT, "ad"},   {MP_LANG_NO, "og"},
        {MP_LANG_PT, "de"},   {MP_LANG_ES, "de"},   {MP_LANG_SV, "och"},  {MP_LANG_TR, "acaba"},
        {MP_LANG_RU, "и"},    {MP_LANG_NE, "अक्सर"}, {MP_LANG_EN, "the"},
    };
    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
        ck_assert_msg(mp_lang_is_stop(lists[i].lang, lists[i].stop, strlen(lists[i].stop)),
                      "%s: %s", mp_lang_code(lists[i].lang), lists[i].stop);
        ck_assert(!mp_lang_is_stop(lists[i].lang, "memproxy", 8));
    }
    ck_assert(!mp_lang_is_stop(MP_LANG_EN, "aber", 4)); /* lists are apart */
    ck_assert(!mp_lang_is_stop(MP_LANG_DE, "the", 3));
    /* every language with a stemmer name has it in libstemmer */
    int stemmers = 0;
    for (int l = 0; l < MP_LANG_COUNT; l++) {
        const char *name = mp_lang_stemmer(l);
        ck_assert_int_eq(mp_lang_from_code(mp_lang_code(l), strlen(mp_lang_code(l))), l);
        if (name == NULL)
            continue;
        struct sb_stemmer *sb = sb_stemmer_new(name, "UTF_8");
        ck_assert_msg(sb != NULL, "no stemmer %s", name);
        sb_stemmer_delete(sb);
        stemmers++;
    }
    ck_assert_int_eq(stemmers, 28); /* libstemmer's 29 but porter, English's old one */
}
END_TEST

START_TEST(test_lang_detect_by_script_then_stop_words)
{
    static const struct {
        const char *text;
        const char *code;
    } cases[] = {
        {"I moved to Portland last spring and I love it.", "en"},
        {"我上周去了杭州出差。", "zh"},
        {"先週、大阪の実家に帰りました。", "ja"},
        {"다음 주에 대전으로 이사 가요.", "ko"},
        {"Я живу в Новосибирске уже десять лет.", "ru"},
        {"أعيش في عمّان منذ خمس سنوات.", "ar"},
        {"मैं पुणे में एक बैंक में काम करता हूँ।", "hi"},
        {"Ich wohne seit zwei Jahren in Leipzig und arbeite an einer Schule.", "de"},
        {"Mi hermana vive en Sevilla con sus dos hijos.", "es"},
        {"Je suis à la retraite depuis trois ans, à Lyon.", "fr"},
        {"Eu trabalho num escritório de arquitetura em Curitiba.", "pt"},
        {"Lavoro come fisioterapista a Torino da sei anni.", "it"},
        {"Dükkanı geçen yıl İzmir'de açtım.", "tr"},
        {"Jag bor i Stockholm och jobbar som lärare.", "sv"},
        {"Ik woon in Utrecht en werk bij een bank.", "nl"},
        {"ภาษาไทยง่ายนิดเดียว", "th"},
        /* English stays English: one stop word of another language, a
         * formula's letters, nothing but numbers */
        {"See ya Nate!", "en"},
        {"Let's prove that C(n, k) = C(n, n-k) for all n and k.", "en"},
        {"2023-05-08 12:30", "en"},
        {"", "en"},
        /* an English product name in a Chinese sentence is Chinese */
        {"我的iPhone 15 Pro很好用", "zh"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        ck_assert_msg(strcmp(mp_lang_code(mp_lang_detect(cases[i].text, strlen(cases[i].text))),
                             cases[i].code) == 0,
                      "%s: %s, not %s", cases[i].text,
                      mp_lang_code(mp_lang_detect(cases[i].text, strlen(cases[i].text))),
                      cases[i].code);
    /* a question that tells no Latin language apart takes the prior */
    const char *q = "Tenis derslerim hangi kortlarda?";
    ck_assert_int_eq(mp_lang_detect(q, strlen(q)), MP_LANG_EN);
    ck_assert_int_eq(mp_lang_detect_prior(q, strlen(q), MP_LANG_TR), MP_LANG_TR);
    /* but not over a script that says otherwise, nor over clear English */
    q = "Где живёт моя дочь?";
    ck_assert_int_eq(mp_lang_detect_prior(q, strlen(q), MP_LANG_TR), MP_LANG_RU);
    q = "Where did I go for my birthday?";
    ck_assert_int_eq(mp_lang_detect_prior(q, strlen(q), MP_LANG_TR), MP_LANG_EN);
}
END_TEST

START_TEST(test_lang_detect_english_with_borrowed_words_and_names)
{
    /* English with an accented borrowing or name, and names glued by an
     * apostrophe, stays English; short sentences of the Latin languages
     * are still told apart (the ones marked were wrong before: the "o" of
     * O'Brien was Italian once "café" wrote an accent, the ü and ã of two
     * names outweighed "in") */
    static const struct {
        const char *text;
        const char *code;
    } cases[] = {
        {"Tom's café, O'Brien", "en"},                  /* was it */
        {"I met Müller in São Paulo last week.", "en"}, /* was pt */
        {"We had coffee at the café near Zoë's flat.", "en"},
        {"That was a bit naïve of me, to be honest.", "en"},
        {"Can you look over my résumé before Friday?", "en"},
        {"Sean O'Brien and Mia D'Angelo are coming to dinner.", "en"},
        {"My flight to São Paulo leaves at 6 tomorrow.", "en"},
        {"Dr. Müller said the crème brûlée was the best he'd had.", "en"},
        {"Zoë's fiancé works at a café in Montréal.", "en"},
        {"O'Neill's pub is closed on Mondays.", "en"},
        {"Is Mr. Muñoz still teaching the Spanish class?", "en"},
        {"Je suis à la retraite depuis trois ans, à Lyon.", "fr"},
        {"Comment s'appelle le voisin kiné ?", "fr"},
        {"J'ai réservé l'hôtel près de la gare.", "fr"},
        {"Ich wohne seit zwei Jahren in Leipzig.", "de"},
        {"Mi hermana vive en Sevilla con sus dos hijos.", "es"},
        {"Lavoro come fisioterapista a Torino da sei anni.", "it"},
        {"Ho lasciato l'auto dell'ufficio da Tom.", "it"},
        {"Eu trabalho num escritório de arquitetura em Curitiba.", "pt"},
        {"Que piso a Dona Célia escolheu pra sala?", "pt"},
        {"Ik woon in Utrecht en werk bij een bank.", "nl"},
        {"Jag bor i Stockholm och jobbar som lärare.", "sv"},
        {"Jeg har boet i København i fem år.", "da"},
        {"Asun Tampereella ja olen töissä kirjastossa.", "fi"},
        {"Budapesten lakom és egy iskolában tanítok.", "hu"},
        {"Dükkanı geçen yıl İzmir'de açtım.", "tr"},
        /* an English stop word ("an") against many Turkish letters */
        {"Sigarayı özlediğim tek an sabah kahvesinin yanı.", "tr"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *got = mp_lang_code(mp_lang_detect(cases[i].text, strlen(cases[i].text)));
        ck_assert_msg(strcmp(got, cases[i].code) == 0, "%s: %s, not %s", cases[i].text, got,
                      cases[i].code);
    }
}
END_TEST

/* ---- the tokenizer against the one before its one-pass ASCII path ---- */

/* Every word a walk hands, as "word|term|pos\n" (term "-": dropped). */
struct trail {
    char out[16384];
    size_t len;
};

static void trail_put(struct trail *tr, const char *s, size_t n)
{
    if (tr->len + n + 1 >= sizeof(tr->out))
        ck_abort_msg("a walk's trail is longer than %zu bytes", sizeof(tr->out));
    memcpy(tr->out + tr->len, s, n);
    tr->len += n;
    tr->out[tr->len] = '\0';
}

static int add_trail(void *arg, const char *word, size_t wlen, const char *term, size_t len,
                     uint32_t pos)
{
    struct trail *tr = arg;
    char num[16];
    size_t k = sizeof(num);
    num[--k] = '\n';
    do {
        num[--k] = (char)('0' + pos % 10);
        pos /= 10;
    } while (pos > 0);
    trail_put(tr, word, wlen);
    trail_put(tr, "|", 1);
    trail_put(tr, term != NULL ? term : "-", term != NULL ? len : 1);
    trail_put(tr, "|", 1);
    trail_put(tr, num + k, sizeof(num) - k);
    return MP_OK;
}

/* Pieces of the random texts: words and what joins or splits them
 * (apostrophes, dots between digits, letters of other scripts, emoji, bad
 * UTF-8), besides stretches of the real texts. */
static const char *const diff_pieces[] = {
    " ",
    " ",
    " ",
    ", ",
    ". ",
    "\n",
    "'",
    "\xe2\x80\x99",
    ".",
    "3.5",
    "2023",
    "8th",
    "x1",
    "don't",
    "l'",
    "Cunda'daki",
    "O'Brien",
    "Tom's",
    "running",
    "THE",
    "and",
    "Straße",
    "café",
    "İstanbul",
    "résumé",
    "é",
    "ıı",
    "杭州市",
    "한국어",
    "Алиса's",
    "\xff",
    "\xc3",
    "\xf0\x9f\x98\x80",
    "_",
    "-",
    "lorem",
    "ipsum",
    "dolor",
    "sit",
    "amet",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1",
};

static uint64_t next_random(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* A random text of up to cap bytes from diff_pieces, stretches of the
 * real texts, and now and then any byte, into buf; its length. */
static size_t random_text(uint64_t *seed, char *buf, size_t cap)
{
    size_t n = 0, want = (size_t)(next_random(seed) % cap);
    size_t npieces = sizeof(diff_pieces) / sizeof(diff_pieces[0]);
    size_t ntexts = sizeof(terms_texts) / sizeof(terms_texts[0]);
    while (n < want) {
        uint64_t r = next_random(seed);
        const char *p = diff_pieces[(r >> 8) % npieces];
        size_t len = strlen(p);
        if (r % 4 == 0) { /* a stretch of a real text */
            const char *t = terms_texts[(r >> 8) % ntexts];
            size_t tl = strlen(t), at = (size_t)(r >> 20) % tl;
            p = t + at;
            len = 1 + (size_t)(r >> 40) % 24;
            len = len > tl - at ? tl - at : len;
        }
        if (n + len > cap)
            break;
        if (r % 32 == 1) {
            buf[n] = (char)(r >> 40);
            len = 1;
        } else {
            memcpy(buf + n, p, len);
        }
        n += len;
    }
    return n;
}

/* The length of a trail line's word and term ("word|term", no position):
 * neither holds a '|', which is no word character. */
static size_t key_len(const char *line)
{
    return (size_t)(strchr(strchr(line, '|') + 1, '|') - line);
}

/* Whether once (a walk that may leave out repeats) is full (every word of
 * the full walk) but for words handed before: each line of once is the
 * next of full, or full's line left out repeats an earlier line's word
 * and term. */
static bool same_but_repeats(const char *full, const char *once)
{
    const char *f = full, *o = once;
    while (*f != '\0') {
        const char *fe = strchr(f, '\n'), *oe = strchr(o, '\n');
        if (oe != NULL && fe - f == oe - o && memcmp(f, o, (size_t)(fe - f)) == 0) {
            f = fe + 1;
            o = oe + 1;
            continue;
        }
        size_t key = key_len(f);
        bool earlier = false;
        for (const char *l = full; l < f && !earlier; l = strchr(l, '\n') + 1)
            earlier = key_len(l) == key && memcmp(l, f, key) == 0;
        if (!earlier)
            return false;
        f = fe + 1;
    }
    return *o == '\0';
}

static const int diff_langs[] = {MP_LANG_AUTO, MP_LANG_EN, MP_LANG_FR, MP_LANG_TR,
                                 MP_LANG_DE,   MP_LANG_RU, MP_LANG_ZH, MP_LANG_IT};

/* text[0..n) walked by both tokenizers in lang: the same words, terms and
 * positions; the walk that leaves out repeats only leaves out repeats;
 * each word restemmed (restem) as another language would stem it, the
 * same. */
static void assert_same_walk(struct mp_terms *t, struct mp_terms_ref *r, const char *text, size_t n,
                             int lang, bool restem)
{
    static struct trail a, b, c;
    a.len = b.len = c.len = 0;
    a.out[0] = b.out[0] = c.out[0] = '\0';
    /* no ck_assert on the way: each one that holds costs as much as a walk */
    if (mp_terms_each_word_lang(t, text, n, lang, add_trail, &a) != MP_OK ||
        mp_terms_ref_each_word_lang(r, text, n, lang, add_trail, &b) != MP_OK ||
        mp_terms_each_new_word_lang(t, text, n, lang, add_trail, &c) != MP_OK)
        ck_abort_msg("a walk of \"%.*s\" failed", (int)n, text);
    if (strcmp(a.out, b.out) != 0)
        ck_abort_msg("the walks differ on \"%.*s\" (%d):\n%s---\n%s", (int)n, text, lang, a.out,
                     b.out);
    if (!same_but_repeats(b.out, c.out))
        ck_abort_msg("the new words of \"%.*s\" (%d):\n%s---\n%s", (int)n, text, lang, c.out,
                     b.out);
    int from = lang == MP_LANG_AUTO ? MP_LANG_EN : lang;
    for (const char *l = b.out; restem && *l != '\0'; l = strchr(l, '\n') + 1) {
        size_t wlen = (size_t)(strchr(l, '|') - l);
        int to = diff_langs[wlen % 8] == MP_LANG_AUTO ? MP_LANG_ES : diff_langs[wlen % 8];
        const char *st = NULL, *rt = NULL;
        size_t sn = 0, rn = 0;
        if (mp_terms_restem(t, l, wlen, from, to, &st, &sn) != MP_OK ||
            mp_terms_ref_restem(r, l, wlen, from, to, &rt, &rn) != MP_OK ||
            (st == NULL) != (rt == NULL) || sn != rn || (sn > 0 && memcmp(st, rt, sn) != 0))
            ck_abort_msg("restem of \"%.*s\" %d to %d differs", (int)wlen, l, from, to);
    }
}

/* The ASCII words' one-pass path, the walk that leaves out repeats and
 * restem's ASCII path hand what the tokenizer handed before them
 * (tests/core/recall/terms_ref.c), on real text of 13 languages and
 * 200,000 random texts. */
START_TEST(test_terms_walk_as_before_the_one_pass_path)
{
    struct mp_terms *t = NULL;
    struct mp_terms_ref *r = NULL;
    static char buf[600];
    uint64_t seed = 0x9e3779b97f4a7c15u;
    ck_assert_int_eq(mp_terms_new(&t), MP_OK);
    ck_assert_int_eq(mp_terms_ref_new(&r), MP_OK);
    for (size_t k = 0; k < sizeof(terms_texts) / sizeof(terms_texts[0]); k++)
        for (size_t l = 0; l < sizeof(diff_langs) / sizeof(diff_langs[0]); l++)
            assert_same_walk(t, r, terms_texts[k], strlen(terms_texts[k]), diff_langs[l], true);
    for (int k = 0; k < 200000; k++) {
        size_t n = random_text(&seed, buf, k % 100 == 0 ? sizeof(buf) : 80);
        assert_same_walk(t, r, buf, n, diff_langs[(size_t)k % 8], k % 8 == 0);
    }
    mp_terms_ref_free(r);
    mp_terms_free(t);
}
END_TEST

static int prior_of(void *arg)
{
    return *(const int *)arg;
}

/* text[0..n) identified by both, with each prior: the same language. */
static void assert_same_lang(const char *text, size_t n)
{
    static const int priors[] = {MP_LANG_NONE, MP_LANG_EN, MP_LANG_FR, MP_LANG_TR,
                                 MP_LANG_DE,   MP_LANG_PT, MP_LANG_RU, MP_LANG_ES};
    for (size_t k = 0; k < sizeof(priors) / sizeof(priors[0]); k++) {
        int p = priors[k];
        int a = mp_lang_detect_prior(text, n, p), b = mp_lang_ref_detect_prior(text, n, p);
        int c = mp_lang_detect_lazy(text, n, prior_of, &p);
        int d = mp_lang_ref_detect_lazy(text, n, prior_of, &p);
        if (a != b || c != d)
            ck_abort_msg("\"%.*s\" with prior %d: %d %d, before %d %d", (int)n, text, p, a, c, b,
                         d);
    }
}

/* Identification reads ASCII words with one 16-byte load and ends a word
 * as its run of letters ends: the languages it finds are those it found
 * before (tests/core/recall/lang_ref.c), on real text of 13 languages,
 * words about the 16-byte load and the word's 64-byte cap, and 100,000
 * random texts. */
START_TEST(test_lang_detect_as_before_the_one_load_words)
{
    static char buf[600];
    uint64_t seed = 0x2545f4914f6cdd1du;
    for (size_t k = 0; k < sizeof(terms_texts) / sizeof(terms_texts[0]); k++)
        assert_same_lang(terms_texts[k], strlen(terms_texts[k]));
    for (size_t w = 1; w < 80; w++) { /* "the the ... wwww... the" with a w-letter word */
        size_t n = 0;
        for (int k = 0; k < 5; k++)
            n += (size_t)snprintf(buf + n, sizeof(buf) - n, "the la und ");
        memset(buf + n, 'a' + (int)(w % 26), w);
        n += w;
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "'s de le a qu'il");
        assert_same_lang(buf, n);
        assert_same_lang(buf + 3, n - 3 - w % 7);
    }
    for (int k = 0; k < 100000; k++) {
        size_t n = random_text(&seed, buf, k % 100 == 0 ? sizeof(buf) : 160);
        assert_same_lang(buf, n);
    }
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("terms");
    TCase *tc = tcase_create("terms");
    tcase_add_test(tc, test_terms_words_fold_stop_and_stem);
    tcase_add_test(tc, test_terms_walk_as_before_the_one_pass_path);
    tcase_add_test(tc, test_terms_remembered_words_give_the_same_terms);
    tcase_add_test(tc, test_terms_stop_words_keep_their_positions);
    tcase_add_test(tc, test_terms_apostrophes_possessive_and_contractions);
    tcase_add_test(tc, test_terms_numbers_and_dates_kept_whole);
    tcase_add_test(tc, test_terms_unicode_folding_and_separators);
    tcase_add_test(tc, test_terms_fold_table);
    tcase_add_test(tc, test_terms_long_word_cut_at_a_code_point);
    tcase_add_test(tc, test_terms_callback_stops_the_walk);
    tcase_add_test(tc, test_terms_empty_and_punctuation_only);
    tcase_add_test(tc, test_terms_each_word_gives_word_and_term);
    tcase_add_test(tc, test_terms_ascii_fast_path_agrees_with_the_general_path);
    tcase_add_test(tc, test_terms_han_and_kana_by_dictionary_words);
    tcase_add_test(tc, test_terms_chinese_question_words_dropped);
    tcase_add_test(tc, test_terms_hangul_syllable_bigrams);
    tcase_add_test(tc, test_terms_thai_by_dictionary_word_break);
    tcase_add_test(tc, test_terms_mixed_script_gets_both);
    tcase_add_test(tc, test_terms_punctuation_of_every_script_ends_words);
    tcase_add_test(tc, test_terms_nfkc_and_full_case_folding);
    tcase_add_test(tc, test_terms_arabic_tashkeel_and_tatweel_ignored);
    tcase_add_test(tc, test_terms_stems_and_stop_words_by_language);
    tcase_add_test(tc, test_terms_restem_as_the_memorys_language);
    tcase_add_test(tc, test_terms_every_language_has_its_stemmer_and_stop_list);
    tcase_add_test(tc, test_lang_stop_hash_agrees_with_every_row);
    tcase_add_test(tc, test_lang_detect_by_script_then_stop_words);
    tcase_add_test(tc, test_lang_detect_as_before_the_one_load_words);
    tcase_add_test(tc, test_lang_detect_english_with_borrowed_words_and_names);
    suite_add_tcase(s, tc);
    return s;
}
