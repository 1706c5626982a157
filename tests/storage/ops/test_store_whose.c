/* Recognition at recording (storage/ops/store_whose.c), on every backend:
 * a block seen in two conversations beside the user's words is a template,
 * left out and undone where it was recorded (the message cut or erased,
 * the index with it, the facts only it told retracted, history entries of
 * actor client_text); a block alone is the person's, however often; a lone
 * request quoting the user's turn under other instructions is a side
 * request, whichever comes first; a stateless client's turns quoting each
 * other under the same instructions are not. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/blocks.h"
#include "embed/embed_vec.h"
#include "status.h"
#include "ops/store.h"
#include "store_fixture.h"
#include "view_probe.h"

Suite *mp_test_suite(void);

#define CONV_A      0x0a0a0a0a0a0a0a0aull
#define CONV_B      0x0b0b0b0b0b0b0b0bull
#define WINDOW      (10 * 60 * 1000LL)
#define INSTR_MAIN  0x1111111111111111ull
#define INSTR_TITLE 0x2222222222222222ull

#define SAID "My favourite editor is Helix and I live in Lisbon."
#define TEMPLATE                                                                                   \
    "Reference notes the client adds: our database is called zebrastore and CI is kestrel-4."

/* A turn builder's input: user messages, each whole one block (printed
 * when long enough), then a reply. */
struct turn {
    const char *said[3];
    size_t nsaid;
    const char *reply;
    uint64_t conv;
    bool lone;
    uint64_t instr;
    uint8_t idem;
    int64_t at;
};

static struct mp_op record(struct mp_store *s, const char *user, const struct turn *t,
                           struct mp_store_recognize *rq, struct mp_store_print *prints,
                           struct mp_mem_message *m)
{
    size_t n = 0, np = 0;
    for (size_t i = 0; i < t->nsaid; i++) {
        m[n] = fx_msg(MP_ROLE_USER, t->said[i], t->at);
        size_t len = strlen(t->said[i]);
        if (len >= MP_BLOCK_PRINT_MIN)
            prints[np++] = (struct mp_store_print){(uint32_t)n, 0, (uint32_t)len,
                                                   mp_blocks_print(t->said[i], len)};
        n++;
    }
    m[n++] = fx_msg(MP_ROLE_ASSISTANT, t->reply, t->at);
    for (size_t i = 0; i < n; i++)
        m[i].conv = t->conv;
    *rq = (struct mp_store_recognize){.prints = prints,
                                      .nprints = np,
                                      .unprinted = np < t->nsaid,
                                      .lone = t->lone,
                                      .instr = {t->instr},
                                      .ninstr = t->instr != 0,
                                      .side_kind = 0,
                                      .window_ms = WINDOW};
    struct mp_op op = fx_turn_op(user, strlen(user), t->idem, m, n, t->at);
    op.u.turn.recognize = rq;
    ck_assert_int_eq(mp_store_apply(s, &op, 1), MP_OK);
    return op;
}

static struct mp_op turn_of(struct mp_store *s, const char *user, const struct turn *t)
{
    struct mp_store_recognize rq;
    struct mp_store_print prints[4];
    struct mp_mem_message m[4];
    return record(s, user, t, &rq, prints, m);
}

/* Whether the user's archive or buffer holds a message with text. */
static bool kept(struct mp_store *s, const char *user, const char *text)
{
    struct mp_mem_message *m = NULL;
    size_t n = 0;
    bool more = false, found = false;
    if (mp_store_archive(s, user, strlen(user), 0, 100, &m, &n, &more) == MP_OK) {
        for (size_t i = 0; i < n; i++)
            found = found || strstr(m[i].content, text) != NULL;
        mp_store_messages_free(m, n);
    }
    struct mp_usermem *um = NULL;
    if (mp_store_get(s, user, strlen(user), &um) == MP_OK) {
        for (size_t i = 0; i < um->nmessages; i++)
            found = found || strstr(um->messages[i].content, text) != NULL;
        mp_usermem_free(um);
    }
    return found;
}

static bool fact_is(struct mp_store *s, const char *user, const char *key)
{
    struct mp_usermem *um = fx_get(s, user, strlen(user));
    bool found = false;
    for (size_t i = 0; um != NULL && i < um->nentities; i++)
        found = found || strcmp(um->entities[i].key, key) == 0;
    mp_usermem_free(um);
    return found;
}

static size_t client_text_entries(struct mp_store *s, const char *user)
{
    struct mp_history *h = fx_history(s, user, strlen(user));
    size_t n = 0;
    for (size_t i = 0; h != NULL && i < h->nitems; i++)
        n += h->items[i].actor == MP_ACTOR_CLIENT_TEXT && h->items[i].event == MP_HIST_DELETED;
    mp_history_free(h);
    return n;
}

/* A fact extracted from the first turn (its source seqs), value val. */
static void fact_from(struct mp_store *s, const char *user, const struct mp_op *turn,
                      const char *key, const char *val)
{
    struct mp_op up = fx_upsert_op(user, strlen(user), key, val, MP_TRUST_STATED, 2);
    up.u.entity.source_first_seq = turn->u.turn.first_seq;
    up.u.entity.source_last_seq = turn->u.turn.last_seq;
    ck_assert_int_eq(fx_apply1(s, &up), MP_OK);
}

/* A vector (store_vectors.h) for the user's archived message seq. */
static void put_vector(struct mp_store *s, const char *user, uint64_t seq)
{
    float v[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    unsigned char rec[MP_EMBED_VEC_SIZE(8)];
    size_t n = 0;
    struct mp_vec_model m = {mp_embed_vec_model_hash("m", 1), 8};
    ck_assert_int_eq(mp_embed_vec_encode(v, 8, m.hash, rec, sizeof(rec), &n), MP_OK);
    struct mp_store_vector vec = {{MP_VEC_MESSAGE, seq}, rec, n};
    struct mp_op op = {.kind = MP_OP_PUT_VECTORS, .user = user, .user_len = strlen(user)};
    op.u.vectors.items = &vec;
    op.u.vectors.nitems = 1;
    op.u.vectors.model = m;
    ck_assert_int_eq(fx_apply1(s, &op), MP_OK);
    ck_assert_uint_eq(op.u.vectors.count, 1);
}

/* The template first recorded beside words in conversation A; fact from
 * it. Seen again beside words in conversation B: cut from B's turn, its
 * message of A erased (the user's own words of A kept), the fact
 * retracted, the index without it, history entries of client_text. */
START_TEST(test_whose_template_seen_again_is_undone)
{
    struct mp_store *s = fx_open_backend(_i);
    struct turn a = {{TEMPLATE, "What should I cook for dinner tonight with leeks and potatoes?"},
                     2,
                     "Soup.",
                     CONV_A,
                     false,
                     INSTR_MAIN,
                     1,
                     1000};
    struct mp_op first = turn_of(s, "ann", &a);
    ck_assert_int_eq(first.result, MP_OK);
    fact_from(s, "ann", &first, "database", "zebrastore");
    ck_assert_int_eq(fx_summarize(s, U("ann"),
                                  "The user cooks leeks. Their CI runs on kestrel-4. "
                                  "Their database is zebrastore.",
                                  first.u.turn.last_seq, 1500),
                     MP_OK);
    ck_assert(kept(s, "ann", "zebrastore"));
    ck_assert_uint_eq(vp_df(s, U("ann"), false, "zebrastore"), 1);
    struct turn b = {{TEMPLATE, "Which train goes from Graz to Vienna in the early morning?"},
                     2,
                     "The 6:05.",
                     CONV_B,
                     false,
                     INSTR_MAIN,
                     2,
                     2000};
    struct mp_op second = turn_of(s, "ann", &b);
    ck_assert_int_eq(second.result, MP_OK);
    const struct mp_store_recognized *r = &second.u.turn.recognized;
    ck_assert(!r->side);
    ck_assert_uint_eq(r->cut_blocks, 1);
    ck_assert_uint_eq(r->undone_messages, 1);
    ck_assert_uint_eq(r->retracted_facts, 1);
    ck_assert(!kept(s, "ann", "zebrastore"));
    ck_assert(kept(s, "ann", "leeks and potatoes"));
    ck_assert(kept(s, "ann", "Graz to Vienna"));
    ck_assert(!fact_is(s, "ann", "database"));
    ck_assert_uint_eq(vp_df(s, U("ann"), false, "zebrastore"), 0);
    /* what the fold drew from it: the fact's value, and a name only it held */
    struct mp_usermem *um = fx_get(s, U("ann"));
    ck_assert_ptr_nonnull(um->summary.text);
    ck_assert_str_eq(um->summary.text, "The user cooks leeks.");
    mp_usermem_free(um);
    ck_assert_uint_ge(client_text_entries(s, "ann"), 2); /* the fact, the message */
    /* a third conversation: left out at once (known), nothing more to undo */
    struct turn c = {{TEMPLATE, "Remind me what my sister's phone number was, please?"},
                     2,
                     "No idea.",
                     CONV_A + 1,
                     false,
                     INSTR_MAIN,
                     3,
                     3000};
    struct mp_op third = turn_of(s, "ann", &c);
    ck_assert_uint_eq(third.u.turn.recognized.cut_blocks, 1);
    ck_assert_uint_eq(third.u.turn.recognized.undone_messages, 0);
    ck_assert(!kept(s, "ann", "zebrastore"));
    fx_close_backend(s, _i);
}
END_TEST

/* A template inside the one message of the person's words: the message is
 * rewritten without it, the rest kept and found by the index. */
START_TEST(test_whose_template_cut_out_of_a_message)
{
    struct mp_store *s = fx_open_backend(_i);
    static const char words[] = "Please plan my trip to Lisbon next spring with a budget.";
    char both[512];
    snprintf(both, sizeof(both), "%s\n\n%s", TEMPLATE, words);
    struct mp_mem_message m[2] = {fx_msg(MP_ROLE_USER, both, 1000),
                                  fx_msg(MP_ROLE_ASSISTANT, "ok", 1000)};
    m[0].conv = m[1].conv = CONV_A;
    struct mp_store_print prints[2] = {
        {0, 0, (uint32_t)strlen(TEMPLATE), mp_blocks_print(TEMPLATE, strlen(TEMPLATE))},
        {0, (uint32_t)strlen(TEMPLATE) + 2, (uint32_t)strlen(words),
         mp_blocks_print(words, strlen(words))}};
    struct mp_store_recognize rq = {.prints = prints, .nprints = 2, .window_ms = WINDOW};
    struct mp_op op = fx_turn_op(U("bea"), 1, m, 2, 1000);
    op.u.turn.recognize = &rq;
    ck_assert_int_eq(fx_apply1(s, &op), MP_OK);
    put_vector(s, "bea", op.u.turn.first_seq);
    struct turn b = {{TEMPLATE, "What is a good name for a grey kitten that likes boxes?"},
                     2,
                     "Box.",
                     CONV_B,
                     false,
                     0,
                     2,
                     2000};
    turn_of(s, "bea", &b);
    ck_assert(!kept(s, "bea", "zebrastore"));
    ck_assert(kept(s, "bea", words));
    ck_assert_uint_eq(vp_df(s, U("bea"), false, "lisbon"), 1);
    ck_assert_uint_eq(vp_df(s, U("bea"), false, "zebrastore"), 0);
    uint64_t nvec = 9, bytes = 0; /* its words changed: its vector went with the old ones */
    ck_assert_int_eq(mp_store_vectors_size(s, U("bea"), &nvec, &bytes), MP_OK);
    ck_assert_uint_eq(nvec, 0);
    fx_close_backend(s, _i);
}
END_TEST

/* The same words alone in two conversations stay: a person repeats. */
START_TEST(test_whose_a_block_alone_is_never_a_template)
{
    struct mp_store *s = fx_open_backend(_i);
    struct turn a = {{TEMPLATE}, 1, "Noted.", CONV_A, false, INSTR_MAIN, 1, 1000};
    struct turn b = {{TEMPLATE}, 1, "Noted again.", CONV_B, false, INSTR_MAIN, 2, 2000};
    turn_of(s, "cid", &a);
    struct mp_op second = turn_of(s, "cid", &b);
    ck_assert_int_eq(second.result, MP_OK);
    ck_assert_uint_eq(second.u.turn.recognized.cut_blocks, 0);
    struct mp_usermem *um = fx_get(s, U("cid"));
    ck_assert_uint_eq(um->nmessages, 4);
    mp_usermem_free(um);
    /* and in a turn with a short reply word ("yes") beside it in a third: a block
       the user has only ever sent alone has no print, so it is no template */
    struct turn c = {{TEMPLATE, "yes"}, 2, "Ok.", CONV_A + 7, false, INSTR_MAIN, 3, 3000};
    struct mp_op third = turn_of(s, "cid", &c);
    ck_assert_uint_eq(third.u.turn.recognized.cut_blocks, 0);
    fx_close_backend(s, _i);
}
END_TEST

/* A title request after the turn it is about: lone, other instructions,
 * the turn's words quoted: not recorded, its instructions learned. */
START_TEST(test_whose_side_request_after_its_turn)
{
    struct mp_store *s = fx_open_backend(_i);
    struct turn main_turn = {{SAID}, 1, "Noted.", CONV_A, false, INSTR_MAIN, 1, 1000};
    turn_of(s, "dan", &main_turn);
    struct turn title = {{"Generate a title for this conversation:\n\"" SAID "\""},
                         1,
                         "Helix in Lisbon",
                         CONV_B,
                         true,
                         INSTR_TITLE,
                         2,
                         2000};
    struct mp_op op = turn_of(s, "dan", &title);
    ck_assert_int_eq(op.result, MP_NOTFOUND);
    ck_assert(op.u.turn.recognized.side);
    ck_assert_uint_eq(op.u.turn.recognized.nlearned, 1);
    ck_assert(op.u.turn.recognized.learned[0] == INSTR_TITLE);
    ck_assert(!kept(s, "dan", "Generate a title"));
    ck_assert(!kept(s, "dan", "Helix in Lisbon"));
    ck_assert(kept(s, "dan", SAID));
    /* the next one is known by its instructions, whatever it quotes */
    struct turn next = {{"Generate a title for this conversation:\n\"Something else entirely\""},
                        1,
                        "Else",
                        CONV_A + 9,
                        true,
                        INSTR_TITLE,
                        3,
                        900000};
    op = turn_of(s, "dan", &next);
    ck_assert(op.u.turn.recognized.side);
    fx_close_backend(s, _i);
}
END_TEST

/* A title request recorded before the turn it is about: the turn undoes
 * it (its messages, the fact only it told). */
START_TEST(test_whose_side_request_before_its_turn)
{
    struct mp_store *s = fx_open_backend(_i);
    struct turn title = {
        {"<session>\n" SAID "\n</session>\n\nWrite the title in the user's language."},
        1,
        "{\"title\": \"Helix in Lisbon\"}",
        CONV_A,
        true,
        INSTR_TITLE,
        1,
        1000};
    struct mp_op t = turn_of(s, "eve", &title);
    ck_assert_int_eq(t.result, MP_OK);
    fact_from(s, "eve", &t, "title", "Helix in Lisbon");
    struct turn main_turn = {{SAID}, 1, "Noted.", CONV_A, false, INSTR_MAIN, 2, 1500};
    struct mp_op op = turn_of(s, "eve", &main_turn);
    ck_assert_int_eq(op.result, MP_OK);
    const struct mp_store_recognized *r = &op.u.turn.recognized;
    ck_assert_uint_eq(r->undone_turns, 1);
    ck_assert_uint_eq(r->undone_messages, 2);
    ck_assert_uint_eq(r->retracted_facts, 1);
    ck_assert(r->nlearned == 1 && r->learned[0] == INSTR_TITLE);
    ck_assert(!kept(s, "eve", "<session>"));
    ck_assert(!kept(s, "eve", "\"title\""));
    ck_assert(!fact_is(s, "eve", "title"));
    ck_assert(kept(s, "eve", SAID));
    ck_assert_uint_ge(client_text_entries(s, "eve"), 2);
    fx_close_backend(s, _i);
}
END_TEST

/* A stateless client: every turn lone, one system prompt; the user says
 * a thing, then says it again with more. Both stay: the same
 * instructions make no side request. Nor does a quote past the window. */
START_TEST(test_whose_stateless_client_keeps_its_words)
{
    struct mp_store *s = fx_open_backend(_i);
    struct turn a = {{SAID}, 1, "Noted.", CONV_A, true, INSTR_MAIN, 1, 1000};
    struct turn b = {{SAID " Also, I moved there in 2019 with my dog."},
                     1,
                     "Nice.",
                     CONV_A,
                     true,
                     INSTR_MAIN,
                     2,
                     2000};
    turn_of(s, "fay", &a);
    struct mp_op op = turn_of(s, "fay", &b);
    ck_assert_int_eq(op.result, MP_OK);
    ck_assert(!op.u.turn.recognized.side);
    struct turn late = {{"Summarize: \"" SAID "\" in five words"},
                        1,
                        "Helix, Lisbon",
                        CONV_B,
                        true,
                        INSTR_TITLE,
                        3,
                        2000 + WINDOW + 1};
    op = turn_of(s, "fay", &late);
    ck_assert(!op.u.turn.recognized.side);
    ck_assert_int_eq(op.result, MP_OK);
    struct mp_usermem *um = fx_get(s, U("fay"));
    ck_assert_uint_eq(um->nmessages, 6);
    mp_usermem_free(um);
    fx_close_backend(s, _i);
}
END_TEST

/* Erasing the user takes every record recognition kept. */
START_TEST(test_whose_erased_with_the_user)
{
    struct mp_store *s = fx_open_backend(_i);
    struct turn main_turn = {{TEMPLATE, SAID}, 2, "Noted.", CONV_A, false, INSTR_MAIN, 1, 1000};
    turn_of(s, "gus", &main_turn);
    struct turn title = {{"Generate a title for this conversation:\n\"" SAID "\""},
                         1,
                         "Helix",
                         CONV_B,
                         true,
                         INSTR_TITLE,
                         2,
                         2000};
    turn_of(s, "gus", &title);
    struct mp_op del = {.kind = MP_OP_DELETE_USER, .user = "gus", .user_len = 3, .now_ms = 3000};
    ck_assert_int_eq(fx_apply1(s, &del), MP_OK);
    /* a new life: nothing known of the old one (the template's first sight
       again; the title request's instructions unknown, so recorded) */
    struct turn again = {{TEMPLATE, "A brand new question about gardening in small balconies?"},
                         2,
                         "Pots.",
                         CONV_B,
                         false,
                         INSTR_MAIN,
                         3,
                         4000};
    struct mp_op op = turn_of(s, "gus", &again);
    ck_assert_uint_eq(op.u.turn.recognized.cut_blocks, 0);
    struct turn title2 = {
        {"Generate a title for this conversation:\n\"Nothing quoted here at all\""},
        1,
        "T",
        CONV_A,
        true,
        INSTR_TITLE,
        4,
        5000};
    op = turn_of(s, "gus", &title2);
    ck_assert(!op.u.turn.recognized.side);
    fx_close_backend(s, _i);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("store_whose");
    TCase *tc = tcase_create("whose");
    tcase_add_unchecked_fixture(tc, vp_setup, vp_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_whose_template_seen_again_is_undone, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_whose_template_cut_out_of_a_message, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_whose_a_block_alone_is_never_a_template, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_whose_side_request_after_its_turn, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_whose_side_request_before_its_turn, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_whose_stateless_client_keeps_its_words, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_whose_erased_with_the_user, 0, FX_BACKENDS);
    suite_add_tcase(s, tc);
    return s;
}
