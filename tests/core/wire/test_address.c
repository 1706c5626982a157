/* Tests for core/wire/address.c: a client's agent prompt against a
 * person's words that look like one, a task about a quoted transcript,
 * the words counted only in the instructions. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "address_ref.h"
#include "token_fixtures.h"
#include "wire/address.h"
#include "wire/clienttask.h"

Suite *mp_test_suite(void);

/* A client's prompt to an agent of its own (written for the test). */
static const char agent[] =
    "You are now acting as the note keeper of a coding assistant.\n\n"
    "Rules:\n"
    "- Read only the files under ~/.acme/notes/ and the project's NOTES.md.\n"
    "- Never write outside the notes directory.\n"
    "- Use the `write_file` tool once per note, and the \"I\" of a quote is not yours.\n"
    "- Keep each note under 200 words.\n\n"
    "When nothing is worth keeping, answer with the single word NONE and stop. Do not "
    "explain what was kept or why; the assistant reads the notes later.";

static struct mp_address read_text(const char *t)
{
    struct mp_address a;
    mp_address_read(t, strlen(t), &a);
    return a;
}

START_TEST(test_address_agent_prompt_is_an_agents)
{
    struct mp_address a = read_text(agent);
    ck_assert(a.role);
    ck_assert_uint_eq(a.rules, 7);  /* 4 list items; "only", "Never", "Do not" */
    ck_assert_uint_ge(a.work, 4);   /* a path, a file name, "files", "directory", "tool" */
    ck_assert_uint_eq(a.person, 0); /* the quoted "I" is not a writer's */
    ck_assert(!a.transcript);
    ck_assert_int_eq(a.kind, -1);
    ck_assert(mp_address_is_agent(&a, strlen(agent)));
}
END_TEST

START_TEST(test_address_persons_words_are_not_an_agents)
{
    /* a person giving a role, with rules about their files: they write "I" */
    static const char person[] =
        "You are a senior Python developer. I need your help with my project:\n"
        "- src/app.py crashes on start\n- the tests folder has no tests\n"
        "- the config file is config.yaml\n- the build tool is make\n"
        "Please look at it and tell me what to change first, step by step, with the reasons "
        "for each step and what it fixes, so that I can learn from it as I go along.";
    struct mp_address a = read_text(person);
    ck_assert(a.role);
    ck_assert_uint_ge(a.person, 3);
    ck_assert(!mp_address_is_agent(&a, strlen(person)));
    /* no role: a person's list of rules */
    a = read_text(agent + strlen("You are now acting as the note keeper of a coding assistant."));
    ck_assert(!a.role);
    ck_assert(!mp_address_is_agent(&a, strlen(agent)));
    /* too short to be a client's prompt */
    static const char short_one[] = "You are kind.\n- a\n- b\n- c in src/x.c and the tool\n";
    a = read_text(short_one);
    ck_assert(!mp_address_is_agent(&a, strlen(short_one)));
    /* a role far into the text is no role given to the reader */
    char late[1200];
    memset(late, 'x', 600);
    late[599] = '\n';
    strcpy(late + 600, agent);
    a = read_text(late);
    ck_assert(!a.role);
}
END_TEST

START_TEST(test_address_task_about_a_quoted_transcript)
{
    static const char title[] = "Analyze the conversation below and give it a short title.\n\n"
                                "User: I keep bees in Lyon and my tag is SECRET\n"
                                "Assistant: Lovely!\n";
    struct mp_address a = read_text(title);
    ck_assert(a.transcript);
    ck_assert(a.conversation);
    ck_assert_int_eq(a.kind, MP_TASK_TITLE);
    ck_assert_uint_eq(a.instructions, strlen("Analyze the conversation below and give it a "
                                             "short title.\n\n"));
    ck_assert_uint_eq(a.person, 0); /* the transcript's "I" and "my" are not instructions */
    /* a chat tag starts a transcript too; words after it are not instructions */
    static const char tagged[] = "### Task:\nSuggest tags for the chat history.\n<chat_history>\n"
                                 "USER: a title for my essay?\n</chat_history>";
    a = read_text(tagged);
    ck_assert(a.transcript);
    ck_assert_int_eq(a.kind, MP_TASK_TAGS);
    /* a user line without an assistant's is no transcript */
    a = read_text("Give my talk a title.\nUser: me\nthanks");
    ck_assert(!a.transcript);
    ck_assert(!a.conversation);
}
END_TEST

START_TEST(test_address_kind_words_start_a_word)
{
    ck_assert_int_eq(mp_address_kind("a stage of vintage", 18), -1);
    ck_assert_int_eq(mp_address_kind("the Tags of it", 14), MP_TASK_TAGS);
    ck_assert_int_eq(mp_address_kind("\"name\":\"generate_title\"", 23), MP_TASK_TITLE);
    ck_assert_int_eq(mp_address_kind("\"name\":\"title_generation\"", 25), MP_TASK_TITLE);
    ck_assert_int_eq(mp_address_kind("Summarize the memory", 20), MP_TASK_COMPACTION);
    ck_assert_int_eq(mp_address_kind("the memory, summarized", 22), MP_TASK_MEMORY_REVIEW);
}
END_TEST

START_TEST(test_address_reads_a_bounded_window)
{
    static char big[MP_ADDRESS_WINDOW + 200];
    memset(big, 'a', sizeof(big));
    memcpy(big + MP_ADDRESS_WINDOW + 10, " title ", 7);
    struct mp_address a;
    mp_address_read(big, sizeof(big), &a);
    ck_assert_int_eq(a.kind, -1);
    ck_assert_uint_eq(a.instructions, MP_ADDRESS_WINDOW);
}
END_TEST

/* Pieces of the random texts: every word the reading looks for, in both
 * cases, and the bytes around them that change a reading (blanks, line
 * ends, quotes, marks of paths, lists and tags, a byte >= 0x80). */
static const char *const pieces[] = {"you are ",
                                     "You're ",
                                     "YOU WILL ",
                                     "your task",
                                     "Your job",
                                     "act as ",
                                     "Your memory",
                                     "your notes",
                                     "your system prompt",
                                     "your tools",
                                     "your turn budget",
                                     "must",
                                     "Never",
                                     "do not",
                                     "don't",
                                     "always",
                                     "only",
                                     "file",
                                     "Files",
                                     "folder",
                                     "tool",
                                     "tools",
                                     "directory",
                                     "directories",
                                     "conversation",
                                     "chat history",
                                     "chat log",
                                     "transcript",
                                     "dialogue",
                                     "this chat",
                                     "chat_history",
                                     "title",
                                     "follow-up",
                                     "follow up",
                                     "tags",
                                     "tag",
                                     "search quer",
                                     "summar",
                                     "compact",
                                     "classif",
                                     "memor",
                                     "me",
                                     "my",
                                     "mine",
                                     "myself",
                                     "I",
                                     "I'm",
                                     "I've",
                                     "I.e.",
                                     "i",
                                     "User:",
                                     "human:",
                                     "||>user:",
                                     "user said:",
                                     "Assistant:",
                                     "AI:",
                                     "bot:",
                                     "model:",
                                     "response:",
                                     "||>response:",
                                     "<chat_history>",
                                     "<conversation>",
                                     "<transcript>",
                                     "<messages>",
                                     "<history>",
                                     "</history>",
                                     "<b>",
                                     "</",
                                     "```",
                                     "~/",
                                     "./",
                                     "~/.acme/notes/",
                                     ".x/",
                                     "src/app.py",
                                     "a/b",
                                     "NOTES.md",
                                     "x.c",
                                     ".",
                                     "/",
                                     "-",
                                     "* ",
                                     "- ",
                                     "1. ",
                                     "12) ",
                                     "\xe2\x80\xa2",
                                     "\xc3\xa9",
                                     "#",
                                     "_",
                                     ">",
                                     "\"",
                                     "`",
                                     "'",
                                     ",",
                                     ":",
                                     ";",
                                     "(",
                                     ")",
                                     " ",
                                     " ",
                                     " ",
                                     "  ",
                                     "\t",
                                     "\r",
                                     "\n",
                                     "\n",
                                     "\n\n",
                                     "lorem",
                                     "ipsum",
                                     "dolor",
                                     "Sit",
                                     "amet",
                                     "a",
                                     "x1",
                                     "9"};

static uint64_t next_random(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* A random text of up to cap bytes from pieces (and now and then any
 * byte) into buf; its length. */
static size_t random_text(uint64_t *seed, char *buf, size_t cap)
{
    size_t n = 0, want = (size_t)(next_random(seed) % cap);
    while (n < want) {
        uint64_t r = next_random(seed);
        const char *p = pieces[(r >> 8) % (sizeof(pieces) / sizeof(pieces[0]))];
        size_t len = r % 16 == 0 ? 1 : strlen(p);
        if (n + len > cap)
            break;
        if (r % 16 == 0)
            buf[n] = (char)(r >> 40);
        else
            memcpy(buf + n, p, len);
        n += len;
    }
    return n;
}

static void assert_same(const char *t, size_t n)
{
    struct mp_address a, b;
    mp_address_read(t, n, &a);
    ref_address_read(t, n, &b);
    ck_assert_msg(a.role == b.role && a.rules == b.rules && a.work == b.work && a.own == b.own &&
                      a.person == b.person && a.conversation == b.conversation &&
                      a.transcript == b.transcript && a.kind == b.kind &&
                      a.instructions == b.instructions,
                  "the readings differ on \"%.*s\"", (int)n, t);
}

START_TEST(test_address_reads_as_the_byte_by_byte_reading)
{
    static char buf[MP_ADDRESS_WINDOW + 600];
    uint64_t seed = 0x9e3779b97f4a7c15u;
    for (int k = 0; k < 200000; k++)
        assert_same(buf, random_text(&seed, buf, 160));
    for (int k = 0; k < 300; k++) /* past the window */
        assert_same(buf, random_text(&seed, buf, sizeof(buf)));
    for (size_t k = 0; k < sizeof(pieces) / sizeof(pieces[0]); k++)
        assert_same(pieces[k], strlen(pieces[k]));
    assert_same(agent, strlen(agent));
}
END_TEST

/* Real text in every ml-dev language (token_fixtures.h): whole, its
 * messages a line each, slices of it at random, and with the pieces the
 * reading looks for spliced in at random places. */
START_TEST(test_address_reads_real_text_as_the_byte_by_byte_reading)
{
    static char buf[MP_ADDRESS_WINDOW + 600];
    uint64_t seed = 0x2545f4914f6cdd1du;
    for (size_t f = 0; f < sizeof(token_fixtures) / sizeof(token_fixtures[0]); f++) {
        const char *text = token_fixtures[f].text;
        size_t n = strlen(text);
        ck_assert_uint_lt(n, sizeof(buf) / 2);
        assert_same(text, n);
        memcpy(buf, text, n);
        for (size_t i = 0; i + 3 <= n; i++)
            if (memcmp(buf + i, " | ", 3) == 0)
                buf[i + 1] = '\n';
        assert_same(buf, n);
        for (int k = 0; k < 2000; k++) { /* in a heap block of its size: a byte past it is seen */
            size_t from = (size_t)(next_random(&seed) % n);
            size_t len = (size_t)(next_random(&seed) % (n - from + 1));
            char *exact = malloc(len > 0 ? len : 1);
            ck_assert_ptr_nonnull(exact);
            memcpy(exact, buf + from, len);
            assert_same(exact, len);
            free(exact);
        }
        for (int k = 0; k < 2000; k++) {
            size_t at = (size_t)(next_random(&seed) % n), m = 0;
            const char *p = pieces[next_random(&seed) % (sizeof(pieces) / sizeof(pieces[0]))];
            memcpy(buf, text, at);
            m = at + strlen(p);
            memcpy(buf + at, p, strlen(p));
            memcpy(buf + m, text + at, n - at);
            assert_same(buf, m + n - at);
        }
    }
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("address");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_address_agent_prompt_is_an_agents);
    tcase_add_test(tc, test_address_persons_words_are_not_an_agents);
    tcase_add_test(tc, test_address_task_about_a_quoted_transcript);
    tcase_add_test(tc, test_address_kind_words_start_a_word);
    tcase_add_test(tc, test_address_reads_a_bounded_window);
    tcase_add_test(tc, test_address_reads_as_the_byte_by_byte_reading);
    tcase_add_test(tc, test_address_reads_real_text_as_the_byte_by_byte_reading);
    suite_add_tcase(s, tc);
    return s;
}
