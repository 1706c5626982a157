/* One file into one user (ctl_importfile.h): read whole (bounded), sent
 * as one import, reported. The progress bar is drawn from curl's upload
 * progress, at most every tenth of a second, and wiped when done. */
#include "ctl/ctl_importfile.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl/ctl_http.h"
#include "ctl/ctl_main.h"
#include "ctl/ctl_transfer.h"
#include "import/importitem.h"
#include "import/importzip.h"
#include "status.h"

#define BAR_WIDTH 30
#define FILE_MAX  (1024u * 1024 * 1024) /* a ZIP read to take its conversations.json from */

/* ---- reading ---- */

/* f whole (stdin for NULL or "-"), at most max bytes: MP_CTL_OK with *out
 * (free), else a line on stderr. */
static int read_file(const char *path, size_t max, char **out, size_t *len)
{
    bool in = path == NULL || strcmp(path, "-") == 0;
    FILE *f = in ? stdin : fopen(path, "rb");
    size_t cap = 65536, n = 0;
    char *buf = f != NULL ? malloc(cap + 1) : NULL;
    int rc = MP_CTL_OK;
    if (f == NULL) {
        fprintf(stderr, "memproxy ctl: cannot open %s\n", path);
        return MP_CTL_USAGE;
    }
    while (buf != NULL) {
        n += fread(buf + n, 1, cap - n, f);
        if (ferror(f) || n > max || n < cap)
            break;
        char *more = realloc(buf, cap * 2 + 1);
        if (more == NULL)
            free(buf);
        buf = more;
        cap *= 2;
    }
    if (buf == NULL || ferror(f)) {
        fprintf(stderr, "memproxy ctl: %s\n",
                buf == NULL ? "out of memory" : "cannot read the input");
        rc = MP_CTL_FAILED;
    } else if (n > max) {
        fprintf(stderr,
                "memproxy ctl: the input is larger than %zu MiB, the most one import takes\n",
                max >> 20);
        rc = MP_CTL_USAGE;
    }
    if (!in)
        fclose(f);
    if (rc != MP_CTL_OK) {
        free(buf);
        return rc;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return MP_CTL_OK;
}

/* An export's ZIP over one import's limit: its conversations.json alone. */
static int unzip_if_big(char **body, size_t *len)
{
    char *json = NULL;
    size_t n = 0;
    if (*len <= MP_CTL_IMPORT_MAX || !mp_importzip_is_zip(*body, *len))
        return MP_CTL_OK;
    int rc = mp_importzip_member(*body, *len, "conversations.json", MP_CTL_IMPORT_MAX, &json, &n);
    if (rc != MP_OK) {
        fprintf(stderr, "memproxy ctl: %s\n",
                rc == MP_NOTFOUND  ? "the ZIP holds no conversations.json"
                : rc == MP_ETOOBIG ? "the ZIP's conversations.json is larger than 32 MiB, the "
                                     "most one import takes"
                                   : "the ZIP cannot be read");
        return rc == MP_ENOMEM ? MP_CTL_FAILED : MP_CTL_USAGE;
    }
    free(*body);
    *body = json;
    *len = n;
    return MP_CTL_OK;
}

/* ---- the progress bar ---- */

struct bar {
    double last; /* when it was drawn, s */
    bool drawn;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void on_progress(void *arg, uint64_t sent, uint64_t total)
{
    struct bar *b = arg;
    double t = now_s();
    if (total == 0 || (b->drawn && t - b->last < 0.1 && sent < total))
        return;
    int fill = (int)(BAR_WIDTH * sent / total);
    fprintf(stderr, "\rimporting [%.*s%*s] %3d%% %.1f/%.1f MiB", fill,
            "##############################", BAR_WIDTH - fill, "", (int)(100 * sent / total),
            sent / 1048576.0, total / 1048576.0);
    if (sent == total)
        fputs(" (the store is taking it)", stderr);
    fflush(stderr);
    b->last = t;
    b->drawn = true;
}

static void bar_end(const struct bar *b)
{
    if (b->drawn)
        fprintf(stderr, "\r%*s\r", BAR_WIDTH + 60, "");
}

/* ---- the report ---- */

static json_int_t num(const json_t *o, const char *name)
{
    return json_integer_value(json_object_get(o, name));
}

static const char *plural(json_int_t n)
{
    return n == 1 ? "" : "s";
}

void mp_ctl_importfile_report(const char *subject, const json_t *doc)
{
    json_int_t m = num(doc, "messages"), f = num(doc, "facts"), st = num(doc, "settings");
    json_int_t k = num(doc, "skipped");
    const json_t *why = json_object_get(doc, "skipped_by_reason");
    const json_t *x = json_object_get(doc, "extraction");
    const char *name;
    const json_t *v;
    printf("%s %lld message%s, %lld fact%s and %lld setting%s into %s (%lld line%s skipped)\n",
           json_is_true(json_object_get(doc, "dry_run")) ? "would import" : "imported",
           (long long)m, plural(m), (long long)f, plural(f), (long long)st, plural(st), subject,
           (long long)k, plural(k));
    if (json_object_size(why) > 0) {
        fputs("  skipped:", stdout);
        json_object_foreach((json_t *)why, name, v)
        {
            printf(" %lld %s", (long long)json_integer_value(v), name);
        }
        putchar('\n');
    }
    json_int_t turns = num(x, "turns"), left = num(x, "left_out_turns");
    if (turns > 0 || left > 0)
        printf("  memory model: %lld turn%s, ~%lld tokens in %lld call%s; %lld turn%s left out by "
               "[memory] import_extract_max_tokens\n",
               (long long)turns, plural(turns), (long long)num(x, "tokens"),
               (long long)num(x, "calls"), plural(num(x, "calls")), (long long)left, plural(left));
}

/* ---- the import ---- */

static int send_file(struct mp_ctl_session *s, const struct mp_ctl_user *u,
                     const struct mp_ctl_importfile *f, const char *body, size_t len)
{
    struct mp_ctl_client *c = NULL;
    struct mp_ctl_reply r;
    struct bar bar = {0};
    json_t *doc = NULL;
    char path[MP_CTL_PATH_MAX];
    bool jsonl = f->format == NULL || strcmp(f->format, "jsonl") == 0;
    int rc = mp_ctl_session_client(s, &c);
    if (rc != MP_CTL_OK)
        return rc;
    mp_ctl_users_path(u, "import", path);
    mp_ctl_users_param(path, "format", jsonl ? NULL : f->format);
    mp_ctl_users_param(path, "dry_run", f->dry_run ? "true" : NULL);
    const struct mp_ctl_call call = {.method = "POST",
                                     .path = path,
                                     .body = body,
                                     .len = len,
                                     .ctype = jsonl ? "application/x-ndjson"
                                                    : "application/octet-stream",
                                     .subject = u->subject,
                                     .progress = isatty(STDERR_FILENO) ? on_progress : NULL,
                                     .progress_arg = &bar};
    rc = mp_ctl_client_json(c, &call, &r, &doc);
    bar_end(&bar);
    if (rc != MP_CTL_OK)
        return rc;
    if (s->json)
        rc = mp_ctl_session_print_body(&r);
    else
        mp_ctl_importfile_report(u->subject, doc);
    json_decref(doc);
    mp_ctl_reply_cleanup(&r);
    return rc;
}

static bool known_format(const char *name)
{
    for (int k = 0; k < MP_IMPORT_FORMAT_COUNT; k++)
        if (strcmp(name, mp_importitem_format_name((enum mp_import_format)k)) == 0)
            return true;
    return false;
}

int mp_ctl_importfile_run(struct mp_ctl_session *s, const struct mp_ctl_user *u,
                          const struct mp_ctl_importfile *f)
{
    char *body = NULL;
    size_t len = 0;
    bool zip_ok = f->format != NULL &&
                  (strcmp(f->format, "chatgpt") == 0 || strcmp(f->format, "claude") == 0);
    if (f->format != NULL && !known_format(f->format)) {
        fprintf(stderr, "memproxy ctl users import: --format is jsonl, chatgpt, claude or "
                        "memory-text\n");
        return MP_CTL_USAGE;
    }
    int rc = read_file(f->file, zip_ok ? FILE_MAX : MP_CTL_IMPORT_MAX, &body, &len);
    if (rc == MP_CTL_OK && zip_ok)
        rc = unzip_if_big(&body, &len);
    if (rc == MP_CTL_OK && len > MP_CTL_IMPORT_MAX) {
        fprintf(stderr, "memproxy ctl: the input is larger than 32 MiB, the most one import "
                        "takes\n");
        rc = MP_CTL_USAGE;
    }
    if (rc == MP_CTL_OK)
        rc = send_file(s, u, f, body, len);
    free(body);
    return rc;
}
