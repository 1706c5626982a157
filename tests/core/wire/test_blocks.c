/* Tests for core/wire/blocks.c: how a text part splits into words,
 * tagged blocks, environments and files (shapes taken from what Codex,
 * Claude Code and Cline send), near misses that stay words, and the
 * print. */
#include <check.h>
#include <string.h>

#include "wire/blocks.h"

Suite *mp_test_suite(void);

static struct mp_block b[MP_BLOCKS_MAX];

static size_t split(const char *t)
{
    return mp_blocks_split(t, strlen(t), b, MP_BLOCKS_MAX);
}

static void block_is(const char *t, size_t i, enum mp_block_kind kind, const char *text)
{
    ck_assert_int_eq(b[i].kind, kind);
    ck_assert_uint_eq(b[i].len, strlen(text));
    ck_assert_int_eq(memcmp(t + b[i].start, text, b[i].len), 0);
}

/* Codex's environment block: markup lines inside a tag. */
#define CODEX_ENV                                                                                  \
    "<environment_context>\n  <cwd>/tmp/proj</cwd>\n  <shell>bash</shell>\n"                       \
    "  <current_date>2026-11-28</current_date>\n  <timezone>Etc/UTC</timezone>\n"                  \
    "</environment_context>"

/* Codex's instruction file: a heading naming it, then the file in a tag. */
#define CODEX_AGENTS                                                                               \
    "# AGENTS.md instructions for /tmp/proj\n\n<INSTRUCTIONS>\n# Project notes\n\n"                \
    "Our database is called zebra-db.\n</INSTRUCTIONS>"

START_TEST(test_blocks_codex_environment)
{
    const char *t = CODEX_ENV;
    ck_assert_uint_eq(split(t), 1);
    block_is(t, 0, MP_BLOCK_ENVIRONMENT, CODEX_ENV);
}
END_TEST

START_TEST(test_blocks_codex_instruction_file)
{
    const char *t = CODEX_AGENTS;
    ck_assert_uint_eq(split(t), 1);
    block_is(t, 0, MP_BLOCK_FILE, CODEX_AGENTS);
}
END_TEST

/* Words around blocks are kept as words, trimmed, in order. */
START_TEST(test_blocks_words_around_a_tagged_block)
{
    const char *t = "Look at this:\n<notes>\nfirst\nsecond thing\n</notes>\n\nWhat now?  ";
    ck_assert_uint_eq(split(t), 3);
    block_is(t, 0, MP_BLOCK_WORDS, "Look at this:");
    block_is(t, 1, MP_BLOCK_TAGGED, "<notes>\nfirst\nsecond thing\n</notes>");
    block_is(t, 2, MP_BLOCK_WORDS, "What now?");
}
END_TEST

/* key: value lines make an environment; prose inside a tag does not. */
START_TEST(test_blocks_environment_by_key_value_lines)
{
    const char *t = "<env>\nWorking directory: /repo\nPlatform: linux\nToday's date: 2026-01-02\n"
                    "</env>\nfix the build";
    ck_assert_uint_eq(split(t), 2);
    ck_assert_int_eq(b[0].kind, MP_BLOCK_ENVIRONMENT);
    block_is(t, 1, MP_BLOCK_WORDS, "fix the build");
    t = "<task>\nPlease refactor the parser.\nIt is too slow on big inputs.\n</task>";
    ck_assert_uint_eq(split(t), 1);
    ck_assert_int_eq(b[0].kind, MP_BLOCK_TAGGED); /* Cline's wrapper of the user's words */
}
END_TEST

/* A heading that names a file makes a file only of a tagged or fenced
 * block right after it; a heading alone, or one naming no file, is words. */
START_TEST(test_blocks_file_heading_needs_its_contents)
{
    const char *t = "Contents of /home/a/CLAUDE.md:\n\n```\nuse tabs\n```\nwhy?";
    ck_assert_uint_eq(split(t), 2);
    block_is(t, 0, MP_BLOCK_FILE, "Contents of /home/a/CLAUDE.md:\n\n```\nuse tabs\n```");
    block_is(t, 1, MP_BLOCK_WORDS, "why?");
    t = "# Bug in main.py:\nWhen I run it, it crashes.";
    ck_assert_uint_eq(split(t), 1);
    ck_assert_int_eq(b[0].kind, MP_BLOCK_WORDS);
    t = "# My week:\n<notes>\nmonday\ntuesday\n</notes>";
    ck_assert_uint_eq(split(t), 2);
    ck_assert_int_eq(b[0].kind, MP_BLOCK_WORDS); /* names no file */
    ck_assert_int_eq(b[1].kind, MP_BLOCK_TAGGED);
}
END_TEST

/* A fence alone stays among the words, and a tag inside it is no block. */
START_TEST(test_blocks_fence_alone_is_words)
{
    const char *t = "Why does this fail?\n```\n<config>\n</config>\n```\nthanks";
    ck_assert_uint_eq(split(t), 1);
    ck_assert_int_eq(b[0].kind, MP_BLOCK_WORDS);
}
END_TEST

/* A fence labelled with a file's path (Continue's context items) is a
 * file; one labelled with a language is words. */
START_TEST(test_blocks_fence_named_by_its_file)
{
    const char *t = "```src/parser.c\nint parse(void);\n```\nWhy is parse slow?";
    ck_assert_uint_eq(split(t), 2);
    block_is(t, 0, MP_BLOCK_FILE, "```src/parser.c\nint parse(void);\n```");
    block_is(t, 1, MP_BLOCK_WORDS, "Why is parse slow?");
    t = "```python\nprint(1)\n```\nWhy?";
    ck_assert_uint_eq(split(t), 1);
    ck_assert_int_eq(b[0].kind, MP_BLOCK_WORDS);
}
END_TEST

/* Near misses: a tag not at a line's start, a close not ending a line, no
 * close, a self-closing tag, a closing tag first: all words. */
START_TEST(test_blocks_near_misses_are_words)
{
    const char *cases[] = {
        "I wrote <b>bold</b> text", "<b>bold</b> and more on the line",
        "<notes>\nnever closed",    "<br/>\nafter",
        "</notes>\nafter",          "< notes>\nx\n</notes>",
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ck_assert_uint_eq(split(cases[i]), 1);
        ck_assert_int_eq(b[0].kind, MP_BLOCK_WORDS);
    }
}
END_TEST

/* The close is the first of its name that ends a line: a nested one of
 * the same name inside a line does not end the block. */
START_TEST(test_blocks_close_ends_a_line)
{
    const char *t = "<div>\n<div>inner</div> text\n</div>\nafter";
    ck_assert_uint_eq(split(t), 2);
    block_is(t, 0, MP_BLOCK_TAGGED, "<div>\n<div>inner</div> text\n</div>");
}
END_TEST

/* More blocks than the cap: the rest is one last words block. */
START_TEST(test_blocks_cap)
{
    char t[4096] = "";
    for (int i = 0; i < 30; i++)
        strcat(t, "<x>\nline\n</x>\nword\n");
    size_t n = mp_blocks_split(t, strlen(t), b, 5);
    ck_assert_uint_le(n, 5);
    ck_assert_int_eq(b[n - 1].kind, MP_BLOCK_WORDS);
    ck_assert_uint_eq(b[n - 1].start + b[n - 1].len, strlen(t) - 1); /* to the end, trimmed */
}
END_TEST

/* Many opening tags without a close cost a bounded number of searches and
 * leave words. */
START_TEST(test_blocks_unclosed_tags_are_bounded)
{
    static char t[200000];
    size_t n = 0;
    while (n + 4 < sizeof(t) - 1) {
        memcpy(t + n, "<a>\n", 4);
        n += 4;
    }
    t[n] = '\0';
    ck_assert_uint_eq(split(t), 1);
    ck_assert_int_eq(b[0].kind, MP_BLOCK_WORDS);
}
END_TEST

/* Prints: digits and whitespace runs fold, other bytes count. */
START_TEST(test_blocks_print)
{
    const char *a = "<current_date>2026-11-28</current_date>\n  <cwd>/tmp/a</cwd>";
    const char *b2 = "  <current_date>2027-1-3</current_date> <cwd>/tmp/a</cwd>\n";
    const char *c = "<current_date>2026-11-28</current_date>\n  <cwd>/tmp/b</cwd>";
    ck_assert(mp_blocks_print(a, strlen(a)) == mp_blocks_print(b2, strlen(b2)));
    ck_assert(mp_blocks_print(a, strlen(a)) != mp_blocks_print(c, strlen(c)));
    ck_assert(mp_blocks_print("", 0) != 0);
    ck_assert(mp_blocks_print("Yes", 3) != mp_blocks_print("yes", 3));
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("blocks");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_blocks_codex_environment);
    tcase_add_test(tc, test_blocks_codex_instruction_file);
    tcase_add_test(tc, test_blocks_words_around_a_tagged_block);
    tcase_add_test(tc, test_blocks_environment_by_key_value_lines);
    tcase_add_test(tc, test_blocks_file_heading_needs_its_contents);
    tcase_add_test(tc, test_blocks_fence_alone_is_words);
    tcase_add_test(tc, test_blocks_fence_named_by_its_file);
    tcase_add_test(tc, test_blocks_near_misses_are_words);
    tcase_add_test(tc, test_blocks_close_ends_a_line);
    tcase_add_test(tc, test_blocks_cap);
    tcase_add_test(tc, test_blocks_unclosed_tags_are_bounded);
    tcase_add_test(tc, test_blocks_print);
    suite_add_tcase(s, tc);
    return s;
}
