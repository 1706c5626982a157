/* The ops command line's memory jobs (docs/ctl.md "jobs"): list them, run a
 * failed one (a failed batch: all its turns) again, drop one, through the
 * admin API's job routes (docs/admin-process.md "Jobs"). Each takes the session
 * and the arguments after its words, and returns an exit status
 * (ctl_main.h). */
#ifndef MP_TOOLS_CTL_JOBS_H
#define MP_TOOLS_CTL_JOBS_H

#include "ctl/ctl_session.h"

/* jobs list [--state S] [--user USER] [--tenant T] [--limit N]: GET
 * /admin/jobs, every page. */
int mp_ctl_jobs_list(struct mp_ctl_session *s, int argc, const char *const *argv);

/* jobs retry ID: POST /admin/jobs/{id}/retry. */
int mp_ctl_jobs_retry(struct mp_ctl_session *s, int argc, const char *const *argv);

/* jobs drop ID: DELETE /admin/jobs/{id}. */
int mp_ctl_jobs_drop(struct mp_ctl_session *s, int argc, const char *const *argv);

#endif
