/* Data-plane worker threads. */
#include "worker.h"

#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/conn.h"
#include "plane/qvec.h"
#include "net/respond.h"
#include "log.h"
#include "metrics.h"
#include "plane/memread.h"
#include "plane/request.h"
#include "status.h"
#include "pg/store_pg.h"
#include "net/h1client.h"
#include "net/upstream.h"

/* Connections one wake-up of the listener accepts at most. A burst's
 * connections are accepted together, each one's request read and sent on
 * upstream in the same pass (net/conn.h, net/h1client.h), before the pass
 * turns to the answers of the streams already going: what a new stream
 * waits for comes first. The cap bounds how long one pass holds back the
 * other connections' events. */
#define ACCEPT_BATCH 512
#define REJECT_SLACK 256 /* connections over the limit that still get a 503 */

struct mp_worker {
    pthread_t thread;
    bool thread_started;
    struct event_base *base;
    struct mp_loop loop;
    int listen_fd;
    struct event *listen_ev;
    struct event *ctl_ev;
    struct event *drain_check;
    pthread_mutex_t mu;
    struct mp_shared_config *pending_cfg; /* guarded by mu */
    bool drain_req, stop_req;             /* guarded by mu */
    _Atomic bool finished;
};

static const struct mp_conn_kind data_kind = {
    .handler = &mp_request_handler,
    .limits = mp_request_limits,
    .refuse = mp_respond_refusal,
    .data_plane = true,
};

static void on_accept(evutil_socket_t fd, short what, void *arg)
{
    struct mp_worker *w = arg;
    (void)what;
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0) {
            if (errno == EMFILE || errno == ENFILE)
                mp_log(MP_LOG_ERROR, "accept: out of file descriptors");
            return;
        }
        long open = mp_metrics_open_connections(w->loop.metrics);
        long max = (long)w->loop.cfg->server.max_connections;
        if (open >= max + REJECT_SLACK) {
            mp_metrics_client_error(w->loop.shard, MP_CLERR_OVERLOADED);
            close(cfd);
            continue;
        }
        while (open >= max && mp_conn_displace_oldest(&w->loop))
            open--; /* the newcomer takes the place of the slowest */
        mp_conn_new(&w->loop, cfd, &data_kind, open >= max);
    }
}

static void stop_listening(struct mp_worker *w)
{
    if (w->listen_ev != NULL) {
        event_free(w->listen_ev);
        w->listen_ev = NULL;
    }
    if (w->listen_fd >= 0) {
        close(w->listen_fd);
        w->listen_fd = -1;
    }
}

static void on_drain_check(evutil_socket_t fd, short what, void *arg)
{
    struct mp_worker *w = arg;
    (void)fd;
    (void)what;
    if (w->loop.nconns == 0 && mp_upstream_active(w->loop.upstream) == 0 &&
        mp_h1client_active(w->loop.h1) == 0)
        event_base_loopexit(w->base, NULL);
}

static void on_control(evutil_socket_t fd, short what, void *arg)
{
    struct mp_worker *w = arg;
    (void)fd;
    (void)what;
    pthread_mutex_lock(&w->mu);
    struct mp_shared_config *cfg = w->pending_cfg;
    bool drain = w->drain_req, stop = w->stop_req;
    w->pending_cfg = NULL;
    pthread_mutex_unlock(&w->mu);
    if (cfg != NULL)
        mp_loop_set_config(&w->loop, cfg);
    if (stop) {
        stop_listening(w);
        mp_conn_close_all(&w->loop);
        event_base_loopexit(w->base, NULL);
        return;
    }
    if (drain && !w->loop.draining) {
        struct timeval tv = {0, 20000};
        w->loop.draining = true;
        stop_listening(w);
        mp_conn_drain_all(&w->loop);
        event_add(w->drain_check, &tv);
    }
}

static void *worker_main(void *arg)
{
    struct mp_worker *w = arg;
    event_base_dispatch(w->base);
    stop_listening(w);
    mp_conn_close_all(&w->loop);
    atomic_store(&w->finished, true);
    return NULL;
}

static int worker_init(struct mp_worker *w, unsigned id, struct mp_shared_config *shared,
                       struct mp_metrics *metrics, struct mp_store *store,
                       struct mp_memworker *memworker, unsigned memread_pool)
{
    w->base = event_base_new();
    if (w->base == NULL)
        return MP_ENOMEM;
    if (mp_loop_init(&w->loop, w->base, id, shared, metrics, mp_conn_run_dirty) != MP_OK)
        return MP_ENOMEM;
    w->loop.shard = mp_metrics_shard(metrics, id);
    w->loop.app = w;
    w->loop.store = store;
    w->loop.memworker = memworker;
    w->loop.upstream = mp_upstream_new(w->base, mp_request_on_upstream_done);
    w->loop.h1 = mp_h1client_new(w->base);
    w->listen_ev = event_new(w->base, w->listen_fd, EV_READ | EV_PERSIST, on_accept, w);
    w->ctl_ev = event_new(w->base, -1, 0, on_control, w);
    w->drain_check = event_new(w->base, -1, EV_PERSIST, on_drain_check, w);
    if (w->loop.upstream == NULL || w->loop.h1 == NULL || w->listen_ev == NULL ||
        w->ctl_ev == NULL || w->drain_check == NULL)
        return MP_ENOMEM;
    const char *conninfo = mp_store_pg_conninfo(store);
    if (conninfo != NULL &&
        mp_memread_new(&w->loop, conninfo, memread_pool, &w->loop.memread) != MP_OK)
        return MP_ENOMEM;
    event_add(w->listen_ev, NULL);
    return MP_OK;
}

struct mp_worker *mp_worker_start(unsigned id, int listen_fd, struct mp_shared_config *shared,
                                  struct mp_metrics *metrics, struct mp_store *store,
                                  struct mp_memworker *memworker, unsigned memread_pool)
{
    struct mp_worker *w = calloc(1, sizeof(*w));
    if (w == NULL) {
        close(listen_fd);
        mp_shared_config_unref(shared);
        return NULL;
    }
    w->listen_fd = listen_fd;
    pthread_mutex_init(&w->mu, NULL);
    if (worker_init(w, id, shared, metrics, store, memworker, memread_pool) != MP_OK ||
        pthread_create(&w->thread, NULL, worker_main, w) != 0) {
        if (w->loop.shared == NULL)
            mp_shared_config_unref(shared);
        mp_worker_free(w);
        return NULL;
    }
    w->thread_started = true;
    char name[16]; /* what top -H and ps -L show (15 bytes at most) */
    snprintf(name, sizeof(name), "mp-worker-%u", id);
    pthread_setname_np(w->thread, name);
    return w;
}

static void post(struct mp_worker *w, struct mp_shared_config *cfg, bool drain, bool stop)
{
    pthread_mutex_lock(&w->mu);
    if (cfg != NULL) {
        mp_shared_config_unref(w->pending_cfg);
        w->pending_cfg = cfg;
    }
    w->drain_req = w->drain_req || drain;
    w->stop_req = w->stop_req || stop;
    pthread_mutex_unlock(&w->mu);
    event_active(w->ctl_ev, 0, 0);
}

void mp_worker_post_config(struct mp_worker *w, struct mp_shared_config *shared)
{
    post(w, shared, false, false);
}

void mp_worker_drain(struct mp_worker *w)
{
    post(w, NULL, true, false);
}

void mp_worker_stop(struct mp_worker *w)
{
    post(w, NULL, false, true);
}

bool mp_worker_finished(struct mp_worker *w)
{
    return atomic_load(&w->finished);
}

void mp_worker_join(struct mp_worker *w)
{
    if (w != NULL && w->thread_started) {
        pthread_join(w->thread, NULL);
        w->thread_started = false;
    }
}

void mp_worker_deliver_last(struct mp_worker *w)
{
    if (w != NULL && w->base != NULL && !w->thread_started)
        event_base_loop(w->base, EVLOOP_NONBLOCK);
}

void mp_worker_free(struct mp_worker *w)
{
    if (w == NULL)
        return;
    mp_worker_join(w);
    stop_listening(w);
    if (w->ctl_ev != NULL)
        event_free(w->ctl_ev);
    if (w->drain_check != NULL)
        event_free(w->drain_check);
    mp_upstream_free(w->loop.upstream);
    mp_h1client_free(w->loop.h1);
    mp_qvec_client_free(w->loop.qvec);
    mp_memread_free(w->loop.memread);
    if (w->loop.base != NULL)
        mp_loop_cleanup(&w->loop);
    mp_shared_config_unref(w->pending_cfg);
    if (w->base != NULL)
        event_base_free(w->base);
    pthread_mutex_destroy(&w->mu);
    free(w);
}
