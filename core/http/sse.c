/* Server-sent events framing: where each event ends, whether it is the
 * "[DONE]" marker, and its joined data. No copies of the stream, no I/O.
 *
 * An event is every byte up to and including an empty line. Lines end in LF,
 * CRLF or CR, so a CR is ambiguous until the next byte is seen: when a CR
 * ends a non-empty line at the end of the buffer we remember it (AFTER_CR)
 * and let the next call swallow a leading LF, which keeps the boundaries the
 * same however the stream is split. A CR that ends the empty line is
 * different: waiting for its LF would hold a finished event back, so the
 * event ends there; a stray LF then arrives as an empty line, which frames an
 * empty event of its own (SSE dispatches nothing for it). Every empty line
 * ends an event, so a blank line at the start of the buffer is an event too.
 *
 * Each call resumes at 'scanned' with the line state saved there, so a byte
 * is examined a bounded number of times whatever the split. Line ends are
 * found with memchr: the next LF is looked for once and reused while the CRs
 * before it are found, and never further than LF_WINDOW bytes ahead, so a
 * CR-only stream does not rescan the rest of a large buffer for every line. */
#include "http/sse.h"

#include <assert.h>
#include <string.h>

#include "status.h"

enum { LINE_START, IN_LINE, AFTER_CR };

/* How far ahead one memchr looks for an LF: bounds the bytes examined past
 * an event's end (only CR-only streams get there). */
#define LF_WINDOW 512

/* Cursor over buf[0..len); 'lf' caches the next LF, or the end of the window
 * searched without finding one. */
struct eol_finder {
    const char *buf;
    size_t len;
    size_t lf;
};

static void finder_init(struct eol_finder *f, const char *buf, size_t len, size_t from)
{
    f->buf = buf;
    f->len = len;
    f->lf = from; /* stale unless buf[from] is an LF, which is then right */
}

/* The cache answers for p when no LF lies in [p, lf): lf is at or past p and
 * is an LF, the end of buf, or a window end beyond p. */
static int lf_stale(const struct eol_finder *f, size_t p)
{
    if (f->lf < p)
        return 1;
    return f->lf == p && p < f->len && f->buf[p] != '\n';
}

/* Index of the first CR or LF at or after p, or len when there is none. */
static size_t find_eol(struct eol_finder *f, size_t p)
{
    while (p < f->len) {
        if (lf_stale(f, p)) {
            size_t n = f->len - p < LF_WINDOW ? f->len - p : LF_WINDOW;
            const char *q = memchr(f->buf + p, '\n', n);
            f->lf = q != NULL ? (size_t)(q - f->buf) : p + n;
        }
        const char *cr = memchr(f->buf + p, '\r', f->lf - p);
        if (cr != NULL)
            return (size_t)(cr - f->buf);
        if (f->lf == f->len || f->buf[f->lf] == '\n')
            return f->lf;
        p = f->lf;
    }
    return f->len;
}

void mp_sse_init(struct mp_sse *s)
{
    s->scanned = 0;
    s->state = LINE_START;
}

static int event_done(struct mp_sse *s, size_t end, size_t *event_len)
{
    mp_sse_init(s);
    *event_len = end;
    return MP_OK;
}

int mp_sse_next_event(struct mp_sse *s, const char *buf, size_t len, size_t *event_len)
{
    assert(s->scanned <= len);
    struct eol_finder f;
    size_t p = s->scanned;
    int st = s->state;

    finder_init(&f, buf, len, p);
    while (p < len) {
        char c = buf[p];
        if (st == AFTER_CR) {
            p += c == '\n';
            st = LINE_START;
        } else if (st == LINE_START && c == '\n') {
            return event_done(s, p + 1, event_len);
        } else if (st == LINE_START && c == '\r') {
            return event_done(s, p + 1 + (p + 1 < len && buf[p + 1] == '\n'), event_len);
        } else {
            p = find_eol(&f, p);
            if (p < len)
                st = buf[p++] == '\r' ? AFTER_CR : LINE_START;
            else
                st = IN_LINE;
        }
    }
    s->scanned = len;
    s->state = st;
    return MP_AGAIN;
}

/* One field line of an event: its name and its value. */
struct field {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};

/* Reads the next field line at *pos; returns 0 at the end of ev. The LF of
 * a CRLF reads as an empty line, and empty lines are skipped. A comment line
 * (":...") is a field with an empty name, so it is never "data". */
static int next_field(struct eol_finder *f, size_t *pos, struct field *fl)
{
    while (*pos < f->len) {
        size_t start = *pos;
        size_t end = find_eol(f, start);
        *pos = end + 1;
        if (end == start)
            continue;
        const char *line = f->buf + start;
        const char *colon = memchr(line, ':', end - start);
        size_t name_len = colon != NULL ? (size_t)(colon - line) : end - start;
        size_t vstart = colon != NULL ? name_len + 1 : name_len;
        vstart += vstart < end - start && line[vstart] == ' ';
        fl->name = line;
        fl->name_len = name_len;
        fl->value = line + vstart;
        fl->value_len = end - start - vstart;
        return 1;
    }
    return 0;
}

static int is_data(const struct field *fl)
{
    return fl->name_len == 4 && memcmp(fl->name, "data", 4) == 0;
}

bool mp_sse_is_done(const char *ev, size_t len)
{
    struct eol_finder f;
    struct field fl;
    size_t pos = 0;
    int data_lines = 0;
    bool done = false;

    finder_init(&f, ev, len, 0);
    while (next_field(&f, &pos, &fl)) {
        if (!is_data(&fl))
            continue;
        data_lines++;
        done = fl.value_len == 6 && memcmp(fl.value, "[DONE]", 6) == 0;
    }
    return data_lines == 1 && done;
}

/* Total length of the joined data, or 0 with *found false. */
static size_t data_length(const char *ev, size_t len, bool *found)
{
    struct eol_finder f;
    struct field fl;
    size_t pos = 0;
    size_t total = 0;

    *found = false;
    finder_init(&f, ev, len, 0);
    while (next_field(&f, &pos, &fl)) {
        if (!is_data(&fl))
            continue;
        total += (*found ? 1 : 0) + fl.value_len;
        *found = true;
    }
    return total;
}

int mp_sse_event_data(const char *ev, size_t len, char *out, size_t cap, size_t *out_len)
{
    struct eol_finder f;
    struct field fl;
    size_t pos = 0;
    size_t n = 0;
    bool found;
    bool first = true;

    /* Measure first so that out and *out_len stay untouched on failure. */
    size_t total = data_length(ev, len, &found);
    if (!found)
        return MP_NOTFOUND;
    if (total > cap)
        return MP_ETOOBIG;
    finder_init(&f, ev, len, 0);
    while (next_field(&f, &pos, &fl)) {
        if (!is_data(&fl))
            continue;
        if (!first)
            out[n++] = '\n';
        if (fl.value_len > 0)
            memcpy(out + n, fl.value, fl.value_len);
        n += fl.value_len;
        first = false;
    }
    assert(n == total);
    *out_len = n;
    return MP_OK;
}
