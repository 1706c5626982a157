/* The session of one ctl command; see ctl_session.h. */
#include "ctl/ctl_session.h"

#include <stdio.h>
#include <string.h>

#include "ctl/ctl_main.h"
#include "status.h"

int mp_ctl_session_client(struct mp_ctl_session *s, struct mp_ctl_client **out)
{
    struct mp_ctl_target target;
    if (s->client == NULL) {
        int rc = mp_ctl_target_resolve(&s->where, s->envp, &target);
        const char *why = NULL;
        if (rc == MP_CTL_OK && mp_ctl_client_new(&target, &s->client, &why) != MP_OK) {
            fprintf(stderr, "memproxy ctl: %s\n", why);
            rc = MP_CTL_FAILED;
        }
        explicit_bzero(target.token, sizeof(target.token));
        if (rc != MP_CTL_OK)
            return rc;
    }
    *out = s->client;
    return MP_CTL_OK;
}

void mp_ctl_session_cleanup(struct mp_ctl_session *s)
{
    mp_ctl_client_free(s->client);
    s->client = NULL;
}

int mp_ctl_session_args(const char *command, int argc, const char *const *argv,
                        struct mp_ctl_opt *opts, size_t nopts, const char **pos, size_t minpos,
                        size_t maxpos, size_t *npos)
{
    char err[160] = "";
    if (mp_ctl_args_parse(argc, argv, opts, nopts, false, pos, maxpos, npos, err, sizeof(err)) ==
            0 &&
        *npos < minpos)
        snprintf(err, sizeof(err), "missing argument");
    if (err[0] == '\0')
        return MP_CTL_OK;
    fprintf(stderr, "memproxy ctl %s: %s (see memproxy ctl %s --help)\n", command, err, command);
    return MP_CTL_USAGE;
}

static int written(void)
{
    if (fflush(stdout) == 0 && !ferror(stdout))
        return MP_CTL_OK;
    fprintf(stderr, "memproxy ctl: cannot write the output\n");
    return MP_CTL_FAILED;
}

int mp_ctl_session_print_json(const json_t *doc)
{
    if (json_dumpf(doc, stdout, JSON_COMPACT | JSON_REAL_PRECISION(15)) != 0) {
        fprintf(stderr, "memproxy ctl: cannot write the output\n");
        return MP_CTL_FAILED;
    }
    fputc('\n', stdout);
    return written();
}

int mp_ctl_session_print_body(const struct mp_ctl_reply *r)
{
    fwrite(r->body, 1, r->len, stdout);
    if (r->len == 0 || r->body[r->len - 1] != '\n')
        fputc('\n', stdout);
    return written();
}

int mp_ctl_session_output(const struct mp_ctl_session *s, struct mp_ctl_reply *r, json_t *doc,
                          mp_ctl_human_fn human)
{
    int rc = MP_CTL_OK;
    if (s->json) {
        rc = mp_ctl_session_print_body(r);
    } else if (human(doc, stdout) != MP_OK) {
        fprintf(stderr, "memproxy ctl: out of memory\n");
        rc = MP_CTL_FAILED;
    } else {
        rc = written();
    }
    json_decref(doc);
    mp_ctl_reply_cleanup(r);
    return rc;
}

int mp_ctl_session_page(struct mp_ctl_client *c, const char *path, const char *member, json_t *all,
                        char *next, size_t cap)
{
    const struct mp_ctl_call call = {.method = "GET", .path = path};
    struct mp_ctl_reply r;
    json_t *doc = NULL;
    int rc = mp_ctl_client_json(c, &call, &r, &doc);
    if (rc != MP_CTL_OK)
        return rc;
    json_t *items = json_object_get(doc, member);
    const json_t *cursor = json_object_get(doc, "next_cursor");
    const char *text = json_string_value(cursor);
    bool ok = json_is_array(items) && (json_is_null(cursor) || text != NULL) &&
              (text == NULL || (strlen(text) > 0 && strlen(text) < cap));
    if (ok && json_array_extend(all, items) == 0)
        snprintf(next, cap, "%s", text != NULL ? text : "");
    else
        rc = MP_CTL_FAILED;
    if (!ok)
        fprintf(stderr, "memproxy ctl: malformed answer from the admin API (%s listing)\n", member);
    json_decref(doc);
    mp_ctl_reply_cleanup(&r);
    return rc;
}
