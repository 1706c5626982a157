/* A page of the export (adminexport.h). The parts follow one another as
 * they did when the export was one answer, so the pages concatenated are
 * that answer; a page stops after limit counted lines, and its cursor
 * names the part and the place in it where the next page goes on. The
 * facts and the history are read a page at a time (mempage.h), and a page
 * is written whole before it is sent: at most limit lines. */
#include "admin/adminexport.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memview/archivepage.h"
#include "memview/memjson.h"
#include "status.h"

#define JSON_FLAGS   (JSON_COMPACT | JSON_REAL_PRECISION(15))
#define ARCHIVE_STEP 100               /* archived messages read at a time */
#define PAGE_BYTES   (4 * 1024 * 1024) /* a page of long messages ends past it */

enum part { PART_FACTS, PART_BUFFER, PART_ARCHIVE, PART_SUMMARY, PART_HISTORY, PART_END };

struct run {
    struct mp_store *store;
    const char *user;
    size_t user_len;
    enum part part;
    const char *after; /* the cursor's place inside part (borrowed) */
    size_t after_len;
    size_t budget;                   /* counted lines left on the page */
    char seq[MP_ARCHIVE_CURSOR_MAX]; /* the archive's place while a page reads on */
    struct mp_usermem *head;
    struct mp_adminexport_page *out;
    size_t cap;
    bool count_only;            /* the plan: bytes counted, no text kept */
    mp_adminexport_put_fn sink; /* where lines go (NULL: out->text) */
    void *sink_arg;
};

static int put(const char *buf, size_t size, void *arg)
{
    struct run *r = arg;
    struct mp_adminexport_page *o = r->out;
    if (r->sink != NULL)
        return r->sink(buf, size, r->sink_arg);
    if (r->count_only) {
        o->len += size;
        return 0;
    }
    if (o->len + size + 1 > r->cap) {
        size_t cap = r->cap > 0 ? r->cap : 4096;
        while (cap < o->len + size + 1)
            cap *= 2;
        char *d = realloc(o->text, cap);
        if (d == NULL)
            return -1;
        o->text = d;
        r->cap = cap;
    }
    memcpy(o->text + o->len, buf, size);
    o->len += size;
    return 0;
}

/* Appends {"type": type, "user", "tenant", ...item's members} and a line
 * feed (item stolen). MP_OK or MP_ENOMEM. */
static int line(struct run *r, const char *type, json_t *item)
{
    json_t *o = item != NULL ? json_object() : NULL;
    int rc = o != NULL && json_object_set_new(o, "type", json_string(type)) == 0 &&
                     mp_memjson_set_user(o, r->user, r->user_len) == 0 &&
                     json_object_update(o, item) == 0
                 ? 0
                 : -1;
    if (rc == 0)
        rc = json_dump_callback(o, put, r, JSON_FLAGS);
    if (rc == 0)
        rc = put("\n", 1, r);
    json_decref(o);
    json_decref(item);
    return rc == 0 ? MP_OK : MP_ENOMEM;
}

/* The part and place a cursor names (adminexport.h), checked whole. */
static int parse_cursor(struct run *r, const char *c, size_t n)
{
    unsigned char key[MP_ENTITY_KEY_MAX];
    size_t key_len;
    uint64_t seq;
    r->part = PART_FACTS;
    r->after = n > 0 ? c + 1 : c;
    r->after_len = n > 0 ? n - 1 : 0;
    if (n == 0)
        return MP_OK;
    if (c[0] == 'f')
        return r->after_len > 0 && mp_mempage_decode(r->after, r->after_len, key, sizeof(key),
                                                     &key_len) == MP_OK
                   ? MP_OK
                   : MP_EINVAL;
    if (c[0] == 'h') {
        r->part = PART_HISTORY;
        return mp_mempage_seq(r->after, r->after_len, &seq);
    }
    r->part = c[0] == 'b' ? PART_BUFFER : c[0] == 'a' ? PART_ARCHIVE : PART_SUMMARY;
    if ((c[0] == 'b' || c[0] == 'a' || c[0] == 's') && n == 1)
        return MP_OK;
    r->part = PART_ARCHIVE;
    r->after = c;
    r->after_len = n;
    return c[0] >= '1' && c[0] <= '9' ? mp_mempage_seq(c, n, &seq) : MP_EINVAL;
}

/* The user's own setting, when it is not auto: the first page's. */
static int settings_line(struct run *r)
{
    enum mp_user_mode mode;
    int64_t at;
    if (mp_store_user_mode(r->store, r->user, r->user_len, &mode, &at) != MP_OK)
        return MP_EIO;
    if (mode == MP_USER_MODE_AUTO)
        return MP_OK;
    r->out->found = true;
    json_t *o = json_object();
    if (o == NULL || json_object_set_new(o, "mode", json_string(mp_usermode_name(mode))) != 0 ||
        json_object_set_new(o, "updated_at", mp_memjson_time(at)) != 0) {
        json_decref(o);
        return MP_ENOMEM;
    }
    return line(r, "settings", o);
}

/* The head (summary and buffer) once: MP_OK (NULL when nothing is stored)
 * or an error. */
static int load_head(struct run *r)
{
    if (r->head != NULL)
        return MP_OK;
    int rc = mp_store_get_head(r->store, r->user, r->user_len, &r->head);
    r->out->found |= rc == MP_OK;
    return rc == MP_NOTFOUND ? MP_OK : rc;
}

static int facts_part(struct run *r)
{
    struct mp_factpage pg;
    int rc = mp_mempage_facts(r->store, r->user, r->user_len, r->after, r->after_len,
                              (unsigned)r->budget, &pg);
    r->out->found |= rc == MP_OK;
    for (size_t i = 0; rc == MP_OK && i < pg.n; i++)
        rc = line(r, "fact", mp_memjson_entity(&pg.facts[i], MP_MEMJSON_ADMIN));
    r->budget -= pg.n;
    if (rc == MP_OK && pg.next[0] != '\0')
        snprintf(r->out->next, sizeof(r->out->next), "f%s", pg.next);
    mp_mempage_facts_cleanup(&pg);
    r->part = PART_BUFFER;
    return rc == MP_NOTFOUND ? MP_OK : rc;
}

/* A buffered message the archive does not hold (kept while [memory]
 * archive was off). */
static bool unarchived(struct mp_store_view *v, const struct mp_mem_message *m)
{
    struct mp_mem_message copy;
    int rc = v != NULL ? mp_store_view_message(v, m->seq, &copy) : MP_NOTFOUND;
    if (rc == MP_OK)
        free(copy.content);
    return rc == MP_NOTFOUND;
}

/* The buffer's unarchived messages, all of them (the buffer is short). */
static int buffer_part(struct run *r)
{
    struct mp_store_view *v = NULL;
    int rc = load_head(r);
    const struct mp_usermem *h = r->head;
    if (rc == MP_OK && h != NULL && mp_store_view_open(r->store, r->user, r->user_len, &v) != MP_OK)
        v = NULL;
    for (size_t i = 0; rc == MP_OK && h != NULL && i < h->nmessages; i++) {
        if (!unarchived(v, &h->messages[i]))
            continue;
        rc = line(r, "message", mp_memjson_message(&h->messages[i], MP_MEMJSON_ADMIN));
        r->budget -= r->budget > 0 ? 1 : 0;
    }
    mp_store_view_close(v);
    r->part = PART_ARCHIVE;
    r->after_len = 0;
    return rc;
}

/* The archive ARCHIVE_STEP messages at a time, while the page has room
 * (lines and bytes: a message may hold 16 KiB). */
static int archive_part(struct run *r)
{
    json_t *page = NULL, *m;
    char next[MP_ARCHIVE_CURSOR_MAX];
    size_t i;
    unsigned want = r->budget < ARCHIVE_STEP ? (unsigned)r->budget : ARCHIVE_STEP;
    int rc = mp_archive_page(r->store, r->user, r->user_len, r->after, r->after_len, want,
                             MP_MEMJSON_ADMIN, &page, next);
    r->out->found |= rc == MP_OK;
    if (rc == MP_NOTFOUND)
        rc = MP_OK;
    json_array_foreach(page, i, m)
    {
        if (rc == MP_OK)
            rc = line(r, "message", json_incref(m));
    }
    r->budget -= json_array_size(page) < r->budget ? json_array_size(page) : r->budget;
    json_decref(page);
    if (rc != MP_OK || next[0] == '\0') {
        r->part = PART_SUMMARY;
        return rc;
    }
    if (r->budget == 0 || r->out->len >= PAGE_BYTES) {
        snprintf(r->out->next, sizeof(r->out->next), "%s", next);
        return MP_OK;
    }
    memcpy(r->seq, next, sizeof(r->seq)); /* the page reads on */
    r->after = r->seq;
    r->after_len = strlen(r->seq);
    return MP_OK;
}

static int summary_part(struct run *r)
{
    int rc = load_head(r);
    const struct mp_usermem *h = r->head;
    if (rc == MP_OK && h != NULL && h->summary.text != NULL)
        rc = line(r, "summary", mp_memjson_summary(&h->summary, MP_MEMJSON_ADMIN));
    r->part = PART_HISTORY;
    r->after_len = 0;
    return rc;
}

static int history_part(struct run *r)
{
    struct mp_histpage pg;
    int rc = mp_mempage_history(r->store, r->user, r->user_len, r->after, r->after_len,
                                (unsigned)r->budget, &pg);
    r->out->found |= rc == MP_OK;
    for (size_t i = 0; rc == MP_OK && i < pg.h->nitems; i++)
        rc = line(r, "history", mp_memjson_history_item(&pg.h->items[i]));
    if (rc == MP_OK && pg.next[0] != '\0')
        snprintf(r->out->next, sizeof(r->out->next), "h%s", pg.next);
    mp_mempage_history_cleanup(&pg);
    r->part = PART_END;
    return rc == MP_NOTFOUND ? MP_OK : rc;
}

/* The cursor that starts part (after a page that filled up at its end). */
static void part_start(enum part p, char *next, size_t cap)
{
    static const char *const codes[] = {"", "b", "a", "s", "h", ""};
    snprintf(next, cap, "%s", codes[p]);
}

static int page(struct mp_store *store, const char *user, size_t user_len, const char *cursor,
                size_t cursor_len, unsigned limit, bool count_only, struct mp_adminexport_page *out)
{
    static int (*const parts[])(struct run *) = {facts_part, buffer_part, archive_part,
                                                 summary_part, history_part};
    struct run r = {.store = store,
                    .user = user,
                    .user_len = user_len,
                    .budget = limit,
                    .count_only = count_only};
    memset(out, 0, sizeof(*out));
    r.out = out;
    if (parse_cursor(&r, cursor, cursor_len) != MP_OK)
        return MP_EINVAL;
    int rc = cursor_len == 0 ? settings_line(&r) : MP_OK;
    while (rc == MP_OK && r.part != PART_END && out->next[0] == '\0') {
        if (r.budget == 0 && r.part != PART_SUMMARY) {
            part_start(r.part, out->next, sizeof(out->next));
            break;
        }
        rc = parts[r.part](&r);
    }
    mp_usermem_free(r.head);
    if (rc != MP_OK) {
        free(out->text);
        memset(out, 0, sizeof(*out));
    }
    return rc;
}

int mp_adminexport_page(struct mp_store *store, const char *user, size_t user_len,
                        const char *cursor, size_t cursor_len, unsigned limit,
                        struct mp_adminexport_page *out)
{
    return page(store, user, user_len, cursor, cursor_len, limit, false, out);
}

int mp_adminexport_plan(struct mp_store *store, const char *user, size_t user_len,
                        const char *cursor, size_t cursor_len, unsigned limit,
                        struct mp_adminexport_page *out)
{
    return page(store, user, user_len, cursor, cursor_len, limit, true, out);
}

/* ---- the streamed page ---- */

#define STREAM_STEP 25 /* facts, messages or history entries a step reads */

struct mp_adminexport_stream {
    struct run r;
    struct mp_adminexport_page out;        /* found only: the text goes to the sink */
    bool settings;                         /* the first page: its settings line is due */
    enum part end_part;                    /* the part the plan's next cursor names */
    bool end_at_start;                     /* ... at its start (nothing of it is on the page) */
    char end_key[MP_ENTITY_KEY_MAX + 1];   /* PART_FACTS: the page's last key */
    uint64_t end_seq;                      /* PART_ARCHIVE, PART_HISTORY: its last seq */
    char place[MP_ADMINEXPORT_CURSOR_MAX]; /* the place inside the part (r.after) */
};

/* The place the plan's next cursor end[0..n) names: where the page stops. */
static int parse_end(struct mp_adminexport_stream *s, const char *end, size_t n)
{
    struct run e = {0};
    unsigned char key[MP_ENTITY_KEY_MAX];
    size_t key_len = 0;
    s->end_part = PART_END;
    if (n == 0)
        return MP_OK;
    if (parse_cursor(&e, end, n) != MP_OK)
        return MP_EINVAL;
    s->end_part = e.part;
    s->end_at_start = e.after_len == 0; /* "b", "a", "s", "h" */
    if (s->end_at_start)
        return MP_OK;
    if (e.part == PART_FACTS) {
        if (mp_mempage_decode(e.after, e.after_len, key, sizeof(key), &key_len) != MP_OK)
            return MP_EINVAL;
        memcpy(s->end_key, key, key_len);
        s->end_key[key_len] = '\0';
        return MP_OK;
    }
    return mp_mempage_seq(e.after, e.after_len, &s->end_seq);
}

int mp_adminexport_stream_open(struct mp_store *store, const char *user, size_t user_len,
                               const char *cursor, size_t cursor_len, const char *end,
                               struct mp_adminexport_stream **out)
{
    struct mp_adminexport_stream *s = calloc(1, sizeof(*s));
    *out = NULL;
    if (s == NULL)
        return MP_ENOMEM;
    s->r.store = store;
    s->r.user = user;
    s->r.user_len = user_len;
    s->r.budget = SIZE_MAX;
    s->r.out = &s->out;
    s->settings = cursor_len == 0;
    if (cursor_len >= sizeof(s->place) || parse_cursor(&s->r, cursor, cursor_len) != MP_OK ||
        parse_end(s, end, strlen(end)) != MP_OK) {
        free(s);
        return MP_EINVAL;
    }
    memcpy(s->place, s->r.after, s->r.after_len); /* the caller's cursor is not kept */
    s->place[s->r.after_len] = '\0';
    s->r.after = s->place;
    *out = s;
    return MP_OK;
}

/* Moves the place on to next ("": the part is done, then part follows). */
static void go_on(struct mp_adminexport_stream *s, const char *next, enum part then)
{
    if (next[0] == '\0') {
        s->r.part = then;
        s->r.after_len = 0;
        return;
    }
    snprintf(s->place, sizeof(s->place), "%s", next);
    s->r.after = s->place;
    s->r.after_len = strlen(s->place);
}

static int stream_facts(struct mp_adminexport_stream *s)
{
    struct mp_factpage pg;
    bool last = s->end_part == PART_FACTS;
    int rc = mp_mempage_facts(s->r.store, s->r.user, s->r.user_len, s->r.after, s->r.after_len,
                              STREAM_STEP, &pg);
    for (size_t i = 0; rc == MP_OK && i < pg.n; i++) {
        int cmp = last ? strcmp(pg.facts[i].key, s->end_key) : -1;
        if (cmp > 0) {
            s->r.part = PART_END; /* the page's last fact went meanwhile */
            break;
        }
        rc = line(&s->r, "fact", mp_memjson_entity(&pg.facts[i], MP_MEMJSON_ADMIN));
        if (cmp == 0)
            s->r.part = PART_END;
    }
    if (rc == MP_OK && s->r.part == PART_FACTS)
        go_on(s, pg.next, last ? PART_END : PART_BUFFER);
    mp_mempage_facts_cleanup(&pg);
    if (rc == MP_NOTFOUND)
        s->r.part = last ? PART_END : PART_BUFFER;
    return rc == MP_NOTFOUND ? MP_OK : rc;
}

/* A step of the archive or of the history: items (a JSON array, stolen)
 * with their "seq", each a line of type, up to the page's end. */
static int stream_seqs(struct mp_adminexport_stream *s, const char *type, json_t *items,
                       const char *next, enum part then)
{
    bool last = s->end_part == s->r.part;
    int rc = MP_OK;
    size_t i;
    json_t *m;
    json_array_foreach(items, i, m)
    {
        uint64_t seq = (uint64_t)json_integer_value(json_object_get(m, "seq"));
        if (rc != MP_OK || (last && seq > s->end_seq)) {
            s->r.part = PART_END;
            break;
        }
        rc = line(&s->r, type, json_incref(m));
        if (last && seq == s->end_seq)
            s->r.part = PART_END;
    }
    json_decref(items);
    if (rc == MP_OK && s->r.part != PART_END)
        go_on(s, next, last ? PART_END : then);
    return rc;
}

static int stream_archive(struct mp_adminexport_stream *s)
{
    json_t *items = NULL;
    char next[MP_ARCHIVE_CURSOR_MAX];
    int rc = mp_archive_page(s->r.store, s->r.user, s->r.user_len, s->r.after, s->r.after_len,
                             STREAM_STEP, MP_MEMJSON_ADMIN, &items, next);
    if (rc != MP_OK && rc != MP_NOTFOUND)
        return rc;
    return stream_seqs(s, "message", items, rc == MP_OK ? next : "", PART_SUMMARY);
}

static int stream_history(struct mp_adminexport_stream *s)
{
    struct mp_histpage pg;
    int rc = mp_mempage_history(s->r.store, s->r.user, s->r.user_len, s->r.after, s->r.after_len,
                                STREAM_STEP, &pg);
    json_t *items = rc == MP_OK ? json_array() : NULL;
    for (size_t i = 0; items != NULL && i < pg.h->nitems; i++)
        if (json_array_append_new(items, mp_memjson_history_item(&pg.h->items[i])) != 0)
            rc = MP_ENOMEM;
    if (rc == MP_OK)
        rc = items != NULL ? stream_seqs(s, "history", json_incref(items), pg.next, PART_END)
                           : MP_ENOMEM;
    json_decref(items);
    mp_mempage_history_cleanup(&pg);
    if (rc == MP_NOTFOUND)
        s->r.part = PART_END;
    return rc == MP_NOTFOUND ? MP_OK : rc;
}

int mp_adminexport_stream_step(struct mp_adminexport_stream *s, mp_adminexport_put_fn put_fn,
                               void *arg, bool *done)
{
    static int (*const parts[])(struct mp_adminexport_stream *) = {
        stream_facts, NULL, stream_archive, NULL, stream_history};
    int rc = MP_OK;
    s->r.sink = put_fn;
    s->r.sink_arg = arg;
    if (s->settings) {
        s->settings = false;
        rc = settings_line(&s->r);
    } else if (s->r.part > s->end_part || (s->r.part == s->end_part && s->end_at_start)) {
        s->r.part = PART_END;
    } else if (s->r.part == PART_BUFFER) {
        rc = buffer_part(&s->r);
    } else if (s->r.part == PART_SUMMARY) {
        rc = summary_part(&s->r);
    } else if (s->r.part != PART_END) {
        rc = parts[s->r.part](s);
    }
    *done = rc == MP_OK && s->r.part == PART_END;
    return rc;
}

void mp_adminexport_stream_free(struct mp_adminexport_stream *s)
{
    if (s == NULL)
        return;
    mp_usermem_free(s->r.head);
    free(s);
}
