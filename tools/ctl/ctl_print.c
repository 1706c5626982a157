/* Human output of the ops command line; see ctl_print.h. */
#include "ctl/ctl_print.h"

#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#include "ctl/ctl_table.h"
#include "ctl/ctl_text.h"
#include "status.h"

#define CELL_MAX    160  /* bytes of a table cell (a message's content, a value) */
#define SUMMARY_MAX 4000 /* bytes of the summary shown */

static const char *str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static uint64_t num(const json_t *o, const char *key)
{
    json_int_t v = json_integer_value(json_object_get(o, key));
    return v > 0 ? (uint64_t)v : 0;
}

static const char *yes_no(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_boolean(v) ? (json_is_true(v) ? "yes" : "no") : "-";
}

static const char *when(const json_t *o, const char *key, char *buf, size_t cap)
{
    return mp_ctl_text_time(str(o, key), buf, cap);
}

/* s (may be NULL: "-") as one safe line. */
static void put(FILE *f, const char *s)
{
    char buf[SUMMARY_MAX + 4];
    if (s == NULL)
        s = "-";
    mp_ctl_text_line(s, strlen(s), SUMMARY_MAX, buf, sizeof(buf));
    fputs(buf, f);
}

static const char *or_dash(const char *s)
{
    return s != NULL ? s : "-";
}

/* ---- status ---- */

#define STATUS_ROWS 8
#define ROW_MAX     200

/* The queue against queue_max, then the memory jobs held for a
 * credential, when any are (they do not count against it). */
static void queue_row(const json_t *doc, char row[ROW_MAX])
{
    const json_t *q = json_object_get(doc, "queue");
    const json_t *held = json_object_get(doc, "held_jobs");
    char a[32];
    int n = snprintf(row, ROW_MAX, "%" PRIu64 " of %" PRIu64, num(q, "depth"), num(q, "max"));
    if (num(held, "count") > 0 && n > 0 && n < ROW_MAX)
        snprintf(row + n, ROW_MAX - (size_t)n, ", %" PRIu64 " held for a credential (oldest %s)",
                 num(held, "count"),
                 mp_ctl_text_duration(num(held, "oldest_seconds"), a, sizeof(a)));
    n = (int)strlen(row);
    if (num(q, "failed_jobs") > 0 && n < ROW_MAX) /* memory jobs waiting for POST /admin/extract */
        snprintf(row + n, ROW_MAX - (size_t)n, ", %" PRIu64 " failed jobs to run again",
                 num(q, "failed_jobs"));
}

/* Whether the embeddings backfill is on: its row is shown only then. */
static bool embeddings_on(const json_t *doc)
{
    return json_is_true(json_object_get(json_object_get(doc, "embeddings"), "enabled"));
}

/* The embeddings backfill: what it has left and what it stored. */
static void embeddings_row(const json_t *doc, char row[ROW_MAX])
{
    const json_t *e = json_object_get(doc, "embeddings");
    const json_t *pending = json_object_get(e, "pending");
    char a[32];
    if (json_is_integer(pending))
        snprintf(row, ROW_MAX, "%" PRIu64 " items pending, %" PRIu64 " vectors (%s)",
                 num(e, "pending"), num(e, "vectors"),
                 mp_ctl_text_bytes(num(e, "vector_bytes"), a, sizeof(a)));
    else
        snprintf(row, ROW_MAX, "not counted yet, %" PRIu64 " vectors (%s)", num(e, "vectors"),
                 mp_ctl_text_bytes(num(e, "vector_bytes"), a, sizeof(a)));
}

static void status_rows(const json_t *doc, char rows[STATUS_ROWS][ROW_MAX])
{
    const json_t *st = json_object_get(doc, "store");
    const char *why = str(doc, "not_ready");
    char a[32], b[32], c[32];
    snprintf(rows[0], ROW_MAX, "%s%s%s%s",
             json_is_true(json_object_get(doc, "ready")) ? "yes" : "no", why != NULL ? " (" : "",
             why != NULL ? why : "", why != NULL ? ")" : "");
    snprintf(rows[1], ROW_MAX, "%s", str(doc, "degraded") != NULL ? str(doc, "degraded") : "no");
    snprintf(rows[2], ROW_MAX, "%s (retrieval %s)", or_dash(str(doc, "mode")),
             or_dash(str(doc, "retrieval")));
    snprintf(rows[3], ROW_MAX, "%s, since %s UTC",
             mp_ctl_text_duration(num(doc, "uptime_seconds"), a, sizeof(a)),
             when(doc, "started_at", b, sizeof(b)));
    snprintf(rows[4], ROW_MAX, "%" PRIu64, num(doc, "workers"));
    queue_row(doc, rows[5]);
    embeddings_row(doc, rows[7]);
    if (!json_is_object(st)) {
        snprintf(rows[6], ROW_MAX, "unknown (the store does not answer)");
        return;
    }
    snprintf(rows[6], ROW_MAX, "%s, %s in use, map %s (up to %s), readers %" PRIu64 " of %" PRIu64,
             or_dash(str(st, "backend")), mp_ctl_text_bytes(num(st, "used_bytes"), a, sizeof(a)),
             mp_ctl_text_bytes(num(st, "map_bytes"), b, sizeof(b)),
             mp_ctl_text_bytes(num(st, "map_max_bytes"), c, sizeof(c)), num(st, "readers"),
             num(st, "readers_max"));
}

int mp_ctl_print_status(const json_t *doc, FILE *f)
{
    static const char *const names[STATUS_ROWS] = {"ready",   "degraded", "mode",  "uptime",
                                                   "workers", "queue",    "store", "embeddings"};
    char rows[STATUS_ROWS][ROW_MAX];
    struct mp_ctl_table *t = mp_ctl_table_new(2, ROW_MAX);
    int rc = t != NULL ? MP_OK : MP_ENOMEM;
    status_rows(doc, rows);
    size_t nrows = embeddings_on(doc) ? STATUS_ROWS : STATUS_ROWS - 1;
    for (size_t i = 0; rc == MP_OK && i < nrows; i++) {
        const char *cells[2] = {names[i], rows[i]};
        rc = mp_ctl_table_add(t, cells);
    }
    if (rc == MP_OK) {
        fputs("memproxy ", f);
        put(f, str(doc, "version"));
        fputs(" (commit ", f);
        put(f, str(doc, "commit"));
        fputs(")\n", f);
        mp_ctl_table_print(t, NULL, f);
    }
    mp_ctl_table_free(t);
    return rc;
}

/* ---- users ---- */

/* A listing's end: its n rows (when rc is MP_OK and there are any), then
 * "N nouns"; frees t. Returns rc. */
static int table_end(struct mp_ctl_table *t, int rc, size_t n, const char *noun, FILE *f)
{
    if (rc == MP_OK) {
        if (n > 0)
            mp_ctl_table_print(t, NULL, f);
        fprintf(f, "%zu %s%s\n", n, noun, n == 1 ? "" : "s");
    }
    mp_ctl_table_free(t);
    return rc;
}

int mp_ctl_print_users(const json_t *users, FILE *f)
{
    static const char *const head[] = {"USER",     "TENANT",  "FACTS",        "MESSAGES",
                                       "ARCHIVED", "SUMMARY", "UPDATED (UTC)"};
    struct mp_ctl_table *t = mp_ctl_table_new(7, CELL_MAX);
    int rc = t != NULL ? mp_ctl_table_add(t, head) : MP_ENOMEM;
    size_t i;
    const json_t *u;
    json_array_foreach(users, i, u)
    {
        char facts[24], msgs[24], arch[24], at[32];
        snprintf(facts, sizeof(facts), "%" PRIu64, num(u, "facts"));
        snprintf(msgs, sizeof(msgs), "%" PRIu64, num(u, "messages"));
        snprintf(arch, sizeof(arch), "%" PRIu64, num(u, "archived"));
        const char *cells[7] = {str(u, "user"),
                                str(u, "tenant"),
                                facts,
                                msgs,
                                arch,
                                yes_no(u, "summary"),
                                when(u, "updated_at", at, sizeof(at))};
        if (rc == MP_OK)
            rc = mp_ctl_table_add(t, cells);
    }
    return table_end(t, rc, json_array_size(users), "user", f);
}

/* ---- memory jobs ---- */

/* Why a job waits or failed: its held or failed reason, or NULL. */
static const char *job_why(const json_t *job)
{
    const char *why = str(json_object_get(job, "failed"), "reason");
    return why != NULL ? why : str(json_object_get(job, "held"), "reason");
}

int mp_ctl_print_jobs(const json_t *jobs, FILE *f)
{
    static const char *const head[] = {"ID",  "USER",     "TENANT",        "KIND", "STATE",
                                       "WHY", "ATTEMPTS", "CREATED (UTC)", "TURNS"};
    struct mp_ctl_table *t = mp_ctl_table_new(9, CELL_MAX);
    int rc = t != NULL ? mp_ctl_table_add(t, head) : MP_ENOMEM;
    size_t i;
    const json_t *j;
    json_array_foreach(jobs, i, j)
    {
        char id[24], attempts[24], turns[24], at[32];
        snprintf(id, sizeof(id), "%" PRIu64, num(j, "id"));
        snprintf(attempts, sizeof(attempts), "%" PRIu64, num(j, "attempts"));
        snprintf(turns, sizeof(turns), "%" PRIu64, num(j, "turns"));
        const char *cells[9] = {id,
                                str(j, "user"),
                                str(j, "tenant"),
                                str(j, "kind"),
                                str(j, "state"),
                                job_why(j),
                                attempts,
                                when(j, "created_at", at, sizeof(at)),
                                turns};
        if (rc == MP_OK)
            rc = mp_ctl_table_add(t, cells);
    }
    return table_end(t, rc, json_array_size(jobs), "job", f);
}

/* "job 12 (2 turns)" for the job object of an act's answer. */
static void job_name(const json_t *job, FILE *f)
{
    uint64_t turns = num(job, "turns");
    fprintf(f, "job %" PRIu64 " (%" PRIu64 " turn%s)", num(job, "id"), turns,
            turns == 1 ? "" : "s");
}

int mp_ctl_print_job_retried(const json_t *doc, FILE *f)
{
    const json_t *job = json_object_get(doc, "job");
    job_name(job, f);
    fputs(" runs again: ", f);
    put(f, str(job, "state"));
    fputc('\n', f);
    return MP_OK;
}

int mp_ctl_print_job_dropped(const json_t *doc, FILE *f)
{
    const json_t *job = json_object_get(doc, "dropped");
    fputs("dropped ", f);
    job_name(job, f);
    fputs(", which was ", f);
    put(f, str(job, "state"));
    fputs(num(job, "turns") > 1 ? ": its turns stay recorded and never reach the memory model\n"
                                : ": its turn stays recorded and never reaches the memory model\n",
          f);
    return MP_OK;
}

/* ---- a user's memory ---- */

static int fact_rows(struct mp_ctl_table *t, const json_t *facts)
{
    static const char *const head[] = {"KEY",   "VALUE",  "CONFIDENCE",     "TRUST", "FROM",
                                       "MODEL", "SOURCE", "OBSERVED (UTC)", "PII"};
    int rc = mp_ctl_table_add(t, head);
    size_t i;
    const json_t *e;
    json_array_foreach(facts, i, e)
    {
        char conf[16] = "-", at[32];
        const json_t *c = json_object_get(e, "confidence");
        if (json_is_number(c))
            snprintf(conf, sizeof(conf), "%.2f", json_number_value(c));
        const char *cells[9] = {str(e, "key"),
                                str(e, "value"),
                                conf,
                                str(e, "trust"),
                                str(e, "source_role"),
                                str(e, "model"),
                                str(e, "source"),
                                when(e, "observed_at", at, sizeof(at)),
                                yes_no(e, "pii")};
        if (rc == MP_OK)
            rc = mp_ctl_table_add(t, cells);
    }
    return rc;
}

static int message_rows(struct mp_ctl_table *t, const json_t *msgs)
{
    static const char *const head[] = {"TIME (UTC)", "ROLE", "SOURCE", "CONTENT"};
    int rc = mp_ctl_table_add(t, head);
    size_t i;
    const json_t *m;
    json_array_foreach(msgs, i, m)
    {
        char at[32];
        const char *cells[4] = {when(m, "at", at, sizeof(at)), str(m, "role"), str(m, "request_id"),
                                str(m, "content")};
        if (rc == MP_OK)
            rc = mp_ctl_table_add(t, cells);
    }
    return rc;
}

/* A titled section of rows, or "(none)" when the array is empty. */
static int section(FILE *f, const char *title, const json_t *items, size_t ncols,
                   int (*rows)(struct mp_ctl_table *, const json_t *))
{
    size_t n = json_array_size(items);
    fprintf(f, "\n%s (%zu)\n", title, n);
    if (n == 0) {
        fputs("  (none)\n", f);
        return MP_OK;
    }
    struct mp_ctl_table *t = mp_ctl_table_new(ncols, CELL_MAX);
    int rc = t != NULL ? rows(t, items) : MP_ENOMEM;
    if (rc == MP_OK)
        mp_ctl_table_print(t, "  ", f);
    mp_ctl_table_free(t);
    return rc;
}

static void summary(FILE *f, const json_t *s)
{
    char at[32];
    fputs("\nSummary", f);
    if (str(s, "text") == NULL) {
        fputs("\n  (none)\n", f);
        return;
    }
    fprintf(f, " (updated %s UTC, model ", when(s, "updated_at", at, sizeof(at)));
    put(f, str(s, "model"));
    fputs(", source ", f);
    put(f, str(s, "request_id"));
    fputs(")\n  ", f);
    put(f, str(s, "text"));
    fputc('\n', f);
}

int mp_ctl_print_memory(const json_t *doc, FILE *f)
{
    fputs("user ", f);
    put(f, str(doc, "user"));
    if (str(doc, "tenant") != NULL) {
        fputs(", tenant ", f);
        put(f, str(doc, "tenant"));
    }
    fputc('\n', f);
    int rc = section(f, "Facts", json_object_get(doc, "entities"), 9, fact_rows);
    if (rc != MP_OK)
        return rc;
    summary(f, json_object_get(doc, "summary"));
    rc = section(f, "Recent messages", json_object_get(doc, "buffer"), 4, message_rows);
    if (rc == MP_OK)
        rc = section(f, "Archive, oldest first", json_object_get(doc, "archive"), 4, message_rows);
    if (rc == MP_OK && str(doc, "archive_next_cursor") != NULL)
        fputs("  (more archived messages follow: memproxy ctl users export shows them all)\n", f);
    return rc;
}

/* ---- a search ---- */

static int result_rows(struct mp_ctl_table *t, const json_t *results)
{
    static const char *const head[] = {"SCORE", "ID", "KIND", "TIME (UTC)", "TEXT"};
    int rc = mp_ctl_table_add(t, head);
    size_t i;
    const json_t *it;
    json_array_foreach(results, i, it)
    {
        char score[16] = "-", at[32];
        const json_t *sc = json_object_get(it, "score");
        if (json_is_number(sc))
            snprintf(score, sizeof(score), "%.3f", json_number_value(sc));
        const char *cells[5] = {score, str(it, "id"), str(it, "kind"),
                                when(it, "time", at, sizeof(at)), str(it, "text")};
        if (rc == MP_OK)
            rc = mp_ctl_table_add(t, cells);
    }
    return rc;
}

int mp_ctl_print_search(const json_t *doc, FILE *f)
{
    int rc = section(f, "Results, best first", json_object_get(doc, "results"), 5, result_rows);
    if (rc == MP_OK && str(doc, "next_cursor") != NULL)
        fputs("  (more results follow: --limit shows more)\n", f);
    return rc;
}

/* ---- an explanation ---- */

static int explain_rows(struct mp_ctl_table *t, const json_t *items)
{
    static const char *const head[] = {"TAKEN", "WHY", "ID", "SCORE", "TERMS", "TEXT"};
    int rc = mp_ctl_table_add(t, head);
    size_t i;
    const json_t *it;
    json_array_foreach(items, i, it)
    {
        char score[16] = "-", terms[CELL_MAX] = "";
        const json_t *sc = json_object_get(it, "score");
        if (json_is_number(sc))
            snprintf(score, sizeof(score), "%.3f", json_number_value(sc));
        size_t k;
        const json_t *term;
        json_array_foreach(json_object_get(it, "terms"), k, term)
        {
            size_t n = strlen(terms);
            snprintf(terms + n, sizeof(terms) - n, "%s%s", n > 0 ? "," : "",
                     json_string_value(term) != NULL ? json_string_value(term) : "");
        }
        const char *cells[6] = {json_is_true(json_object_get(it, "taken")) ? "yes" : "no",
                                str(it, "why"),
                                str(it, "id"),
                                score,
                                terms[0] ? terms : "-",
                                str(it, "text")};
        if (rc == MP_OK)
            rc = mp_ctl_table_add(t, cells);
    }
    return rc;
}

int mp_ctl_print_explain(const json_t *doc, FILE *f)
{
    static const char *const names[] = {"profile", "past", "summary", "buffer"};
    static const char *const titles[] = {"Profile", "Past conversation", "Summary", "Buffer"};
    const json_t *sections = json_object_get(doc, "sections");
    fputs("question: ", f);
    put(f, str(doc, "question") != NULL ? str(doc, "question") : "(none read)");
    fprintf(f, "\nretrieval %s, mode %s, the user's setting %s\n", or_dash(str(doc, "retrieval")),
            or_dash(str(doc, "mode")), or_dash(str(doc, "user_mode")));
    if (json_is_true(json_object_get(doc, "injected")))
        fprintf(f, "injected: about %" PRIu64 " of %" PRIu64 " tokens\n", num(doc, "tokens"),
                num(doc, "budget_tokens"));
    else
        fprintf(f, "injected: nothing (%s)\n", or_dash(str(doc, "why")));
    const json_t *conv = json_object_get(doc, "conversation");
    const json_t *head = json_object_get(sections, "head");
    if (conv != NULL)
        fprintf(f, "conversation: %s, head %s (%" PRIu64 " tokens)\n", or_dash(str(conv, "rule")),
                !json_is_true(json_object_get(head, "applies")) ? "empty"
                : json_is_true(json_object_get(conv, "reused")) ? "kept, sent again"
                                                                : "new",
                num(head, "tokens"));
    int rc = MP_OK;
    for (size_t i = 0; rc == MP_OK && i < sizeof(names) / sizeof(names[0]); i++) {
        const json_t *sec = json_object_get(sections, names[i]);
        rc = section(f, titles[i], json_object_get(sec, "items"), 6, explain_rows);
        if (rc == MP_OK && !json_is_true(json_object_get(sec, "applies")))
            fprintf(f, "  (not injected: %s)\n", or_dash(str(sec, "why")));
    }
    return rc;
}
