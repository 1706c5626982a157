/* The main thread: listeners, workers, admin plane, signals.
 *
 * Drain (SIGTERM/SIGINT): /readyz turns 503 at once; each worker closes its
 * listening socket (new connections are refused), closes idle keep-alive
 * connections and lets busy ones finish their response, then leaves its
 * loop. After drain_timeout_ms, workers still busy are stopped, cutting what
 * remains. A second signal stops at once.
 *
 * Reload (SIGHUP): the file and environment are read and validated in full
 * first; only a valid configuration is handed to the workers, each of which
 * swaps it in between two callbacks. Requests in flight keep their
 * connection. Listen addresses, storage and worker count need a restart. */
#include "server.h"

#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin/admin.h"
#include "capacity.h"
#include "clock.h"
#include "config_load.h"
#include "net/conn.h"
#include "plane/qvec.h"
#include "net/listen.h"
#include "log.h"
#include "net/loop.h"
#include "memory/memworker.h"
#include "page/page.h"
#include "metrics.h"
#include "mp_version.h"
#include "status.h"
#include "ops/store.h"
#include "worker.h"

extern char **environ;

#define MAX_WORKERS        256
#define ADMIN_REJECT_SLACK 64 /* over the cap by this many: closed without an answer */

struct mp_server {
    struct event_base *base;
    struct mp_loop admin_loop;
    struct mp_metrics *metrics;
    struct mp_store *store;
    struct mp_memworker *memworker;
    const char *config_path;
    struct mp_worker *workers[MAX_WORKERS];
    unsigned nworkers;
    int admin_fd;
    int page_fd;   /* the page listener's, or -1 (none configured) */
    uint16_t port; /* the data plane's bound port */
    struct event *admin_ev;
    struct event *page_ev;
    struct event *sig_term, *sig_int, *sig_hup;
    struct event *drain_deadline, *drain_poll;
    struct mp_admin_host admin_host; /* the admin loop's app */
    uint64_t nofile;                 /* the open-file limit, raised at start */
    uint64_t fds_reserved;           /* the descriptor table's size, set at start */
    bool draining;
    bool stopping;
};

/* The admin plane's readiness (struct mp_admin_host). */
static const char *server_not_ready(void *owner)
{
    struct mp_server *s = owner;
    if (s->draining)
        return "draining\n";
    if (s->store == NULL || mp_store_ping(s->store) != MP_OK)
        return "storage unavailable\n";
    return NULL;
}

static const char *server_degraded(void *owner)
{
    struct mp_server *s = owner;
    if (s->memworker == NULL)
        return NULL;
    const char *why = mp_memworker_write_error(s->memworker);
    int64_t since = 0;
    if (why == NULL && mp_memworker_held(s->memworker) > 0)
        why = "held_turns"; /* the store is back, the turns it failed not all in yet */
    if (why == NULL && mp_memworker_held_jobs(s->memworker, &since) > 0)
        why = "held_jobs"; /* turns recorded whose memory jobs wait for a credential */
    return why;
}

unsigned mp_server_worker_count(const struct mp_config *cfg)
{
    long n = cfg->server.workers;
    if (n == 0)
        n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        n = 1;
    return n > MAX_WORKERS ? MAX_WORKERS : (unsigned)n;
}

/* Up to 16 waiting connections of fd, each of kind on the admin loop,
 * within its listener's cap ([admin] or [page] max_connections): over it
 * a newcomer gets 503 overloaded, and past the slack it is closed at
 * once; both counted as client error "overloaded". */
static void accept_on_admin_loop(struct mp_server *s, evutil_socket_t fd,
                                 const struct mp_conn_kind *kind, uint32_t cap)
{
    for (int i = 0; i < 16; i++) {
        int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0)
            return;
        unsigned open = mp_conn_count_kind(&s->admin_loop, kind);
        if (open >= (uint64_t)cap + ADMIN_REJECT_SLACK) {
            mp_metrics_client_error(s->admin_loop.shard, MP_CLERR_OVERLOADED);
            close(cfd);
            continue;
        }
        if (open >= cap)
            mp_metrics_client_error(s->admin_loop.shard, MP_CLERR_OVERLOADED);
        mp_conn_new(&s->admin_loop, cfd, kind, open >= cap);
    }
}

static void on_admin_accept(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct mp_server *s = arg;
    accept_on_admin_loop(s, fd, &mp_admin_kind, s->admin_loop.cfg->admin.max_connections);
}

/* The page listener's connections run on the admin loop (page/page.h). */
static void on_page_accept(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct mp_server *s = arg;
    accept_on_admin_loop(s, fd, &mp_page_kind, s->admin_loop.cfg->page.max_connections);
}

static void stop_workers(struct mp_server *s)
{
    for (unsigned i = 0; i < s->nworkers; i++)
        mp_worker_stop(s->workers[i]);
}

static void on_drain_deadline(evutil_socket_t fd, short what, void *arg)
{
    struct mp_server *s = arg;
    (void)fd;
    (void)what;
    mp_log(MP_LOG_WARN, "drain timeout: stopping requests still in flight");
    stop_workers(s);
}

static void on_drain_poll(evutil_socket_t fd, short what, void *arg)
{
    struct mp_server *s = arg;
    (void)fd;
    (void)what;
    for (unsigned i = 0; i < s->nworkers; i++) {
        if (!mp_worker_finished(s->workers[i]))
            return;
    }
    event_base_loopexit(s->base, NULL);
}

static void begin_drain(struct mp_server *s)
{
    const struct mp_config *cfg = s->admin_loop.cfg;
    unsigned ms = cfg->server.drain_timeout_ms;
    struct timeval deadline = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    struct timeval poll = {0, 20000};
    if (s->draining) {
        mp_log(MP_LOG_WARN, "second stop signal: stopping now");
        mp_memworker_drain_by(s->memworker, 0); /* what is still queued is parked */
        stop_workers(s);
        return;
    }
    s->draining = true;
    mp_memworker_drain_by(s->memworker, ms);
    mp_log(MP_LOG_INFO, "draining");
    for (unsigned i = 0; i < s->nworkers; i++)
        mp_worker_drain(s->workers[i]);
    event_add(s->drain_deadline, &deadline);
    event_add(s->drain_poll, &poll);
}

static void on_stop_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    begin_drain(arg);
}

static void log_config_errors(const struct mp_config_errors *errs)
{
    for (size_t i = 0; i < errs->count; i++) {
        struct mp_logline l;
        mp_logline_begin(&l, MP_LOG_ERROR, "configuration error");
        mp_logline_str(&l, "source", errs->items[i].source);
        mp_logline_int(&l, "line", errs->items[i].line);
        mp_logline_str(&l, "error", errs->items[i].message);
        mp_logline_end(&l);
    }
}

/* Keeps the values only a restart can change, saying so if they differ. */
static void keep_restart_only(const struct mp_config *old, struct mp_config *cfg)
{
    bool changed =
        memcmp(&old->server.listen, &cfg->server.listen, sizeof(struct mp_addr)) != 0 ||
        memcmp(&old->server.admin_listen, &cfg->server.admin_listen, sizeof(struct mp_addr)) != 0 ||
        memcmp(&old->page.listen, &cfg->page.listen, sizeof(struct mp_addr)) != 0 ||
        strcmp(old->storage.path, cfg->storage.path) != 0 ||
        old->server.workers != cfg->server.workers ||
        old->storage.map_size_mb != cfg->storage.map_size_mb ||
        old->storage.sync != cfg->storage.sync || old->storage.backend != cfg->storage.backend ||
        strcmp(old->storage.postgres_url, cfg->storage.postgres_url) != 0 ||
        strcmp(old->storage.postgres_url_file, cfg->storage.postgres_url_file) != 0 ||
        old->storage.postgres_pool != cfg->storage.postgres_pool ||
        old->storage.migrate != cfg->storage.migrate ||
        strcmp(old->storage.encryption_key_file, cfg->storage.encryption_key_file) != 0 ||
        old->security.tenant_from != cfg->security.tenant_from ||
        strcmp(old->memory.translate_languages, cfg->memory.translate_languages) != 0 ||
        strcmp(old->memory.translate_dir, cfg->memory.translate_dir) != 0;
    if (changed)
        mp_log(MP_LOG_WARN, "listen addresses, workers, storage (backend, path, map size, sync, "
                            "encryption key, PostgreSQL settings), tenant_from and translation "
                            "changes need a restart; keeping the running values");
    /* the translation tables are mapped once, at start (proxy/xlatemap.h) */
    memcpy(cfg->memory.translate_languages, old->memory.translate_languages,
           sizeof(cfg->memory.translate_languages));
    memcpy(cfg->memory.translate_dir, old->memory.translate_dir, sizeof(cfg->memory.translate_dir));
    memcpy(cfg->storage.encryption_key_file, old->storage.encryption_key_file,
           sizeof(cfg->storage.encryption_key_file));
    cfg->security.tenant_from = old->security.tenant_from;
    cfg->server.listen = old->server.listen;
    cfg->server.admin_listen = old->server.admin_listen;
    cfg->page.listen = old->page.listen;
    cfg->server.workers = old->server.workers;
    memcpy(cfg->storage.path, old->storage.path, sizeof(cfg->storage.path));
    cfg->storage.map_size_mb = old->storage.map_size_mb;
    cfg->storage.sync = old->storage.sync;
    cfg->storage.backend = old->storage.backend;
    memcpy(cfg->storage.postgres_url, old->storage.postgres_url, sizeof(cfg->storage.postgres_url));
    memcpy(cfg->storage.postgres_url_file, old->storage.postgres_url_file,
           sizeof(cfg->storage.postgres_url_file));
    cfg->storage.postgres_pool = old->storage.postgres_pool;
    cfg->storage.migrate = old->storage.migrate;
}

/* The configuration's auto values for this process: max_connections = 0
 * from the open-file limit (mp_config_auto_max_connections()). */
static void resolve_auto(const struct mp_server *s, struct mp_config *cfg)
{
    if (cfg->server.max_connections == 0)
        cfg->server.max_connections = mp_config_auto_max_connections(cfg, s->nworkers, s->nofile);
}

/* The descriptor table sized for max_connections (two descriptors a
 * proxied request, and the 256 the auto value keeps aside), before the
 * workers serve (capacity.h says why); a reload to a larger value grows it
 * from the main thread, never a worker's. */
static void reserve_fds(struct mp_server *s, const struct mp_config *cfg)
{
    uint64_t want = 2 * (uint64_t)cfg->server.max_connections + 256;
    uint64_t got = mp_capacity_reserve_fds(want, s->nofile);
    if (got > s->fds_reserved)
        s->fds_reserved = got;
}

/* The open-file limit raised to the hard one; a failure is logged and the
 * old limit kept. */
static void raise_nofile(struct mp_server *s)
{
    char why[192];
    s->nofile = mp_capacity_raise_nofile(why, sizeof(why));
    if (why[0] != '\0') {
        struct mp_logline l;
        mp_logline_begin(&l, MP_LOG_WARN, "open-file limit not raised");
        mp_logline_str(&l, "error", why);
        mp_logline_end(&l);
    }
}

/* The reload of SIGHUP and of POST /admin/reload (struct mp_admin_host):
 * MP_OK, MP_EINVAL (the configuration is not valid) or MP_ENOMEM. */
static int reload(void *owner)
{
    struct mp_server *s = owner;
    struct mp_config cfg;
    struct mp_config_errors errs;
    if (mp_config_load(s->config_path, (const char *const *)environ, &cfg, &errs) != MP_OK) {
        log_config_errors(&errs);
        mp_log(MP_LOG_ERROR, "reload failed: keeping the running configuration");
        mp_metrics_reload(s->metrics, false);
        return MP_EINVAL;
    }
    keep_restart_only(s->admin_loop.cfg, &cfg);
    resolve_auto(s, &cfg);
    reserve_fds(s, &cfg);
    struct mp_shared_config *sc = mp_shared_config_new(&cfg);
    if (sc == NULL) {
        mp_log(MP_LOG_ERROR, "reload failed: out of memory");
        mp_metrics_reload(s->metrics, false);
        return MP_ENOMEM;
    }
    for (unsigned i = 0; i < s->nworkers; i++)
        mp_worker_post_config(s->workers[i], mp_shared_config_ref(sc));
    mp_memworker_post_config(s->memworker, mp_shared_config_ref(sc));
    mp_loop_set_config(&s->admin_loop, sc);
    mp_log_configure(cfg.log.level, cfg.log.format);
    mp_metrics_reload(s->metrics, true);
    mp_log(MP_LOG_INFO, "configuration reloaded");
    return MP_OK;
}

static void on_hup(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    (void)reload(arg);
}

static int start_workers(struct mp_server *s, const struct mp_config *cfg)
{
    char err[256];
    struct mp_addr addr = cfg->server.listen;
    if (addr.port != 0 && mp_listen_probe(&addr, err, sizeof(err)) != 0)
        goto fail;
    for (unsigned i = 0; i < s->nworkers; i++) {
        int fd = mp_listen_bind(&addr, true, err, sizeof(err));
        if (fd < 0)
            goto fail;
        addr.port = mp_listen_port(fd);
        s->port = addr.port;
        s->workers[i] = mp_worker_start(
            i, fd, mp_shared_config_ref(s->admin_loop.shared), s->metrics, s->store, s->memworker,
            mp_config_postgres_loop_pool(cfg->storage.postgres_pool, s->nworkers));
        if (s->workers[i] == NULL) {
            snprintf(err, sizeof(err), "cannot start worker %u", i);
            goto fail;
        }
    }
    return MP_OK;
fail:;
    struct mp_logline l;
    mp_logline_begin(&l, MP_LOG_ERROR, "cannot start the data plane");
    mp_logline_str(&l, "error", err);
    mp_logline_end(&l);
    return MP_EIO;
}

static void log_listening(struct mp_server *s, const struct mp_config *cfg, uint16_t port,
                          uint16_t admin_port)
{
    char page[MP_CONFIG_HOST_MAX + 16];
    struct mp_logline l;
    char addr[MP_CONFIG_HOST_MAX + 16];
    mp_logline_begin_always(&l, MP_LOG_INFO, "listening");
    snprintf(addr, sizeof(addr), "%s:%u", cfg->server.listen.host, port);
    mp_logline_str(&l, "listen", addr);
    snprintf(addr, sizeof(addr), "%s:%u", cfg->server.admin_listen.host, admin_port);
    mp_logline_str(&l, "admin_listen", addr);
    if (s->page_fd >= 0) {
        snprintf(page, sizeof(page), "%s:%u", cfg->page.listen.host, mp_listen_port(s->page_fd));
        mp_logline_str(&l, "page_listen", page);
    }
    mp_logline_int(&l, "workers", s->nworkers);
    mp_logline_int(&l, "max_connections", s->admin_loop.cfg->server.max_connections);
    mp_logline_int(&l, "open_files_limit", (int64_t)s->nofile);
    mp_logline_int(&l, "descriptors_reserved", (int64_t)s->fds_reserved);
    mp_logline_str(&l, "version", MP_VERSION);
    mp_logline_str(&l, "upstream", cfg->upstream.base_url.text);
    mp_logline_str(&l, "memory_mode", mp_config_mode_name(cfg->memory.mode));
    mp_logline_end(&l);
}

static int setup_main_loop(struct mp_server *s, const struct mp_config *given)
{
    struct mp_config resolved = *given;
    raise_nofile(s);
    s->nworkers = mp_server_worker_count(&resolved);
    resolve_auto(s, &resolved);
    reserve_fds(s, &resolved);
    const struct mp_config *cfg = &resolved;
    struct mp_shared_config *sc = mp_shared_config_new(cfg);
    s->base = event_base_new();
    if (sc == NULL || s->base == NULL) {
        mp_shared_config_unref(sc);
        return MP_ENOMEM;
    }
    s->metrics = mp_metrics_new(s->nworkers + 1);
    if (s->metrics == NULL || mp_loop_init(&s->admin_loop, s->base, s->nworkers, sc, s->metrics,
                                           mp_conn_run_dirty) != MP_OK) {
        mp_shared_config_unref(sc);
        return MP_ENOMEM;
    }
    s->admin_loop.shard = mp_metrics_shard(s->metrics, s->nworkers);
    s->admin_host = (struct mp_admin_host){.owner = s,
                                           .not_ready = server_not_ready,
                                           .degraded = server_degraded,
                                           .reload = reload,
                                           .page = mp_page_admin_serve,
                                           .started_ms = mp_clock_now_ms(),
                                           .started_mono_ms = mp_clock_monotonic_ms(),
                                           .workers = s->nworkers,
                                           .open_files_limit = s->nofile};
    s->admin_loop.app = &s->admin_host;
    s->admin_loop.store = s->store;
    if (mp_memworker_start(s->store, mp_shared_config_ref(sc), s->metrics, &s->memworker) !=
        MP_OK) {
        mp_log(MP_LOG_ERROR, "cannot start the memory worker");
        return MP_EIO;
    }
    s->admin_loop.memworker = s->memworker;
    s->sig_term = evsignal_new(s->base, SIGTERM, on_stop_signal, s);
    s->sig_int = evsignal_new(s->base, SIGINT, on_stop_signal, s);
    s->sig_hup = evsignal_new(s->base, SIGHUP, on_hup, s);
    s->drain_deadline = evtimer_new(s->base, on_drain_deadline, s);
    s->drain_poll = event_new(s->base, -1, EV_PERSIST, on_drain_poll, s);
    if (s->sig_term == NULL || s->sig_int == NULL || s->sig_hup == NULL ||
        s->drain_deadline == NULL || s->drain_poll == NULL)
        return MP_ENOMEM;
    event_add(s->sig_term, NULL);
    event_add(s->sig_int, NULL);
    event_add(s->sig_hup, NULL);
    return MP_OK;
}

/* A listener on the main loop: its socket into *fd, its accept event
 * (on_accept) into *ev. The failure is logged as "cannot start the " what. */
static int start_listener(struct mp_server *s, const struct mp_addr *addr, const char *what,
                          event_callback_fn on_accept, int *fd, struct event **ev)
{
    char err[256], msg[64];
    *fd = mp_listen_bind(addr, false, err, sizeof(err));
    if (*fd < 0) {
        struct mp_logline l;
        snprintf(msg, sizeof(msg), "cannot start the %s", what);
        mp_logline_begin(&l, MP_LOG_ERROR, msg);
        mp_logline_str(&l, "error", err);
        mp_logline_end(&l);
        return MP_EIO;
    }
    *ev = event_new(s->base, *fd, EV_READ | EV_PERSIST, on_accept, s);
    if (*ev == NULL)
        return MP_ENOMEM;
    event_add(*ev, NULL);
    return MP_OK;
}

static int start_admin(struct mp_server *s, const struct mp_config *cfg)
{
    return start_listener(s, &cfg->server.admin_listen, "admin plane", on_admin_accept,
                          &s->admin_fd, &s->admin_ev);
}

/* The page listener, when [page] listen names one. */
static int start_page(struct mp_server *s, const struct mp_config *cfg)
{
    if (cfg->page.listen.host[0] == '\0')
        return MP_OK;
    return start_listener(s, &cfg->page.listen, "page listener", on_page_accept, &s->page_fd,
                          &s->page_ev);
}

int mp_server_new(const struct mp_config *cfg, const char *config_path, struct mp_store *store,
                  struct mp_server **out)
{
    struct mp_server *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return MP_EIO;
    s->admin_fd = -1;
    s->page_fd = -1;
    s->store = store;
    s->config_path = config_path;
    if (setup_main_loop(s, cfg) != MP_OK || start_admin(s, cfg) != MP_OK ||
        start_page(s, cfg) != MP_OK || start_workers(s, cfg) != MP_OK) {
        mp_server_free(s);
        return MP_EIO;
    }
    log_listening(s, cfg, s->port, mp_listen_port(s->admin_fd));
    *out = s;
    return MP_OK;
}

int mp_server_run(struct mp_server *s)
{
    event_base_dispatch(s->base);
    return MP_OK;
}

void mp_server_free(struct mp_server *s)
{
    if (s == NULL)
        return;
    for (unsigned i = 0; i < s->nworkers; i++) {
        if (s->workers[i] != NULL)
            mp_worker_stop(s->workers[i]);
    }
    for (unsigned i = 0; i < s->nworkers; i++)
        mp_worker_join(s->workers[i]);
    /* after the workers' threads: their last turns are in its inbox,
     * applied now (or parked past the drain deadline); before their loops
     * are freed: its last replies go to those loops, where one last pass
     * delivers them to requests that are gone (freeing their tickets) */
    mp_memworker_free(s->memworker);
    for (unsigned i = 0; i < s->nworkers; i++) {
        mp_worker_deliver_last(s->workers[i]);
        mp_worker_free(s->workers[i]);
        s->workers[i] = NULL; /* its tables are gone: nothing peeks at them */
    }
    struct event *events[] = {s->admin_ev, s->page_ev,        s->sig_term,  s->sig_int,
                              s->sig_hup,  s->drain_deadline, s->drain_poll};
    for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
        if (events[i] != NULL)
            event_free(events[i]);
    }
    if (s->admin_loop.base != NULL) {
        mp_conn_close_all(&s->admin_loop);
        /* with the server's own events gone, one pass delivers the memory
         * worker's last replies, which free the (now orphaned) admin calls */
        event_base_loop(s->admin_loop.base, EVLOOP_NONBLOCK);
        mp_qvec_client_free(s->admin_loop.qvec);
        mp_loop_cleanup(&s->admin_loop);
    }
    if (s->admin_fd >= 0)
        close(s->admin_fd);
    if (s->page_fd >= 0)
        close(s->page_fd);
    if (s->base != NULL)
        event_base_free(s->base);
    mp_metrics_free(s->metrics);
    free(s);
}
