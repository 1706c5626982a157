/* One page of a user's export (GET /admin/users/{id}/export,
 * docs/admin-import-export.md, "Export"): JSON lines of the setting, facts,
 * unarchived buffered messages, archived messages, the summary and the
 * history, in that order, at most a limit of fact, message and history
 * lines per page, so that no answer holds a large user whole. It reads the
 * store and builds text (a page whole, or streamed a step at a time); it
 * sends nothing. */
#ifndef MP_PROXY_ADMINEXPORT_H
#define MP_PROXY_ADMINEXPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "memview/mempage.h"
#include "ops/store.h"

/* The cursor of the page after one: MP_MEMPAGE_CURSOR_MAX bytes and the
 * part's letter (mp_adminexport_page). */
#define MP_ADMINEXPORT_CURSOR_MAX (MP_MEMPAGE_CURSOR_MAX + 1)

/* What one page holds (the caller frees text with free()). */
struct mp_adminexport_page {
    char *text; /* the lines, each ending in '\n'; NULL when len is 0 */
    size_t len;
    char next[MP_ADMINEXPORT_CURSOR_MAX]; /* X-Next-Cursor; "" on the last page */
    bool found;                           /* the store holds something of the user */
};

/* The page of user[0..user_len) (a store user key) after cursor[0..
 * cursor_len) ("": the first, which alone has the settings line), with at
 * most limit (>= 1) fact, message and history lines, and archived messages
 * only while the page holds less than 4 MiB. A cursor is one of:
 * "f" + a fact page's cursor (mempage.h), "b" (the buffer's unarchived
 * messages, then the archive), "a" (the archive from its start), the
 * decimal seq an archive page ended with (what the export's cursors were
 * before facts and history were paged; still taken), "s" (the summary,
 * then the history), "h" + the seq a history page ended with ("h" alone:
 * from the oldest). MP_OK with *out (text the caller's); MP_EINVAL for a
 * cursor this code did not write; MP_EIO; MP_ENOMEM. */
int mp_adminexport_page(struct mp_store *store, const char *user, size_t user_len,
                        const char *cursor, size_t cursor_len, unsigned limit,
                        struct mp_adminexport_page *out);

/* The same page counted, not written: out->text stays NULL, out->len is
 * the bytes the page would hold, out->next and out->found as the page's.
 * The streamed answer decides its X-Next-Cursor with it before its first
 * byte. */
int mp_adminexport_plan(struct mp_store *store, const char *user, size_t user_len,
                        const char *cursor, size_t cursor_len, unsigned limit,
                        struct mp_adminexport_page *out);

/* Where a streamed page's bytes go: 0, or -1 to stop (out of memory). */
typedef int (*mp_adminexport_put_fn)(const char *buf, size_t len, void *arg);

/* A page written a step at a time (a few facts, messages or history
 * entries, STREAM_STEP, read from the store by each step), from cursor
 * [0..cursor_len) (copied) up to and including the place the plan's next
 * cursor end (NUL-terminated; "": to the end) names, so that the lines
 * sent are the ones before that cursor even when the store changed since
 * the plan. user is borrowed until mp_adminexport_stream_free(). */
struct mp_adminexport_stream;

/* MP_OK with *out; MP_EINVAL for a cursor this code did not write;
 * MP_ENOMEM. */
int mp_adminexport_stream_open(struct mp_store *store, const char *user, size_t user_len,
                               const char *cursor, size_t cursor_len, const char *end,
                               struct mp_adminexport_stream **out);
/* Writes the next step's lines to put_fn: MP_OK (*done once the page is
 * whole), or MP_EIO / MP_ENOMEM (the page is broken). */
int mp_adminexport_stream_step(struct mp_adminexport_stream *s, mp_adminexport_put_fn put_fn,
                               void *arg, bool *done);
/* NULL: nothing. */
void mp_adminexport_stream_free(struct mp_adminexport_stream *s);

#endif
