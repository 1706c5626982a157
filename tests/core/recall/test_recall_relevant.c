/* Tests for core/recall/recall_relevant.c: what matches the question comes
 * first, the shares of round 1 and the order in which round 2 hands out
 * what is left, counting a fact and its turn once, the buffer's messages
 * kept out of the past line, pii, determinism, the no-match fallback,
 * errors of the source, and the budget, never exceeded. Every plan is
 * checked against its rendered block (check_plan). The source is
 * recall_source.h's, over the memory fixture's facts. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recall/lang.h"
#include "mem_fixture.h"
#include "recall/memblock.h"
#include "recall/recall.h"
#include "recall_source.h"
#include "recall/relevance_words.h"
#include "status.h"

Suite *mp_test_suite(void);

#define ALL4 (MP_RECALL_PROFILE | MP_RECALL_PAST | MP_RECALL_SUMMARY | MP_RECALL_BUFFER)

static struct mp_recall_plan plan;
static struct mp_recall_params params;
static struct mp_recall_request rq;

static void setup(void)
{
    fs_setup();
    memset(&plan, 0, sizeof(plan));
    memset(&rq, 0, sizeof(rq));
    params = (struct mp_recall_params){.sections = ALL4,
                                       .budget_tokens = 1500,
                                       .retrieval = MP_RETRIEVAL_RELEVANT,
                                       .terms = fs_terms,
                                       .share_profile = 40,
                                       .share_past = 30,
                                       .share_summary = 15,
                                       .share_buffer = 15};
    rq.now_ms = FS_JUN1;
}

static void teardown(void)
{
    mp_recall_plan_cleanup(&plan);
    fs_teardown();
}

static void ask(const char *question)
{
    rq.question = question;
    rq.question_len = question != NULL ? strlen(question) : 0;
}

static void shares(unsigned profile, unsigned past, unsigned summary, unsigned buffer)
{
    params.share_profile = profile;
    params.share_past = past;
    params.share_summary = summary;
    params.share_buffer = buffer;
}

/* ---- what a plan holds, measured again ---- */

static size_t profile_bytes(void)
{
    size_t n = 0;
    for (size_t i = 0; i < plan.nfacts; i++)
        n += mp_memblock_fact_bytes(plan.facts[i], i == 0,
                                    i == 0 || mp_memblock_fact_day(plan.facts[i - 1]) !=
                                                  mp_memblock_fact_day(plan.facts[i]),
                                    SIZE_MAX);
    return n;
}

/* Whether no fact of the plan is of e's day (e would write its day). */
static bool plan_lacks_day(const struct mp_mem_entity *e)
{
    for (size_t i = 0; i < plan.nfacts; i++)
        if (mp_memblock_fact_day(plan.facts[i]) == mp_memblock_fact_day(e))
            return false;
    return true;
}

static size_t past_bytes(void)
{
    size_t n = 0;
    for (size_t i = 0; i < plan.npast; i++)
        n += mp_memblock_past_bytes(plan.past[i], i == 0,
                                    i == 0 || mp_memblock_past_day(plan.past[i - 1]) !=
                                                  mp_memblock_past_day(plan.past[i]),
                                    SIZE_MAX);
    return n;
}

static size_t summary_bytes(void)
{
    size_t keep = 0, n;
    if (plan.summary_len == 0)
        return 0;
    n = mp_memblock_summary_bytes(fx_um.summary.text, plan.summary_len, SIZE_MAX, &keep);
    return n + (plan.summary_cut ? MP_MEMBLOCK_ELLIPSIS_LEN : 0);
}

static uint32_t buffer_tokens(void)
{
    uint32_t t = 0;
    for (size_t i = 0; i < plan.npicks; i++)
        t += mp_memblock_message_tokens(plan.picks[i].len +
                                        (plan.picks[i].cut ? MP_MEMBLOCK_ELLIPSIS_LEN : 0));
    return t;
}

/* A line's share of the budget in round 1, in bytes (tokens for the buffer). */
static size_t cap_of(unsigned share)
{
    uint32_t rest = params.budget_tokens - mp_memblock_message_tokens(MP_MEMBLOCK_INTRO_LEN);
    return (size_t)rest * share / 100 * 4;
}

static char *block_of_plan(void)
{
    return fs_render(&plan, &fs_head.summary);
}

/* ---- the question's words an item holds (counted once) ---- */

struct words {
    const struct mp_relevance_question *qn;
    uint64_t mask;
};

static int on_term(void *arg, const char *term, size_t len, uint32_t pos)
{
    struct words *w = arg;
    (void)pos;
    for (size_t i = 0; i < w->qn->nq; i++)
        if (w->qn->w[i].len == len && memcmp(w->qn->w[i].term, term, len) == 0)
            w->mask |= (uint64_t)1 << i;
    return MP_OK;
}

/* The words of the question (rq's, parsed as recall parses it, without
 * the user's prior) text holds, bit i for word i. */
static uint64_t words_held(const char *text, size_t len, int lang)
{
    static struct mp_relevance_question qn;
    struct words w = {&qn, 0};
    if (rq.question == NULL || text == NULL)
        return 0;
    ck_assert_int_eq(mp_relevance_question_parse(fs_terms, rq.question, rq.question_len,
                                                 rq.previous, rq.previous_len, NULL, &qn),
                     MP_OK);
    ck_assert_int_eq(mp_terms_each_lang(fs_terms, text, len, lang, on_term, &w), MP_OK);
    return w.mask;
}

static uint64_t fact_held(const struct mp_mem_entity *e)
{
    int lang = mp_lang_detect(e->value, e->value_len);
    return words_held(e->key, strlen(e->key), lang) | words_held(e->value, e->value_len, lang);
}

/* Whether past message m, of the turn of a fact of the plan or of rq.held,
 * holds a word of the question none of those facts holds (recall.h:
 * counted once). */
static bool adds_words(const struct mp_mem_message *m)
{
    uint64_t theirs = 0;
    for (size_t j = 0; j < plan.nfacts; j++)
        if (strcmp(m->request_id, mp_usermem_fact_turn(plan.facts[j])) == 0)
            theirs |= fact_held(plan.facts[j]);
    for (size_t j = 0; j < rq.nheld; j++)
        if (strcmp(m->request_id, mp_usermem_fact_turn(rq.held[j])) == 0)
            theirs |= fact_held(rq.held[j]);
    return (words_held(m->content, m->content_len, MP_LANG_AUTO) & ~theirs) != 0;
}

static bool of_a_facts_turn(const struct mp_mem_message *m)
{
    for (size_t j = 0; m->request_id[0] != '\0' && j < plan.nfacts; j++)
        if (strcmp(m->request_id, mp_usermem_fact_turn(plan.facts[j])) == 0)
            return true;
    for (size_t j = 0; m->request_id[0] != '\0' && j < rq.nheld; j++)
        if (strcmp(m->request_id, mp_usermem_fact_turn(rq.held[j])) == 0)
            return true;
    return false;
}

/* What holds for every plan: the budget, the pieces adding up to the
 * block, one line per section, each key once, the past line oldest first,
 * and nothing counted twice (a buffered message is not a past message
 * where the buffer may be replayed as messages; a past message of a fact's turn adds
 * a word of the question the turn's facts do not hold). */
static void check_plan(void)
{
    char *block = block_of_plan();
    ck_assert_uint_le(plan.tokens, params.budget_tokens);
    ck_assert_uint_eq(plan.tokens, mp_memblock_message_tokens(plan.block_len) + buffer_tokens());
    ck_assert_uint_eq(plan.block_len,
                      MP_MEMBLOCK_INTRO_LEN + profile_bytes() + summary_bytes() + past_bytes());
    fx_assert_block_shape(block, 1 + (plan.nfacts > 0) + (plan.summary_len > 0) + (plan.npast > 0));
    for (size_t i = 0; i < plan.nfacts; i++) {
        for (size_t j = 0; j < i; j++)
            ck_assert_str_ne(plan.facts[i]->key, plan.facts[j]->key);
    }
    for (size_t i = 0; i < plan.npast; i++) {
        const struct mp_mem_message *m = plan.past[i];
        ck_assert(i == 0 || plan.past[i - 1]->at_ms < m->at_ms ||
                  (plan.past[i - 1]->at_ms == m->at_ms && plan.past[i - 1]->seq < m->seq));
        bool buffered = false; /* the buffer's, where replayed; in the notes, its turn's */
        for (size_t j = 0; j < fs_head.nmessages && (params.sections & MP_RECALL_BUFFER); j++)
            buffered = buffered || fs_head.messages[j].seq == m->seq;
        ck_assert(!buffered || params.buffer_in_notes);
        ck_assert(!of_a_facts_turn(m) || adds_words(m) || buffered);
    }
    free(block);
}

/* The relevant strategy on the fixture into plan, checked when MP_OK. */
static int relevant(void)
{
    int rc;
    mp_recall_plan_cleanup(&plan);
    rc = mp_recall_relevant(&fs_head, &fs_src, &params, &rq, &plan);
    if (rc == MP_OK)
        check_plan();
    return rc;
}

static bool has_fact(const char *key)
{
    for (size_t i = 0; i < plan.nfacts; i++) {
        if (strcmp(plan.facts[i]->key, key) == 0)
            return true;
    }
    return false;
}

/* Every fact of the plan is one of plenty_facts' "alpha" ones. */
static void assert_only_matched_facts(void)
{
    for (size_t i = 0; i < plan.nfacts; i++)
        ck_assert_int_eq(strncmp(plan.facts[i]->key, "alpha_", 6), 0);
}

static bool has_past(const char *text)
{
    for (size_t i = 0; i < plan.npast; i++) {
        if (strcmp(plan.past[i]->content, text) == 0)
            return true;
    }
    return false;
}

/* ---- memories ---- */

/* n facts that match word and share no other word with anything (their
 * turns their own), about 45 bytes each, and n that match nothing:
 * corrected, so they lead the recent order, and longer (70 bytes), so the
 * slack a share leaves cannot take them. */
static void plenty_facts(int n, const char *word)
{
    char key[32], text[80], rid[32];
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof(key), "%s_%02d", word, i);
        snprintf(text, sizeof(text), "%s %sx%c%c", word, word, 'a' + i / 26, 'a' + i % 26);
        snprintf(rid, sizeof(rid), "rf-%s-%02d", word, i);
        strcpy(fx_fact(key, text)->request_id, rid);
        snprintf(key, sizeof(key), "other_%c%02d", word[0], i);
        fx_fact_n(key, "beta beta beta beta beta beta beta", 34, MP_TRUST_CORRECTED, 1, MAY1);
    }
}

/* n archived messages that match word, about 110 bytes each in the block,
 * one a day from May 8. */
static void plenty_past(int n, const char *word)
{
    char text[160], rid[32];
    for (int i = 0; i < n; i++) {
        snprintf(text, sizeof(text),
                 "%s story %02d, told at some length so that it weighs more than a fact does", word,
                 i);
        snprintf(rid, sizeof(rid), "rm-%s-%02d", word, i);
        fs_archive(i % 2 ? MP_ROLE_ASSISTANT : MP_ROLE_USER, text, FS_MAY8 + i * DAY, rid);
    }
}

static void long_summary(void)
{
    char text[4001];
    for (size_t i = 0; i < 4000; i++)
        text[i] = i % 8 == 7 ? ' ' : 's';
    text[4000] = '\0';
    fx_summary(text);
}

/* n buffered messages of about 100 bytes, seqs after the archive's. */
static void buffer(int n)
{
    char text[128];
    for (int i = 0; i < n; i++) {
        snprintf(text, sizeof(text),
                 "recent message %02d, about a hundred bytes long so that a few of them fill "
                 "the share",
                 i);
        fx_message(i % 2 ? MP_ROLE_ASSISTANT : MP_ROLE_USER, text);
        fx_mems[fx_um.nmessages - 1].seq = 1000 + (uint64_t)i;
    }
}

/* ---- matching ---- */

START_TEST(test_relevant_without_source_is_recent)
{
    struct mp_recall_plan recent = {0};
    fs_pets();
    ask("What did Rex chew?");
    ck_assert_int_eq(mp_recall_recent(&fx_um, NULL, &params, &rq, &recent), MP_OK);
    ck_assert_int_eq(mp_recall_relevant(&fx_um, NULL, &params, &rq, &plan), MP_OK);
    ck_assert_uint_eq(plan.nfacts, recent.nfacts);
    for (size_t i = 0; i < plan.nfacts; i++)
        ck_assert_ptr_eq(plan.facts[i], recent.facts[i]);
    ck_assert_uint_eq(plan.block_len, recent.block_len);
    ck_assert_uint_eq(plan.npast, 0);
    mp_recall_plan_cleanup(&recent);
}
END_TEST

START_TEST(test_relevant_matching_fact_comes_first)
{
    fs_pets();
    ask("How old is my dog Rex now?");
    ck_assert_int_eq(relevant(), MP_OK);
    ck_assert_str_eq(plan.facts[0]->key, "pet");
    /* the rest follows in the recent order: admin first */
    ck_assert_uint_eq(plan.nfacts, 5);
    ck_assert_str_eq(plan.facts[1]->key, "name");
}
END_TEST

/* A question that matches nothing gets a small profile: the strongest
 * facts, MP_RECALL_PROFILE_MAX of them, not the budget filled. */
START_TEST(test_relevant_no_match_gets_a_bounded_profile)
{
    static const char *const recent_order[] = {"name", "city", "job", "pet", "hobby"};
    const char *questions[] = {"xyzzy plugh?", "", NULL};
    ck_assert_uint_eq(MP_RECALL_PROFILE_MAX, 4);
    fs_pets();
    for (size_t q = 0; q < 4; q++) {
        ask(questions[q < 3 ? q : 0]);
        params.terms = q < 3 ? fs_terms : NULL; /* no tokenizer: nothing is scored */
        ck_assert_int_eq(relevant(), MP_OK);
        ck_assert_uint_eq(plan.nfacts, MP_RECALL_PROFILE_MAX);
        for (size_t i = 0; i < MP_RECALL_PROFILE_MAX; i++)
            ck_assert_str_eq(plan.facts[i]->key, recent_order[i]);
        ck_assert_uint_eq(plan.npast, 0);
    }
}
END_TEST

START_TEST(test_relevant_past_line_oldest_first_with_dates)
{
    char *block;
    fs_pets();
    ask("Did my climbing shoes survive at work?");
    ck_assert_int_eq(relevant(), MP_OK);
    block = block_of_plan();
    ck_assert_str_eq(fx_line_with(block, "[Relevant"),
                     "[Relevant past conversation]: (2023-05-09, user) The pipeline migration at "
                     "work slipped again | (2023-06-01, user) Rex chewed my climbing shoes | "
                     "(assistant) Maybe keep the shoes on a high shelf.");
    free(block);
}
END_TEST

START_TEST(test_relevant_previous_turn_matches_at_lower_weight)
{
    fs_pets();
    ask("And what happened then?");
    ck_assert_int_eq(relevant(), MP_OK);
    ck_assert_uint_eq(plan.npast, 0);
    rq.previous = "We talked about your climbing shoes";
    rq.previous_len = strlen(rq.previous);
    ck_assert_int_eq(relevant(), MP_OK);
    ck_assert(has_past("Rex chewed my climbing shoes"));
}
END_TEST

/* ---- the floor ---- */

/* A past message goes in only when it holds a word of the question or is
 * right next to one that does, and scores at least MP_RECALL_FLOOR_PAST
 * percent of the best: the rest of the budget stays unused. */
START_TEST(test_relevant_floor_leaves_weak_and_far_matches_out)
{
    static const char *const weak[] = {
        "The cluster needed a restart",   "Another cluster alert came in",
        "The cluster was slow on Monday", "We resized the cluster again",
        "Cluster backups finished late",  "A cluster node went away"};
    fs_archive(MP_ROLE_USER, "Our staging cluster heron runs Weaviate now", FS_MAY8, "r-0");
    fs_archive(MP_ROLE_ASSISTANT, "Good to know.", FS_MAY8, "r-0");
    fs_archive(MP_ROLE_USER, "Lunch was pasta today.", FS_MAY8, "r-1");
    fs_archive(MP_ROLE_ASSISTANT, "Sounds tasty.", FS_MAY8, "r-1");
    for (int i = 0; i < 6; i++)
        fs_archive(MP_ROLE_USER, weak[i], FS_MAY8 + (i + 1) * DAY, "r-w");
    fs_build();
    ask("What runs on the heron staging cluster?");
    ck_assert_int_eq(relevant(), MP_OK);
    ck_assert(has_past("Our staging cluster heron runs Weaviate now"));
    ck_assert(has_past("Good to know."));           /* right next to it */
    ck_assert(!has_past("Lunch was pasta today.")); /* two steps: smoothed, not matched */
    ck_assert(!has_past("Sounds tasty."));
    for (int i = 0; i < 6; i++)
        ck_assert(!has_past(weak[i])); /* "cluster" alone: under the floor */
    ck_assert_uint_eq(plan.npast, 2);
    ck_assert_uint_lt(plan.tokens, params.budget_tokens / 10);
    /* a question the weak ones answer as well as any: all of them */
    ask("Which cluster?");
    ck_assert_int_eq(relevant(), MP_OK);
    for (int i = 0; i < 6; i++)
        ck_assert(has_past(weak[i]));
}
END_TEST

/* ---- counted once ---- */

START_TEST(test_relevant_fact_and_its_turn_counted_once)
{
    fs_pets();
    ask("Tell me about Rex the beagle");
    ck_assert_int_eq(relevant(), MP_OK);
    ck_assert(has_fact("pet"));
    ck_assert(!has_past("I adopted a beagle puppy, his name is Rex"));
    ck_assert(!has_past("Congratulations! Beagles are curious dogs."));
    ck_assert(has_past("Rex chewed my climbing shoes"));
    /* the past line first: then the turn is in, and its fact stays out */
    shares(0, 100, 0, 0);
    ck_assert_int_eq(relevant(), MP_OK);
    ck_assert(has_past("I adopted a beagle puppy, his name is Rex"));
    ck_assert(!has_fact("pet"));
    ck_assert(has_fact("name"));
}
END_TEST

/* An import gives its facts and messages its own request id, but a fact
 * that no extraction wrote is of no turn: both are taken. */
START_TEST(test_relevant_imported_fact_and_message_both_taken)
{
    strcpy(fx_fact("sport", "glacier hiking")->request_id, "r-import");
    fx_fact("city", "Graz");
    fs_archive(MP_ROLE_USER, "We hiked up to the glacier last summer", FS_MAY8, "r-import");
    fs_archive(MP_ROLE_USER, "Routine note about the weekly groceries", FS_JUN1, "r-import");
    fs_build();
    ask("What about the glacier hike?");
    ck_assert_int_eq(relevant(), MP_OK);
    ck_assert(has_fact("sport"));
    ck_assert(has_fact("city"));
    ck_assert(has_past("We hiked up to the glacier last summer"));
    /* the same, extracted from that turn: the message holds no word of the
       question the fact does not (glacier, hike): counted once */
    fs_extracted(&fx_ents[0], "r-import");
    fs_build();
    ck_assert_int_eq(relevant(), MP_OK);
    ck_assert(has_fact("sport"));
    ck_assert(!has_past("We hiked up to the glacier last summer"));
}
END_TEST

/* A fact never hides the rest of its turn: a message of the turn a fact
 * was drawn from goes in beside it when it holds a word of the question
 * the fact does not, whether the fact is taken or held by the head. */
START_TEST(test_relevant_message_adds_what_its_fact_lacks)
{
    const struct mp_mem_entity *held[1];
    const char *turn = "I use Weaviate as my vector store, and my staging cluster is called heron";
    fs_extracted(fx_fact("vector_store", "Weaviate"), "r-stack");
    fx_fact("city", "Graz");
    fs_archive(MP_ROLE_USER, turn, FS_MAY8, "r-stack");
    fs_archive(MP_ROLE_ASSISTANT, "Noted.", FS_MAY8, "r-stack");
    fs_build();
    ask("Which vector store do I use, and what is my staging cluster called?");
    ck_assert_int_eq(relevant(), MP_OK);
    ck_assert(has_fact("vector_store"));
    ck_assert(has_past(turn)); /* staging, cluster, called: not the fact's */
    /* the fact held by the conversation's head: the same */
    held[0] = &fx_ents[0];
    rq.held = held;
    rq.nheld = 1;
    ck_assert_int_eq(relevant(), MP_OK);
    ck_assert(!has_fact("vector_store"));
    ck_assert(has_past(turn));
    /* a question the fact answers whole: counted once, the fact alone */
    ask("Which vector store is it, Weaviate?");
    rq.nheld = 0;
    ck_assert_int_eq(relevant(), MP_OK);
    ck_assert(has_fact("vector_store"));
    ck_assert(!has_past(turn));
    rq.nheld = 1;
    ck_assert_int_eq(relevant(), MP_OK);
    ck_assert(!has_past(turn));
}
END_TEST

START_TEST(test_relevant_buffered_message_only_in_buffer)
{
    fs_pets();
    fx_message(MP_ROLE_USER, "Rex chewed my climbing shoes");
    fx_mems[0].seq = 3; /* the archive's copy of it */
    fs_build();
    ask("What did Rex chew?");
    ck_assert_int_eq(relevant(), MP_OK);
    ck_assert(!has_past("Rex chewed my climbing shoes"));
    ck_assert_uint_eq(plan.npicks, 1);
    ck_assert_uint_eq(plan.picks[0].idx, 0);
    /* no replay (a client that resends its conversation, upstream state):
       the archived copy is a past message as any other */
    params.sections = ALL4 & ~MP_RECALL_BUFFER;
    ck_assert_int_eq(relevant(), MP_OK);
    ck_assert(has_past("Rex chewed my climbing shoes"));
    ck_assert_uint_eq(plan.npicks, 0);
}
END_TEST

/* In the notes (recall.h): a buffered turn goes into the past line whole,
 * the user's words beside the reply, whichever of the two the question
 * matched; nothing is picked. */
START_TEST(test_relevant_buffer_in_notes_keeps_a_turn_whole)
{
    fs_pets();
    fx_message(MP_ROLE_USER, "Rex chewed my climbing shoes");
    fx_message(MP_ROLE_ASSISTANT, "Maybe keep the shoes on a high shelf.");
    fx_mems[0].seq = 3; /* the archive's copies */
    fx_mems[1].seq = 4;
    strcpy(fx_mems[0].request_id, "r-shoes");
    strcpy(fx_mems[1].request_id, "r-shoes");
    fs_build();
    params.buffer_in_notes = true;
    for (unsigned share = 0; share <= 15; share += 15) { /* resending, or a session */
        params.share_buffer = share;
        for (int q = 0; q < 2; q++) {
            ask(q == 0 ? "Where should the shoes go, on a shelf?" : "What did Rex chew?");
            ck_assert_int_eq(relevant(), MP_OK);
            ck_assert_uint_eq(plan.npicks, 0);
            size_t at = plan.npast;
            for (size_t i = 0; i < plan.npast; i++)
                at = plan.past[i]->seq == 3 ? i : at;
            ck_assert_uint_lt(at + 1, plan.npast);
            ck_assert_uint_eq(plan.past[at + 1]->seq, 4); /* the reply right after */
        }
    }
}
END_TEST

/* In the notes, a turn goes in whole or not at all, within the budget
 * exactly as the block is written; a user message without its reply in
 * the buffer goes alone. */
START_TEST(test_relevant_buffer_in_notes_whole_or_nothing)
{
    fx_message(MP_ROLE_USER, "I moved to Porto last spring.");
    fx_message(MP_ROLE_ASSISTANT, "Porto it is: a fine city by the sea.");
    for (size_t k = 0; k < 2; k++) {
        fx_mems[k].seq = 100 + k;
        strcpy(fx_mems[k].request_id, "r-porto");
    }
    fs_build();
    params.sections = MP_RECALL_BUFFER;
    params.buffer_in_notes = true;
    size_t user = mp_memblock_past_bytes(&fx_mems[0], true, true, SIZE_MAX);
    size_t reply = mp_memblock_past_bytes(&fx_mems[1], false, false, SIZE_MAX);
    params.budget_tokens = mp_memblock_message_tokens(MP_MEMBLOCK_INTRO_LEN + user + reply) - 1;
    ck_assert_int_eq(relevant(), MP_NOTFOUND); /* not the user's words alone */
    params.budget_tokens++;
    ck_assert_int_eq(relevant(), MP_OK);
    ck_assert_uint_eq(plan.npicks, 0);
    ck_assert_uint_eq(plan.npast, 2);
    ck_assert_uint_eq(plan.block_len, MP_MEMBLOCK_INTRO_LEN + user + reply);
    ck_assert_uint_eq(plan.tokens, params.budget_tokens);
    strcpy(fx_mems[1].request_id, "r-other"); /* not its reply: each alone, newest first */
    params.budget_tokens--;
    ck_assert_int_eq(relevant(), MP_OK);
    ck_assert_uint_eq(plan.npast, 1);
    ck_assert_uint_eq(plan.past[0]->seq, 101);
}
END_TEST

static bool holds_shoes(void *ctx, const struct mp_mem_message *m)
{
    (void)ctx;
    return m->role == MP_ROLE_USER && m->content_len == strlen("Rex chewed my climbing shoes") &&
           memcmp(m->content, "Rex chewed my climbing shoes", m->content_len) == 0;
}

START_TEST(test_relevant_message_the_request_holds_left_out)
{
    fs_pets();
    ask("What did Rex chew?");
    rq.seen = holds_shoes;
    ck_assert_int_eq(relevant(), MP_OK);
    ck_assert(!has_past("Rex chewed my climbing shoes"));
    ck_assert(has_past("Maybe keep the shoes on a high shelf."));
}
END_TEST

/* A head (past_recent): the newest buffered messages go into the past
 * line first, newest first and whole, whatever the question; one there
 * already (seen) is passed over; the question's matches still get what the
 * past line has left, and no message is in it twice. Without past_recent
 * no buffered message is in the past line of a question they do not match. */
static bool holds_recent_03(void *ctx, const struct mp_mem_message *m)
{
    (void)ctx;
    return m->content_len > 17 && memcmp(m->content, "recent message 03", 17) == 0;
}

/* Whether past message m's text (content_len bytes: no NUL after them)
 * holds s. */
static bool past_holds(const struct mp_mem_message *m, const char *s)
{
    return memmem(m->content, m->content_len, s, strlen(s)) != NULL;
}

START_TEST(test_relevant_head_takes_the_newest_messages_first)
{
    fs_pets();
    buffer(4);
    fs_build();
    ask("What did Rex chew?");
    params.sections = MP_RECALL_PROFILE | MP_RECALL_PAST | MP_RECALL_SUMMARY;
    ck_assert_int_eq(relevant(), MP_OK);
    for (size_t i = 0; i < plan.npast; i++)
        ck_assert(!past_holds(plan.past[i], "recent message"));
    ck_assert(has_past("Rex chewed my climbing shoes"));
    params.past_recent = true;
    rq.seen = holds_recent_03;
    ck_assert_int_eq(relevant(), MP_OK);
    size_t recent = 0;
    for (size_t i = 0; i < plan.npast; i++) {
        ck_assert(!past_holds(plan.past[i], "recent message 03"));
        recent += past_holds(plan.past[i], "recent message");
        for (size_t j = 0; j < i; j++)
            ck_assert_uint_ne(plan.past[i]->seq, plan.past[j]->seq);
    }
    ck_assert_uint_eq(recent, 3); /* 02, 01, 00: each whole */
    ck_assert(has_past("Rex chewed my climbing shoes"));
}
END_TEST

/* ---- shares and the flow ---- */

START_TEST(test_relevant_round_one_keeps_each_share)
{
    size_t fact_max = 0;
    plenty_facts(60, "alpha");
    long_summary();
    fs_build();
    ask("alpha");
    params.sections = MP_RECALL_PROFILE | MP_RECALL_SUMMARY;
    params.budget_tokens = 589; /* the rest of 600 with the longer intro it had */
    for (size_t i = 0; i < fx_um.nentities; i++) {
        size_t b = mp_memblock_fact_bytes(&fx_ents[i], true, true, SIZE_MAX);
        fact_max = b > fact_max ? b : fact_max;
    }
    for (unsigned p = 20; p <= 80; p += 30) {
        shares(p, 0, 100 - p, 0);
        ck_assert_int_eq(relevant(), MP_OK);
        /* round 2's rest is the profile's slack (less than a fact): the
         * matched facts take it first, the summary what they leave */
        ck_assert_uint_le(profile_bytes(), cap_of(p) + fact_max);
        ck_assert_uint_ge(profile_bytes() + fact_max, cap_of(p));
        ck_assert_uint_ge(summary_bytes() + 40, cap_of(100 - p));
        assert_only_matched_facts();
    }
}
END_TEST

START_TEST(test_relevant_rest_goes_to_matched_facts_first)
{
    plenty_facts(60, "alpha");
    plenty_past(30, "alpha");
    fs_build();
    ask("alpha");
    params.budget_tokens = 600;
    shares(25, 25, 25, 25); /* no summary, no buffer: half the budget is left */
    ck_assert_int_eq(relevant(), MP_OK);
    ck_assert_uint_gt(profile_bytes(), cap_of(25) + cap_of(40));
    ck_assert_uint_le(past_bytes(), cap_of(25));
    assert_only_matched_facts();
}
END_TEST

START_TEST(test_relevant_rest_goes_to_past_when_few_facts_match)
{
    plenty_facts(3, "alpha");
    plenty_facts(27, "gamma");
    plenty_past(30, "alpha");
    fs_build();
    ask("alpha");
    params.budget_tokens = 1000;
    shares(25, 25, 25, 25);
    ck_assert_int_eq(relevant(), MP_OK);
    ck_assert_uint_gt(past_bytes(), cap_of(25) + cap_of(40));
    ck_assert(has_fact("alpha_00") && has_fact("alpha_01") && has_fact("alpha_02"));
}
END_TEST

/* No fact matches and there is no archive: the past share and what the
 * profile leaves go to the summary, then the buffer, then the strongest
 * facts (MP_RECALL_PROFILE_MAX of them), in that order. */
START_TEST(test_relevant_rest_goes_to_summary_then_buffer_then_facts)
{
    plenty_facts(40, "gamma");
    buffer(30);
    long_summary();
    fs_build();
    ask("alpha");
    params.budget_tokens = 1000;
    shares(25, 25, 25, 25);
    ck_assert_int_eq(relevant(), MP_OK);
    ck_assert_uint_gt(summary_bytes(), cap_of(25) + cap_of(20));
    ck_assert_uint_le(buffer_tokens(), cap_of(25) / 4);
    ck_assert_uint_le(profile_bytes(), cap_of(25));
    /* a short summary: the rest goes on to the buffer */
    fx_summary("A short summary.");
    fs_build();
    ck_assert_int_eq(relevant(), MP_OK);
    ck_assert_uint_gt(buffer_tokens(), (cap_of(25) + cap_of(20)) / 4);
    ck_assert_uint_le(profile_bytes(), cap_of(25) + 4 * 30); /* what the last message left */
    /* and with no buffer either, to the strongest facts: a few, not the
       rest of the budget (a ceiling, not a target) */
    for (size_t i = 0; i < fx_um.nmessages; i++)
        free(fx_mems[i].content);
    fx_um.nmessages = 0;
    fs_build();
    ck_assert_int_eq(relevant(), MP_OK);
    ck_assert_uint_eq(plan.nfacts, MP_RECALL_PROFILE_MAX);
    ck_assert_uint_lt(plan.tokens, params.budget_tokens / 2);
}
END_TEST

/* The facts that match alone get the whole budget: no matching fact left
 * out would fit what is left of it, unless the walk stopped after
 * MP_RECALL_FACT_MISSES facts in a row that did not; the others take
 * MP_RECALL_PROFILE_MAX at most, and a question that matches nothing gets
 * them alone. */
START_TEST(test_relevant_only_facts_get_the_whole_budget)
{
    const char *questions[] = {"alpha", "nothing at all"};
    plenty_facts(40, "alpha");
    fs_build();
    for (uint32_t budget = 100; budget <= 1500; budget += 35) {
        params.budget_tokens = budget;
        ask(questions[budget % 2]);
        ck_assert_int_eq(relevant(), MP_OK);
        size_t left = mp_memblock_message_room(budget) - plan.block_len, fit = 0, misfit = 0;
        size_t others = 0;
        for (size_t i = 0; i < plan.nfacts; i++)
            others += strncmp(plan.facts[i]->key, "alpha_", 6) != 0;
        ck_assert_uint_le(others, MP_RECALL_PROFILE_MAX);
        if (budget % 2) {
            ck_assert_uint_eq(plan.nfacts, others);
            continue;
        }
        for (size_t i = 0; i < fx_um.nentities; i++) {
            if (has_fact(fx_ents[i].key) || strncmp(fx_ents[i].key, "alpha_", 6) != 0)
                continue;
            if (mp_memblock_fact_bytes(&fx_ents[i], false, plan_lacks_day(&fx_ents[i]), SIZE_MAX) >
                left)
                misfit++;
            else
                fit++;
        }
        ck_assert_msg(fit == 0 || misfit >= MP_RECALL_FACT_MISSES,
                      "budget %u: %zu fitting left out", budget, fit);
    }
}
END_TEST

/* ---- the ranked walks, against a plain walk ---- */

/* The facts a plain walk took, in the order taken, and their bytes. */
struct plain_fill {
    const struct mp_mem_entity *taken[FX_MAX_FACTS];
    size_t n, used;
};

static bool plain_took(const struct plain_fill *pf, const struct mp_mem_entity *e, bool same_day)
{
    for (size_t i = 0; i < pf->n; i++) {
        if (same_day ? mp_memblock_fact_day(pf->taken[i]) == mp_memblock_fact_day(e)
                     : pf->taken[i] == e)
            return true;
    }
    return false;
}

/* recall_fill.h's walk of the ranked facts (order[0..n)) as written there,
 * with nothing but ASCII facts in the block: each fact not taken yet is
 * taken when its bytes fit what the budget (total bytes) and the cap leave,
 * until no fact can fit, MP_RECALL_FACT_MISSES in a row did not, or the
 * walks took max. */
static void plain_walk(struct plain_fill *pf, const struct mp_mem_entity *const *order, size_t n,
                       size_t total, size_t cap, size_t max)
{
    unsigned misses = 0;
    for (size_t i = 0; i < n && misses < MP_RECALL_FACT_MISSES && pf->n < max; i++) {
        const struct mp_mem_entity *e = order[i];
        size_t room = total - pf->used, bytes;
        if (cap - pf->used < room)
            room = cap > pf->used ? cap - pf->used : 0;
        if (room < MP_MEMBLOCK_FACT_MIN)
            break;
        if (plain_took(pf, e, false))
            continue;
        bytes = mp_memblock_fact_bytes(e, pf->n == 0, !plain_took(pf, e, true), room);
        misses = bytes > 0 ? 0 : misses + 1;
        if (bytes > 0) {
            pf->taken[pf->n++] = e;
            pf->used += bytes;
        }
    }
}

static int collect_ranked(void *arg, const struct mp_mem_entity *e)
{
    struct plain_fill *order = arg;
    order->taken[order->n++] = e;
    return MP_OK;
}

/* n facts of random lengths, trust, confidence and days (some undated),
 * about half of them with their text written ahead, as a store's view
 * writes it. */
static void random_facts(size_t n, uint32_t *seed)
{
    static char ahead[FX_MAX_FACTS][MP_MEMBLOCK_FACT_TEXT_MAX];
    static const enum mp_trust trusts[] = {MP_TRUST_INFERRED, MP_TRUST_STATED, MP_TRUST_CORRECTED};
    char key[24], value[160];
    for (size_t i = 0; i < n; i++) {
        size_t len;
        *seed = *seed * 1103515245u + 12345u;
        len = 1 + (*seed >> 8) % (sizeof(value) - 1);
        for (size_t k = 0; k < len; k++)
            value[k] = k % 7 == 6 ? ' ' : (char)('a' + (k + *seed) % 26);
        snprintf(key, sizeof(key), "k%03zu", i);
        int64_t day = (*seed >> 4) % 5;
        struct mp_mem_entity *e =
            fx_fact_n(key, value, len, trusts[(*seed >> 12) % 3], (double)((*seed >> 16) % 4) / 4,
                      day == 4 ? 0 : MAY1 + day * DAY);
        if ((*seed >> 20) % 2)
            mp_memblock_fact_write_ahead(e, ahead[i]);
    }
}

/* No question, facts only: round 1 walks the ranked facts within the
 * profile's share, round 2 again within the whole budget, passing over
 * what it took, the two together taking MP_RECALL_PROFILE_MAX at most; the
 * recent strategy walks them once, within the whole budget and with no
 * such cap. For random facts, budgets and shares, the plan holds what the
 * plain walks take, day by day in the order taken (however the fill saves
 * its work: passing over facts without asking the room, measuring a fact
 * written ahead by its length). */
START_TEST(test_relevant_ranked_walks_take_what_plain_walks_take)
{
    uint32_t seed = 29;
    for (int round = 0; round < 400; round++) {
        struct plain_fill order = {.n = 0}, pf = {.n = 0};
        bool recent = round % 2;
        teardown();
        setup();
        random_facts(20 + (size_t)round / 2 % 41, &seed);
        fs_build();
        params.sections = MP_RECALL_PROFILE;
        params.budget_tokens = 120 + (uint32_t)(seed >> 8) % 1200;
        shares((seed >> 4) % 101, 0, 0, 0);
        ck_assert_int_eq(fs_src.ranked_facts(fs_src.ctx, collect_ranked, &order), MP_OK);
        size_t total = mp_memblock_message_room(params.budget_tokens) - MP_MEMBLOCK_INTRO_LEN;
        if (!recent)
            plain_walk(&pf, order.taken, order.n, total, cap_of(params.share_profile),
                       MP_RECALL_PROFILE_MAX);
        plain_walk(&pf, order.taken, order.n, total, SIZE_MAX,
                   recent ? SIZE_MAX : MP_RECALL_PROFILE_MAX);
        mp_recall_plan_cleanup(&plan);
        int rc = recent ? mp_recall_recent(&fs_head, &fs_src, &params, &rq, &plan) : relevant();
        ck_assert_int_eq(rc, pf.n > 0 ? MP_OK : MP_NOTFOUND);
        ck_assert_uint_eq(plan.nfacts, pf.n);
        for (size_t i = 1; i < pf.n; i++) { /* day by day, in the order taken */
            const struct mp_mem_entity *e = pf.taken[i];
            size_t j = i;
            for (; j > 0 && mp_memblock_fact_day(pf.taken[j - 1]) > mp_memblock_fact_day(e); j--)
                pf.taken[j] = pf.taken[j - 1];
            pf.taken[j] = e;
        }
        for (size_t i = 0; i < pf.n; i++)
            ck_assert_ptr_eq(plan.facts[i], pf.taken[i]);
    }
}
END_TEST

/* ---- the budget ---- */

/* An archived message whose source's estimate says it cannot fit what is
 * left of the budget is not fetched (memblock.h, mp_memblock_past_least):
 * the short match is read and taken, and the long ones lack room unread,
 * in both rounds (fewer than MP_RECALL_FACT_MISSES of them, so that the
 * offers reach the short one whatever the order). */
START_TEST(test_relevant_message_that_cannot_fit_is_not_read)
{
    char text[401], rid[32];
    for (int i = 0; i < 10; i++) {
        snprintf(text, sizeof(text), "alpha %03d", i);
        for (size_t n = strlen(text); n < sizeof(text) - 1; n++)
            text[n] = n % 6 == 5 ? ' ' : 'w';
        text[sizeof(text) - 1] = '\0';
        snprintf(rid, sizeof(rid), "r-long-%02d", i);
        fs_archive(MP_ROLE_USER, text, FS_MAY8 + i * DAY, rid);
    }
    fs_archive(MP_ROLE_USER, "alpha, briefly", FS_MAY8 + 30 * DAY, "r-short");
    fs_build();
    ask("alpha");
    params.sections = MP_RECALL_PAST;
    params.budget_tokens = 140; /* the intro, and 249 bytes */
    fs_calls.messages = 0;
    ck_assert_int_eq(relevant(), MP_OK);
    ck_assert_uint_eq(plan.npast, 1);
    ck_assert_str_eq(plan.past[0]->content, "alpha, briefly");
    ck_assert_uint_eq(fs_calls.messages, 1);
    /* with room for them, the long ones are read and taken */
    params.budget_tokens = 1500;
    ck_assert_int_eq(relevant(), MP_OK);
    ck_assert_uint_gt(plan.npast, 2);
}
END_TEST

START_TEST(test_relevant_budget_never_exceeded)
{
    static const unsigned splits[][4] = {{40, 30, 15, 15}, {100, 0, 0, 0},   {0, 100, 0, 0},
                                         {0, 0, 0, 100},   {25, 25, 25, 25}, {0, 0, 0, 0}};
    const char *questions[] = {"alpha", "What did Rex chew?", "zzz"};
    fs_pets();
    plenty_facts(12, "alpha");
    plenty_past(12, "alpha");
    long_summary();
    buffer(8);
    fs_build();
    for (size_t s = 0; s < sizeof(splits) / sizeof(splits[0]); s++) {
        shares(splits[s][0], splits[s][1], splits[s][2], splits[s][3]);
        for (uint32_t budget = 0; budget <= 2500; budget += 13) {
            params.budget_tokens = budget;
            ask(questions[budget % 3]);
            int rc = relevant(); /* checks the plan when MP_OK */
            if (budget >= mp_memblock_message_tokens(MP_MEMBLOCK_INTRO_LEN) + 30)
                ck_assert_int_eq(rc, MP_OK);
            else
                ck_assert(rc == MP_OK || rc == MP_NOTFOUND);
        }
    }
    params.budget_tokens = mp_memblock_message_tokens(MP_MEMBLOCK_INTRO_LEN) - 1;
    ck_assert_int_eq(relevant(), MP_NOTFOUND);
}
END_TEST

/* ---- long messages ---- */

/* A long assistant answer whose one sentence about the question lies far
 * past what the block keeps of a message: the past line carries the
 * answer's opening and that sentence (excerpt.h), measured as rendered. */
START_TEST(test_relevant_long_message_excerpted_to_its_matching_sentence)
{
    char text[4096] = "Here is the whole plan for the move. ";
    while (strlen(text) < 1500)
        strcat(text, "Pack the kitchen first and label every box. ");
    strcat(text, "The piano goes with the specialist movers on Friday. ");
    while (strlen(text) < 3000)
        strcat(text, "Pack the kitchen first and label every box. ");
    fs_archive(MP_ROLE_ASSISTANT, text, FS_MAY8, "r-move");
    fs_build();
    shares(0, 100, 0, 0);
    ask("Who is moving the piano?");
    ck_assert_int_eq(relevant(), MP_OK);
    ck_assert_uint_eq(plan.npast, 1);
    ck_assert_str_eq(plan.past[0]->content,
                     "Here is the whole plan for the move. \xE2\x80\xA6 The piano goes with the "
                     "specialist movers on Friday. Pack the kitchen first and label every box. "
                     "\xE2\x80\xA6");
    ck_assert_uint_eq(plan.past[0]->content_len, strlen(plan.past[0]->content));
    /* asked what its opening holds, the block cuts it plainly */
    ask("What is the whole plan for the move?");
    ck_assert_int_eq(relevant(), MP_OK);
    ck_assert_uint_eq(plan.npast, 1);
    ck_assert_str_eq(plan.past[0]->content, text);
    char *block = block_of_plan();
    ck_assert_ptr_null(strstr(block, "piano"));
    ck_assert_ptr_nonnull(strstr(block, "Here is the whole plan for the move. Pack the kitchen"));
    free(block);
}
END_TEST

START_TEST(test_relevant_deterministic)
{
    char *first, *second;
    fs_pets();
    plenty_facts(10, "alpha");
    plenty_past(10, "alpha");
    fs_build();
    ask("alpha and Rex");
    params.budget_tokens = 700;
    ck_assert_int_eq(relevant(), MP_OK);
    first = block_of_plan();
    ck_assert_int_eq(relevant(), MP_OK);
    second = block_of_plan();
    ck_assert_str_eq(first, second);
    free(first);
    free(second);
}
END_TEST

/* ---- pii, the source, ownership ---- */

START_TEST(test_relevant_pii_only_when_allowed)
{
    fs_pets();
    fx_ents[1].pii = true; /* pet */
    fs_msgs[3].pii = true; /* Rex chewed ... */
    fs_build();
    ask("What did Rex chew?");
    ck_assert_int_eq(relevant(), MP_OK);
    ck_assert(!has_fact("pet"));
    ck_assert(!has_past("Rex chewed my climbing shoes"));
    params.inject_pii = true;
    ck_assert_int_eq(relevant(), MP_OK);
    ck_assert(has_fact("pet"));
    ck_assert(has_past("Rex chewed my climbing shoes"));
}
END_TEST

START_TEST(test_relevant_source_errors_passed_on)
{
    struct mp_recall_plan untouched = {.tokens = 77};
    fs_pets();
    ask("What did Rex chew?");
    fs_calls.fail_fact = MP_EIO;
    ck_assert_int_eq(mp_recall_relevant(&fs_head, &fs_src, &params, &rq, &untouched), MP_EIO);
    fs_calls.fail_fact = 0;
    fs_calls.fail_message = MP_ENOMEM;
    ck_assert_int_eq(mp_recall_relevant(&fs_head, &fs_src, &params, &rq, &untouched), MP_ENOMEM);
    fs_calls.fail_message = 0;
    fs_calls.fail_ranked = MP_EIO;
    ck_assert_int_eq(mp_recall_relevant(&fs_head, &fs_src, &params, &rq, &untouched), MP_EIO);
    ck_assert_uint_eq(untouched.tokens, 77);
    ck_assert_ptr_null(untouched.facts);
}
END_TEST

START_TEST(test_relevant_fact_gone_from_store_skipped)
{
    fs_pets();
    ask("How is Rex?");
    fs_calls.missing_fact = 1; /* pet */
    ck_assert_int_eq(relevant(), MP_OK);
    ck_assert_str_ne(plan.facts[0]->key, "pet");
}
END_TEST

START_TEST(test_relevant_plan_copies_past_borrows_facts)
{
    char *before, *after;
    fs_pets();
    ask("What did Rex chew?");
    ck_assert_int_eq(relevant(), MP_OK);
    ck_assert_uint_gt(plan.npast, 0);
    ck_assert_uint_gt(plan.nfacts, 0);
    before = block_of_plan();
    /* the past messages are the plan's copies: changing the source's
       leaves the block as it was */
    for (size_t i = 0; i < fs_nmsgs; i++)
        memset(fs_msgs[i].content, 'X', fs_msgs[i].content_len);
    after = block_of_plan();
    ck_assert_str_eq(before, after);
    free(after);
    /* the facts are the source's own (no copy per fact): the plan points
       at them */
    for (size_t i = 0; i < plan.nfacts; i++)
        ck_assert(plan.facts[i] >= fx_ents && plan.facts[i] < fx_ents + fx_um.nentities);
    free(before);
}
END_TEST

START_TEST(test_relevant_nothing_when_nothing_stored)
{
    fs_build();
    ask("anything");
    ck_assert_int_eq(relevant(), MP_NOTFOUND);
    ck_assert_int_eq(mp_recall_relevant(NULL, &fs_src, &params, &rq, &plan), MP_NOTFOUND);
    params.sections = 0;
    fs_pets();
    ck_assert_int_eq(relevant(), MP_NOTFOUND);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("recall_relevant");
    TCase *m = tcase_create("matching");
    tcase_add_checked_fixture(m, setup, teardown);
    tcase_add_test(m, test_relevant_without_source_is_recent);
    tcase_add_test(m, test_relevant_matching_fact_comes_first);
    tcase_add_test(m, test_relevant_no_match_gets_a_bounded_profile);
    tcase_add_test(m, test_relevant_past_line_oldest_first_with_dates);
    tcase_add_test(m, test_relevant_previous_turn_matches_at_lower_weight);
    tcase_add_test(m, test_relevant_fact_and_its_turn_counted_once);
    tcase_add_test(m, test_relevant_floor_leaves_weak_and_far_matches_out);
    tcase_add_test(m, test_relevant_imported_fact_and_message_both_taken);
    tcase_add_test(m, test_relevant_message_adds_what_its_fact_lacks);
    tcase_add_test(m, test_relevant_buffered_message_only_in_buffer);
    tcase_add_test(m, test_relevant_buffer_in_notes_keeps_a_turn_whole);
    tcase_add_test(m, test_relevant_buffer_in_notes_whole_or_nothing);
    tcase_add_test(m, test_relevant_message_the_request_holds_left_out);
    tcase_add_test(m, test_relevant_head_takes_the_newest_messages_first);
    suite_add_tcase(s, m);

    TCase *f = tcase_create("flow");
    tcase_add_checked_fixture(f, setup, teardown);
    tcase_set_timeout(f, 60);
    tcase_add_test(f, test_relevant_round_one_keeps_each_share);
    tcase_add_test(f, test_relevant_rest_goes_to_matched_facts_first);
    tcase_add_test(f, test_relevant_rest_goes_to_past_when_few_facts_match);
    tcase_add_test(f, test_relevant_rest_goes_to_summary_then_buffer_then_facts);
    tcase_add_test(f, test_relevant_only_facts_get_the_whole_budget);
    tcase_add_test(f, test_relevant_ranked_walks_take_what_plain_walks_take);
    tcase_add_test(f, test_relevant_budget_never_exceeded);
    tcase_add_test(f, test_relevant_deterministic);
    tcase_add_test(f, test_relevant_long_message_excerpted_to_its_matching_sentence);
    suite_add_tcase(s, f);

    TCase *o = tcase_create("source");
    tcase_add_checked_fixture(o, setup, teardown);
    tcase_add_test(o, test_relevant_pii_only_when_allowed);
    tcase_add_test(o, test_relevant_source_errors_passed_on);
    tcase_add_test(o, test_relevant_fact_gone_from_store_skipped);
    tcase_add_test(o, test_relevant_plan_copies_past_borrows_facts);
    tcase_add_test(o, test_relevant_nothing_when_nothing_stored);
    tcase_add_test(o, test_relevant_message_that_cannot_fit_is_not_read);
    suite_add_tcase(s, o);
    return s;
}
