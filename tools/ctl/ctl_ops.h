/* The ops command line's commands on the process and its configuration
 * (docs/ctl.md): status, compact, reload and config check. Each takes the
 * session and the arguments after its words, and returns an exit status
 * (ctl_main.h). */
#ifndef MP_TOOLS_CTL_OPS_H
#define MP_TOOLS_CTL_OPS_H

#include "ctl/ctl_session.h"

/* status: GET /admin/status. */
int mp_ctl_ops_status(struct mp_ctl_session *s, int argc, const char *const *argv);

/* compact: POST /admin/compact. */
int mp_ctl_ops_compact(struct mp_ctl_session *s, int argc, const char *const *argv);

/* reload [--pid PID]: POST /admin/reload, or SIGHUP to PID (no admin API
 * needed then) when PID runs memproxy (its /proc/PID/exe is a file named
 * memproxy, or this binary); else MP_CTL_REFUSED and no signal. ESRCH is
 * MP_CTL_NOTFOUND, EPERM MP_CTL_REFUSED. */
int mp_ctl_ops_reload(struct mp_ctl_session *s, int argc, const char *const *argv);

/* config check FILE: the file with the environment, loaded as memproxy
 * loads it; MP_CTL_OK when valid, else MP_CTL_USAGE with the errors
 * ("file:line: message") on stderr, or in the JSON on stdout. */
int mp_ctl_ops_config_check(struct mp_ctl_session *s, int argc, const char *const *argv);

#endif
