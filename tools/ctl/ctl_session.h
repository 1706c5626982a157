/* What every ctl command works with: the global options (--json, where to
 * connect) and the admin API client, made on first use so that commands
 * that need no server (config check, reload --pid) never read the
 * configuration or a token. Also the --json output every command shares. */
#ifndef MP_TOOLS_CTL_SESSION_H
#define MP_TOOLS_CTL_SESSION_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "ctl/ctl_args.h"
#include "ctl/ctl_http.h"
#include "ctl/ctl_target.h"

struct mp_ctl_session {
    bool json;                    /* --json: output for scripts */
    struct mp_ctl_where where;    /* --admin, -c, --token-file */
    const char *const *envp;      /* borrowed: the environment the configuration reads */
    struct mp_ctl_client *client; /* owned; NULL until mp_ctl_session_client() */
};

/* The admin API client: MP_CTL_OK with *out (owned by s, valid until
 * mp_ctl_session_cleanup()), or the exit status of a failed resolution
 * (ctl_target.h; the reason is on stderr). */
int mp_ctl_session_client(struct mp_ctl_session *s, struct mp_ctl_client **out);

void mp_ctl_session_cleanup(struct mp_ctl_session *s);

/* A command's arguments (ctl_args.h) with between minpos and maxpos
 * positionals: MP_CTL_OK, or MP_CTL_USAGE after a line on stderr that
 * names the problem and points at "memproxy ctl COMMAND --help" (command
 * is the command's words, e.g. "users show"). */
int mp_ctl_session_args(const char *command, int argc, const char *const *argv,
                        struct mp_ctl_opt *opts, size_t nopts, const char **pos, size_t minpos,
                        size_t maxpos, size_t *npos);

/* Prints doc (borrowed) compact on one line of stdout. MP_CTL_OK, or
 * MP_CTL_FAILED when it cannot be written. */
int mp_ctl_session_print_json(const json_t *doc);

/* Prints one of the people's forms of doc (borrowed) to f: MP_OK or
 * MP_ENOMEM (ctl_print.h's functions are such). */
typedef int (*mp_ctl_human_fn)(const json_t *doc, FILE *f);

/* The output of a command whose answer is one JSON object: with --json,
 * r's body as it came; else human(doc, stdout). Takes r (cleaned up) and
 * doc (released). MP_CTL_OK, or MP_CTL_FAILED when it cannot be printed. */
int mp_ctl_session_output(const struct mp_ctl_session *s, struct mp_ctl_reply *r, json_t *doc,
                          mp_ctl_human_fn human);

/* Reads one page of a listing (GET path on c, borrowed) and appends its
 * array member ("users", "jobs") to all; next (cap bytes) gets its
 * next_cursor, "" on the last page. MP_CTL_OK, or an exit status after a
 * line on stderr (a malformed page is MP_CTL_FAILED). */
int mp_ctl_session_page(struct mp_ctl_client *c, const char *path, const char *member, json_t *all,
                        char *next, size_t cap);

/* Prints a JSON answer's body (borrowed) as it came, ending in a line
 * feed. MP_CTL_OK or MP_CTL_FAILED. */
int mp_ctl_session_print_body(const struct mp_ctl_reply *r);

#endif
