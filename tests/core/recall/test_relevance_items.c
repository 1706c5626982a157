/* Tests for core/recall/relevance_items.c: each id read once through the view, gaps
 * remembered, errors passed on and not recorded, growth, the sort by id. */
#include <check.h>
#include <stdlib.h>

#include "recall/relevance_items.h"
#include "status.h"

Suite *mp_test_suite(void);

/* Ids divisible by 3 are items (session = id / 3); the others are gaps; id
 * 1000 fails with MP_EIO. calls[id % 4096] counts the reads. */
struct view {
    unsigned calls[4096];
};

static int v_item(void *ctx, uint32_t id, struct mp_relevance_item *out)
{
    struct view *v = ctx;
    v->calls[id % 4096]++;
    if (id == 1000)
        return MP_EIO;
    if (id % 3 != 0)
        return MP_NOTFOUND;
    *out = (struct mp_relevance_item){1, id / 3, 10, false};
    return MP_OK;
}

static struct mp_relevance_index index_of(struct view *v)
{
    struct mp_relevance_index ix = {v,    0,    1.0, NULL, NULL, NULL, v_item,
                                    NULL, NULL, 0,   0,    NULL, NULL, 0};
    return ix;
}

START_TEST(test_relevance_items_reads_each_id_once)
{
    struct view *v = calloc(1, sizeof(*v));
    struct mp_relevance_index ix = index_of(v);
    struct mp_relevance_items t;
    size_t a = 99, b = 99;
    mp_relevance_items_init(&t);
    ck_assert_int_eq(mp_relevance_items_get(&t, &ix, 9, &a), MP_OK);
    ck_assert_int_eq(mp_relevance_items_get(&t, &ix, 9, &b), MP_OK);
    ck_assert_uint_eq(a, b);
    ck_assert(t.rec[a].present);
    ck_assert_uint_eq(t.rec[a].id, 9);
    ck_assert_uint_eq(t.rec[a].f.session, 3);
    ck_assert_uint_eq(v->calls[9], 1);
    /* a gap is a record too, read once */
    ck_assert_int_eq(mp_relevance_items_get(&t, &ix, 10, &a), MP_OK);
    ck_assert_int_eq(mp_relevance_items_get(&t, &ix, 10, &b), MP_OK);
    ck_assert_uint_eq(a, b);
    ck_assert(!t.rec[a].present);
    ck_assert_uint_eq(v->calls[10], 1);
    ck_assert_uint_eq(t.n, 2);
    mp_relevance_items_cleanup(&t);
    mp_relevance_items_cleanup(&t); /* twice is fine */
    free(v);
}
END_TEST

START_TEST(test_relevance_items_error_is_passed_on_not_recorded)
{
    struct view *v = calloc(1, sizeof(*v));
    struct mp_relevance_index ix = index_of(v);
    struct mp_relevance_items t;
    size_t a = 99;
    mp_relevance_items_init(&t);
    ck_assert_int_eq(mp_relevance_items_get(&t, &ix, 1000, &a), MP_EIO);
    ck_assert_uint_eq(a, 99);
    ck_assert_uint_eq(t.n, 0);
    ck_assert_int_eq(mp_relevance_items_find(&t, 1000, &a), MP_NOTFOUND);
    ck_assert_int_eq(mp_relevance_items_get(&t, &ix, 1000, &a), MP_EIO);
    ck_assert_uint_eq(v->calls[1000], 2);
    mp_relevance_items_cleanup(&t);
    free(v);
}
END_TEST

START_TEST(test_relevance_items_grow_and_keep_every_id)
{
    /* strided ids (1024 apart: the same low bits) and ids near the top */
    struct view *v = calloc(1, sizeof(*v));
    struct mp_relevance_index ix = index_of(v);
    struct mp_relevance_items t;
    mp_relevance_items_init(&t);
    for (uint32_t k = 0; k < 3000; k++) {
        size_t a;
        uint32_t id = k % 2 == 0 ? 3 * 1024 * k : UINT32_MAX - k;
        ck_assert_int_eq(mp_relevance_items_get(&t, &ix, id, &a), MP_OK);
        ck_assert_uint_eq(a, k);
    }
    ck_assert_uint_eq(t.n, 3000);
    ck_assert_uint_ge(t.nslot, 2 * t.n);
    for (uint32_t k = 0; k < 3000; k++) {
        size_t a = 0;
        uint32_t id = k % 2 == 0 ? 3 * 1024 * k : UINT32_MAX - k;
        ck_assert_int_eq(mp_relevance_items_find(&t, id, &a), MP_OK);
        ck_assert_uint_eq(a, k);
        ck_assert_uint_eq(t.rec[a].id, id);
        ck_assert(t.rec[a].present == (id % 3 == 0));
    }
    ck_assert_int_eq(mp_relevance_items_find(&t, 1, &(size_t){0}), MP_NOTFOUND);
    mp_relevance_items_cleanup(&t);
    free(v);
}
END_TEST

START_TEST(test_relevance_items_sort_by_id)
{
    struct view *v = calloc(1, sizeof(*v));
    struct mp_relevance_index ix = index_of(v);
    struct mp_relevance_items t;
    mp_relevance_items_init(&t);
    /* ids that differ in every byte, in a scrambled order */
    for (uint32_t k = 0; k < 500; k++) {
        size_t a;
        uint32_t id = (k * 2654435761u) ^ (k << 7);
        ck_assert_int_eq(mp_relevance_items_get(&t, &ix, id, &a), MP_OK);
    }
    size_t idx[500], tmp[500];
    for (size_t k = 0; k < t.n; k++)
        idx[k] = t.n - 1 - k;
    mp_relevance_items_sort(&t, idx, t.n, tmp);
    bool seen[500] = {false};
    for (size_t k = 0; k < t.n; k++) {
        ck_assert(!seen[idx[k]]);
        seen[idx[k]] = true;
        if (k > 0)
            ck_assert_uint_lt(t.rec[idx[k - 1]].id, t.rec[idx[k]].id);
    }
    mp_relevance_items_sort(&t, idx, 0, tmp); /* nothing to sort */
    mp_relevance_items_cleanup(&t);
    free(v);
}
END_TEST

/* Checks that idx[0..n) holds each of 0..n-1 once, by id ascending. */
static void assert_sorted(const struct mp_relevance_items *t, const size_t *idx, size_t n)
{
    bool *seen = calloc(n, sizeof(*seen));
    for (size_t k = 0; k < n; k++) {
        ck_assert_uint_lt(idx[k], n);
        ck_assert(!seen[idx[k]]);
        seen[idx[k]] = true;
        if (k > 0)
            ck_assert_uint_lt(t->rec[idx[k - 1]].id, t->rec[idx[k]].id);
    }
    free(seen);
}

/* Tables filled mostly in id order: 1 to 17 ascending runs of unequal
 * lengths, interleaved (17: past the merge, the radix sort). */
START_TEST(test_relevance_items_sort_runs)
{
    struct view *v = calloc(1, sizeof(*v));
    struct mp_relevance_index ix = index_of(v);
    for (size_t runs = 1; runs <= 17; runs++) {
        struct mp_relevance_items t;
        size_t n = 0, idx[600], tmp[600];
        mp_relevance_items_init(&t);
        for (size_t r = 0; r < runs; r++) /* run r: ids r, r + runs, r + 2 runs, ... */
            for (uint32_t id = (uint32_t)r; id < 600 && n < 600; id += (uint32_t)(runs * 3))
                ck_assert_int_eq(mp_relevance_items_get(&t, &ix, id, &idx[n++]), MP_OK);
        ck_assert_uint_eq(t.n, n);
        mp_relevance_items_sort(&t, idx, n, tmp);
        assert_sorted(&t, idx, n);
        mp_relevance_items_cleanup(&t);
    }
    free(v);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("relevance_items");
    TCase *tc = tcase_create("relevance_items");
    tcase_add_test(tc, test_relevance_items_reads_each_id_once);
    tcase_add_test(tc, test_relevance_items_error_is_passed_on_not_recorded);
    tcase_add_test(tc, test_relevance_items_grow_and_keep_every_id);
    tcase_add_test(tc, test_relevance_items_sort_by_id);
    tcase_add_test(tc, test_relevance_items_sort_runs);
    suite_add_tcase(s, tc);
    return s;
}
