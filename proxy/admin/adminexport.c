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
};

static int put(const char *buf, size_t size, void *arg)
{
    struct run *r = arg;
    struct mp_adminexport_page *o = r->out;
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

int mp_adminexport_page(struct mp_store *store, const char *user, size_t user_len,
                        const char *cursor, size_t cursor_len, unsigned limit,
                        struct mp_adminexport_page *out)
{
    static int (*const parts[])(struct run *) = {facts_part, buffer_part, archive_part,
                                                 summary_part, history_part};
    struct run r = {.store = store, .user = user, .user_len = user_len, .budget = limit};
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
