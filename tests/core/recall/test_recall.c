/* Tests for core/recall/recall.c: the sections per mode, the recent strategy's
 * order and budget (facts, the summary cut, the buffered messages picked
 * newest first), pii, deduplication through the seen callback, and facts
 * from a source (recall_source.h) giving what they give from the memory. A
 * plan is checked directly, and its block as memblock renders it. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem_fixture.h"
#include "recall/memblock.h"
#include "recall/recall.h"
#include "recall/recall_fill.h"
#include "recall_source.h"
#include "status.h"
#include "memory/usermem.h"

Suite *mp_test_suite(void);

#define ALL (MP_RECALL_PROFILE | MP_RECALL_SUMMARY | MP_RECALL_BUFFER)

static struct mp_recall_plan plan;
static bool inject_pii;

static void setup(void)
{
    fx_setup();
    memset(&plan, 0, sizeof(plan));
    inject_pii = false;
}

static void teardown(void)
{
    mp_recall_plan_cleanup(&plan);
    fx_teardown();
}

/* Recalls into plan with the recent strategy; on MP_OK checks what holds
 * for every plan: it fits the budget, and the block is block_len bytes. */
static int recall_rq(int sections, uint32_t budget, const struct mp_recall_request *rq)
{
    struct mp_recall_params p = {
        .sections = sections, .budget_tokens = budget, .inject_pii = inject_pii};
    int rc;
    mp_recall_plan_cleanup(&plan);
    rc = mp_recall_recent(&fx_um, NULL, &p, rq, &plan);
    if (rc != MP_OK)
        return rc;
    ck_assert_uint_le(plan.tokens, budget);
    ck_assert_uint_ge(plan.tokens, mp_memblock_message_cost(plan.block_len, plan.block_saved));
    ck_assert_uint_le(mp_memblock_message_cost(plan.block_len, plan.block_saved), budget);
    return rc;
}

static int recall_p(int sections, uint32_t budget)
{
    return recall_rq(sections, budget, NULL);
}

static char *block_of_plan(void)
{
    return fs_render(&plan, &fx_um.summary);
}

/* Recalls every section with a large budget; returns the block. */
static char *block_all(void)
{
    ck_assert_int_eq(recall_p(ALL, 100000), MP_OK);
    return block_of_plan();
}

/* ---- sections ---- */

START_TEST(test_recall_sections_for_modes)
{
    ck_assert_int_eq(mp_recall_sections(MP_MEMORY_OFF), 0);
    ck_assert_int_eq(mp_recall_sections(MP_MEMORY_BUFFER), MP_RECALL_BUFFER);
    ck_assert_int_eq(mp_recall_sections(MP_MEMORY_SUMMARY), MP_RECALL_SUMMARY | MP_RECALL_BUFFER);
    ck_assert_int_eq(mp_recall_sections(MP_MEMORY_ENTITY), MP_RECALL_PROFILE);
    ck_assert_int_eq(mp_recall_sections(MP_MEMORY_HYBRID), ALL | MP_RECALL_PAST);
}
END_TEST

START_TEST(test_recall_hybrid_plan)
{
    char *block;
    fx_full_memory();
    block = block_all();
    ck_assert_uint_eq(plan.nfacts, 2);
    ck_assert_ptr_eq(plan.facts[0], &fx_ents[1]); /* corrected before stated */
    ck_assert_ptr_eq(plan.facts[1], &fx_ents[0]);
    ck_assert_uint_eq(plan.summary_len, fx_um.summary.text_len);
    ck_assert(!plan.summary_cut);
    ck_assert_uint_eq(plan.npicks, 2);
    ck_assert_uint_eq(plan.picks[0].idx, 1); /* newest first */
    ck_assert_uint_eq(plan.picks[0].len, 16);
    ck_assert(!plan.picks[0].cut);
    ck_assert_uint_eq(plan.picks[1].idx, 0);
    ck_assert_uint_eq(plan.picks[1].len, 15);
    ck_assert(!plan.message_cut);
    ck_assert_uint_eq(plan.ndeduplicated, 0);
    ck_assert_uint_eq(plan.block_len, strlen(block));
    ck_assert_uint_eq(plan.tokens, 4 + fx_tok(strlen(block)) + 4 + fx_tok(15) + 4 + fx_tok(16));
    free(block);
}
END_TEST

START_TEST(test_recall_only_the_sections_asked_for)
{
    fx_full_memory();
    ck_assert_int_eq(recall_p(MP_RECALL_BUFFER, 1500), MP_OK);
    ck_assert_uint_eq(plan.nfacts, 0);
    ck_assert_uint_eq(plan.summary_len, 0);
    ck_assert_uint_eq(plan.npicks, 2);
    ck_assert_uint_eq(plan.block_len, MP_MEMBLOCK_INTRO_LEN); /* the intro alone */
    ck_assert_int_eq(recall_p(MP_RECALL_SUMMARY, 1500), MP_OK);
    ck_assert_uint_eq(plan.nfacts + plan.npicks, 0);
    ck_assert_uint_eq(plan.summary_len, fx_um.summary.text_len);
    ck_assert_int_eq(recall_p(MP_RECALL_PROFILE, 1500), MP_OK);
    ck_assert_uint_eq(plan.nfacts, 2);
    ck_assert_uint_eq(plan.summary_len + plan.npicks, 0);
}
END_TEST

/* ---- facts ---- */

static void priority_facts(void)
{
    fx_fact_n("a_inferred", "x", 1, MP_TRUST_INFERRED, 0.99, MAY1);
    fx_fact_n("b_stated_low", "x", 1, MP_TRUST_STATED, 0.5, MAY1);
    fx_fact_n("c_stated_old", "x", 1, MP_TRUST_STATED, 0.9, MAY1 - DAY);
    fx_fact_n("d_stated_new", "x", 1, MP_TRUST_STATED, 0.9, MAY1);
    fx_fact_n("e_corrected", "x", 1, MP_TRUST_CORRECTED, 0.1, MAY1);
    fx_fact_n("f_admin", "x", 1, MP_TRUST_ADMIN, 0.2, MAY1);
}

START_TEST(test_recall_facts_ordered_by_trust_confidence_recency)
{
    char *block;
    priority_facts();
    block = block_all();
    ck_assert_str_eq(fx_line_with(block, "[User profile]"),
                     "[User profile]: (as of 2024-04-30) c_stated_old: x | (as of 2024-05-01) "
                     "f_admin: x | e_corrected: x | d_stated_new: x | b_stated_low: x | "
                     "a_inferred: x"); /* day by day; a day's facts in the order taken */
    free(block);
}
END_TEST

START_TEST(test_recall_nan_confidence_sorts_as_zero)
{
    char *block;
    fx_fact_n("a_nan", "x", 1, MP_TRUST_STATED, NAN, MAY1);
    fx_fact_n("b_low", "x", 1, MP_TRUST_STATED, 0.1, MAY1);
    fx_fact_n("c_zero", "x", 1, MP_TRUST_STATED, 0.0, MAY1 - DAY);
    block = block_all();
    ck_assert_str_eq(fx_line_with(block, "[User profile]"),
                     "[User profile]: (as of 2024-04-30) c_zero: x | (as of 2024-05-01) b_low: x "
                     "| a_nan: x");
    free(block);
}
END_TEST

START_TEST(test_recall_budget_keeps_highest_priority_facts)
{
    const char *three = INTRO "\n[User profile]: (as of 2024-05-01) f_admin: x | e_corrected: x | "
                              "d_stated_new: x";
    uint32_t budget = 4 + fx_tok(strlen(three));
    char *block;
    priority_facts();
    fx_summary("A summary that no longer fits.");
    fx_message(MP_ROLE_USER, "a message that no longer fits");
    ck_assert_int_eq(recall_p(ALL, budget), MP_OK);
    block = block_of_plan();
    ck_assert_str_eq(block, three);
    ck_assert_uint_eq(plan.nfacts, 3);
    ck_assert_uint_eq(plan.summary_len, 0);
    ck_assert_uint_eq(plan.npicks, 0);
    ck_assert_uint_eq(plan.tokens, budget);
    free(block);
}
END_TEST

START_TEST(test_recall_pii_facts_only_when_allowed)
{
    char *block;
    fx_fact("email", "ada@example.com")->pii = true;
    fx_fact("name", "Ada");
    block = block_all();
    ck_assert_str_eq(fx_line_with(block, "[User"), "[User profile]: (as of 2024-05-01) name: Ada");
    free(block);
    inject_pii = true;
    block = block_all();
    ck_assert_ptr_nonnull(strstr(block, "email: ada@example.com"));
    free(block);
}
END_TEST

START_TEST(test_recall_pii_summary_and_messages_only_when_allowed)
{
    fx_summary("A summary with personal data.");
    fx_um.summary.pii = true;
    fx_message(MP_ROLE_USER, "my email is ada@example.com");
    fx_mems[0].pii = true;
    fx_message(MP_ROLE_USER, "nothing personal");
    ck_assert_int_eq(recall_p(ALL, 1500), MP_OK);
    ck_assert_uint_eq(plan.summary_len, 0);
    ck_assert_uint_eq(plan.npicks, 1);
    ck_assert_uint_eq(plan.picks[0].idx, 1);
    inject_pii = true;
    ck_assert_int_eq(recall_p(ALL, 1500), MP_OK);
    ck_assert_uint_eq(plan.summary_len, fx_um.summary.text_len);
    ck_assert_uint_eq(plan.npicks, 2);
}
END_TEST

START_TEST(test_recall_facts_without_key_or_value_skipped)
{
    char *block;
    fx_fact("", "no key");
    fx_fact("no_value", "");
    fx_fact("null_value", "x");
    free(fx_ents[2].value);
    fx_ents[2].value = NULL;
    ck_assert_int_eq(recall_p(MP_RECALL_PROFILE, 1500), MP_NOTFOUND);
    fx_fact("name", "Ada");
    block = block_all();
    ck_assert_str_eq(fx_line_with(block, "[User"), "[User profile]: (as of 2024-05-01) name: Ada");
    free(block);
}
END_TEST

START_TEST(test_recall_many_facts_sorted_like_few)
{
    /* Past 64 facts the sort is qsort: the order must be the same. */
    char key[16], *block;
    const char *line, *p;
    for (int i = 0; i < 70; i++) {
        snprintf(key, sizeof(key), "k%02d", (i * 37) % 70);
        fx_fact_n(key, "v", 1, (enum mp_trust)((i * 37) % 70 % 4), 0.5, MAY1);
    }
    block = block_all();
    line = fx_line_with(block, "[User");
    p = line + strlen("[User profile]: (as of 2024-05-01) ");
    for (int t = 3, k = 0; t >= 0; t--) {
        for (int i = 0; i < 70; i++) {
            if (i % 4 != t)
                continue;
            snprintf(key, sizeof(key), "%sk%02d: v", k++ > 0 ? " | " : "", i);
            ck_assert_int_eq(strncmp(p, key, strlen(key)), 0);
            p += strlen(key);
        }
    }
    ck_assert_str_eq(p, "");
    free(block);
}
END_TEST

START_TEST(test_recall_profile_line_day_by_day_in_the_order_taken)
{
    /* Facts over three days, taken in trust order (admin first): the line
     * writes them day by day, oldest first, each day once, and within a day
     * in the order taken. Both sorts: 12 facts (in place) and 90 (the
     * decorated sort past 64). */
    static const char *days[] = {"2024-04-29", "2024-04-30", "2024-05-01"};
    for (int n = 12; n <= 90; n += 78) {
        char key[16], want[8192], *block;
        size_t len = 0;
        fx_teardown();
        fx_setup();
        for (int i = 0; i < n; i++) {
            snprintf(key, sizeof(key), "k%02d", i);
            fx_fact_n(key, "v", 1, (enum mp_trust)(i % 4), 0.5, MAY1 - (int64_t)(i % 3) * DAY);
        }
        block = block_all();
        len += (size_t)snprintf(want, sizeof(want), "[User profile]: ");
        for (int d = 2, k = 0; d >= 0; d--) { /* i % 3 == 2 is the oldest day */
            len += (size_t)snprintf(want + len, sizeof(want) - len, "%s(as of %s) ",
                                    k > 0 ? " | " : "", days[2 - d]);
            for (int t = 3, first = 1; t >= 0; t--) { /* admin (3) first */
                for (int i = 0; i < n; i++) {
                    if (i % 3 != d || i % 4 != t)
                        continue;
                    len += (size_t)snprintf(want + len, sizeof(want) - len, "%sk%02d: v",
                                            first ? "" : " | ", i);
                    first = 0;
                    k++;
                }
            }
        }
        ck_assert_str_eq(fx_line_with(block, "[User"), want);
        free(block);
    }
}
END_TEST

START_TEST(test_recall_huge_value_recalled_capped)
{
    char *big = malloc(10240), *block;
    ck_assert_ptr_nonnull(big);
    for (size_t i = 0; i < 10240; i++)
        big[i] = i % 7 == 6 ? '\n' : (char)('a' + i % 26);
    fx_fact_n("big", big, 10240, MP_TRUST_ADMIN, 1, MAY1);
    fx_fact("name", "Ada");
    block = block_all();
    ck_assert_uint_eq(plan.nfacts, 2);
    ck_assert_ptr_nonnull(strstr(block, "\xe2\x80\xa6 | name: Ada"));
    ck_assert_uint_lt(plan.tokens, 300);
    free(block);
    free(big);
}
END_TEST

START_TEST(test_recall_huge_value_skipped_when_over_budget)
{
    char big[600];
    char *block;
    memset(big, 'w', sizeof(big));
    fx_fact_n("big", big, sizeof(big), MP_TRUST_ADMIN, 1, MAY1);
    fx_fact("name", "Ada");
    ck_assert_int_eq(recall_p(ALL, 4 + fx_tok(strlen(INTRO) + 200)), MP_OK);
    block = block_of_plan();
    ck_assert_str_eq(fx_line_with(block, "[User"), "[User profile]: (as of 2024-05-01) name: Ada");
    ck_assert_uint_eq(plan.nfacts, 1);
    free(block);
}
END_TEST

START_TEST(test_recall_cut_value_fits_by_its_cut_length)
{
    /* 600 sanitized bytes: cut at the last 'a' (the spaces go), so the
     * fact is far shorter than the 512 bytes the value is measured to. It
     * fits the budget exactly as cut, and is injected. */
    char value[600];
    const char *want_line;
    char want[1024], *block;
    uint32_t budget;
    memset(value, 'a', 100);
    memset(value + 100, ' ', sizeof(value) - 100);
    fx_fact_n("k", value, sizeof(value), MP_TRUST_STATED, 1, MAY1);
    snprintf(want, sizeof(want), "%s\n[User profile]: (as of 2024-05-01) k: %.100s\xe2\x80\xa6",
             INTRO, value);
    budget = 4 + fx_tok(strlen(want));
    ck_assert_int_eq(recall_p(MP_RECALL_PROFILE, budget), MP_OK);
    block = block_of_plan();
    ck_assert_str_eq(block, want);
    want_line = fx_line_with(block, "[User");
    ck_assert_uint_eq(strlen(want_line),
                      strlen("[User profile]: (as of 2024-05-01) k: ") + 100 + 3);
    ck_assert_uint_eq(plan.nfacts, 1);
    ck_assert_uint_eq(plan.tokens, budget);
    free(block);
}
END_TEST

/* ---- summary ---- */

START_TEST(test_recall_summary_cut_at_utf8_boundary_emoji)
{
    const char *head = "\n[Conversation history summary]: ";
    uint32_t budget = 100;
    size_t room = (budget - 4) * 4 - (strlen(INTRO) + strlen(head)) - 3;
    char summary[512], want[1024], *block;
    /* 'z' * (room - 6), then two emoji: the budget ends 2 bytes into the
     * second one, and no space is near. */
    ck_assert_uint_gt(room, 6);
    memset(summary, 'z', room - 6);
    strcpy(summary + room - 6, "\xf0\x9f\x98\x80\xf0\x9f\x98\x80 and more words after");
    fx_summary(summary);
    snprintf(want, sizeof(want), "%s%s%.*s\xf0\x9f\x98\x80\xe2\x80\xa6", INTRO, head,
             (int)(room - 6), summary);
    ck_assert_int_eq(recall_p(MP_RECALL_SUMMARY, budget), MP_OK);
    block = block_of_plan();
    ck_assert_str_eq(block, want);
    ck_assert(plan.summary_len > 0 && plan.summary_cut);
    ck_assert_uint_eq(plan.summary_len, room - 2);
    ck_assert_uint_eq(plan.tokens, 4 + fx_tok(strlen(want)));
    free(block);
}
END_TEST

START_TEST(test_recall_summary_cut_prefers_whole_words)
{
    const char *text = "Ada builds a retrieval app with ChromaDB and FastAPI, deploys on Fly, "
                       "prefers Python, dislikes YAML, and asked about embeddings and chunk sizes "
                       "for long PDF manuals in several languages including Japanese and German.";
    const char *head = "\n[Conversation history summary]: ";
    uint32_t budget = 4 + fx_tok(strlen(INTRO) + strlen(head) + 60);
    char *block;
    const char *kept;
    size_t k;
    fx_summary(text);
    ck_assert_int_eq(recall_p(MP_RECALL_SUMMARY, budget), MP_OK);
    block = block_of_plan();
    kept = fx_line_with(block, "[Conversation") + strlen(head) - 1;
    k = strlen(kept) - 3;
    ck_assert_str_eq(kept + k, "\xe2\x80\xa6");
    ck_assert_int_eq(strncmp(kept, text, k), 0);
    ck_assert_int_eq(text[k], ' ');
    ck_assert_int_ne(kept[k - 1], ' ');
    ck_assert_uint_ge(k, 60 - 40);
    ck_assert(plan.summary_cut);
    ck_assert_uint_eq(plan.summary_len, k);
    free(block);
}
END_TEST

START_TEST(test_recall_summary_skipped_when_its_header_does_not_fit)
{
    /* The fact leaves 20 bytes of the block's budget: room for a cut text
     * but not for the summary's header, so no summary at all. */
    uint32_t budget = 100;
    size_t max_block = (budget - 4) * 4;
    size_t v =
        max_block - 20 - (strlen(INTRO) + strlen("\n[User profile]: (as of 2024-05-01) k: "));
    char value[256], summary[601], want[1024], *block;
    memset(value, 'v', v);
    fx_fact_n("k", value, v, MP_TRUST_STATED, 1, MAY1);
    for (size_t i = 0; i < 600; i++)
        summary[i] = i % 6 == 5 ? ' ' : 's';
    summary[600] = '\0';
    fx_summary(summary);
    snprintf(want, sizeof(want), "%s\n[User profile]: (as of 2024-05-01) k: %.*s", INTRO, (int)v,
             value);
    ck_assert_int_eq(recall_p(ALL, budget), MP_OK);
    block = block_of_plan();
    ck_assert_str_eq(block, want);
    ck_assert_uint_eq(strlen(block), max_block - 20);
    ck_assert_uint_eq(plan.summary_len, 0);
    free(block);
}
END_TEST

/* ---- buffered messages ---- */

START_TEST(test_recall_budget_keeps_newest_messages)
{
    uint32_t block = 4 + fx_tok(strlen(INTRO)), budget = block + 2 * (4 + 10) + 3;
    fx_five_messages();
    ck_assert_int_eq(recall_p(MP_RECALL_BUFFER, budget), MP_OK);
    ck_assert_uint_eq(plan.npicks, 2);
    ck_assert_uint_eq(plan.picks[0].idx, 4);
    ck_assert_uint_eq(plan.picks[0].len, 40);
    ck_assert(!plan.picks[0].cut);
    ck_assert_uint_eq(plan.picks[1].idx, 3);
    ck_assert_uint_eq(plan.picks[1].len, 40);
    ck_assert(!plan.picks[1].cut);
    ck_assert(!plan.message_cut);
    ck_assert_uint_eq(plan.tokens, budget - 3);
}
END_TEST

/* Russian text costs its estimate by script (memblock.h), not bytes / 4:
 * the block and the buffered messages take more bytes than bytes / 4
 * would let in, and cost what mp_memblock_estimate_text says of their
 * text, within the budget. */
START_TEST(test_recall_cyrillic_fills_by_its_estimate)
{
    static const char *const values[] = {
        "Новосибирск, переехал туда три года назад ради работы",
        "логистика, руковожу складом на Толмачёвском шоссе",
        "дочь Алиса, ходит в музыкальную школу по вторникам",
        "аллергия на пенициллин, врач велел носить с собой карточку",
        "рыбалка на Оби летом, зимой подлёдная на водохранилище",
        "кот Барсик, рыжий, боится пылесоса и грозы",
    };
    char key[8];
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        snprintf(key, sizeof(key), "k%zu", i);
        fx_fact(key, values[i]);
    }
    fx_summary("Пользователь живёт в Новосибирске, работает в логистике и растит дочь.");
    fx_message(MP_ROLE_USER, "Напомни, во сколько у Алисы сольфеджио в четверг?");
    fx_message(MP_ROLE_USER, "Купил новые зимние шины, менял в сервисе на Гоголя.");
    uint32_t budget = 4 + fx_tok(strlen(INTRO)) + 200;
    ck_assert_int_eq(recall_p(ALL, budget), MP_OK);
    char *block = block_of_plan();
    size_t len = strlen(block), bytes = len;
    ck_assert_uint_eq(plan.block_len, len);
    ck_assert_uint_eq(plan.block_saved, mp_memblock_script_saving(block, len));
    uint32_t tokens = 4 + mp_memblock_estimate_text(block, len);
    for (size_t i = 0; i < plan.npicks; i++) {
        const struct mp_mem_message *m = &fx_um.messages[plan.picks[i].idx];
        char text[256]; /* what goes in: the kept bytes, the ellipsis when cut */
        size_t n = plan.picks[i].len;
        ck_assert_uint_lt(n + MP_MEMBLOCK_ELLIPSIS_LEN, sizeof(text));
        memcpy(text, m->content, n);
        if (plan.picks[i].cut) {
            memcpy(text + n, MP_MEMBLOCK_ELLIPSIS, MP_MEMBLOCK_ELLIPSIS_LEN);
            n += MP_MEMBLOCK_ELLIPSIS_LEN;
        }
        tokens += 4 + mp_memblock_estimate_text(text, n);
        bytes += n;
    }
    ck_assert_uint_eq(plan.tokens, tokens);
    ck_assert_uint_le(plan.tokens, budget);
    ck_assert_uint_gt(bytes, (size_t)(budget - 4 * (1 + plan.npicks)) * 4); /* past bytes / 4 */
    ck_assert_uint_gt(plan.nfacts, 0);
    ck_assert_uint_gt(plan.npicks, 0);
    free(block);
}
END_TEST

START_TEST(test_recall_budget_cuts_oldest_kept_message_at_utf8_boundary)
{
    /* 10 tokens left for message three: 4 for the message, 24 bytes of
     * text: 21 + the ellipsis. Byte 21 is inside the 'é' at 20..21, so the
     * cut falls before it, at 20; then nothing older is looked at. */
    uint32_t block = 4 + fx_tok(strlen(INTRO)), budget = block + 2 * (4 + 10) + 10;
    fx_five_messages();
    ck_assert_int_eq(recall_p(MP_RECALL_BUFFER, budget), MP_OK);
    ck_assert_uint_eq(plan.npicks, 3);
    ck_assert_uint_eq(plan.picks[2].idx, 2);
    ck_assert_uint_eq(plan.picks[2].len, 20);
    ck_assert(plan.picks[2].cut);
    ck_assert(plan.message_cut);
    ck_assert_uint_eq(plan.tokens, block + 2 * 14 + 4 + fx_tok(20 + 3));
    /* 5 tokens left: 4 bytes of text would fit, under the 16 worth a cut */
    ck_assert_int_eq(recall_p(MP_RECALL_BUFFER, block + 2 * 14 + 5), MP_OK);
    ck_assert_uint_eq(plan.npicks, 2);
    ck_assert(!plan.message_cut);
}
END_TEST

/* The request of the dedupe tests: these (role, text) pairs. */
static const struct {
    enum mp_role role;
    const char *text;
} held[] = {{MP_ROLE_USER, "hello there"}, {MP_ROLE_ASSISTANT, "General Kenobi!"}};

static bool on_seen(void *ctx, const struct mp_mem_message *m)
{
    size_t *calls = ctx;
    (*calls)++;
    for (size_t i = 0; i < sizeof(held) / sizeof(held[0]); i++) {
        if (held[i].role == m->role && strlen(held[i].text) == m->content_len &&
            memcmp(held[i].text, m->content, m->content_len) == 0)
            return true;
    }
    return false;
}

START_TEST(test_recall_skips_messages_the_request_holds)
{
    size_t calls = 0;
    struct mp_recall_request rq = {.seen = on_seen, .seen_ctx = &calls, .now_ms = MAY1};
    fx_message(MP_ROLE_USER, "hello there");
    fx_message(MP_ROLE_ASSISTANT, "General Kenobi");
    fx_message(MP_ROLE_ASSISTANT, "hello there"); /* same text, other role: kept */
    fx_message(MP_ROLE_ASSISTANT, "General Kenobi!");
    ck_assert_int_eq(recall_rq(MP_RECALL_BUFFER, 1500, &rq), MP_OK);
    ck_assert_uint_eq(calls, 4);
    ck_assert_uint_eq(plan.ndeduplicated, 2);
    ck_assert_uint_eq(plan.npicks, 2);
    ck_assert_uint_eq(plan.picks[0].idx, 2);
    ck_assert_uint_eq(plan.picks[1].idx, 1);
    /* no callback: nothing is deduplicated */
    rq.seen = NULL;
    ck_assert_int_eq(recall_rq(MP_RECALL_BUFFER, 1500, &rq), MP_OK);
    ck_assert_uint_eq(plan.ndeduplicated, 0);
    ck_assert_uint_eq(plan.npicks, 4);
}
END_TEST

START_TEST(test_recall_nothing_when_all_messages_held)
{
    size_t calls = 0;
    struct mp_recall_request rq = {.seen = on_seen, .seen_ctx = &calls};
    struct mp_recall_params p = {.sections = MP_RECALL_BUFFER, .budget_tokens = 1500};
    struct mp_recall_plan untouched = {.tokens = 77};
    fx_message(MP_ROLE_USER, "hello there");
    fx_message(MP_ROLE_ASSISTANT, "General Kenobi!");
    ck_assert_int_eq(mp_recall_recent(&fx_um, NULL, &p, &rq, &untouched), MP_NOTFOUND);
    ck_assert_uint_eq(untouched.tokens, 77);
    ck_assert_ptr_null(untouched.picks);
    ck_assert_uint_eq(calls, 2);
}
END_TEST

/* ---- nothing ---- */

START_TEST(test_recall_nothing_when_budget_tiny)
{
    struct mp_recall_params p = {.sections = ALL};
    struct mp_recall_plan untouched = {.tokens = 77};
    fx_full_memory();
    p.budget_tokens = 10;
    ck_assert_int_eq(mp_recall_recent(&fx_um, NULL, &p, NULL, &untouched), MP_NOTFOUND);
    p.budget_tokens = 0;
    ck_assert_int_eq(mp_recall_recent(&fx_um, NULL, &p, NULL, &untouched), MP_NOTFOUND);
    /* the intro fits, but no item does */
    p.budget_tokens = 4 + fx_tok(strlen(INTRO) + 8);
    ck_assert_int_eq(mp_recall_recent(&fx_um, NULL, &p, NULL, &untouched), MP_NOTFOUND);
    ck_assert_uint_eq(untouched.tokens, 77);
    ck_assert_ptr_null(untouched.facts);
    /* the intro alone is the least budget that can carry anything */
    ck_assert_int_eq(recall_p(ALL, 4 + fx_tok(strlen(INTRO)) - 1), MP_NOTFOUND);
}
END_TEST

START_TEST(test_recall_nothing_when_memory_empty_or_no_sections)
{
    struct mp_recall_params p = {.sections = ALL, .budget_tokens = 1500};
    ck_assert_int_eq(mp_recall_recent(NULL, NULL, &p, NULL, &plan), MP_NOTFOUND);
    ck_assert_int_eq(recall_p(ALL, 1500), MP_NOTFOUND);
    fx_full_memory();
    ck_assert_int_eq(recall_p(0, 1500), MP_NOTFOUND);
    fx_teardown();
    fx_setup();
    fx_message(MP_ROLE_USER, "only a message");
    ck_assert_int_eq(recall_p(MP_RECALL_PROFILE | MP_RECALL_SUMMARY, 1500), MP_NOTFOUND);
    ck_assert_ptr_null(plan.facts);
}
END_TEST

/* ---- facts from a source ---- */

static void source_setup(void)
{
    fs_setup();
    memset(&plan, 0, sizeof(plan));
    inject_pii = false;
}

static void source_teardown(void)
{
    mp_recall_plan_cleanup(&plan);
    fs_teardown();
}

/* Facts of every trust class, confidence (NaN too), age and size. */
static void mixed_facts(void)
{
    char key[16], value[200];
    for (int i = 0; i < 60; i++) {
        snprintf(key, sizeof(key), "k%02d", (i * 37) % 60);
        memset(value, 'a' + i % 26, sizeof(value));
        fx_fact_n(key, value, (size_t)(1 + (i * 53) % 180), (enum mp_trust)(i % 4),
                  i % 7 == 0 ? NAN : (i % 5) / 4.0, MAY1 - (i % 3) * DAY)
            ->pii = i % 11 == 0;
    }
}

START_TEST(test_recall_recent_with_source_equals_recent_with_memory)
{
    struct mp_recall_plan from_source;
    mixed_facts();
    fx_summary("Ada builds a RAG app.");
    fx_message(MP_ROLE_USER, "I use ChromaDB.");
    fs_build();
    for (int pii = 0; pii < 2; pii++) {
        struct mp_recall_params p = {.sections = ALL, .inject_pii = pii};
        for (uint32_t budget = 0; budget <= 3000; budget += 7) {
            p.budget_tokens = budget;
            mp_recall_plan_cleanup(&plan);
            memset(&from_source, 0, sizeof(from_source));
            int rc = mp_recall_recent(&fx_um, NULL, &p, NULL, &plan);
            ck_assert_int_eq(mp_recall_recent(&fs_head, &fs_src, &p, NULL, &from_source), rc);
            if (rc != MP_OK)
                continue;
            ck_assert_uint_eq(from_source.nfacts, plan.nfacts);
            /* the same facts, each borrowed where it lives: no copies */
            for (size_t i = 0; i < plan.nfacts; i++)
                ck_assert_ptr_eq(from_source.facts[i], plan.facts[i]);
            ck_assert_uint_eq(from_source.block_len, plan.block_len);
            ck_assert_uint_eq(from_source.summary_len, plan.summary_len);
            ck_assert_uint_eq(from_source.npicks, plan.npicks);
            ck_assert_uint_eq(from_source.tokens, plan.tokens);
            mp_recall_plan_cleanup(&from_source);
        }
    }
}
END_TEST

START_TEST(test_recall_recent_source_walk_stops_when_no_fact_fits)
{
    /* 60 facts of 9 bytes after the first (" | k00: v", no date, the day
     * written once): the walk stops at the first fact it is offered with
     * less than 7 bytes left */
    char key[8];
    struct mp_recall_params p = {.sections = MP_RECALL_PROFILE};
    size_t room = 0, taken = 0;
    for (int i = 0; i < 60; i++) {
        snprintf(key, sizeof(key), "k%02d", i);
        fx_fact_n(key, "v", 1, MP_TRUST_STATED, 0.9, 0);
    }
    fs_build();
    for (p.budget_tokens = 100;; p.budget_tokens++) {
        room = mp_memblock_message_room(p.budget_tokens) - MP_MEMBLOCK_INTRO_LEN;
        taken = 1 + (room - strlen("\n[User profile]: (no date) k00: v")) / 9;
        if (room - strlen("\n[User profile]: (no date) k00: v") - 9 * (taken - 1) <
            MP_MEMBLOCK_FACT_MIN)
            break;
    }
    ck_assert_uint_lt(taken, 59);
    ck_assert_int_eq(mp_recall_recent(&fs_head, &fs_src, &p, NULL, &plan), MP_OK);
    ck_assert_uint_eq(plan.nfacts, taken);
    ck_assert_uint_eq(fs_calls.ranked_walks, 1);
    ck_assert_uint_eq(fs_calls.ranked_facts, taken + 1);
}
END_TEST

START_TEST(test_recall_recent_source_error_passed_on)
{
    struct mp_recall_params p = {.sections = ALL, .budget_tokens = 1500};
    struct mp_recall_plan untouched = {.tokens = 77};
    fx_full_memory();
    fs_build();
    fs_calls.fail_ranked = MP_EIO;
    ck_assert_int_eq(mp_recall_recent(&fs_head, &fs_src, &p, NULL, &untouched), MP_EIO);
    ck_assert_uint_eq(untouched.tokens, 77);
}
END_TEST

/* The question window: from a word's start in English (as always), from a
 * Han or Kana character in Chinese and Japanese, which put no spaces. */
START_TEST(test_recall_question_tail_starts_at_a_word_of_its_script)
{
    char text[1024];
    size_t len;
    /* English: past the cut to the next word's start */
    memset(text, 0, sizeof(text));
    for (int i = 0; i < 100; i++)
        strcat(text, "word ");
    len = strlen(text) - 2; /* "... word wor" */
    const char *t = mp_recall_question_tail(text, &len, 32);
    ck_assert_uint_le(len, 32);
    ck_assert_int_eq(strncmp(t, "word ", 5), 0);
    ck_assert(t[-1] == ' ');
    /* Chinese with one space near the end: the window still holds the
     * last 320 bytes' characters, not only what follows the space */
    memset(text, 0, sizeof(text));
    for (int i = 0; i < 200; i++)
        strcat(text, "\xE6\x88\x91"); /* 我 */
    strcat(text, " ok");
    len = strlen(text);
    t = mp_recall_question_tail(text, &len, 320);
    ck_assert_uint_ge(len, 318);
    ck_assert_uint_le(len, 320);
    ck_assert_int_eq((unsigned char)t[0], 0xE6); /* at a character */
    /* one long word of another script: its last bytes at a UTF-8 start */
    memset(text, 0, sizeof(text));
    for (int i = 0; i < 200; i++)
        strcat(text, "\xD0\xB4"); /* д */
    len = strlen(text);
    t = mp_recall_question_tail(text, &len, 33);
    ck_assert_uint_eq(len, 32);
    ck_assert_int_eq((unsigned char)t[0], 0xD0);
    /* a short text whole */
    static const char hello[] = "hello";
    len = 5;
    ck_assert_ptr_eq(mp_recall_question_tail(hello, &len, 320), hello);
    ck_assert_uint_eq(len, 5);
}
END_TEST

/* ---- buffered turns in the notes, offered again ---- */

static unsigned notes_asked[FX_MAX_MESSAGES]; /* seen calls per message, by seq */

static bool count_seen(void *ctx, const struct mp_mem_message *m)
{
    (void)ctx;
    notes_asked[m->seq]++;
    return false;
}

/* Six buffered messages, three turns (a user message and its reply), each
 * turn a day apart and of its own length, with bytes the block sanitizes
 * ('<', '[', a control, ill-formed UTF-8) and Cyrillic letters. */
static void notes_turns(void)
{
    static const char *const texts[] = {
        "Где мой <паспорт>? [drawer]",
        "In the [top] drawer\x01 of the <desk>.",
        "plain words only, nothing special",
        "\xff\xfe broken bytes then words",
        "short",
        "a reply that is a little longer than the question before it"};
    for (size_t k = 0; k < 6; k++) {
        fx_message(k % 2 == 0 ? MP_ROLE_USER : MP_ROLE_ASSISTANT, texts[k]);
        fx_mems[k].seq = k + 1;
        fx_mems[k].at_ms = MAY1 + (int64_t)(k / 2) * DAY;
        snprintf(fx_mems[k].request_id, sizeof(fx_mems[k].request_id), "r-%zu", k / 2);
    }
}

/* A notes fill of fx_um: the buffer's cap at first, then at last (the
 * second call offered again what the first left), into *out. */
static int notes_fill(uint32_t first, uint32_t last, const struct mp_recall_request *rq,
                      struct mp_recall_plan *out)
{
    struct mp_recall_params p = {
        .sections = MP_RECALL_BUFFER, .budget_tokens = 100000, .buffer_in_notes = true};
    struct mp_recall_fill f;
    ck_assert_int_eq(mp_recall_fill_init(&f, &fx_um, &p, rq), MP_OK);
    f.buffer_cap = first;
    ck_assert_int_eq(mp_recall_fill_messages(&f), MP_OK);
    f.buffer_cap = last;
    ck_assert_int_eq(mp_recall_fill_messages(&f), MP_OK);
    return mp_recall_fill_finish(&f, out);
}

/* A turn that did not fit is offered again with more room: the fill ends
 * as one with the larger room from the start would have (the same
 * messages, texts written ahead and block), each message asked once
 * whether it is there already, the line borrowing um's messages. Every
 * first room from nothing to all, so that a turn stops at its user
 * message and at its reply. */
START_TEST(test_recall_notes_turn_offered_again_as_with_more_room)
{
    struct mp_recall_request rq = {.seen = count_seen};
    notes_turns();
    uint32_t all = 0;
    for (size_t k = 0; k < 6; k++)
        all += mp_memblock_estimate_tokens(
            mp_memblock_past_bytes(&fx_mems[k], k == 5, true, SIZE_MAX));
    for (uint32_t first = 0; first <= all; first++) {
        struct mp_recall_plan once;
        memset(notes_asked, 0, sizeof(notes_asked));
        ck_assert_int_eq(notes_fill(all, all, &rq, &once), MP_OK);
        memset(notes_asked, 0, sizeof(notes_asked));
        mp_recall_plan_cleanup(&plan);
        ck_assert_int_eq(notes_fill(first, all, &rq, &plan), MP_OK);
        for (size_t k = 1; k <= 6; k++)
            ck_assert_uint_eq(notes_asked[k], 1);
        ck_assert_uint_eq(plan.npast, 6);
        ck_assert_uint_eq(plan.npast, once.npast);
        ck_assert_uint_eq(plan.block_len, once.block_len);
        ck_assert_uint_eq(plan.block_saved, once.block_saved);
        ck_assert_uint_eq(plan.tokens, once.tokens);
        for (size_t i = 0; i < plan.npast; i++) {
            ck_assert_ptr_eq(plan.past[i], &fx_mems[i]); /* um's, oldest first */
            ck_assert_ptr_eq(once.past[i], &fx_mems[i]);
            ck_assert_uint_eq(plan.past_ahead[i].len, once.past_ahead[i].len);
            ck_assert_mem_eq(plan.past_ahead[i].text, once.past_ahead[i].text,
                             once.past_ahead[i].len);
        }
        char *a = block_of_plan(), *b = fs_render(&once, &fx_um.summary);
        ck_assert_str_eq(a, b);
        free(a);
        free(b);
        mp_recall_plan_cleanup(&once);
    }
}
END_TEST

/* A past line of more messages than are sorted in place (qsort) keeps
 * each buffered turn's text written ahead beside it, and the plan frees
 * its own copy of an archived message, never um's messages. */
START_TEST(test_recall_notes_many_turns_sorted_with_their_texts)
{
    enum { N = 100 };
    static struct mp_mem_message msgs[N];
    char texts[N][40];
    struct mp_usermem um = fx_um;
    struct mp_recall_params p = {
        .sections = MP_RECALL_BUFFER, .budget_tokens = 100000, .buffer_in_notes = true};
    struct mp_recall_fill f;
    for (size_t k = 0; k < N; k++) {
        size_t n = (size_t)snprintf(texts[k], sizeof(texts[k]), "message <%zu> of [many]", k);
        msgs[k] = (struct mp_mem_message){.role = k % 3 ? MP_ROLE_USER : MP_ROLE_ASSISTANT,
                                          .content = texts[k],
                                          .content_len = n,
                                          .seq = 1000 + k,
                                          .at_ms = MAY1 + (int64_t)((k * 37) % N) * DAY / 4};
    }
    um.messages = msgs;
    um.nmessages = N;
    ck_assert_int_eq(mp_recall_fill_init(&f, &um, &p, NULL), MP_OK);
    struct mp_mem_message *archived = malloc(sizeof(*archived));
    ck_assert_ptr_nonnull(archived);
    *archived = (struct mp_mem_message){.role = MP_ROLE_USER, .seq = 7, .at_ms = MAY1};
    archived->content = fx_dup("an archived message", strlen("an archived message"));
    archived->content_len = strlen(archived->content);
    ck_assert_int_eq(mp_recall_fill_past(&f, archived), 1); /* the plan owns it now */
    free(archived);                                         /* the struct, not its fields */
    ck_assert_int_eq(mp_recall_fill_messages(&f), MP_OK);
    ck_assert_int_eq(mp_recall_fill_finish(&f, &plan), MP_OK);
    ck_assert_uint_eq(plan.npast, N + 1);
    for (size_t i = 0; i < plan.npast; i++) {
        const struct mp_mem_message *m = plan.past[i];
        ck_assert(i == 0 || plan.past[i - 1]->at_ms < m->at_ms ||
                  (plan.past[i - 1]->at_ms == m->at_ms && plan.past[i - 1]->seq < m->seq));
        ck_assert((m->seq == 7) == (plan.past_ahead[i].text == NULL));
        ck_assert(m->seq == 7 || m == &msgs[m->seq - 1000]);
    }
    free(block_of_plan()); /* each text written ahead is what rendering writes */
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("recall");
    TCase *m = tcase_create("sections");
    tcase_add_checked_fixture(m, setup, teardown);
    tcase_add_test(m, test_recall_sections_for_modes);
    tcase_add_test(m, test_recall_hybrid_plan);
    tcase_add_test(m, test_recall_only_the_sections_asked_for);
    suite_add_tcase(s, m);

    TCase *f = tcase_create("facts");
    tcase_add_checked_fixture(f, setup, teardown);
    tcase_add_test(f, test_recall_facts_ordered_by_trust_confidence_recency);
    tcase_add_test(f, test_recall_nan_confidence_sorts_as_zero);
    tcase_add_test(f, test_recall_budget_keeps_highest_priority_facts);
    tcase_add_test(f, test_recall_pii_facts_only_when_allowed);
    tcase_add_test(f, test_recall_pii_summary_and_messages_only_when_allowed);
    tcase_add_test(f, test_recall_facts_without_key_or_value_skipped);
    tcase_add_test(f, test_recall_many_facts_sorted_like_few);
    tcase_add_test(f, test_recall_profile_line_day_by_day_in_the_order_taken);
    tcase_add_test(f, test_recall_huge_value_recalled_capped);
    tcase_add_test(f, test_recall_huge_value_skipped_when_over_budget);
    tcase_add_test(f, test_recall_cut_value_fits_by_its_cut_length);
    suite_add_tcase(s, f);

    TCase *b = tcase_create("budget");
    tcase_add_checked_fixture(b, setup, teardown);
    tcase_add_test(b, test_recall_summary_cut_at_utf8_boundary_emoji);
    tcase_add_test(b, test_recall_summary_cut_prefers_whole_words);
    tcase_add_test(b, test_recall_summary_skipped_when_its_header_does_not_fit);
    tcase_add_test(b, test_recall_budget_keeps_newest_messages);
    tcase_add_test(b, test_recall_budget_cuts_oldest_kept_message_at_utf8_boundary);
    tcase_add_test(b, test_recall_skips_messages_the_request_holds);
    tcase_add_test(b, test_recall_nothing_when_all_messages_held);
    tcase_add_test(b, test_recall_nothing_when_budget_tiny);
    tcase_add_test(b, test_recall_nothing_when_memory_empty_or_no_sections);
    suite_add_tcase(s, b);

    TCase *o = tcase_create("source");
    tcase_add_checked_fixture(o, source_setup, source_teardown);
    tcase_add_test(o, test_recall_recent_with_source_equals_recent_with_memory);
    tcase_add_test(o, test_recall_recent_source_walk_stops_when_no_fact_fits);
    tcase_add_test(o, test_recall_recent_source_error_passed_on);
    tcase_add_test(o, test_recall_question_tail_starts_at_a_word_of_its_script);
    tcase_add_test(o, test_recall_cyrillic_fills_by_its_estimate);
    tcase_add_test(o, test_recall_notes_turn_offered_again_as_with_more_room);
    tcase_add_test(o, test_recall_notes_many_turns_sorted_with_their_texts);
    suite_add_tcase(s, o);
    return s;
}
