/* jobs list, retry, drop; see ctl_jobs.h. A job is named by the id the
 * listing shows; a failed batch is one row whose id acts on every turn of
 * it (the server's rule: proxy/memory/jobctl.h). */
#include "ctl/ctl_jobs.h"

#include <stdio.h>
#include <string.h>

#include "ctl/ctl_main.h"
#include "ctl/ctl_print.h"
#include "ctl/ctl_text.h"
#include "ctl/ctl_users.h"
#include "status.h"
#include "user_id.h"

#define JOB_ID_MAX 9223372036854775807UL /* the admin API's {id}: 1 .. 2^63 - 1 */

/* The listing's path without its cursor, from the checked options
 * (state, user, tenant, limit; each NULL when not given). */
static void list_path(const struct mp_ctl_opt *opts, char *path)
{
    char user[3 * MP_USER_ID_MAX + 1];
    snprintf(path, MP_CTL_PATH_MAX, "/admin/jobs");
    mp_ctl_users_param(path, "state", opts[0].value);
    if (opts[1].value != NULL) {
        mp_ctl_text_pct(opts[1].value, strlen(opts[1].value), user, sizeof(user));
        mp_ctl_users_param(path, "user", user);
    }
    mp_ctl_users_param(path, "tenant", opts[2].value);
    mp_ctl_users_param(path, "limit", opts[3].value);
}

/* The options of jobs list, checked: MP_CTL_OK, or MP_CTL_USAGE after a
 * line on stderr. */
static int list_args(int argc, const char *const *argv, struct mp_ctl_opt *opts)
{
    static const char *const states[] = {"pending", "leased", "held", "failed", "all"};
    struct mp_ctl_user u;
    unsigned long limit = 0;
    size_t npos = 0;
    int rc = mp_ctl_session_args("jobs list", argc, argv, opts, 4, NULL, 0, 0, &npos);
    bool state_ok = opts[0].value == NULL;
    for (size_t i = 0; rc == MP_CTL_OK && !state_ok && i < sizeof(states) / sizeof(states[0]); i++)
        state_ok = strcmp(opts[0].value, states[i]) == 0;
    if (rc == MP_CTL_OK && !state_ok) {
        fprintf(stderr, "memproxy ctl jobs list: --state takes pending, leased, held, failed or "
                        "all\n");
        rc = MP_CTL_USAGE;
    }
    if (rc == MP_CTL_OK && opts[3].seen &&
        mp_ctl_args_number(opts[3].value, 1, 1000, &limit) != 0) {
        fprintf(stderr, "memproxy ctl jobs list: --limit takes 1 to 1000 (jobs a page)\n");
        rc = MP_CTL_USAGE;
    }
    if (rc == MP_CTL_OK && opts[1].value != NULL)
        rc = mp_ctl_users_name(opts[1].value, opts[2].value, &u);
    else if (rc == MP_CTL_OK)
        rc = mp_ctl_users_tenant(opts[2].value);
    return rc;
}

int mp_ctl_jobs_list(struct mp_ctl_session *s, int argc, const char *const *argv)
{
    struct mp_ctl_opt opts[] = {{.name = "--state", .takes_value = true},
                                {.name = "--user", .takes_value = true},
                                {.name = "--tenant", .takes_value = true},
                                {.name = "--limit", .takes_value = true}};
    struct mp_ctl_client *c = NULL;
    char base[MP_CTL_PATH_MAX], path[MP_CTL_PATH_MAX], cursor[MP_CTL_CURSOR_MAX + 1] = "";
    json_t *all = json_array();
    int rc = all != NULL ? list_args(argc, argv, opts) : MP_CTL_FAILED;
    if (rc == MP_CTL_OK)
        rc = mp_ctl_session_client(s, &c);
    if (rc == MP_CTL_OK)
        list_path(opts, base);
    while (rc == MP_CTL_OK) {
        snprintf(path, sizeof(path), "%s", base);
        mp_ctl_users_param(path, "cursor", cursor);
        rc = mp_ctl_session_page(c, path, "jobs", all, cursor, sizeof(cursor));
        if (cursor[0] == '\0')
            break;
    }
    if (rc == MP_CTL_OK && s->json) {
        json_t *doc = json_pack("{s:O, s:n}", "jobs", all, "next_cursor");
        rc = doc != NULL ? mp_ctl_session_print_json(doc) : MP_CTL_FAILED;
        json_decref(doc);
    } else if (rc == MP_CTL_OK && mp_ctl_print_jobs(all, stdout) != MP_OK) {
        rc = MP_CTL_FAILED;
    }
    json_decref(all);
    return rc;
}

/* ---- one job ---- */

/* jobs retry ID and jobs drop ID: method on /admin/jobs/ID[/what]. */
static int one_job(struct mp_ctl_session *s, const char *command, const char *method,
                   const char *what, int argc, const char *const *argv, mp_ctl_human_fn human)
{
    const char *pos[1] = {NULL};
    char path[MP_CTL_PATH_MAX], subject[MP_CTL_SUBJECT_MAX];
    unsigned long id = 0;
    size_t npos = 0;
    struct mp_ctl_client *c = NULL;
    struct mp_ctl_reply r;
    json_t *doc = NULL;
    int rc = mp_ctl_session_args(command, argc, argv, NULL, 0, pos, 1, 1, &npos);
    if (rc == MP_CTL_OK && mp_ctl_args_number(pos[0], 1, JOB_ID_MAX, &id) != 0) {
        fprintf(stderr, "memproxy ctl %s: ID is a job's id, as memproxy ctl jobs list shows it\n",
                command);
        rc = MP_CTL_USAGE;
    }
    if (rc == MP_CTL_OK)
        rc = mp_ctl_session_client(s, &c);
    if (rc != MP_CTL_OK)
        return rc;
    snprintf(path, sizeof(path), "/admin/jobs/%lu%s", id, what);
    snprintf(subject, sizeof(subject), "job %lu", id);
    const struct mp_ctl_call call = {.method = method, .path = path, .subject = subject};
    rc = mp_ctl_client_json(c, &call, &r, &doc);
    return rc != MP_CTL_OK ? rc : mp_ctl_session_output(s, &r, doc, human);
}

int mp_ctl_jobs_retry(struct mp_ctl_session *s, int argc, const char *const *argv)
{
    return one_job(s, "jobs retry", "POST", "/retry", argc, argv, mp_ctl_print_job_retried);
}

int mp_ctl_jobs_drop(struct mp_ctl_session *s, int argc, const char *const *argv)
{
    return one_job(s, "jobs drop", "DELETE", "", argc, argv, mp_ctl_print_job_dropped);
}
