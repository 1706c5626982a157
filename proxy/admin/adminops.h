/* The admin API's operations on the process itself (docs/admin-api.md,
 * "Operations"): the status document of GET /admin/status and the reload of
 * POST /admin/reload. It builds results only: authorization, sending and the
 * audit line are proxy/admin/adminapi.c's. */
#ifndef MP_PROXY_ADMINOPS_H
#define MP_PROXY_ADMINOPS_H

#include <jansson.h>

struct mp_loop;

/* The status of the process that runs loop (the admin loop: its app is a
 * struct mp_admin_host, its cfg the configuration in force, its store and
 * memory worker set): version, commit, memory mode and retrieval, start
 * time and uptime, readiness, degradation, workers, the memory queue and
 * the store's gauges ("store" is null when the store cannot say), the
 * memory jobs held for a credential ("held_jobs"). A new
 * reference (caller json_decref()s it), or NULL when out of memory. */
json_t *mp_adminops_status(const struct mp_loop *loop);

/* Re-reads the configuration now, as SIGHUP does, through the host's
 * reload: MP_OK (applied), MP_EINVAL (not valid: logged, the running
 * configuration kept) or MP_ENOMEM. */
int mp_adminops_reload(const struct mp_loop *loop);

#endif
