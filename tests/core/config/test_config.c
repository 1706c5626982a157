/* Tests for core/config/config.c: defaults, value rules, INI and environment
 * sources, address and URL parsing, validation. One behaviour per test. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "status.h"

Suite *mp_test_suite(void);

/* Big structs (the error list is ~43 KiB): one of each per test process. */
static struct mp_config cfg;
static struct mp_config before;
static struct mp_config_errors errs;
static char err[512];

static void setup(void)
{
    mp_config_defaults(&cfg);
    before = cfg;
    memset(&errs, 0, sizeof(errs));
    err[0] = '\0';
}

/* Strong keys of the tests (core/keystrength.h): random hex. */
#define SIGKEY "3f9c2a7be1d04856af17c3e9205db6a4"
#define TOKEN  "b7e14c0f9a2d6e3851c7f0ab94d2e618"
#define LINKEY "c4d1e8a0f2b7395e6a1c0d9f4b8e27a3"

static int set(const char *section, const char *key, const char *value)
{
    err[0] = '\0';
    return mp_config_set(&cfg, section, key, value, err, sizeof(err));
}

static int parse(const char *text)
{
    return mp_config_parse_ini(&cfg, text, strlen(text), "test.ini", &errs);
}

static void expect_error(size_t i, unsigned line, const char *message)
{
    ck_assert_uint_gt(errs.count, i);
    ck_assert_str_eq(errs.items[i].source, "test.ini");
    ck_assert_uint_eq(errs.items[i].line, line);
    ck_assert_str_eq(errs.items[i].message, message);
}

/* Sets key to each value and expects rc, with cfg unchanged on failure. */
static void expect_set(const char *section, const char *key, const char *const *values, int rc)
{
    for (size_t i = 0; values[i] != NULL; i++) {
        struct mp_config saved = cfg;
        int got = set(section, key, values[i]);
        ck_assert_msg(got == rc, "[%s] %s = '%s': got %d, want %d", section, key, values[i], got,
                      rc);
        if (rc != MP_OK) {
            ck_assert_msg(memcmp(&saved, &cfg, sizeof(cfg)) == 0, "changed by '%s'", values[i]);
            ck_assert_msg(err[0] != '\0', "no message for '%s'", values[i]);
        }
    }
}

/* ---- defaults ---- */

START_TEST(test_config_defaults_match_contract)
{
    ck_assert_str_eq(cfg.server.listen.host, "127.0.0.1");
    ck_assert_uint_eq(cfg.server.listen.port, 8080);
    ck_assert_str_eq(cfg.server.admin_listen.host, "127.0.0.1");
    ck_assert_uint_eq(cfg.server.admin_listen.port, 8081);
    ck_assert_uint_eq(cfg.server.workers, 0);
    ck_assert_uint_eq(cfg.server.max_body_bytes, 67108864); /* issue 51 */
    ck_assert_uint_eq(cfg.server.max_header_bytes, 65536);
    ck_assert_uint_eq(cfg.server.client_timeout_ms, 10000);
    ck_assert_uint_eq(cfg.server.max_connections, 0);          /* auto (issue 15) */
    ck_assert_int_eq(cfg.upstream.client, MP_UPSTREAM_NATIVE); /* issue 15 */
    ck_assert_uint_eq(cfg.server.drain_timeout_ms, 25000);
    ck_assert_str_eq(cfg.upstream.base_url.text, "https://api.openai.com/v1");
    ck_assert(cfg.upstream.base_url.https);
    ck_assert_str_eq(cfg.upstream.base_url.host, "api.openai.com");
    ck_assert_uint_eq(cfg.upstream.base_url.port, 443);
    ck_assert_str_eq(cfg.upstream.base_url.path, "/v1");
    ck_assert_str_eq(cfg.upstream.api_key, "");
    ck_assert_uint_eq(cfg.upstream.connect_timeout_ms, 5000);
    ck_assert_uint_eq(cfg.upstream.idle_timeout_ms, 120000);
    ck_assert_int_eq(cfg.memory.mode, MP_MEMORY_HYBRID);
    ck_assert_str_eq(cfg.memory.user_header, "X-User-Id");
    ck_assert(cfg.memory.user_from_body);
    ck_assert_uint_eq(cfg.memory.buffer_messages, 15);
    ck_assert_uint_eq(cfg.memory.summarize_at, 20);
    ck_assert_uint_eq(cfg.memory.summary_max_words, 150);
    ck_assert_str_eq(cfg.memory.summary_model, "gpt-4o-mini");
    ck_assert_str_eq(cfg.memory.extraction_model, "gpt-4o-mini");
    ck_assert_double_eq(cfg.memory.min_confidence, 0.7);
    ck_assert_uint_eq(cfg.memory.context_budget_tokens, 1500);
    ck_assert_uint_eq(cfg.memory.queue_max, 10000);
    ck_assert(!cfg.memory.record_temporary_chats); /* issue 50: read, not recorded */
    ck_assert_str_eq(cfg.storage.path, "./data");
    ck_assert_uint_eq(cfg.storage.map_size_mb, 1024);
    ck_assert_int_eq(cfg.storage.sync, MP_SYNC_FULL);
    ck_assert_str_eq(cfg.storage.encryption_key_file, "");
    ck_assert_uint_eq(cfg.governance.retention_days, 365);
    ck_assert_uint_eq(cfg.governance.pii_retention_days, 30);
    ck_assert_int_eq(cfg.governance.pii_mode, MP_PII_STORE);
    ck_assert(cfg.governance.inject_pii);
    ck_assert_uint_eq(cfg.governance.sweep_interval_seconds, 600);
    ck_assert_int_eq(cfg.security.tenant_from, MP_TENANT_NONE);
    ck_assert_str_eq(cfg.security.user_signature_key, "");
    ck_assert_str_eq(cfg.admin.token, "");
    ck_assert_int_eq(cfg.log.level, MP_LOG_INFO);
    ck_assert_int_eq(cfg.log.format, MP_LOG_JSON);
}
END_TEST

START_TEST(test_config_defaults_pass_validation)
{
    ck_assert_int_eq(mp_config_validate(&cfg, &errs), MP_OK);
    ck_assert_uint_eq(errs.count, 0);
}
END_TEST

/* The contract's sample file (§2), governance, security and admin included,
 * plus sweep_interval_seconds: every key written as its default must leave
 * the defaults as they are. */
START_TEST(test_config_contract_sample_gives_defaults)
{
    static const char sample[] =
        "[server]\n"
        "listen = 127.0.0.1:8080          ; data plane: OpenAI-compatible API\n"
        "admin_listen = 127.0.0.1:8081    ; health, metrics, admin API\n"
        "workers = 0                      ; event-loop threads; 0 = one per CPU\n"
        "max_body_bytes = 67108864        ; larger request -> 413\n"
        "max_header_bytes = 65536         ; larger headers -> 431\n"
        "client_timeout_ms = 10000        ; whole request must arrive in this time\n"
        "max_connections = 1024           ; beyond -> refuse / 503\n"
        "drain_timeout_ms = 25000         ; SIGTERM: how long in-flight requests may finish\n"
        "\n[upstream]\n"
        "base_url = https://api.openai.com/v1\n"
        "api_key =                        ; empty: forward the client's Authorization\n"
        "connect_timeout_ms = 5000\n"
        "idle_timeout_ms = 120000         ; max silence between upstream bytes\n"
        "\n[memory]\n"
        "mode = hybrid                    ; off | buffer | summary | entity | hybrid\n"
        "user_header = X-User-Id          ; where the user id comes from\n"
        "user_from_body = true            ; fall back to the request body's \"user\" field\n"
        "buffer_messages = 15\n"
        "summarize_at = 20\n"
        "summary_max_words = 150\n"
        "summary_model = gpt-4o-mini\n"
        "extraction_model = gpt-4o-mini\n"
        "min_confidence = 0.7             ; extracted facts below this are dropped\n"
        "context_budget_tokens = 1500\n"
        "queue_max = 10000\n"
        "\n[storage]\n"
        "path = ./data                    ; LMDB environment directory\n"
        "map_size_mb = 1024               ; grows on demand\n"
        "sync = full                      ; full | meta | none\n"
        "\n"
        "encryption_key_file =            ; 32-byte key (raw, hex or base64)\n"
        "\n[governance]\n"
        "retention_days = 365             ; memory older than this is purged for real\n"
        "pii_retention_days = 30          ; items flagged as PII are purged sooner\n"
        "pii_mode = store                 ; store (flag it) | redact | drop\n"
        "inject_pii = true                ; false: PII-flagged items are never injected\n"
        "sweep_interval_seconds = 600\n"
        "\n[security]\n"
        "tenant_from = none               ; none | api_key\n"
        "user_signature_key =             ; set: X-User-Signature required, else 401\n"
        "\n[admin]\n"
        "token =                          ; empty: admin API disabled\n"
        "\n[log]\n"
        "level = info                     ; debug | info | warn | error\n"
        "format = json                    ; json | text\n";
    mp_config_defaults(&before);
    memset(&cfg, 0x5a, sizeof(cfg));
    mp_config_defaults(&cfg);
    ck_assert_int_eq(parse(sample), MP_OK);
    ck_assert_uint_eq(errs.count, 0);
    /* the one value the sample sets that is no longer the default: issue 15
     * made max_connections auto (0) */
    ck_assert_uint_eq(cfg.server.max_connections, 1024);
    before.server.max_connections = 1024;
    ck_assert(memcmp(&cfg, &before, sizeof(cfg)) == 0);
}
END_TEST

/* ---- mp_config_set: one test per value type ---- */

START_TEST(test_config_set_integer_accepts_range_bounds)
{
    ck_assert_int_eq(set("server", "workers", "256"), MP_OK);
    ck_assert_uint_eq(cfg.server.workers, 256);
    ck_assert_int_eq(set("server", "workers", "0"), MP_OK);
    ck_assert_uint_eq(cfg.server.workers, 0);
    ck_assert_int_eq(set("server", "max_body_bytes", "1073741824"), MP_OK);
    ck_assert_uint_eq(cfg.server.max_body_bytes, 1073741824u);
    ck_assert_int_eq(set("server", "max_header_bytes", "1024"), MP_OK);
    ck_assert_uint_eq(cfg.server.max_header_bytes, 1024);
    ck_assert_int_eq(set("memory", "queue_max", "10000000"), MP_OK);
    ck_assert_uint_eq(cfg.memory.queue_max, 10000000);
    ck_assert_int_eq(set("storage", "map_size_mb", "007"), MP_OK);
    ck_assert_uint_eq(cfg.storage.map_size_mb, 7);
    ck_assert_int_eq(set("server", "drain_timeout_ms", "0"), MP_OK);
    ck_assert_uint_eq(cfg.server.drain_timeout_ms, 0);
}
END_TEST

START_TEST(test_config_set_integer_rejects_non_decimal)
{
    static const char *const bad[] = {"-1",  "+1",  " 1",  "1 ",  "0x10", "1e3", "12a",
                                      "1.0", "1_0", "one", "4\t", "",     NULL};
    expect_set("server", "workers", bad, MP_EINVAL);
    ck_assert_int_eq(set("server", "workers", "0x10"), MP_EINVAL);
    ck_assert_str_eq(err, "[server] workers: expected a decimal integer 0..256, got \"0x10\"");
}
END_TEST

START_TEST(test_config_set_integer_rejects_out_of_range)
{
    static const char *const workers[] = {"257", "18446744073709551615", "18446744073709551616",
                                          "99999999999999999999999", NULL};
    static const char *const body[] = {"0", "1073741825", NULL};
    static const char *const header[] = {"1023", "1048577", NULL};
    expect_set("server", "workers", workers, MP_EINVAL);
    expect_set("server", "max_body_bytes", body, MP_EINVAL);
    expect_set("server", "max_header_bytes", header, MP_EINVAL);
    ck_assert_int_eq(set("memory", "summarize_at", "1"), MP_EINVAL);
    ck_assert_str_eq(err, "[memory] summarize_at: \"1\" is out of range 2..10000");
}
END_TEST

START_TEST(test_config_set_empty_value_rejected)
{
    ck_assert_int_eq(set("server", "max_connections", ""), MP_EINVAL);
    ck_assert_str_eq(err, "[server] max_connections: empty value");
    ck_assert_int_eq(set("memory", "summary_model", ""), MP_EINVAL);
    ck_assert_str_eq(err, "[memory] summary_model: empty value");
    ck_assert_int_eq(set("storage", "path", ""), MP_EINVAL);
    ck_assert_int_eq(set("upstream", "base_url", ""), MP_EINVAL);
    ck_assert_int_eq(set("log", "level", ""), MP_EINVAL);
    ck_assert(memcmp(&cfg, &before, sizeof(cfg)) == 0);
}
END_TEST

START_TEST(test_config_set_bool_spellings)
{
    static const char *const yes[] = {"true", "TRUE", "yes", "On", "1", NULL};
    static const char *const no[] = {"false", "No", "OFF", "0", NULL};
    static const char *const bad[] = {"maybe", "2", "y", "t", "true ", "", NULL};
    for (size_t i = 0; yes[i] != NULL; i++) {
        cfg.memory.user_from_body = false;
        ck_assert_int_eq(set("memory", "user_from_body", yes[i]), MP_OK);
        ck_assert(cfg.memory.user_from_body);
    }
    for (size_t i = 0; no[i] != NULL; i++) {
        cfg.memory.user_from_body = true;
        ck_assert_int_eq(set("memory", "user_from_body", no[i]), MP_OK);
        ck_assert(!cfg.memory.user_from_body);
    }
    expect_set("memory", "user_from_body", bad, MP_EINVAL);
}
END_TEST

START_TEST(test_config_set_enum_names)
{
    static const char *const modes[] = {"off", "buffer", "summary", "entity", "hybrid"};
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(set("memory", "mode", modes[i]), MP_OK);
        ck_assert_int_eq(cfg.memory.mode, i);
    }
    ck_assert_int_eq(set("storage", "sync", "META"), MP_OK);
    ck_assert_int_eq(cfg.storage.sync, MP_SYNC_META);
    ck_assert_int_eq(set("storage", "sync", "none"), MP_OK);
    ck_assert_int_eq(cfg.storage.sync, MP_SYNC_NONE);
    ck_assert_int_eq(set("log", "level", "Warn"), MP_OK);
    ck_assert_int_eq(cfg.log.level, MP_LOG_WARN);
    ck_assert_int_eq(set("log", "format", "text"), MP_OK);
    ck_assert_int_eq(cfg.log.format, MP_LOG_TEXT);
}
END_TEST

START_TEST(test_config_set_enum_rejects_other_words)
{
    static const char *const bad[] = {"hybrid ", "hyb", "2", "warning", NULL};
    expect_set("memory", "mode", bad, MP_EINVAL);
    expect_set("log", "level", bad, MP_EINVAL);
    ck_assert_int_eq(set("memory", "mode", "all"), MP_EINVAL);
    ck_assert_str_eq(
        err, "[memory] mode: expected one of off|buffer|summary|entity|hybrid, got \"all\"");
}
END_TEST

START_TEST(test_config_set_min_confidence_accepts_decimals)
{
    ck_assert_int_eq(set("memory", "min_confidence", "0"), MP_OK);
    ck_assert_double_eq(cfg.memory.min_confidence, 0.0);
    ck_assert_int_eq(set("memory", "min_confidence", "1"), MP_OK);
    ck_assert_double_eq(cfg.memory.min_confidence, 1.0);
    ck_assert_int_eq(set("memory", "min_confidence", "0.25"), MP_OK);
    ck_assert_double_eq(cfg.memory.min_confidence, 0.25);
    ck_assert_int_eq(set("memory", "min_confidence", ".5"), MP_OK);
    ck_assert_double_eq(cfg.memory.min_confidence, 0.5);
    ck_assert_int_eq(set("memory", "min_confidence", "5e-1"), MP_OK);
    ck_assert_double_eq(cfg.memory.min_confidence, 0.5);
}
END_TEST

START_TEST(test_config_set_min_confidence_rejects_bad_numbers)
{
    static const char *const bad[] = {"1.01",  "-0.1", "nan", "NaN", "inf", "0x0.8", " 0.5", "0.5 ",
                                      "0.5.5", "1e1",  "e",   ".",   "0,5", "",      NULL};
    expect_set("memory", "min_confidence", bad, MP_EINVAL);
    ck_assert_int_eq(set("memory", "min_confidence", "nan"), MP_EINVAL);
    ck_assert_str_eq(err, "[memory] min_confidence: expected a number 0..1, got \"nan\"");
}
END_TEST

START_TEST(test_config_set_user_header_must_be_token)
{
    static const char *const bad[] = {"X User", "X:User", "X-User\xC3\xA9", "(x)", "a/b", NULL};
    ck_assert_int_eq(set("memory", "user_header", "X-My_Header.v2!"), MP_OK);
    ck_assert_str_eq(cfg.memory.user_header, "X-My_Header.v2!");
    expect_set("memory", "user_header", bad, MP_EINVAL);
    ck_assert_int_eq(set("memory", "user_header", "X User"), MP_EINVAL);
    ck_assert_str_eq(err, "[memory] user_header: expected an HTTP header name (RFC 9110 token "
                          "characters only), got \"X User\"");
}
END_TEST

START_TEST(test_config_set_model_names)
{
    static const char *const bad[] = {"gpt 4", "gpt\t4", "gpt-\xC3\xA9", NULL};
    char longest[MP_CONFIG_NAME_MAX + 1];
    ck_assert_int_eq(set("memory", "summary_model", "llama3.1:8b"), MP_OK);
    ck_assert_str_eq(cfg.memory.summary_model, "llama3.1:8b");
    ck_assert_int_eq(set("memory", "extraction_model", "org/model-7b"), MP_OK);
    ck_assert_str_eq(cfg.memory.extraction_model, "org/model-7b");
    expect_set("memory", "summary_model", bad, MP_EINVAL);
    memset(longest, 'm', MP_CONFIG_NAME_MAX - 1);
    longest[MP_CONFIG_NAME_MAX - 1] = '\0';
    ck_assert_int_eq(set("memory", "summary_model", longest), MP_OK);
    ck_assert_str_eq(cfg.memory.summary_model, longest);
    longest[MP_CONFIG_NAME_MAX - 1] = 'm';
    longest[MP_CONFIG_NAME_MAX] = '\0';
    ck_assert_int_eq(set("memory", "summary_model", longest), MP_EINVAL);
    ck_assert_str_eq(err, "[memory] summary_model: too long (max 127 bytes)");
}
END_TEST

START_TEST(test_config_set_storage_path)
{
    char longest[MP_CONFIG_PATH_MAX + 1];
    ck_assert_int_eq(set("storage", "path", "/var/lib/memproxy data/\xC3\xA9t\xC3\xA9"), MP_OK);
    ck_assert_str_eq(cfg.storage.path, "/var/lib/memproxy data/\xC3\xA9t\xC3\xA9");
    ck_assert_int_eq(set("storage", "path", "/a\nb"), MP_EINVAL);
    memset(longest, 'p', MP_CONFIG_PATH_MAX);
    longest[MP_CONFIG_PATH_MAX - 1] = '\0';
    ck_assert_int_eq(set("storage", "path", longest), MP_OK);
    longest[MP_CONFIG_PATH_MAX - 1] = 'p';
    longest[MP_CONFIG_PATH_MAX] = '\0';
    ck_assert_int_eq(set("storage", "path", longest), MP_EINVAL);
    ck_assert_str_eq(err, "[storage] path: too long (max 1023 bytes)");
    ck_assert_uint_eq(strlen(cfg.storage.path), MP_CONFIG_PATH_MAX - 1);
}
END_TEST

START_TEST(test_config_set_api_key)
{
    char longest[MP_CONFIG_SECRET_MAX + 1];
    ck_assert_int_eq(set("upstream", "api_key", "sk-abc123"), MP_OK);
    ck_assert_str_eq(cfg.upstream.api_key, "sk-abc123");
    ck_assert_int_eq(set("upstream", "api_key", ""), MP_OK);
    ck_assert_str_eq(cfg.upstream.api_key, "");
    memset(longest, 'k', MP_CONFIG_SECRET_MAX);
    longest[MP_CONFIG_SECRET_MAX - 1] = '\0';
    ck_assert_int_eq(set("upstream", "api_key", longest), MP_OK);
    longest[MP_CONFIG_SECRET_MAX - 1] = 'k';
    longest[MP_CONFIG_SECRET_MAX] = '\0';
    ck_assert_int_eq(set("upstream", "api_key", longest), MP_EINVAL);
    ck_assert_str_eq(err, "[upstream] api_key: too long (max 511 bytes)");
    /* It goes into an Authorization header: no CR/LF, no blanks. */
    ck_assert_int_eq(set("upstream", "api_key", "sk-a\r\nX-Evil: 1"), MP_EINVAL);
    ck_assert_str_eq(err, "[upstream] api_key: must be printable ASCII without spaces "
                          "(value not shown)");
    /* [memory] api_key: the memory model's own key, a secret the same way */
    ck_assert_str_eq(cfg.memory.api_key, "");
    ck_assert_int_eq(set("memory", "api_key", "sk-mem"), MP_OK);
    ck_assert_str_eq(cfg.memory.api_key, "sk-mem");
    ck_assert_int_eq(set("memory", "api_key", "sk-m SECRET"), MP_EINVAL);
    ck_assert_str_eq(err, "[memory] api_key: must be printable ASCII without spaces "
                          "(value not shown)");
}
END_TEST

START_TEST(test_config_forward_memory_headers_is_off_by_default)
{
    ck_assert(!cfg.upstream.forward_memory_headers);
    ck_assert_int_eq(set("upstream", "forward_memory_headers", "true"), MP_OK);
    ck_assert(cfg.upstream.forward_memory_headers);
    ck_assert_int_eq(set("upstream", "forward_memory_headers", "sometimes"), MP_EINVAL);
}
END_TEST

START_TEST(test_config_set_addresses_and_url)
{
    ck_assert_int_eq(set("server", "listen", "[::1]:9000"), MP_OK);
    ck_assert_str_eq(cfg.server.listen.host, "::1");
    ck_assert_uint_eq(cfg.server.listen.port, 9000);
    ck_assert_int_eq(set("server", "admin_listen", "localhost"), MP_EINVAL);
    ck_assert_str_eq(err, "[server] admin_listen: expected host:port or [ipv6]:port "
                          "(port 0..65535), got \"localhost\"");
    ck_assert_int_eq(set("upstream", "base_url", "http://127.0.0.1:11434/v1/"), MP_OK);
    ck_assert_str_eq(cfg.upstream.base_url.text, "http://127.0.0.1:11434/v1");
    ck_assert_int_eq(set("upstream", "base_url", "https://x/v1?a=b"), MP_EINVAL);
    ck_assert_str_eq(cfg.upstream.base_url.text, "http://127.0.0.1:11434/v1");
    /* [anthropic] base_url: off by default, a URL, or empty again (off) */
    ck_assert_str_eq(cfg.anthropic.base_url.text, "");
    ck_assert_int_eq(set("anthropic", "base_url", "https://api.anthropic.com"), MP_OK);
    ck_assert_str_eq(cfg.anthropic.base_url.host, "api.anthropic.com");
    ck_assert_uint_eq(cfg.anthropic.base_url.port, 443);
    ck_assert_int_eq(set("anthropic", "base_url", "api.anthropic.com"), MP_EINVAL);
    ck_assert_str_eq(err, "[anthropic] base_url: expected http(s)://host[:port][/path] without "
                          "user, query or fragment, got \"api.anthropic.com\"");
    ck_assert_str_eq(cfg.anthropic.base_url.text, "https://api.anthropic.com");
    ck_assert_int_eq(set("anthropic", "base_url", ""), MP_OK);
    ck_assert_str_eq(cfg.anthropic.base_url.text, "");
    ck_assert_int_eq(set("anthropic", "api_key", "sk-ant-x"), MP_OK);
    ck_assert_str_eq(cfg.anthropic.api_key, "sk-ant-x");
    struct mp_config_errors e;
    memset(&e, 0, sizeof(e));
    ck_assert_int_eq(mp_config_validate(&cfg, &e), MP_OK);
    /* [memory] llm = anthropic needs [anthropic] base_url */
    ck_assert_int_eq(set("memory", "llm", "anthropic"), MP_OK);
    memset(&e, 0, sizeof(e));
    ck_assert_int_eq(mp_config_validate(&cfg, &e), MP_EINVAL);
    ck_assert_uint_eq(e.count, 1);
    ck_assert_str_eq(e.items[0].message, "[memory] llm = anthropic needs [anthropic] base_url");
    ck_assert_int_eq(set("anthropic", "base_url", "http://127.0.0.1:9"), MP_OK);
    ck_assert_int_eq(mp_config_validate(&cfg, &e), MP_OK);
    ck_assert_int_eq(set("memory", "llm", "claude"), MP_EINVAL);
    ck_assert_int_eq(set("upstream", "client", "curl"), MP_OK);
    ck_assert_int_eq(cfg.upstream.client, MP_UPSTREAM_CURL);
    ck_assert_int_eq(set("upstream", "client", "Native"), MP_OK);
    ck_assert_int_eq(cfg.upstream.client, MP_UPSTREAM_NATIVE);
    ck_assert_int_eq(set("upstream", "client", "h2"), MP_EINVAL);
}
END_TEST

START_TEST(test_config_set_prompt_cache_key_names)
{
    static const char *const bad[] = {"on", "user", "true", "", "conversations", NULL};
    ck_assert_int_eq(cfg.upstream.prompt_cache_key, MP_CACHE_KEY_AUTO); /* the default */
    ck_assert_int_eq(set("upstream", "prompt_cache_key", "conversation"), MP_OK);
    ck_assert_int_eq(cfg.upstream.prompt_cache_key, MP_CACHE_KEY_CONVERSATION);
    ck_assert_int_eq(set("upstream", "prompt_cache_key", "OFF"), MP_OK);
    ck_assert_int_eq(cfg.upstream.prompt_cache_key, MP_CACHE_KEY_OFF);
    ck_assert_int_eq(set("upstream", "prompt_cache_key", "auto"), MP_OK);
    ck_assert_int_eq(cfg.upstream.prompt_cache_key, MP_CACHE_KEY_AUTO);
    expect_set("upstream", "prompt_cache_key", bad, MP_EINVAL);
    ck_assert_int_eq(set("upstream", "prompt_cache_key", "user"), MP_EINVAL);
    ck_assert_str_eq(
        err, "[upstream] prompt_cache_key: expected one of auto|conversation|off, got \"user\"");
    ck_assert_str_eq(mp_config_cache_key_name(MP_CACHE_KEY_CONVERSATION), "conversation");
    ck_assert_str_eq(mp_config_cache_key_name((enum mp_cache_key)7), "unknown");
}
END_TEST

START_TEST(test_config_set_names_case_insensitive)
{
    ck_assert_int_eq(set("SERVER", "Workers", "4"), MP_OK);
    ck_assert_uint_eq(cfg.server.workers, 4);
    ck_assert_int_eq(set("Memory", "MIN_CONFIDENCE", "0.5"), MP_OK);
    ck_assert_double_eq(cfg.memory.min_confidence, 0.5);
}
END_TEST

START_TEST(test_config_set_unknown_section_or_key_is_notfound)
{
    ck_assert_int_eq(set("servre", "workers", "4"), MP_NOTFOUND);
    ck_assert_str_eq(err, "unknown section [servre]");
    ck_assert_int_eq(set("server", "wokers", "4"), MP_NOTFOUND);
    ck_assert_str_eq(err, "unknown key 'wokers' in [server]");
    ck_assert_int_eq(set("upstream", "workers", "4"), MP_NOTFOUND);
    ck_assert_int_eq(set("governance", "nothing", "4"), MP_NOTFOUND);
    ck_assert(memcmp(&cfg, &before, sizeof(cfg)) == 0);
}
END_TEST

START_TEST(test_config_set_with_null_err_buffer)
{
    ck_assert_int_eq(mp_config_set(&cfg, "server", "workers", "x", NULL, 0), MP_EINVAL);
    ck_assert_int_eq(mp_config_set(&cfg, "server", "workers", "3", NULL, 0), MP_OK);
    ck_assert_uint_eq(cfg.server.workers, 3);
}
END_TEST

START_TEST(test_config_set_bad_value_quote_truncated_and_sanitized)
{
    char value[200];
    memset(value, 'a', sizeof(value) - 1);
    value[sizeof(value) - 1] = '\0';
    value[0] = '\x1b';
    ck_assert_int_eq(set("log", "level", value), MP_EINVAL);
    ck_assert_str_eq(err, "[log] level: expected one of debug|info|warn|error, got \"?"
                          "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\"");
}
END_TEST

/* ---- INI text ---- */

START_TEST(test_config_ini_sets_every_type)
{
    ck_assert_int_eq(parse("[server]\nlisten = 0.0.0.0:9090\nworkers = 4\n"
                           "max_body_bytes = 1048576\n"
                           "[upstream]\nbase_url = http://localhost:8000/openai/v1/\n"
                           "api_key = \"sk-with;semicolon\"\n"
                           "[memory]\nmode = entity\nuser_from_body = off\nmin_confidence = 0.9\n"
                           "user_header = X-Tenant-User\n"
                           "[storage]\npath = \"/srv/mem ; data\"\nsync = none\n"
                           "[log]\nlevel = debug\nformat = text\n"),
                     MP_OK);
    ck_assert_str_eq(cfg.server.listen.host, "0.0.0.0");
    ck_assert_uint_eq(cfg.server.listen.port, 9090);
    ck_assert_uint_eq(cfg.server.workers, 4);
    ck_assert_uint_eq(cfg.server.max_body_bytes, 1048576);
    ck_assert_str_eq(cfg.upstream.base_url.text, "http://localhost:8000/openai/v1");
    ck_assert_str_eq(cfg.upstream.api_key, "sk-with;semicolon");
    ck_assert_int_eq(cfg.memory.mode, MP_MEMORY_ENTITY);
    ck_assert(!cfg.memory.user_from_body);
    ck_assert_double_eq(cfg.memory.min_confidence, 0.9);
    ck_assert_str_eq(cfg.memory.user_header, "X-Tenant-User");
    ck_assert_str_eq(cfg.storage.path, "/srv/mem ; data");
    ck_assert_int_eq(cfg.storage.sync, MP_SYNC_NONE);
    ck_assert_int_eq(cfg.log.level, MP_LOG_DEBUG);
    ck_assert_int_eq(cfg.log.format, MP_LOG_TEXT);
    ck_assert_uint_eq(errs.count, 0);
}
END_TEST

START_TEST(test_config_ini_inline_comments_and_quoted_values)
{
    ck_assert_int_eq(parse("[memory] ; section comment\n"
                           "summary_model = gpt-4o ; the model\n"
                           "extraction_model = a#b # '#' glued to text is part of it\n"
                           "user_header = \"X-Id\" # quoted, then a comment\n"),
                     MP_OK);
    ck_assert_str_eq(cfg.memory.summary_model, "gpt-4o");
    ck_assert_str_eq(cfg.memory.extraction_model, "a#b");
    ck_assert_str_eq(cfg.memory.user_header, "X-Id");
}
END_TEST

START_TEST(test_config_ini_empty_api_key_means_forward)
{
    strcpy(cfg.upstream.api_key, "sk-old");
    ck_assert_int_eq(parse("[upstream]\napi_key =    ; forward the client's\n"), MP_OK);
    ck_assert_str_eq(cfg.upstream.api_key, "");
}
END_TEST

START_TEST(test_config_ini_long_line_error_has_line_number)
{
    size_t n = MP_CONFIG_LINE_MAX + 1;
    char *text = malloc(n + 64);
    ck_assert_ptr_nonnull(text);
    strcpy(text, "[server]\nworkers = 2\n");
    size_t at = strlen(text);
    memset(text + at, ' ', n);
    memcpy(text + at, "; comment", 9);
    strcpy(text + at + n, "\nmax_connections = 7\n");
    ck_assert_int_eq(parse(text), MP_EINVAL);
    ck_assert_uint_eq(errs.count, 1);
    expect_error(0, 3, "line too long (max 4096 bytes)");
    ck_assert_uint_eq(cfg.server.workers, 2);
    ck_assert_uint_eq(cfg.server.max_connections, 7);
    free(text);
}
END_TEST

START_TEST(test_config_ini_duplicate_key_names_first_line)
{
    ck_assert_int_eq(parse("[server]\nworkers = 2\n\n[log]\nlevel = warn\n[SERVER]\nWORKERS = 3\n"),
                     MP_EINVAL);
    ck_assert_uint_eq(errs.count, 1);
    expect_error(0, 7, "duplicate key 'workers' in [server] (first set on line 2)");
    ck_assert_uint_eq(cfg.server.workers, 2);
}
END_TEST

START_TEST(test_config_ini_duplicate_after_bad_value_still_reported)
{
    ck_assert_int_eq(parse("[server]\nworkers = many\nworkers = 3\n"), MP_EINVAL);
    ck_assert_uint_eq(errs.count, 2);
    expect_error(0, 2, "[server] workers: expected a decimal integer 0..256, got \"many\"");
    expect_error(1, 3, "duplicate key 'workers' in [server] (first set on line 2)");
}
END_TEST

START_TEST(test_config_ini_unknown_key_and_section_with_lines)
{
    ck_assert_int_eq(parse("[server]\nworkres = 2\n[cache]\nsize = 1\nttl = 2\n[log]\nlevel = "
                           "error\ncolour = yes\n"),
                     MP_EINVAL);
    ck_assert_uint_eq(errs.count, 3);
    expect_error(0, 2, "unknown key 'workres' in [server]");
    expect_error(1, 3, "unknown section [cache]");
    expect_error(2, 8, "unknown key 'colour' in [log]");
    ck_assert_int_eq(cfg.log.level, MP_LOG_ERROR);
}
END_TEST

START_TEST(test_config_ini_key_before_any_section)
{
    ck_assert_int_eq(parse("; header\nworkers = 2\n[server]\nworkers = 3\n"), MP_EINVAL);
    ck_assert_uint_eq(errs.count, 1);
    expect_error(0, 2, "key 'workers' outside of any section (add e.g. [server] above it)");
    ck_assert_uint_eq(cfg.server.workers, 3);
}
END_TEST

START_TEST(test_config_ini_syntax_error_reported_with_line)
{
    ck_assert_int_eq(parse("[server\n[log]\nlevel\nformat = \"text\n"), MP_EINVAL);
    ck_assert_uint_eq(errs.count, 3);
    expect_error(0, 1, "missing ']' in section header");
    expect_error(1, 3, "expected 'key = value'");
    expect_error(2, 4, "unterminated quoted value");
}
END_TEST

START_TEST(test_config_ini_crlf_and_bom)
{
    ck_assert_int_eq(parse("\xEF\xBB\xBF[server]\r\nworkers = 5\r\n[memory]\r\nmode = off\r\n"),
                     MP_OK);
    ck_assert_uint_eq(cfg.server.workers, 5);
    ck_assert_int_eq(cfg.memory.mode, MP_MEMORY_OFF);
}
END_TEST

START_TEST(test_config_ini_good_keys_applied_despite_errors)
{
    ck_assert_int_eq(parse("[server]\nworkers = 9\nmax_connections = -1\ndrain_timeout_ms = 5\n"),
                     MP_EINVAL);
    ck_assert_uint_eq(errs.count, 1);
    ck_assert_uint_eq(errs.items[0].line, 3);
    ck_assert_uint_eq(cfg.server.workers, 9);
    ck_assert_uint_eq(cfg.server.max_connections, 0);
    ck_assert_uint_eq(cfg.server.drain_timeout_ms, 5);
}
END_TEST

START_TEST(test_config_ini_errors_capped_and_counted)
{
    char text[4096] = "[server]\n";
    for (int i = 0; i < MP_CONFIG_ERRORS_MAX + 8; i++) {
        strcat(text, "bogus = 1\n");
    }
    ck_assert_int_eq(parse(text), MP_EINVAL);
    ck_assert_uint_eq(errs.count, MP_CONFIG_ERRORS_MAX);
    ck_assert_uint_eq(errs.dropped, 8);
    expect_error(MP_CONFIG_ERRORS_MAX - 1, MP_CONFIG_ERRORS_MAX + 1,
                 "unknown key 'bogus' in [server]");
}
END_TEST

START_TEST(test_config_ini_errors_append_to_existing_list)
{
    ck_assert_int_eq(parse("[server]\nworkers = x\n"), MP_EINVAL);
    ck_assert_int_eq(parse("[log]\nlevel = info\n"), MP_OK);
    ck_assert_int_eq(parse("[log]\nlevel = loud\n"), MP_EINVAL);
    ck_assert_uint_eq(errs.count, 2);
    expect_error(1, 2, "[log] level: expected one of debug|info|warn|error, got \"loud\"");
}
END_TEST

/* ---- secrets never leak into messages ---- */

static void assert_no_secret(const char *secret)
{
    for (size_t i = 0; i < errs.count; i++) {
        ck_assert_msg(strstr(errs.items[i].message, secret) == NULL, "secret leaked: %s",
                      errs.items[i].message);
    }
}

START_TEST(test_config_api_key_never_in_messages)
{
    char text[2048];
    char longkey[700];
    memset(longkey, 'S', sizeof(longkey) - 1);
    longkey[sizeof(longkey) - 1] = '\0';
    memcpy(longkey, "sk-SECRET", 9);
    snprintf(text, sizeof(text),
             "[upstream]\napi_key = sk-SECRET with space\napi_key = sk-SECRET2\n"
             "[upstream]\nAPI_KEY = \"sk-SECRET\\x\"\napi_key = \"sk-SECRET\n"
             "api_key = \"sk-SECRET\" junk\napi_key = sk-SECRET\x01\n"
             "[nowhere]\napi_key = sk-SECRET\n[upstream]\napi-key = sk-SECRET\n");
    ck_assert_int_eq(parse(text), MP_EINVAL);
    ck_assert_uint_eq(errs.count, 8);
    snprintf(text, sizeof(text), "[upstream]\napi_key = %s\n", longkey);
    ck_assert_int_eq(parse(text), MP_EINVAL);
    ck_assert_uint_eq(errs.count, 9);
    ck_assert_str_eq(errs.items[8].message, "[upstream] api_key: too long (max 511 bytes)");
    const char *const env[] = {"MEMPROXY_UPSTREAM_API_KEY=sk-SECRET\r\nInjected: 1",
                               "MEMPROXY_UPSTREAM_APIKEY=sk-SECRET", "MEMPROXY_API_KEY=sk-SECRET",
                               NULL};
    ck_assert_int_eq(mp_config_apply_env(&cfg, env, &errs), MP_EINVAL);
    ck_assert_uint_eq(errs.count, 12);
    assert_no_secret("SECRET");
    ck_assert_str_eq(cfg.upstream.api_key, "");
}
END_TEST

/* ---- environment ---- */

START_TEST(test_config_env_overrides_file)
{
    const char *const env[] = {"PATH=/usr/bin",
                               "MEMPROXY_SERVER_WORKERS=8",
                               "MEMPROXY_SERVER_MAX_BODY_BYTES=1000",
                               "MEMPROXY_UPSTREAM_BASE_URL=http://127.0.0.1:9999",
                               "MEMPROXY_LOG_LEVEL=debug",
                               NULL};
    ck_assert_int_eq(parse("[server]\nworkers = 2\n[log]\nlevel = error\n"), MP_OK);
    ck_assert_int_eq(mp_config_apply_env(&cfg, env, &errs), MP_OK);
    ck_assert_uint_eq(errs.count, 0);
    ck_assert_uint_eq(cfg.server.workers, 8);
    ck_assert_uint_eq(cfg.server.max_body_bytes, 1000);
    ck_assert_str_eq(cfg.upstream.base_url.host, "127.0.0.1");
    ck_assert_uint_eq(cfg.upstream.base_url.port, 9999);
    ck_assert_int_eq(cfg.log.level, MP_LOG_DEBUG);
}
END_TEST

START_TEST(test_config_env_later_entry_wins)
{
    const char *const env[] = {"MEMPROXY_SERVER_WORKERS=8", "MEMPROXY_SERVER_WORKERS=9", NULL};
    ck_assert_int_eq(mp_config_apply_env(&cfg, env, &errs), MP_OK);
    ck_assert_uint_eq(cfg.server.workers, 9);
}
END_TEST

START_TEST(test_config_env_unknown_variable_fails)
{
    const char *const env[] = {"MEMPROXY_SERVER_WORKRS=8", "MEMPROXY_CACHE_SIZE=1", "MEMPROXY_=1",
                               "MEMPROXY_LOG_LEVEL=warn", NULL};
    ck_assert_int_eq(mp_config_apply_env(&cfg, env, &errs), MP_EINVAL);
    ck_assert_uint_eq(errs.count, 3);
    ck_assert_str_eq(errs.items[0].source, "environment");
    ck_assert_uint_eq(errs.items[0].line, 0);
    ck_assert_str_eq(errs.items[0].message, "unknown environment variable MEMPROXY_SERVER_WORKRS "
                                            "(expected MEMPROXY_<SECTION>_<KEY>)");
    ck_assert_ptr_nonnull(strstr(errs.items[1].message, "MEMPROXY_CACHE_SIZE"));
    ck_assert_ptr_nonnull(strstr(errs.items[2].message, "MEMPROXY_ "));
    ck_assert_int_eq(cfg.log.level, MP_LOG_WARN);
}
END_TEST

START_TEST(test_config_env_bad_value_names_variable)
{
    const char *const env[] = {"MEMPROXY_MEMORY_MODE=smart", NULL};
    ck_assert_int_eq(mp_config_apply_env(&cfg, env, &errs), MP_EINVAL);
    ck_assert_uint_eq(errs.count, 1);
    ck_assert_str_eq(errs.items[0].message, "MEMPROXY_MEMORY_MODE: [memory] mode: expected one of "
                                            "off|buffer|summary|entity|hybrid, got \"smart\"");
    ck_assert_int_eq(cfg.memory.mode, MP_MEMORY_HYBRID);
}
END_TEST

START_TEST(test_config_env_empty_api_key_and_other_vars_ignored)
{
    const char *const env[] = {"MEMPROXY=1", "memproxy_server_workers=3", "XMEMPROXY_A_B=1",
                               "MEMPROXY_UPSTREAM_API_KEY=", NULL};
    strcpy(cfg.upstream.api_key, "sk-file");
    ck_assert_int_eq(mp_config_apply_env(&cfg, env, &errs), MP_OK);
    ck_assert_str_eq(cfg.upstream.api_key, "");
    ck_assert_uint_eq(cfg.server.workers, 0);
    ck_assert_int_eq(mp_config_apply_env(&cfg, NULL, &errs), MP_OK);
}
END_TEST

/* ---- governance, security, admin, encryption_key_file ---- */

/* err (from the last set) must name "[section] key" and not hold secret. */
static void expect_err_hides(const char *prefix, const char *secret)
{
    ck_assert_msg(strncmp(err, prefix, strlen(prefix)) == 0, "'%s' does not start with '%s'", err,
                  prefix);
    ck_assert_msg(strstr(err, secret) == NULL, "secret leaked: %s", err);
}

START_TEST(test_config_former_later_keys_now_accepted)
{
    static const char *const ok[][3] = {{"storage", "encryption_key_file", "/k"},
                                        {"governance", "retention_days", "10"},
                                        {"governance", "pii_retention_days", "5"},
                                        {"governance", "pii_mode", "drop"},
                                        {"governance", "inject_pii", "false"},
                                        {"governance", "sweep_interval_seconds", "60"},
                                        {"security", "tenant_from", "api_key"},
                                        {"security", "user_signature_key", SIGKEY},
                                        {"admin", "token", TOKEN}};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        ck_assert_msg(set(ok[i][0], ok[i][1], ok[i][2]) == MP_OK, "[%s] %s: %s", ok[i][0], ok[i][1],
                      err);
        ck_assert_str_eq(err, "");
    }
    ck_assert_str_eq(cfg.storage.encryption_key_file, "/k");
    ck_assert_uint_eq(cfg.governance.retention_days, 10);
    ck_assert_uint_eq(cfg.governance.pii_retention_days, 5);
    ck_assert_int_eq(cfg.governance.pii_mode, MP_PII_DROP);
    ck_assert(!cfg.governance.inject_pii);
    ck_assert_uint_eq(cfg.governance.sweep_interval_seconds, 60);
    ck_assert_int_eq(cfg.security.tenant_from, MP_TENANT_API_KEY);
    ck_assert_str_eq(cfg.security.user_signature_key, SIGKEY);
    ck_assert_str_eq(cfg.admin.token, TOKEN);
    ck_assert_int_eq(mp_config_validate(&cfg, &errs), MP_OK);
}
END_TEST

START_TEST(test_config_set_retention_days_bounds)
{
    static const char *const keys[] = {"retention_days", "pii_retention_days"};
    static const char *const bad[] = {"36501", "-1", "12x", "+1", " 1", "1.5", "", NULL};
    char want[128];
    for (size_t i = 0; i < 2; i++) {
        ck_assert_int_eq(set("governance", keys[i], "0"), MP_OK);
        ck_assert_int_eq(set("governance", keys[i], "36500"), MP_OK);
        expect_set("governance", keys[i], bad, MP_EINVAL);
        ck_assert_int_eq(set("governance", keys[i], "36501"), MP_EINVAL);
        snprintf(want, sizeof(want), "[governance] %s: \"36501\" is out of range 0..36500",
                 keys[i]);
        ck_assert_str_eq(err, want);
        ck_assert_int_eq(set("governance", keys[i], "-1"), MP_EINVAL);
        snprintf(want, sizeof(want),
                 "[governance] %s: expected a decimal integer 0..36500, got \"-1\"", keys[i]);
        ck_assert_str_eq(err, want);
        ck_assert_int_eq(set("governance", keys[i], "12x"), MP_EINVAL);
        snprintf(want, sizeof(want),
                 "[governance] %s: expected a decimal integer 0..36500, got \"12x\"", keys[i]);
        ck_assert_str_eq(err, want);
    }
    ck_assert_uint_eq(cfg.governance.retention_days, 36500);
    ck_assert_uint_eq(cfg.governance.pii_retention_days, 36500);
    ck_assert_int_eq(set("governance", "retention_days", "0"), MP_OK);
    ck_assert_uint_eq(cfg.governance.retention_days, 0);
    ck_assert_int_eq(set("governance", "pii_retention_days", "0"), MP_OK);
    ck_assert_uint_eq(cfg.governance.pii_retention_days, 0);
}
END_TEST

START_TEST(test_config_set_sweep_interval_bounds)
{
    static const char *const bad[] = {"0", "86401", "-1", "12x", "10s", "", NULL};
    ck_assert_int_eq(set("governance", "sweep_interval_seconds", "1"), MP_OK);
    ck_assert_uint_eq(cfg.governance.sweep_interval_seconds, 1);
    ck_assert_int_eq(set("governance", "sweep_interval_seconds", "86400"), MP_OK);
    ck_assert_uint_eq(cfg.governance.sweep_interval_seconds, 86400);
    expect_set("governance", "sweep_interval_seconds", bad, MP_EINVAL);
    ck_assert_int_eq(set("governance", "sweep_interval_seconds", "0"), MP_EINVAL);
    ck_assert_str_eq(err, "[governance] sweep_interval_seconds: \"0\" is out of range 1..86400");
    ck_assert_int_eq(set("governance", "sweep_interval_seconds", ""), MP_EINVAL);
    ck_assert_str_eq(err, "[governance] sweep_interval_seconds: empty value");
}
END_TEST

START_TEST(test_config_set_pii_mode_names)
{
    static const char *const bad[] = {"mask", "redacted", "store ", "1", "", NULL};
    ck_assert_int_eq(set("governance", "pii_mode", "redact"), MP_OK);
    ck_assert_int_eq(cfg.governance.pii_mode, MP_PII_REDACT);
    ck_assert_int_eq(set("governance", "pii_mode", "DROP"), MP_OK);
    ck_assert_int_eq(cfg.governance.pii_mode, MP_PII_DROP);
    ck_assert_int_eq(set("governance", "pii_mode", "Store"), MP_OK);
    ck_assert_int_eq(cfg.governance.pii_mode, MP_PII_STORE);
    expect_set("governance", "pii_mode", bad, MP_EINVAL);
    ck_assert_int_eq(set("governance", "pii_mode", "mask"), MP_EINVAL);
    ck_assert_str_eq(err, "[governance] pii_mode: expected one of store|redact|drop, got \"mask\"");
}
END_TEST

START_TEST(test_config_set_inject_pii_bool)
{
    static const char *const bad[] = {"maybe", "2", "", NULL};
    ck_assert_int_eq(set("governance", "inject_pii", "OFF"), MP_OK);
    ck_assert(!cfg.governance.inject_pii);
    ck_assert_int_eq(set("governance", "inject_pii", "yes"), MP_OK);
    ck_assert(cfg.governance.inject_pii);
    ck_assert_int_eq(set("governance", "inject_pii", "0"), MP_OK);
    ck_assert(!cfg.governance.inject_pii);
    expect_set("governance", "inject_pii", bad, MP_EINVAL);
    ck_assert_int_eq(set("governance", "inject_pii", "maybe"), MP_EINVAL);
    ck_assert_str_eq(
        err, "[governance] inject_pii: expected true|false|yes|no|on|off|1|0, got \"maybe\"");
}
END_TEST

START_TEST(test_config_set_record_temporary_chats_bool)
{
    static const char *const bad[] = {"sometimes", "2", "", NULL};
    ck_assert_int_eq(set("memory", "record_temporary_chats", "true"), MP_OK);
    ck_assert(cfg.memory.record_temporary_chats);
    ck_assert_int_eq(set("memory", "record_temporary_chats", "off"), MP_OK);
    ck_assert(!cfg.memory.record_temporary_chats);
    expect_set("memory", "record_temporary_chats", bad, MP_EINVAL);
}
END_TEST

START_TEST(test_config_set_tenant_from_names)
{
    static const char *const bad[] = {"api-key", "apikey", "header", "", NULL};
    ck_assert_int_eq(set("security", "tenant_from", "api_key"), MP_OK);
    ck_assert_int_eq(cfg.security.tenant_from, MP_TENANT_API_KEY);
    ck_assert_int_eq(set("security", "tenant_from", "NONE"), MP_OK);
    ck_assert_int_eq(cfg.security.tenant_from, MP_TENANT_NONE);
    ck_assert_int_eq(set("security", "tenant_from", "API_Key"), MP_OK);
    ck_assert_int_eq(cfg.security.tenant_from, MP_TENANT_API_KEY);
    expect_set("security", "tenant_from", bad, MP_EINVAL);
    ck_assert_int_eq(set("security", "tenant_from", "api-key"), MP_EINVAL);
    ck_assert_str_eq(err, "[security] tenant_from: expected one of none|api_key, got \"api-key\"");
}
END_TEST

START_TEST(test_config_set_encryption_key_file)
{
    char longest[MP_CONFIG_PATH_MAX + 1];
    ck_assert_int_eq(set("storage", "encryption_key_file", "/run/secrets/mem key"), MP_OK);
    ck_assert_str_eq(cfg.storage.encryption_key_file, "/run/secrets/mem key");
    ck_assert_int_eq(set("storage", "encryption_key_file", ""), MP_OK);
    ck_assert_str_eq(cfg.storage.encryption_key_file, "");
    ck_assert_int_eq(set("storage", "encryption_key_file", "/k\nx"), MP_EINVAL);
    ck_assert_str_eq(err, "[storage] encryption_key_file: expected a path without control "
                          "characters, got \"/k?x\"");
    memset(longest, 'p', MP_CONFIG_PATH_MAX);
    longest[MP_CONFIG_PATH_MAX - 1] = '\0';
    ck_assert_int_eq(set("storage", "encryption_key_file", longest), MP_OK);
    longest[MP_CONFIG_PATH_MAX - 1] = 'p';
    longest[MP_CONFIG_PATH_MAX] = '\0';
    ck_assert_int_eq(set("storage", "encryption_key_file", longest), MP_EINVAL);
    ck_assert_str_eq(err, "[storage] encryption_key_file: too long (max 1023 bytes)");
    ck_assert_uint_eq(strlen(cfg.storage.encryption_key_file), MP_CONFIG_PATH_MAX - 1);
}
END_TEST

/* user_signature_key, token and link_key share the rule: up to 1024
 * bytes of printable ASCII without spaces that look like a random key's
 * text, or empty; bad values are never shown. */
static void check_secret_key(const char *section, const char *key, char *field)
{
    static const char *const bad[] = {"tok SeCrEt",    "tok\tSeCrEt",       "tok\rSeCrEt",
                                      "tok\nSeCrEt",   "tok\vSeCrEt",       "tok\x01SeCrEt",
                                      "tok\x7fSeCrEt", "tok\xC3\xA9SeCrEt", NULL};
    char prefix[64];
    char want[160];
    char longest[MP_CONFIG_TOKEN_MAX + 1];
    snprintf(prefix, sizeof(prefix), "[%s] %s: ", section, key);
    ck_assert_int_eq(set(section, key, "Zm9v-bar_baz.~+/=:!Qx7Lk2Wp9Rt4Yh1"), MP_OK);
    ck_assert_str_eq(field, "Zm9v-bar_baz.~+/=:!Qx7Lk2Wp9Rt4Yh1");
    ck_assert_int_eq(set(section, key, ""), MP_OK);
    ck_assert_str_eq(field, "");
    expect_set(section, key, bad, MP_EINVAL);
    snprintf(want, sizeof(want), "%smust be printable ASCII without spaces (value not shown)",
             prefix);
    for (size_t i = 0; bad[i] != NULL; i++) {
        ck_assert_int_eq(set(section, key, bad[i]), MP_EINVAL);
        ck_assert_str_eq(err, want);
        expect_err_hides(prefix, "SeCrEt");
    }
    for (size_t i = 0; i < sizeof(longest); i++)
        longest[i] = "0123456789abcdefghijklmnopqrstuvwxyz"[(i * 7 + i / 36) % 36];
    memcpy(longest, "SeCrEt", 6);
    longest[MP_CONFIG_TOKEN_MAX - 1] = '\0'; /* 1024 bytes: fits */
    ck_assert_int_eq(set(section, key, longest), MP_OK);
    ck_assert_uint_eq(strlen(field), 1024);
    longest[MP_CONFIG_TOKEN_MAX - 1] = 'S';
    longest[MP_CONFIG_TOKEN_MAX] = '\0'; /* 1025 bytes */
    ck_assert_int_eq(set(section, key, longest), MP_EINVAL);
    snprintf(want, sizeof(want), "%stoo long (max 1024 bytes)", prefix);
    ck_assert_str_eq(err, want);
    expect_err_hides(prefix, "SeCrEt");
    ck_assert_uint_eq(strlen(field), 1024);
}

START_TEST(test_config_set_user_signature_key)
{
    check_secret_key("security", "user_signature_key", cfg.security.user_signature_key);
}
END_TEST

START_TEST(test_config_set_admin_token)
{
    check_secret_key("admin", "token", cfg.admin.token);
}
END_TEST

START_TEST(test_config_set_page_link_key)
{
    check_secret_key("page", "link_key", cfg.page.link_key);
}
END_TEST

/* A weak key is refused by name, with its file and line, never shown. */
START_TEST(test_config_weak_keys_refused_naming_the_key)
{
    ck_assert_int_eq(parse("[security]\nuser_signature_key = a\n"
                           "[admin]\ntoken = changeme-changeme-changeme-changeme\n"
                           "[page]\nlink_key = 0123456789abcdef0123456789abcdef\n"),
                     MP_EINVAL);
    ck_assert_uint_eq(errs.count, 3);
    expect_error(0, 2,
                 "[security] user_signature_key: too weak to be a key (shorter than 32 bytes; "
                 "value not shown): use the text of 16 or more random bytes, e.g. `openssl rand "
                 "-hex 32`");
    expect_error(1, 4,
                 "[admin] token: too weak to be a key (a shorter text repeated; value not "
                 "shown): use the text of 16 or more random bytes, e.g. `openssl rand -hex 32`");
    expect_error(2, 6,
                 "[page] link_key: too weak to be a key (a shorter text repeated; value not "
                 "shown): use the text of 16 or more random bytes, e.g. `openssl rand -hex 32`");
    const char *const env[] = {"MEMPROXY_PAGE_LINK_KEY=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", NULL};
    ck_assert_int_eq(mp_config_apply_env(&cfg, env, &errs), MP_EINVAL);
    ck_assert_str_eq(errs.items[3].message,
                     "MEMPROXY_PAGE_LINK_KEY: [page] link_key: too weak to be a key (too few "
                     "different characters; value not shown): use the text of 16 or more random "
                     "bytes, e.g. `openssl rand -hex 32`");
    assert_no_secret("changeme");
}
END_TEST

/* The page needs its own key, not the apps' signature key. */
START_TEST(test_config_page_needs_link_key_not_signature_key)
{
    ck_assert_int_eq(parse("[page]\nlisten = 127.0.0.1:8082\n"
                           "[security]\nuser_signature_key = " SIGKEY "\n"),
                     MP_OK);
    ck_assert_int_eq(mp_config_validate(&cfg, &errs), MP_EINVAL);
    ck_assert_str_eq(errs.items[errs.count - 1].message,
                     "[page] listen needs [page] link_key (or MEMPROXY_PAGE_LINK_KEY): the page's "
                     "links are signed with it");
    mp_config_defaults(&cfg);
    memset(&errs, 0, sizeof(errs));
    ck_assert_int_eq(parse("[page]\nlisten = 127.0.0.1:8082\nlink_key = " LINKEY "\n"), MP_OK);
    ck_assert_int_eq(mp_config_validate(&cfg, &errs), MP_OK);
    ck_assert_str_eq(cfg.security.user_signature_key, "");
}
END_TEST

START_TEST(test_config_ini_sets_governance_security_admin)
{
    ck_assert_int_eq(parse("[storage]\nencryption_key_file = \"/etc/memproxy/key ; 1\"\n"
                           "[governance]\nretention_days = 0 ; keep forever\n"
                           "pii_retention_days = 36500\npii_mode = Redact\ninject_pii = no\n"
                           "sweep_interval_seconds = 86400\n"
                           "[security]\ntenant_from = API_KEY\n"
                           "user_signature_key = \"hmac;key#1-3f9c2a7be1d04856af17c3e9\"\n"
                           "[admin]\ntoken = tok-123_ABC.xyz~b7e14c0f9a2d6e3851c7f0\n"),
                     MP_OK);
    ck_assert_uint_eq(errs.count, 0);
    ck_assert_str_eq(cfg.storage.encryption_key_file, "/etc/memproxy/key ; 1");
    ck_assert_uint_eq(cfg.governance.retention_days, 0);
    ck_assert_uint_eq(cfg.governance.pii_retention_days, 36500);
    ck_assert_int_eq(cfg.governance.pii_mode, MP_PII_REDACT);
    ck_assert(!cfg.governance.inject_pii);
    ck_assert_uint_eq(cfg.governance.sweep_interval_seconds, 86400);
    ck_assert_int_eq(cfg.security.tenant_from, MP_TENANT_API_KEY);
    ck_assert_str_eq(cfg.security.user_signature_key, "hmac;key#1-3f9c2a7be1d04856af17c3e9");
    ck_assert_str_eq(cfg.admin.token, "tok-123_ABC.xyz~b7e14c0f9a2d6e3851c7f0");
}
END_TEST

START_TEST(test_config_ini_bad_governance_values_reported_with_lines)
{
    ck_assert_int_eq(parse("[governance]\nretention_days = 36501\npii_retention_days = -1\n"
                           "pii_mode = hide\nsweep_interval_seconds = 0\n"
                           "[security]\ntenant_from = header\n"
                           "[admin]\ntoken = \"two SeCrEt words\"\n"),
                     MP_EINVAL);
    ck_assert_uint_eq(errs.count, 6);
    expect_error(0, 2, "[governance] retention_days: \"36501\" is out of range 0..36500");
    expect_error(
        1, 3, "[governance] pii_retention_days: expected a decimal integer 0..36500, got \"-1\"");
    expect_error(2, 4, "[governance] pii_mode: expected one of store|redact|drop, got \"hide\"");
    expect_error(3, 5, "[governance] sweep_interval_seconds: \"0\" is out of range 1..86400");
    expect_error(4, 7, "[security] tenant_from: expected one of none|api_key, got \"header\"");
    expect_error(5, 9, "[admin] token: must be printable ASCII without spaces (value not shown)");
    ck_assert(memcmp(&cfg, &before, sizeof(cfg)) == 0);
}
END_TEST

/* Every way a signature key or admin token can be refused: bad bytes, too
 * long, bad quoting, duplicates, environment, validation. */
START_TEST(test_config_new_secrets_never_in_messages)
{
    char text[4096];
    char longkey[1100];
    memset(longkey, 'S', sizeof(longkey) - 1);
    longkey[sizeof(longkey) - 1] = '\0';
    memcpy(longkey, "SeCrEt", 6);
    snprintf(text, sizeof(text),
             "[security]\nuser_signature_key = SeCrEt with space\nuser_signature_key = SeCrEt2\n"
             "[admin]\ntoken = \"SeCrEt\\x\"\ntoken = \"SeCrEt\ntoken = \"SeCrEt\" junk\n"
             "token = SeCrEt\x01\n");
    ck_assert_int_eq(parse(text), MP_EINVAL);
    ck_assert_uint_eq(errs.count, 6);
    snprintf(text, sizeof(text), "[admin]\nTOKEN = %s\n", longkey);
    ck_assert_int_eq(parse(text), MP_EINVAL);
    ck_assert_uint_eq(errs.count, 7);
    ck_assert_str_eq(errs.items[6].message, "[admin] token: too long (max 1024 bytes)");
    const char *const env[] = {"MEMPROXY_ADMIN_TOKEN=SeCrEt\r\nInjected: 1",
                               "MEMPROXY_SECURITY_USER_SIGNATURE_KEY=Se CrEt SeCrEt",
                               "MEMPROXY_ADMIN_TOKN=SeCrEt", NULL};
    ck_assert_int_eq(mp_config_apply_env(&cfg, env, &errs), MP_EINVAL);
    ck_assert_uint_eq(errs.count, 10);
    strcpy(cfg.security.user_signature_key, "SeCrEt in a struct");
    strcpy(cfg.admin.token, "SeCrEt\ttab");
    ck_assert_int_eq(mp_config_validate(&cfg, &errs), MP_EINVAL);
    ck_assert_uint_eq(errs.count, 12);
    assert_no_secret("SeCrEt");
    assert_no_secret("CrEt");
}
END_TEST

START_TEST(test_config_env_sets_governance_security_admin)
{
    const char *const env[] = {"MEMPROXY_GOVERNANCE_RETENTION_DAYS=0",
                               "MEMPROXY_GOVERNANCE_PII_RETENTION_DAYS=7",
                               "MEMPROXY_GOVERNANCE_PII_MODE=drop",
                               "MEMPROXY_GOVERNANCE_INJECT_PII=false",
                               "MEMPROXY_GOVERNANCE_SWEEP_INTERVAL_SECONDS=60",
                               "MEMPROXY_SECURITY_TENANT_FROM=api_key",
                               "MEMPROXY_SECURITY_USER_SIGNATURE_KEY=sig-env-" SIGKEY,
                               "MEMPROXY_STORAGE_ENCRYPTION_KEY_FILE=/run/secrets/mp.key",
                               "MEMPROXY_ADMIN_TOKEN=",
                               NULL};
    ck_assert_int_eq(
        parse("[governance]\nretention_days = 100\n[admin]\ntoken = file-token-" TOKEN "\n"),
        MP_OK);
    ck_assert_str_eq(cfg.admin.token, "file-token-" TOKEN);
    ck_assert_int_eq(mp_config_apply_env(&cfg, env, &errs), MP_OK);
    ck_assert_uint_eq(errs.count, 0);
    ck_assert_uint_eq(cfg.governance.retention_days, 0);
    ck_assert_uint_eq(cfg.governance.pii_retention_days, 7);
    ck_assert_int_eq(cfg.governance.pii_mode, MP_PII_DROP);
    ck_assert(!cfg.governance.inject_pii);
    ck_assert_uint_eq(cfg.governance.sweep_interval_seconds, 60);
    ck_assert_int_eq(cfg.security.tenant_from, MP_TENANT_API_KEY);
    ck_assert_str_eq(cfg.security.user_signature_key, "sig-env-" SIGKEY);
    ck_assert_str_eq(cfg.storage.encryption_key_file, "/run/secrets/mp.key");
    ck_assert_str_eq(cfg.admin.token, ""); /* the environment turns the admin API off */
}
END_TEST

START_TEST(test_config_env_bad_governance_values_name_variable)
{
    const char *const env[] = {"MEMPROXY_GOVERNANCE_RETENTION_DAYS=-1",
                               "MEMPROXY_ADMIN_TOKEN=has SeCrEt space", NULL};
    ck_assert_int_eq(mp_config_apply_env(&cfg, env, &errs), MP_EINVAL);
    ck_assert_uint_eq(errs.count, 2);
    ck_assert_str_eq(errs.items[0].message,
                     "MEMPROXY_GOVERNANCE_RETENTION_DAYS: [governance] retention_days: expected a "
                     "decimal integer 0..36500, got \"-1\"");
    ck_assert_str_eq(errs.items[1].message, "MEMPROXY_ADMIN_TOKEN: [admin] token: must be "
                                            "printable ASCII without spaces (value not shown)");
    ck_assert(memcmp(&cfg, &before, sizeof(cfg)) == 0);
}
END_TEST

START_TEST(test_config_validate_rechecks_governance_fields)
{
    strcpy(cfg.storage.encryption_key_file, "/k\x01");
    cfg.governance.retention_days = 36501;
    cfg.governance.pii_mode = (enum mp_pii_mode)3;
    cfg.governance.sweep_interval_seconds = 0;
    cfg.security.tenant_from = (enum mp_tenant_from)2;
    strcpy(cfg.security.user_signature_key, "a SeCrEt");
    memset(cfg.admin.token, 'T', sizeof(cfg.admin.token));
    ck_assert_int_eq(mp_config_validate(&cfg, &errs), MP_EINVAL);
    ck_assert_uint_eq(errs.count, 7);
    ck_assert_str_eq(errs.items[0].message, "[storage] encryption_key_file: expected a path "
                                            "without control characters, got \"/k?\"");
    ck_assert_str_eq(errs.items[1].message,
                     "[governance] retention_days: \"36501\" is out of range 0..36500");
    ck_assert_str_eq(errs.items[2].message,
                     "[governance] pii_mode: value 3 is not one of the names");
    ck_assert_str_eq(errs.items[3].message,
                     "[governance] sweep_interval_seconds: \"0\" is out of range 1..86400");
    ck_assert_str_eq(errs.items[4].message,
                     "[security] tenant_from: value 2 is not one of the names");
    ck_assert_str_eq(errs.items[5].message, "[security] user_signature_key: must be printable "
                                            "ASCII without spaces (value not shown)");
    ck_assert_str_eq(errs.items[6].message, "[admin] token: not NUL-terminated");
    assert_no_secret("SeCrEt");
}
END_TEST

/* ---- addresses ---- */

START_TEST(test_config_addr_accepts_host_ipv4_ipv6)
{
    static const struct {
        const char *text;
        const char *host;
        unsigned port;
    } ok[] = {{"127.0.0.1:8080", "127.0.0.1", 8080},
              {"localhost:0", "localhost", 0},
              {"example.com:65535", "example.com", 65535},
              {"[::1]:9000", "::1", 9000},
              {"[::]:80", "::", 80},
              {"[2001:db8::1:2]:443", "2001:db8::1:2", 443},
              {"[::ffff:10.0.0.1]:1", "::ffff:10.0.0.1", 1},
              {"my_host-1.lan:00080", "my_host-1.lan", 80}};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        struct mp_addr a;
        ck_assert_msg(mp_config_parse_addr(ok[i].text, &a) == MP_OK, "%s", ok[i].text);
        ck_assert_str_eq(a.host, ok[i].host);
        ck_assert_uint_eq(a.port, ok[i].port);
    }
}
END_TEST

START_TEST(test_config_addr_rejects_malformed)
{
    static const char *const bad[] = {"host",
                                      ":80",
                                      "[::1]80",
                                      "1.2.3.4:99999",
                                      "::1:80",
                                      "[::1]",
                                      "[::1]:",
                                      "host:",
                                      "host:-1",
                                      "host:+80",
                                      "host :80",
                                      "ho st:80",
                                      "[]:80",
                                      "[::1:80",
                                      "[1.2.3.4]:80",
                                      "1.2.3.256:80",
                                      "1.2.3:80",
                                      "01.2.3.4:80",
                                      "a..b:80",
                                      ".a:80",
                                      "h:80:81",
                                      "[::1]:80x",
                                      "[fe80::1%eth0]:80",
                                      "[1:2:3:4:5:6:7:8:9]:80",
                                      "[1::2::3]:80",
                                      "[12345::]:80",
                                      "",
                                      "host:123456",
                                      NULL};
    struct mp_addr a;
    memset(&a, 0x77, sizeof(a));
    struct mp_addr untouched = a;
    for (size_t i = 0; bad[i] != NULL; i++) {
        ck_assert_msg(mp_config_parse_addr(bad[i], &a) == MP_EINVAL, "accepted '%s'", bad[i]);
    }
    ck_assert(memcmp(&a, &untouched, sizeof(a)) == 0);
}
END_TEST

/* ---- URLs ---- */

START_TEST(test_config_url_normalizes)
{
    static const struct {
        const char *in;
        const char *text;
        bool https;
        const char *host;
        unsigned port;
        const char *path;
    } ok[] = {
        {"https://api.openai.com/v1/", "https://api.openai.com/v1", true, "api.openai.com", 443,
         "/v1"},
        {"HTTP://LocalHost:8080", "http://localhost:8080", false, "localhost", 8080, ""},
        {"http://[::1]:9000/x//", "http://[::1]:9000/x", false, "::1", 9000, "/x"},
        {"http://10.0.0.2/", "http://10.0.0.2", false, "10.0.0.2", 80, ""},
        {"https://h:443/a/b%20c", "https://h:443/a/b%20c", true, "h", 443, "/a/b%20c"},
        {"hTTpS://[2001:DB8::1]/v1", "https://[2001:db8::1]/v1", true, "2001:db8::1", 443, "/v1"},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        struct mp_url u;
        ck_assert_msg(mp_config_parse_url(ok[i].in, &u) == MP_OK, "%s", ok[i].in);
        ck_assert_str_eq(u.text, ok[i].text);
        ck_assert(u.https == ok[i].https);
        ck_assert_str_eq(u.host, ok[i].host);
        ck_assert_uint_eq(u.port, ok[i].port);
        ck_assert_str_eq(u.path, ok[i].path);
    }
}
END_TEST

START_TEST(test_config_url_rejects_malformed)
{
    static const char *const bad[] = {"ftp://x/v1",
                                      "https://user@x/v1",
                                      "https://user:pw@x",
                                      "https://x/v1?a=b",
                                      "https://x/v1#frag",
                                      "https://x/v 1",
                                      "https://x/v1\n",
                                      "https://",
                                      "https:///v1",
                                      "https://x:0/v1",
                                      "https://x:65536",
                                      "https://:80/v1",
                                      "http:/x",
                                      "x/v1",
                                      "https://x:/v1",
                                      "https://x/%zz",
                                      "https://x/%2",
                                      "https://[::1/v1",
                                      "https://x\\y/v1",
                                      "https://x/\xC3\xA9",
                                      "https://a..b/",
                                      "//x/v1",
                                      "",
                                      NULL};
    struct mp_url u;
    memset(&u, 0x33, sizeof(u));
    for (size_t i = 0; bad[i] != NULL; i++) {
        ck_assert_msg(mp_config_parse_url(bad[i], &u) == MP_EINVAL, "accepted '%s'", bad[i]);
    }
    ck_assert_uint_eq((unsigned char)u.text[0], 0x33);
}
END_TEST

START_TEST(test_config_url_too_long_rejected)
{
    char text[MP_CONFIG_URL_MAX + 16];
    strcpy(text, "https://x/");
    memset(text + 10, 'p', sizeof(text) - 11);
    text[sizeof(text) - 1] = '\0';
    struct mp_url u;
    ck_assert_int_eq(mp_config_parse_url(text, &u), MP_EINVAL);
    text[MP_CONFIG_URL_MAX - 1] = '\0'; /* 1023 bytes: fits */
    ck_assert_int_eq(mp_config_parse_url(text, &u), MP_OK);
    ck_assert_uint_eq(strlen(u.text), MP_CONFIG_URL_MAX - 1);
}
END_TEST

/* ---- validation ---- */

START_TEST(test_config_validate_summarize_at_below_buffer)
{
    cfg.memory.buffer_messages = 30;
    cfg.memory.summarize_at = 29;
    ck_assert_int_eq(mp_config_validate(&cfg, &errs), MP_EINVAL);
    ck_assert_uint_eq(errs.count, 1);
    ck_assert_str_eq(errs.items[0].message,
                     "[memory] summarize_at (29) must be >= buffer_messages (30)");
    ck_assert_uint_eq(errs.items[0].line, 0);
    memset(&errs, 0, sizeof(errs));
    cfg.memory.summarize_at = 30;
    ck_assert_int_eq(mp_config_validate(&cfg, &errs), MP_OK);
}
END_TEST

/* workers x postgres_pool connections at most: two for the background
 * threads, the rest split among the workers' loops, at least one each. */
START_TEST(test_config_postgres_loop_pool_splits_the_budget)
{
    ck_assert_uint_eq(mp_config_postgres_loop_pool(4, 1), 2);
    ck_assert_uint_eq(mp_config_postgres_loop_pool(4, 2), 3);
    ck_assert_uint_eq(mp_config_postgres_loop_pool(4, 3), 3);
    ck_assert_uint_eq(mp_config_postgres_loop_pool(3, 1), 1);
    ck_assert_uint_eq(mp_config_postgres_loop_pool(2, 2), 1);
    ck_assert_uint_eq(mp_config_postgres_loop_pool(2, 1), 0);
    ck_assert_uint_eq(mp_config_postgres_loop_pool(1, 8), 0);
    ck_assert_uint_eq(mp_config_postgres_loop_pool(4, 0), 0);
    for (unsigned pool = 1; pool <= 64; pool++) {
        for (unsigned w = 1; w <= 256; w++) {
            unsigned loop = mp_config_postgres_loop_pool(pool, w);
            if (pool * w < w + MP_CONFIG_PG_BACKGROUND) {
                ck_assert_uint_eq(loop, 0);
                continue;
            }
            ck_assert_uint_ge(loop, 1);
            ck_assert_uint_le(loop * w + MP_CONFIG_PG_BACKGROUND, pool * w);
            ck_assert_uint_gt((loop + 1) * w + MP_CONFIG_PG_BACKGROUND, pool * w); /* all used */
        }
    }
}
END_TEST

/* max_connections auto: two descriptors per request after a reserve of
 * 256 (and the database connections with PostgreSQL), 1 .. 1000000. */
START_TEST(test_config_auto_max_connections_follows_the_open_file_limit)
{
    ck_assert_uint_eq(mp_config_auto_max_connections(&cfg, 2, 1024), 384);
    ck_assert_uint_eq(mp_config_auto_max_connections(&cfg, 2, 65536), 32640);
    ck_assert_uint_eq(mp_config_auto_max_connections(&cfg, 2, 1048576), 524160);
    ck_assert_uint_eq(mp_config_auto_max_connections(&cfg, 2, 100), 1);
    ck_assert_uint_eq(mp_config_auto_max_connections(&cfg, 2, 0), 1);
    ck_assert_uint_eq(mp_config_auto_max_connections(&cfg, 2, 1ULL << 40), 1000000);
    ck_assert_int_eq(set("storage", "backend", "postgres"), MP_OK);
    ck_assert_int_eq(set("storage", "postgres_pool", "8"), MP_OK);
    ck_assert_uint_eq(mp_config_auto_max_connections(&cfg, 2, 65536), (65536 - 256 - 16) / 2);
    ck_assert_int_eq(set("server", "max_connections", "0"), MP_OK);
    ck_assert_int_eq(set("server", "max_connections", "1000001"), MP_EINVAL);
}
END_TEST

START_TEST(test_config_validate_postgres_budget)
{
    ck_assert_int_eq(set("storage", "backend", "postgres"), MP_OK);
    ck_assert_int_eq(set("storage", "postgres_url", "host=127.0.0.1"), MP_OK);
    ck_assert_int_eq(set("storage", "postgres_pool", "2"), MP_OK);
    ck_assert_int_eq(set("server", "workers", "1"), MP_OK);
    ck_assert_int_eq(mp_config_validate(&cfg, &errs), MP_EINVAL);
    ck_assert_uint_eq(errs.count, 1);
    ck_assert_str_eq(errs.items[0].message,
                     "[storage] postgres_pool (2) x [server] workers (1) must be at least "
                     "workers + 2: each worker's loop needs a connection, and the memory worker "
                     "and the admin plane one each");
    memset(&errs, 0, sizeof(errs));
    ck_assert_int_eq(set("server", "workers", "2"), MP_OK);
    ck_assert_int_eq(mp_config_validate(&cfg, &errs), MP_OK);
    ck_assert_int_eq(set("server", "workers", "0"), MP_OK); /* auto: checked at start */
    ck_assert_int_eq(mp_config_validate(&cfg, &errs), MP_OK);
    ck_assert_int_eq(set("storage", "backend", "lmdb"), MP_OK);
    ck_assert_int_eq(set("storage", "postgres_url", ""), MP_OK);
    ck_assert_int_eq(set("server", "workers", "1"), MP_OK);
    ck_assert_int_eq(mp_config_validate(&cfg, &errs), MP_OK); /* LMDB: no budget */
}
END_TEST

START_TEST(test_config_validate_listeners_must_differ)
{
    ck_assert_int_eq(set("server", "admin_listen", "127.0.0.1:8080"), MP_OK);
    ck_assert_int_eq(mp_config_validate(&cfg, &errs), MP_EINVAL);
    ck_assert_uint_eq(errs.count, 1);
    ck_assert_str_eq(errs.items[0].message, "[server] listen and admin_listen must differ (both "
                                            "use port 8080 on 127.0.0.1 / 127.0.0.1)");
    /* A wildcard takes the port on every address. */
    ck_assert_int_eq(set("server", "listen", "0.0.0.0:8080"), MP_OK);
    ck_assert_int_eq(mp_config_validate(&cfg, &errs), MP_EINVAL);
    ck_assert_int_eq(set("server", "listen", "[::]:8080"), MP_OK);
    ck_assert_int_eq(mp_config_validate(&cfg, &errs), MP_EINVAL);
    ck_assert_int_eq(set("server", "listen", "LOCALHOST:8080"), MP_OK);
    ck_assert_int_eq(set("server", "admin_listen", "localhost:8080"), MP_OK);
    ck_assert_int_eq(mp_config_validate(&cfg, &errs), MP_EINVAL);
    ck_assert_uint_eq(errs.count, 4);
}
END_TEST

START_TEST(test_config_validate_listeners_allowed)
{
    ck_assert_int_eq(set("server", "listen", "127.0.0.1:0"), MP_OK);
    ck_assert_int_eq(set("server", "admin_listen", "127.0.0.1:0"), MP_OK);
    ck_assert_int_eq(mp_config_validate(&cfg, &errs), MP_OK);
    ck_assert_int_eq(set("server", "listen", "127.0.0.1:9000"), MP_OK);
    ck_assert_int_eq(set("server", "admin_listen", "127.0.0.2:9000"), MP_OK);
    ck_assert_int_eq(mp_config_validate(&cfg, &errs), MP_OK);
    ck_assert_uint_eq(errs.count, 0);
}
END_TEST

START_TEST(test_config_validate_rechecks_hand_built_fields)
{
    cfg.server.workers = 257;
    cfg.memory.min_confidence = 1.5;
    cfg.log.level = (enum mp_log_level)9;
    cfg.memory.summary_model[0] = '\0';
    strcpy(cfg.server.listen.host, "not a host");
    strcpy(cfg.upstream.base_url.text, "ftp://x");
    memset(cfg.storage.path, 'p', sizeof(cfg.storage.path));
    ck_assert_int_eq(mp_config_validate(&cfg, &errs), MP_EINVAL);
    ck_assert_uint_eq(errs.count, 7);
    ck_assert_str_eq(errs.items[0].message, "[server] listen: invalid host");
    ck_assert_str_eq(errs.items[1].message, "[server] workers: \"257\" is out of range 0..256");
    ck_assert_ptr_nonnull(strstr(errs.items[2].message, "[upstream] base_url: expected"));
    ck_assert_str_eq(errs.items[3].message, "[memory] summary_model: empty value");
    ck_assert_ptr_nonnull(strstr(errs.items[4].message, "[memory] min_confidence: expected"));
    ck_assert_str_eq(errs.items[5].message, "[storage] path: not NUL-terminated");
    ck_assert_str_eq(errs.items[6].message, "[log] level: value 9 is not one of the names");
    ck_assert_str_eq(errs.items[6].source, "");
}
END_TEST

/* ---- names ---- */

START_TEST(test_config_key_line_names_the_line_that_sets_it)
{
    static const char text[] = "; a comment\n"
                               "[server]\n"
                               "workers = 2\n"
                               "[Memory]\n"
                               "  Summarize_At = 20   ; inline\n"
                               "buffer_messages = 30\n"
                               "[server]\n"
                               "listen = 127.0.0.1:1\n";
    size_t n = sizeof(text) - 1;
    ck_assert_uint_eq(mp_config_key_line(text, n, "server", "workers"), 3);
    /* section and key matched case-insensitively, as the parser does */
    ck_assert_uint_eq(mp_config_key_line(text, n, "memory", "summarize_at"), 5);
    ck_assert_uint_eq(mp_config_key_line(text, n, "memory", "buffer_messages"), 6);
    /* a section given twice */
    ck_assert_uint_eq(mp_config_key_line(text, n, "server", "listen"), 8);
    /* a key of another section, a key not set, an empty text */
    ck_assert_uint_eq(mp_config_key_line(text, n, "server", "buffer_messages"), 0);
    ck_assert_uint_eq(mp_config_key_line(text, n, "memory", "mode"), 0);
    ck_assert_uint_eq(mp_config_key_line("", 0, "memory", "mode"), 0);
}
END_TEST

START_TEST(test_config_enum_names)
{
    ck_assert_str_eq(mp_config_mode_name(MP_MEMORY_OFF), "off");
    ck_assert_str_eq(mp_config_mode_name(MP_MEMORY_BUFFER), "buffer");
    ck_assert_str_eq(mp_config_mode_name(MP_MEMORY_SUMMARY), "summary");
    ck_assert_str_eq(mp_config_mode_name(MP_MEMORY_ENTITY), "entity");
    ck_assert_str_eq(mp_config_mode_name(MP_MEMORY_HYBRID), "hybrid");
    ck_assert_str_eq(mp_config_mode_name((enum mp_memory_mode)5), "unknown");
    ck_assert_str_eq(mp_config_level_name(MP_LOG_DEBUG), "debug");
    ck_assert_str_eq(mp_config_level_name(MP_LOG_INFO), "info");
    ck_assert_str_eq(mp_config_level_name(MP_LOG_WARN), "warn");
    ck_assert_str_eq(mp_config_level_name(MP_LOG_ERROR), "error");
    ck_assert_str_eq(mp_config_level_name((enum mp_log_level) - 1), "unknown");
    ck_assert_str_eq(mp_config_sync_name(MP_SYNC_META), "meta");
    ck_assert_str_eq(mp_config_format_name(MP_LOG_TEXT), "text");
    ck_assert_str_eq(mp_config_format_name((enum mp_log_format)2), "unknown");
    ck_assert_str_eq(mp_config_pii_mode_name(MP_PII_STORE), "store");
    ck_assert_str_eq(mp_config_pii_mode_name(MP_PII_REDACT), "redact");
    ck_assert_str_eq(mp_config_pii_mode_name(MP_PII_DROP), "drop");
    ck_assert_str_eq(mp_config_pii_mode_name((enum mp_pii_mode)3), "unknown");
    ck_assert_str_eq(mp_config_tenant_from_name(MP_TENANT_NONE), "none");
    ck_assert_str_eq(mp_config_tenant_from_name(MP_TENANT_API_KEY), "api_key");
    ck_assert_str_eq(mp_config_tenant_from_name((enum mp_tenant_from)2), "unknown");
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("config");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_config_defaults_match_contract);
    tcase_add_test(tc, test_config_defaults_pass_validation);
    tcase_add_test(tc, test_config_contract_sample_gives_defaults);
    tcase_add_test(tc, test_config_set_integer_accepts_range_bounds);
    tcase_add_test(tc, test_config_set_integer_rejects_non_decimal);
    tcase_add_test(tc, test_config_set_integer_rejects_out_of_range);
    tcase_add_test(tc, test_config_set_empty_value_rejected);
    tcase_add_test(tc, test_config_set_bool_spellings);
    tcase_add_test(tc, test_config_set_enum_names);
    tcase_add_test(tc, test_config_set_enum_rejects_other_words);
    tcase_add_test(tc, test_config_set_min_confidence_accepts_decimals);
    tcase_add_test(tc, test_config_set_min_confidence_rejects_bad_numbers);
    tcase_add_test(tc, test_config_set_user_header_must_be_token);
    tcase_add_test(tc, test_config_set_model_names);
    tcase_add_test(tc, test_config_set_storage_path);
    tcase_add_test(tc, test_config_set_api_key);
    tcase_add_test(tc, test_config_forward_memory_headers_is_off_by_default);
    tcase_add_test(tc, test_config_set_addresses_and_url);
    tcase_add_test(tc, test_config_set_names_case_insensitive);
    tcase_add_test(tc, test_config_set_unknown_section_or_key_is_notfound);
    tcase_add_test(tc, test_config_set_with_null_err_buffer);
    tcase_add_test(tc, test_config_set_bad_value_quote_truncated_and_sanitized);
    tcase_add_test(tc, test_config_ini_sets_every_type);
    tcase_add_test(tc, test_config_ini_inline_comments_and_quoted_values);
    tcase_add_test(tc, test_config_ini_empty_api_key_means_forward);
    tcase_add_test(tc, test_config_ini_long_line_error_has_line_number);
    tcase_add_test(tc, test_config_ini_duplicate_key_names_first_line);
    tcase_add_test(tc, test_config_ini_duplicate_after_bad_value_still_reported);
    tcase_add_test(tc, test_config_ini_unknown_key_and_section_with_lines);
    tcase_add_test(tc, test_config_ini_key_before_any_section);
    tcase_add_test(tc, test_config_ini_syntax_error_reported_with_line);
    tcase_add_test(tc, test_config_ini_crlf_and_bom);
    tcase_add_test(tc, test_config_ini_good_keys_applied_despite_errors);
    tcase_add_test(tc, test_config_ini_errors_capped_and_counted);
    tcase_add_test(tc, test_config_ini_errors_append_to_existing_list);
    tcase_add_test(tc, test_config_api_key_never_in_messages);
    tcase_add_test(tc, test_config_env_overrides_file);
    tcase_add_test(tc, test_config_env_later_entry_wins);
    tcase_add_test(tc, test_config_env_unknown_variable_fails);
    tcase_add_test(tc, test_config_env_bad_value_names_variable);
    tcase_add_test(tc, test_config_env_empty_api_key_and_other_vars_ignored);
    tcase_add_test(tc, test_config_former_later_keys_now_accepted);
    tcase_add_test(tc, test_config_set_retention_days_bounds);
    tcase_add_test(tc, test_config_set_sweep_interval_bounds);
    tcase_add_test(tc, test_config_set_pii_mode_names);
    tcase_add_test(tc, test_config_set_inject_pii_bool);
    tcase_add_test(tc, test_config_set_record_temporary_chats_bool);
    tcase_add_test(tc, test_config_set_tenant_from_names);
    tcase_add_test(tc, test_config_set_prompt_cache_key_names);
    tcase_add_test(tc, test_config_set_encryption_key_file);
    tcase_add_test(tc, test_config_set_user_signature_key);
    tcase_add_test(tc, test_config_set_page_link_key);
    tcase_add_test(tc, test_config_weak_keys_refused_naming_the_key);
    tcase_add_test(tc, test_config_page_needs_link_key_not_signature_key);
    tcase_add_test(tc, test_config_set_admin_token);
    tcase_add_test(tc, test_config_ini_sets_governance_security_admin);
    tcase_add_test(tc, test_config_ini_bad_governance_values_reported_with_lines);
    tcase_add_test(tc, test_config_new_secrets_never_in_messages);
    tcase_add_test(tc, test_config_env_sets_governance_security_admin);
    tcase_add_test(tc, test_config_env_bad_governance_values_name_variable);
    tcase_add_test(tc, test_config_validate_rechecks_governance_fields);
    tcase_add_test(tc, test_config_addr_accepts_host_ipv4_ipv6);
    tcase_add_test(tc, test_config_addr_rejects_malformed);
    tcase_add_test(tc, test_config_url_normalizes);
    tcase_add_test(tc, test_config_url_rejects_malformed);
    tcase_add_test(tc, test_config_url_too_long_rejected);
    tcase_add_test(tc, test_config_validate_summarize_at_below_buffer);
    tcase_add_test(tc, test_config_postgres_loop_pool_splits_the_budget);
    tcase_add_test(tc, test_config_validate_postgres_budget);
    tcase_add_test(tc, test_config_auto_max_connections_follows_the_open_file_limit);
    tcase_add_test(tc, test_config_validate_listeners_must_differ);
    tcase_add_test(tc, test_config_validate_listeners_allowed);
    tcase_add_test(tc, test_config_validate_rechecks_hand_built_fields);
    tcase_add_test(tc, test_config_enum_names);
    tcase_add_test(tc, test_config_key_line_names_the_line_that_sets_it);
    suite_add_tcase(s, tc);
    return s;
}
