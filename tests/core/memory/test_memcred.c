/* Tests for core/memory/memcred.c: which credential memory jobs may carry. */
#include <check.h>
#include <string.h>

#include "config/config.h"
#include "http/http_parse.h"
#include "memory/memcred.h"
#include "status.h"

Suite *mp_test_suite(void);

static struct mp_config cfg;
static struct mp_http_request_head head;

static void setup(void)
{
    mp_config_defaults(&cfg);
    memset(&head, 0, sizeof(head));
}

static void add(const char *name, const char *value)
{
    head.headers[head.num_headers++] =
        (struct mp_http_header){name, strlen(name), value, strlen(value)};
}

START_TEST(test_memcred_memory_key_first_then_the_providers)
{
    ck_assert_ptr_null(mp_memcred_configured(&cfg));
    strcpy(cfg.anthropic.api_key, "sk-ant");
    ck_assert_ptr_null(mp_memcred_configured(&cfg)); /* llm = openai: not Anthropic's key */
    strcpy(cfg.upstream.api_key, "sk-up");
    ck_assert_str_eq(mp_memcred_configured(&cfg), "sk-up");
    cfg.memory.llm = MP_LLM_ANTHROPIC;
    ck_assert_str_eq(mp_memcred_configured(&cfg), "sk-ant");
    strcpy(cfg.memory.api_key, "sk-mem");
    ck_assert_str_eq(mp_memcred_configured(&cfg), "sk-mem");
    cfg.memory.llm = MP_LLM_OPENAI;
    ck_assert_str_eq(mp_memcred_configured(&cfg), "sk-mem");
}
END_TEST

START_TEST(test_memcred_client_header_per_provider)
{
    const char *name = NULL;
    add("X-Api-Key", "sk-ant-x");
    ck_assert_ptr_null(mp_memcred_client(&head, MP_LLM_OPENAI, &name)); /* never OpenAI's */
    ck_assert_str_eq(mp_memcred_client(&head, MP_LLM_ANTHROPIC, &name)->value, "sk-ant-x");
    ck_assert_str_eq(name, "x-api-key");
    add("authorization", "Bearer tok");
    ck_assert_str_eq(mp_memcred_client(&head, MP_LLM_ANTHROPIC, &name)->value, "sk-ant-x");
    ck_assert_str_eq(mp_memcred_client(&head, MP_LLM_OPENAI, &name)->value, "Bearer tok");
    ck_assert_str_eq(name, "Authorization");
    head.num_headers = 0;
    add("Authorization", "Bearer oat");
    ck_assert_str_eq(mp_memcred_client(&head, MP_LLM_ANTHROPIC, &name)->value, "Bearer oat");
    ck_assert_str_eq(name, "Authorization");
    ck_assert_str_eq(mp_memcred_key_header(MP_LLM_ANTHROPIC), "x-api-key");
    ck_assert_str_eq(mp_memcred_key_header(MP_LLM_OPENAI), "Authorization");
}
END_TEST

START_TEST(test_memcred_missing_only_across_providers_without_a_key)
{
    ck_assert(mp_memcred_missing(&cfg, MP_MEMORY_HYBRID, MP_LLM_ANTHROPIC));
    ck_assert(mp_memcred_missing(&cfg, MP_MEMORY_ENTITY, MP_LLM_ANTHROPIC));
    ck_assert(mp_memcred_missing(&cfg, MP_MEMORY_SUMMARY, MP_LLM_ANTHROPIC));
    ck_assert(!mp_memcred_missing(&cfg, MP_MEMORY_BUFFER, MP_LLM_ANTHROPIC)); /* no jobs */
    ck_assert(!mp_memcred_missing(&cfg, MP_MEMORY_HYBRID, MP_LLM_OPENAI));
    cfg.memory.llm = MP_LLM_ANTHROPIC;
    ck_assert(mp_memcred_missing(&cfg, MP_MEMORY_HYBRID, MP_LLM_OPENAI));
    ck_assert(!mp_memcred_missing(&cfg, MP_MEMORY_HYBRID, MP_LLM_ANTHROPIC));
    strcpy(cfg.memory.api_key, "sk-mem");
    ck_assert(!mp_memcred_missing(&cfg, MP_MEMORY_HYBRID, MP_LLM_OPENAI));
}
END_TEST

START_TEST(test_memcred_warning_names_keys_never_values)
{
    ck_assert_ptr_null(mp_memcred_warning(&cfg)); /* OpenAI only: no other provider */
    ck_assert_int_eq(mp_config_parse_url("https://api.anthropic.com", &cfg.anthropic.base_url),
                     MP_OK);
    ck_assert_ptr_nonnull(strstr(mp_memcred_warning(&cfg), "[upstream] api_key"));
    strcpy(cfg.anthropic.api_key, "sk-ant-secret");
    ck_assert_ptr_nonnull(mp_memcred_warning(&cfg)); /* not the memory provider's key */
    cfg.memory.llm = MP_LLM_ANTHROPIC;
    ck_assert_ptr_null(mp_memcred_warning(&cfg));
    cfg.anthropic.api_key[0] = '\0';
    ck_assert_ptr_nonnull(strstr(mp_memcred_warning(&cfg), "[anthropic] api_key"));
    ck_assert_ptr_null(strstr(mp_memcred_warning(&cfg), "sk-"));
    cfg.memory.mode = MP_MEMORY_BUFFER;
    ck_assert_ptr_null(mp_memcred_warning(&cfg));
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("memcred");
    TCase *tc = tcase_create("memcred");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_memcred_memory_key_first_then_the_providers);
    tcase_add_test(tc, test_memcred_client_header_per_provider);
    tcase_add_test(tc, test_memcred_missing_only_across_providers_without_a_key);
    tcase_add_test(tc, test_memcred_warning_names_keys_never_values);
    suite_add_tcase(s, tc);
    return s;
}
