/* users export and users import; see ctl_transfer.h. Export writes each
 * page as it arrives (a page is bounded by the server's limit), so a large
 * store never sits in memory whole; import --all reads its input line by
 * line and sends each run of one user's lines as one import. */
#include "ctl/ctl_transfer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl_importfile.h"
#include "ctl/ctl_main.h"
#include "ctl/ctl_users.h"
#include "status.h"

/* ---- export ---- */

static size_t count_lines(const struct mp_ctl_reply *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->len; i++)
        n += r->body[i] == '\n';
    return n;
}

/* Every export page of u to stdout; *lines counts what was written.
 * missing_ok: a user gone meanwhile is MP_CTL_NOTFOUND, silently. */
static int export_user(struct mp_ctl_client *c, const struct mp_ctl_user *u, bool missing_ok,
                       size_t *lines)
{
    char path[MP_CTL_PATH_MAX], cursor[MP_CTL_CURSOR_MAX + 1] = "";
    struct mp_ctl_reply r;
    int rc;
    do {
        mp_ctl_users_path(u, "export", path);
        mp_ctl_users_param(path, "cursor", cursor);
        const struct mp_ctl_call call = {
            .method = "GET", .path = path, .subject = u->subject, .missing_ok = missing_ok};
        rc = mp_ctl_client_send(c, &call, &r);
        if (rc != MP_CTL_OK)
            return rc;
        *lines += count_lines(&r);
        if (r.len > 0 && fwrite(r.body, 1, r.len, stdout) != r.len) {
            fprintf(stderr, "memproxy ctl: cannot write the export\n");
            rc = MP_CTL_FAILED;
        } else if (r.next_cursor[0] != '\0' && strcmp(r.next_cursor, cursor) == 0) {
            fprintf(stderr, "memproxy ctl: malformed answer from the admin API (the export's "
                            "cursor does not move)\n");
            rc = MP_CTL_FAILED;
        }
        memcpy(cursor, r.next_cursor, sizeof(cursor));
        mp_ctl_reply_cleanup(&r);
    } while (rc == MP_CTL_OK && cursor[0] != '\0');
    if (rc == MP_CTL_OK && fflush(stdout) != 0) {
        fprintf(stderr, "memproxy ctl: cannot write the export\n");
        rc = MP_CTL_FAILED;
    }
    return rc;
}

static int export_all(struct mp_ctl_client *c, const char *tenant, size_t *lines, size_t *users)
{
    json_t *all = NULL;
    size_t i;
    const json_t *item;
    int rc = mp_ctl_users_all(c, tenant, 0, &all);
    json_array_foreach(all, i, item)
    {
        struct mp_ctl_user u;
        const char *id = json_string_value(json_object_get(item, "user"));
        const char *t = json_string_value(json_object_get(item, "tenant"));
        if (rc != MP_CTL_OK)
            break;
        if (id == NULL || mp_ctl_users_name(id, t, &u) != MP_CTL_OK) {
            fprintf(stderr, "memproxy ctl: malformed answer from the admin API (users listing)\n");
            rc = MP_CTL_FAILED;
            break;
        }
        rc = export_user(c, &u, true, lines);
        if (rc == MP_CTL_NOTFOUND) /* erased since the listing */
            rc = MP_CTL_OK;
        else if (rc == MP_CTL_OK)
            (*users)++;
    }
    json_decref(all);
    return rc;
}

int mp_ctl_transfer_export(struct mp_ctl_session *s, int argc, const char *const *argv)
{
    struct mp_ctl_opt opts[] = {{.name = "--tenant", .takes_value = true}, {.name = "--all"}};
    struct mp_ctl_client *c = NULL;
    struct mp_ctl_user u;
    const char *pos[1] = {NULL};
    size_t npos = 0, lines = 0, users = 0;
    int rc = mp_ctl_session_args("users export", argc, argv, opts, 2, pos, 0, 1, &npos);
    if (rc == MP_CTL_OK && (npos == 1) == opts[1].seen) {
        fprintf(stderr, "memproxy ctl users export: name one USER, or --all (see memproxy ctl "
                        "users export --help)\n");
        rc = MP_CTL_USAGE;
    }
    if (rc == MP_CTL_OK)
        rc = npos == 1 ? mp_ctl_users_name(pos[0], opts[0].value, &u)
                       : mp_ctl_users_tenant(opts[0].value);
    if (rc == MP_CTL_OK)
        rc = mp_ctl_session_client(s, &c);
    if (rc != MP_CTL_OK)
        return rc;
    if (npos == 1) {
        rc = export_user(c, &u, false, &lines);
        users = rc == MP_CTL_OK;
    } else {
        rc = export_all(c, opts[0].value, &lines, &users);
    }
    if (rc == MP_CTL_OK && !s->json)
        fprintf(stderr, "memproxy ctl: exported %zu line%s of %zu user%s\n", lines,
                lines == 1 ? "" : "s", users, users == 1 ? "" : "s");
    return rc;
}

/* ---- import ---- */

/* What the imports so far stored. */
struct tally {
    json_int_t messages, facts, settings, skipped;
    json_t *users; /* --all: one object per import */
};

/* One run of JSON lines (borrowed) into u: POST, then the counts. */
static int import_run(struct mp_ctl_session *s, const struct mp_ctl_user *u, const char *body,
                      size_t len, struct tally *t, struct mp_ctl_reply *r, json_t **doc)
{
    struct mp_ctl_client *c = NULL;
    char path[MP_CTL_PATH_MAX];
    int rc = mp_ctl_session_client(s, &c);
    if (rc != MP_CTL_OK)
        return rc;
    mp_ctl_users_path(u, "import", path);
    const struct mp_ctl_call call = {.method = "POST",
                                     .path = path,
                                     .body = body,
                                     .len = len,
                                     .ctype = "application/x-ndjson",
                                     .subject = u->subject};
    rc = mp_ctl_client_json(c, &call, r, doc);
    if (rc != MP_CTL_OK)
        return rc;
    t->messages += json_integer_value(json_object_get(*doc, "messages"));
    t->facts += json_integer_value(json_object_get(*doc, "facts"));
    t->settings += json_integer_value(json_object_get(*doc, "settings"));
    t->skipped += json_integer_value(json_object_get(*doc, "skipped"));
    return MP_CTL_OK;
}

/* The run of lines of one user that import --all collects. */
struct run {
    char *user, *tenant; /* owned; tenant NULL for none */
    char *body;          /* owned: the lines, each ending in '\n' */
    size_t len, cap;
    size_t first_line; /* its first line's number, for messages */
};

static void run_reset(struct run *run)
{
    free(run->user);
    free(run->tenant);
    run->user = run->tenant = NULL;
    run->len = 0;
}

static bool same(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Sends the run (if any) as one import and reports it. */
static int flush_run(struct mp_ctl_session *s, struct run *run, struct tally *t)
{
    struct mp_ctl_user u;
    struct mp_ctl_reply r;
    json_t *doc = NULL;
    if (run->user == NULL)
        return MP_CTL_OK;
    if (mp_ctl_users_name(run->user, run->tenant, &u) != MP_CTL_OK) {
        fprintf(stderr, "memproxy ctl: line %zu: the \"user\" or \"tenant\" above is not valid\n",
                run->first_line);
        return MP_CTL_USAGE;
    }
    int rc = import_run(s, &u, run->body, run->len, t, &r, &doc);
    if (rc != MP_CTL_OK)
        return rc;
    /* the server's counts, and whose they are */
    json_t *item = json_deep_copy(doc);
    if (item == NULL || json_object_set_new(item, "user", json_string(u.id)) != 0 ||
        json_object_set_new(item, "tenant",
                            u.tenant != NULL ? json_string(u.tenant) : json_null()) != 0 ||
        json_array_append(t->users, item) != 0)
        rc = MP_CTL_FAILED;
    json_decref(item);
    if (!s->json)
        mp_ctl_importfile_report(u.subject, doc);
    json_decref(doc);
    mp_ctl_reply_cleanup(&r);
    run_reset(run);
    return rc;
}

/* Adds one line (len bytes, its '\n' included or not) of user/tenant to
 * the run, sending the run before when it is another user's. */
static int add_line(struct mp_ctl_session *s, struct run *run, struct tally *t, const char *user,
                    const char *tenant, const char *line, size_t len, size_t lineno)
{
    int rc = MP_CTL_OK;
    if (run->user == NULL || strcmp(run->user, user) != 0 || !same(run->tenant, tenant)) {
        rc = flush_run(s, run, t);
        if (rc != MP_CTL_OK)
            return rc;
        run->user = strdup(user);
        run->tenant = tenant != NULL ? strdup(tenant) : NULL;
        run->first_line = lineno;
        if (run->user == NULL || (tenant != NULL && run->tenant == NULL)) {
            fprintf(stderr, "memproxy ctl: out of memory\n");
            return MP_CTL_FAILED;
        }
    }
    if (run->len + len + 1 > MP_CTL_IMPORT_MAX) {
        fprintf(stderr,
                "memproxy ctl: line %zu: the lines of user '%s' exceed 32 MiB, the most "
                "one import takes\n",
                lineno, user);
        return MP_CTL_USAGE;
    }
    if (run->len + len + 1 > run->cap) {
        size_t cap = run->cap > 0 ? run->cap : 65536;
        while (cap < run->len + len + 1)
            cap *= 2;
        char *body = realloc(run->body, cap);
        if (body == NULL) {
            fprintf(stderr, "memproxy ctl: out of memory\n");
            return MP_CTL_FAILED;
        }
        run->body = body;
        run->cap = cap;
    }
    memcpy(run->body + run->len, line, len);
    run->len += len;
    if (len == 0 || line[len - 1] != '\n')
        run->body[run->len++] = '\n';
    return MP_CTL_OK;
}

/* One input line: blank (skipped), or a JSON object naming its user. */
static int take_line(struct mp_ctl_session *s, struct run *run, struct tally *t, const char *line,
                     size_t len, size_t lineno)
{
    size_t k = strspn(line, " \t\r\n");
    if (k >= len)
        return MP_CTL_OK;
    json_t *doc = json_loadb(line, len, 0, NULL);
    const char *user = json_string_value(json_object_get(doc, "user"));
    const json_t *tenant = json_object_get(doc, "tenant");
    int rc = MP_CTL_USAGE;
    if (user == NULL || (tenant != NULL && !json_is_null(tenant) && !json_is_string(tenant)))
        fprintf(stderr,
                "memproxy ctl: line %zu is not a JSON object with a \"user\" (users "
                "import --all takes what users export --all writes: every line names its "
                "user)\n",
                lineno);
    else
        rc = add_line(s, run, t, user, json_string_value(tenant), line, len, lineno);
    json_decref(doc);
    return rc;
}

static int import_all(struct mp_ctl_session *s)
{
    struct run run = {0};
    struct tally t = {.users = json_array()};
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t n;
    int rc = t.users != NULL ? MP_CTL_OK : MP_CTL_FAILED;
    while (rc == MP_CTL_OK && (n = getline(&line, &cap, stdin)) >= 0)
        rc = take_line(s, &run, &t, line, (size_t)n, ++lineno);
    if (rc == MP_CTL_OK && ferror(stdin)) {
        fprintf(stderr, "memproxy ctl: cannot read the input\n");
        rc = MP_CTL_FAILED;
    }
    if (rc == MP_CTL_OK)
        rc = flush_run(s, &run, &t);
    if (rc == MP_CTL_OK && s->json) {
        json_t *doc =
            json_pack("{s:O, s:I, s:I, s:I, s:I}", "users", t.users, "messages", t.messages,
                      "facts", t.facts, "settings", t.settings, "skipped", t.skipped);
        rc = doc != NULL ? mp_ctl_session_print_json(doc) : MP_CTL_FAILED;
        json_decref(doc);
    } else if (rc == MP_CTL_OK) {
        size_t users = json_array_size(t.users);
        printf("%zu user%s imported\n", users, users == 1 ? "" : "s");
    }
    run_reset(&run);
    free(run.body);
    free(line);
    json_decref(t.users);
    return rc;
}

int mp_ctl_transfer_import(struct mp_ctl_session *s, int argc, const char *const *argv)
{
    struct mp_ctl_opt opts[] = {{.name = "--tenant", .takes_value = true},
                                {.name = "--all"},
                                {.name = "--format", .takes_value = true},
                                {.name = "--dry-run"}};
    struct mp_ctl_user u;
    const char *pos[2] = {NULL, NULL};
    size_t npos = 0;
    int rc = mp_ctl_session_args("users import", argc, argv, opts, 4, pos, 0, 2, &npos);
    bool all = opts[1].seen;
    if (rc == MP_CTL_OK && (npos >= 1) == all) {
        fprintf(stderr, "memproxy ctl users import: name one USER, or --all (the lines name "
                        "their users and tenants; see memproxy ctl users import --help)\n");
        rc = MP_CTL_USAGE;
    } else if (rc == MP_CTL_OK && all && (opts[0].seen || opts[2].seen || opts[3].seen)) {
        fprintf(stderr, "memproxy ctl users import: --all takes what users export --all wrote, "
                        "from stdin, without --tenant, --format or --dry-run\n");
        rc = MP_CTL_USAGE;
    }
    if (rc == MP_CTL_OK && !all)
        rc = mp_ctl_users_name(pos[0], opts[0].value, &u);
    if (rc != MP_CTL_OK)
        return rc;
    if (all)
        return import_all(s);
    const struct mp_ctl_importfile f = {opts[2].value, opts[3].seen, pos[1]};
    return mp_ctl_importfile_run(s, &u, &f);
}
