/* core/embed/embed_answer.c: every verdict an embeddings answer can get,
 * and that a good answer comes out in input order, unit length, with its
 * model and token count. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embed/embed_answer.h"
#include "embed/embed_request.h"

Suite *mp_test_suite(void);

#define CAP (1u << 20)

/* The verdict of body for n vectors of dims; the answer must stay
 * untouched unless the verdict is OK. */
static enum mp_embed_verdict verdict(const char *body, size_t n, unsigned dims)
{
    float vecs[64];
    struct mp_embed_answer ans;
    memset(&ans, 0x5a, sizeof(ans));
    enum mp_embed_verdict v = mp_embed_answer_parse(body, strlen(body), CAP, n, dims, vecs, &ans);
    if (v != MP_EMBED_OK)
        ck_assert_uint_eq((unsigned char)ans.model[0], 0x5a);
    return v;
}

/* One data element: {"object":"embedding","index":I,"embedding":[V]}. */
#define ITEM(i, v) "{\"object\":\"embedding\",\"index\":" i ",\"embedding\":[" v "]}"
#define BODY(items)                                                                                \
    "{\"object\":\"list\",\"data\":[" items "],\"model\":\"e5-small\","                            \
    "\"usage\":{\"prompt_tokens\":12,\"total_tokens\":12}}"

START_TEST(test_embed_answer_ok_ordered_by_index_and_unit)
{
    const char *body = BODY(ITEM("1", "0, 3, 0, 4") "," ITEM("0", "2.0e0, 0, 0, 0"));
    float v[8];
    struct mp_embed_answer ans;
    ck_assert_int_eq(mp_embed_answer_parse(body, strlen(body), CAP, 2, 4, v, &ans), MP_EMBED_OK);
    ck_assert_float_eq(v[0], 1.0f);
    ck_assert_float_eq(v[1], 0.0f);
    ck_assert_float_eq_tol(v[5], 0.6f, 1e-7f);
    ck_assert_float_eq_tol(v[7], 0.8f, 1e-7f);
    ck_assert_str_eq(ans.model, "e5-small");
    ck_assert_uint_eq(ans.model_len, 8);
    ck_assert(ans.has_tokens);
    ck_assert_uint_eq(ans.prompt_tokens, 12);
}
END_TEST

START_TEST(test_embed_answer_ok_without_index_model_or_usage)
{
    const char *body = "  {\"data\":[{\"embedding\":[1,0]},{\"embedding\":[-1e-999,-0.5]}]}\n";
    float v[4];
    struct mp_embed_answer ans;
    ck_assert_int_eq(mp_embed_answer_parse(body, strlen(body), CAP, 2, 2, v, &ans), MP_EMBED_OK);
    ck_assert_float_eq(v[0], 1.0f);
    ck_assert_float_eq(v[3], -1.0f);
    ck_assert_str_eq(ans.model, "");
    ck_assert(!ans.has_tokens);
    ck_assert_uint_eq(ans.prompt_tokens, 0);
}
END_TEST

START_TEST(test_embed_answer_unsound_usage_is_ignored)
{
    const char *bodies[] = {"{\"data\":[{\"embedding\":[1]}],\"usage\":{\"prompt_tokens\":-1}}",
                            "{\"data\":[{\"embedding\":[1]}],\"usage\":{\"prompt_tokens\":1.5}}",
                            "{\"data\":[{\"embedding\":[1]}],\"usage\":[]}"};
    for (size_t i = 0; i < 3; i++) {
        float v[1];
        struct mp_embed_answer ans;
        ck_assert_int_eq(mp_embed_answer_parse(bodies[i], strlen(bodies[i]), CAP, 1, 1, v, &ans),
                         MP_EMBED_OK);
        ck_assert(!ans.has_tokens);
    }
}
END_TEST

START_TEST(test_embed_answer_wrong_dimensions)
{
    ck_assert_int_eq(verdict(BODY(ITEM("0", "1, 2, 3")), 1, 4), MP_EMBED_DIMS);
    ck_assert_int_eq(verdict(BODY(ITEM("0", "1, 2, 3, 4, 5")), 1, 4), MP_EMBED_DIMS);
    ck_assert_int_eq(verdict(BODY(ITEM("0", "")), 1, 4), MP_EMBED_DIMS);
    ck_assert_int_eq(verdict(BODY(ITEM("0", "1,2,3,4") "," ITEM("1", "1,2,3")), 2, 4),
                     MP_EMBED_DIMS);
}
END_TEST

START_TEST(test_embed_answer_nan_and_infinity)
{
    ck_assert_int_eq(verdict(BODY(ITEM("0", "1, NaN")), 1, 2), MP_EMBED_NONFINITE);
    ck_assert_int_eq(verdict(BODY(ITEM("0", "Infinity, 1")), 1, 2), MP_EMBED_NONFINITE);
    ck_assert_int_eq(verdict(BODY(ITEM("0", "1, -Infinity")), 1, 2), MP_EMBED_NONFINITE);
    /* the same words inside strings are no number: the body is just not JSON */
    ck_assert_int_eq(verdict("{\"model\":\"NaN Infinity \\\" NaN\",\"data\":[", 1, 2),
                     MP_EMBED_NOT_JSON);
}
END_TEST

START_TEST(test_embed_answer_overflow_past_float)
{
    ck_assert_int_eq(verdict(BODY(ITEM("0", "1e999, 1")), 1, 2), MP_EMBED_NONFINITE);
    ck_assert_int_eq(verdict(BODY(ITEM("0", "1, -1e999")), 1, 2), MP_EMBED_NONFINITE);
    ck_assert_int_eq(verdict(BODY(ITEM("0", "1e39, 1")), 1, 2), MP_EMBED_NONFINITE);
    ck_assert_int_eq(verdict(BODY(ITEM("0", "3e38, 1")), 1, 2), MP_EMBED_OK);
}
END_TEST

START_TEST(test_embed_answer_fewer_or_more_vectors)
{
    ck_assert_int_eq(verdict(BODY(ITEM("0", "1, 0")), 2, 2), MP_EMBED_COUNT);
    ck_assert_int_eq(verdict(BODY(""), 1, 2), MP_EMBED_COUNT);
    ck_assert_int_eq(verdict(BODY(ITEM("0", "1, 0") "," ITEM("1", "1, 0")), 1, 2), MP_EMBED_COUNT);
}
END_TEST

START_TEST(test_embed_answer_duplicate_index)
{
    ck_assert_int_eq(verdict(BODY(ITEM("1", "1, 0") "," ITEM("1", "0, 1")), 2, 2),
                     MP_EMBED_DUP_INDEX);
    /* a missing index is the position, which may collide with a given one */
    ck_assert_int_eq(verdict(BODY(ITEM("1", "1, 0") ",{\"embedding\":[0, 1]}"), 2, 2),
                     MP_EMBED_DUP_INDEX);
}
END_TEST

START_TEST(test_embed_answer_index_out_of_range)
{
    ck_assert_int_eq(verdict(BODY(ITEM("0", "1, 0") "," ITEM("2", "0, 1")), 2, 2),
                     MP_EMBED_BAD_INDEX);
    ck_assert_int_eq(verdict(BODY(ITEM("-1", "1, 0")), 1, 2), MP_EMBED_BAD_INDEX);
    ck_assert_int_eq(verdict(BODY(ITEM("0.0", "1, 0")), 1, 2), MP_EMBED_BAD_INDEX);
    ck_assert_int_eq(verdict(BODY(ITEM("\"0\"", "1, 0")), 1, 2), MP_EMBED_BAD_INDEX);
    ck_assert_int_eq(verdict(BODY(ITEM("99999999999999999999", "1, 0")), 1, 2), MP_EMBED_BAD_INDEX);
}
END_TEST

START_TEST(test_embed_answer_body_over_the_cap)
{
    const char *body = BODY(ITEM("0", "1, 0"));
    float v[2];
    struct mp_embed_answer ans;
    size_t len = strlen(body);
    ck_assert_int_eq(mp_embed_answer_parse(body, len, len - 1, 1, 2, v, &ans), MP_EMBED_TOO_BIG);
    ck_assert_int_eq(mp_embed_answer_parse(body, len, len, 1, 2, v, &ans), MP_EMBED_OK);
    /* the cap is judged before a byte is read: a body of 1 MiB + 1 */
    ck_assert_int_eq(mp_embed_answer_parse(NULL, CAP + 1, CAP, 1, 2, v, &ans), MP_EMBED_TOO_BIG);
}
END_TEST

START_TEST(test_embed_answer_not_json)
{
    ck_assert_int_eq(verdict("<html>502 Bad Gateway</html>", 1, 2), MP_EMBED_NOT_JSON);
    ck_assert_int_eq(verdict("", 1, 2), MP_EMBED_NOT_JSON);
    ck_assert_int_eq(verdict("[{\"embedding\":[1,0]}]", 1, 2), MP_EMBED_NOT_JSON);
    ck_assert_int_eq(verdict("{\"data\":[{\"embedding\":[1,0]}]", 1, 2), MP_EMBED_NOT_JSON);
    ck_assert_int_eq(verdict("{\"data\":[{\"embedding\":[1,0]}]} x", 1, 2), MP_EMBED_NOT_JSON);
    float v[2];
    struct mp_embed_answer ans;
    ck_assert_int_eq(mp_embed_answer_parse(NULL, 0, CAP, 1, 2, v, &ans), MP_EMBED_NOT_JSON);
}
END_TEST

START_TEST(test_embed_answer_missing_data)
{
    ck_assert_int_eq(verdict("{\"model\":\"m\"}", 1, 2), MP_EMBED_NO_DATA);
    ck_assert_int_eq(verdict("{\"data\":{\"embedding\":[1,0]}}", 1, 2), MP_EMBED_NO_DATA);
    ck_assert_int_eq(
        verdict("{\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\"}}", 1, 2),
        MP_EMBED_NO_DATA);
}
END_TEST

START_TEST(test_embed_answer_bad_items)
{
    ck_assert_int_eq(verdict(BODY("[1, 0]"), 1, 2), MP_EMBED_BAD_ITEM);
    ck_assert_int_eq(verdict(BODY("{\"index\":0}"), 1, 2), MP_EMBED_BAD_ITEM);
    ck_assert_int_eq(verdict(BODY("{\"index\":0,\"embedding\":\"AACAPwAAAAA=\"}"), 1, 2),
                     MP_EMBED_BAD_ITEM);
    ck_assert_int_eq(verdict(BODY(ITEM("0", "1, \"0\"")), 1, 2), MP_EMBED_BAD_ITEM);
    ck_assert_int_eq(verdict(BODY(ITEM("0", "1, null")), 1, 2), MP_EMBED_BAD_ITEM);
    ck_assert_int_eq(verdict(BODY(ITEM("0", "[1], 0")), 1, 2), MP_EMBED_BAD_ITEM);
}
END_TEST

START_TEST(test_embed_answer_zero_vector)
{
    ck_assert_int_eq(verdict(BODY(ITEM("0", "0, -0.0, 0e5")), 1, 3), MP_EMBED_ZERO);
    ck_assert_int_eq(verdict(BODY(ITEM("0", "1e-50, 0, 0")), 1, 3), MP_EMBED_ZERO);
}
END_TEST

START_TEST(test_embed_answer_bad_model)
{
    char body[600];
    char name[300];
    memset(name, 'm', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    ck_assert_int_eq(verdict("{\"model\":7,\"data\":[{\"embedding\":[1]}]}", 1, 1),
                     MP_EMBED_BAD_MODEL);
    ck_assert_int_eq(verdict("{\"model\":\"a\\nb\",\"data\":[{\"embedding\":[1]}]}", 1, 1),
                     MP_EMBED_BAD_MODEL);
    snprintf(body, sizeof(body), "{\"model\":\"%s\",\"data\":[{\"embedding\":[1]}]}", name);
    ck_assert_int_eq(verdict(body, 1, 1), MP_EMBED_BAD_MODEL);
    name[MP_EMBED_MODEL_MAX] = '\0';
    snprintf(body, sizeof(body), "{\"model\":\"%s\",\"data\":[{\"embedding\":[1]}]}", name);
    ck_assert_int_eq(verdict(body, 1, 1), MP_EMBED_OK);
}
END_TEST

START_TEST(test_embed_answer_caller_args)
{
    const char *body = BODY(ITEM("0", "1"));
    ck_assert_int_eq(verdict(body, 0, 1), MP_EMBED_ARGS);
    ck_assert_int_eq(verdict(body, MP_EMBED_BATCH_MAX + 1, 1), MP_EMBED_ARGS);
    ck_assert_int_eq(verdict(body, 1, 0), MP_EMBED_ARGS);
    ck_assert_int_eq(verdict(body, 1, MP_EMBED_DIMS_MAX + 1), MP_EMBED_ARGS);
}
END_TEST

START_TEST(test_embed_answer_verdict_names)
{
    for (int i = 0; i < MP_EMBED_VERDICTS; i++) {
        const char *a = mp_embed_answer_verdict_name((enum mp_embed_verdict)i);
        ck_assert_str_ne(a, "unknown");
        for (int j = 0; j < i; j++)
            ck_assert_str_ne(a, mp_embed_answer_verdict_name((enum mp_embed_verdict)j));
    }
    ck_assert_str_eq(mp_embed_answer_verdict_name(MP_EMBED_OK), "ok");
    ck_assert_str_eq(mp_embed_answer_verdict_name(MP_EMBED_NONFINITE), "nonfinite");
    ck_assert_str_eq(mp_embed_answer_verdict_name(MP_EMBED_VERDICTS), "unknown");
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("embed_answer");
    TCase *tc = tcase_create("embed_answer");
    tcase_add_test(tc, test_embed_answer_ok_ordered_by_index_and_unit);
    tcase_add_test(tc, test_embed_answer_ok_without_index_model_or_usage);
    tcase_add_test(tc, test_embed_answer_unsound_usage_is_ignored);
    tcase_add_test(tc, test_embed_answer_wrong_dimensions);
    tcase_add_test(tc, test_embed_answer_nan_and_infinity);
    tcase_add_test(tc, test_embed_answer_overflow_past_float);
    tcase_add_test(tc, test_embed_answer_fewer_or_more_vectors);
    tcase_add_test(tc, test_embed_answer_duplicate_index);
    tcase_add_test(tc, test_embed_answer_index_out_of_range);
    tcase_add_test(tc, test_embed_answer_body_over_the_cap);
    tcase_add_test(tc, test_embed_answer_not_json);
    tcase_add_test(tc, test_embed_answer_missing_data);
    tcase_add_test(tc, test_embed_answer_bad_items);
    tcase_add_test(tc, test_embed_answer_zero_vector);
    tcase_add_test(tc, test_embed_answer_bad_model);
    tcase_add_test(tc, test_embed_answer_caller_args);
    tcase_add_test(tc, test_embed_answer_verdict_names);
    suite_add_tcase(s, tc);
    return s;
}
