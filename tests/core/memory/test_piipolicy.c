/* Tests for core/memory/piipolicy.c: [governance] pii_mode on one item. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "memory/piipolicy.h"
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

/* A value in a buffer of cap bytes, as the correction paths hold it. */
static int in_place(enum mp_pii_mode mode, const char *text, char *buf, size_t cap, size_t *len,
                    bool *pii)
{
    *len = strlen(text);
    memcpy(buf, text, *len + 1);
    return mp_piipolicy_apply_in_place(mode, buf, len, cap, pii);
}

START_TEST(test_piipolicy_in_place_store_flags_and_keeps)
{
    char buf[128];
    size_t len = 0;
    bool pii = false;
    ck_assert_int_eq(in_place(MP_PII_STORE, with_email, buf, sizeof(buf), &len, &pii), MP_OK);
    ck_assert_str_eq(buf, with_email);
    ck_assert_uint_eq(len, strlen(with_email));
    ck_assert(pii);
    ck_assert_int_eq(in_place(MP_PII_STORE, plain, buf, sizeof(buf), &len, &pii), MP_OK);
    ck_assert(!pii);
}
END_TEST

START_TEST(test_piipolicy_in_place_redact_masks)
{
    char buf[128];
    size_t len = 0;
    bool pii = true;
    ck_assert_int_eq(in_place(MP_PII_REDACT, with_email, buf, sizeof(buf), &len, &pii), MP_OK);
    ck_assert_str_eq(buf, "write to [redacted] today");
    ck_assert_uint_eq(len, strlen(buf));
    ck_assert(!pii);
}
END_TEST

START_TEST(test_piipolicy_in_place_drop_refuses_and_leaves_the_value)
{
    char buf[128];
    size_t len = 0;
    bool pii = false;
    ck_assert_int_eq(in_place(MP_PII_DROP, with_email, buf, sizeof(buf), &len, &pii), MP_NOTFOUND);
    ck_assert_str_eq(buf, with_email);
    ck_assert_uint_eq(len, strlen(with_email));
    ck_assert_int_eq(in_place(MP_PII_DROP, plain, buf, sizeof(buf), &len, &pii), MP_OK);
    ck_assert_str_eq(buf, plain);
}
END_TEST

/* "a@b.co x" (8 bytes) masks to "[redacted] x" (12): no room in 12 bytes. */
START_TEST(test_piipolicy_in_place_mask_that_outgrows_the_buffer_is_etoobig)
{
    char buf[12];
    size_t len = 0;
    bool pii = true;
    ck_assert_int_eq(in_place(MP_PII_REDACT, "a@b.co x", buf, sizeof(buf), &len, &pii), MP_ETOOBIG);
    ck_assert_str_eq(buf, "a@b.co x");
    ck_assert_uint_eq(len, 8);
    ck_assert(pii);
}
END_TEST

START_TEST(test_piipolicy_correction_sets_provenance)
{
    struct mp_mem_entity e;
    char value[64] = "jane.doe@example.com";
    memset(&e, 0, sizeof(e));
    ck_assert_int_eq(mp_piipolicy_correction(MP_PII_STORE, &e, value, strlen(value), sizeof(value),
                                             MP_TRUST_ADMIN, "req_42", 1000),
                     MP_OK);
    ck_assert_ptr_eq(e.value, value);
    ck_assert_uint_eq(e.value_len, strlen(value));
    ck_assert(e.pii);
    ck_assert_int_eq(e.trust, MP_TRUST_ADMIN);
    ck_assert_int_eq(e.source_role, MP_ROLE_USER);
    ck_assert_str_eq(e.request_id, "req_42");
    ck_assert_str_eq(e.model, "");
    ck_assert_int_eq(e.observed_at_ms, 1000);
    ck_assert_int_eq(e.recorded_at_ms, 1000);
    ck_assert(e.confidence == 1.0);
}
END_TEST

START_TEST(test_piipolicy_refused_correction_leaves_the_entity)
{
    struct mp_mem_entity e;
    char value[64] = "jane.doe@example.com";
    memset(&e, 0, sizeof(e));
    ck_assert_int_eq(mp_piipolicy_correction(MP_PII_DROP, &e, value, strlen(value), sizeof(value),
                                             MP_TRUST_CORRECTED, "req_1", 5),
                     MP_NOTFOUND);
    ck_assert_ptr_null(e.value);
    ck_assert_str_eq(e.request_id, "");
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
    tcase_add_test(tc, test_piipolicy_in_place_store_flags_and_keeps);
    tcase_add_test(tc, test_piipolicy_in_place_redact_masks);
    tcase_add_test(tc, test_piipolicy_in_place_drop_refuses_and_leaves_the_value);
    tcase_add_test(tc, test_piipolicy_in_place_mask_that_outgrows_the_buffer_is_etoobig);
    tcase_add_test(tc, test_piipolicy_correction_sets_provenance);
    tcase_add_test(tc, test_piipolicy_refused_correction_leaves_the_entity);
    suite_add_tcase(s, tc);
    return s;
}
