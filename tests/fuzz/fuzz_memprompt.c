/* libFuzzer target for core/memory/memprompt.c (and the core/memory/pii.c detectors it
 * uses). The first byte picks what the rest is: 0 a raw extraction answer
 * body; 1 the text of choice 0 of an answer, which is the usual shape of a
 * hostile model; 2 the text of a summary answer; 3 conversation text for
 * the request builders and the detectors. Every entity returned must obey
 * the header's validation rules; every request body must be valid JSON. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/json_write.h"
#include "json/json_scan.h"
#include "memory/memprompt.h"
#include "memory/pii.h"
#include "status.h"
#include "memory/usermem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

#define MAXE 6

static void check_entity(const struct mp_extracted *x)
{
    char again[MP_ENTITY_KEY_MAX + 1];
    size_t klen = strlen(x->key);

    CHECK(klen > 0 && klen <= MP_ENTITY_KEY_MAX);
    CHECK(mp_usermem_normalize_key(x->key, klen, again) == MP_OK && strcmp(again, x->key) == 0);
    CHECK(x->value_len > 0 && x->value_len <= MP_ENTITY_VALUE_MAX);
    CHECK(x->value[x->value_len] == '\0' && strlen(x->value) == x->value_len);
    CHECK(x->value[0] != ' ' && x->value[x->value_len - 1] != ' ');
    for (size_t i = 0; i < x->value_len; i++)
        CHECK((unsigned char)x->value[i] >= 0x20 && x->value[i] != 0x7F);
    CHECK(x->confidence >= 0.5 && x->confidence <= 1.0);
    CHECK(!mp_pii_looks_like_instruction(x->value, x->value_len));
    CHECK(!mp_pii_detect(x->value, x->value_len) || x->pii);
}

static void check_extract(const char *body, size_t len)
{
    struct mp_extracted out[MAXE];
    size_t n = 99, rejected = 99, dropped = 99;
    int rc = mp_memprompt_extract_parse(MP_LLM_OPENAI, body, len, 0.5, out, MAXE, &n, &rejected,
                                        &dropped);

    CHECK(rc == MP_OK || rc == MP_EINVAL);
    if (rc != MP_OK) {
        CHECK(n == 99 && rejected == 99 && dropped == 99);
        return;
    }
    CHECK(n <= MAXE && rejected < len && dropped < len);
    for (size_t i = 0; i < n; i++) {
        check_entity(&out[i]);
        for (size_t j = 0; j < i; j++)
            CHECK(strcmp(out[i].key, out[j].key) != 0);
    }
}

/* A batch answer of 3 turns with a fold and search keys: each fact's turn
 * in range, at most 2 a turn, keys within their bounds. */
static void check_batch(const char *body, size_t len)
{
    struct mp_extracted out[MAXE];
    struct mp_turn_keys keys[3];
    struct mp_memprompt_batch b = {3, 0.5, 2, 20, true};
    struct mp_batch_answer res = {.facts = out, .cap = MAXE, .keys = keys};
    int rc = mp_memprompt_batch_parse(MP_LLM_OPENAI, body, len, &b, &res);

    CHECK(rc == MP_OK || rc == MP_EINVAL);
    if (rc != MP_OK)
        return;
    size_t per[4] = {0};
    for (size_t i = 0; i < res.n; i++) {
        check_entity(&out[i]);
        CHECK(out[i].turn >= 1 && out[i].turn <= 3);
        CHECK(++per[out[i].turn] <= 2);
    }
    for (size_t t = 0; t < 3; t++) {
        CHECK(keys[t].len <= MP_MEMPROMPT_KEYS_MAX && strlen(keys[t].text) == keys[t].len);
        for (size_t i = 0; i < keys[t].len; i++)
            CHECK((unsigned char)keys[t].text[i] >= 0x20 && keys[t].text[i] != '|');
    }
    CHECK(res.summary == NULL || (res.summary_len > 0 && strlen(res.summary) == res.summary_len));
    free(res.summary);
}

/* A chat completion body whose choice 0 says text[0..len). */
static char *wrap(const char *text, size_t len, size_t *body_len)
{
    static const char head[] = "{\"choices\":[{\"index\":0,\"message\":{\"content\":\"";
    static const char tail[] = "\"}}]}";
    size_t cap = sizeof(head) + 6 * len + sizeof(tail);
    char *body = malloc(cap);
    CHECK(body != NULL);
    size_t n = sizeof(head) - 1;
    memcpy(body, head, n);
    size_t esc = mp_json_escape(body + n, 6 * len, text, len);
    CHECK(esc != (size_t)-1);
    n += esc;
    memcpy(body + n, tail, sizeof(tail) - 1);
    *body_len = n + sizeof(tail) - 1;
    return body;
}

static void check_summary(const char *text, size_t len, unsigned words)
{
    size_t blen;
    char *body = wrap(text, len, &blen);
    char *out = NULL;
    size_t out_len = 0;
    int rc = mp_memprompt_summary_parse(MP_LLM_OPENAI, body, blen, words, &out, &out_len);

    free(body);
    CHECK(rc == MP_OK || rc == MP_EINVAL);
    if (rc != MP_OK)
        return;
    CHECK(out_len > 0 && strlen(out) == out_len);
    unsigned count = 0;
    for (size_t i = 0; i < out_len; i++) {
        unsigned char c = (unsigned char)out[i];
        CHECK(c >= 0x20 || c == '\n' || c == '\t');
        CHECK(c != 0x7F);
        count += c != ' ' && c != '\n' && c != '\t' &&
                 (i == 0 || out[i - 1] == ' ' || out[i - 1] == '\n' || out[i - 1] == '\t');
    }
    CHECK(count <= words);
    CHECK(out[0] != ' ' && out[out_len - 1] != ' ');
    free(out);
}

static void check_valid_json(char *body, size_t len)
{
    size_t s, e;
    CHECK(mp_json_scan_value(body, len, 0, &s, &e) == MP_OK && s == 0 && e == len);
    free(body);
}

static void check_text(const char *text, size_t len)
{
    struct mp_mem_message msgs[2];
    size_t half = len / 2;
    char *body = NULL;
    size_t blen = 0;

    memset(msgs, 0, sizeof(msgs));
    msgs[0].role = MP_ROLE_USER;
    msgs[0].content = (char *)text;
    msgs[0].content_len = half;
    msgs[1].role = MP_ROLE_ASSISTANT;
    msgs[1].content = (char *)text + half;
    msgs[1].content_len = len - half;
    CHECK(mp_memprompt_summary_request(MP_LLM_OPENAI, "m", 100, text, half, msgs, 2, &body,
                                       &blen) == MP_OK);
    check_valid_json(body, blen);
    CHECK(mp_memprompt_extract_request(MP_LLM_OPENAI, "m", text, half, text + half, len - half,
                                       &body, &blen) == MP_OK);
    check_valid_json(body, blen);

    /* Spans are ordered, in bounds, and each is found again from its start. */
    size_t pos = 0, s, e;
    while (mp_pii_find(text, len, pos, &s, &e) != 0) {
        size_t s2, e2;
        CHECK(s >= pos && e > s && e <= len);
        CHECK(mp_pii_find(text, len, s, &s2, &e2) != 0 && s2 == s && e2 == e);
        pos = e;
    }
    size_t cap = 2 * len + 11;
    char *red = malloc(cap);
    size_t rlen;
    CHECK(red != NULL);
    CHECK(mp_pii_redact(text, len, red, cap, &rlen) == MP_OK && rlen < cap && red[rlen] == '\0');
    free(red);
    (void)mp_pii_looks_like_instruction(text, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *text = (const char *)(data + 1);
    size_t len = size - 1;
    size_t blen;
    char *body;

    switch (data[0] % 4) {
    case 0:
        check_extract(text, len);
        break;
    case 1:
        body = wrap(text, len, &blen);
        check_extract(body, blen);
        check_batch(body, blen);
        free(body);
        break;
    case 2:
        check_summary(text, len, data[0] / 4 % 16 + 1);
        break;
    default:
        check_text(text, len);
        break;
    }
    return 0;
}
