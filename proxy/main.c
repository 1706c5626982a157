/* memproxy's entry point: command line, configuration, storage, server,
 * and the exit statuses of docs/cli.md (0 clean stop, 1 bad configuration,
 * 2 could not start). */
#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "config_load.h"
#include "ctl/ctl_main.h"
#include "curl_lib.h"
#include "log.h"
#include "memory/memcred.h"
#include "mp_commit.h"
#include "mp_version.h"
#include "probe.h"
#include "format/seal.h"
#include "server.h"
#include "status.h"
#include "ops/store.h"
#include "store_open.h"
#include "pg/store_pg.h"
#include "xlatemap.h"

extern char **environ;

enum { EXIT_CLEAN = 0, EXIT_CONFIG = 1, EXIT_START = 2 };

struct options {
    const char *config_path;
    const char *rotate_to; /* --rotate-key FILE */
    bool check_only;
    bool migrate; /* --migrate */
};

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: memproxy [-c FILE] [--check-config] [--migrate] [--rotate-key FILE] [--probe URL] "
        "[--version] [--help]\n"
        "       memproxy ctl [OPTIONS] COMMAND ...  the ops command line (memproxy ctl --help)\n"
        "  -c, --config FILE    INI configuration (default: built-in defaults + environment)\n"
        "  --check-config       validate the configuration, load the libraries it needs\n"
        "                       (libcurl; libpq for postgres) and exit (0 valid, 1 not)\n"
        "  --rotate-key FILE    with the proxy stopped: re-encrypt the store under the key\n"
        "                       in FILE (from [storage] encryption_key_file, or from clear\n"
        "                       when none is set), then exit; point the config at FILE\n"
        "  --migrate            [storage] backend = postgres: create or upgrade the\n"
        "                       database schema, then exit\n"
        "  --probe URL          GET an http://HOST:PORT/PATH URL (2 s timeout) and exit 0\n"
        "                       on a 2xx, 1 otherwise (a health check needing no curl)\n"
        "  --version            print the version and the build's git commit, and exit\n"
        "  --help               print this help and exit\n"
        "Every key can be set as MEMPROXY_<SECTION>_<KEY>; the environment wins.\n");
}

/* Returns -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, struct options *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if ((strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) && i + 1 < argc) {
            o->config_path = argv[++i];
        } else if (strncmp(a, "--config=", 9) == 0) {
            o->config_path = a + 9;
        } else if (strcmp(a, "--check-config") == 0) {
            o->check_only = true;
        } else if (strcmp(a, "--migrate") == 0) {
            o->migrate = true;
        } else if (strcmp(a, "--rotate-key") == 0 && i + 1 < argc) {
            o->rotate_to = argv[++i];
        } else if (strcmp(a, "--probe") == 0 && i + 1 < argc) {
            return mp_probe_main(argv[++i]);
        } else if (strcmp(a, "--version") == 0) {
            printf("memproxy %s (commit %s)\n", MP_VERSION, MP_COMMIT);
            return EXIT_CLEAN;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return EXIT_CLEAN;
        } else {
            fprintf(stderr, "memproxy: unknown argument '%s'\n", a);
            usage(stderr);
            return EXIT_CONFIG;
        }
    }
    return -1;
}

static void log_error(const char *msg, const char *err)
{
    struct mp_logline l;
    mp_logline_begin(&l, MP_LOG_ERROR, msg);
    mp_logline_str(&l, "error", err);
    mp_logline_end(&l);
}

/* The configured encryption key: MP_OK with *has (false: none set). */
static int load_key(const struct mp_config *cfg, struct mp_seal_key *key, bool *has)
{
    char why[512] = "";
    *has = cfg->storage.encryption_key_file[0] != '\0';
    if (!*has)
        return MP_OK;
    if (mp_seal_key_load(cfg->storage.encryption_key_file, key, why, sizeof(why)) == MP_OK)
        return MP_OK;
    log_error("cannot load [storage] encryption_key_file", why);
    return MP_EIO;
}

/* The connection string of [storage] postgres_url(_file), or NULL (logged). */
static char *postgres_url(const struct mp_config *cfg)
{
    char err[256] = "";
    char *url = NULL;
    if (mp_config_postgres_url(cfg, &url, err, sizeof(err)) != MP_OK) {
        log_error("cannot read the PostgreSQL connection string", err);
        return NULL;
    }
    return url;
}

/* With [server] workers auto, the connection budget's rule
 * (mp_config_validate()) is checked here, once the count is known, by
 * --check-config and at start alike; its error is printed as the
 * configuration's others are (FILE:LINE: message). */
static int check_postgres_budget(const struct mp_config *cfg, const char *config_path)
{
    unsigned workers = mp_server_worker_count(cfg);
    if (cfg->storage.backend != MP_BACKEND_POSTGRES ||
        mp_config_postgres_loop_pool(cfg->storage.postgres_pool, workers) != 0)
        return MP_OK;
    struct mp_config_errors errs;
    memset(&errs, 0, sizeof(errs));
    errs.count = 1;
    snprintf(errs.items[0].message, sizeof(errs.items[0].message),
             "[storage] postgres_pool (%u) x workers (%u, auto) must be at least workers + %d",
             (unsigned)cfg->storage.postgres_pool, workers, MP_CONFIG_PG_BACKGROUND);
    mp_config_locate_errors(&errs, 0, config_path, (const char *const *)environ);
    mp_config_print_errors(&errs, stderr);
    return MP_EINVAL;
}

/* --migrate: the PostgreSQL schema created or upgraded, then exit. */
static int migrate(const struct mp_config *cfg)
{
    char err[512] = "";
    int from = 0;
    if (cfg->storage.backend != MP_BACKEND_POSTGRES) {
        fprintf(stderr, "memproxy: --migrate needs [storage] backend = postgres (an LMDB store "
                        "converts itself when it opens)\n");
        return EXIT_CONFIG;
    }
    char *url = postgres_url(cfg);
    if (url == NULL)
        return EXIT_START;
    int rc = mp_store_pg_migrate(url, &from, err, sizeof(err));
    mp_config_postgres_url_free(url);
    if (rc != MP_OK) {
        log_error("schema migration failed", err);
        return EXIT_START;
    }
    if (from == MP_PG_SCHEMA_VERSION)
        printf("PostgreSQL schema already at version %d\n", MP_PG_SCHEMA_VERSION);
    else
        printf("PostgreSQL schema upgraded from version %d to %d\n", from, MP_PG_SCHEMA_VERSION);
    return EXIT_CLEAN;
}

/* The store, its PostgreSQL pool sized for the threads that block on it
 * (the memory worker, the main thread): MP_CONFIG_PG_BACKGROUND; the
 * workers' loops keep their own connections (plane/memread.h). */
static int open_store(const struct mp_config *cfg, struct mp_store **store)
{
    char err[512] = "";
    bool sealed = false;
    if (mp_store_open_configured(cfg, MP_CONFIG_PG_BACKGROUND, store, &sealed, err, sizeof(err)) !=
        MP_OK) {
        log_error("cannot open storage", err);
        return MP_EIO;
    }
    if (!sealed)
        mp_log(MP_LOG_WARN, "storage is not encrypted: memory is stored in clear "
                            "(set [storage] encryption_key_file to encrypt it)");
    return MP_OK;
}

/* --rotate-key: the store re-encrypted under the key in path. */
static int rotate_key(const struct mp_config *cfg, const char *path)
{
    char err[512] = "";
    struct mp_store_options opts;
    struct mp_seal_key old_key, new_key;
    bool has_old = false;
    char data[sizeof(cfg->storage.path) + 16];
    if (cfg->storage.backend != MP_BACKEND_LMDB) {
        log_error("no store to rotate", "--rotate-key works on the LMDB backend only");
        return EXIT_START;
    }
    mp_store_lmdb_options(cfg, &opts);
    snprintf(data, sizeof(data), "%s/data.mdb", cfg->storage.path);
    if (access(data, R_OK | W_OK) != 0) { /* a mistyped path must not create a store */
        log_error("no store to rotate", strerror(errno));
        return EXIT_START;
    }
    if (load_key(cfg, &old_key, &has_old) != MP_OK)
        return EXIT_START;
    if (mp_seal_key_load(path, &new_key, err, sizeof(err)) != MP_OK) {
        log_error("cannot load the new key", err);
        mp_seal_key_wipe(&old_key);
        return EXIT_START;
    }
    opts.key = has_old ? &old_key : NULL;
    int rc = mp_store_rekey_lmdb(&opts, &new_key, err, sizeof(err));
    mp_seal_key_wipe(&old_key);
    mp_seal_key_wipe(&new_key);
    if (rc != MP_OK) {
        log_error("key rotation failed; the store is unchanged", err);
        return EXIT_START;
    }
    printf("storage at %s is now encrypted with the key in %s: set [storage] "
           "encryption_key_file = %s\n",
           cfg->storage.path, path, path);
    return EXIT_CLEAN;
}

/* The libraries memproxy maps when it first needs them (ondemand/), loaded
 * now to show they are there: libcurl (memory-model calls, client = curl)
 * always, libpq with backend = postgres. Says which is missing on stderr. */
static bool check_libraries(const struct mp_config *cfg)
{
    const char *why = NULL;
    if (mp_curl_load(&why) != MP_OK ||
        (cfg->storage.backend == MP_BACKEND_POSTGRES && mp_store_pg_load_libpq(&why) != MP_OK)) {
        fprintf(stderr, "memproxy: %s\n", why);
        return false;
    }
    return true;
}

/* client = curl forwards every request through libcurl: loaded at start,
 * so a missing libcurl stops the start instead of failing requests. */
static int load_forwarding_client(const struct mp_config *cfg)
{
    const char *why = NULL;
    if (cfg->upstream.client != MP_UPSTREAM_CURL || mp_curl_load(&why) == MP_OK)
        return MP_OK;
    log_error("[upstream] client = curl needs libcurl", why);
    return MP_EIO;
}

static int run(const struct mp_config *cfg, const char *config_path)
{
    struct mp_store *store = NULL;
    struct mp_server *server = NULL;
    int status = EXIT_START;
    if (load_forwarding_client(cfg) != MP_OK || open_store(cfg, &store) != MP_OK)
        goto out;
    if (mp_memcred_warning(cfg) != NULL)
        mp_log(MP_LOG_WARN, mp_memcred_warning(cfg));
    (void)mp_xlatemap_load(cfg);
    if (mp_server_new(cfg, config_path, store, &server) != MP_OK)
        goto out;
    mp_server_run(server);
    struct mp_logline l;
    mp_logline_begin_always(&l, MP_LOG_INFO, "stopped");
    mp_logline_end(&l);
    status = EXIT_CLEAN;
out:
    mp_server_free(server);
    mp_store_free(store);
    mp_xlatemap_unload();
    return status;
}

int main(int argc, char **argv)
{
    struct options o = {0};
    struct mp_config cfg;
    struct mp_config_errors errs;
    if (argc > 1 && strcmp(argv[1], "ctl") == 0)
        return mp_ctl_main(argc - 1, argv + 1);
    int rc = parse_args(argc, argv, &o);
    if (rc >= 0)
        return rc;
    if (mp_config_load(o.config_path, (const char *const *)environ, &cfg, &errs) != MP_OK) {
        mp_config_print_errors(&errs, stderr);
        return EXIT_CONFIG;
    }
    bool serves = !o.check_only && o.rotate_to == NULL && !o.migrate;
    if ((o.check_only || serves) && check_postgres_budget(&cfg, o.config_path) != MP_OK)
        return EXIT_CONFIG;
    if (o.check_only) {
        const char *warning = mp_memcred_warning(&cfg);
        if (warning != NULL)
            fprintf(stderr, "memproxy: warning: %s\n", warning);
        if (!check_libraries(&cfg))
            return EXIT_CONFIG;
        printf("configuration ok\n");
        return EXIT_CLEAN;
    }
    mp_log_configure(cfg.log.level, cfg.log.format);
    if (o.rotate_to != NULL)
        return rotate_key(&cfg, o.rotate_to);
    if (o.migrate)
        return migrate(&cfg);
    if (mp_clock_init() != 0) {
        mp_log(MP_LOG_ERROR, "MEMPROXY_TEST_CLOCK_OFFSET_MS is not a number");
        return EXIT_CONFIG;
    }
    if (mp_clock_offset_ms() != 0) { /* retention follows this clock: never silent */
        struct mp_logline l;
        mp_logline_begin_always(&l, MP_LOG_WARN,
                                "memory clock moved by MEMPROXY_TEST_CLOCK_OFFSET_MS (for tests "
                                "only: retention and provenance times follow it)");
        mp_logline_int(&l, "offset_ms", mp_clock_offset_ms());
        mp_logline_end(&l);
    }
    signal(SIGPIPE, SIG_IGN);
    if (evthread_use_pthreads() != 0) { /* libcurl: loaded when first used (curl_lib.h) */
        mp_log(MP_LOG_ERROR, "cannot initialize libevent threads");
        return EXIT_START;
    }
    rc = run(&cfg, o.config_path);
    mp_curl_unload();
    libevent_global_shutdown();
    return rc;
}
