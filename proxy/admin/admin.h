/* The admin plane's handler: /livez, /readyz and /metrics (docs/operations.md);
 * /admin/ targets go to the admin API (proxy/admin/adminapi.h). Runs on the
 * main thread's loop, whose store and metrics it reads; loop->app is the
 * struct mp_admin_host of what runs it. */
#ifndef MP_PROXY_ADMIN_H
#define MP_PROXY_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/conn.h"

/* What the admin plane asks of the process that runs it (the server fills
 * it in; owner is passed back to every function). */
struct mp_admin_host {
    void *owner;
    /* NULL when ready; else a static text saying why not ("draining\n", ...). */
    const char *(*not_ready)(void *owner);
    /* NULL while the memory store takes writes; else the X-Memory-Error
     * code of the last failed write ("storage_full", ...), or "held_turns"
     * while turns it failed during an outage are not all committed, or
     * "held_jobs" while memory jobs wait for a credential. */
    const char *(*degraded)(void *owner);
    /* Re-reads the configuration as SIGHUP does, now (main thread): MP_OK
     * when it was valid and is in force; MP_EINVAL when it was not (the
     * errors are logged, the running configuration stays); MP_ENOMEM. */
    int (*reload)(void *owner);
    /* The operator's memory page (page/page.h: mp_page_admin_serve): true
     * when it answered the request; NULL: no page. */
    bool (*page)(struct mp_conn *c, const struct mp_http_request_head *head);
    int64_t started_ms;        /* when the process started: ms since the epoch */
    int64_t started_mono_ms;   /* the same moment on the monotonic clock */
    unsigned workers;          /* data-plane worker threads */
    uint64_t open_files_limit; /* RLIMIT_NOFILE's soft limit, raised at start */
};

extern const struct mp_conn_kind mp_admin_kind;

#endif
