/* users list, show, forget, settings; see ctl_users.h. */
#include "ctl/ctl_users.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl_main.h"
#include "ctl/ctl_print.h"
#include "ctl/ctl_text.h"
#include "status.h"
#include "user_id.h"
#include "memory/userkey.h"

#define TENANT_OPT                                                                                 \
    {                                                                                              \
        .name = "--tenant", .takes_value = true                                                    \
    }

int mp_ctl_users_tenant(const char *tenant)
{
    unsigned char raw[MP_USERKEY_TENANT_LEN];
    if (tenant == NULL || mp_userkey_tenant_parse(tenant, strlen(tenant), raw) == MP_OK)
        return MP_CTL_OK;
    fprintf(stderr, "memproxy ctl: --tenant takes a tenant's 32 hex digits (as "
                    "memproxy ctl users list shows them)\n");
    return MP_CTL_USAGE;
}

int mp_ctl_users_name(const char *id, const char *tenant, struct mp_ctl_user *out)
{
    if (mp_user_id_validate(id, strlen(id)) != MP_OK) {
        fprintf(stderr,
                "memproxy ctl: a user id is 1 to %d bytes of printable UTF-8 (and no "
                "unexpanded template)\n",
                MP_USER_ID_MAX);
        return MP_CTL_USAGE;
    }
    if (mp_ctl_users_tenant(tenant) != MP_CTL_OK)
        return MP_CTL_USAGE;
    out->id = id;
    out->tenant = tenant;
    snprintf(out->subject, sizeof(out->subject), "user '%s'", id);
    return MP_CTL_OK;
}

void mp_ctl_users_path(const struct mp_ctl_user *u, const char *what, char *out)
{
    char id[3 * MP_USER_ID_MAX + 1];
    mp_ctl_text_pct(u->id, strlen(u->id), id, sizeof(id));
    snprintf(out, MP_CTL_PATH_MAX, "/admin/users/%s/%s", id, what);
    mp_ctl_users_param(out, "tenant", u->tenant);
}

void mp_ctl_users_param(char *path, const char *name, const char *value)
{
    size_t n = strlen(path);
    if (value != NULL && value[0] != '\0')
        snprintf(path + n, MP_CTL_PATH_MAX - n, "%c%s=%s", strchr(path, '?') != NULL ? '&' : '?',
                 name, value);
}

/* ---- users list ---- */

int mp_ctl_users_all(struct mp_ctl_client *c, const char *tenant, unsigned long limit,
                     json_t **users)
{
    char path[MP_CTL_PATH_MAX], cursor[MP_CTL_CURSOR_MAX + 1] = "", lim[32] = "";
    json_t *all = json_array();
    int rc = all != NULL ? MP_CTL_OK : MP_CTL_FAILED;
    if (limit > 0)
        snprintf(lim, sizeof(lim), "%lu", limit);
    do {
        snprintf(path, sizeof(path), "/admin/users");
        mp_ctl_users_param(path, "tenant", tenant);
        mp_ctl_users_param(path, "limit", lim);
        mp_ctl_users_param(path, "cursor", cursor);
        if (rc == MP_CTL_OK)
            rc = mp_ctl_session_page(c, path, "users", all, cursor, sizeof(cursor));
    } while (rc == MP_CTL_OK && cursor[0] != '\0');
    if (rc != MP_CTL_OK) {
        json_decref(all);
        return rc;
    }
    *users = all;
    return MP_CTL_OK;
}

int mp_ctl_users_list(struct mp_ctl_session *s, int argc, const char *const *argv)
{
    struct mp_ctl_opt opts[] = {TENANT_OPT, {.name = "--limit", .takes_value = true}};
    struct mp_ctl_client *c = NULL;
    unsigned long limit = 0;
    json_t *users = NULL;
    size_t npos = 0;
    int rc = mp_ctl_session_args("users list", argc, argv, opts, 2, NULL, 0, 0, &npos);
    if (rc == MP_CTL_OK && opts[1].seen &&
        mp_ctl_args_number(opts[1].value, 1, 1000, &limit) != 0) {
        fprintf(stderr, "memproxy ctl users list: --limit takes 1 to 1000 (users a page)\n");
        rc = MP_CTL_USAGE;
    }
    if (rc == MP_CTL_OK)
        rc = mp_ctl_users_tenant(opts[0].value);
    if (rc == MP_CTL_OK)
        rc = mp_ctl_session_client(s, &c);
    if (rc == MP_CTL_OK)
        rc = mp_ctl_users_all(c, opts[0].value, limit, &users);
    if (rc != MP_CTL_OK)
        return rc;
    if (s->json) {
        json_t *doc = json_pack("{s:O, s:n}", "users", users, "next_cursor");
        rc = doc != NULL ? mp_ctl_session_print_json(doc) : MP_CTL_FAILED;
        json_decref(doc);
    } else if (mp_ctl_print_users(users, stdout) != MP_OK) {
        rc = MP_CTL_FAILED;
    }
    json_decref(users);
    return rc;
}

/* ---- one user ---- */

/* The arguments of a command on one USER (plus up to more positionals,
 * into extra), checked: MP_CTL_OK with *u, or an exit status. */
static int one_user(const char *command, int argc, const char *const *argv, struct mp_ctl_opt *opts,
                    size_t nopts, size_t more, const char **extra, size_t *nextra,
                    struct mp_ctl_user *u)
{
    const char *pos[2] = {NULL, NULL};
    size_t npos = 0;
    int rc = mp_ctl_session_args(command, argc, argv, opts, nopts, pos, 1, 1 + more, &npos);
    if (rc == MP_CTL_OK)
        rc = mp_ctl_users_name(pos[0], opts[0].value, u);
    if (rc == MP_CTL_OK && extra != NULL) {
        *nextra = npos - 1;
        extra[0] = pos[1];
    }
    return rc;
}

/* Appends to doc's "entities" (a memory answer's first page) the facts of
 * the pages after it, following entities_next_cursor, so that what is
 * printed is every fact. */
static int all_facts(struct mp_ctl_client *c, const struct mp_ctl_user *u, json_t *doc)
{
    char path[MP_CTL_PATH_MAX], cursor[MP_CTL_CURSOR_MAX + 1];
    const char *next = json_string_value(json_object_get(doc, "entities_next_cursor"));
    json_t *all = json_object_get(doc, "entities");
    int rc = MP_CTL_OK;
    snprintf(cursor, sizeof(cursor), "%s", next != NULL ? next : "");
    while (rc == MP_CTL_OK && cursor[0] != '\0' && json_is_array(all)) {
        struct mp_ctl_reply r;
        json_t *page = NULL;
        mp_ctl_users_path(u, "memory", path);
        mp_ctl_users_param(path, "limit", "1");
        mp_ctl_users_param(path, "entities_cursor", cursor);
        const struct mp_ctl_call call = {.method = "GET", .path = path, .subject = u->subject};
        rc = mp_ctl_client_json(c, &call, &r, &page);
        if (rc != MP_CTL_OK)
            return rc;
        next = json_string_value(json_object_get(page, "entities_next_cursor"));
        if (json_array_extend(all, json_object_get(page, "entities")) != 0 ||
            (next != NULL && strcmp(next, cursor) == 0)) {
            fprintf(stderr, "memproxy ctl: malformed answer from the admin API (the facts' "
                            "cursor does not move)\n");
            rc = MP_CTL_FAILED;
        }
        snprintf(cursor, sizeof(cursor), "%s", next != NULL ? next : "");
        json_decref(page);
        mp_ctl_reply_cleanup(&r);
    }
    return rc;
}

int mp_ctl_users_show(struct mp_ctl_session *s, int argc, const char *const *argv)
{
    struct mp_ctl_opt opts[] = {TENANT_OPT, {.name = "--archive", .takes_value = true}};
    struct mp_ctl_client *c = NULL;
    struct mp_ctl_user u;
    struct mp_ctl_reply r;
    char path[MP_CTL_PATH_MAX];
    unsigned long limit = 20;
    json_t *doc = NULL;
    int rc = one_user("users show", argc, argv, opts, 2, 0, NULL, NULL, &u);
    if (rc == MP_CTL_OK && opts[1].seen &&
        mp_ctl_args_number(opts[1].value, 1, 1000, &limit) != 0) {
        fprintf(stderr, "memproxy ctl users show: --archive takes 1 to 1000 (messages)\n");
        rc = MP_CTL_USAGE;
    }
    if (rc == MP_CTL_OK)
        rc = mp_ctl_session_client(s, &c);
    if (rc != MP_CTL_OK)
        return rc;
    char lim[24];
    snprintf(lim, sizeof(lim), "%lu", limit);
    mp_ctl_users_path(&u, "memory", path);
    mp_ctl_users_param(path, "limit", lim);
    const struct mp_ctl_call call = {.method = "GET", .path = path, .subject = u.subject};
    rc = mp_ctl_client_json(c, &call, &r, &doc);
    if (rc != MP_CTL_OK)
        return rc;
    rc = all_facts(c, &u, doc);
    if (rc == MP_CTL_OK && s->json) { /* the pages as one answer */
        json_object_set_new(doc, "entities_next_cursor", json_null());
        rc = mp_ctl_session_print_json(doc);
    }
    if (rc != MP_CTL_OK || s->json) {
        json_decref(doc);
        mp_ctl_reply_cleanup(&r);
        return rc;
    }
    return mp_ctl_session_output(s, &r, doc, mp_ctl_print_memory);
}

/* What forget erased, for people and for scripts. */
static int forgotten(const struct mp_ctl_session *s, const struct mp_ctl_user *u, const json_t *mem)
{
    size_t facts = json_array_size(json_object_get(mem, "entities"));
    if (s->json) {
        json_t *doc =
            json_pack("{s:s, s:s?, s:b, s:b, s:I}", "user", u->id, "tenant", u->tenant, "forgotten",
                      1, "had_memory", mem != NULL, "facts", (json_int_t)facts);
        int rc = doc != NULL ? mp_ctl_session_print_json(doc) : MP_CTL_FAILED;
        json_decref(doc);
        return rc;
    }
    if (mem == NULL)
        printf("nothing was stored for %s; pending work for it, if any, is cancelled\n",
               u->subject);
    else
        printf("forgot %s: erased %zu fact%s%s, every message, the history and pending work "
               "(memproxy ctl compact scrubs the freed pages from the store's files)\n",
               u->subject, facts, facts == 1 ? "" : "s",
               json_string_value(json_object_get(json_object_get(mem, "summary"), "text")) != NULL
                   ? ", the summary"
                   : "");
    return MP_CTL_OK;
}

int mp_ctl_users_forget(struct mp_ctl_session *s, int argc, const char *const *argv)
{
    struct mp_ctl_opt opts[] = {TENANT_OPT};
    struct mp_ctl_client *c = NULL;
    struct mp_ctl_user u;
    struct mp_ctl_reply r = {0}, gone;
    char path[MP_CTL_PATH_MAX];
    json_t *mem = NULL;
    int rc = one_user("users forget", argc, argv, opts, 1, 0, NULL, NULL, &u);
    if (rc == MP_CTL_OK)
        rc = mp_ctl_session_client(s, &c);
    if (rc != MP_CTL_OK)
        return rc;
    mp_ctl_users_path(&u, "memory", path);
    mp_ctl_users_param(path, "limit", "1");
    const struct mp_ctl_call look = {
        .method = "GET", .path = path, .subject = u.subject, .missing_ok = true};
    rc = mp_ctl_client_json(c, &look, &r, &mem);
    if (rc == MP_CTL_OK)
        rc = all_facts(c, &u, mem); /* counted for the answer */
    if (rc == MP_CTL_OK || rc == MP_CTL_NOTFOUND) {
        mp_ctl_users_path(&u, "memory", path);
        const struct mp_ctl_call del = {.method = "DELETE", .path = path, .subject = u.subject};
        rc = mp_ctl_client_send(c, &del, &gone);
    }
    if (rc == MP_CTL_OK) {
        mp_ctl_reply_cleanup(&gone);
        rc = forgotten(s, &u, mem);
    }
    json_decref(mem);
    mp_ctl_reply_cleanup(&r);
    return rc;
}

int mp_ctl_users_settings(struct mp_ctl_session *s, int argc, const char *const *argv)
{
    struct mp_ctl_opt opts[] = {TENANT_OPT};
    struct mp_ctl_client *c = NULL;
    struct mp_ctl_user u;
    struct mp_ctl_reply r;
    const char *mode[1] = {NULL};
    char path[MP_CTL_PATH_MAX], body[64];
    size_t nmode = 0;
    json_t *doc = NULL;
    int rc = one_user("users settings", argc, argv, opts, 1, 1, mode, &nmode, &u);
    if (rc == MP_CTL_OK && nmode > 0 && strcmp(mode[0], "off") != 0 &&
        strcmp(mode[0], "read") != 0 && strcmp(mode[0], "auto") != 0) {
        fprintf(stderr, "memproxy ctl users settings: the mode is off, read or auto\n");
        rc = MP_CTL_USAGE;
    }
    if (rc == MP_CTL_OK)
        rc = mp_ctl_session_client(s, &c);
    if (rc != MP_CTL_OK)
        return rc;
    mp_ctl_users_path(&u, "settings", path);
    snprintf(body, sizeof(body), "{\"mode\":\"%s\"}", nmode > 0 ? mode[0] : "");
    const struct mp_ctl_call call = {.method = nmode > 0 ? "PUT" : "GET",
                                     .path = path,
                                     .body = nmode > 0 ? body : NULL,
                                     .len = strlen(body),
                                     .ctype = nmode > 0 ? "application/json" : NULL,
                                     .subject = u.subject};
    rc = mp_ctl_client_json(c, &call, &r, &doc);
    if (rc != MP_CTL_OK)
        return rc;
    const char *now = json_string_value(json_object_get(doc, "mode"));
    char at[32];
    if (s->json) {
        rc = mp_ctl_session_print_body(&r);
    } else if (now == NULL ||
               (strcmp(now, "off") != 0 && strcmp(now, "read") != 0 && strcmp(now, "auto") != 0)) {
        fprintf(stderr, "memproxy ctl: malformed answer from the admin API (no mode)\n");
        rc = MP_CTL_FAILED;
    } else {
        mp_ctl_text_time(json_string_value(json_object_get(doc, "updated_at")), at, sizeof(at));
        if (at[0] == '-')
            printf("%s: memory mode %s%s (the default)\n", u.subject, nmode > 0 ? "set to " : "",
                   now);
        else
            printf("%s: memory mode %s%s, since %s UTC\n", u.subject, nmode > 0 ? "set to " : "",
                   now, at);
    }
    json_decref(doc);
    mp_ctl_reply_cleanup(&r);
    return rc;
}

/* ---- users revoke-links ---- */

int mp_ctl_users_revoke_links(struct mp_ctl_session *s, int argc, const char *const *argv)
{
    struct mp_ctl_opt opts[] = {TENANT_OPT};
    struct mp_ctl_client *c = NULL;
    struct mp_ctl_user u;
    struct mp_ctl_reply r;
    char path[MP_CTL_PATH_MAX], at[32];
    json_t *doc = NULL;
    int rc = one_user("users revoke-links", argc, argv, opts, 1, 0, NULL, NULL, &u);
    if (rc == MP_CTL_OK)
        rc = mp_ctl_session_client(s, &c);
    if (rc != MP_CTL_OK)
        return rc;
    mp_ctl_users_path(&u, "revoke-links", path);
    const struct mp_ctl_call call = {
        .method = "POST", .path = path, .body = "", .len = 0, .subject = u.subject};
    rc = mp_ctl_client_json(c, &call, &r, &doc);
    if (rc != MP_CTL_OK)
        return rc;
    if (s->json) {
        rc = mp_ctl_session_print_body(&r);
    } else {
        mp_ctl_text_time(json_string_value(json_object_get(doc, "links_void_before")), at,
                         sizeof(at));
        printf("%s: every memory page link issued before %s UTC is void\n", u.subject, at);
    }
    json_decref(doc);
    mp_ctl_reply_cleanup(&r);
    return rc;
}

/* ---- users search ---- */

int mp_ctl_users_search(struct mp_ctl_session *s, int argc, const char *const *argv)
{
    struct mp_ctl_opt opts[] = {TENANT_OPT,
                                {.name = "--limit", .takes_value = true},
                                {.name = "--types", .takes_value = true}};
    struct mp_ctl_client *c = NULL;
    struct mp_ctl_user u;
    struct mp_ctl_reply r;
    const char *query[1] = {NULL};
    char path[MP_CTL_PATH_MAX], q[3 * MP_CTL_QUERY_MAX + 1];
    size_t nq = 0;
    unsigned long limit = 10;
    json_t *doc = NULL;
    int rc = one_user("users search", argc, argv, opts, 3, 1, query, &nq, &u);
    if (rc == MP_CTL_OK &&
        (nq == 0 || query[0][0] == '\0' || strlen(query[0]) > MP_CTL_QUERY_MAX)) {
        fprintf(stderr, "memproxy ctl users search: give the query, 1 to %d bytes\n",
                MP_CTL_QUERY_MAX);
        rc = MP_CTL_USAGE;
    }
    if (rc == MP_CTL_OK && opts[1].seen &&
        mp_ctl_args_number(opts[1].value, 1, 1000, &limit) != 0) {
        fprintf(stderr, "memproxy ctl users search: --limit takes 1 to 1000 (results)\n");
        rc = MP_CTL_USAGE;
    }
    if (rc == MP_CTL_OK && opts[2].seen && strcmp(opts[2].value, "facts") != 0 &&
        strcmp(opts[2].value, "messages") != 0) {
        fprintf(stderr, "memproxy ctl users search: --types takes facts or messages\n");
        rc = MP_CTL_USAGE;
    }
    if (rc == MP_CTL_OK)
        rc = mp_ctl_session_client(s, &c);
    if (rc != MP_CTL_OK)
        return rc;
    char lim[24];
    snprintf(lim, sizeof(lim), "%lu", limit);
    mp_ctl_text_pct(query[0], strlen(query[0]), q, sizeof(q));
    mp_ctl_users_path(&u, "search", path);
    mp_ctl_users_param(path, "q", q);
    mp_ctl_users_param(path, "limit", lim);
    mp_ctl_users_param(path, "types", opts[2].value);
    const struct mp_ctl_call call = {.method = "GET", .path = path, .subject = u.subject};
    rc = mp_ctl_client_json(c, &call, &r, &doc);
    return rc != MP_CTL_OK ? rc : mp_ctl_session_output(s, &r, doc, mp_ctl_print_search);
}

/* ---- users explain ---- */

/* A request of api asking question: the body explain reads. */
static char *explain_body(const char *api, const char *question)
{
    json_t *msgs = json_pack("[{s:s, s:s}]", "role", "user", "content", question);
    json_t *doc =
        strcmp(api, "responses") == 0
            ? json_pack("{s:s, s:s}", "model", "explain", "input", question)
        : strcmp(api, "messages") == 0
            ? json_pack("{s:s, s:i, s:O}", "model", "explain", "max_tokens", 1, "messages", msgs)
            : json_pack("{s:s, s:O}", "model", "explain", "messages", msgs);
    char *text = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(msgs);
    json_decref(doc);
    return text;
}

int mp_ctl_users_explain(struct mp_ctl_session *s, int argc, const char *const *argv)
{
    struct mp_ctl_opt opts[] = {TENANT_OPT, {.name = "--api", .takes_value = true}};
    struct mp_ctl_client *c = NULL;
    struct mp_ctl_user u;
    struct mp_ctl_reply r;
    const char *question[1] = {NULL};
    char path[MP_CTL_PATH_MAX];
    size_t nq = 0;
    json_t *doc = NULL;
    const char *api = "chat";
    int rc = one_user("users explain", argc, argv, opts, 2, 1, question, &nq, &u);
    if (rc == MP_CTL_OK && (nq == 0 || question[0][0] == '\0')) {
        fprintf(stderr, "memproxy ctl users explain: give the question\n");
        rc = MP_CTL_USAGE;
    }
    if (rc == MP_CTL_OK && opts[1].seen) {
        api = opts[1].value;
        if (strcmp(api, "chat") != 0 && strcmp(api, "responses") != 0 &&
            strcmp(api, "messages") != 0) {
            fprintf(stderr,
                    "memproxy ctl users explain: --api takes chat, responses or messages\n");
            rc = MP_CTL_USAGE;
        }
    }
    if (rc == MP_CTL_OK)
        rc = mp_ctl_session_client(s, &c);
    if (rc != MP_CTL_OK)
        return rc;
    char *body = explain_body(api, question[0]);
    if (body == NULL)
        return MP_CTL_FAILED;
    mp_ctl_users_path(&u, "explain", path);
    mp_ctl_users_param(path, "api", api);
    const struct mp_ctl_call call = {.method = "POST",
                                     .path = path,
                                     .body = body,
                                     .len = strlen(body),
                                     .ctype = "application/json",
                                     .subject = u.subject};
    rc = mp_ctl_client_json(c, &call, &r, &doc);
    free(body);
    return rc != MP_CTL_OK ? rc : mp_ctl_session_output(s, &r, doc, mp_ctl_print_explain);
}
