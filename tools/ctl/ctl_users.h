/* The ops command line's commands on users (docs/ctl.md): users list, show,
 * forget and settings, and the user paths every user command builds. Each
 * command takes the session and the arguments after its words and returns
 * an exit status (ctl_main.h). */
#ifndef MP_TOOLS_CTL_USERS_H
#define MP_TOOLS_CTL_USERS_H

#include <stddef.h>

#include "ctl/ctl_session.h"

#define MP_CTL_PATH_MAX    4096 /* an admin path with its query */
#define MP_CTL_SUBJECT_MAX 300  /* "user 'alice'" */
#define MP_CTL_QUERY_MAX   1024 /* bytes of a search query (the server's cap) */

/* A user named on the command line. */
struct mp_ctl_user {
    const char *id;                   /* borrowed */
    const char *tenant;               /* borrowed: 32 hex digits, or NULL for none */
    char subject[MP_CTL_SUBJECT_MAX]; /* for messages: "user 'alice'" */
};

/* Checks a --tenant value (NULL: none, fine): 32 hex digits. MP_CTL_OK,
 * or MP_CTL_USAGE after a line on stderr. */
int mp_ctl_users_tenant(const char *tenant);

/* Checks id and tenant (may be NULL) as the server would (core/user_id.h;
 * 32 hex digits) and fills *out. MP_CTL_OK, or MP_CTL_USAGE after a line on
 * stderr. */
int mp_ctl_users_name(const char *id, const char *tenant, struct mp_ctl_user *out);

/* "/admin/users/{id}/{what}" with id percent-encoded, and "?tenant=T" when
 * u has one, into out (MP_CTL_PATH_MAX bytes). */
void mp_ctl_users_path(const struct mp_ctl_user *u, const char *what, char *out);

/* Appends "?name=value" to path (MP_CTL_PATH_MAX bytes), or "&name=value"
 * when it has a query already; nothing when value is NULL or "". value
 * must need no encoding (hex digits, numbers, cursors). */
void mp_ctl_users_param(char *path, const char *name, const char *value);

/* users list [--tenant T] [--limit N] */
int mp_ctl_users_list(struct mp_ctl_session *s, int argc, const char *const *argv);
/* users show USER [--tenant T] [--archive N] */
int mp_ctl_users_show(struct mp_ctl_session *s, int argc, const char *const *argv);
/* users forget USER [--tenant T] */
int mp_ctl_users_forget(struct mp_ctl_session *s, int argc, const char *const *argv);
/* users settings USER [off|read|auto] [--tenant T] */
int mp_ctl_users_settings(struct mp_ctl_session *s, int argc, const char *const *argv);
/* users revoke-links USER [--tenant T]: POST .../revoke-links, the user's
 * memory page links issued until now stop working. */
int mp_ctl_users_revoke_links(struct mp_ctl_session *s, int argc, const char *const *argv);
/* users search USER QUERY [--tenant T] [--limit N] [--types facts|messages] */
int mp_ctl_users_search(struct mp_ctl_session *s, int argc, const char *const *argv);
/* users explain USER QUESTION [--tenant T] [--api chat|responses|messages] */
int mp_ctl_users_explain(struct mp_ctl_session *s, int argc, const char *const *argv);

/* Every user of the listing (of tenant, or of all tenants when NULL),
 * following next_cursor to the last page, limit users a page (0: the
 * server's default): MP_CTL_OK with *users (a JSON array the caller
 * json_decref()s), or an exit status. */
int mp_ctl_users_all(struct mp_ctl_client *c, const char *tenant, unsigned long limit,
                     json_t **users);

#endif
