/* The "already there" rule (core/wire/there.h): each reason, in its
 * order, and what stays eligible. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/chatreq.h"
#include "wire/convid.h"
#include "wire/ownwords.h"
#include "status.h"
#include "wire/there.h"
#include "wire/wire.h"

static struct mp_chatreq_msg msgs[16];
static struct mp_chatreq req;

static const char RESENT[] =
    "{\"messages\":[{\"role\":\"system\",\"content\":\"s\"},{\"role\":\"user\",\"content\":"
    "\"Where do I live?\"},{\"role\":\"assistant\",\"content\":\"In Izmir.\"},{\"role\":"
    "\"user\",\"content\":\"And my dog?\"}]}";

static void scan(const char *body)
{
    ck_assert_int_eq(mp_chatreq_scan(body, strlen(body), msgs, 16, &req), MP_OK);
}

static struct mp_mem_message msg(enum mp_role role, const char *text, uint64_t conv,
                                 const char *request_id, uint64_t seq)
{
    struct mp_mem_message m = {.role = role, .content = (char *)text, .seq = seq, .conv = conv};
    m.content_len = strlen(text);
    strcpy(m.request_id, request_id);
    return m;
}

static const char *why(const struct mp_there *t, struct mp_mem_message m)
{
    return mp_there_why(t, &m);
}

/* Rule 1: a turn of the request's own conversation, whatever its text;
 * another conversation's turns, and any turn without own_conv, stay
 * eligible. */
START_TEST(test_there_own_conversation_only)
{
    struct mp_usermem um = {0};
    struct mp_there t;
    scan(RESENT);
    mp_there_init(&t, &mp_wire_chat, RESENT, &req, &um, 42, NULL);
    ck_assert_str_eq(why(&t, msg(MP_ROLE_USER, "an older turn it dropped", 42, "r1", 1)),
                     "own_conversation");
    ck_assert_ptr_null(why(&t, msg(MP_ROLE_USER, "my staging cluster is heron-7", 7, "r2", 2)));
    mp_there_init(&t, &mp_wire_chat, RESENT, &req, &um, 0, NULL);
    ck_assert_ptr_null(why(&t, msg(MP_ROLE_USER, "an older turn it dropped", 42, "r1", 1)));
}
END_TEST

/* Rule 5: the request's own messages by role and text; the same text in
 * another role is eligible. */
START_TEST(test_there_in_request_by_role_and_text)
{
    struct mp_usermem um = {0};
    struct mp_there t;
    scan(RESENT);
    mp_there_init(&t, &mp_wire_chat, RESENT, &req, &um, 0, NULL);
    ck_assert_str_eq(why(&t, msg(MP_ROLE_ASSISTANT, "In Izmir.", 9, "r1", 1)),
                     "already_in_request");
    ck_assert_ptr_null(why(&t, msg(MP_ROLE_USER, "In Izmir.", 9, "r1", 1)));
    ck_assert_ptr_null(why(&t, msg(MP_ROLE_ASSISTANT, "In Izmir", 9, "r1", 1)));
}
END_TEST

/* Rules 5 and 3 for a message holding inserted context (req.own): the
 * user's own words archived are there, by length and hash; without the
 * request's own words they would be eligible. */
START_TEST(test_there_own_words_of_inserted_context)
{
    static const char body[] =
        "{\"messages\":[{\"role\":\"user\",\"content\":\"<system-reminder>ctx"
        "</system-reminder>\\nmy dog is Rex\"},{\"role\":\"assistant\",\"content\":\"Nice.\"},"
        "{\"role\":\"user\",\"content\":\"<system-reminder>ctx</system-reminder>\\nHis age?\"}]}";
    struct mp_inserted_patterns p;
    struct mp_ownwords owns;
    unsigned line = 0;
    const char *bad = NULL;
    ck_assert_int_eq(mp_inserted_parse(mp_inserted_default_patterns,
                                       strlen(mp_inserted_default_patterns), &p, &line, &bad),
                     MP_OK);
    scan(body);
    struct mp_mem_message buf[] = {msg(MP_ROLE_USER, "His age?", 5, "r1", 1),
                                   msg(MP_ROLE_ASSISTANT, "Four.", 5, "r1", 2)};
    struct mp_usermem um = {.messages = buf, .nmessages = 2};
    struct mp_there t;
    mp_there_init(&t, &mp_wire_chat, body, &req, &um, 0, NULL);
    ck_assert_ptr_null(why(&t, msg(MP_ROLE_USER, "my dog is Rex", 9, "r0", 1)));
    ck_assert_uint_eq(t.nagain, 0);
    ck_assert_int_eq(mp_ownwords_request(&mp_wire_chat, body, &req, &p, &owns), MP_OK);
    req.own = &owns;
    mp_there_init(&t, &mp_wire_chat, body, &req, &um, 0, NULL);
    ck_assert_str_eq(why(&t, msg(MP_ROLE_USER, "my dog is Rex", 9, "r0", 1)), "already_in_request");
    ck_assert_ptr_null(why(&t, msg(MP_ROLE_USER, "my dog is Re", 9, "r0", 1)));
    ck_assert_ptr_null(why(&t, msg(MP_ROLE_ASSISTANT, "my dog is Rex", 9, "r0", 1)));
    ck_assert_str_eq(why(&t, buf[1]), "asked_again"); /* the reply to the same words */
}
END_TEST

/* Rule 3: the question asked again: the reply of the buffered turn whose
 * user message is the question is left out, in the buffer and its
 * archived copy alike; another turn's reply is not. */
START_TEST(test_there_question_asked_again)
{
    static const char lone[] = "{\"messages\":[{\"role\":\"user\",\"content\":\"And my dog?\"}]}";
    struct mp_mem_message buf[] = {msg(MP_ROLE_USER, "Hi", 5, "r0", 1),
                                   msg(MP_ROLE_ASSISTANT, "Hello!", 5, "r0", 2),
                                   msg(MP_ROLE_USER, "And my dog?", 5, "r1", 3),
                                   msg(MP_ROLE_ASSISTANT, "Rejected answer.", 5, "r1", 4)};
    struct mp_usermem um = {.messages = buf, .nmessages = 4};
    struct mp_there t;
    scan(lone);
    mp_there_init(&t, &mp_wire_chat, lone, &req, &um, 0, NULL);
    ck_assert_str_eq(why(&t, buf[3]), "asked_again");
    ck_assert_str_eq(why(&t, msg(MP_ROLE_ASSISTANT, "Rejected answer.", 5, "r1", 4)),
                     "asked_again");
    ck_assert_str_eq(why(&t, buf[2]), "already_in_request");
    ck_assert_ptr_null(why(&t, buf[1]));
}
END_TEST

/* Rule 2: a previous_response_id chain not found among the recorded
 * replies counts the buffer as its own; the archive's other messages stay
 * eligible; a named conversation upstream, or a chain found (own_conv),
 * does not. */
START_TEST(test_there_chain_holds_the_buffer)
{
    static const char chain[] = "{\"previous_response_id\":\"resp_1\",\"input\":[{\"role\":"
                                "\"user\",\"content\":\"And my dog?\"}]}";
    struct mp_mem_message buf[] = {msg(MP_ROLE_USER, "I live in Izmir", 5, "r0", 8)};
    struct mp_usermem um = {.messages = buf, .nmessages = 1};
    struct mp_there t;
    ck_assert_int_eq(mp_chatreq_scan_input(chain, strlen(chain), msgs, 16, &req), MP_OK);
    mp_there_init(&t, &mp_wire_responses, chain, &req, &um, 0, NULL);
    ck_assert_str_eq(why(&t, buf[0]), "upstream_holds_conversation");
    ck_assert_ptr_null(why(&t, msg(MP_ROLE_USER, "I live in Izmir", 5, "r0", 3)));
    mp_there_init(&t, &mp_wire_responses, chain, &req, &um, 77, NULL);
    ck_assert_ptr_null(why(&t, buf[0]));
}
END_TEST

/* Rule 1 for a chain found among the recorded replies (own_conv its
 * digest): its turns, and its first link's turn (recorded in the user's
 * session: the turn whose reply's reference is the digest), both messages,
 * archived too; the user's other turns, of the session included, stay
 * eligible, and rule 2 is off. */
START_TEST(test_there_found_chain_is_its_own_conversation)
{
    static const char chain[] = "{\"previous_response_id\":\"resp_2\",\"input\":[{\"role\":"
                                "\"user\",\"content\":\"And my dog?\"}]}";
    const uint64_t session = 5, d = 0xc4a1;
    struct mp_mem_message buf[] = {msg(MP_ROLE_USER, "I live in Izmir", session, "r1", 1),
                                   msg(MP_ROLE_ASSISTANT, "Nice.", session, "r1", 2),
                                   msg(MP_ROLE_USER, "I have a dog", d, "r2", 3),
                                   msg(MP_ROLE_ASSISTANT, "Cute.", d, "r2", 4),
                                   msg(MP_ROLE_USER, "my staging cluster is heron-7", 9, "r3", 5),
                                   msg(MP_ROLE_USER, "a lone question", session, "r4", 6)};
    buf[1].reply_ref = d;
    buf[2].conv_kind = buf[3].conv_kind = MP_CONVID_CHAIN;
    buf[3].reply_ref = 0xd00d;
    struct mp_usermem um = {.messages = buf, .nmessages = 6};
    struct mp_there t;
    ck_assert_int_eq(mp_chatreq_scan_input(chain, strlen(chain), msgs, 16, &req), MP_OK);
    mp_there_init(&t, &mp_wire_responses, chain, &req, &um, d, NULL);
    for (size_t i = 0; i < 4; i++)
        ck_assert_str_eq(why(&t, buf[i]), "own_conversation");
    ck_assert_str_eq(why(&t, msg(MP_ROLE_USER, "I live in Izmir", session, "r1", 0)),
                     "own_conversation"); /* archived: by its request id */
    ck_assert_ptr_null(why(&t, buf[4]));
    ck_assert_ptr_null(why(&t, buf[5]));
    /* the first link aged out of the buffer: its reply still names the chain */
    um.messages = buf + 2;
    um.nmessages = 4;
    mp_there_init(&t, &mp_wire_responses, chain, &req, &um, d, NULL);
    ck_assert_str_eq(why(&t, buf[1]), "own_conversation");
    ck_assert_ptr_null(why(&t, buf[0]));
    ck_assert_ptr_null(why(&t, buf[4]));
}
END_TEST

/* Rule 4: a past message the head holds, by role and text. */
START_TEST(test_there_in_head)
{
    static const char text[] = "We hiked the Dachstein glacier";
    struct mp_inject_past past = {mp_chatreq_hash_text(MP_CR_USER, text, strlen(text)),
                                  strlen(text), 12};
    struct mp_inject_head head = {.past = &past, .npast = 1};
    struct mp_usermem um = {0};
    struct mp_there t;
    scan(RESENT);
    mp_there_init(&t, &mp_wire_chat, RESENT, &req, &um, 0, &head);
    ck_assert_str_eq(why(&t, msg(MP_ROLE_USER, text, 3, "r4", 12)), "in_head");
    ck_assert_ptr_null(why(&t, msg(MP_ROLE_ASSISTANT, text, 3, "r4", 13)));
    ck_assert(mp_there_seen(&t, &(struct mp_mem_message){.role = MP_ROLE_ASSISTANT,
                                                         .content = (char *)"In Izmir.",
                                                         .content_len = 9}));
}
END_TEST

/* Rule 4 is about words: a head holding a fact drawn from a turn (its
 * block's text, its fact id) does not hold the turn's messages; they are
 * eligible, for recall's counted once to weigh (core/recall/recall.h). */
START_TEST(test_there_fact_of_a_turn_is_not_its_words)
{
    static const char block[] = "[User profile]: vector_store: Weaviate";
    static const char text[] =
        "I use Weaviate as my vector store, and my staging cluster is called heron-7.";
    uint32_t fact_id = 5;
    struct mp_inject_head head = {
        .text = (char *)block, .len = strlen(block), .fact_ids = &fact_id, .nfacts = 1};
    struct mp_usermem um = {0};
    struct mp_there t;
    scan(RESENT);
    mp_there_init(&t, &mp_wire_chat, RESENT, &req, &um, 0, &head);
    ck_assert_ptr_null(why(&t, msg(MP_ROLE_USER, text, 3, "r-stack", 12)));
    ck_assert_ptr_null(why(&t, msg(MP_ROLE_ASSISTANT, "Noted.", 3, "r-stack", 13)));
}
END_TEST

/* Random texts of lengths alike by 64 (the lengths gathered once are
 * kept modulo 64): the reason is the one a walk of the head and of the
 * request by role and text gives, seen agrees with it, and a head set
 * after mp_there_init is read as well. */
START_TEST(test_there_lengths_alike_compared_by_text)
{
    static const size_t lens[] = {3, 67, 131, 4, 68, 0};
    char pool[12][140], body[1024];
    enum mp_role roles[12];
    unsigned seed = 73;
    for (int round = 0; round < 200; round++) {
        for (size_t k = 0; k < 12; k++) {
            size_t n = lens[rand_r(&seed) % 5];
            for (size_t b = 0; b < n; b++)
                pool[k][b] = "ab "[rand_r(&seed) % (k < 6 ? 2 : 3)];
            pool[k][n] = '\0';
            roles[k] = rand_r(&seed) % 2 ? MP_ROLE_USER : MP_ROLE_ASSISTANT;
        }
        /* the request holds pool[0..3), the head pool[3..6) */
        snprintf(body, sizeof(body),
                 "{\"messages\":[{\"role\":\"%s\",\"content\":\"%s\"},{\"role\":\"%s\","
                 "\"content\":\"%s\"},{\"role\":\"user\",\"content\":\"%s\"}]}",
                 roles[0] == MP_ROLE_USER ? "user" : "assistant", pool[0],
                 roles[1] == MP_ROLE_USER ? "user" : "assistant", pool[1], pool[2]);
        roles[2] = MP_ROLE_USER;
        scan(body);
        struct mp_inject_past past[3];
        for (size_t k = 0; k < 3; k++) {
            const char *x = pool[3 + k];
            int cr = roles[3 + k] == MP_ROLE_ASSISTANT ? MP_CR_ASSISTANT : MP_CR_USER;
            past[k] =
                (struct mp_inject_past){mp_chatreq_hash_text(cr, x, strlen(x)), strlen(x), k + 1};
        }
        struct mp_inject_head head = {.past = past, .npast = 3};
        struct mp_usermem um = {0};
        struct mp_there t, later;
        mp_there_init(&t, &mp_wire_chat, body, &req, &um, 0, &head);
        mp_there_init(&later, &mp_wire_chat, body, &req, &um, 0, NULL);
        later.head = &head;
        for (size_t c = 0; c < 12; c++) {
            struct mp_mem_message m =
                msg(rand_r(&seed) % 4 ? roles[c] : MP_ROLE_USER, pool[c], 0, "r", 100 + c);
            bool in_head = false, in_request = false;
            for (size_t k = 3; k < 6; k++)
                in_head = in_head || (m.role == roles[k] && strcmp(pool[c], pool[k]) == 0);
            for (size_t k = 0; k < 3; k++)
                in_request = in_request || (m.role == roles[k] && strcmp(pool[c], pool[k]) == 0);
            const char *want = in_head ? "in_head" : in_request ? "already_in_request" : NULL;
            const char *got = why(&t, m);
            ck_assert(got == want || (got != NULL && want != NULL && strcmp(got, want) == 0));
            ck_assert(got == why(&later, m));
            ck_assert(mp_there_seen(&t, &m) == (want != NULL));
            ck_assert(mp_there_seen(&later, &m) == (want != NULL));
        }
    }
}
END_TEST

Suite *mp_test_suite(void);
Suite *mp_test_suite(void)
{
    Suite *s = suite_create("there");
    TCase *tc = tcase_create("there");
    tcase_add_test(tc, test_there_own_conversation_only);
    tcase_add_test(tc, test_there_in_request_by_role_and_text);
    tcase_add_test(tc, test_there_question_asked_again);
    tcase_add_test(tc, test_there_own_words_of_inserted_context);
    tcase_add_test(tc, test_there_chain_holds_the_buffer);
    tcase_add_test(tc, test_there_found_chain_is_its_own_conversation);
    tcase_add_test(tc, test_there_in_head);
    tcase_add_test(tc, test_there_fact_of_a_turn_is_not_its_words);
    tcase_add_test(tc, test_there_lengths_alike_compared_by_text);
    suite_add_tcase(s, tc);
    return s;
}
