/* Helpers shared by the memory suites: see mem_fixture.h. */
#include "mem_fixture.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

struct mp_usermem fx_um;
struct mp_mem_entity fx_ents[FX_MAX_FACTS];
struct mp_mem_message fx_mems[FX_MAX_MESSAGES];

char *fx_dup(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    ck_assert_ptr_nonnull(p);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void fx_setup(void)
{
    memset(&fx_um, 0, sizeof(fx_um));
    memset(fx_ents, 0, sizeof(fx_ents));
    memset(fx_mems, 0, sizeof(fx_mems));
    fx_um.entities = fx_ents;
    fx_um.messages = fx_mems;
}

void fx_teardown(void)
{
    for (size_t i = 0; i < fx_um.nentities; i++)
        free(fx_ents[i].value);
    for (size_t i = 0; i < fx_um.nmessages; i++)
        free(fx_mems[i].content);
    free(fx_um.summary.text);
    memset(&fx_um, 0, sizeof(fx_um));
}

struct mp_mem_entity *fx_fact_n(const char *key, const char *value, size_t len, enum mp_trust trust,
                                double conf, int64_t observed)
{
    ck_assert_uint_lt(fx_um.nentities, FX_MAX_FACTS);
    struct mp_mem_entity *e = &fx_ents[fx_um.nentities++];
    strncpy(e->key, key, MP_ENTITY_KEY_MAX);
    e->value = fx_dup(value, len);
    e->value_len = len;
    e->trust = trust;
    e->confidence = conf;
    e->observed_at_ms = observed;
    e->recorded_at_ms = observed;
    return e;
}

struct mp_mem_entity *fx_fact(const char *key, const char *value)
{
    return fx_fact_n(key, value, strlen(value), MP_TRUST_STATED, 0.9, MAY1);
}

void fx_message(enum mp_role role, const char *content)
{
    ck_assert_uint_lt(fx_um.nmessages, FX_MAX_MESSAGES);
    struct mp_mem_message *m = &fx_mems[fx_um.nmessages++];
    m->role = role;
    m->content = fx_dup(content, strlen(content));
    m->content_len = strlen(content);
    m->seq = fx_um.nmessages;
    m->at_ms = MAY1;
}

void fx_summary(const char *text)
{
    free(fx_um.summary.text);
    fx_um.summary.text = fx_dup(text, strlen(text));
    fx_um.summary.text_len = strlen(text);
    fx_um.summary.updated_at_ms = MAY1;
}

void fx_full_memory(void)
{
    fx_fact("name", "Ada");
    fx_fact_n("vector_store", "ChromaDB", 8, MP_TRUST_CORRECTED, 1.0, MAY1 - DAY);
    fx_summary("Ada builds a RAG app.");
    fx_message(MP_ROLE_USER, "I use ChromaDB.");
    fx_message(MP_ROLE_ASSISTANT, "Noted: ChromaDB.");
}

void fx_five_messages(void)
{
    fx_message(MP_ROLE_USER, "message one, forty bytes long.........!!");
    fx_message(MP_ROLE_ASSISTANT, "message two, forty bytes long.........!!");
    fx_message(MP_ROLE_USER, "cccccccccccccccccccc\xc3\xa9"
                             "cccccccccccccccccc");
    fx_message(MP_ROLE_ASSISTANT, "message four, forty bytes long........!!");
    fx_message(MP_ROLE_USER, "message five, forty bytes long........!!");
}

uint32_t fx_tok(size_t bytes)
{
    return (uint32_t)((bytes + 3) / 4);
}

const char *fx_line_with(const char *block, const char *prefix)
{
    static char line[8192];
    const char *p = block, *nl;
    while (p != NULL && strncmp(p, prefix, strlen(prefix)) != 0) {
        p = strchr(p, '\n');
        if (p != NULL)
            p++;
    }
    ck_assert_ptr_nonnull(p);
    nl = strchr(p, '\n');
    size_t n = nl != NULL ? (size_t)(nl - p) : strlen(p);
    ck_assert_uint_lt(n, sizeof(line));
    memcpy(line, p, n);
    line[n] = '\0';
    return line;
}

void fx_assert_block_shape(const char *block, size_t want_lines)
{
    static const char *const heads[] = {
        "[User profile]: ", "[Conversation history summary]: ", "[Relevant past conversation]: "};
    const char *p = block, *nl;
    size_t lines = 0, h = 0;
    ck_assert_int_eq(strncmp(block, INTRO, strlen(INTRO)), 0);
    for (; p != NULL; p = nl != NULL ? nl + 1 : NULL, lines++) {
        nl = strchr(p, '\n');
        if (lines == 0) {
            ck_assert_ptr_eq(nl != NULL ? nl : p + strlen(p), p + strlen(INTRO));
            continue;
        }
        while (h < 3 && strncmp(p, heads[h], strlen(heads[h])) != 0)
            h++;
        ck_assert_uint_lt(h, 3); /* a line that is no (next) section header */
        h++;
    }
    ck_assert_uint_eq(lines, want_lines);
    ck_assert_ptr_null(strstr(block, "<|"));
    ck_assert_ptr_null(strstr(block, "|>"));
    ck_assert_ptr_null(strchr(block, '<'));
    ck_assert_ptr_null(strchr(block, '>'));
    ck_assert_ptr_null(strchr(block, '\r'));
}
