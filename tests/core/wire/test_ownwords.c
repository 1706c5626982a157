/* Tests for core/wire/ownwords.c: a turn's user messages as the real
 * clients send them (Codex's instruction file and environment beside the
 * prompt, Claude Code's reminder part, Cline's task wrapper), what the
 * person wrote kept byte for byte, and the prints of what is kept. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "findbytes.h"
#include "wire/chatreq.h"
#include "wire/inserted.h"
#include "wire/ownwords.h"
#include "status.h"
#include "wire/wire.h"

Suite *mp_test_suite(void);

static struct mp_chatreq_msg msgs[32];

/* The own words of message i of body (read with w) in its run: a
 * NUL-terminated copy the caller frees, *res filled. No patterns. */
static char *own_of(const struct mp_wire *w, const char *body, size_t i,
                    struct mp_ownwords_text *res)
{
    struct mp_chatreq req;
    struct mp_ownwords_run run;
    size_t from, to;
    ck_assert_int_eq(w->scan(body, strlen(body), msgs, 32, &req), MP_OK);
    mp_ownwords_run_bounds(&req, i, &from, &to);
    ck_assert_int_eq(mp_ownwords_run(w, body, &req, from, to, NULL, &run), MP_OK);
    char *out = malloc(msgs[i].text_len + 1);
    ck_assert_ptr_nonnull(out);
    ck_assert_int_eq(
        mp_ownwords_message(w, body, &msgs[i], NULL, &run, out, msgs[i].text_len + 1, res, NULL),
        MP_OK);
    out[res->len] = '\0';
    return out;
}

/* Codex 0.171 (Responses API): developer items, one user message of two
 * parts (the instruction file, the environment), the prompt apart. */
static const char codex_body[] =
    "{\"model\":\"gpt-5\",\"input\":["
    "{\"type\":\"message\",\"role\":\"developer\",\"content\":[{\"type\":\"input_text\","
    "\"text\":\"You are Codex.\"}]},"
    "{\"type\":\"message\",\"role\":\"user\",\"content\":["
    "{\"type\":\"input_text\",\"text\":\"# AGENTS.md instructions for /tmp/proj\\n\\n"
    "<INSTRUCTIONS>\\n# Project notes\\n\\nOur database is called zebra-db.\\n"
    "</INSTRUCTIONS>\"},"
    "{\"type\":\"input_text\",\"text\":\"<environment_context>\\n  <cwd>/tmp/proj</cwd>\\n"
    "  <shell>bash</shell>\\n  <current_date>2026-11-28</current_date>\\n"
    "</environment_context>\"}]},"
    "{\"type\":\"message\",\"role\":\"user\",\"content\":[{\"type\":\"input_text\","
    "\"text\":\"My favourite editor is Helix.\"}]}],\"stream\":true}";

START_TEST(test_ownwords_codex_leaves_file_and_environment_out)
{
    struct mp_ownwords_text res;
    char *t = own_of(&mp_wire_responses, codex_body, 1, &res);
    ck_assert_str_eq(t, "");
    ck_assert(res.changed);
    ck_assert_uint_eq(res.structure[MP_OWN_FILE], 1);
    ck_assert_uint_eq(res.structure[MP_OWN_ENVIRONMENT], 1);
    ck_assert_uint_eq(res.nkept, 0);
    free(t);
    t = own_of(&mp_wire_responses, codex_body, 2, &res);
    ck_assert_str_eq(t, "My favourite editor is Helix."); /* the prompt, as typed */
    ck_assert(!res.changed);
    free(t);
}
END_TEST

/* The same blocks with no words anywhere in the turn are kept: a turn of
 * only structure may be the person's (a pasted file, Cline's task). */
START_TEST(test_ownwords_no_words_elsewhere_keeps_blocks)
{
    static const char body[] =
        "{\"messages\":[{\"role\":\"user\",\"content\":\"<environment_context>\\n"
        "  <cwd>/tmp/proj</cwd>\\n  <shell>bash</shell>\\n</environment_context>\"}]}";
    struct mp_ownwords_text res;
    char *t = own_of(&mp_wire_chat, body, 0, &res);
    ck_assert_str_eq(t, "<environment_context>\n  <cwd>/tmp/proj</cwd>\n  <shell>bash</shell>\n"
                        "</environment_context>");
    ck_assert(!res.changed);
    free(t);
    static const char cline[] =
        "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":"
        "\"<task>\\nRefactor the parser, it is slow.\\n</task>\"},{\"type\":\"text\",\"text\":"
        "\"<notes>\\nsomething the client added\\n</notes>\"}]}]}";
    t = own_of(&mp_wire_chat, cline, 0, &res);
    ck_assert(!res.changed); /* two tagged parts, no words: both stay */
    free(t);
}
END_TEST

/* Claude Code: a reminder part before the prompt part; without the
 * pattern file, structure takes the reminder for the client's. */
START_TEST(test_ownwords_claude_code_reminder_part)
{
    static const char body[] =
        "{\"model\":\"claude\",\"max_tokens\":10,\"messages\":[{\"role\":\"user\",\"content\":["
        "{\"type\":\"text\",\"text\":\"<system-reminder>\\nContents of /p/CLAUDE.md:\\n"
        "use tabs\\n</system-reminder>\"},"
        "{\"type\":\"text\",\"text\":\"Which editor do I use?\",\"cache_control\":{\"type\":"
        "\"ephemeral\"}}]}]}";
    struct mp_ownwords_text res;
    char *t = own_of(&mp_wire_messages, body, 0, &res);
    ck_assert_str_eq(t, "Which editor do I use?");
    ck_assert_uint_eq(res.structure[MP_OWN_TAGGED], 1);
    free(t);
}
END_TEST

/* Blocks inside the person's own text part stay, whatever their kind: a
 * person pastes markup, a config, code under a heading naming a file
 * (BEAM's "Here's my server code in app.js:" and a fence). The same
 * environment as a part of its own goes. */
START_TEST(test_ownwords_blocks_inside_a_part_stay)
{
    static const char *const bodies[] = {
        "{\"messages\":[{\"role\":\"user\",\"content\":\"Why is this wrong?\\n<config>\\n"
        "  retries three\\n</config>\"}]}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"<env>\\nos: linux\\nshell: zsh\\n"
        "</env>\\n\\nfix the build please\"}]}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"I use Node.js and Socket.io. Here is "
        "app.js:\\n```javascript\\nio.on(1);\\n```\\nWhy does it drop clients?\"}]}",
    };
    struct mp_ownwords_text res;
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        char *t = own_of(&mp_wire_chat, bodies[i], 0, &res);
        ck_assert_msg(!res.changed, "case %zu cut: %s", i, t);
        free(t);
    }
    static const char env[] =
        "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":"
        "\"<env>\\nos: linux\\nshell: zsh\\n</env>\"},{\"type\":\"text\",\"text\":"
        "\"fix the build please\"}]}]}";
    char *t = own_of(&mp_wire_chat, env, 0, &res);
    ck_assert_str_eq(t, "fix the build please");
    ck_assert_uint_eq(res.structure[MP_OWN_ENVIRONMENT], 1);
    free(t);
}
END_TEST

/* A person's plain message: no decode, one printed block when long
 * enough, none when short. */
START_TEST(test_ownwords_plain_message_prints)
{
    static const char body[] =
        "{\"messages\":[{\"role\":\"user\",\"content\":\"I am using Weaviate for the vector "
        "store, and my staging cluster is called heron-7.\"}]}";
    struct mp_ownwords_text res;
    char *t = own_of(&mp_wire_chat, body, 0, &res);
    ck_assert_uint_eq(res.nkept, 1);
    ck_assert_uint_eq(res.nprints, 1);
    ck_assert_uint_eq(res.prints[0].start, 0);
    ck_assert_uint_eq(res.prints[0].len, strlen(t));
    ck_assert(res.prints[0].print == mp_blocks_print(t, strlen(t)));
    free(t);
    static const char yes[] = "{\"messages\":[{\"role\":\"user\",\"content\":\"yes\"}]}";
    t = own_of(&mp_wire_chat, yes, 0, &res);
    ck_assert_uint_eq(res.nprints, 0);
    ck_assert(res.unprinted);
    free(t);
}
END_TEST

/* Parts kept are printed apart, at their place in the own words, so that
 * a template part can be found again and cut out. */
START_TEST(test_ownwords_parts_printed_apart)
{
    static const char body[] =
        "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":"
        "\"Reference material the client attaches to every single message it sends.\"},"
        "{\"type\":\"text\",\"text\":\"And here is what the person actually asked today?\"}]}]}";
    struct mp_ownwords_text res;
    char *t = own_of(&mp_wire_chat, body, 0, &res);
    ck_assert(!res.changed);
    ck_assert_uint_eq(res.nprints, 2);
    ck_assert_int_eq(memcmp(t + res.prints[1].start, "And here is", 11), 0);
    static const char first[] =
        "Reference material the client attaches to every single message it sends.";
    ck_assert(res.prints[0].print == mp_blocks_print(first, strlen(first)));
    free(t);
}
END_TEST

/* The request's own words: Codex's context message differs (nothing of
 * it is the person's), the prompt does not. */
START_TEST(test_ownwords_request)
{
    struct mp_chatreq req;
    struct mp_ownwords owns;
    ck_assert_int_eq(mp_wire_responses.scan(codex_body, strlen(codex_body), msgs, 32, &req), MP_OK);
    ck_assert_int_eq(mp_ownwords_request(&mp_wire_responses, codex_body, &req, NULL, &owns), MP_OK);
    ck_assert_uint_eq(owns.n, 1);
    ck_assert_uint_eq(mp_ownwords_of(&owns, 1)->len, 0);
    ck_assert(mp_ownwords_clean(&owns, 2));
}
END_TEST

/* The former mp_ownwords_may_differ (ten passes, mp_inserted_may_hold's
 * among them), the oracle of the one-pass-a-byte check. */
static bool former_may_hold(const struct mp_inserted_patterns *p, const char *raw, size_t len)
{
    static const char hex[] = "0123456789abcdef0123456789ABCDEF";
    if (p == NULL || p->n == 0)
        return false;
    if (p->nkeys == 0)
        return true;
    for (uint32_t k = 0; k < p->nkeys; k++) {
        const struct mp_inserted_key *key = &p->keys[k];
        unsigned char c = (unsigned char)key->b[0];
        char esc[6 + MP_INSERTED_KEY_MAX] = {'\\', 'u', '0', '0'};
        if (mp_find_bytes(raw, len, key->b, key->len) != NULL)
            return true;
        int forms = (c >> 4) > 9 || (c & 15) > 9 ? 2 : 1;
        memcpy(esc + 6, key->b + 1, key->len - 1u);
        for (int upper = 0; upper < forms; upper++) {
            esc[4] = hex[16 * upper + (c >> 4)];
            esc[5] = hex[16 * upper + (c & 15)];
            if (mp_find_bytes(raw, len, esc, 5u + key->len) != NULL)
                return true;
        }
    }
    return false;
}

static bool former_may_differ(const struct mp_inserted_patterns *p, const char *raw, size_t n)
{
    return former_may_hold(p, raw, n) || memchr(raw, '<', n) != NULL ||
           mp_find_bytes(raw, n, "\\u003c", 6) != NULL ||
           mp_find_bytes(raw, n, "\\u003C", 6) != NULL || mp_find_bytes(raw, n, "```", 3) != NULL ||
           mp_find_bytes(raw, n, "},", 2) != NULL;
}

/* The check agrees with the former one on random raw bytes made of the
 * pieces it looks for (escapes cut short, fences of two, keys of other
 * cases), under no patterns, the defaults, and keys of a letter and of
 * an escaped letter. */
START_TEST(test_ownwords_may_differ_as_before)
{
    static const char *const pieces[] = {
        "<",      "\\u003c",  "\\u003C", "\\u003",   "\\u00",     "\\u0023##", "\\u0023#",
        "###",    "##",       "```",     "``",       "},",        "}",         ",",
        "lorem ", "ipsum",    "\\n",     "\\\\",     "\\u0041bc", "\\u0061bc", "Abc",
        "ab",     "\\u005B[", "[[",      "\\u005b[", "x"};
    static const char custom[] = "cursor anywhere Abc ... </x>\ncursor anywhere [[x ... ]]]\n";
    static const char unkeyed[] = "cursor anywhere \\\\xx ... yyy\n"; /* a backslash: no key */
    struct mp_inserted_patterns defaults, keys, nokey, none = {0};
    unsigned line;
    const char *why;
    ck_assert_int_eq(mp_inserted_parse(mp_inserted_default_patterns,
                                       strlen(mp_inserted_default_patterns), &defaults, &line,
                                       &why),
                     MP_OK);
    ck_assert_int_eq(mp_inserted_parse(custom, strlen(custom), &keys, &line, &why), MP_OK);
    ck_assert_int_eq(mp_inserted_parse(unkeyed, strlen(unkeyed), &nokey, &line, &why), MP_OK);
    ck_assert_uint_eq(keys.nkeys, 2);
    ck_assert_uint_eq(nokey.nkeys, 0);
    const struct mp_inserted_patterns *sets[] = {NULL, &none, &defaults, &keys, &nokey};
    unsigned seed = 73, differ = 0;
    for (int round = 0; round < 20000; round++) {
        char raw[96];
        size_t n = 0;
        for (int k = (int)((seed = seed * 1103515245u + 12345u) >> 16) % 8; k >= 0; k--) {
            const char *piece = pieces[((seed = seed * 1103515245u + 12345u) >> 16) %
                                       (sizeof(pieces) / sizeof(pieces[0]))];
            memcpy(raw + n, piece, strlen(piece));
            n += strlen(piece);
        }
        struct mp_chatreq_msg m = {.start = 0, .end = n};
        for (size_t s = 0; s < sizeof(sets) / sizeof(sets[0]); s++) {
            bool want = former_may_differ(sets[s], raw, n);
            ck_assert_msg(mp_ownwords_may_differ(sets[s], raw, &m) == want, "set %zu: %.*s", s,
                          (int)n, raw);
            differ += want;
        }
    }
    ck_assert_uint_gt(differ, 1000);
    ck_assert_uint_lt(differ, 80000); /* nokey's 20,000 among them */
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("ownwords");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_ownwords_codex_leaves_file_and_environment_out);
    tcase_add_test(tc, test_ownwords_no_words_elsewhere_keeps_blocks);
    tcase_add_test(tc, test_ownwords_claude_code_reminder_part);
    tcase_add_test(tc, test_ownwords_blocks_inside_a_part_stay);
    tcase_add_test(tc, test_ownwords_plain_message_prints);
    tcase_add_test(tc, test_ownwords_parts_printed_apart);
    tcase_add_test(tc, test_ownwords_request);
    tcase_add_test(tc, test_ownwords_may_differ_as_before);
    suite_add_tcase(s, tc);
    return s;
}
