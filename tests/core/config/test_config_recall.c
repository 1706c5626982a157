/* Tests for core/config/config.c's recall keys ([memory] retrieval, archive,
 * max_facts_per_user and the four shares of the budget): defaults, value
 * rules, INI and environment, and the cross-field rule that the shares sum
 * to 100. The other keys are tested in test_config.c. */
#include <check.h>
#include <string.h>

#include "config/config.h"
#include "status.h"

Suite *mp_test_suite(void);

static struct mp_config cfg;
static struct mp_config before;
static struct mp_config_errors errs;
static char err[512];

static const char *const share_keys[] = {"share_profile", "share_past", "share_summary",
                                         "share_buffer"};

static void setup(void)
{
    mp_config_defaults(&cfg);
    before = cfg;
    memset(&errs, 0, sizeof(errs));
    err[0] = '\0';
}

static int set(const char *key, const char *value)
{
    err[0] = '\0';
    return mp_config_set(&cfg, "memory", key, value, err, sizeof(err));
}

/* Each value of key fails with a message and leaves cfg as it was. */
static void expect_rejected(const char *key, const char *const *values)
{
    for (size_t i = 0; values[i] != NULL; i++) {
        struct mp_config saved = cfg;
        ck_assert_msg(set(key, values[i]) == MP_EINVAL, "%s = '%s' accepted", key, values[i]);
        ck_assert_msg(memcmp(&saved, &cfg, sizeof(cfg)) == 0, "changed by '%s'", values[i]);
        ck_assert_msg(strncmp(err, "[memory] ", 9) == 0, "message '%s'", err);
    }
}

static void set_shares(uint32_t profile, uint32_t past, uint32_t summary, uint32_t buffer)
{
    cfg.memory.share_profile = profile;
    cfg.memory.share_past = past;
    cfg.memory.share_summary = summary;
    cfg.memory.share_buffer = buffer;
}

/* cfg's recall keys are these, and it validates. */
static void expect_recall(enum mp_retrieval retrieval, bool archive, uint32_t max_facts,
                          const uint32_t shares[4])
{
    ck_assert_int_eq(cfg.memory.retrieval, retrieval);
    ck_assert(cfg.memory.archive == archive);
    ck_assert_uint_eq(cfg.memory.max_facts_per_user, max_facts);
    ck_assert_uint_eq(cfg.memory.share_profile, shares[0]);
    ck_assert_uint_eq(cfg.memory.share_past, shares[1]);
    ck_assert_uint_eq(cfg.memory.share_summary, shares[2]);
    ck_assert_uint_eq(cfg.memory.share_buffer, shares[3]);
    ck_assert_int_eq(mp_config_validate(&cfg, &errs), MP_OK);
}

START_TEST(test_config_recall_defaults)
{
    static const uint32_t shares[4] = {40, 30, 15, 15};
    expect_recall(MP_RETRIEVAL_RELEVANT, true, 100000, shares);
}
END_TEST

START_TEST(test_config_recall_retrieval_names)
{
    static const char *const bad[] = {"relevance", "newest", "0", "recent ", "", NULL};
    ck_assert_int_eq(set("retrieval", "recent"), MP_OK);
    ck_assert_int_eq(cfg.memory.retrieval, MP_RETRIEVAL_RECENT);
    ck_assert_int_eq(set("retrieval", "RELEVANT"), MP_OK);
    ck_assert_int_eq(cfg.memory.retrieval, MP_RETRIEVAL_RELEVANT);
    expect_rejected("retrieval", bad);
    ck_assert_int_eq(set("retrieval", "newest"), MP_EINVAL);
    ck_assert_str_eq(err, "[memory] retrieval: expected one of relevant|recent, got \"newest\"");
    ck_assert_str_eq(mp_config_retrieval_name(MP_RETRIEVAL_RELEVANT), "relevant");
    ck_assert_str_eq(mp_config_retrieval_name(MP_RETRIEVAL_RECENT), "recent");
    ck_assert_str_eq(mp_config_retrieval_name((enum mp_retrieval)2), "unknown");
}
END_TEST

START_TEST(test_config_recall_archive_bool)
{
    static const char *const bad[] = {"maybe", "2", "", NULL};
    ck_assert_int_eq(set("archive", "off"), MP_OK);
    ck_assert(!cfg.memory.archive);
    ck_assert_int_eq(set("archive", "Yes"), MP_OK);
    ck_assert(cfg.memory.archive);
    expect_rejected("archive", bad);
}
END_TEST

START_TEST(test_config_recall_max_facts_bounds)
{
    static const char *const bad[] = {"0", "10000001", "-1", "1e6", "", NULL};
    ck_assert_int_eq(set("max_facts_per_user", "1"), MP_OK);
    ck_assert_uint_eq(cfg.memory.max_facts_per_user, 1);
    ck_assert_int_eq(set("max_facts_per_user", "10000000"), MP_OK);
    ck_assert_uint_eq(cfg.memory.max_facts_per_user, 10000000);
    expect_rejected("max_facts_per_user", bad);
    ck_assert_int_eq(set("max_facts_per_user", "0"), MP_EINVAL);
    ck_assert_str_eq(err, "[memory] max_facts_per_user: \"0\" is out of range 1..10000000");
}
END_TEST

START_TEST(test_config_recall_share_bounds)
{
    static const char *const bad[] = {"101", "-5", "50%", "0.5", "", NULL};
    for (size_t i = 0; i < 4; i++) {
        ck_assert_int_eq(set(share_keys[i], "0"), MP_OK);
        ck_assert_int_eq(set(share_keys[i], "100"), MP_OK);
        expect_rejected(share_keys[i], bad);
    }
    ck_assert_uint_eq(cfg.memory.share_profile, 100);
    ck_assert_uint_eq(cfg.memory.share_buffer, 100);
    ck_assert_int_eq(set("share_past", "101"), MP_EINVAL);
    ck_assert_str_eq(err, "[memory] share_past: \"101\" is out of range 0..100");
}
END_TEST

START_TEST(test_config_recall_shares_must_sum_to_100)
{
    set_shares(40, 30, 15, 10);
    ck_assert_int_eq(mp_config_validate(&cfg, &errs), MP_EINVAL);
    ck_assert_uint_eq(errs.count, 1);
    ck_assert_str_eq(errs.items[0].message, "[memory] share_profile + share_past + share_summary + "
                                            "share_buffer must be 100, got 40 + 30 + 15 + 10");
    ck_assert_uint_eq(errs.items[0].line, 0);
    memset(&errs, 0, sizeof(errs));
    set_shares(100, 100, 0, 0);
    ck_assert_int_eq(mp_config_validate(&cfg, &errs), MP_EINVAL);
    ck_assert_uint_eq(errs.count, 1);
}
END_TEST

START_TEST(test_config_recall_shares_may_be_zero)
{
    set_shares(100, 0, 0, 0);
    ck_assert_int_eq(mp_config_validate(&cfg, &errs), MP_OK);
    set_shares(0, 0, 0, 100);
    ck_assert_int_eq(mp_config_validate(&cfg, &errs), MP_OK);
    set_shares(25, 25, 25, 25);
    ck_assert_int_eq(mp_config_validate(&cfg, &errs), MP_OK);
    ck_assert_uint_eq(errs.count, 0);
}
END_TEST

/* A share that passes its own range still fails a hand-built struct's
 * range check, and the sum is checked as well (no wrap-around). */
START_TEST(test_config_recall_validate_rechecks_hand_built_fields)
{
    cfg.memory.retrieval = (enum mp_retrieval)2;
    cfg.memory.max_facts_per_user = 0;
    set_shares(UINT32_MAX, 1, 0, 100);
    ck_assert_int_eq(mp_config_validate(&cfg, &errs), MP_EINVAL);
    ck_assert_uint_eq(errs.count, 4);
    ck_assert_str_eq(errs.items[0].message, "[memory] retrieval: value 2 is not one of the names");
    ck_assert_str_eq(errs.items[1].message,
                     "[memory] max_facts_per_user: \"0\" is out of range 1..10000000");
    ck_assert_str_eq(errs.items[2].message,
                     "[memory] share_profile: \"4294967295\" is out of range 0..100");
    ck_assert_ptr_nonnull(strstr(errs.items[3].message, "must be 100"));
}
END_TEST

START_TEST(test_config_recall_ini_sets_every_key)
{
    static const char text[] = "[memory]\n"
                               "retrieval = recent\n"
                               "archive = false\n"
                               "max_facts_per_user = 500\n"
                               "share_profile = 10\n"
                               "share_past = 20\n"
                               "share_summary = 30\n"
                               "share_buffer = 40\n";
    static const uint32_t shares[4] = {10, 20, 30, 40};
    ck_assert_int_eq(mp_config_parse_ini(&cfg, text, strlen(text), "test.ini", &errs), MP_OK);
    ck_assert_uint_eq(errs.count, 0);
    expect_recall(MP_RETRIEVAL_RECENT, false, 500, shares);
}
END_TEST

START_TEST(test_config_recall_ini_bad_values_reported_with_lines)
{
    static const char text[] = "[memory]\n"
                               "retrieval = fuzzy\n"
                               "share_past = 200\n"
                               "max_facts_per_user = 0\n";
    ck_assert_int_eq(mp_config_parse_ini(&cfg, text, strlen(text), "test.ini", &errs), MP_EINVAL);
    ck_assert_uint_eq(errs.count, 3);
    ck_assert_uint_eq(errs.items[0].line, 2);
    ck_assert_uint_eq(errs.items[1].line, 3);
    ck_assert_str_eq(errs.items[1].message, "[memory] share_past: \"200\" is out of range 0..100");
    ck_assert_uint_eq(errs.items[2].line, 4);
    ck_assert(memcmp(&cfg, &before, sizeof(cfg)) == 0);
}
END_TEST

START_TEST(test_config_recall_env_overrides)
{
    static const char *const env[] = {
        "MEMPROXY_MEMORY_RETRIEVAL=recent",      "MEMPROXY_MEMORY_ARCHIVE=0",
        "MEMPROXY_MEMORY_MAX_FACTS_PER_USER=42", "MEMPROXY_MEMORY_SHARE_PROFILE=70",
        "MEMPROXY_MEMORY_SHARE_PAST=0",          NULL};
    static const uint32_t shares[4] = {70, 0, 15, 15};
    ck_assert_int_eq(mp_config_apply_env(&cfg, env, &errs), MP_OK);
    expect_recall(MP_RETRIEVAL_RECENT, false, 42, shares);
}
END_TEST

START_TEST(test_config_recall_env_bad_value_names_variable)
{
    static const char *const env[] = {"MEMPROXY_MEMORY_SHARE_BUFFER=lots", NULL};
    ck_assert_int_eq(mp_config_apply_env(&cfg, env, &errs), MP_EINVAL);
    ck_assert_uint_eq(errs.count, 1);
    ck_assert_str_eq(errs.items[0].message,
                     "MEMPROXY_MEMORY_SHARE_BUFFER: [memory] share_buffer: expected a decimal "
                     "integer 0..100, got \"lots\"");
    ck_assert(memcmp(&cfg, &before, sizeof(cfg)) == 0);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("config_recall");
    TCase *tc = tcase_create("config_recall");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_config_recall_defaults);
    tcase_add_test(tc, test_config_recall_retrieval_names);
    tcase_add_test(tc, test_config_recall_archive_bool);
    tcase_add_test(tc, test_config_recall_max_facts_bounds);
    tcase_add_test(tc, test_config_recall_share_bounds);
    tcase_add_test(tc, test_config_recall_shares_must_sum_to_100);
    tcase_add_test(tc, test_config_recall_shares_may_be_zero);
    tcase_add_test(tc, test_config_recall_validate_rechecks_hand_built_fields);
    tcase_add_test(tc, test_config_recall_ini_sets_every_key);
    tcase_add_test(tc, test_config_recall_ini_bad_values_reported_with_lines);
    tcase_add_test(tc, test_config_recall_env_overrides);
    tcase_add_test(tc, test_config_recall_env_bad_value_names_variable);
    suite_add_tcase(s, tc);
    return s;
}
