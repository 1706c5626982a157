/* The admin plane's handler: /livez, /readyz and /metrics (CONTRACT §4).
 * Runs on the main thread's loop; loop->app is the struct mp_server. The
 * admin API proper (users, export, compaction) arrives with governance. */
#ifndef MP_PROXY_ADMIN_H
#define MP_PROXY_ADMIN_H

#include "conn.h"

extern const struct mp_conn_kind mp_admin_kind;

#endif
