/* A Responses previous_response_id chain (core/wire/chain.h): a reply's
 * id, from a body and from a stream's events; which chain a request that
 * continues a recorded reply is in; its first link's turn. */
#include <check.h>
#include <string.h>

#include "wire/chain.h"
#include "wire/convid.h"
#include "status.h"

static bool body_id(const char *body, const char *want)
{
    const char *id = NULL;
    size_t n = 0;
    if (!mp_chain_reply_id(body, strlen(body), &id, &n))
        return want == NULL;
    return want != NULL && n == strlen(want) && memcmp(id, want, n) == 0;
}

static bool event_id(const char *data, const char *want)
{
    const char *id = NULL;
    size_t n = 0;
    if (!mp_chain_event_id(data, strlen(data), &id, &n))
        return want == NULL;
    return want != NULL && n == strlen(want) && memcmp(id, want, n) == 0;
}

/* The top-level "id" of a response object, as sent; an output item's id
 * is not it; none, an empty one or one that is not a string is none. */
START_TEST(test_chain_reply_id_of_a_body)
{
    ck_assert(body_id("{\"id\":\"resp_7\",\"object\":\"response\",\"output\":[{\"type\":"
                      "\"message\",\"id\":\"msg_7\"}]}",
                      "resp_7"));
    ck_assert(body_id("{\"output\":[{\"id\":\"msg_7\"}],\"id\":\"resp_\\u0041\"}", "resp_\\u0041"));
    ck_assert(body_id("{\"object\":\"response\",\"output\":[{\"id\":\"msg_7\"}]}", NULL));
    ck_assert(body_id("{\"id\":\"\"}", NULL));
    ck_assert(body_id("{\"id\":7}", NULL));
    ck_assert(body_id("{\"id\":\"resp_7\"", NULL));
    char big[MP_CONVID_ID_MAX + 16];
    memset(big, 'x', sizeof(big));
    memcpy(big, "{\"id\":\"", 7);
    memcpy(big + 7 + MP_CONVID_ID_MAX + 1, "\"}", 3);
    ck_assert(body_id(big, NULL));
}
END_TEST

/* The "response" object's id of a stream event (response.created,
 * response.completed); a delta event has none. */
START_TEST(test_chain_reply_id_of_an_event)
{
    ck_assert(event_id("{\"type\":\"response.created\",\"sequence_number\":0,\"response\":"
                       "{\"id\":\"resp_9\",\"status\":\"in_progress\",\"output\":[]}}",
                       "resp_9"));
    ck_assert(event_id("{\"type\":\"response.completed\",\"response\":{\"output\":[{\"id\":"
                       "\"msg_9\"}],\"id\":\"resp_9\"}}",
                       "resp_9"));
    ck_assert(event_id("{\"type\":\"response.output_text.delta\",\"item_id\":\"msg_9\","
                       "\"delta\":\"tok\"}",
                       NULL));
    ck_assert(event_id("{\"type\":\"response.created\",\"response\":\"resp_9\"}", NULL));
    ck_assert(event_id("{\"id\":\"resp_9\"}", NULL));
}
END_TEST

static struct mp_mem_message msg(enum mp_role role, uint64_t conv, uint8_t kind, uint64_t ref,
                                 const char *request_id)
{
    struct mp_mem_message m = {.role = role, .conv = conv, .conv_kind = kind, .reply_ref = ref};
    strcpy(m.request_id, request_id);
    return m;
}

/* A chain whose first link is a lone first turn (MP_CONVID_FIRST) is that
 * turn's conversation: its digest, and not a first link of another's. */
START_TEST(test_chain_of_a_first_turn_is_its_conversation)
{
    struct mp_mem_message m[] = {msg(MP_ROLE_USER, 7, MP_CONVID_FIRST, 0, "r1"),
                                 msg(MP_ROLE_ASSISTANT, 7, MP_CONVID_FIRST, 0xa1, "r1"),
                                 msg(MP_ROLE_USER, 7, MP_CONVID_CHAIN, 0, "r2"),
                                 msg(MP_ROLE_ASSISTANT, 7, MP_CONVID_CHAIN, 0xb2, "r2")};
    struct mp_chain c;
    ck_assert_int_eq(mp_chain_find(m, 4, 0xa1, &c), MP_OK);
    ck_assert_uint_eq(c.conv, 7);
    ck_assert(!c.first);
    ck_assert_int_eq(mp_chain_find(m, 4, 0xb2, &c), MP_OK);
    ck_assert_uint_eq(c.conv, 7);
    ck_assert(!c.first);
}
END_TEST

/* A request that continues the user's lone first request begins the chain
 * named by that reply's reference; one that continues a reply recorded in
 * the chain is in the chain's; the newest reply of a reference wins; a
 * user message, another reference or 0 finds nothing. */
START_TEST(test_chain_find_first_link_and_later_link)
{
    struct mp_mem_message m[] = {msg(MP_ROLE_USER, 5, MP_CONVID_SESSION, 0, "r1"),
                                 msg(MP_ROLE_ASSISTANT, 5, MP_CONVID_SESSION, 0xa1, "r1"),
                                 msg(MP_ROLE_USER, 0xa1, MP_CONVID_CHAIN, 0xb2, "r2"),
                                 msg(MP_ROLE_ASSISTANT, 0xa1, MP_CONVID_CHAIN, 0xb2, "r2")};
    struct mp_chain c;
    ck_assert_int_eq(mp_chain_find(m, 4, 0xa1, &c), MP_OK);
    ck_assert_uint_eq(c.conv, 0xa1);
    ck_assert(c.first);
    ck_assert_ptr_eq(c.link, &m[1]);
    ck_assert_int_eq(mp_chain_find(m, 4, 0xb2, &c), MP_OK);
    ck_assert_uint_eq(c.conv, 0xa1);
    ck_assert(!c.first);
    ck_assert_ptr_eq(c.link, &m[3]);
    ck_assert_int_eq(mp_chain_find(m, 4, 0xc3, &c), MP_NOTFOUND);
    ck_assert_int_eq(mp_chain_find(m, 4, 0, &c), MP_NOTFOUND);
    ck_assert_int_eq(mp_chain_find(m, 3, 0xb2, &c), MP_NOTFOUND); /* r2's user message only */
    /* a reply asked again: the newest */
    struct mp_mem_message again[] = {m[1],
                                     msg(MP_ROLE_ASSISTANT, 0xa1, MP_CONVID_CHAIN, 0xa1, "r3")};
    ck_assert_int_eq(mp_chain_find(again, 2, 0xa1, &c), MP_OK);
    ck_assert_ptr_eq(c.link, &again[1]);
}
END_TEST

/* The first link's turn: the reply whose reference is the chain's digest. */
START_TEST(test_chain_first_request)
{
    struct mp_mem_message m[] = {msg(MP_ROLE_USER, 5, MP_CONVID_SESSION, 0, "r1"),
                                 msg(MP_ROLE_ASSISTANT, 5, MP_CONVID_SESSION, 0xa1, "r1"),
                                 msg(MP_ROLE_ASSISTANT, 5, MP_CONVID_SESSION, 0xe5, "")};
    ck_assert_str_eq(mp_chain_first_request(m, 3, 0xa1), "r1");
    ck_assert_ptr_null(mp_chain_first_request(m, 3, 0xb2));
    ck_assert_ptr_null(mp_chain_first_request(m, 3, 0));
    ck_assert_ptr_null(mp_chain_first_request(m, 3, 0xe5)); /* no request id to match */
}
END_TEST

Suite *mp_test_suite(void);
Suite *mp_test_suite(void)
{
    Suite *s = suite_create("chain");
    TCase *tc = tcase_create("chain");
    tcase_add_test(tc, test_chain_reply_id_of_a_body);
    tcase_add_test(tc, test_chain_reply_id_of_an_event);
    tcase_add_test(tc, test_chain_find_first_link_and_later_link);
    tcase_add_test(tc, test_chain_of_a_first_turn_is_its_conversation);
    tcase_add_test(tc, test_chain_first_request);
    suite_add_tcase(s, tc);
    return s;
}
