/* memproxy's configuration keys. One table says, for every key, where it
 * lives in struct mp_config, what type its value has and which range is
 * allowed; mp_config_set, the INI reader, the environment reader and
 * mp_config_validate all go through it. No I/O here: text and the
 * environment come in as arguments (proxy/config_load.c reads them).
 *
 * Every value is parsed into a staging union first and copied into the
 * struct only when it is valid, so a failed set leaves the config unchanged.
 * Error messages quote bad values (cut to 60 bytes, control bytes shown as
 * '?') to help the operator, except for secrets, which are never repeated. */
#include "config/config.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "errtext.h"
#include "keystrength.h"
#include "config/ini.h"
#include "status.h"

_Static_assert(MP_INI_LINE_MAX == MP_CONFIG_LINE_MAX, "ini and config line limits differ");
_Static_assert(sizeof(unsigned) == sizeof(uint32_t), "workers is stored as 32 bits");
_Static_assert(MP_CONFIG_BATCH_TURNS_MAX == 64, "[memory] extract_batch_turns allows 1..64");
_Static_assert(
    sizeof(enum mp_memory_mode) == sizeof(int) && sizeof(enum mp_retrieval) == sizeof(int) &&
        sizeof(enum mp_llm_api) == sizeof(int) && sizeof(enum mp_storage_sync) == sizeof(int) &&
        sizeof(enum mp_storage_backend) == sizeof(int) &&
        sizeof(enum mp_log_level) == sizeof(int) && sizeof(enum mp_log_format) == sizeof(int) &&
        sizeof(enum mp_pii_mode) == sizeof(int) && sizeof(enum mp_tenant_from) == sizeof(int),
    "enums are staged as int");
_Static_assert(MP_CONFIG_TOKEN_MAX >= MP_CONFIG_PATH_MAX &&
                   MP_CONFIG_TOKEN_MAX >= MP_CONFIG_URL_MAX &&
                   MP_CONFIG_TOKEN_MAX >= MP_CONFIG_SECRET_MAX,
               "the staging buffer holds the longest string field");

#define QUOTE_BYTES 60 /* how much of a bad value an error message repeats */
#define QUOTE_MAX   (QUOTE_BYTES + 4)
#define ENV_PREFIX  "MEMPROXY_"
#define ENV_TEST    "MEMPROXY_TEST_" /* test hooks read by the proxy, not keys */

enum key_type {
    K_ADDR,     /* struct mp_addr */
    K_OPTADDR,  /* struct mp_addr: like K_ADDR but may be empty (feature off: host "") */
    K_URL,      /* struct mp_url */
    K_OPTURL,   /* struct mp_url: like K_URL but may be empty (feature off: text "") */
    K_UINT,     /* uint32_t or uint64_t (by size), min .. max */
    K_BOOL,     /* bool */
    K_RATIO,    /* double, min .. max */
    K_ENUM,     /* an enum, one of names[] */
    K_TOKEN,    /* char[]: an HTTP token (header name) */
    K_OPTTOKEN, /* char[]: like K_TOKEN but may be empty (feature off) */
    K_MODEL,    /* char[]: printable ASCII, no spaces */
    K_SECRET,   /* char[]: like K_MODEL but may be empty; never quoted */
    K_KEY,      /* char[]: like K_SECRET, and when set a random key's text (keystrength.h) */
    K_CONNINFO, /* char[]: printable ASCII, spaces too, may be empty; never quoted */
    K_TEXT,     /* char[]: printable ASCII, spaces too, may be empty (quote a trailing space) */
    K_PATH,     /* char[]: no control bytes */
    K_OPTPATH   /* char[]: like K_PATH but may be empty (feature off) */
};

struct key_def {
    const char *section;
    const char *name;
    enum key_type type;
    size_t offset;
    size_t size;
    uint64_t min;
    uint64_t max;
    const char *const *names; /* K_ENUM: value names by enum value, NULL-terminated */
};

/* A parsed value before it is copied into the struct (size bytes of it). */
union staged {
    struct mp_addr addr;
    struct mp_url url;
    uint32_t u32;
    uint64_t u64;
    bool b;
    double d;
    int e;
    char s[MP_CONFIG_TOKEN_MAX]; /* the longest string field (asserted above) */
};

static const char *const mode_names[] = {"off", "buffer", "summary", "entity", "hybrid", NULL};
static const char *const retrieval_names[] = {"relevant", "recent", NULL};
static const char *const llm_names[] = {"openai", "anthropic", NULL};
static const char *const client_names[] = {"curl", "native", NULL};
static const char *const cache_key_names[] = {"auto", "conversation", "off", NULL};
static const char *const sync_names[] = {"full", "meta", "none", NULL};
static const char *const backend_names[] = {"lmdb", "postgres", NULL};
static const char *const level_names[] = {"debug", "info", "warn", "error", NULL};
static const char *const format_names[] = {"json", "text", NULL};
static const char *const pii_mode_names[] = {"store", "redact", "drop", NULL};
static const char *const tenant_names[] = {"none", "api_key", NULL};

static const char *const sections[] = {"server",  "upstream", "anthropic",  "memory",
                                       "storage", "log",      "governance", "security",
                                       "admin",   "page",     "mcp",        "embeddings"};
#define SECTION_COUNT (sizeof(sections) / sizeof(sections[0]))

#define FIELD(m) offsetof(struct mp_config, m), sizeof(((struct mp_config *)0)->m)

static const struct key_def keys[] = {
    {"server", "listen", K_ADDR, FIELD(server.listen), 0, 0, NULL},
    {"server", "admin_listen", K_ADDR, FIELD(server.admin_listen), 0, 0, NULL},
    {"server", "workers", K_UINT, FIELD(server.workers), 0, 256, NULL},
    {"server", "max_body_bytes", K_UINT, FIELD(server.max_body_bytes), 1, 1073741824, NULL},
    {"server", "max_header_bytes", K_UINT, FIELD(server.max_header_bytes), 1024, 1048576, NULL},
    {"server", "client_timeout_ms", K_UINT, FIELD(server.client_timeout_ms), 1, 3600000, NULL},
    {"server", "max_connections", K_UINT, FIELD(server.max_connections), 0, 1000000, NULL},
    {"server", "drain_timeout_ms", K_UINT, FIELD(server.drain_timeout_ms), 0, 3600000, NULL},
    {"upstream", "base_url", K_URL, FIELD(upstream.base_url), 0, 0, NULL},
    {"upstream", "api_key", K_SECRET, FIELD(upstream.api_key), 0, 0, NULL},
    {"upstream", "connect_timeout_ms", K_UINT, FIELD(upstream.connect_timeout_ms), 1, 600000, NULL},
    {"upstream", "ca_file", K_OPTPATH, FIELD(upstream.ca_file), 0, 0, NULL},
    {"upstream", "idle_timeout_ms", K_UINT, FIELD(upstream.idle_timeout_ms), 1, 3600000, NULL},
    {"upstream", "client", K_ENUM, FIELD(upstream.client), 0, 0, client_names},
    {"upstream", "prompt_cache_key", K_ENUM, FIELD(upstream.prompt_cache_key), 0, 0,
     cache_key_names},
    {"upstream", "forward_memory_headers", K_BOOL, FIELD(upstream.forward_memory_headers), 0, 0,
     NULL},
    {"anthropic", "base_url", K_OPTURL, FIELD(anthropic.base_url), 0, 0, NULL},
    {"anthropic", "api_key", K_SECRET, FIELD(anthropic.api_key), 0, 0, NULL},
    {"memory", "mode", K_ENUM, FIELD(memory.mode), 0, 0, mode_names},
    {"memory", "user_header", K_TOKEN, FIELD(memory.user_header), 0, 0, NULL},
    {"memory", "user_from_body", K_BOOL, FIELD(memory.user_from_body), 0, 0, NULL},
    {"memory", "buffer_messages", K_UINT, FIELD(memory.buffer_messages), 1, 1000, NULL},
    {"memory", "summarize_at", K_UINT, FIELD(memory.summarize_at), 2, 10000, NULL},
    {"memory", "summary_max_words", K_UINT, FIELD(memory.summary_max_words), 10, 10000, NULL},
    {"memory", "summary_model", K_MODEL, FIELD(memory.summary_model), 0, 0, NULL},
    {"memory", "extraction_model", K_MODEL, FIELD(memory.extraction_model), 0, 0, NULL},
    {"memory", "min_confidence", K_RATIO, FIELD(memory.min_confidence), 0, 1, NULL},
    {"memory", "context_budget_tokens", K_UINT, FIELD(memory.context_budget_tokens), 0, 1000000,
     NULL},
    {"memory", "queue_max", K_UINT, FIELD(memory.queue_max), 1, 10000000, NULL},
    {"memory", "queue_max_bytes", K_UINT, FIELD(memory.queue_max_bytes), 65536, 4294967295u, NULL},
    {"memory", "durable_ack", K_BOOL, FIELD(memory.durable_ack), 0, 0, NULL},
    {"memory", "idempotency_hours", K_UINT, FIELD(memory.idempotency_hours), 1, 8760, NULL},
    {"memory", "job_lease_seconds", K_UINT, FIELD(memory.job_lease_seconds), 2, 3600, NULL},
    {"memory", "job_retry_backoff_ms", K_UINT, FIELD(memory.job_retry_backoff_ms), 10, 60000, NULL},
    {"memory", "job_retry_backoff_max_ms", K_UINT, FIELD(memory.job_retry_backoff_max_ms), 10,
     3600000, NULL},
    {"memory", "job_retry_horizon_seconds", K_UINT, FIELD(memory.job_retry_horizon_seconds), 0,
     2592000, NULL},
    {"memory", "extract_batch_turns", K_UINT, FIELD(memory.extract_batch_turns), 1, 64, NULL},
    {"memory", "extract_idle_seconds", K_UINT, FIELD(memory.extract_idle_seconds), 0, 3600, NULL},
    {"memory", "import_extract_max_tokens", K_UINT, FIELD(memory.import_extract_max_tokens), 0,
     1000000000, NULL},
    {"memory", "import_queue_share", K_UINT, FIELD(memory.import_queue_share), 1, 90, NULL},
    {"memory", "import_max_messages", K_UINT, FIELD(memory.import_max_messages), 1, 10000000, NULL},
    {"memory", "import_max_facts", K_UINT, FIELD(memory.import_max_facts), 1, 10000000, NULL},
    {"memory", "max_messages_per_user", K_UINT, FIELD(memory.max_messages_per_user), 1, 100000000,
     NULL},
    {"memory", "max_model_tokens_per_user_day", K_UINT, FIELD(memory.max_model_tokens_per_user_day),
     0, 1000000000000ull, NULL},
    {"memory", "held_jobs_max", K_UINT, FIELD(memory.held_jobs_max), 0, 10000000, NULL},
    {"memory", "held_jobs_per_user", K_UINT, FIELD(memory.held_jobs_per_user), 0, 10000000, NULL},
    {"memory", "held_jobs_ttl_seconds", K_UINT, FIELD(memory.held_jobs_ttl_seconds), 1, 31536000,
     NULL},
    {"memory", "retrieval", K_ENUM, FIELD(memory.retrieval), 0, 0, retrieval_names},
    {"memory", "llm", K_ENUM, FIELD(memory.llm), 0, 0, llm_names},
    {"memory", "api_key", K_SECRET, FIELD(memory.api_key), 0, 0, NULL},
    {"memory", "archive", K_BOOL, FIELD(memory.archive), 0, 0, NULL},
    {"memory", "search_keys", K_BOOL, FIELD(memory.search_keys), 0, 0, NULL},
    {"memory", "max_facts_per_user", K_UINT, FIELD(memory.max_facts_per_user), 1, 10000000, NULL},
    {"memory", "share_profile", K_UINT, FIELD(memory.share_profile), 0, 100, NULL},
    {"memory", "share_past", K_UINT, FIELD(memory.share_past), 0, 100, NULL},
    {"memory", "share_summary", K_UINT, FIELD(memory.share_summary), 0, 100, NULL},
    {"memory", "share_buffer", K_UINT, FIELD(memory.share_buffer), 0, 100, NULL},
    {"memory", "relevance_max_postings", K_UINT, FIELD(memory.relevance_max_postings), 1,
     4294967295u, NULL},
    {"memory", "head_share", K_UINT, FIELD(memory.head_share), 0, 100, NULL},
    {"memory", "conversations_max", K_UINT, FIELD(memory.conversations_max), 0, 10000000, NULL},
    {"memory", "conversation_bytes_max", K_UINT, FIELD(memory.conversation_bytes_max), 0,
     4294967295u, NULL},
    {"memory", "conversation_idle_seconds", K_UINT, FIELD(memory.conversation_idle_seconds), 1,
     604800, NULL},
    {"memory", "head_max_age_seconds", K_UINT, FIELD(memory.head_max_age_seconds), 1, 604800, NULL},
    {"memory", "task_detection", K_BOOL, FIELD(memory.task_detection), 0, 0, NULL},
    {"memory", "task_header", K_OPTTOKEN, FIELD(memory.task_header), 0, 0, NULL},
    {"memory", "task_patterns", K_OPTPATH, FIELD(memory.task_patterns), 0, 0, NULL},
    {"memory", "translate_languages", K_MODEL, FIELD(memory.translate_languages), 0, 0, NULL},
    {"memory", "translate_dir", K_OPTPATH, FIELD(memory.translate_dir), 0, 0, NULL},
    {"memory", "inserted_context_patterns", K_OPTPATH, FIELD(memory.inserted_context_patterns), 0,
     0, NULL},
    {"memory", "record_temporary_chats", K_BOOL, FIELD(memory.record_temporary_chats), 0, 0, NULL},
    {"storage", "path", K_PATH, FIELD(storage.path), 0, 0, NULL},
    {"storage", "map_size_mb", K_UINT, FIELD(storage.map_size_mb), 1, 1048576, NULL},
    {"storage", "sync", K_ENUM, FIELD(storage.sync), 0, 0, sync_names},
    {"storage", "encryption_key_file", K_OPTPATH, FIELD(storage.encryption_key_file), 0, 0, NULL},
    {"storage", "backend", K_ENUM, FIELD(storage.backend), 0, 0, backend_names},
    {"storage", "postgres_url", K_CONNINFO, FIELD(storage.postgres_url), 0, 0, NULL},
    {"storage", "postgres_url_file", K_OPTPATH, FIELD(storage.postgres_url_file), 0, 0, NULL},
    {"storage", "postgres_pool", K_UINT, FIELD(storage.postgres_pool), 1, 64, NULL},
    {"storage", "migrate", K_BOOL, FIELD(storage.migrate), 0, 0, NULL},
    {"storage", "postgres_read_timeout_ms", K_UINT, FIELD(storage.postgres_read_timeout_ms), 10,
     60000, NULL},
    {"governance", "retention_days", K_UINT, FIELD(governance.retention_days), 0, 36500, NULL},
    {"governance", "pii_retention_days", K_UINT, FIELD(governance.pii_retention_days), 0, 36500,
     NULL},
    {"governance", "pii_mode", K_ENUM, FIELD(governance.pii_mode), 0, 0, pii_mode_names},
    {"governance", "inject_pii", K_BOOL, FIELD(governance.inject_pii), 0, 0, NULL},
    {"governance", "sweep_interval_seconds", K_UINT, FIELD(governance.sweep_interval_seconds), 1,
     86400, NULL},
    {"governance", "history_per_fact", K_UINT, FIELD(governance.history_per_fact), 1, 10000, NULL},
    {"security", "tenant_from", K_ENUM, FIELD(security.tenant_from), 0, 0, tenant_names},
    {"security", "user_signature_key", K_KEY, FIELD(security.user_signature_key), 0, 0, NULL},
    {"security", "auth_backoff_ms", K_UINT, FIELD(security.auth_backoff_ms), 0, 60000, NULL},
    {"admin", "token", K_KEY, FIELD(admin.token), 0, 0, NULL},
    {"admin", "max_connections", K_UINT, FIELD(admin.max_connections), 1, 100000, NULL},
    {"admin", "max_body_bytes", K_UINT, FIELD(admin.max_body_bytes), 1024, 1073741824, NULL},
    {"admin", "explain_requests", K_BOOL, FIELD(admin.explain_requests), 0, 0, NULL},
    {"page", "listen", K_OPTADDR, FIELD(page.listen), 0, 0, NULL},
    {"page", "link_key", K_KEY, FIELD(page.link_key), 0, 0, NULL},
    {"page", "max_connections", K_UINT, FIELD(page.max_connections), 1, 100000, NULL},
    {"page", "max_body_bytes", K_UINT, FIELD(page.max_body_bytes), 1024, 1073741824, NULL},
    {"page", "explain_last", K_BOOL, FIELD(page.explain_last), 0, 0, NULL},
    {"mcp", "enabled", K_BOOL, FIELD(mcp.enabled), 0, 0, NULL},
    {"mcp", "token_file", K_OPTPATH, FIELD(mcp.token_file), 0, 0, NULL},
    {"embeddings", "base_url", K_OPTURL, FIELD(embeddings.base_url), 0, 0, NULL},
    {"embeddings", "model", K_MODEL, FIELD(embeddings.model), 0, 0, NULL},
    {"embeddings", "api_key", K_SECRET, FIELD(embeddings.api_key), 0, 0, NULL},
    {"embeddings", "dimensions", K_UINT, FIELD(embeddings.dimensions), 0, 8192, NULL},
    {"embeddings", "query_prefix", K_TEXT, FIELD(embeddings.query_prefix), 0, 0, NULL},
    {"embeddings", "document_prefix", K_TEXT, FIELD(embeddings.document_prefix), 0, 0, NULL},
    {"embeddings", "input_type_field", K_OPTTOKEN, FIELD(embeddings.input_type_field), 0, 0, NULL},
    {"embeddings", "timeout_ms", K_UINT, FIELD(embeddings.timeout_ms), 1, 600000, NULL},
    {"embeddings", "batch_items", K_UINT, FIELD(embeddings.batch_items), 1, 1024, NULL},
    {"embeddings", "max_scan", K_UINT, FIELD(embeddings.max_scan), 1, 10000000, NULL},
    {"embeddings", "dense_weight", K_RATIO, FIELD(embeddings.dense_weight), 0, 1, NULL},
    {"log", "level", K_ENUM, FIELD(log.level), 0, 0, level_names},
    {"log", "format", K_ENUM, FIELD(log.format), 0, 0, format_names},
};
#define KEY_COUNT (sizeof(keys) / sizeof(keys[0]))

/* ---- small text helpers ---- */

static bool is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

static bool is_alnum(char ch)
{
    return is_digit(ch) || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static bool is_xdigit(char ch)
{
    return is_digit(ch) || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

static bool is_graph(char ch)
{
    return ch > 0x20 && ch < 0x7f;
}

static char lower(char ch)
{
    return ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
}

/* Copies s for an error message: printable ASCII kept, anything else shown
 * as '?', cut after QUOTE_BYTES bytes with "...". */
static void sanitize(char dst[QUOTE_MAX], const char *s)
{
    size_t i = 0;
    for (; s[i] != '\0' && i < QUOTE_BYTES; i++) {
        dst[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    }
    if (s[i] != '\0') {
        memcpy(dst + i, "...", 3);
        i += 3;
    }
    dst[i] = '\0';
}

__attribute__((format(printf, 4, 5))) static void
add_error(struct mp_config_errors *errs, const char *source, unsigned line, const char *fmt, ...)
{
    va_list ap;
    if (errs == NULL) {
        return;
    }
    if (errs->count >= MP_CONFIG_ERRORS_MAX) {
        errs->dropped++;
        return;
    }
    struct mp_config_error *e = &errs->items[errs->count++];
    mp_errtext_format(e->source, sizeof(e->source), "%s", source != NULL ? source : "");
    e->line = line;
    va_start(ap, fmt);
    if (vsnprintf(e->message, sizeof(e->message), fmt, ap) < 0) {
        e->message[0] = '\0';
    }
    va_end(ap);
}

/* ---- hosts, ports, addresses, URLs ---- */

/* Dotted quad, each part 0..255 without leading zeros (as inet_pton). */
static bool is_ipv4(const char *s, size_t n)
{
    size_t i = 0;
    for (int part = 0; part < 4; part++) {
        if (part > 0 && (i >= n || s[i++] != '.')) {
            return false;
        }
        size_t start = i;
        unsigned v = 0;
        while (i < n && is_digit(s[i]) && i - start < 3) {
            v = v * 10 + (unsigned)(s[i++] - '0');
        }
        if (i == start || v > 255 || (s[start] == '0' && i - start > 1)) {
            return false;
        }
    }
    return i == n;
}

/* An IPv6 literal (RFC 4291 text form, optionally ending in a dotted quad);
 * zone ids are not accepted. */
static bool is_ipv6(const char *s, size_t n)
{
    size_t i = 0;
    size_t groups = 0;
    bool gap = n >= 2 && s[0] == ':' && s[1] == ':';
    if (gap) {
        i = 2;
    }
    while (i < n) {
        size_t start = i;
        while (i < n && is_xdigit(s[i])) {
            i++;
        }
        if (i < n && s[i] == '.') {
            if (!is_ipv4(s + start, n - start)) {
                return false;
            }
            groups += 2;
            break;
        }
        if (i == start || i - start > 4) {
            return false;
        }
        groups++;
        if (i == n) {
            break;
        }
        if (s[i++] != ':' || i == n) {
            return false;
        }
        if (s[i] == ':') {
            if (gap) {
                return false;
            }
            gap = true;
            i++;
        }
    }
    return gap ? groups <= 7 : groups == 8;
}

/* A DNS name or an IPv4 literal: [A-Za-z0-9._-], no empty label. */
static bool is_hostname(const char *s, size_t n)
{
    bool numeric = true;
    if (n == 0 || n >= MP_CONFIG_HOST_MAX || s[0] == '.' || s[0] == '-') {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!is_alnum(ch) && ch != '-' && ch != '.' && ch != '_') {
            return false;
        }
        if (ch == '.' && i > 0 && s[i - 1] == '.') {
            return false;
        }
        if (!is_digit(ch) && ch != '.') {
            numeric = false;
        }
    }
    return !numeric || is_ipv4(s, n);
}

static bool parse_port(const char *s, size_t n, uint16_t *port)
{
    uint32_t v = 0;
    if (n == 0 || n > 5) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(s[i])) {
            return false;
        }
        v = v * 10 + (uint32_t)(s[i] - '0');
    }
    if (v > 65535) {
        return false;
    }
    *port = (uint16_t)v;
    return true;
}

struct hostport {
    char host[MP_CONFIG_HOST_MAX]; /* without brackets */
    bool v6;
    bool has_port;
    uint16_t port;
};

/* Splits s[0..n) = "host[:port]" or "[v6][:port]". */
static bool split_hostport(const char *s, size_t n, struct hostport *hp)
{
    const char *host = s;
    const char *rest;
    size_t hn;
    memset(hp, 0, sizeof(*hp));
    if (n > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', n);
        if (close == NULL) {
            return false;
        }
        host = s + 1;
        hn = (size_t)(close - host);
        hp->v6 = true;
        rest = close + 1;
    } else {
        const char *colon = memchr(s, ':', n);
        hn = colon != NULL ? (size_t)(colon - s) : n;
        rest = s + hn;
    }
    if (hp->v6 ? !is_ipv6(host, hn) : !is_hostname(host, hn)) {
        return false;
    }
    size_t rn = (size_t)(s + n - rest);
    if (rn > 0) {
        if (rest[0] != ':' || !parse_port(rest + 1, rn - 1, &hp->port)) {
            return false;
        }
        hp->has_port = true;
    }
    memcpy(hp->host, host, hn); /* hn < MP_CONFIG_HOST_MAX: ipv6 is short, hostname checked */
    hp->host[hn] = '\0';
    return true;
}

int mp_config_parse_addr(const char *text, struct mp_addr *out)
{
    struct hostport hp;
    if (text == NULL || !split_hostport(text, strlen(text), &hp) || !hp.has_port) {
        return MP_EINVAL;
    }
    memset(out, 0, sizeof(*out));
    memcpy(out->host, hp.host, sizeof(out->host));
    out->port = hp.port;
    return MP_OK;
}

/* Bytes a base URL may hold: printable ASCII without userinfo, query,
 * fragment or backslash; '%' only as a %XX escape. */
static bool url_bytes_ok(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!is_graph(ch) || ch == '@' || ch == '?' || ch == '#' || ch == '\\') {
            return false;
        }
        if (ch == '%' && (i + 2 >= n || !is_xdigit(s[i + 1]) || !is_xdigit(s[i + 2]))) {
            return false;
        }
    }
    return true;
}

/* Returns the length of "http://" or "https://" at the start of s, else 0. */
static size_t scheme_len(const char *s, bool *https)
{
    if (strncasecmp(s, "https://", 8) == 0) {
        *https = true;
        return 8;
    }
    if (strncasecmp(s, "http://", 7) == 0) {
        *https = false;
        return 7;
    }
    return 0;
}

/* Fills u->text from the other fields; false when it does not fit. */
static bool url_format(struct mp_url *u, bool v6, bool has_port)
{
    char port[8] = "";
    if (has_port) {
        mp_errtext_format(port, sizeof(port), ":%u", (unsigned)u->port);
    }
    int n = snprintf(u->text, sizeof(u->text), "%s://%s%s%s%s%s", u->https ? "https" : "http",
                     v6 ? "[" : "", u->host, v6 ? "]" : "", port, u->path);
    return n > 0 && (size_t)n < sizeof(u->text);
}

int mp_config_parse_url(const char *text, struct mp_url *out)
{
    struct mp_url u;
    struct hostport hp;
    memset(&u, 0, sizeof(u));
    size_t n = text != NULL ? strlen(text) : 0;
    size_t skip = n > 0 && n < sizeof(u.text) ? scheme_len(text, &u.https) : 0;
    if (skip == 0 || !url_bytes_ok(text, n)) {
        return MP_EINVAL;
    }
    const char *auth = text + skip;
    const char *slash = strchr(auth, '/');
    size_t an = slash != NULL ? (size_t)(slash - auth) : strlen(auth);
    if (!split_hostport(auth, an, &hp) || (hp.has_port && hp.port == 0)) {
        return MP_EINVAL;
    }
    for (size_t i = 0; hp.host[i] != '\0'; i++) {
        u.host[i] = lower(hp.host[i]);
    }
    u.port = hp.has_port ? hp.port : (u.https ? 443 : 80);
    if (slash != NULL) {
        size_t pn = strlen(slash);
        while (pn > 0 && slash[pn - 1] == '/') {
            pn--;
        }
        memcpy(u.path, slash, pn);
    }
    if (!url_format(&u, hp.v6, hp.has_port)) {
        return MP_EINVAL;
    }
    *out = u;
    return MP_OK;
}

/* ---- value parsers: each stages a valid value or explains the problem ---- */

/* 0: ok; -1: not a plain decimal number; -2: too big for 64 bits. */
static int parse_decimal(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    if (s[0] == '\0') {
        return -1;
    }
    for (size_t i = 0; s[i] != '\0'; i++) {
        if (!is_digit(s[i])) {
            return -1;
        }
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) {
            return -2;
        }
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

static bool stage_uint(const struct key_def *k, const char *s, union staged *v, char *why,
                       size_t cap)
{
    char q[QUOTE_MAX];
    uint64_t x = 0;
    sanitize(q, s);
    int rc = parse_decimal(s, &x);
    if (rc == -1) {
        mp_errtext_format(why, cap,
                          "expected a decimal integer %" PRIu64 "..%" PRIu64 ", got \"%s\"", k->min,
                          k->max, q);
        return false;
    }
    if (rc == -2 || x < k->min || x > k->max) {
        mp_errtext_format(why, cap, "\"%s\" is out of range %" PRIu64 "..%" PRIu64, q, k->min,
                          k->max);
        return false;
    }
    if (k->size == sizeof(uint64_t)) {
        v->u64 = x;
    } else {
        v->u32 = (uint32_t)x;
    }
    return true;
}

static bool stage_bool(const char *s, union staged *v, char *why, size_t cap)
{
    static const char *const truthy[] = {"true", "yes", "on", "1"};
    static const char *const falsy[] = {"false", "no", "off", "0"};
    char q[QUOTE_MAX];
    for (size_t i = 0; i < sizeof(truthy) / sizeof(truthy[0]); i++) {
        if (strcasecmp(s, truthy[i]) == 0 || strcasecmp(s, falsy[i]) == 0) {
            v->b = strcasecmp(s, truthy[i]) == 0;
            return true;
        }
    }
    sanitize(q, s);
    mp_errtext_format(why, cap, "expected true|false|yes|no|on|off|1|0, got \"%s\"", q);
    return false;
}

static bool stage_enum(const struct key_def *k, const char *s, union staged *v, char *why,
                       size_t cap)
{
    char list[128] = "";
    char q[QUOTE_MAX];
    size_t used = 0;
    for (int i = 0; k->names[i] != NULL; i++) {
        if (strcasecmp(s, k->names[i]) == 0) {
            v->e = i;
            return true;
        }
        int n = snprintf(list + used, sizeof(list) - used, "%s%s", i > 0 ? "|" : "", k->names[i]);
        used += n > 0 && (size_t)n < sizeof(list) - used ? (size_t)n : 0;
    }
    sanitize(q, s);
    mp_errtext_format(why, cap, "expected one of %s, got \"%s\"", list, q);
    return false;
}

/* Only digits, '.', exponent and signs: strtod alone would also take hex,
 * "inf", "nan" and leading blanks. strtod follows LC_NUMERIC, which is "C"
 * unless the program calls setlocale; memproxy does not. */
static bool stage_ratio(const struct key_def *k, const char *s, union staged *v, char *why,
                        size_t cap)
{
    char q[QUOTE_MAX];
    char *end = NULL;
    bool ok = s[strspn(s, "0123456789.eE+-")] == '\0';
    double d = ok ? strtod(s, &end) : 0.0;
    ok = ok && end == s + strlen(s) && !isnan(d) && d >= (double)k->min && d <= (double)k->max;
    if (!ok) {
        sanitize(q, s);
        mp_errtext_format(why, cap, "expected a number %" PRIu64 "..%" PRIu64 ", got \"%s\"",
                          k->min, k->max, q);
        return false;
    }
    v->d = d == 0.0 ? 0.0 : d; /* no -0 */
    return true;
}

/* RFC 9110 tchar. */
static bool is_tchar(char ch)
{
    return is_alnum(ch) || (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

/* The character rule of each string type; false names the first bad byte. */
static bool string_bytes_ok(enum key_type type, const char *s)
{
    for (size_t i = 0; s[i] != '\0'; i++) {
        unsigned char ch = (unsigned char)s[i];
        bool ok = type == K_TOKEN || type == K_OPTTOKEN  ? is_tchar(s[i])
                  : type == K_PATH || type == K_OPTPATH  ? (ch >= 0x20 && ch != 0x7f)
                  : type == K_CONNINFO || type == K_TEXT ? (ch >= 0x20 && ch < 0x7f)
                                                         : is_graph(s[i]);
        if (!ok) {
            return false;
        }
    }
    return true;
}

static const char *string_rule(enum key_type type)
{
    switch (type) {
    case K_TOKEN:
    case K_OPTTOKEN:
        return "an HTTP header name (RFC 9110 token characters only)";
    case K_PATH:
    case K_OPTPATH:
        return "a path without control characters";
    case K_CONNINFO:
    case K_TEXT:
        return "printable ASCII";
    default:
        return "printable ASCII without spaces";
    }
}

static bool stage_string(const struct key_def *k, const char *s, union staged *v, char *why,
                         size_t cap)
{
    char q[QUOTE_MAX];
    size_t n = strlen(s);
    if (n >= k->size) {
        mp_errtext_format(why, cap, "too long (max %zu bytes)", k->size - 1);
        return false;
    }
    if (!string_bytes_ok(k->type, s)) {
        if (k->type == K_SECRET || k->type == K_KEY || k->type == K_CONNINFO) {
            mp_errtext_format(why, cap, "must be %s (value not shown)", string_rule(k->type));
            return false;
        }
        sanitize(q, s);
        mp_errtext_format(why, cap, "expected %s, got \"%s\"", string_rule(k->type), q);
        return false;
    }
    const char *weak = k->type == K_KEY && n > 0 ? mp_keystrength_check(s, n) : NULL;
    if (weak != NULL) {
        mp_errtext_format(why, cap,
                          "too weak to be a key (%s; value not shown): use the text of 16 or "
                          "more random bytes, e.g. `openssl rand -hex 32`",
                          weak);
        return false;
    }
    memcpy(v->s, s, n + 1);
    return true;
}

static bool stage_value(const struct key_def *k, const char *s, union staged *v, char *why,
                        size_t cap)
{
    char q[QUOTE_MAX];
    if (s[0] == '\0' && k->type == K_OPTURL) {
        memset(&v->url, 0, sizeof(v->url)); /* off */
        return true;
    }
    if (s[0] == '\0' && k->type == K_OPTADDR) {
        memset(&v->addr, 0, sizeof(v->addr)); /* off */
        return true;
    }
    if (s[0] == '\0' && k->type != K_SECRET && k->type != K_KEY && k->type != K_CONNINFO &&
        k->type != K_TEXT && k->type != K_OPTPATH && k->type != K_OPTTOKEN) {
        mp_errtext_format(why, cap, "empty value");
        return false;
    }
    sanitize(q, s); /* only used for addresses and URLs, never for a secret */
    switch (k->type) {
    case K_ADDR:
    case K_OPTADDR:
        if (mp_config_parse_addr(s, &v->addr) == MP_OK) {
            return true;
        }
        mp_errtext_format(why, cap, "expected host:port or [ipv6]:port (port 0..65535), got \"%s\"",
                          q);
        return false;
    case K_URL:
    case K_OPTURL:
        if (mp_config_parse_url(s, &v->url) == MP_OK) {
            return true;
        }
        mp_errtext_format(why, cap,
                          "expected http(s)://host[:port][/path] without user, query or fragment, "
                          "got \"%s\"",
                          q);
        return false;
    case K_UINT:
        return stage_uint(k, s, v, why, cap);
    case K_BOOL:
        return stage_bool(s, v, why, cap);
    case K_RATIO:
        return stage_ratio(k, s, v, why, cap);
    case K_ENUM:
        return stage_enum(k, s, v, why, cap);
    default:
        return stage_string(k, s, v, why, cap);
    }
}

/* ---- the key table ---- */

static int find_section(const char *name)
{
    for (size_t i = 0; i < SECTION_COUNT; i++) {
        if (strcasecmp(name, sections[i]) == 0) {
            return (int)i;
        }
    }
    return -1;
}

static const struct key_def *find_key(const char *section, const char *name)
{
    for (size_t i = 0; i < KEY_COUNT; i++) {
        if (strcasecmp(section, keys[i].section) == 0 && strcasecmp(name, keys[i].name) == 0) {
            return &keys[i];
        }
    }
    return NULL;
}

static int set_key(struct mp_config *c, const struct key_def *k, const char *value, char *err,
                   size_t errcap)
{
    union staged v;
    char why[256];
    memset(&v, 0, sizeof(v));
    if (!stage_value(k, value, &v, why, sizeof(why))) {
        mp_errtext_format(err, errcap, "[%s] %s: %s", k->section, k->name, why);
        return MP_EINVAL;
    }
    memcpy((char *)c + k->offset, &v, k->size);
    return MP_OK;
}

static void unknown_key_message(char *err, size_t errcap, const char *section, const char *key)
{
    char s[QUOTE_MAX];
    char q[QUOTE_MAX];
    sanitize(s, section);
    sanitize(q, key);
    mp_errtext_format(err, errcap, "unknown key '%s' in [%s]", q, s);
}

int mp_config_set(struct mp_config *c, const char *section, const char *key, const char *value,
                  char *err, size_t errcap)
{
    char q[QUOTE_MAX];
    if (section == NULL || find_section(section) < 0) {
        sanitize(q, section != NULL ? section : "");
        mp_errtext_format(err, errcap, "unknown section [%s]", q);
        return MP_NOTFOUND;
    }
    const struct key_def *k = key != NULL ? find_key(section, key) : NULL;
    if (k == NULL) {
        unknown_key_message(err, errcap, section, key != NULL ? key : "");
        return MP_NOTFOUND;
    }
    return set_key(c, k, value != NULL ? value : "", err, errcap);
}

void mp_config_defaults(struct mp_config *c)
{
    memset(c, 0, sizeof(*c));
    memcpy(c->server.listen.host, "127.0.0.1", sizeof("127.0.0.1"));
    c->server.listen.port = 8080;
    memcpy(c->server.admin_listen.host, "127.0.0.1", sizeof("127.0.0.1"));
    c->server.admin_listen.port = 8081;
    c->server.workers = 0;
    c->server.max_body_bytes = 67108864; /* 64 MiB: what the providers take (configuration.md) */
    c->server.max_header_bytes = 65536;
    c->server.client_timeout_ms = 10000;
    c->server.max_connections = 0;
    c->server.drain_timeout_ms = 25000;
    (void)mp_config_parse_url("https://api.openai.com/v1", &c->upstream.base_url);
    c->upstream.connect_timeout_ms = 5000;
    c->upstream.idle_timeout_ms = 120000;
    c->upstream.client = MP_UPSTREAM_NATIVE;
    c->upstream.prompt_cache_key = MP_CACHE_KEY_AUTO;
    c->memory.mode = MP_MEMORY_HYBRID;
    memcpy(c->memory.user_header, "X-User-Id", sizeof("X-User-Id"));
    c->memory.user_from_body = true;
    c->memory.buffer_messages = 15;
    c->memory.summarize_at = 20;
    c->memory.summary_max_words = 150;
    memcpy(c->memory.summary_model, "gpt-4o-mini", sizeof("gpt-4o-mini"));
    memcpy(c->memory.extraction_model, "gpt-4o-mini", sizeof("gpt-4o-mini"));
    c->memory.min_confidence = 0.7;
    c->memory.context_budget_tokens = 1500;
    c->memory.queue_max = 10000;
    c->memory.queue_max_bytes = 64u * 1024 * 1024;
    c->memory.durable_ack = true;
    c->memory.idempotency_hours = 24;
    c->memory.job_lease_seconds = 150;
    c->memory.job_retry_backoff_ms = 1000;
    c->memory.job_retry_backoff_max_ms = 300000;
    c->memory.job_retry_horizon_seconds = 21600;
    c->memory.extract_batch_turns = 24;
    c->memory.import_extract_max_tokens = 200000;
    c->memory.import_queue_share = 50;
    c->memory.import_max_messages = 20000;
    c->memory.import_max_facts = 1000;
    c->memory.max_messages_per_user = 200000;
    c->memory.max_model_tokens_per_user_day = 400000;
    c->memory.extract_idle_seconds = 20;
    c->memory.held_jobs_max = 10000;
    c->memory.held_jobs_per_user = 40;
    c->memory.held_jobs_ttl_seconds = 7 * 24 * 3600;
    c->memory.retrieval = MP_RETRIEVAL_RELEVANT;
    c->memory.llm = MP_LLM_OPENAI;
    c->memory.archive = true;
    c->memory.search_keys = true;
    c->memory.max_facts_per_user = 100000;
    c->memory.share_profile = 40;
    c->memory.share_past = 30;
    c->memory.share_summary = 15;
    c->memory.share_buffer = 15;
    c->memory.relevance_max_postings = 20000; /* MP_RELEVANCE_MAX_POSTINGS */
    c->memory.head_share = 55;
    c->memory.conversations_max = 32;
    c->memory.conversation_bytes_max = 1024u * 1024;
    c->memory.conversation_idle_seconds = 1800;
    c->memory.head_max_age_seconds = 3600;
    c->memory.task_detection = true;
    memcpy(c->memory.translate_languages, "all", sizeof("all"));
    memcpy(c->memory.task_header, "X-OpenWebUI-Task", sizeof("X-OpenWebUI-Task"));
    unsigned line = 0;
    const char *why = NULL;
    (void)mp_clienttask_parse(mp_clienttask_default_patterns,
                              strlen(mp_clienttask_default_patterns), &c->memory.task_pattern_set,
                              &line, &why); /* valid: test_clienttask */
    (void)mp_inserted_parse(mp_inserted_default_patterns, strlen(mp_inserted_default_patterns),
                            &c->memory.inserted_pattern_set, &line, &why); /* test_inserted */
    memcpy(c->storage.path, "./data", sizeof("./data"));
    c->storage.map_size_mb = 1024;
    c->storage.sync = MP_SYNC_FULL;
    c->storage.encryption_key_file[0] = '\0';
    c->storage.backend = MP_BACKEND_LMDB;
    c->storage.postgres_pool = 4;
    c->storage.migrate = true;
    c->storage.postgres_read_timeout_ms = 1000;
    c->governance.retention_days = 365;
    c->governance.pii_retention_days = 30;
    c->governance.pii_mode = MP_PII_STORE;
    c->governance.inject_pii = true;
    c->governance.sweep_interval_seconds = 600;
    c->governance.history_per_fact = 20;
    c->security.tenant_from = MP_TENANT_NONE;
    c->security.user_signature_key[0] = '\0';
    c->admin.token[0] = '\0';
    c->admin.max_connections = 64;
    c->admin.max_body_bytes = 33554432;
    c->page.max_connections = 64;
    c->page.max_body_bytes = 33554432;
    c->security.auth_backoff_ms = 250;
    c->admin.explain_requests = false;
    c->mcp.enabled = false;
    c->mcp.token_file[0] = '\0';
    c->mcp.token[0] = '\0';
    memcpy(c->embeddings.model, "text-embedding-3-small", sizeof("text-embedding-3-small"));
    c->embeddings.timeout_ms = 300;
    c->embeddings.batch_items = 32;
    c->embeddings.max_scan = 30000;
    c->embeddings.dense_weight = 0.5;
    c->log.level = MP_LOG_INFO;
    c->log.format = MP_LOG_JSON;
}

/* ---- INI text ---- */

#define NO_SECTION  (-1)
#define BAD_SECTION (-2) /* an unknown section: its keys are skipped, reported once */

struct ini_run {
    struct mp_config *c;
    struct mp_config_errors *errs;
    const char *source;
    int section;              /* index into sections[], or NO_SECTION / BAD_SECTION */
    unsigned seen[KEY_COUNT]; /* line where each key was first set; 0: not yet */
    bool failed;
};

static void ini_pair(struct ini_run *run, const struct mp_ini_item *item)
{
    char err[sizeof(run->errs->items[0].message)];
    const char *section = sections[run->section];
    const struct key_def *k = find_key(section, item->name);
    if (k == NULL) {
        unknown_key_message(err, sizeof(err), section, item->name);
        add_error(run->errs, run->source, item->line, "%s", err);
        run->failed = true;
        return;
    }
    size_t idx = (size_t)(k - keys);
    if (run->seen[idx] != 0) {
        add_error(run->errs, run->source, item->line,
                  "duplicate key '%s' in [%s] (first set on line %u)", k->name, k->section,
                  run->seen[idx]);
        run->failed = true;
        return;
    }
    run->seen[idx] = item->line;
    if (set_key(run->c, k, item->value, err, sizeof(err)) != MP_OK) {
        add_error(run->errs, run->source, item->line, "%s", err);
        run->failed = true;
    }
}

static void ini_item(struct ini_run *run, const struct mp_ini_item *item)
{
    switch (item->kind) {
    case MP_INI_ERROR:
        add_error(run->errs, run->source, item->line, "%s", item->error);
        run->failed = true;
        break;
    case MP_INI_SECTION:
        run->section = find_section(item->name);
        if (run->section < 0) {
            add_error(run->errs, run->source, item->line, "unknown section [%s]", item->name);
            run->section = BAD_SECTION;
            run->failed = true;
        }
        break;
    case MP_INI_PAIR:
        if (run->section == NO_SECTION) {
            add_error(run->errs, run->source, item->line,
                      "key '%s' outside of any section (add e.g. [server] above it)", item->name);
            run->failed = true;
        } else if (run->section != BAD_SECTION) {
            ini_pair(run, item);
        }
        break;
    }
}

int mp_config_parse_ini(struct mp_config *c, const char *text, size_t len, const char *source,
                        struct mp_config_errors *errs)
{
    struct ini_run run;
    struct mp_ini ini;
    struct mp_ini_item item;
    memset(&run, 0, sizeof(run));
    run.c = c;
    run.errs = errs;
    run.source = source != NULL ? source : "";
    run.section = NO_SECTION;
    mp_ini_init(&ini, text, len);
    while (mp_ini_next(&ini, &item) == MP_OK) {
        ini_item(&run, &item);
    }
    return run.failed ? MP_EINVAL : MP_OK;
}

unsigned mp_config_key_line(const char *text, size_t len, const char *section, const char *key)
{
    struct mp_ini ini;
    struct mp_ini_item item;
    bool in_section = false;
    mp_ini_init(&ini, text, len);
    while (mp_ini_next(&ini, &item) == MP_OK) {
        if (item.kind == MP_INI_SECTION)
            in_section = strcasecmp(item.name, section) == 0;
        else if (item.kind == MP_INI_PAIR && in_section && strcasecmp(item.name, key) == 0)
            return item.line;
    }
    return 0;
}

/* ---- environment ---- */

/* Lower-cases s[0..n) into dst[0..cap); false when it does not fit. */
static bool lower_copy(char *dst, size_t cap, const char *s, size_t n)
{
    if (n >= cap) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        dst[i] = lower(s[i]);
    }
    dst[n] = '\0';
    return true;
}

/* entry starts with ENV_PREFIX. Returns false after reporting an error. */
static bool env_entry(struct mp_config *c, const char *entry, struct mp_config_errors *errs)
{
    char name[QUOTE_BYTES + 2];
    char var[QUOTE_MAX];
    char section[16];
    char key[MP_INI_NAME_MAX];
    char err[sizeof(errs->items[0].message)];
    const char *eq = strchr(entry, '=');
    size_t name_len = eq != NULL ? (size_t)(eq - entry) : strlen(entry);
    const char *rest = entry + strlen(ENV_PREFIX);
    const char *us = memchr(rest, '_', (size_t)(entry + name_len - rest));
    bool named = eq != NULL && us != NULL &&
                 lower_copy(section, sizeof(section), rest, (size_t)(us - rest)) &&
                 lower_copy(key, sizeof(key), us + 1, (size_t)(entry + name_len - us - 1));
    size_t shown = name_len < sizeof(name) - 1 ? name_len : sizeof(name) - 1;
    memcpy(name, entry, shown);
    name[shown] = '\0';
    sanitize(var, name);
    int rc = named ? mp_config_set(c, section, key, eq + 1, err, sizeof(err)) : MP_NOTFOUND;
    if (rc == MP_NOTFOUND) {
        add_error(errs, "environment", 0,
                  "unknown environment variable %s (expected MEMPROXY_<SECTION>_<KEY>)", var);
    } else if (rc != MP_OK) {
        add_error(errs, "environment", 0, "%s: %s", var, err);
    }
    return rc == MP_OK;
}

int mp_config_apply_env(struct mp_config *c, const char *const *envp, struct mp_config_errors *errs)
{
    bool failed = false;
    for (size_t i = 0; envp != NULL && envp[i] != NULL; i++) {
        if (strncmp(envp[i], ENV_PREFIX, strlen(ENV_PREFIX)) != 0 ||
            strncmp(envp[i], ENV_TEST, strlen(ENV_TEST)) == 0) {
            continue;
        }
        if (!env_entry(c, envp[i], errs)) {
            failed = true;
        }
    }
    return failed ? MP_EINVAL : MP_OK;
}

/* ---- validation ---- */

static bool enum_ok(const struct key_def *k, int e, char *why, size_t cap)
{
    int count = 0;
    while (k->names[count] != NULL) {
        count++;
    }
    if (e >= 0 && e < count) {
        return true;
    }
    mp_errtext_format(why, cap, "value %d is not one of the names", e);
    return false;
}

static bool addr_ok(const struct mp_addr *a, char *why, size_t cap)
{
    const char *end = memchr(a->host, '\0', sizeof(a->host));
    size_t n = end != NULL ? (size_t)(end - a->host) : 0;
    if (n > 0 && (is_hostname(a->host, n) || is_ipv6(a->host, n))) {
        return true;
    }
    mp_errtext_format(why, cap, "invalid host");
    return false;
}

/* Re-checks one field as stored, so a struct built or changed by hand is
 * held to the same rules as parsed text: numbers are printed and parsed
 * again, strings parsed again. */
static bool field_ok(const struct mp_config *c, const struct key_def *k, char *why, size_t cap)
{
    const char *p = (const char *)c + k->offset;
    size_t n = k->size;
    union staged v;
    union staged scratch;
    char text[40];
    memcpy(&v, p, k->size);
    switch (k->type) {
    case K_BOOL:
        return true;
    case K_ENUM:
        return enum_ok(k, v.e, why, cap);
    case K_ADDR:
        return addr_ok(&v.addr, why, cap);
    case K_OPTADDR:
        return v.addr.host[0] == '\0' ? v.addr.port == 0 : addr_ok(&v.addr, why, cap);
    case K_UINT:
        mp_errtext_format(text, sizeof(text), "%" PRIu64,
                          k->size == sizeof(uint64_t) ? v.u64 : v.u32);
        return stage_value(k, text, &scratch, why, cap);
    case K_RATIO:
        mp_errtext_format(text, sizeof(text), "%.17g", v.d);
        return stage_value(k, text, &scratch, why, cap);
    case K_URL:
    case K_OPTURL:
        p = v.url.text;
        n = sizeof(v.url.text);
        break;
    default:
        break;
    }
    if (memchr(p, '\0', n) == NULL) {
        mp_errtext_format(why, cap, "not NUL-terminated");
        return false;
    }
    return stage_value(k, p, &scratch, why, cap);
}

static bool is_any_addr(const char *host)
{
    return strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0;
}

static bool same_listener(const struct mp_addr *a, const struct mp_addr *b)
{
    if (a->port == 0 || a->port != b->port) {
        return false;
    }
    return strcasecmp(a->host, b->host) == 0 || is_any_addr(a->host) || is_any_addr(b->host);
}

/* The budget split adds up to the whole budget. */
static bool shares_ok(const struct mp_config *c)
{
    uint64_t sum = (uint64_t)c->memory.share_profile + c->memory.share_past +
                   c->memory.share_summary + c->memory.share_buffer;
    return sum == 100;
}

int mp_config_validate(const struct mp_config *c, struct mp_config_errors *errs)
{
    bool failed = false;
    char why[256];
    for (size_t i = 0; i < KEY_COUNT; i++) {
        if (!field_ok(c, &keys[i], why, sizeof(why))) {
            add_error(errs, "", 0, "[%s] %s: %s", keys[i].section, keys[i].name, why);
            failed = true;
        }
    }
    if (c->memory.summarize_at < c->memory.buffer_messages) {
        add_error(errs, "", 0,
                  "[memory] summarize_at (%" PRIu32 ") must be >= buffer_messages (%" PRIu32 ")",
                  c->memory.summarize_at, c->memory.buffer_messages);
        failed = true;
    }
    if (!shares_ok(c)) {
        add_error(errs, "", 0,
                  "[memory] share_profile + share_past + share_summary + share_buffer must be "
                  "100, got %" PRIu32 " + %" PRIu32 " + %" PRIu32 " + %" PRIu32,
                  c->memory.share_profile, c->memory.share_past, c->memory.share_summary,
                  c->memory.share_buffer);
        failed = true;
    }
    if (c->memory.llm == MP_LLM_ANTHROPIC && c->anthropic.base_url.text[0] == '\0') {
        add_error(errs, "", 0, "[memory] llm = anthropic needs [anthropic] base_url");
        failed = true;
    }
    bool url = c->storage.postgres_url[0] != '\0',
         url_file = c->storage.postgres_url_file[0] != '\0';
    if (c->storage.backend == MP_BACKEND_POSTGRES && url == url_file) {
        add_error(errs, "", 0,
                  "[storage] backend = postgres needs exactly one of postgres_url and "
                  "postgres_url_file");
        failed = true;
    }
    if (c->storage.backend == MP_BACKEND_POSTGRES && c->server.workers > 0 &&
        mp_config_postgres_loop_pool(c->storage.postgres_pool, c->server.workers) == 0) {
        add_error(errs, "", 0,
                  "[storage] postgres_pool (%" PRIu32 ") x [server] workers (%" PRIu32
                  ") must be at least workers + %d: each worker's loop needs a connection, "
                  "and the memory worker and the admin plane one each",
                  c->storage.postgres_pool, c->server.workers, MP_CONFIG_PG_BACKGROUND);
        failed = true;
    }
    if (c->mcp.token_file[0] != '\0' && c->security.tenant_from == MP_TENANT_API_KEY) {
        add_error(errs, "", 0,
                  "[mcp] token_file cannot be set with [security] tenant_from = api_key: both "
                  "would be the request's bearer token");
        failed = true;
    }
    if (c->storage.backend == MP_BACKEND_LMDB && (url || url_file)) {
        add_error(errs, "", 0,
                  "[storage] postgres_url / postgres_url_file are set but backend = lmdb");
        failed = true;
    }
    if (c->page.listen.host[0] != '\0' && c->page.link_key[0] == '\0') {
        add_error(errs, "", 0,
                  "[page] listen needs [page] link_key (or MEMPROXY_PAGE_LINK_KEY): the page's "
                  "links are signed with it");
        failed = true;
    }
    if (same_listener(&c->server.listen, &c->page.listen) ||
        same_listener(&c->server.admin_listen, &c->page.listen)) {
        add_error(errs, "", 0, "[page] listen must differ from [server] listen and admin_listen");
        failed = true;
    }
    if (same_listener(&c->server.listen, &c->server.admin_listen)) {
        add_error(errs, "", 0,
                  "[server] listen and admin_listen must differ (both use port %u on %s / %s)",
                  (unsigned)c->server.listen.port, c->server.listen.host,
                  c->server.admin_listen.host);
        failed = true;
    }
    return failed ? MP_EINVAL : MP_OK;
}

uint32_t mp_config_auto_max_connections(const struct mp_config *c, unsigned workers,
                                        uint64_t nofile)
{
    uint64_t reserve = MP_CONFIG_FD_RESERVE;
    if (c->storage.backend == MP_BACKEND_POSTGRES)
        reserve += (uint64_t)workers * c->storage.postgres_pool;
    uint64_t n = nofile > reserve + 2 ? (nofile - reserve) / 2 : 1;
    return n > 1000000 ? 1000000 : (uint32_t)n;
}

unsigned mp_config_postgres_loop_pool(uint32_t pool, unsigned workers)
{
    if (workers == 0)
        return 0;
    uint64_t budget = (uint64_t)pool * workers;
    return budget < (uint64_t)workers + MP_CONFIG_PG_BACKGROUND
               ? 0
               : (unsigned)((budget - MP_CONFIG_PG_BACKGROUND) / workers);
}

/* ---- names ---- */

static const char *name_of(const char *const *names, size_t count, int value)
{
    return value >= 0 && (size_t)value < count ? names[value] : "unknown";
}

const char *mp_config_mode_name(enum mp_memory_mode mode)
{
    return name_of(mode_names, sizeof(mode_names) / sizeof(mode_names[0]) - 1, (int)mode);
}

const char *mp_config_retrieval_name(enum mp_retrieval retrieval)
{
    return name_of(retrieval_names, sizeof(retrieval_names) / sizeof(retrieval_names[0]) - 1,
                   (int)retrieval);
}

const char *mp_config_level_name(enum mp_log_level level)
{
    return name_of(level_names, sizeof(level_names) / sizeof(level_names[0]) - 1, (int)level);
}

const char *mp_config_backend_name(enum mp_storage_backend backend)
{
    return name_of(backend_names, sizeof(backend_names) / sizeof(backend_names[0]) - 1,
                   (int)backend);
}

const char *mp_config_sync_name(enum mp_storage_sync sync)
{
    return name_of(sync_names, sizeof(sync_names) / sizeof(sync_names[0]) - 1, (int)sync);
}

const char *mp_config_format_name(enum mp_log_format format)
{
    return name_of(format_names, sizeof(format_names) / sizeof(format_names[0]) - 1, (int)format);
}

const char *mp_config_pii_mode_name(enum mp_pii_mode mode)
{
    return name_of(pii_mode_names, sizeof(pii_mode_names) / sizeof(pii_mode_names[0]) - 1,
                   (int)mode);
}

const char *mp_config_tenant_from_name(enum mp_tenant_from from)
{
    return name_of(tenant_names, sizeof(tenant_names) / sizeof(tenant_names[0]) - 1, (int)from);
}

const char *mp_config_cache_key_name(enum mp_cache_key key)
{
    return name_of(cache_key_names, sizeof(cache_key_names) / sizeof(cache_key_names[0]) - 1,
                   (int)key);
}
