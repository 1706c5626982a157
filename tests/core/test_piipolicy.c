/* Tests for core/piipolicy.c: [governance] pii_mode on one item. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "piipolicy.h"
#include "status.h"

Suite *mp_test_suite(void);

static const char with_email[] = "write to jane.doe@example.com today";
static const char plain[] = "prefers dark roast coffee";

struct result {
    int rc;
    char *out;
    size_t len;
    bool pii;
};

static struct result run(enum mp_pii_mode mode, enum mp_pii_item item, const char *text,
                         bool flagged)
{
    struct result r = {0, NULL, 0, false};
    r.rc = mp_piipolicy_apply(mode, item, text, strlen(text), flagged, &r.out, &r.len, &r.pii);
    return r;
}

START_TEST(test_piipolicy_store_keeps_text_and_flags_it)
{
    struct result r = run(MP_PII_STORE, MP_PII_ITEM_MESSAGE, with_email, false);
    ck_assert_int_eq(r.rc, MP_OK);
    ck_assert_str_eq(r.out, with_email);
    ck_assert_uint_eq(r.len, strlen(with_email));
    ck_assert(r.pii);
    free(r.out);
}
END_TEST

START_TEST(test_piipolicy_plain_text_is_never_flagged)
{
    for (int mode = MP_PII_STORE; mode <= MP_PII_DROP; mode++) {
        struct result r = run((enum mp_pii_mode)mode, MP_PII_ITEM_FACT, plain, false);
        ck_assert_int_eq(r.rc, MP_OK);
        ck_assert_str_eq(r.out, plain);
        ck_assert(!r.pii);
        free(r.out);
    }
}
END_TEST

START_TEST(test_piipolicy_store_honours_the_extractors_flag)
{
    struct result r = run(MP_PII_STORE, MP_PII_ITEM_FACT, "born in Lyon", true);
    ck_assert_int_eq(r.rc, MP_OK);
    ck_assert(r.pii);
    free(r.out);
}
END_TEST

START_TEST(test_piipolicy_redact_masks_the_span_and_unflags)
{
    struct result r = run(MP_PII_REDACT, MP_PII_ITEM_MESSAGE, with_email, false);
    ck_assert_int_eq(r.rc, MP_OK);
    ck_assert_str_eq(r.out, "write to [redacted] today");
    ck_assert_ptr_null(strstr(r.out, "jane"));
    ck_assert(!r.pii);
    free(r.out);
}
END_TEST

START_TEST(test_piipolicy_redact_drops_flagged_item_without_span)
{
    struct result r = run(MP_PII_REDACT, MP_PII_ITEM_FACT, "born in Lyon", true);
    ck_assert_int_eq(r.rc, MP_NOTFOUND);
    ck_assert_ptr_null(r.out);
}
END_TEST

START_TEST(test_piipolicy_drop_refuses_messages_and_facts)
{
    struct result r = run(MP_PII_DROP, MP_PII_ITEM_MESSAGE, with_email, false);
    ck_assert_int_eq(r.rc, MP_NOTFOUND);
    ck_assert_ptr_null(r.out);
    r = run(MP_PII_DROP, MP_PII_ITEM_FACT, "born in Lyon", true);
    ck_assert_int_eq(r.rc, MP_NOTFOUND);
}
END_TEST

START_TEST(test_piipolicy_drop_redacts_a_summary)
{
    struct result r = run(MP_PII_DROP, MP_PII_ITEM_SUMMARY, with_email, false);
    ck_assert_int_eq(r.rc, MP_OK);
    ck_assert_str_eq(r.out, "write to [redacted] today");
    ck_assert(!r.pii);
    free(r.out);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("piipolicy");
    TCase *tc = tcase_create("piipolicy");
    tcase_add_test(tc, test_piipolicy_store_keeps_text_and_flags_it);
    tcase_add_test(tc, test_piipolicy_plain_text_is_never_flagged);
    tcase_add_test(tc, test_piipolicy_store_honours_the_extractors_flag);
    tcase_add_test(tc, test_piipolicy_redact_masks_the_span_and_unflags);
    tcase_add_test(tc, test_piipolicy_redact_drops_flagged_item_without_span);
    tcase_add_test(tc, test_piipolicy_drop_refuses_messages_and_facts);
    tcase_add_test(tc, test_piipolicy_drop_redacts_a_summary);
    suite_add_tcase(s, tc);
    return s;
}
