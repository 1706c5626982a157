/* Tests for tools/ctl/ctl_print.c: the human form of the status, the users
 * listing and a user's memory, from the admin API's JSON. */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl_print.h"
#include "status.h"

Suite *mp_test_suite(void);

typedef int (*print_fn)(const json_t *doc, FILE *f);

static char *render(print_fn fn, const char *json)
{
    json_error_t e;
    json_t *doc = json_loads(json, 0, &e);
    ck_assert_msg(doc != NULL, "test JSON: %s", e.text);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_int_eq(fn(doc, f), MP_OK);
    fclose(f);
    json_decref(doc);
    return buf;
}

static const char status_json[] =
    "{\"version\":\"0.1.0\",\"commit\":\"04da50b2ac5f\",\"mode\":\"hybrid\","
    "\"retrieval\":\"relevant\",\"uptime_seconds\":3725,"
    "\"started_at\":\"2025-01-31T08:13:02.123Z\",\"ready\":true,\"not_ready\":null,"
    "\"degraded\":null,\"workers\":4,\"queue\":{\"depth\":3,\"max\":10000},"
    "\"store\":{\"backend\":\"lmdb\",\"used_bytes\":24576,\"map_bytes\":1073741824,"
    "\"map_max_bytes\":68719476736,\"readers\":1,\"readers_max\":512}}";

START_TEST(test_ctl_print_status)
{
    char *out = render(mp_ctl_print_status, status_json);
    ck_assert_str_eq(out, "memproxy 0.1.0 (commit 04da50b2ac5f)\n"
                          "ready     yes\n"
                          "degraded  no\n"
                          "mode      hybrid (retrieval relevant)\n"
                          "uptime    1h 02m, since 2025-01-31 08:13:02 UTC\n"
                          "workers   4\n"
                          "queue     3 of 10000\n"
                          "store     lmdb, 24.0 KiB in use, map 1.0 GiB (up to 64.0 GiB), "
                          "readers 1 of 512\n");
    free(out);
}
END_TEST

START_TEST(test_ctl_print_status_not_ready_degraded_no_store)
{
    char *out = render(mp_ctl_print_status,
                       "{\"version\":\"0.1.0\",\"commit\":\"x\\u001b[2J\",\"mode\":\"off\","
                       "\"retrieval\":\"recent\",\"ready\":false,\"not_ready\":\"draining\","
                       "\"degraded\":\"storage_full\",\"store\":null}");
    ck_assert_ptr_nonnull(strstr(out, "(commit x [2J)\n"));
    ck_assert_ptr_nonnull(strstr(out, "ready     no (draining)\n"));
    ck_assert_ptr_nonnull(strstr(out, "degraded  storage_full\n"));
    ck_assert_ptr_nonnull(strstr(out, "mode      off (retrieval recent)\n"));
    ck_assert_ptr_nonnull(strstr(out, "uptime    0s, since - UTC\n"));
    ck_assert_ptr_nonnull(strstr(out, "store     unknown (the store does not answer)\n"));
    free(out);
}
END_TEST

START_TEST(test_ctl_print_status_held_jobs)
{
    char *out = render(mp_ctl_print_status,
                       "{\"degraded\":\"held_jobs\",\"queue\":{\"depth\":2,\"max\":10000},"
                       "\"held_jobs\":{\"count\":12,\"oldest_seconds\":7380,\"max\":10000}}");
    ck_assert_ptr_nonnull(strstr(out, "degraded  held_jobs\n"));
    ck_assert_ptr_nonnull(
        strstr(out, "queue     2 of 10000, 12 held for a credential (oldest 2h 03m)\n"));
    free(out);
}
END_TEST

START_TEST(test_ctl_print_status_embeddings)
{
    char *out = render(mp_ctl_print_status,
                       "{\"embeddings\":{\"enabled\":true,\"pending\":12,\"vectors\":1830,"
                       "\"vector_bytes\":882060}}");
    ck_assert_ptr_nonnull(strstr(out, "embeddings  12 items pending, 1830 vectors (861.4 KiB)\n"));
    free(out);
    out = render(mp_ctl_print_status, "{\"embeddings\":{\"enabled\":true,\"pending\":null,"
                                      "\"vectors\":0,\"vector_bytes\":0}}");
    ck_assert_ptr_nonnull(strstr(out, "embeddings  not counted yet, 0 vectors (0 B)\n"));
    free(out);
    out = render(mp_ctl_print_status, "{\"embeddings\":{\"enabled\":false}}");
    ck_assert_ptr_null(strstr(out, "embeddings"));
    free(out);
}
END_TEST

static int print_users(const json_t *doc, FILE *f)
{
    return mp_ctl_print_users(json_object_get(doc, "users"), f);
}

START_TEST(test_ctl_print_users)
{
    char *out =
        render(print_users,
               "{\"users\":[{\"user\":\"alice\",\"tenant\":null,\"facts\":2,\"messages\":1,"
               "\"archived\":14,\"summary\":true,\"updated_at\":\"2025-01-31T09:15:02.123Z\"},"
               "{\"user\":\"bob b\",\"tenant\":\"0123456789abcdef0123456789abcdef\","
               "\"facts\":0,\"messages\":0,\"archived\":0,\"summary\":false,"
               "\"updated_at\":null}]}");
    ck_assert_str_eq(out, "USER   TENANT                            FACTS  MESSAGES  ARCHIVED  "
                          "SUMMARY  UPDATED (UTC)\n"
                          "alice  -                                 2      1         14        "
                          "yes      2025-01-31 09:15:02\n"
                          "bob b  0123456789abcdef0123456789abcdef  0      0         0         "
                          "no       -\n"
                          "2 users\n");
    free(out);
    out = render(print_users, "{\"users\":[]}");
    ck_assert_str_eq(out, "0 users\n");
    free(out);
}
END_TEST

static int print_jobs(const json_t *doc, FILE *f)
{
    return mp_ctl_print_jobs(json_object_get(doc, "jobs"), f);
}

START_TEST(test_ctl_print_jobs_a_failed_batch_is_one_row)
{
    char *out = render(
        print_jobs,
        "{\"jobs\":[{\"id\":42,\"user\":\"alice\",\"tenant\":null,\"kind\":\"extract\","
        "\"state\":\"failed\",\"turns\":2,\"held\":null,\"failed\":{\"reason\":\"malformed\"},"
        "\"attempts\":3,\"created_at\":\"2025-01-31T09:15:02.123Z\"},"
        "{\"id\":41,\"user\":\"bob\",\"tenant\":null,\"kind\":\"extract\",\"state\":\"held\","
        "\"turns\":1,\"held\":{\"reason\":\"no_credential\"},\"failed\":null,\"attempts\":0,"
        "\"created_at\":\"2025-01-31T09:14:58.020Z\"}]}");
    ck_assert_str_eq(out, "ID  USER   TENANT  KIND     STATE   WHY            ATTEMPTS  "
                          "CREATED (UTC)        TURNS\n"
                          "42  alice  -       extract  failed  malformed      3         "
                          "2025-01-31 09:15:02  2\n"
                          "41  bob    -       extract  held    no_credential  0         "
                          "2025-01-31 09:14:58  1\n"
                          "2 jobs\n");
    free(out);
    out = render(print_jobs, "{\"jobs\":[]}");
    ck_assert_str_eq(out, "0 jobs\n");
    free(out);
    out =
        render(mp_ctl_print_job_retried, "{\"job\":{\"id\":42,\"turns\":2,\"state\":\"pending\"}}");
    ck_assert_str_eq(out, "job 42 (2 turns) runs again: pending\n");
    free(out);
    out = render(mp_ctl_print_job_dropped,
                 "{\"dropped\":{\"id\":41,\"turns\":1,\"state\":\"held\"}}");
    ck_assert_str_eq(out,
                     "dropped job 41 (1 turn), which was held: its turn stays recorded and never "
                     "reaches the memory model\n");
    free(out);
}
END_TEST

static const char memory_json[] =
    "{\"user\":\"alice\",\"tenant\":null,"
    "\"summary\":{\"text\":\"Summary: user: My name is Gus.\\nuser: I live in Graz.\","
    "\"updated_at\":\"2025-01-31T09:15:03.000Z\",\"observed_at\":\"2025-01-31T09:15:02.000Z\","
    "\"request_id\":\"req_0123456789abcdef0123\",\"model\":\"sum-model\",\"pii\":false},"
    "\"buffer\":[{\"role\":\"assistant\",\"content\":\"Hello from fake upstream\","
    "\"at\":\"2025-01-31T09:15:02.000Z\",\"request_id\":\"req_0123456789abcdef0123\"}],"
    "\"entities\":[{\"key\":\"city\",\"value\":\"Graz\",\"confidence\":0.9,"
    "\"observed_at\":\"2025-01-31T09:15:02.000Z\",\"source\":\"req_0123456789abcdef0123\","
    "\"pii\":false,\"trust\":\"stated\",\"revision\":2,\"source_role\":\"user\","
    "\"model\":\"ext-model\",\"request_id\":\"req_0123456789abcdef0123\"},"
    "{\"key\":\"email\",\"value\":\"gus@example.com\",\"confidence\":1,"
    "\"observed_at\":\"2025-02-01T10:00:00.000Z\",\"source\":\"admin\",\"pii\":true,"
    "\"trust\":\"admin\",\"source_role\":\"user\",\"model\":null,\"request_id\":null}],"
    "\"archive\":[],\"archive_next_cursor\":\"17\"}";

START_TEST(test_ctl_print_memory_with_provenance)
{
    char *out = render(mp_ctl_print_memory, memory_json);
    ck_assert_str_eq(
        out,
        "user alice\n"
        "\n"
        "Facts (2)\n"
        "  KEY    VALUE            CONFIDENCE  TRUST   FROM  MODEL      SOURCE                    "
        "OBSERVED (UTC)       PII\n"
        "  city   Graz             0.90        stated  user  ext-model  req_0123456789abcdef0123  "
        "2025-01-31 09:15:02  no\n"
        "  email  gus@example.com  1.00        admin   user  -          admin                     "
        "2025-02-01 10:00:00  yes\n"
        "\n"
        "Summary (updated 2025-01-31 09:15:03 UTC, model sum-model, source "
        "req_0123456789abcdef0123)\n"
        "  Summary: user: My name is Gus. user: I live in Graz.\n"
        "\n"
        "Recent messages (1)\n"
        "  TIME (UTC)           ROLE       SOURCE                    CONTENT\n"
        "  2025-01-31 09:15:02  assistant  req_0123456789abcdef0123  Hello from fake upstream\n"
        "\n"
        "Archive, oldest first (0)\n"
        "  (none)\n"
        "  (more archived messages follow: memproxy ctl users export shows them all)\n");
    free(out);
}
END_TEST

START_TEST(test_ctl_print_memory_empty_and_tenant)
{
    char *out = render(mp_ctl_print_memory,
                       "{\"user\":\"bob\",\"tenant\":\"0123456789abcdef0123456789abcdef\","
                       "\"summary\":{\"text\":null},\"buffer\":[],\"entities\":[],"
                       "\"archive\":[],\"archive_next_cursor\":null}");
    ck_assert_str_eq(out, "user bob, tenant 0123456789abcdef0123456789abcdef\n"
                          "\n"
                          "Facts (0)\n"
                          "  (none)\n"
                          "\n"
                          "Summary\n"
                          "  (none)\n"
                          "\n"
                          "Recent messages (0)\n"
                          "  (none)\n"
                          "\n"
                          "Archive, oldest first (0)\n"
                          "  (none)\n");
    free(out);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("ctl_print");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_ctl_print_status);
    tcase_add_test(tc, test_ctl_print_status_not_ready_degraded_no_store);
    tcase_add_test(tc, test_ctl_print_status_held_jobs);
    tcase_add_test(tc, test_ctl_print_status_embeddings);
    tcase_add_test(tc, test_ctl_print_users);
    tcase_add_test(tc, test_ctl_print_jobs_a_failed_batch_is_one_row);
    tcase_add_test(tc, test_ctl_print_memory_with_provenance);
    tcase_add_test(tc, test_ctl_print_memory_empty_and_tenant);
    suite_add_tcase(s, tc);
    return s;
}
