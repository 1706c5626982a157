/* core/embed/embed_request.c: the exact bytes sent to an embeddings server
 * for each way a server wants the kind of its texts, and the refusals. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "embed/embed_request.h"
#include "json/json_scan.h"
#include "status.h"

Suite *mp_test_suite(void);

/* Builds the body of the n NUL-terminated texts and compares it with want. */
static void body_is(const struct mp_embed_server *srv, enum mp_embed_kind kind,
                    const char *const *texts, size_t n, const char *want)
{
    size_t lens[8];
    char *body = NULL;
    size_t len = 0;

    for (size_t i = 0; i < n; i++)
        lens[i] = strlen(texts[i]);
    ck_assert_int_eq(mp_embed_request_build(srv, kind, texts, lens, n, &body, &len), MP_OK);
    ck_assert_str_eq(body, want);
    ck_assert_uint_eq(len, strlen(want));
    size_t s, e;
    ck_assert_int_eq(mp_json_find_member(body, len, "input", 5, &s, &e), MP_OK);
    free(body);
}

START_TEST(test_embed_request_openai_plain)
{
    const struct mp_embed_server srv = {.model = "text-embedding-3-small"};
    const char *texts[] = {"We adopted a beagle", "What pets do I have?"};
    body_is(&srv, MP_EMBED_DOCUMENT, texts, 2,
            "{\"model\":\"text-embedding-3-small\",\"input\":[\"We adopted a beagle\","
            "\"What pets do I have?\"],\"encoding_format\":\"float\"}");
}
END_TEST

START_TEST(test_embed_request_e5_prefixes_by_kind)
{
    const struct mp_embed_server srv = {.model = "intfloat/multilingual-e5-small",
                                        .query_prefix = "query: ",
                                        .document_prefix = "passage: "};
    const char *texts[] = {"Hund"};
    body_is(&srv, MP_EMBED_QUERY, texts, 1,
            "{\"model\":\"intfloat/multilingual-e5-small\",\"input\":[\"query: Hund\"],"
            "\"encoding_format\":\"float\"}");
    body_is(&srv, MP_EMBED_DOCUMENT, texts, 1,
            "{\"model\":\"intfloat/multilingual-e5-small\",\"input\":[\"passage: Hund\"],"
            "\"encoding_format\":\"float\"}");
}
END_TEST

START_TEST(test_embed_request_input_type_default_values)
{
    const struct mp_embed_server srv = {
        .model = "e5", .dimensions = 384, .type_field = "input_type"};
    const char *texts[] = {"a"};
    body_is(&srv, MP_EMBED_QUERY, texts, 1,
            "{\"model\":\"e5\",\"input\":[\"a\"],\"dimensions\":384,\"input_type\":\"query\","
            "\"encoding_format\":\"float\"}");
    body_is(&srv, MP_EMBED_DOCUMENT, texts, 1,
            "{\"model\":\"e5\",\"input\":[\"a\"],\"dimensions\":384,\"input_type\":\"passage\","
            "\"encoding_format\":\"float\"}");
}
END_TEST

START_TEST(test_embed_request_caller_field_and_values)
{
    const struct mp_embed_server srv = {.model = "m",
                                        .type_field = "task",
                                        .query_type = "search_query",
                                        .document_type = "search_document"};
    const char *texts[] = {"x"};
    body_is(&srv, MP_EMBED_QUERY, texts, 1,
            "{\"model\":\"m\",\"input\":[\"x\"],\"task\":\"search_query\","
            "\"encoding_format\":\"float\"}");
    body_is(&srv, MP_EMBED_DOCUMENT, texts, 1,
            "{\"model\":\"m\",\"input\":[\"x\"],\"task\":\"search_document\","
            "\"encoding_format\":\"float\"}");
}
END_TEST

START_TEST(test_embed_request_escapes_every_string)
{
    const struct mp_embed_server srv = {
        .model = "m\"1", .query_prefix = "q\\: ", .type_field = "t\n", .query_type = "v\""};
    const char *texts[] = {"say \"hi\"\n\ttab \x01 caf\xc3\xa9 bad\xff"};
    body_is(&srv, MP_EMBED_QUERY, texts, 1,
            "{\"model\":\"m\\\"1\",\"input\":[\"q\\\\: say \\\"hi\\\"\\n\\ttab \\u0001 "
            "caf\xc3\xa9 bad\xef\xbf\xbd\"],\"t\\n\":\"v\\\"\",\"encoding_format\":\"float\"}");
}
END_TEST

START_TEST(test_embed_request_text_with_nul_bytes)
{
    const struct mp_embed_server srv = {.model = "m"};
    const char *texts[] = {"a\0b"};
    size_t lens[] = {3};
    char *body = NULL;
    size_t len = 0;
    ck_assert_int_eq(mp_embed_request_build(&srv, MP_EMBED_QUERY, texts, lens, 1, &body, &len),
                     MP_OK);
    ck_assert_str_eq(body,
                     "{\"model\":\"m\",\"input\":[\"a\\u0000b\"],\"encoding_format\":\"float\"}");
    free(body);
}
END_TEST

START_TEST(test_embed_request_refusals_leave_outputs)
{
    const struct mp_embed_server srv = {.model = "m"};
    const struct mp_embed_server nomodel = {.model = ""};
    const struct mp_embed_server bigdims = {.model = "m", .dimensions = MP_EMBED_DIMS_MAX + 1};
    const struct mp_embed_server prefixed = {.model = "m", .document_prefix = "passage: "};
    const char *texts[] = {""};
    size_t lens[] = {0};
    char *body = (char *)"untouched";
    size_t len = 7;

    ck_assert_int_eq(mp_embed_request_build(&srv, MP_EMBED_QUERY, texts, lens, 0, &body, &len),
                     MP_EINVAL);
    ck_assert_int_eq(mp_embed_request_build(&srv, MP_EMBED_QUERY, texts, lens,
                                            MP_EMBED_BATCH_MAX + 1, &body, &len),
                     MP_EINVAL);
    ck_assert_int_eq(mp_embed_request_build(&srv, MP_EMBED_QUERY, texts, lens, 1, &body, &len),
                     MP_EINVAL);
    ck_assert_int_eq(mp_embed_request_build(&nomodel, MP_EMBED_QUERY, texts, lens, 1, &body, &len),
                     MP_EINVAL);
    ck_assert_int_eq(mp_embed_request_build(&bigdims, MP_EMBED_QUERY, texts, lens, 1, &body, &len),
                     MP_EINVAL);
    ck_assert_str_eq(body, "untouched");
    ck_assert_uint_eq(len, 7);
    /* an empty text with a prefix is the prefix alone: servers take it */
    ck_assert_int_eq(
        mp_embed_request_build(&prefixed, MP_EMBED_DOCUMENT, texts, lens, 1, &body, &len), MP_OK);
    ck_assert_str_eq(body,
                     "{\"model\":\"m\",\"input\":[\"passage: \"],\"encoding_format\":\"float\"}");
    free(body);
}
END_TEST

START_TEST(test_embed_request_worst_case_escaping_fits)
{
    const struct mp_embed_server srv = {.model = "m", .query_prefix = "\x01\x01"};
    enum { N = 64, L = 300 };
    static char bufs[N][L];
    const char *texts[N];
    size_t lens[N];
    char *body = NULL;
    size_t len = 0;

    for (size_t i = 0; i < N; i++) {
        memset(bufs[i], 0x1f, L);
        texts[i] = bufs[i];
        lens[i] = L;
    }
    ck_assert_int_eq(mp_embed_request_build(&srv, MP_EMBED_QUERY, texts, lens, N, &body, &len),
                     MP_OK);
    /* each text is 302 bytes escaped to six, plus two quotes and a comma */
    ck_assert_uint_eq(len, strlen("{\"model\":\"m\",\"input\":[],\"encoding_format\":\"float\"}") +
                               N * (302 * 6 + 2) + (N - 1));
    size_t s, e;
    ck_assert_int_eq(mp_json_find_member(body, len, "input", 5, &s, &e), MP_OK);
    free(body);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("embed_request");
    TCase *tc = tcase_create("embed_request");
    tcase_add_test(tc, test_embed_request_openai_plain);
    tcase_add_test(tc, test_embed_request_e5_prefixes_by_kind);
    tcase_add_test(tc, test_embed_request_input_type_default_values);
    tcase_add_test(tc, test_embed_request_caller_field_and_values);
    tcase_add_test(tc, test_embed_request_escapes_every_string);
    tcase_add_test(tc, test_embed_request_text_with_nul_bytes);
    tcase_add_test(tc, test_embed_request_refusals_leave_outputs);
    tcase_add_test(tc, test_embed_request_worst_case_escaping_fits);
    suite_add_tcase(s, tc);
    return s;
}
