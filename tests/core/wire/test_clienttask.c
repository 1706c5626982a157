/* Tests for core/wire/clienttask.c: hint headers, the pattern file, prompt
 * matching on the three wires with near misses, and the removal of Open
 * WebUI's memory block. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/clienttask.h"
#include "status.h"
#include "wire/wire.h"

Suite *mp_test_suite(void);

static struct mp_chatreq_msg msgs[64];

static struct mp_clienttask_patterns defaults(void)
{
    struct mp_clienttask_patterns p;
    unsigned line = 0;
    const char *why = NULL;
    ck_assert_int_eq(mp_clienttask_parse(mp_clienttask_default_patterns,
                                         strlen(mp_clienttask_default_patterns), &p, &line, &why),
                     MP_OK);
    return p;
}

/* The kind a body is detected as on wire w; -1 when it is no task. */
static int detect(const struct mp_wire *w, const char *body)
{
    struct mp_chatreq req;
    struct mp_clienttask_patterns p = defaults();
    enum mp_clienttask_kind kind = MP_TASK_OTHER;
    size_t len = strlen(body);
    ck_assert_int_eq(w->scan(body, len, msgs, 64, &req), MP_OK);
    int rc = mp_clienttask_from_prompt(w, body, len, &req, &p, NULL, &kind);
    ck_assert(rc == MP_OK || rc == MP_NOTFOUND);
    return rc == MP_OK ? (int)kind : -1;
}

#define OWUI_TITLE                                                                                 \
    "### Task:\\nGenerate a concise, 3-5 word title with an emoji summarizing the chat "           \
    "history.\\n### Guidelines:\\n- The title should clearly represent the main theme or subject " \
    "of the conversation.\\n### Chat History:\\n<chat_history>\\nUSER: I live in Lyon\\n"          \
    "</chat_history>"

START_TEST(test_clienttask_hints_first_match_wins)
{
    enum mp_clienttask_kind k = MP_TASK_TITLE;
    struct mp_clienttask_hints h = {0};
    ck_assert(!mp_clienttask_from_hints(&h, &k));
    h.request_class = "main";
    h.request_class_len = 4;
    ck_assert(!mp_clienttask_from_hints(&h, &k));
    h.request_class = "Subagent";
    h.request_class_len = 8;
    ck_assert(!mp_clienttask_from_hints(&h, &k));
    h.request_class = "auxiliary";
    h.request_class_len = 9;
    h.own = "title";
    h.own_len = 5;
    ck_assert(mp_clienttask_from_hints(&h, &k));
    ck_assert_int_eq(k, MP_TASK_AUXILIARY); /* the first rule, not X-Memory-Task */
    h.request_class = NULL;
    h.subagent = "compact";
    h.subagent_len = 7;
    ck_assert(mp_clienttask_from_hints(&h, &k));
    ck_assert_int_eq(k, MP_TASK_COMPACTION);
    h.subagent = "";
    h.subagent_len = 0; /* present: a task, of no known kind */
    ck_assert(mp_clienttask_from_hints(&h, &k));
    ck_assert_int_eq(k, MP_TASK_OTHER);
    h.subagent = NULL;
    h.custom = " ";
    h.custom_len = 1; /* Open WebUI's {{TASK}} empty on a chat turn: no task */
    ck_assert(mp_clienttask_from_hints(&h, &k));
    ck_assert_int_eq(k, MP_TASK_TITLE); /* X-Memory-Task decides */
    h.custom = "tags_generation";
    h.custom_len = 15;
    ck_assert(mp_clienttask_from_hints(&h, &k));
    ck_assert_int_eq(k, MP_TASK_TAGS);
    h.custom = NULL;
    h.own = "";
    h.own_len = 0;
    ck_assert(!mp_clienttask_from_hints(&h, &k));
}
END_TEST

START_TEST(test_clienttask_kind_names_are_a_fixed_set)
{
    ck_assert_int_eq(mp_clienttask_kind_of("TITLE", 5), MP_TASK_TITLE);
    ck_assert_int_eq(mp_clienttask_kind_of(" query_generation ", 18), MP_TASK_SEARCH_QUERIES);
    ck_assert_int_eq(mp_clienttask_kind_of("titles", 6), MP_TASK_OTHER);
    ck_assert_int_eq(mp_clienttask_kind_of("ti\ntle", 6), MP_TASK_OTHER);
    ck_assert_str_eq(mp_clienttask_kind_name(MP_TASK_FOLLOW_UPS), "follow_ups");
    ck_assert_str_eq(mp_clienttask_kind_name(99), "other");
    ck_assert_str_eq(mp_clienttask_kind_name(-1), "other");
}
END_TEST

START_TEST(test_clienttask_parse_reads_escapes_and_comments)
{
    static const char text[] = "# a comment\n\n  \r\n"
                               "title prompt ### Task:\\nGenerate  \r\n"
                               "mine system a\\tb\\\\c d e f\n"
                               "compact system 0123456789";
    struct mp_clienttask_patterns p;
    unsigned line = 0;
    const char *why = NULL;
    ck_assert_int_eq(mp_clienttask_parse(text, sizeof(text) - 1, &p, &line, &why), MP_OK);
    ck_assert_uint_eq(p.n, 3);
    ck_assert_int_eq(p.items[0].scope, MP_TASK_SCOPE_PROMPT);
    ck_assert_uint_eq(p.items[0].len, 18);
    ck_assert(memcmp(p.items[0].text, "### Task:\nGenerate", 18) == 0);
    ck_assert_int_eq(p.items[1].kind, MP_TASK_OTHER);
    ck_assert_int_eq(p.items[1].scope, MP_TASK_SCOPE_SYSTEM);
    ck_assert(memcmp(p.items[1].text, "a\tb\\c d e f", 11) == 0);
    ck_assert_int_eq(p.items[2].kind, MP_TASK_COMPACTION);
    ck_assert_int_eq(mp_clienttask_parse("", 0, &p, &line, &why), MP_OK);
    ck_assert_uint_eq(p.n, 0);
}
END_TEST

START_TEST(test_clienttask_parse_names_the_bad_line)
{
    static const char *const bad[] = {
        "title prompt",                /* no fragment */
        "title user 0123456789",       /* unknown scope */
        "title prompt short",          /* under 8 bytes */
        "title prompt 01234567\\q",    /* unknown escape */
        "title prompt 0123456789\x01", /* a control byte */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char text[128];
        struct mp_clienttask_patterns p;
        unsigned line = 0;
        const char *why = NULL;
        int n = snprintf(text, sizeof(text), "# head\ntitle prompt 0123456789\n%s\n", bad[i]);
        ck_assert_int_eq(mp_clienttask_parse(text, (size_t)n, &p, &line, &why), MP_EINVAL);
        ck_assert_uint_eq(line, 3);
        ck_assert_ptr_nonnull(why);
    }
    char *many = malloc(65 * 32);
    size_t n = 0;
    for (int i = 0; i < 65; i++)
        n += (size_t)sprintf(many + n, "title prompt fragment%02d\n", i);
    struct mp_clienttask_patterns p;
    unsigned line = 0;
    const char *why = NULL;
    ck_assert_int_eq(mp_clienttask_parse(many, n, &p, &line, &why), MP_EINVAL);
    ck_assert_uint_eq(line, 65);
    free(many);
    char longline[300];
    memcpy(longline, "title prompt ", 13);
    memset(longline + 13, 'x', 241);
    ck_assert_int_eq(mp_clienttask_parse(longline, 254, &p, &line, &why), MP_EINVAL);
    ck_assert_int_eq(mp_clienttask_parse(longline, 253, &p, &line, &why), MP_OK);
}
END_TEST

START_TEST(test_clienttask_shipped_file_is_the_builtin_list)
{
    FILE *f = fopen(MP_TASK_PATTERNS_FILE, "rb");
    ck_assert_ptr_nonnull(f);
    static char text[65536];
    size_t n = fread(text, 1, sizeof(text), f);
    fclose(f);
    struct mp_clienttask_patterns file, builtin = defaults();
    unsigned line = 0;
    const char *why = NULL;
    ck_assert_int_eq(mp_clienttask_parse(text, n, &file, &line, &why), MP_OK);
    ck_assert_uint_eq(file.n, builtin.n);
    ck_assert(memcmp(&file, &builtin, sizeof(file)) == 0);
}
END_TEST

START_TEST(test_clienttask_default_templates_match_on_every_wire)
{
    ck_assert_int_eq(detect(&mp_wire_chat, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
                                           "\"content\":\"" OWUI_TITLE "\"}]}"),
                     MP_TASK_TITLE);
    ck_assert_int_eq(detect(&mp_wire_responses, "{\"model\":\"m\",\"input\":\"" OWUI_TITLE "\"}"),
                     MP_TASK_TITLE);
    ck_assert_int_eq(detect(&mp_wire_messages,
                            "{\"model\":\"m\",\"system\":\"be brief\",\"messages\":[{\"role\":"
                            "\"user\",\"content\":[{\"type\":\"text\",\"text\":\"" OWUI_TITLE
                            "\"}]}]}"),
                     MP_TASK_TITLE);
    ck_assert_int_eq(
        detect(&mp_wire_chat,
               "{\"messages\":[{\"role\":\"system\",\"content\":\"\\u4f60\\u662f\\u4e00\\u540d"
               "\\u64c5\\u957f\\u4f1a\\u8bdd\\u7684\\u52a9\\u7406\\uff0c\\u4f60\\u9700\\u8981"
               "\\u5c06\\u7528\\u6237\\u7684\\u4f1a\\u8bdd\\u603b\\u7ed3\\u4e3a 10 \\u4e2a\\u5b57"
               "\\u4ee5\\u5185\\u7684\\u6807\\u9898\"},{\"role\":\"user\",\"content\":\"user: hi"
               "\"}]}"),
        MP_TASK_TITLE); /* LobeChat: the fragment in the system message, escaped */
    ck_assert_int_eq(detect(&mp_wire_chat,
                            "{\"messages\":[{\"role\":\"user\",\"content\":\"Provide "
                            "a concise, 5-word-or-less title for the conversation, "
                            "using title case conventions.\"}]}"),
                     MP_TASK_TITLE);
}
END_TEST

START_TEST(test_clienttask_system_prompt_matches_whatever_follows)
{
    /* Claude Code's compaction: a long conversation, tools, the fixed system prompt as a block */
    ck_assert_int_eq(detect(&mp_wire_messages,
                            "{\"system\":[{\"type\":\"text\",\"text\":\"x-anthropic-billing\"},"
                            "{\"type\":\"text\",\"text\":\"You are a helpful AI assistant tasked "
                            "with summarizing conversations.\"}],\"tools\":[{\"name\":\"t\"}],"
                            "\"messages\":[{\"role\":\"user\",\"content\":\"a\"},{\"role\":"
                            "\"assistant\",\"content\":\"b\"},{\"role\":\"user\",\"content\":"
                            "\"Your task is to create a detailed summary\"}]}"),
                     MP_TASK_COMPACTION);
    /* Codex: the compaction prompt as the Responses API's instructions */
    ck_assert_int_eq(detect(&mp_wire_responses,
                            "{\"instructions\":\"You are performing a CONTEXT CHECKPOINT "
                            "COMPACTION. Create a handoff summary\",\"input\":[{\"role\":\"user\","
                            "\"content\":\"a\"},{\"role\":\"assistant\",\"content\":\"b\"}]}"),
                     MP_TASK_COMPACTION);
}
END_TEST

START_TEST(test_clienttask_near_misses_are_not_tasks)
{
    /* a user asking for a title, tags or a summary in their own words */
    ck_assert_int_eq(detect(&mp_wire_chat, "{\"messages\":[{\"role\":\"user\",\"content\":"
                                           "\"Generate a concise, 3-5 word title for my essay "
                                           "on tags and summaries\"}]}"),
                     -1);
    /* the template's words in a later turn of a conversation */
    ck_assert_int_eq(detect(&mp_wire_chat,
                            "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":"
                            "\"assistant\",\"content\":\"hello\"},{\"role\":\"user\",\"content\":"
                            "\"" OWUI_TITLE "\"}]}"),
                     -1);
    /* with tools: an agent's turn, not a title request */
    ck_assert_int_eq(detect(&mp_wire_chat, "{\"tools\":[{\"type\":\"function\"}],\"messages\":[{"
                                           "\"role\":\"user\",\"content\":\"" OWUI_TITLE "\"}]}"),
                     -1);
    /* every API's scan reads the tools, before or after the turn's messages */
    ck_assert_int_eq(detect(&mp_wire_responses, "{\"model\":\"m\",\"input\":\"" OWUI_TITLE
                                                "\",\"tools\":[{\"type\":\"function\"}]}"),
                     -1);
    ck_assert_int_eq(detect(&mp_wire_messages,
                            "{\"tools\":[{\"name\":\"t\"}],\"model\":\"m\",\"messages\":[{\"role\":"
                            "\"user\",\"content\":\"" OWUI_TITLE "\"}]}"),
                     -1);
    ck_assert_int_eq(detect(&mp_wire_responses, "{\"tools\":null,\"input\":\"" OWUI_TITLE "\"}"),
                     MP_TASK_TITLE);
    /* an empty tools array and tools null are no tools */
    ck_assert_int_eq(detect(&mp_wire_chat, "{\"tools\":[ ],\"messages\":[{\"role\":\"user\","
                                           "\"content\":\"" OWUI_TITLE "\"}]}"),
                     MP_TASK_TITLE);
    /* a case change: fragments are case-sensitive */
    ck_assert_int_eq(detect(&mp_wire_chat, "{\"messages\":[{\"role\":\"user\",\"content\":"
                                           "\"### task:\\ngenerate a concise, 3-5 word title\"}]}"),
                     -1);
    /* the compaction sentence said by the user is not a system prompt */
    ck_assert_int_eq(
        detect(&mp_wire_chat,
               "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":"
               "\"assistant\",\"content\":\"x\"},{\"role\":\"user\",\"content\":\"You "
               "are a helpful AI assistant tasked with summarizing conversations.\"}]}"),
        -1);
}
END_TEST

START_TEST(test_clienttask_fragment_past_the_window_is_not_looked_for)
{
    size_t pad = MP_CLIENTTASK_WINDOW + 1;
    char *body = malloc(pad + 256);
    int n = sprintf(body, "{\"messages\":[{\"role\":\"user\",\"content\":\"");
    memset(body + n, 'a', pad);
    sprintf(body + n + pad, "### Task:\\nGenerate a concise, 3-5 word title\"}]}");
    ck_assert_int_eq(detect(&mp_wire_chat, body), -1); /* starts one byte past the window */
    sprintf(body + n + MP_CLIENTTASK_WINDOW, "### Task:\\nGenerate a concise, 3-5 word title\"}]}");
    ck_assert_int_eq(detect(&mp_wire_chat, body), MP_TASK_TITLE); /* starts at its edge */
    free(body);
}
END_TEST

START_TEST(test_clienttask_no_patterns_match_nothing)
{
    static const char body[] =
        "{\"messages\":[{\"role\":\"user\",\"content\":\"" OWUI_TITLE "\"}]}";
    struct mp_chatreq req;
    struct mp_clienttask_patterns p = {0};
    enum mp_clienttask_kind kind = MP_TASK_OTHER;
    ck_assert_int_eq(mp_wire_chat.scan(body, sizeof(body) - 1, msgs, 64, &req), MP_OK);
    ck_assert_int_eq(
        mp_clienttask_from_prompt(&mp_wire_chat, body, sizeof(body) - 1, &req, &p, NULL, &kind),
        MP_NOTFOUND);
}
END_TEST

static size_t strip(char *s)
{
    size_t n = mp_clienttask_strip_memory_context(s, strlen(s));
    s[n] = '\0';
    return n;
}

START_TEST(test_clienttask_strip_memory_context)
{
    char a[] = "<memory_context>\n[Relevant Context]\n- lives in Lyon\n</memory_context>\n\nI like "
               "tea";
    ck_assert_uint_eq(strip(a), 10);
    ck_assert_str_eq(a, "I like tea");
    char b[] = "one <memory_context>x</memory_context> two <memory_context>y</memory_context>";
    strip(b);
    ck_assert_str_eq(b, "one two ");
    char c[] = "keep <memory_context>no close";
    strip(c);
    ck_assert_str_eq(c, "keep ");
    char d[] = "talking about <memory_context> tags is fine? no: </memory_context>yes";
    strip(d);
    ck_assert_str_eq(d, "talking about yes");
    char e[] = "plain text with memory_context and </memory_context> alone";
    ck_assert_uint_eq(strip(e),
                      strlen("plain text with memory_context and </memory_context> alone"));
}
END_TEST

/* ---- by shape ---- */

/* text as a JSON string literal's body (no quotes) into out. */
static void esc(const char *text, char *out, size_t cap)
{
    size_t n = 0;
    for (; *text != '\0' && n + 3 < cap; text++) {
        if (*text == '"' || *text == '\\') {
            out[n++] = '\\';
            out[n++] = *text;
        } else if (*text == '\n') {
            out[n++] = '\\';
            out[n++] = 'n';
        } else {
            out[n++] = *text;
        }
    }
    out[n] = '\0';
}

static char body_buf[8192];

/* fmt with its first "%s" the JSON-escaped form of a, its second b's. */
static const char *body2(const char *fmt, const char *a, const char *b)
{
    const char *texts[2] = {a, b != NULL ? b : ""};
    size_t n = 0, k = 0;
    for (const char *f = fmt; *f != '\0'; f++) {
        if (f[0] == '%' && f[1] == 's' && k < 2) {
            esc(texts[k++], body_buf + n, sizeof(body_buf) - n);
            n += strlen(body_buf + n);
            f++;
        } else if (n + 1 < sizeof(body_buf)) {
            body_buf[n++] = *f;
        }
    }
    body_buf[n] = '\0';
    return body_buf;
}

/* The kind a body is a task as by shape on wire w; -1 when it is none.
 * The same read alone and after rule 2 on the same texts (as the proxy
 * runs them: what rule 2 decoded is not decoded again), under the
 * default patterns and none. */
static int shape(const struct mp_wire *w, const char *body)
{
    struct mp_chatreq req;
    struct mp_clienttask_patterns sets[2] = {defaults(), {0}};
    enum mp_clienttask_kind kind = MP_TASK_OTHER, k2 = MP_TASK_OTHER, ignored;
    size_t len = strlen(body);
    ck_assert_int_eq(w->scan(body, len, msgs, 64, &req), MP_OK);
    int rc = mp_clienttask_from_shape(w, body, len, &req, NULL, &kind);
    ck_assert(rc == MP_OK || rc == MP_NOTFOUND);
    for (int s = 0; s < 2; s++) {
        struct mp_clienttask_texts texts = {0};
        (void)mp_clienttask_from_prompt(w, body, len, &req, &sets[s], &texts, &ignored);
        ck_assert_int_eq(mp_clienttask_from_shape(w, body, len, &req, &texts, &k2), rc);
        ck_assert(rc != MP_OK || k2 == kind);
        mp_clienttask_texts_cleanup(&texts);
    }
    return rc == MP_OK ? (int)kind : -1;
}

/* A title task as a front end builds it: instructions, then the
 * conversation quoted (written for the test, in the shape of LibreChat's
 * and Open WebUI's). */
#define ANALYZE                                                                                    \
    "Analyze this conversation and provide:\n1. The detected language of the conversation\n"       \
    "2. A concise title in the detected language (5 words or less)\n\n"                            \
    "User: the tool printed SECRET_CODENAME=zebra\nAI: Noted, the codename is zebra."
#define PERSON_AGENT                                                                               \
    "You are a senior Python developer. I need your help with my project:\n"                       \
    "- src/app.py crashes on start\n- the tests folder has no tests\n"                             \
    "- the config file is config.yaml\n- the build tool is make\n"                                 \
    "Please look at it and tell me what to change first, step by step, with the reasons for each " \
    "step and what it fixes, so that I can learn from it as I go along the way."
#define AGENT                                                                                      \
    "You are now acting as the note keeper of a coding assistant.\n\nRules:\n"                     \
    "- Read only the files under ~/.acme/notes/ and the project's NOTES.md.\n"                     \
    "- Never write outside the notes directory.\n"                                                 \
    "- Use the `write_file` tool once per note.\n- Keep each note under 200 words.\n\n"            \
    "When nothing is worth keeping, answer with the single word NONE and stop. Do not explain "    \
    "what was kept or why; the assistant reads the notes later."

#define AGENT_ROLELESS                                                                             \
    "Keep the memory of this session in two directories, as your instructions say:\n"              \
    "- facts about the person: `/home/u/.acme/memory/user`\n"                                      \
    "- facts about the project: `/home/u/code/.acme/memory`\n\n"                                   \
    "Write each fact as its own file with the write_file tool, name it for its subject, and "      \
    "leave "                                                                                       \
    "the directories as they are when the session holds nothing new. Never copy a secret, a "      \
    "token or a password into a file."

/* An agent's rules given in sentences, its own named as the reader's (no
 * directory, no list). */
#define AGENT_SENTENCES                                                                            \
    "You are now acting as the archivist. Read the messages above and use them to update your "    \
    "persistent notes.\n\nTools: Read and Write for files inside the notes directory only; every " \
    "other tool will be refused.\n\nYou MUST only use what the messages above say. Do not open "   \
    "other files and do not run commands. If nothing is worth keeping, answer only 'Nothing.' "    \
    "Do not explain why. Apply the note format from your system prompt."

START_TEST(test_clienttask_structured_title_on_every_wire)
{
    /* chat completions: a function call forced, the kind in the prompt */
    ck_assert_int_eq(
        shape(&mp_wire_chat,
              body2("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"%s\"}],"
                    "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"extract\"}}],"
                    "\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"extract\"}}}",
                    ANALYZE, NULL)),
        MP_TASK_TITLE);
    /* a JSON schema as response_format, the kind only in the schema's name,
       the transcript in a chat tag */
    ck_assert_int_eq(
        shape(&mp_wire_chat,
              body2("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"%s\"}],"
                    "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":"
                    "\"chat_tags\",\"schema\":{}}}}",
                    "Read the chat history and answer in JSON.\n<chat_history>\nUSER: bees\n"
                    "ASSISTANT: yes\n</chat_history>",
                    NULL)),
        MP_TASK_TAGS);
    /* Responses: text.format, a string input */
    ck_assert_int_eq(shape(&mp_wire_responses,
                           body2("{\"model\":\"m\",\"input\":\"%s\",\"text\":{\"format\":{\"type\":"
                                 "\"json_schema\",\"name\":\"t\",\"schema\":{}}}}",
                                 ANALYZE, NULL)),
                     MP_TASK_TITLE);
    /* Responses: a function forced, input items, the instructions apart */
    ck_assert_int_eq(
        shape(&mp_wire_responses,
              body2("{\"model\":\"m\",\"instructions\":\"%s\",\"input\":[{\"role\":\"user\","
                    "\"content\":\"%s\"}],\"tools\":[{\"type\":\"function\",\"name\":\"f\"}],"
                    "\"tool_choice\":\"required\"}",
                    "Summarize the conversation you are given.", "User: hi\nAssistant: hello")),
        MP_TASK_COMPACTION);
    /* Messages: a tool forced, the kind in the tool's name */
    ck_assert_int_eq(
        shape(&mp_wire_messages,
              body2("{\"model\":\"m\",\"max_tokens\":64,\"messages\":[{\"role\":\"user\","
                    "\"content\":\"%s\"}],\"tools\":[{\"name\":\"set_title\",\"input_schema\":{}}],"
                    "\"tool_choice\":{\"type\":\"tool\",\"name\":\"set_title\"}}",
                    "Here is a conversation.\nHuman: hi\nAssistant: hello", NULL)),
        MP_TASK_TITLE);
    /* plain: the system prompt asks, the user message is the transcript */
    ck_assert_int_eq(
        shape(&mp_wire_chat,
              body2("{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":\"%s\"},"
                    "{\"role\":\"user\",\"content\":\"%s\"}]}",
                    "Write a three word title for the conversation the user shares.",
                    "User: I keep bees\nAssistant: Lovely")),
        MP_TASK_TITLE);
}
END_TEST

START_TEST(test_clienttask_structured_near_misses_are_the_users)
{
    /* a person's question under a schema: no conversation named or quoted */
    ck_assert_int_eq(
        shape(&mp_wire_chat,
              body2("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"%s\"}],"
                    "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":"
                    "\"title\",\"schema\":{}}}}",
                    "What is a good title for my blog post about bees?", NULL)),
        -1);
    /* a person naming a task and a conversation under a schema: they write "I", "my" */
    ck_assert_int_eq(
        shape(&mp_wire_chat,
              body2("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"%s\"}],"
                    "\"response_format\":{\"type\":\"json_object\"}}",
                    "Suggest a title for the conversation I had with my landlord.", NULL)),
        -1);
    /* an app whose system prompt talks of the conversation and whose
       schema names a title: the person's words name a task ("memory",
       German "Tag") but quote no transcript */
    static const char *const persons[] = {"What's your best camping memory?",
                                          "Zeugniskonferenzen diese Woche, jeden Tag bis sechs.",
                                          "Always include a summary table when I ask."};
    for (size_t i = 0; i < sizeof(persons) / sizeof(persons[0]); i++)
        ck_assert_int_eq(
            shape(&mp_wire_chat,
                  body2("{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":"
                        "\"You are Pocket. Keep the conversation light; summarize when asked.\"},"
                        "{\"role\":\"user\",\"content\":\"%s\"}],\"response_format\":{"
                        "\"type\":\"json_schema\",\"json_schema\":{\"name\":\"entry\","
                        "\"schema\":{\"properties\":{\"title\":{},\"tags\":{}}}}}}",
                        persons[i], NULL)),
            -1);
    /* a modal dialog's title is no conversation's */
    ck_assert_int_eq(
        shape(&mp_wire_chat,
              body2("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"%s\"}],"
                    "\"response_format\":{\"type\":\"json_object\"}}",
                    "Add an ARIA title to the settings dialog and its buttons.", NULL)),
        -1);
    /* the same ask in a conversation (an earlier turn): not lone */
    ck_assert_int_eq(
        shape(&mp_wire_chat,
              body2("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},"
                    "{\"role\":\"assistant\",\"content\":\"hello\"},{\"role\":\"user\","
                    "\"content\":\"%s\"}],\"tool_choice\":\"required\",\"tools\":[{\"type\":"
                    "\"function\",\"function\":{\"name\":\"f\"}}]}",
                    ANALYZE, NULL)),
        -1);
    /* a transcript and a title asked, but free to answer and with tools */
    ck_assert_int_eq(
        shape(&mp_wire_chat,
              body2("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"%s\"}],"
                    "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}]}",
                    ANALYZE, NULL)),
        -1);
    /* a schema's answer and a transcript, but no task named anywhere */
    ck_assert_int_eq(
        shape(&mp_wire_chat,
              body2("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"%s\"}],"
                    "\"response_format\":{\"type\":\"json_object\"}}",
                    "Who said it?\nUser: hi\nAssistant: hello", NULL)),
        -1);
    /* tool_choice auto fixes nothing */
    ck_assert_int_eq(
        shape(&mp_wire_chat,
              body2("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"%s\"}],"
                    "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"set_title\"}}],"
                    "\"tool_choice\":\"auto\"}",
                    ANALYZE, NULL)),
        -1);
}
END_TEST

START_TEST(test_clienttask_agent_prompt_is_a_task_on_every_wire)
{
    ck_assert_int_eq(
        shape(&mp_wire_messages,
              body2("{\"model\":\"m\",\"max_tokens\":64,\"system\":\"be brief\",\"messages\":"
                    "[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"%s\"}]}],"
                    "\"tools\":[{\"name\":\"write_file\",\"input_schema\":{}}]}",
                    AGENT, NULL)),
        MP_TASK_OTHER);
    /* its loop: the tool's call and result follow, the only user text is the prompt */
    ck_assert_int_eq(
        shape(&mp_wire_chat,
              body2("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"%s\"},"
                    "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[]},{\"role\":"
                    "\"tool\",\"tool_call_id\":\"1\",\"content\":\"I wrote it\"}],\"tools\":[]}",
                    AGENT, NULL)),
        MP_TASK_OTHER);
    /* the role in the system prompt, the person's words earlier in the
       history the client replays, its instructions the newest user text */
    ck_assert_int_eq(
        shape(&mp_wire_chat,
              body2("{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":"
                    "\"You are the note keeper.\"},{\"role\":\"user\",\"content\":\"I live in "
                    "Lyon.\"},{\"role\":\"assistant\",\"content\":\"ok\"},{\"role\":\"user\","
                    "\"content\":\"%s\"}],\"tools\":[{\"type\":\"function\",\"function\":{"
                    "\"name\":\"write_file\"}}]}",
                    AGENT_ROLELESS, NULL)),
        MP_TASK_MEMORY_REVIEW);
    /* rules in sentences, the reader's own notes: Messages, after the
       conversation it replays */
    ck_assert_int_eq(
        shape(&mp_wire_messages,
              body2("{\"model\":\"m\",\"max_tokens\":64,\"messages\":[{\"role\":\"user\","
                    "\"content\":\"I live in Lyon.\"},{\"role\":\"assistant\",\"content\":"
                    "\"ok\"},{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":"
                    "\"%s\"}]}]}",
                    AGENT_SENTENCES, NULL)),
        MP_TASK_OTHER);
    /* the same without a role anywhere: no address to a model */
    ck_assert_int_eq(
        shape(&mp_wire_chat, body2("{\"model\":\"m\",\"messages\":[{\"role\":\"system\","
                                   "\"content\":\"Be brief.\"},{\"role\":\"user\",\"content\":"
                                   "\"%s\"}]}",
                                   AGENT_ROLELESS, NULL)),
        -1);
    ck_assert_int_eq(shape(&mp_wire_responses, body2("{\"model\":\"m\",\"input\":\"%s\"}",
                                                     AGENT "\nKeep the memory short.", NULL)),
                     MP_TASK_MEMORY_REVIEW); /* named by its text */
}
END_TEST

START_TEST(test_clienttask_persons_words_are_no_agent)
{
    /* a person's role prompt with rules about their files */
    ck_assert_int_eq(
        shape(&mp_wire_chat, body2("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
                                   "\"%s\"}]}",
                                   PERSON_AGENT, NULL)),
        -1);
    /* a client's prompt, then the person's words: the turn is the person's */
    ck_assert_int_eq(
        shape(&mp_wire_chat,
              body2("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"%s\"},"
                    "{\"role\":\"user\",\"content\":\"%s\"}]}",
                    AGENT, "Which notes did you keep?")),
        -1);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("clienttask");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_clienttask_hints_first_match_wins);
    tcase_add_test(tc, test_clienttask_kind_names_are_a_fixed_set);
    tcase_add_test(tc, test_clienttask_parse_reads_escapes_and_comments);
    tcase_add_test(tc, test_clienttask_parse_names_the_bad_line);
    tcase_add_test(tc, test_clienttask_shipped_file_is_the_builtin_list);
    tcase_add_test(tc, test_clienttask_default_templates_match_on_every_wire);
    tcase_add_test(tc, test_clienttask_system_prompt_matches_whatever_follows);
    tcase_add_test(tc, test_clienttask_near_misses_are_not_tasks);
    tcase_add_test(tc, test_clienttask_fragment_past_the_window_is_not_looked_for);
    tcase_add_test(tc, test_clienttask_no_patterns_match_nothing);
    tcase_add_test(tc, test_clienttask_strip_memory_context);
    tcase_add_test(tc, test_clienttask_structured_title_on_every_wire);
    tcase_add_test(tc, test_clienttask_structured_near_misses_are_the_users);
    tcase_add_test(tc, test_clienttask_agent_prompt_is_a_task_on_every_wire);
    tcase_add_test(tc, test_clienttask_persons_words_are_no_agent);
    suite_add_tcase(s, tc);
    return s;
}
