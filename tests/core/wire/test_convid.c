/* Tests for core/wire/convid.c: the conversation identity rule. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "wire/chatreq.h"
#include "wire/convid.h"
#include "wire/ownwords.h"
#include "status.h"
#include "wire/wire.h"

Suite *mp_test_suite(void);

static struct mp_chatreq_msg msgs[32];

/* Scans body with the wire's scanner (0 chat, 1 responses, 2 messages)
 * and identifies it. */
static struct mp_convid identify(int api, const char *body, const struct mp_convid_headers *h)
{
    struct mp_chatreq req;
    struct mp_convid c;
    int rc = api == 0   ? mp_chatreq_scan(body, strlen(body), msgs, 32, &req)
             : api == 1 ? mp_chatreq_scan_input(body, strlen(body), msgs, 32, &req)
                        : mp_chatreq_scan_messages(body, strlen(body), msgs, 32, &req);
    ck_assert_int_eq(rc, MP_OK);
    memset(&c, 0xA5, sizeof(c));
    mp_convid_identify(body, strlen(body), &req, h, &c);
    return c;
}

static void assert_id(const struct mp_convid *c, enum mp_convid_kind kind, const char *source,
                      const char *id)
{
    ck_assert_int_eq(c->kind, kind);
    ck_assert_str_eq(c->source, source);
    ck_assert_uint_eq(c->id_len, strlen(id));
    ck_assert(memcmp(c->id, id, c->id_len) == 0);
}

#define HIST                                                                                       \
    "{\"messages\":[{\"role\":\"system\",\"content\":\"be brief\"},"                               \
    "{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\",\"content\":\"hello\"},"       \
    "{\"role\":\"user\",\"content\":\"%s\"}]}"

/* The client's headers come first, in the documented order. */
START_TEST(test_convid_headers_in_order)
{
    const char *body = "{\"prompt_cache_key\":\"pk\",\"messages\":[{\"role\":\"user\",\"content\":"
                       "\"q\"}]}";
    struct mp_convid_headers h = {{"owui-1", "claude-1", "codex-1"}, {6, 8, 7}};
    struct mp_convid c = identify(0, body, &h);
    assert_id(&c, MP_CONVID_CLIENT, "x-openwebui-chat-id", "owui-1");
    h.len[0] = 0;
    c = identify(0, body, &h);
    assert_id(&c, MP_CONVID_CLIENT, "x-claude-code-session-id", "claude-1");
    h.value[1] = NULL;
    c = identify(0, body, &h);
    assert_id(&c, MP_CONVID_CLIENT, "session-id", "codex-1");
    h.value[2] = NULL;
    c = identify(0, body, &h);
    /* a body's prompt_cache_key names no conversation (apps set it per
       user): the lone message is the next rule's */
    ck_assert_int_eq(c.kind, MP_CONVID_SESSION);
}
END_TEST

/* Responses: "conversation" (string or object), then the chain. */
START_TEST(test_convid_responses_state)
{
    struct mp_convid c = identify(
        1, "{\"conversation\":\"conv_1\",\"previous_response_id\":\"resp_9\",\"input\":\"q\"}",
        NULL);
    assert_id(&c, MP_CONVID_CLIENT, "conversation", "conv_1");
    c = identify(1, "{\"conversation\":{\"id\":\"conv_2\"},\"input\":\"q\"}", NULL);
    assert_id(&c, MP_CONVID_CLIENT, "conversation", "conv_2");
    c = identify(1, "{\"previous_response_id\":\"resp_9\",\"input\":\"q\"}", NULL);
    assert_id(&c, MP_CONVID_CHAIN, "previous_response_id", "resp_9");
    /* null and non-strings are no id: the lone question is a session */
    c = identify(1, "{\"previous_response_id\":null,\"conversation\":7,\"input\":\"q\"}", NULL);
    ck_assert_int_eq(c.kind, MP_CONVID_SESSION);
}
END_TEST

/* A resent conversation is its leading messages: the same on every turn,
 * different for another system prompt or another first question. */
START_TEST(test_convid_leading_messages)
{
    char b1[512], b2[512], b3[512];
    snprintf(b1, sizeof(b1), HIST, "first follow-up");
    snprintf(b2, sizeof(b2), HIST, "second follow-up");
    struct mp_convid c1 = identify(0, b1, NULL), c2 = identify(0, b2, NULL);
    ck_assert_int_eq(c1.kind, MP_CONVID_LEADING);
    ck_assert_int_eq(c2.kind, MP_CONVID_LEADING);
    ck_assert(c1.lead == c2.lead);
    snprintf(b3, sizeof(b3), HIST, "first follow-up");
    memcpy(strstr(b3, "be brief"), "be BRIEF", 8);
    ck_assert(identify(0, b3, NULL).lead != c1.lead);
    snprintf(b3, sizeof(b3), HIST, "first follow-up");
    memcpy(strstr(b3, "\"hi\""), "\"ho\"", 4);
    ck_assert(identify(0, b3, NULL).lead != c1.lead);
    /* two user messages and no assistant: resent too */
    c1 = identify(0,
                  "{\"messages\":[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"user\","
                  "\"content\":\"b\"}]}",
                  NULL);
    ck_assert_int_eq(c1.kind, MP_CONVID_LEADING);
}
END_TEST

/* Messages' "system" is part of the leading messages; a lone question is
 * the user's session. */
START_TEST(test_convid_messages_system_and_session)
{
    const char *a = "{\"system\":\"S1\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},"
                    "{\"role\":\"assistant\",\"content\":\"yo\"},{\"role\":\"user\",\"content\":"
                    "\"q\"}]}";
    const char *b = "{\"system\":\"S2\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},"
                    "{\"role\":\"assistant\",\"content\":\"yo\"},{\"role\":\"user\",\"content\":"
                    "\"q\"}]}";
    struct mp_convid ca = identify(2, a, NULL), cb = identify(2, b, NULL);
    ck_assert_int_eq(ca.kind, MP_CONVID_LEADING);
    ck_assert(ca.lead != cb.lead);
    ca = identify(2, "{\"system\":\"S1\",\"messages\":[{\"role\":\"user\",\"content\":\"q\"}]}",
                  NULL);
    ck_assert_int_eq(ca.kind, MP_CONVID_SESSION);
}
END_TEST

/* A tool loop's rounds resend the conversation whatever the API: a
 * Responses function_call and its output, a chat tool message, with the
 * first user message alone; keyed as the lone first turn's lead. */
START_TEST(test_convid_tool_rounds_resend)
{
    const char *lone = "{\"input\":[{\"role\":\"user\",\"content\":\"q\"}]}";
    const char *round = "{\"input\":[{\"role\":\"user\",\"content\":\"q\"},{\"type\":"
                        "\"function_call\",\"call_id\":\"c\",\"name\":\"f\",\"arguments\":\"{}\"},"
                        "{\"type\":\"function_call_output\",\"call_id\":\"c\",\"output\":\"x\"}]}";
    struct mp_convid c = identify(1, lone, NULL), r = identify(1, round, NULL);
    ck_assert_int_eq(c.kind, MP_CONVID_SESSION);
    ck_assert_int_eq(r.kind, MP_CONVID_LEADING);
    uint64_t lead = 0;
    struct mp_chatreq req;
    ck_assert_int_eq(mp_chatreq_scan_input(lone, strlen(lone), msgs, 32, &req), MP_OK);
    ck_assert(mp_convid_lead(lone, &req, &lead));
    ck_assert(lead == r.lead);
    r = identify(0,
                 "{\"messages\":[{\"role\":\"user\",\"content\":\"q\"},{\"role\":\"tool\","
                 "\"tool_call_id\":\"c\",\"content\":\"x\"}]}",
                 NULL);
    ck_assert_int_eq(r.kind, MP_CONVID_LEADING);
}
END_TEST

/* A lone message's leading messages hash as the turns that resend it
 * will: its first turn and its second have the same lead. */
START_TEST(test_convid_lead_of_a_first_turn)
{
    const char *first = "{\"messages\":[{\"role\":\"system\",\"content\":\"be brief\"},"
                        "{\"role\":\"user\",\"content\":\"hi\"}]}";
    char second[512];
    snprintf(second, sizeof(second), HIST, "next");
    struct mp_chatreq req;
    uint64_t lead = 0;
    ck_assert_int_eq(mp_chatreq_scan(first, strlen(first), msgs, 32, &req), MP_OK);
    ck_assert(mp_convid_lead(first, &req, &lead));
    struct mp_convid c = identify(0, first, NULL);
    ck_assert_int_eq(c.kind, MP_CONVID_SESSION); /* the rule still says session */
    ck_assert(identify(0, second, NULL).lead == lead);
    const char *none = "{\"messages\":[{\"role\":\"system\",\"content\":\"be brief\"}]}";
    ck_assert_int_eq(mp_chatreq_scan(none, strlen(none), msgs, 32, &req), MP_OK);
    ck_assert(!mp_convid_lead(none, &req, &lead));
}
END_TEST

/* A first user message its client inserted context into leads as its
 * user's own words (req.own): a first turn with a file and the turn that
 * resends its words alone are one conversation. */
START_TEST(test_convid_lead_of_inserted_context)
{
    const char *with =
        "{\"messages\":[{\"role\":\"system\",\"content\":\"be brief\"},"
        "{\"role\":\"user\",\"content\":\"<system-reminder>ctx</system-reminder>\\nhi\"}]}";
    const char *plain = "{\"messages\":[{\"role\":\"system\",\"content\":\"be brief\"},"
                        "{\"role\":\"user\",\"content\":\"hi\"}]}";
    struct mp_inserted_patterns p;
    struct mp_ownwords owns;
    struct mp_chatreq req;
    unsigned line = 0;
    const char *why = NULL;
    uint64_t a = 0, b = 0, raw = 0;
    ck_assert_int_eq(mp_inserted_parse(mp_inserted_default_patterns,
                                       strlen(mp_inserted_default_patterns), &p, &line, &why),
                     MP_OK);
    ck_assert_int_eq(mp_chatreq_scan(with, strlen(with), msgs, 32, &req), MP_OK);
    ck_assert(mp_convid_lead(with, &req, &raw));
    ck_assert_int_eq(mp_ownwords_request(&mp_wire_chat, with, &req, &p, &owns), MP_OK);
    req.own = &owns;
    ck_assert(mp_convid_lead(with, &req, &a));
    ck_assert_int_eq(mp_chatreq_scan(plain, strlen(plain), msgs, 32, &req), MP_OK);
    ck_assert(mp_convid_lead(plain, &req, &b));
    ck_assert(a == b);
    ck_assert(raw != b); /* as sent, it would be another conversation */
}
END_TEST

/* The name distinguishes kinds and sources; ids too long are ignored. */
START_TEST(test_convid_name_and_limits)
{
    char n1[MP_CONVID_NAME_MAX], n2[MP_CONVID_NAME_MAX], big[MP_CONVID_ID_MAX + 2];
    struct mp_convid_headers h = {{"x", NULL, NULL}, {1, 0, 0}};
    const char *body = "{\"prompt_cache_key\":\"x\",\"messages\":[{\"role\":\"user\","
                       "\"content\":\"q\"}]}";
    struct mp_convid a = identify(0, body, &h), b = identify(0, body, NULL);
    size_t la = mp_convid_name(&a, n1, sizeof(n1)), lb = mp_convid_name(&b, n2, sizeof(n2));
    ck_assert(la != lb || memcmp(n1, n2, la) != 0);
    ck_assert_uint_eq(mp_convid_name(&a, n1, 0), la); /* the length needed, nothing written */
    memset(big, 'k', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    h.value[0] = big;
    h.len[0] = strlen(big);
    a = identify(0, body, &h);
    ck_assert_int_eq(a.kind, MP_CONVID_SESSION); /* too long: ignored, and no key names one */
    h.len[0] = MP_CONVID_ID_MAX;                 /* exactly the limit: taken */
    a = identify(0, body, &h);
    ck_assert_uint_eq(a.id_len, MP_CONVID_ID_MAX);
    ck_assert_uint_le(mp_convid_name(&a, n1, sizeof(n1)), MP_CONVID_NAME_MAX);
}
END_TEST

/* Open WebUI's temporary chat: X-OpenWebUI-Chat-Id starting "local:", as
 * Open WebUI writes it; no other header, and no body, makes one. */
START_TEST(test_convid_temporary_is_openwebui_local_id)
{
    static const char *const yes[] = {"local:pZ2bJ4y0aF1kLqAAAAB", "local:", "local:undefined",
                                      NULL};
    static const char *const no[] = {"3f1c0b9e-7d7e-4c2b-9a55-1f0f2a6c8e11",
                                     "Local:x",
                                     "LOCAL:x",
                                     "local",
                                     "loca",
                                     " local:x",
                                     "channel:c1",
                                     "",
                                     NULL};
    static char big[MP_CONVID_ID_MAX + 64];
    struct mp_convid_headers h = {{NULL, NULL, NULL}, {0, 0, 0}};
    ck_assert(!mp_convid_temporary(NULL));
    ck_assert(!mp_convid_temporary(&h));
    for (size_t i = 0; yes[i] != NULL; i++) {
        h.value[0] = yes[i];
        h.len[0] = strlen(yes[i]);
        ck_assert_msg(mp_convid_temporary(&h), "%s", yes[i]);
    }
    for (size_t i = 0; no[i] != NULL; i++) {
        h.value[0] = no[i];
        h.len[0] = strlen(no[i]);
        ck_assert_msg(!mp_convid_temporary(&h), "%s", no[i]);
    }
    /* the length is the header's, not a NUL's: "local:" cut short is not one */
    h.value[0] = "local:x";
    h.len[0] = 5;
    ck_assert(!mp_convid_temporary(&h));
    /* Claude Code's and Codex's session ids are never temporary, whatever they say */
    h = (struct mp_convid_headers){{NULL, "local:x", "local:y"}, {0, 7, 7}};
    ck_assert(!mp_convid_temporary(&h));
    /* any length: the id cap is for keying */
    memset(big, 'k', sizeof(big));
    memcpy(big, "local:", 6);
    h = (struct mp_convid_headers){{big, NULL, NULL}, {sizeof(big), 0, 0}};
    ck_assert(mp_convid_temporary(&h));
}
END_TEST

/* The name as it was first written, by snprintf: the digit of the kind,
 * NUL, the source, NUL, then the lead's 16 hex digits (LEADING) or the id
 * (CLIENT, CHAIN). The name keys the conversation tables and its digest is
 * stored with every message: it must never change. */
static size_t name_by_format(const struct mp_convid *c, char *out)
{
    size_t n = (size_t)snprintf(out, MP_CONVID_NAME_MAX, "%d", (int)c->kind) + 1;
    size_t slen = strlen(c->source);
    memcpy(out + n, c->source, slen + 1);
    n += slen + 1;
    if (c->kind == MP_CONVID_LEADING) {
        n += (size_t)snprintf(out + n, MP_CONVID_NAME_MAX - n, "%016llx",
                              (unsigned long long)c->lead);
    } else if (c->kind != MP_CONVID_SESSION) {
        memcpy(out + n, c->id, c->id_len);
        n += c->id_len;
    }
    return n;
}

/* mp_convid_name writes what the format did, byte for byte, for every
 * kind, source, id length and lead (zeros, all bits, single digits,
 * pseudo-random), and whatever cap. */
START_TEST(test_convid_name_is_the_format)
{
    static const char *const sources[] = {"",
                                          "resends",
                                          "prompt_cache_key",
                                          "conversation",
                                          MP_CONVID_CHAIN_SOURCE,
                                          "x-openwebui-chat-id"};
    static char id[MP_CONVID_ID_MAX];
    char want[MP_CONVID_NAME_MAX], got[MP_CONVID_NAME_MAX + 8];
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (size_t i = 0; i < sizeof(id); i++)
        id[i] = (char)(' ' + i % 95);
    for (int r = 0; r < 400; r++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        uint64_t lead = r == 0   ? 0
                        : r == 1 ? UINT64_MAX
                        : r < 18 ? (uint64_t)(r - 2) << (4 * (r - 2))
                                 : x;
        struct mp_convid c = {.kind = (enum mp_convid_kind)(MP_CONVID_CLIENT + r % 4),
                              .source = sources[(size_t)r % (sizeof(sources) / sizeof(sources[0]))],
                              .id = id,
                              .id_len =
                                  r < 4 ? (size_t)r : (size_t)(x >> 40) % (MP_CONVID_ID_MAX + 1),
                              .lead = lead};
        size_t n = name_by_format(&c, want);
        memset(got, 0x5A, sizeof(got));
        ck_assert_uint_eq(mp_convid_name(&c, got, sizeof(got)), n);
        ck_assert(memcmp(got, want, n) == 0);
        ck_assert_int_eq(got[n], 0x5A); /* nothing past it */
        size_t cap = (size_t)(x >> 20) % (n + 1);
        memset(got, 0x5A, sizeof(got));
        ck_assert_uint_eq(mp_convid_name(&c, got, cap), n);
        ck_assert(memcmp(got, want, cap) == 0);
        ck_assert_int_eq(got[cap], 0x5A);
    }
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("convid");
    TCase *tc = tcase_create("convid");
    tcase_add_test(tc, test_convid_headers_in_order);
    tcase_add_test(tc, test_convid_responses_state);
    tcase_add_test(tc, test_convid_leading_messages);
    tcase_add_test(tc, test_convid_lead_of_a_first_turn);
    tcase_add_test(tc, test_convid_lead_of_inserted_context);
    tcase_add_test(tc, test_convid_messages_system_and_session);
    tcase_add_test(tc, test_convid_tool_rounds_resend);
    tcase_add_test(tc, test_convid_name_and_limits);
    tcase_add_test(tc, test_convid_name_is_the_format);
    tcase_add_test(tc, test_convid_temporary_is_openwebui_local_id);
    suite_add_tcase(s, tc);
    return s;
}
