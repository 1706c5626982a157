/* The human form of the admin API's answers (docs/ctl.md): the status, the
 * users listing and a user's memory with provenance, as aligned text. It
 * reads the JSON leniently (a missing or mistyped member shows as "-") and
 * passes every server string through ctl_table/ctl_text, so no control
 * character reaches the terminal. The --json form is not made here. */
#ifndef MP_TOOLS_CTL_PRINT_H
#define MP_TOOLS_CTL_PRINT_H

#include <jansson.h>
#include <stdio.h>

/* GET /admin/status's document (borrowed). MP_OK or MP_ENOMEM. */
int mp_ctl_print_status(const json_t *doc, FILE *f);

/* The users of GET /admin/users pages (borrowed array of user objects):
 * one row each, then "N users". MP_OK or MP_ENOMEM. */
int mp_ctl_print_users(const json_t *users, FILE *f);

/* The memory jobs of GET /admin/jobs (an array of every page's jobs): a
 * table, then "N jobs". */
int mp_ctl_print_jobs(const json_t *jobs, FILE *f);

/* The answer of POST /admin/jobs/{id}/retry: "job 12 (2 turns) runs
 * again: pending". */
int mp_ctl_print_job_retried(const json_t *doc, FILE *f);

/* The answer of DELETE /admin/jobs/{id}: "dropped job 12 (2 turns), which
 * was failed: ...". */
int mp_ctl_print_job_dropped(const json_t *doc, FILE *f);

/* GET /admin/users/{id}/memory's document (borrowed): the user, the facts
 * with their provenance, the summary, the recent (buffered) messages and
 * the archive page, each section saying when it is empty; a last line when
 * more archived messages follow. MP_OK or MP_ENOMEM. */
int mp_ctl_print_memory(const json_t *doc, FILE *f);

/* A search's results (GET .../search): score, id, kind, time and text, one
 * row each, best first, and a line when more follow. MP_OK or MP_ENOMEM. */
int mp_ctl_print_search(const json_t *doc, FILE *f);

/* An explanation (POST .../explain): the question and what was injected,
 * then each section's items: taken or not, why, id, score, terms, text.
 * MP_OK or MP_ENOMEM. */
int mp_ctl_print_explain(const json_t *doc, FILE *f);

#endif
