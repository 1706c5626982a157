/* status, compact, reload, config check; see ctl_ops.h. */
#include "ctl/ctl_ops.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config_load.h"
#include "ctl/ctl_main.h"
#include "ctl/ctl_print.h"
#include "ctl/ctl_text.h"
#include "status.h"

/* Sends a bodiless call to a route that names no user; *doc is its JSON. */
static int call_json(struct mp_ctl_session *s, const char *method, const char *path,
                     struct mp_ctl_reply *r, json_t **doc)
{
    struct mp_ctl_client *c = NULL;
    const struct mp_ctl_call call = {.method = method, .path = path};
    int rc = mp_ctl_session_client(s, &c);
    return rc != MP_CTL_OK ? rc : mp_ctl_client_json(c, &call, r, doc);
}

/* A command without arguments whose answer is one JSON object. */
static int plain_call(struct mp_ctl_session *s, const char *command, const char *method,
                      const char *path, int argc, const char *const *argv, mp_ctl_human_fn human)
{
    struct mp_ctl_reply r;
    json_t *doc = NULL;
    size_t npos = 0;
    int rc = mp_ctl_session_args(command, argc, argv, NULL, 0, NULL, 0, 0, &npos);
    if (rc == MP_CTL_OK)
        rc = call_json(s, method, path, &r, &doc);
    return rc != MP_CTL_OK ? rc : mp_ctl_session_output(s, &r, doc, human);
}

int mp_ctl_ops_status(struct mp_ctl_session *s, int argc, const char *const *argv)
{
    return plain_call(s, "status", "GET", "/admin/status", argc, argv, mp_ctl_print_status);
}

static int print_compacted(const json_t *doc, FILE *f)
{
    char before[32], after[32];
    json_int_t b = json_integer_value(json_object_get(doc, "used_bytes_before"));
    json_int_t a = json_integer_value(json_object_get(doc, "used_bytes_after"));
    fprintf(f, "compacted the store: %s in use before, %s after\n",
            mp_ctl_text_bytes(b > 0 ? (uint64_t)b : 0, before, sizeof(before)),
            mp_ctl_text_bytes(a > 0 ? (uint64_t)a : 0, after, sizeof(after)));
    return MP_OK;
}

int mp_ctl_ops_compact(struct mp_ctl_session *s, int argc, const char *const *argv)
{
    return plain_call(s, "compact", "POST", "/admin/compact", argc, argv, print_compacted);
}

/* The file a process runs (its /proc/PID/exe link) into exe (cap bytes),
 * without the kernel's " (deleted)" of a binary replaced since it started.
 * 0, or the errno of the read. */
static int exe_of(const char *pid, char *exe, size_t cap)
{
    static const char deleted[] = " (deleted)";
    char link[64];
    snprintf(link, sizeof(link), "/proc/%s/exe", pid);
    ssize_t n = readlink(link, exe, cap - 1);
    if (n < 0)
        return errno;
    exe[n] = '\0';
    size_t dl = sizeof(deleted) - 1;
    if ((size_t)n > dl && strcmp(exe + n - dl, deleted) == 0)
        exe[n - dl] = '\0';
    return 0;
}

/* Whether process pid runs memproxy: its executable is a file named
 * memproxy, or the very binary this ctl runs from. MP_CTL_OK, or the exit
 * status after a line on stderr: 4 when there is no such process, 3 when
 * it runs something else or cannot be told (nothing is signalled). */
static int check_memproxy(unsigned long pid)
{
    char id[24], exe[PATH_MAX], self[PATH_MAX];
    snprintf(id, sizeof(id), "%lu", pid);
    if (kill((pid_t)pid, 0) != 0 && errno == ESRCH) {
        fprintf(stderr, "memproxy ctl: cannot signal process %lu: %s\n", pid, strerror(ESRCH));
        return MP_CTL_NOTFOUND;
    }
    int err = exe_of(id, exe, sizeof(exe));
    if (err != 0) {
        fprintf(stderr,
                "memproxy ctl reload: cannot tell whether process %lu is memproxy (its "
                "executable: %s): not signalled\n",
                pid, strerror(err));
        return MP_CTL_REFUSED;
    }
    const char *base = strrchr(exe, '/');
    base = base != NULL ? base + 1 : exe;
    if (strcmp(base, "memproxy") == 0 ||
        (exe_of("self", self, sizeof(self)) == 0 && strcmp(self, exe) == 0))
        return MP_CTL_OK;
    char shown[256];
    mp_ctl_text_line(exe, strlen(exe), sizeof(shown) - 1, shown, sizeof(shown));
    fprintf(stderr,
            "memproxy ctl reload: process %lu is not memproxy (it runs %s): not signalled\n", pid,
            shown);
    return MP_CTL_REFUSED;
}

static int signal_pid(const struct mp_ctl_session *s, const char *text)
{
    unsigned long pid = 0;
    if (mp_ctl_args_number(text, 1, INT_MAX, &pid) != 0) {
        fprintf(stderr, "memproxy ctl reload: --pid takes a process id (see memproxy ctl reload "
                        "--help)\n");
        return MP_CTL_USAGE;
    }
    int rc = check_memproxy(pid);
    if (rc != MP_CTL_OK)
        return rc;
    if (kill((pid_t)pid, SIGHUP) != 0) {
        int err = errno;
        fprintf(stderr, "memproxy ctl: cannot signal process %lu: %s\n", pid, strerror(err));
        return err == ESRCH ? MP_CTL_NOTFOUND : err == EPERM ? MP_CTL_REFUSED : MP_CTL_FAILED;
    }
    if (!s->json) {
        printf("sent SIGHUP to process %lu: memproxy reloads its configuration (the outcome is "
               "in its log and in memproxy_config_reloads_total)\n",
               pid);
        return MP_CTL_OK;
    }
    json_t *doc = json_pack("{s:s, s:I}", "signal", "SIGHUP", "pid", (json_int_t)pid);
    rc = doc != NULL ? mp_ctl_session_print_json(doc) : MP_CTL_FAILED;
    json_decref(doc);
    return rc;
}

static int print_reloaded(const json_t *doc, FILE *f)
{
    (void)doc; /* {"result":"applied"}: the only success */
    fputs("configuration reloaded: the new values are in force\n", f);
    return MP_OK;
}

int mp_ctl_ops_reload(struct mp_ctl_session *s, int argc, const char *const *argv)
{
    struct mp_ctl_opt opts[] = {{.name = "--pid", .takes_value = true}};
    struct mp_ctl_reply r;
    json_t *doc = NULL;
    size_t npos = 0;
    int rc = mp_ctl_session_args("reload", argc, argv, opts, 1, NULL, 0, 0, &npos);
    if (rc != MP_CTL_OK)
        return rc;
    if (opts[0].seen)
        return signal_pid(s, opts[0].value);
    rc = call_json(s, "POST", "/admin/reload", &r, &doc);
    return rc != MP_CTL_OK ? rc : mp_ctl_session_output(s, &r, doc, print_reloaded);
}

static json_t *errors_json(const char *file, bool valid, const struct mp_config_errors *errs)
{
    json_t *list = json_array();
    for (size_t i = 0; list != NULL && i < errs->count; i++) {
        const struct mp_config_error *e = &errs->items[i];
        /* a rule between keys names no source, an environment error no line */
        json_t *item =
            json_pack("{s:o, s:o, s:s}", "source",
                      e->source[0] != '\0' ? json_string(e->source) : json_null(), "line",
                      e->line > 0 ? json_integer(e->line) : json_null(), "message", e->message);
        if (json_array_append_new(list, item) != 0) {
            json_decref(list);
            list = NULL;
        }
    }
    return json_pack("{s:s, s:b, s:o, s:I}", "file", file, "valid", valid, "errors", list,
                     "more_errors", (json_int_t)errs->dropped);
}

int mp_ctl_ops_config_check(struct mp_ctl_session *s, int argc, const char *const *argv)
{
    const char *pos[1];
    size_t npos = 0;
    struct mp_config cfg;
    struct mp_config_errors errs;
    int rc = mp_ctl_session_args("config check", argc, argv, NULL, 0, pos, 1, 1, &npos);
    if (rc != MP_CTL_OK)
        return rc;
    bool valid = mp_config_load(pos[0], s->envp, &cfg, &errs) == MP_OK;
    if (valid)
        memset(&errs, 0, sizeof(errs));
    if (s->json) {
        json_t *doc = errors_json(pos[0], valid, &errs);
        rc = doc != NULL ? mp_ctl_session_print_json(doc) : MP_CTL_FAILED;
        if (doc == NULL)
            fprintf(stderr, "memproxy ctl: the result cannot be written as JSON (a file name "
                            "that is not UTF-8?)\n");
        json_decref(doc);
    } else if (valid) {
        printf("configuration ok\n");
    } else {
        mp_config_print_errors(&errs, stderr);
    }
    explicit_bzero(&cfg, sizeof(cfg)); /* it holds the secrets */
    return rc != MP_CTL_OK ? rc : valid ? MP_CTL_OK : MP_CTL_USAGE;
}
