/* memproxy's configuration: defaults, INI text, MEMPROXY_<SECTION>_<KEY>
 * environment overrides and validation, as pure functions over bytes. Reading
 * files and the process environment is the proxy's job (proxy/config_load.c).
 *
 * struct mp_config is a plain value (fixed-size strings, no pointers): copy it
 * with '=' and never free it. Which keys a reload may change is the proxy's
 * decision (proxy/server.c); the struct comments mark the restart-only ones. */
#ifndef MP_CORE_CONFIG_H
#define MP_CORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/clienttask.h"
#include "wire/inserted.h"

#define MP_CONFIG_HOST_MAX        256  /* host part of an address or URL, with NUL */
#define MP_CONFIG_URL_MAX         1024 /* base_url, with NUL */
#define MP_CONFIG_SECRET_MAX      512  /* api_key, with NUL */
#define MP_CONFIG_NAME_MAX        128  /* header names, model names, with NUL */
#define MP_CONFIG_PATH_MAX        1024 /* storage path, with NUL */
#define MP_CONFIG_LANGS_MAX       160  /* translate_languages: 34 codes and commas + NUL */
#define MP_CONFIG_TOKEN_MAX       1025 /* user_signature_key, admin token: 1024 bytes + NUL */
#define MP_CONFIG_LINE_MAX        4096 /* longest accepted INI line, without newline */
#define MP_CONFIG_ERRORS_MAX      32   /* errors kept per parse; more are counted only */
#define MP_CONFIG_BATCH_TURNS_MAX 64   /* [memory] extract_batch_turns, at most */

enum mp_memory_mode {
    MP_MEMORY_OFF,
    MP_MEMORY_BUFFER,
    MP_MEMORY_SUMMARY,
    MP_MEMORY_ENTITY,
    MP_MEMORY_HYBRID
};

/* [memory] retrieval: how what reaches a request is chosen (core/recall/recall.h). */
enum mp_retrieval {
    MP_RETRIEVAL_RELEVANT, /* scored against the request's question, within the shares */
    MP_RETRIEVAL_RECENT    /* strongest facts, summary, newest messages (no scoring) */
};

/* [memory] llm: the API the memory model (summaries, extraction) is called
 * through: OpenAI's chat completions at [upstream], or Anthropic's Messages
 * at [anthropic]. */
enum mp_llm_api { MP_LLM_OPENAI, MP_LLM_ANTHROPIC };
/* What carries the request path's upstream exchanges: libcurl, or memproxy's
 * own HTTP/1.1 client (proxy/net/h1client.h). */
enum mp_upstream_client { MP_UPSTREAM_CURL, MP_UPSTREAM_NATIVE };
/* [upstream] prompt_cache_key: whether memproxy sets a prompt_cache_key
 * per conversation on OpenAI requests that carry none
 * (proxy/plane/cachekey.h): auto, when the base URL's host is
 * api.openai.com; conversation, always; off, never. */
enum mp_cache_key { MP_CACHE_KEY_AUTO, MP_CACHE_KEY_CONVERSATION, MP_CACHE_KEY_OFF };

enum mp_storage_sync { MP_SYNC_FULL, MP_SYNC_META, MP_SYNC_NONE };

/* [storage] backend: the embedded LMDB store, or a PostgreSQL database
 * that any number of memproxy processes share. */
enum mp_storage_backend { MP_BACKEND_LMDB, MP_BACKEND_POSTGRES };

enum mp_log_level { MP_LOG_DEBUG, MP_LOG_INFO, MP_LOG_WARN, MP_LOG_ERROR };

enum mp_log_format { MP_LOG_JSON, MP_LOG_TEXT };

/* [governance] pii_mode: what happens to an item flagged as PII. */
enum mp_pii_mode {
    MP_PII_STORE,  /* store it, flagged */
    MP_PII_REDACT, /* mask the PII before storing */
    MP_PII_DROP    /* never store it */
};

/* [security] tenant_from: how memory is namespaced. */
enum mp_tenant_from {
    MP_TENANT_NONE,   /* one namespace */
    MP_TENANT_API_KEY /* by a hash of the client's API key */
};

/* A listen address "host:port" or "[v6]:port"; port 0 asks the kernel for one. */
struct mp_addr {
    char host[MP_CONFIG_HOST_MAX]; /* without brackets */
    uint16_t port;
};

/* base_url split into its parts. path never ends in '/' ("" for none). */
struct mp_url {
    char text[MP_CONFIG_URL_MAX]; /* normalized: scheme://host[:port]path */
    bool https;
    char host[MP_CONFIG_HOST_MAX];
    uint16_t port; /* the explicit or default port */
    char path[MP_CONFIG_URL_MAX];
};

struct mp_config {
    struct {
        struct mp_addr listen;       /* 127.0.0.1:8080; restart-only */
        struct mp_addr admin_listen; /* 127.0.0.1:8081; restart-only */
        unsigned workers;            /* 0 = one per CPU; at most 256; restart-only */
        uint64_t max_body_bytes;     /* 67108864 (64 MiB); 1 .. 1 GiB */
        uint32_t max_header_bytes;   /* 65536; 1024 .. 1 MiB */
        uint32_t client_timeout_ms;  /* 10000; 1 .. 3600000 */
        uint32_t max_connections;    /* 0 = auto (mp_config_auto_max_connections()); .. 1000000 */
        uint32_t drain_timeout_ms;   /* 25000; 0 .. 3600000 */
    } server;
    struct {
        struct mp_url base_url;             /* https://api.openai.com/v1 */
        char api_key[MP_CONFIG_SECRET_MAX]; /* "" = forward the client's */
        char ca_file[MP_CONFIG_PATH_MAX];   /* "" = the system CA store; else a PEM
                                               bundle trusted instead (private CAs) */
        uint32_t connect_timeout_ms;        /* 5000; 1 .. 600000 */
        uint32_t idle_timeout_ms;           /* 120000; 1 .. 3600000 */
        enum mp_upstream_client client;     /* native */
        enum mp_cache_key prompt_cache_key; /* auto */
        bool forward_memory_headers;        /* false: memproxy's own request headers (user_header,
                                               X-Memory, X-User-Signature, X-Memory-Task) are
                                               removed before forwarding */
    } upstream;
    struct {                                /* /v1/messages and below (Anthropic's API) */
        struct mp_url base_url;             /* text "" (the default): those routes answer 404;
                                               else e.g. https://api.anthropic.com, the
                                               client's whole path appended */
        char api_key[MP_CONFIG_SECRET_MAX]; /* "" = forward the client's x-api-key */
    } anthropic;
    struct {                                /* retrieval by meaning (docs/memory-embeddings.md) */
        struct mp_url base_url;             /* "" (the default): off; else the API root,
                                               memproxy POSTs {base_url}/embeddings */
        char model[MP_CONFIG_NAME_MAX];     /* text-embedding-3-small */
        char api_key[MP_CONFIG_SECRET_MAX]; /* "" = none; sent to base_url's host only */
        uint32_t dimensions;                /* 0 = not sent (learned from the first answer);
                                               .. 8192 */
        char query_prefix[MP_CONFIG_NAME_MAX];     /* "" = none; e5 served raw: "query: " */
        char document_prefix[MP_CONFIG_NAME_MAX];  /* "" = none; e5 served raw: "passage: " */
        char input_type_field[MP_CONFIG_NAME_MAX]; /* "" = none; e.g. input_type */
        uint32_t timeout_ms;  /* 300; 1 .. 600000: a question's wait (read side) */
        uint32_t batch_items; /* 32; 1 .. 1024 texts per call */
        uint32_t max_scan;    /* 30000; 1 .. 10000000 vectors one question scores */
        double dense_weight;  /* 0.5; 0 .. 1: the meaning list's weight in fusion (0: words only) */
    } embeddings;
    struct {
        enum mp_memory_mode mode;                  /* hybrid */
        char user_header[MP_CONFIG_NAME_MAX];      /* X-User-Id: an HTTP token */
        bool user_from_body;                       /* true */
        uint32_t buffer_messages;                  /* 15; 1 .. 1000 */
        uint32_t summarize_at;                     /* 20; 2 .. 10000, >= buffer_messages */
        uint32_t summary_max_words;                /* 150; 10 .. 10000 */
        char summary_model[MP_CONFIG_NAME_MAX];    /* gpt-4o-mini */
        char extraction_model[MP_CONFIG_NAME_MAX]; /* gpt-4o-mini */
        double min_confidence;                     /* 0.7; 0 .. 1 */
        uint32_t context_budget_tokens;            /* 1500; 0 .. 1000000 */
        uint32_t queue_max;                        /* 10000; 1 .. 10000000 */
        uint32_t queue_max_bytes; /* 64 MiB; 65536 .. 4294967295: what queued turns hold */
        bool durable_ack;         /* true: a recorded reply ends only once its turn is committed */
        uint32_t idempotency_hours; /* 24; 1 .. 8760: how long a turn's idempotency key lives */
        uint32_t job_lease_seconds; /* 150; 2 .. 3600: how long a claimed memory job is its
                                       process's before another may take it over */
        /* a memory job that failed (429, 5xx, no answer) is tried again
         * after job_retry_backoff_ms, doubling up to job_retry_backoff_max_ms
         * (or the upstream's Retry-After), until it succeeds or its turn is
         * older than job_retry_horizon_seconds: then it is kept as failed,
         * for a re-run (proxy/memory/memjob.h) */
        uint32_t job_retry_backoff_ms;      /* 1000; 10 .. 60000 */
        uint32_t job_retry_backoff_max_ms;  /* 300000; 10 .. 3600000 */
        uint32_t job_retry_horizon_seconds; /* 21600; 0 .. 2592000 */
        /* extraction batches (proxy/memory/memjob.h): a user's pending turns
         * go to the memory model in one call once they are this many, or
         * the oldest has waited extract_idle_seconds, or at drain */
        uint32_t extract_batch_turns;  /* 8; 1 .. MP_CONFIG_BATCH_TURNS_MAX */
        uint32_t extract_idle_seconds; /* 20; 0 .. 3600 */
        /* an import's turns that go to the memory model, at most this many
         * estimated tokens (core/import/importplan.h); 0: none goes */
        uint64_t import_extract_max_tokens; /* 200000; 0 .. 1000000000 */
        /* imports' bounds (proxy/admin/importrun.h): the share of queue_max
         * and queue_max_bytes imports may fill, in percent (the rest is the
         * chat turns' headroom); items one import may hold; what one user
         * may hold in all (facts: max_facts_per_user); estimated memory-model
         * tokens a user's imports may plan a day (UTC) */
        uint32_t import_queue_share;            /* 50; 1 .. 90 */
        uint32_t import_max_messages;           /* 20000; 1 .. 10000000 */
        uint32_t import_max_facts;              /* 1000; 1 .. 10000000 */
        uint32_t max_messages_per_user;         /* 200000; 1 .. 100000000 */
        uint64_t max_model_tokens_per_user_day; /* 400000; 0 .. 1000000000000 */
        /* memory jobs held for a credential (core/memory/heldjobs.h): kept
         * at most held_jobs_max in all and held_jobs_per_user per user (the
         * oldest leave first), each at most held_jobs_ttl_seconds */
        uint32_t held_jobs_max;         /* 10000; 0 .. 10000000 */
        uint32_t held_jobs_per_user;    /* 40; 0 .. 10000000 */
        uint32_t held_jobs_ttl_seconds; /* 604800 (7 days); 1 .. 31536000 */
        enum mp_retrieval retrieval;    /* relevant | recent; relevant */
        enum mp_llm_api llm; /* openai | anthropic (needs [anthropic] base_url); openai */
        /* "" = the memory provider's configured key, else the client's
         * (core/memory/memcred.h); else the key memory jobs send. A secret. */
        char api_key[MP_CONFIG_SECRET_MAX];
        bool archive;                /* true: every past message is kept and searchable */
        bool search_keys;            /* true: extraction also writes each turn's search keys */
        uint32_t max_facts_per_user; /* 100000; 1 .. 10000000 */
        /* The split of context_budget_tokens between the block's sections
         * under relevant retrieval, in percent (0 .. 100 each, summing to
         * 100); what a section leaves unused flows to the others
         * (core/recall/recall.h). */
        uint32_t share_profile; /* 40: facts */
        uint32_t share_past;    /* 30: relevant archived messages */
        uint32_t share_summary; /* 15: the rolling summary */
        uint32_t share_buffer;  /* 15: the recent messages */
        /* Relevance's ceiling: postings one scoring call reads at most
         * (core/recall/relevance.h); 20000; 1 .. 4294967295. */
        uint32_t relevance_max_postings;
        /* Conversations (core/wire/convid.h, core/wire/inject.h): the stable
         * head's share of the budget, and each worker's table of heads. */
        uint32_t head_share;                /* 0; 0 .. 100 percent */
        uint32_t conversations_max;         /* 32; 0 .. 10000000 per user; 0: none kept */
        uint32_t conversation_bytes_max;    /* 1 MiB; 0 .. 4294967295 per user */
        uint32_t conversation_idle_seconds; /* 1800; 1 .. 604800 */
        uint32_t head_max_age_seconds;      /* 3600; 1 .. 604800 */
        /* Client tasks (core/wire/clienttask.h): a task is forwarded without memory */
        bool task_detection;                    /* true */
        char task_header[MP_CONFIG_NAME_MAX];   /* X-OpenWebUI-Task; "" = none */
        char task_patterns[MP_CONFIG_PATH_MAX]; /* "" = the built-in defaults; else a file */
        struct mp_clienttask_patterns task_pattern_set; /* read from it (the proxy's job) */
        /* Inserted context (core/wire/inserted.h): a client's blocks in a user
         * message, left out of what is recorded and asked */
        char inserted_context_patterns[MP_CONFIG_PATH_MAX]; /* "" = the built-in defaults */
        struct mp_inserted_patterns inserted_pattern_set;   /* read from it (the proxy's job) */
        /* Temporary chats (core/wire/convid.h): memory read, the turn not
         * recorded unless this is set */
        bool record_temporary_chats; /* false */
        /* Memory across languages (core/recall/xlate.h): the dictionaries a
         * question's words are looked up in, read at start */
        char translate_languages[MP_CONFIG_LANGS_MAX]; /* "all"; "none"; "de,fr,..." */
        char translate_dir[MP_CONFIG_PATH_MAX];        /* "" = the installed tables */
    } memory;
    struct {
        char path[MP_CONFIG_PATH_MAX]; /* ./data; restart-only */
        uint32_t map_size_mb;          /* 1024; 1 .. 1048576; restart-only */
        enum mp_storage_sync sync;     /* full */
        /* "" = no encryption at rest; else the path of a file holding the
         * 32-byte key (read by the proxy at start, restart-only). */
        char encryption_key_file[MP_CONFIG_PATH_MAX];
        enum mp_storage_backend backend; /* lmdb; restart-only */
        /* postgres: a libpq connection string or URI, or the path of a file
         * holding one (exactly one of the two); never logged or echoed */
        char postgres_url[MP_CONFIG_TOKEN_MAX];
        char postgres_url_file[MP_CONFIG_PATH_MAX];
        uint32_t postgres_pool;            /* 4; 1 .. 64 connections per worker: see
                                            * mp_config_postgres_loop_pool() */
        bool migrate;                      /* true: create/upgrade the schema at start */
        uint32_t postgres_read_timeout_ms; /* 1000; 10 .. 60000: a request's memory read */
    } storage;
    struct {
        uint32_t retention_days;         /* 365; 0 .. 36500; 0 = no age limit */
        uint32_t pii_retention_days;     /* 30; 0 .. 36500; 0 = PII follows retention_days */
        enum mp_pii_mode pii_mode;       /* store | redact | drop; store */
        bool inject_pii;                 /* true; false: PII items are never injected */
        uint32_t sweep_interval_seconds; /* 600; 1 .. 86400: how often the sweeper runs */
        uint32_t history_per_fact;       /* 20; 1 .. 10000: history entries kept per fact */
    } governance;
    struct {
        enum mp_tenant_from tenant_from; /* none | api_key; none; restart-only */
        /* "" = user id signatures not required; else the HMAC-SHA256 key that
         * X-User-Signature is checked with. A secret. */
        char user_signature_key[MP_CONFIG_TOKEN_MAX];
        /* 250; 0 .. 60000; 0 = off: after 3 refusals (401, 403) from one
           peer on the admin or page listener, each further refusal is
           answered this long later, doubling up to 32 times it
           (proxy/net/backoff.h) */
        uint32_t auth_backoff_ms;
    } security;
    struct {
        /* "" = admin API disabled (404); else the bearer token it requires.
         * A secret. */
        char token[MP_CONFIG_TOKEN_MAX];
        uint32_t max_connections; /* 64; 1 .. 100000: open at once, more get 503 */
        uint32_t max_body_bytes;  /* 33554432 (32 MiB); 1024 .. 1073741824 */
        /* true: a chat request with X-Memory-Explain: 1 gets its explanation
           kept for GET /admin/explain/{id} (proxy/plane/explaintab.h) */
        bool explain_requests;
    } admin;
    struct {
        /* host "" (the default): no page listener; else where the memory
           page is served to people (proxy/page/page.h); restart-only */
        struct mp_addr listen;
        /* "" = no page listener may run; else the HMAC-SHA256 key the
           page's links are signed and checked with (core/pagelink.h), of
           its own: apps need not sign user ids for the page to work. A
           secret, at least 32 bytes of a random key's text */
        char link_key[MP_CONFIG_TOKEN_MAX];
        uint32_t max_connections; /* 64; 1 .. 100000: open at once, more get 503 */
        uint32_t max_body_bytes;  /* 33554432 (32 MiB); 1024 .. 1073741824: an upload */
        /* true: every chat request that reads a user's memory keeps its
           explanation for that user's page (proxy/plane/explaintab.h) */
        bool explain_last;
    } page;
    struct {
        bool enabled; /* false: /mcp answers 404 */
        /* "" = no bearer token required on /mcp; else the file holding it
           (its first line), read into token when the configuration loads */
        char token_file[MP_CONFIG_PATH_MAX];
        char token[MP_CONFIG_TOKEN_MAX]; /* a secret; "" without token_file */
    } mcp;
    struct {
        enum mp_log_level level;   /* info */
        enum mp_log_format format; /* json */
    } log;
};

/* One configuration error. source is the file name given to the parser, or
 * "environment"; line is 1-based, 0 when the error has no line (environment,
 * cross-field checks). */
struct mp_config_error {
    char source[MP_CONFIG_PATH_MAX];
    unsigned line;
    char message[320];
};

struct mp_config_errors {
    struct mp_config_error items[MP_CONFIG_ERRORS_MAX];
    size_t count;   /* errors kept in items */
    size_t dropped; /* further errors that did not fit */
};

/* Fills *c with the defaults of docs/configuration.md. */
void mp_config_defaults(struct mp_config *c);

/* Sets one key from its text value, e.g. ("server", "workers", "4").
 * Section and key are matched case-insensitively; value is taken as written
 * (the INI parser has already stripped quotes, comments and blanks).
 * Returns MP_OK; MP_NOTFOUND for an unknown section or key; MP_EINVAL for
 * a bad value. On failure *c is unchanged and err (borrowed, errcap bytes; may be
 * NULL) holds a one-line reason that never repeats the value of a secret key
 * (other bad values are quoted, cut to 60 bytes). Values are strict:
 *   - integers: decimal digits only (no sign, blank, hex or trailing text),
 *     within the range in the struct comment;
 *   - booleans: true/false, yes/no, on/off, 1/0 (any case);
 *   - enums: the names in the struct comments (any case);
 *   - min_confidence: a decimal number (digits, '.', exponent) in 0 .. 1;
 *   - listen, admin_listen: see mp_config_parse_addr; base_url: see
 *     mp_config_parse_url;
 *   - user_header: an HTTP field name (RFC 9110 token characters);
 *   - summary_model, extraction_model: printable ASCII without spaces;
 *   - secrets (api_key, user_signature_key, admin token): printable ASCII
 *     without spaces or control characters (api_key goes into a header, the
 *     admin token is compared with a bearer token), or empty, which turns
 *     the feature off ("forward the client's Authorization", "signatures
 *     not required", "admin API disabled"); at most 511, 1024 and 1024
 *     bytes. Their errors say "(value not shown)" and never quote them;
 *   - user_signature_key, admin token and page link_key, when set, must
 *     look like a random key's text (core/keystrength.h: 32 bytes or more,
 *     varied, not a repeat); the error names the key, never its value;
 *   - storage path: any bytes but control characters; encryption_key_file
 *     and upstream ca_file: the same, or empty (feature off). Only the
 *     syntax is checked here: the proxy reads the files;
 *   - strings must fit their field (with NUL); too long is an error, never
 *     truncated. An empty value is an error for every key but the secrets,
 *     ca_file and encryption_key_file. */
int mp_config_set(struct mp_config *c, const char *section, const char *key, const char *value,
                  char *err, size_t errcap);

/* Applies INI text (len bytes, need not be NUL-terminated) to *c. Syntax:
 * "[section]", "key = value", blank lines, full-line comments starting with
 * ';' or '#', inline comments after " ;" or " #", values optionally in double
 * quotes (then ';' and '#' are literal). Every problem is appended to errs
 * with source and line: syntax errors, lines over MP_CONFIG_LINE_MAX, keys
 * outside a section, duplicate keys, unknown keys, bad values.
 * The full syntax is in core/config/ini.h (CRLF and a leading UTF-8 BOM are
 * accepted; in quotes, \" and \\ are the only escapes). A section may appear
 * more than once, a key only once per section: the second one is reported
 * with the line of the first. An unknown section is reported once and its
 * keys are skipped. Parsing always goes on to the end of the text.
 * Returns MP_OK when no error was found, else MP_EINVAL (good keys are still
 * applied; callers discard *c on error). */
int mp_config_parse_ini(struct mp_config *c, const char *text, size_t len, const char *source,
                        struct mp_config_errors *errs);

/* The line of INI text[0..len) that sets key in section (both matched
 * case-insensitively, as the parser does: the first such line), or 0 when
 * none does. */
unsigned mp_config_key_line(const char *text, size_t len, const char *section, const char *key);

/* Applies every "MEMPROXY_<SECTION>_<KEY>=value" entry of envp (a NULL-
 * terminated array like environ, borrowed) to *c; other entries are ignored.
 * SECTION is the part up to the first '_' after "MEMPROXY_", KEY the rest,
 * both matched case-insensitively (MEMPROXY_SERVER_MAX_BODY_BYTES sets
 * [server] max_body_bytes); the value is taken as is (no quotes, no trim).
 * A MEMPROXY_ variable that names no key is an error (typos must not pass
 * silently), except MEMPROXY_TEST_* (test hooks, e.g. proxy/clock.h). Entries are applied in array
 * order; good ones are applied even when others fail. Returns MP_OK or MP_EINVAL with errors
 * appended (source "environment", line 0, message naming the variable, never a secret). */
int mp_config_apply_env(struct mp_config *c, const char *const *envp,
                        struct mp_config_errors *errs);

/* Cross-field checks after all sources are applied (e.g. summarize_at >=
 * buffer_messages, listen != admin_listen). Returns MP_OK or MP_EINVAL with
 * errors appended (line 0). In detail:
 *   - every field is held again to the rule of its key (ranges in the
 *     comments above, enum values, string rules, hosts, base_url), so a
 *     struct built or changed in code passes only what the parser would;
 *   - memory.summarize_at >= memory.buffer_messages;
 *   - memory.share_profile + share_past + share_summary + share_buffer == 100;
 *   - listen and admin_listen cannot both be bound: same non-zero port and
 *     the same host (case-insensitive), or the same non-zero port where
 *     either host is a wildcard (0.0.0.0 or ::). Two port-0 listeners are fine.
 *   - backend = postgres with workers set (not 0, auto): postgres_pool x
 *     workers leaves each worker's loop a connection after the background
 *     ones (mp_config_postgres_loop_pool() is not 0); with workers auto the
 *     proxy checks the same at start, once it knows the count.
 * Errors found here have source "" (no file). */
int mp_config_validate(const struct mp_config *c, struct mp_config_errors *errs);

/* [server] max_connections = 0 (auto): what a process whose open-file
 * limit is nofile can carry. Each proxied request holds two descriptors
 * (its client's and its upstream connection's); MP_CONFIG_FD_RESERVE more
 * are kept for listeners, the store, logs, event loops and memory-model
 * calls, and with backend = postgres the process's connections to the
 * database (workers x postgres_pool). So (nofile - reserve) / 2, at
 * least 1, at most 1000000. workers: the resolved count (>= 1). */
#define MP_CONFIG_FD_RESERVE 256
uint32_t mp_config_auto_max_connections(const struct mp_config *c, unsigned workers,
                                        uint64_t nofile);

/* The PostgreSQL backend's connection budget: a process opens at most
 * workers x postgres_pool connections. MP_CONFIG_PG_BACKGROUND of them
 * serve the threads that block on the database (the memory worker, and
 * the main thread's admin plane and retention sweeps), one each; the rest
 * are shared evenly by the workers' event loops for their requests'
 * memory reads. */
#define MP_CONFIG_PG_BACKGROUND 2

/* Connections each worker's loop keeps, of a budget of pool per worker for
 * workers workers (>= 1): (workers x pool - MP_CONFIG_PG_BACKGROUND) /
 * workers; 0 when that leaves a loop none (the configuration is then
 * invalid). */
unsigned mp_config_postgres_loop_pool(uint32_t pool, unsigned workers);

/* Parses "host:port", "[v6]:port" (port 0 .. 65535, decimal digits). host is
 * a DNS name ([A-Za-z0-9._-], no empty label) or a dotted-quad IPv4 address
 * (parts 0..255, no leading zeros); v6 is an IPv6 literal without zone id.
 * Rejected: "host", ":80", "[::1]80", "::1:80", "1.2.3.4:99999".
 * MP_OK or MP_EINVAL (*out untouched). */
int mp_config_parse_addr(const char *text, struct mp_addr *out);

/* Parses an http:// or https:// URL without query, fragment or userinfo;
 * a trailing '/' is dropped from the path. In detail: scheme http or https
 * (any case), host as in mp_config_parse_addr or "[v6]", optional port
 * 1 .. 65535 (default 80 / 443), optional path. Printable ASCII only: no
 * blanks, control bytes, '@', '?', '#', '\' or malformed %XX escapes.
 * text is rebuilt as scheme://host[:port]path with scheme and host in lower
 * case; the port appears only when it was written.
 * "https://api.openai.com/v1/" -> text "https://api.openai.com/v1",
 * host "api.openai.com", port 443, path "/v1". MP_OK or MP_EINVAL (*out
 * untouched). */
int mp_config_parse_url(const char *text, struct mp_url *out);

/* Static names for enum values, as written in the INI file; "unknown" for a
 * value outside the enum. Never NULL. */
const char *mp_config_mode_name(enum mp_memory_mode mode);
const char *mp_config_retrieval_name(enum mp_retrieval retrieval);
const char *mp_config_level_name(enum mp_log_level level);
const char *mp_config_sync_name(enum mp_storage_sync sync);
const char *mp_config_backend_name(enum mp_storage_backend backend);
const char *mp_config_format_name(enum mp_log_format format);
const char *mp_config_pii_mode_name(enum mp_pii_mode mode);
const char *mp_config_tenant_from_name(enum mp_tenant_from from);
const char *mp_config_cache_key_name(enum mp_cache_key key);

#endif
