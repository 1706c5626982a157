/* Tests for core/wire/inserted.c: the pattern file, the user's remainder
 * of each client's inserted context (shapes taken from the clients'
 * sources, conf/inserted-context.conf), near misses that stay the user's,
 * and a request's own words. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/chatreq.h"
#include "wire/inserted.h"
#include "wire/ownwords.h"
#include "status.h"
#include "wire/wire.h"

Suite *mp_test_suite(void);

static struct mp_chatreq_msg msgs[16];

static struct mp_inserted_patterns defaults(void)
{
    struct mp_inserted_patterns p;
    unsigned line = 0;
    const char *why = NULL;
    ck_assert_int_eq(mp_inserted_parse(mp_inserted_default_patterns,
                                       strlen(mp_inserted_default_patterns), &p, &line, &why),
                     MP_OK);
    return p;
}

/* text's remainder under the defaults, in place (NUL-terminated); the
 * blocks removed to *blocks when not NULL. */
static const char *own(char *text, struct mp_inserted_count *c)
{
    struct mp_inserted_patterns p = defaults();
    size_t n = mp_inserted_strip(&p, text, strlen(text), c);
    text[n] = '\0';
    return text;
}

/* Open WebUI's current DEFAULT_RAG_TEMPLATE, put before the user's text
 * (middleware.py: add_or_update_user_message(..., append=False)). */
#define OWUI_HEAD                                                                                  \
    "### Task:\nRespond to the user query using the provided context, incorporating inline "       \
    "citations in the format [id] **only when the <source> tag includes an explicit id "           \
    "attribute** (e.g., <source id=\"1\">).\n\n### Guidelines:\n- If you don't know the answer, "  \
    "clearly state that.\n\n### Output:\nProvide a clear and direct response to the user's "       \
    "query.\n\n<context>\n<source id=\"1\" name=\"cv_boris.pdf\">Boris Petrov, born in Varna, "    \
    "senior engineer at Acme.</source>\n</context>\n"

START_TEST(test_inserted_open_webui_current_template)
{
    char text[] = OWUI_HEAD "\nWhat does this CV say about his languages?";
    struct mp_inserted_count c = {0};
    ck_assert_str_eq(own(text, &c), "What does this CV say about his languages?");
    ck_assert_uint_eq(c.blocks[MP_INSERTED_OPEN_WEBUI], 1);
    ck_assert_uint_eq(c.total, 1);
}
END_TEST

/* The 0.5 - 0.6 templates end with the query in <user_query>: the user's
 * text is then twice in the message, kept once; before or after it. */
START_TEST(test_inserted_open_webui_user_query_template)
{
    char before[] = "### Task:\nRespond to the user query using the provided context.\n<context>\n"
                    "<source><source_id>1</source_id><source_context>Boris</source_context>"
                    "</source>\n</context>\n\n<user_query>\nI moved to Porto\n</user_query>\n"
                    "\nI moved to Porto";
    ck_assert_str_eq(own(before, NULL), "I moved to Porto");
    char after[] = "I moved to Porto\n### Task:\nRespond to the user query using the provided "
                   "context.\n<context>\nBoris</context>\n\n<user_query>\nI moved to Porto\n"
                   "</user_query>\n";
    ck_assert_str_eq(own(after, NULL), "I moved to Porto");
}
END_TEST

START_TEST(test_inserted_claude_code_reminders)
{
    char text[] = "<system-reminder>\nAs you answer the user's questions, you can use the "
                  "following context:\n# claudeMd\nUse pnpm.\n</system-reminder>\nmy name is "
                  "Dana and the build is broken<system-reminder>The user opened the file "
                  "src/a.ts in the IDE.</system-reminder>";
    struct mp_inserted_count c = {0};
    ck_assert_str_eq(own(text, &c), "my name is Dana and the build is broken");
    ck_assert_uint_eq(c.blocks[MP_INSERTED_CLAUDE_CODE], 2);
}
END_TEST

START_TEST(test_inserted_cline_and_roo)
{
    char text[] = "<task>\nfix 'src/a.ts' (see below for file content)\n</task>\n\n"
                  "<file_content path=\"src/a.ts\">\nexport const a = 1\n</file_content>\n\n"
                  "<environment_details>\n# VSCode Visible Files\nsrc/a.ts\n\n# Current Time\n"
                  "1/1/2026\n</environment_details>";
    struct mp_inserted_count c = {0};
    ck_assert_str_eq(own(text, &c), "<task>\nfix 'src/a.ts' (see below for file content)\n</task>");
    ck_assert_uint_eq(c.blocks[MP_INSERTED_CLINE], 2);
    char roo[] = "<user_message>\nrun /deploy\n</user_message>\n\n<command name=\"deploy\">\n"
                 "Description: ship it\n\nnpm run deploy\n</command>";
    ck_assert_str_eq(own(roo, &c), "<user_message>\nrun /deploy\n</user_message>");
    ck_assert_uint_eq(c.blocks[MP_INSERTED_ROO_CODE], 1);
}
END_TEST

START_TEST(test_inserted_lobechat_files)
{
    char text[] = "summarise the report\n\n<files_info>\n<files_docstring>here are user upload "
                  "files and images you can refer to</files_docstring>\n\n<files>\n<file "
                  "id=\"f1\" name=\"q3.pdf\">Revenue rose.</file>\n</files>\n</files_info>";
    ck_assert_str_eq(own(text, NULL), "summarise the report");
}
END_TEST

/* A message of nothing but inserted context leaves nothing. */
START_TEST(test_inserted_only_context_leaves_nothing)
{
    char text[] = "\n<environment_details>\n# Current Time\n</environment_details>\n";
    ck_assert_uint_eq(strlen(own(text, NULL)), 0);
}
END_TEST

/* Near misses: a marker without its close, a close alone, a marker the
 * user quotes with other words: the text stays byte for byte. */
START_TEST(test_inserted_near_misses_stay_the_users)
{
    const char *keep[] = {
        "what does <system-reminder> mean in Claude Code?",
        "I closed it with </system-reminder> and nothing happened",
        "  spaces stay when nothing matches  ",
        "### Task:\nRespond to the user query using the provided context (no block follows)",
        "<files_info> is LobeChat's tag",
    };
    for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
        char buf[256];
        snprintf(buf, sizeof(buf), "%s", keep[i]);
        struct mp_inserted_count c = {0};
        ck_assert_str_eq(own(buf, &c), keep[i]);
        ck_assert_uint_eq(c.total, 0);
    }
}
END_TEST

/* lead: only blocks at the start, one after another (Continue's context
 * items, off by default); the same fence after the user's text stays. */
START_TEST(test_inserted_lead_only_at_the_start)
{
    static const char file[] = "continue lead ``` ... \\n```\n";
    struct mp_inserted_patterns p;
    unsigned line = 0;
    const char *why = NULL;
    ck_assert_int_eq(mp_inserted_parse(file, strlen(file), &p, &line, &why), MP_OK);
    ck_assert_uint_eq(p.items[0].client, MP_INSERTED_CONTINUE);
    ck_assert_uint_eq(p.items[0].place, MP_INSERTED_LEAD);
    char text[] = "```src/a.ts\nconst a = 1\n```\n\n```src/b.ts\nconst b = 2\n```\n\nwhy is a "
                  "one?\n```js\nmine()\n```";
    size_t n = mp_inserted_strip(&p, text, strlen(text), NULL);
    text[n] = '\0';
    ck_assert_str_eq(text, "why is a one?\n```js\nmine()\n```");
    char user_first[] = "look:\n```js\nmine()\n```";
    ck_assert_uint_eq(mp_inserted_strip(&p, user_first, strlen(user_first), NULL),
                      strlen("look:\n```js\nmine()\n```"));
}
END_TEST

START_TEST(test_inserted_parse_names_the_bad_line)
{
    static const struct {
        const char *text;
        unsigned line;
    } bad[] = {
        {"# c\nclaude_code anywhere <a> </a>\n", 2}, /* no separator */
        {"x somewhere <aa> ... </aa>\n", 1},         /* place */
        {"x anywhere <a ... </aa>\n\n", 1},          /* an opening marker of 2 bytes */
        {"x anywhere <aa> ... \\q\n", 1},            /* unknown escape */
        {"\nx anywhere <aa> ... </aa\x01>\n", 2},    /* control byte */
        {"x lead\n", 1},                             /* nothing else */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct mp_inserted_patterns p;
        unsigned line = 0;
        const char *why = NULL;
        ck_assert_int_eq(mp_inserted_parse(bad[i].text, strlen(bad[i].text), &p, &line, &why),
                         MP_EINVAL);
        ck_assert_uint_eq(line, bad[i].line);
        ck_assert_ptr_nonnull(why);
    }
    char many[70 * 32];
    size_t n = 0;
    for (int i = 0; i < 65; i++)
        n += (size_t)snprintf(many + n, sizeof(many) - n, "x anywhere <t%d> ... </t%d>\n", i, i);
    struct mp_inserted_patterns p;
    unsigned line = 0;
    const char *why = NULL;
    ck_assert_int_eq(mp_inserted_parse(many, n, &p, &line, &why), MP_EINVAL);
    ck_assert_uint_eq(line, 65);
    ck_assert_int_eq(mp_inserted_parse("", 0, &p, &line, &why), MP_OK);
    ck_assert_uint_eq(p.n, 0);
}
END_TEST

START_TEST(test_inserted_client_names_are_a_fixed_set)
{
    ck_assert_int_eq(mp_inserted_client_of("Open-WebUI", 10), MP_INSERTED_OPEN_WEBUI);
    ck_assert_int_eq(mp_inserted_client_of("claude_code", 11), MP_INSERTED_CLAUDE_CODE);
    ck_assert_int_eq(mp_inserted_client_of("my_rag", 6), MP_INSERTED_OTHER);
    ck_assert_int_eq(mp_inserted_client_of("cline_x", 7), MP_INSERTED_OTHER);
    ck_assert_str_eq(mp_inserted_client_name(MP_INSERTED_CLIENTS), "other");
    ck_assert_str_eq(mp_inserted_client_name(MP_INSERTED_LOBECHAT), "lobechat");
}
END_TEST

START_TEST(test_inserted_shipped_file_is_the_builtin_list)
{
    FILE *f = fopen(MP_INSERTED_PATTERNS_FILE, "rb");
    ck_assert_ptr_nonnull(f);
    static char text[65536];
    size_t n = fread(text, 1, sizeof(text), f);
    fclose(f);
    struct mp_inserted_patterns file, builtin = defaults();
    unsigned line = 0;
    const char *why = NULL;
    ck_assert_int_eq(mp_inserted_parse(text, n, &file, &line, &why), MP_OK);
    ck_assert_uint_eq(file.n, builtin.n);
    ck_assert(memcmp(&file, &builtin, sizeof(file)) == 0);
}
END_TEST

/* owns of body (its scan into *req) under the defaults. */
static void owns_of(const char *body, size_t len, struct mp_chatreq *req, struct mp_ownwords *owns)
{
    struct mp_inserted_patterns p = defaults();
    ck_assert_int_eq(mp_chatreq_scan(body, len, msgs, 16, req), MP_OK);
    ck_assert_int_eq(mp_ownwords_request(&mp_wire_chat, body, req, &p, owns), MP_OK);
}

/* head, MP_OWNWORDS_BYTES of 'x', tail (caller frees); *len. */
static char *padded(const char *head, const char *tail, size_t *len)
{
    size_t big = MP_OWNWORDS_BYTES;
    *len = strlen(head) + big + strlen(tail);
    char *body = malloc(*len + 1);
    ck_assert_ptr_nonnull(body);
    memcpy(body, head, strlen(head));
    memset(body + strlen(head), 'x', big);
    memcpy(body + strlen(head) + big, tail, strlen(tail) + 1);
    return body;
}

/* A request's own words: only the user messages whose remainder differs,
 * hashed as the archive's copy of that remainder would be. */
START_TEST(test_inserted_own_words_of_a_request)
{
    static const char body[] =
        "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":"
        "\"<system-reminder>ctx</system-reminder>\"},{\"type\":\"text\",\"text\":\"hi there\"}]},"
        "{\"role\":\"assistant\",\"content\":\"<system-reminder>x</system-reminder>\"},"
        "{\"role\":\"user\",\"content\":\"plain words\"}]}";
    struct mp_chatreq req;
    struct mp_ownwords owns;
    owns_of(body, strlen(body), &req, &owns);
    ck_assert_uint_eq(owns.n, 1);
    const struct mp_ownwords_item *o = mp_ownwords_of(&owns, 0);
    ck_assert_ptr_nonnull(o);
    ck_assert_uint_eq(o->len, strlen("hi there"));
    ck_assert(o->hash == mp_chatreq_hash_text(MP_CR_USER, "hi there", 8));
    ck_assert_ptr_null(mp_ownwords_of(&owns, 1)); /* the assistant's: not the user's */
    ck_assert_ptr_null(mp_ownwords_of(&owns, 2)); /* nothing inserted */
    /* without the pattern, structure still knows the reminder: a tagged
       part beside the user's words (core/wire/ownwords.h) */
    ck_assert_int_eq(mp_ownwords_request(&mp_wire_chat, body, &req, NULL, &owns), MP_OK);
    ck_assert_uint_eq(owns.n, 1);
    ck_assert_uint_eq(mp_ownwords_of(&owns, 0)->len, strlen("hi there"));
}
END_TEST

/* The first user message (the conversation's lead) and the newest are
 * always looked at, the others within MP_OWNWORDS_BYTES: past that
 * they are compared as sent. */
START_TEST(test_inserted_own_words_are_bounded)
{
    static const char head[] =
        "{\"messages\":[{\"role\":\"user\",\"content\":\"<system-reminder>a</"
        "system-reminder>first\"},"
        "{\"role\":\"user\",\"content\":\"<system-reminder>a</system-reminder>middle\"},"
        "{\"role\":\"user\",\"content\":\"";
    static const char tail[] = "\"},{\"role\":\"user\",\"content\":\"<system-reminder>a"
                               "</system-reminder>new\"}]}";
    size_t len = 0;
    char *body = padded(head, tail, &len);
    struct mp_chatreq req;
    struct mp_ownwords owns;
    owns_of(body, len, &req, &owns);
    ck_assert_uint_eq(owns.n, 2);
    ck_assert_ptr_nonnull(mp_ownwords_of(&owns, 0));
    ck_assert_uint_eq(mp_ownwords_of(&owns, 0)->len, strlen("first"));
    ck_assert_ptr_nonnull(mp_ownwords_of(&owns, 3));
    ck_assert_ptr_null(mp_ownwords_of(&owns, 1));
    free(body);
}
END_TEST

/* Whether the message whose raw JSON is raw may hold a block of p
 * (mp_ownwords_may_differ, the prefilter's one user). */
static bool differs(const struct mp_inserted_patterns *p, const char *raw)
{
    struct mp_chatreq_msg m = {.start = 0, .end = strlen(raw)};
    return mp_ownwords_may_differ(p, raw, &m);
}

/* The prefilter's keys come from the patterns: the defaults' are "<" and
 * "###"; a message's raw JSON is looked in for them as written and with
 * the first byte escaped, and a marker opening with a byte JSON may spell
 * as a short escape turns the prefilter off. */
START_TEST(test_inserted_prefilter_keys_from_the_patterns)
{
    struct mp_inserted_patterns p = defaults();
    ck_assert_uint_eq(p.nkeys, 2);
    ck_assert_uint_eq(p.keys[0].len, 3);
    ck_assert(memcmp(p.keys[0].b, "###", 3) == 0);
    ck_assert_uint_eq(p.keys[1].len, 1);
    ck_assert(memcmp(p.keys[1].b, "<", 1) == 0);
    static const char *const holds[] = {
        "{\"content\":\"<system-reminder>x</system-reminder>hi\"}",
        "{\"content\":\"\\u003csystem-reminder>x\\u003c/system-reminder>hi\"}",
        "{\"content\":\"\\u003Cfiles_info>x\\u003C/files_info>hi\"}",
        "{\"content\":\"### Task:\\nRespond to the user query using the provided context\"}",
        "{\"content\":\"\\u0023## Task:\\nRespond\"}",
    };
    static const char *const clean[] = {
        "{\"content\":\"I live in Porto # and more\"}",
        "{\"content\":\"## Task: two hashes\"}",
        "{\"content\":\"\\u003e no opening \\u0023#\"}",
    };
    for (size_t i = 0; i < sizeof(holds) / sizeof(holds[0]); i++)
        ck_assert_msg(differs(&p, holds[i]), "%s", holds[i]);
    for (size_t i = 0; i < sizeof(clean) / sizeof(clean[0]); i++)
        ck_assert_msg(!differs(&p, clean[i]), "%s", clean[i]);
    ck_assert(!differs(NULL, holds[3])); /* no patterns: no "###" looked for */
    /* shared prefixes: "<ab" and "<ac" make "<a"; an escaped byte ends a key */
    static const char two[] = "x anywhere <abc ... </abc>\nx anywhere <acd ... </acd>\n"
                              "y anywhere [[a<b ... ]]]\n";
    unsigned line = 0;
    const char *why = NULL;
    ck_assert_int_eq(mp_inserted_parse(two, strlen(two), &p, &line, &why), MP_OK);
    ck_assert_uint_eq(p.nkeys, 2);
    ck_assert_uint_eq(p.keys[0].len, 2);
    ck_assert_uint_eq(p.keys[1].len, 3);
    ck_assert(memcmp(p.keys[1].b, "[[a", 3) == 0);
    ck_assert(differs(&p, "\"[[a\""));
    ck_assert(differs(&p, "\"\\u005b[a\""));
    ck_assert(!differs(&p, "\"[[b \\u005b[b\""));
    /* a marker opening with '"' (written \") or '/' (may be \/): no keys, every message looked at
     */
    static const char quote[] = "x anywhere \"ctx: ... :ctx\"\n";
    ck_assert_int_eq(mp_inserted_parse(quote, strlen(quote), &p, &line, &why), MP_OK);
    ck_assert_uint_eq(p.nkeys, 0);
    ck_assert(differs(&p, "\"plain\""));
}
END_TEST

/* What own_words looked at is known: a message it found clean needs no
 * strip (mp_ownwords_clean); one holding context, one past the bound and
 * one it never reached do. A message with '<' but no block is decoded and
 * clean; an escaped reminder is found. */
START_TEST(test_inserted_own_words_know_the_clean_messages)
{
    static const char body[] =
        "{\"messages\":[{\"role\":\"system\",\"content\":\"be brief\"},"
        "{\"role\":\"user\",\"content\":\"a < b, says the lead\"},"
        "{\"role\":\"assistant\",\"content\":\"ok\"},"
        "{\"role\":\"user\",\"content\":\"\\u003csystem-reminder>x\\u003c/system-reminder>hi\"},"
        "{\"role\":\"user\",\"content\":\"plain words\"}]}";
    struct mp_chatreq req;
    struct mp_ownwords owns;
    owns_of(body, strlen(body), &req, &owns);
    ck_assert_uint_eq(owns.n, 1);
    ck_assert_uint_eq(mp_ownwords_of(&owns, 3)->len, 2);
    ck_assert(mp_ownwords_clean(&owns, 1));  /* the lead: '<' but no block */
    ck_assert(mp_ownwords_clean(&owns, 4));  /* no marker's start: not decoded */
    ck_assert(!mp_ownwords_clean(&owns, 3)); /* context */
    ck_assert(!mp_ownwords_clean(NULL, 4));
    /* past the bound: the message is not known clean */
    static const char head[] = "{\"messages\":[{\"role\":\"user\",\"content\":\"first\"},"
                               "{\"role\":\"user\",\"content\":\"older words\"},"
                               "{\"role\":\"user\",\"content\":\"";
    static const char tail[] = "\"},{\"role\":\"user\",\"content\":\"the newest words\"}]}";
    size_t len = 0;
    char *long_body = padded(head, tail, &len);
    owns_of(long_body, len, &req, &owns);
    ck_assert(mp_ownwords_clean(&owns, 0));
    ck_assert(mp_ownwords_clean(&owns, 3));
    ck_assert(!mp_ownwords_clean(&owns, 2)); /* over the bound: never looked at */
    ck_assert(!mp_ownwords_clean(&owns, 1));
    free(long_body);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("inserted");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_inserted_open_webui_current_template);
    tcase_add_test(tc, test_inserted_open_webui_user_query_template);
    tcase_add_test(tc, test_inserted_claude_code_reminders);
    tcase_add_test(tc, test_inserted_cline_and_roo);
    tcase_add_test(tc, test_inserted_lobechat_files);
    tcase_add_test(tc, test_inserted_only_context_leaves_nothing);
    tcase_add_test(tc, test_inserted_near_misses_stay_the_users);
    tcase_add_test(tc, test_inserted_lead_only_at_the_start);
    tcase_add_test(tc, test_inserted_parse_names_the_bad_line);
    tcase_add_test(tc, test_inserted_client_names_are_a_fixed_set);
    tcase_add_test(tc, test_inserted_shipped_file_is_the_builtin_list);
    tcase_add_test(tc, test_inserted_own_words_of_a_request);
    tcase_add_test(tc, test_inserted_own_words_are_bounded);
    tcase_add_test(tc, test_inserted_prefilter_keys_from_the_patterns);
    tcase_add_test(tc, test_inserted_own_words_know_the_clean_messages);
    suite_add_tcase(s, tc);
    return s;
}
