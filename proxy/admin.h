/* The admin plane's handler: /livez, /readyz and /metrics (CONTRACT §4);
 * /admin/ targets go to the admin API (proxy/adminapi.h). Runs on the main
 * thread's loop; loop->app is the struct mp_server. */
#ifndef MP_PROXY_ADMIN_H
#define MP_PROXY_ADMIN_H

#include "conn.h"

extern const struct mp_conn_kind mp_admin_kind;

#endif
