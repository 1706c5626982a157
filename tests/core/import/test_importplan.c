/* core/import/importplan.c: an import's messages in time order, or turn
 * by turn with the newest turns sent to the memory model within the
 * bound. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "import/importplan.h"
#include "status.h"

Suite *mp_test_suite(void);

static struct mp_import_batch b;

static void add(enum mp_role role, const char *text, int64_t at, uint64_t conv)
{
    struct mp_import_item it = {.type = MP_IMPORT_MESSAGE, .role = role, .at_ms = at, .conv = conv};
    it.text = strdup(text);
    it.text_len = strlen(text);
    ck_assert_int_eq(mp_importitem_push(&b, &it), MP_OK);
}

static void teardown(void)
{
    mp_importitem_free(&b);
}

/* The texts of p's order joined by '|'. */
static const char *joined(const struct mp_importplan *p)
{
    static char out[512];
    out[0] = '\0';
    for (size_t i = 0; i < p->n; i++) {
        if (i > 0)
            strcat(out, "|");
        strcat(out, p->order[i]->text);
    }
    return out;
}

START_TEST(test_importplan_without_turns_time_order_file_order_at_ties)
{
    struct mp_importplan p;
    struct mp_importplan_limits lim = {.turns = false};
    add(MP_ROLE_ASSISTANT, "b2", 20, 2);
    add(MP_ROLE_USER, "a1", 10, 1);
    add(MP_ROLE_USER, "tie1", 30, 1);
    add(MP_ROLE_USER, "tie2", 30, 2);
    ck_assert_int_eq(mp_importplan_make(&b, &lim, &p), MP_OK);
    ck_assert_str_eq(joined(&p), "a1|b2|tie1|tie2");
    ck_assert_uint_eq(p.nturns, 0);
    ck_assert_uint_eq(p.extract_turns, 0);
    mp_importplan_free(&p);
}
END_TEST

START_TEST(test_importplan_turns_keep_their_messages_together)
{
    struct mp_importplan p;
    struct mp_importplan_limits lim = {.turns = true, .max_tokens = 1000000, .batch_turns = 2};
    /* two conversations interleaved in time */
    add(MP_ROLE_USER, "A-q1", 10, 1);
    add(MP_ROLE_USER, "B-q1", 11, 2);
    add(MP_ROLE_ASSISTANT, "A-r1", 12, 1);
    add(MP_ROLE_ASSISTANT, "B-r1", 13, 2);
    add(MP_ROLE_ASSISTANT, "B-r1b", 14, 2);
    add(MP_ROLE_USER, "A-q2", 15, 1);
    add(MP_ROLE_ASSISTANT, "C-orphan", 5, 3); /* no question before it */
    ck_assert_int_eq(mp_importplan_make(&b, &lim, &p), MP_OK);
    ck_assert_str_eq(joined(&p), "C-orphan|A-q1|A-r1|B-q1|B-r1|B-r1b|A-q2");
    ck_assert_uint_eq(p.nturns, 4);
    ck_assert(!p.turns[0].user && !p.turns[0].extract);
    ck_assert_uint_eq(p.turns[2].n, 3);
    ck_assert_uint_eq(p.extract_turns, 3);
    ck_assert_uint_eq(p.calls, 2);
    ck_assert_uint_eq(p.left_out, 0);
    mp_importplan_free(&p);
}
END_TEST

START_TEST(test_importplan_bound_sends_the_newest_turns_that_fit)
{
    struct mp_importplan p;
    /* each turn 100 bytes of ASCII: 25 tokens; a call's instructions 10 */
    char text[101];
    memset(text, 'x', 100);
    text[100] = '\0';
    for (int i = 0; i < 5; i++)
        add(MP_ROLE_USER, text, 100 * i, (uint64_t)i + 1);
    struct mp_importplan_limits lim = {
        .turns = true, .max_tokens = 25 * 3 + 10 * 2, .batch_turns = 2, .call_tokens = 10};
    ck_assert_int_eq(mp_importplan_make(&b, &lim, &p), MP_OK);
    ck_assert_uint_eq(p.nturns, 5);
    ck_assert_uint_eq(p.extract_turns, 3);
    ck_assert_uint_eq(p.left_out, 2);
    ck_assert_uint_eq(p.calls, 2);
    ck_assert_uint_eq(p.tokens, 25 * 3 + 10 * 2);
    ck_assert(!p.turns[0].extract && !p.turns[1].extract);
    ck_assert(p.turns[2].extract && p.turns[3].extract && p.turns[4].extract);
    mp_importplan_free(&p);
    lim.max_tokens = 0; /* none goes */
    ck_assert_int_eq(mp_importplan_make(&b, &lim, &p), MP_OK);
    ck_assert_uint_eq(p.extract_turns, 0);
    ck_assert_uint_eq(p.left_out, 5);
    ck_assert_uint_eq(p.calls, 0);
    mp_importplan_free(&p);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("importplan");
    TCase *tc = tcase_create("importplan");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, test_importplan_without_turns_time_order_file_order_at_ties);
    tcase_add_test(tc, test_importplan_turns_keep_their_messages_together);
    tcase_add_test(tc, test_importplan_bound_sends_the_newest_turns_that_fit);
    suite_add_tcase(s, tc);
    return s;
}
