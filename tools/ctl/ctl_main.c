/* memproxy ctl's command line: the global options (anywhere on the line),
 * the command table with each command's help, dispatch, and libcurl's
 * global state. The commands live in ctl_ops.c, ctl_users.c,
 * ctl_transfer.c and ctl_jobs.c. */
#include "ctl/ctl_main.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl_copy.h"
#include "ctl/ctl_jobs.h"
#include "ctl/ctl_link.h"
#include "curl_lib.h"
#include "ctl/ctl_ops.h"
#include "ctl/ctl_session.h"
#include "ctl/ctl_transfer.h"
#include "ctl/ctl_users.h"
#include "status.h"

extern char **environ;

struct command {
    const char *words; /* "users show" */
    const char *args;  /* what follows the words in the usage line */
    const char *help;
    int (*run)(struct mp_ctl_session *s, int argc, const char *const *argv);
};

static const struct command commands[] = {
    {"status", "",
     "Version and commit, the memory mode and retrieval in force, readiness, uptime, workers,\n"
     "the memory queue and the store's use (GET /admin/status).\n",
     mp_ctl_ops_status},
    {"users list", "[--tenant T] [--limit N]",
     "Every user, with facts, buffered and archived messages, summary and last change\n"
     "(GET /admin/users, every page). --tenant: one tenant's users only (32 hex digits);\n"
     "--limit: users asked for a page (1..1000, default 100).\n",
     mp_ctl_users_list},
    {"users show", "USER [--tenant T] [--archive N]",
     "A user's memory: the facts with their provenance (confidence, trust, who said it, the\n"
     "extraction model, the source request, when, PII), the summary, the recent messages and\n"
     "the oldest N archived ones (--archive, 1..1000, default 20) (GET .../memory).\n",
     mp_ctl_users_show},
    {"users forget", "USER [--tenant T]",
     "Erases everything of the user: facts, history, summary, messages, pending work\n"
     "(DELETE .../memory). Run compact afterwards to scrub the freed pages.\n",
     mp_ctl_users_forget},
    {"users export", "USER [--tenant T] | --all [--tenant T]",
     "Writes the user's memory as JSON Lines to stdout (GET .../export, every page); with\n"
     "--all, every user's (or one tenant's). Every line names its user and tenant.\n",
     mp_ctl_transfer_export},
    {"users import", "USER [--tenant T] [--format F] [--dry-run] [FILE] | --all",
     "Imports FILE (or stdin) into the user (POST .../import, at most 32 MiB): JSON Lines\n"
     "such as users export USER wrote, or with --format chatgpt|claude another assistant's\n"
     "data export (its ZIP or conversations.json), --format memory-text what another\n"
     "assistant remembers about the user, one item a line. --dry-run stores nothing and\n"
     "says what would be imported and what the memory model would cost. A progress bar on\n"
     "a terminal, then what was imported, skipped and why. Importing the same file again\n"
     "adds nothing. With --all, each line of stdin into the user and tenant it names, one\n"
     "import per run of a user's lines, such as users export --all wrote.\n",
     mp_ctl_transfer_import},
    {"users settings", "USER [off|read|auto] [--tenant T]",
     "Shows the user's memory mode, or sets it (GET or PUT .../settings).\n",
     mp_ctl_users_settings},
    {"users revoke-links", "USER [--tenant T]",
     "Voids every memory page link of the user issued until now (POST .../revoke-links):\n"
     "a leaked link stops working; new links (users link) work. Erasure does it too.\n",
     mp_ctl_users_revoke_links},
    {"users search", "USER QUERY [--tenant T] [--limit N] [--types facts|messages]",
     "The user's facts and archived messages that answer QUERY, best first, ranked as\n"
     "injection ranks them, with their scores and ids (GET .../search). --limit: results\n"
     "(1..1000, default 10); --types: facts or messages only.\n",
     mp_ctl_users_search},
    {"users explain", "USER QUESTION [--tenant T] [--api chat|responses|messages]",
     "What a chat request asking QUESTION would get injected for the user, section by\n"
     "section, each item taken or left out and why, with its score and the question's terms\n"
     "it holds (POST .../explain; nothing is sent upstream). --api: the request's API.\n",
     mp_ctl_users_explain},
    {"users link", "USER [--tenant T] [--ttl D] [--url URL]",
     "Prints the user's signed link to their memory page (docs/memory-page.md), signed with\n"
     "[page] link_key and valid for --ttl (30m, 24h, 7d; default 1h, at most\n"
     "30d). --url: where people reach the page (default: [page] listen). No server needed.\n",
     mp_ctl_users_link},
    {"jobs list", "[--state S] [--user USER] [--tenant T] [--limit N]",
     "The memory jobs, newest first (GET /admin/jobs, every page): id, user, kind, state\n"
     "(pending, leased, held, failed), why it waits or failed, attempts, when, and the turns\n"
     "it holds (a failed batch is one job). --state: pending|leased|held|failed|all; --user:\n"
     "one user's (--tenant: of that tenant; alone: every user of it); --limit: jobs asked for\n"
     "a page (1..1000, default 100).\n",
     mp_ctl_jobs_list},
    {"jobs retry", "ID",
     "Runs failed job ID again now, with every turn of its batch (POST /admin/jobs/ID/retry).\n",
     mp_ctl_jobs_retry},
    {"jobs drop", "ID",
     "Drops job ID (a failed batch: all its turns): its turns stay recorded but never reach\n"
     "the memory model (DELETE /admin/jobs/ID). A running job cannot be dropped.\n",
     mp_ctl_jobs_drop},
    {"copy-store", "--from FILE --to FILE",
     "Copies the whole store of one configuration file into the empty store of another,\n"
     "across backends (LMDB to PostgreSQL and back): every record as stored, so the copy is\n"
     "the same memory. Offline: stop the proxies of both stores first. The files are read\n"
     "without the environment; both stores must be in clear or use the same key.\n",
     mp_ctl_copy_store},
    {"compact", "",
     "Rewrites the store without free pages, so no byte of erased data stays in its files\n"
     "(POST /admin/compact).\n",
     mp_ctl_ops_compact},
    {"reload", "[--pid PID]",
     "Re-reads the configuration as SIGHUP does and says whether it was valid\n"
     "(POST /admin/reload); with --pid, sends SIGHUP to that process instead (no admin API\n"
     "needed; the outcome is in memproxy's log), only when it runs memproxy (else exit 3).\n",
     mp_ctl_ops_reload},
    {"config check", "FILE",
     "Checks a configuration file with the environment's MEMPROXY_* variables, as memproxy\n"
     "loads it; prints the errors as file:line: message. No server needed.\n",
     mp_ctl_ops_config_check},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f)
{
    fprintf(f, "usage: memproxy ctl [OPTIONS] COMMAND [ARGS]\n"
               "Speaks the admin API of a running memproxy; see docs/ctl.md.\n\n"
               "Commands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %s%s%s\n", commands[i].words, commands[i].args[0] != '\0' ? " " : "",
                commands[i].args);
    fprintf(f,
            "\nOptions (anywhere on the line):\n"
            "  --admin URL        the admin API, e.g. http://127.0.0.1:8081 (default: [server]\n"
            "                     admin_listen of the configuration)\n"
            "  -c, --config FILE  the configuration to read admin_listen and [admin] token from\n"
            "                     (default: built-in defaults, then MEMPROXY_* variables)\n"
            "  --token-file FILE  the admin token: the file's first line (default: [admin] token)\n"
            "  --json             print JSON for scripts instead of text for people\n"
            "  -h, --help         this help; memproxy ctl COMMAND --help for one command\n"
            "\nExit codes: 0 done, 1 usage or invalid configuration, 2 the admin API cannot be\n"
            "reached, 3 the token is refused or the admin API is disabled, 4 not found, 5 any\n"
            "other error answer or a malformed one.\n");
}

/* The commands whose words start with group's (all when NULL). */
static void help(FILE *f, const char *group, size_t glen, const struct command *only)
{
    for (size_t i = 0; i < NCOMMANDS; i++) {
        const struct command *c = &commands[i];
        if ((only != NULL && c != only) ||
            (group != NULL && (strncmp(c->words, group, glen) != 0 ||
                               (c->words[glen] != ' ' && c->words[glen] != '\0'))))
            continue;
        fprintf(f, "usage: memproxy ctl %s%s%s\n%s", c->words, c->args[0] != '\0' ? " " : "",
                c->args, c->help);
        if (only == NULL && i + 1 < NCOMMANDS)
            fputc('\n', f);
    }
}

/* The command named by pos[0] (and pos[1]); *used: how many words. NULL
 * when none; *group then says whether pos[0] starts some command's words. */
static const struct command *find(const char *const *pos, size_t npos, size_t *used, bool *group)
{
    char words[64];
    *group = false;
    for (size_t i = 0; npos > 0 && i < NCOMMANDS; i++) {
        size_t n = strlen(pos[0]);
        const char *w = commands[i].words;
        if (strcmp(w, pos[0]) == 0) {
            *used = 1;
            return &commands[i];
        }
        if (strncmp(w, pos[0], n) == 0 && w[n] == ' ')
            *group = true;
        snprintf(words, sizeof(words), "%s %s", pos[0], npos > 1 ? pos[1] : "");
        if (npos > 1 && strcmp(w, words) == 0) {
            *used = 2;
            return &commands[i];
        }
    }
    return NULL;
}

static int dispatch(struct mp_ctl_session *s, bool want_help, int argc, const char *const *argv)
{
    size_t used = 0;
    bool group = false;
    const struct command *c = find(argv, (size_t)argc, &used, &group);
    if (c == NULL && want_help && argc > 0 && group) {
        help(stdout, argv[0], strlen(argv[0]), NULL);
        return MP_CTL_OK;
    }
    if (c == NULL && want_help && argc == 0) {
        usage(stdout);
        return MP_CTL_OK;
    }
    if (c == NULL) {
        if (argc == 0)
            fprintf(stderr, "memproxy ctl: no command given\n");
        else
            fprintf(stderr, "memproxy ctl: unknown command '%.80s%s%.80s'\n", argv[0],
                    group && argc > 1 ? " " : "", group && argc > 1 ? argv[1] : "");
        usage(stderr);
        return MP_CTL_USAGE;
    }
    if (want_help) {
        help(stdout, NULL, 0, c);
        return MP_CTL_OK;
    }
    return c->run(s, argc - (int)used, argv + used);
}

int mp_ctl_main(int argc, char **argv)
{
    struct mp_ctl_opt opts[] = {
        {.name = "--admin", .takes_value = true},
        {.name = "--config", .alias = "-c", .takes_value = true},
        {.name = "--token-file", .takes_value = true},
        {.name = "--json"},
        {.name = "--help", .alias = "-h"},
    };
    struct mp_ctl_session s = {.envp = (const char *const *)environ};
    char err[160] = "";
    size_t npos = 0;
    const char **rest = calloc((size_t)argc + 1, sizeof(*rest));
    if (rest == NULL) {
        fprintf(stderr, "memproxy ctl: out of memory\n");
        return MP_CTL_FAILED;
    }
    if (mp_ctl_args_parse(argc - 1, (const char *const *)argv + 1, opts, 5, true, rest,
                          (size_t)argc, &npos, err, sizeof(err)) != 0) {
        fprintf(stderr, "memproxy ctl: %s (see memproxy ctl --help)\n", err);
        free((void *)rest);
        return MP_CTL_USAGE;
    }
    s.where = (struct mp_ctl_where){
        .admin_url = opts[0].value, .config_path = opts[1].value, .token_file = opts[2].value};
    s.json = opts[3].seen;
    int rc = dispatch(&s, opts[4].seen, (int)npos, rest);
    mp_ctl_session_cleanup(&s);
    mp_curl_unload();
    free((void *)rest);
    return rc;
}
