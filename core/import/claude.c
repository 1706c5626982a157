/* Claude's conversations.json into the import format's messages
 * (claude.h). Messages are read in the export's order; a branch named by
 * current_leaf_message_uuid is marked first, by a walk over the messages'
 * uuids sorted once. */
#include "import/claude.h"

#include <stdlib.h>
#include <string.h>

#include "import/importjson.h"
#include "json/json_scan.h"
#include "rfc3339.h"
#include "status.h"

#define SOURCE "claude"

typedef struct mp_importjson_span span;

struct msg {
    span v;
    char *uuid; /* owned; NULL: none */
    size_t uuid_len;
    bool kept;
};

struct conv {
    const char *buf;
    int64_t now_ms;
    struct mp_import_batch *b;
    struct mp_import_error *err;
    struct msg *msgs;
    size_t n;
    size_t line;
    size_t ref;
    int64_t time_ms; /* created_at; -1: none */
};

static int fail(struct conv *c, size_t off, const char *why)
{
    c->err->line = mp_importitem_line_at(c->buf, off);
    c->err->why = why;
    return MP_EINVAL;
}

static int cmp_msg(const void *pa, const void *pb)
{
    const struct msg *const *a = pa, *const *b = pb;
    size_t n = (*a)->uuid_len < (*b)->uuid_len ? (*a)->uuid_len : (*b)->uuid_len;
    int d = memcmp((*a)->uuid, (*b)->uuid, n);
    return d != 0 ? d : ((*a)->uuid_len > (*b)->uuid_len) - ((*a)->uuid_len < (*b)->uuid_len);
}

enum { M_UUID, M_SENDER, M_TEXT, M_CONTENT, M_TIME, M_ATTACH, M_FILES, M_PARENT, M_COUNT };
static const char *const msg_keys[M_COUNT] = {
    "uuid",       "sender",      "text",  "content",
    "created_at", "attachments", "files", "parent_message_uuid"};

/* The messages of the chat_messages array, with their uuids. */
static int load_msgs(struct conv *c, span arr)
{
    size_t cursor = 0, es, ee, cap = 0;
    if (arr.e <= arr.s || c->buf[arr.s] != '[')
        return fail(c, arr.e > 0 ? arr.s : 0, "chat_messages");
    while (mp_json_next(c->buf, arr.s, arr.e, &cursor, NULL, NULL, &es, &ee) == MP_OK) {
        span m[M_COUNT];
        if (!mp_importitem_node_fits(c->b, c->n))
            return MP_ETOOBIG;
        if (c->n == cap) {
            cap = cap == 0 ? 32 : cap * 2;
            struct msg *msgs = realloc(c->msgs, cap * sizeof(*msgs));
            if (msgs == NULL)
                return MP_ENOMEM;
            c->msgs = msgs;
        }
        struct msg *x = &c->msgs[c->n];
        memset(x, 0, sizeof(*x));
        x->v = (span){es, ee};
        x->kept = true;
        c->n++;
        if (mp_importjson_members(c->buf, x->v, msg_keys, M_COUNT, m) != MP_OK)
            return fail(c, es, "chat_messages");
        if (mp_importjson_given(c->buf, m[M_UUID]) &&
            mp_importjson_string(c->buf, m[M_UUID], &x->uuid, &x->uuid_len) != MP_OK)
            return fail(c, m[M_UUID].s, "uuid");
    }
    return MP_OK;
}

static struct msg *find(struct msg **sorted, size_t n, const char *id, size_t len)
{
    struct msg key = {{0, 0}, (char *)id, len, false}, *kp = &key;
    struct msg **hit = n > 0 ? bsearch(&kp, sorted, n, sizeof(*sorted), cmp_msg) : NULL;
    return hit != NULL ? *hit : NULL;
}

/* The parent's uuid of x (NULL: none). */
static int parent_of(struct conv *c, const struct msg *x, char **id, size_t *len)
{
    span m[M_COUNT];
    *id = NULL;
    (void)mp_importjson_members(c->buf, x->v, msg_keys, M_COUNT, m);
    if (!mp_importjson_given(c->buf, m[M_PARENT]))
        return MP_OK;
    int rc = mp_importjson_string(c->buf, m[M_PARENT], id, len);
    return rc == MP_EINVAL ? fail(c, m[M_PARENT].s, "parent_message_uuid") : rc;
}

/* Keeps the branch from the leaf up through the parents. */
static int keep_branch(struct conv *c, span leaf)
{
    struct msg **sorted = calloc(c->n > 0 ? c->n : 1, sizeof(*sorted));
    char *id = NULL;
    size_t len = 0, n = 0;
    if (sorted == NULL)
        return MP_ENOMEM;
    for (size_t i = 0; i < c->n; i++) {
        c->msgs[i].kept = false;
        if (c->msgs[i].uuid != NULL)
            sorted[n++] = &c->msgs[i];
    }
    qsort(sorted, n, sizeof(*sorted), cmp_msg);
    int rc = mp_importjson_string(c->buf, leaf, &id, &len);
    if (rc == MP_EINVAL)
        rc = fail(c, leaf.s, "current_leaf_message_uuid");
    struct msg *x = rc == MP_OK ? find(sorted, n, id, len) : NULL;
    while (rc == MP_OK && x != NULL) {
        if (x->kept) {
            rc = fail(c, x->v.s, "parent_message_uuid"); /* a loop */
            break;
        }
        x->kept = true;
        free(id);
        rc = parent_of(c, x, &id, &len);
        x = rc == MP_OK && id != NULL ? find(sorted, n, id, len) : NULL;
    }
    free(id);
    free(sorted);
    return rc;
}

/* Why a content block of type t is left out. */
static enum mp_import_skip block_reason(const char *t)
{
    if (strcmp(t, "thinking") == 0 || strcmp(t, "redacted_thinking") == 0)
        return MP_IMPORT_SKIP_REASONING;
    if (strstr(t, "tool") != NULL)
        return MP_IMPORT_SKIP_TOOL;
    if (strcmp(t, "image") == 0)
        return MP_IMPORT_SKIP_IMAGE;
    if (strcmp(t, "document") == 0)
        return MP_IMPORT_SKIP_FILE;
    return MP_IMPORT_SKIP_UNSUPPORTED;
}

/* The text blocks of content into text, the others counted. *blocks:
 * content held blocks. */
static int read_blocks(struct conv *c, span content, struct mp_importjson_text *text, bool *blocks,
                       bool *counted)
{
    static const char *const keys[] = {"type", "text"};
    size_t cursor = 0, es, ee;
    *blocks = false;
    if (!mp_importjson_given(c->buf, content))
        return MP_OK;
    if (c->buf[content.s] != '[')
        return fail(c, content.s, "content");
    while (mp_json_next(c->buf, content.s, content.e, &cursor, NULL, NULL, &es, &ee) == MP_OK) {
        span f[2];
        char *t = NULL;
        size_t n = 0;
        if (mp_importjson_members(c->buf, (span){es, ee}, keys, 2, f) != MP_OK ||
            mp_importjson_string(c->buf, f[0], &t, &n) != MP_OK) {
            free(t);
            return fail(c, es, "content");
        }
        *blocks = true;
        int rc = MP_OK;
        if (strcmp(t, "text") == 0) {
            rc = mp_importjson_given(c->buf, f[1]) ? mp_importjson_text_add(text, c->buf, f[1])
                                                   : MP_OK;
        } else {
            c->b->skipped[block_reason(t)]++;
            *counted = true;
        }
        free(t);
        if (rc != MP_OK)
            return rc == MP_ENOMEM ? rc : fail(c, es, "content");
    }
    return MP_OK;
}

/* Counts a message's attachments (file) and files (image or file). */
static void count_attached(struct conv *c, span attach, span files, bool *counted)
{
    static const char *const keys[] = {"file_kind"};
    size_t cursor = 0, es, ee;
    if (mp_importjson_given(c->buf, attach) && c->buf[attach.s] == '[')
        while (mp_json_next(c->buf, attach.s, attach.e, &cursor, NULL, NULL, &es, &ee) == MP_OK) {
            c->b->skipped[MP_IMPORT_SKIP_FILE]++;
            *counted = true;
        }
    cursor = 0;
    if (mp_importjson_given(c->buf, files) && c->buf[files.s] == '[')
        while (mp_json_next(c->buf, files.s, files.e, &cursor, NULL, NULL, &es, &ee) == MP_OK) {
            span kind = {0, 0};
            (void)mp_importjson_members(c->buf, (span){es, ee}, keys, 1, &kind);
            c->b->skipped[mp_importjson_str_is(c->buf, kind, "image") ? MP_IMPORT_SKIP_IMAGE
                                                                      : MP_IMPORT_SKIP_FILE]++;
            *counted = true;
        }
}

/* An RFC 3339 time member: MP_OK with *ms, MP_NOTFOUND when absent. */
static int iso_time(struct conv *c, span t, const char *why, int64_t *ms)
{
    if (!mp_importjson_given(c->buf, t))
        return MP_NOTFOUND;
    if (c->buf[t.s] != '"' || mp_rfc3339_parse(c->buf + t.s + 1, t.e - t.s - 2, ms) != MP_OK)
        return fail(c, t.s, why);
    return MP_OK;
}

static int read_message(struct conv *c, const struct msg *x)
{
    span m[M_COUNT];
    struct mp_importjson_text text = {0};
    bool blocks = false, counted = false;
    struct mp_import_item it = {.type = MP_IMPORT_MESSAGE, .line = c->line};
    (void)mp_importjson_members(c->buf, x->v, msg_keys, M_COUNT, m);
    if (mp_importjson_str_is(c->buf, m[M_SENDER], "human"))
        it.role = MP_ROLE_USER;
    else if (mp_importjson_str_is(c->buf, m[M_SENDER], "assistant"))
        it.role = MP_ROLE_ASSISTANT;
    else if (m[M_SENDER].e > 0 && c->buf[m[M_SENDER].s] == '"')
        return (c->b->skipped[MP_IMPORT_SKIP_UNSUPPORTED]++, MP_OK);
    else
        return fail(c, x->v.s, "sender");
    int rc = iso_time(c, m[M_TIME], "created_at", &it.at_ms);
    if (rc == MP_NOTFOUND && c->time_ms >= 0) {
        it.at_ms = c->time_ms;
        rc = MP_OK;
    } else if (rc == MP_NOTFOUND) {
        rc = fail(c, x->v.s, "created_at");
    }
    if (rc == MP_OK && mp_importitem_time(it.at_ms, c->now_ms, c->err) != MP_OK)
        return fail(c, m[M_TIME].e > 0 ? m[M_TIME].s : x->v.s, "at");
    if (rc == MP_OK)
        rc = read_blocks(c, m[M_CONTENT], &text, &blocks, &counted);
    if (rc == MP_OK && !blocks && mp_importjson_given(c->buf, m[M_TEXT])) {
        rc = mp_importjson_text_add(&text, c->buf, m[M_TEXT]);
        if (rc == MP_EINVAL)
            rc = fail(c, m[M_TEXT].s, "text");
    }
    if (rc == MP_OK) {
        count_attached(c, m[M_ATTACH], m[M_FILES], &counted);
        mp_importjson_text_take(&text, MP_MESSAGE_CONTENT_MAX, &it.text, &it.text_len);
    }
    mp_importjson_text_free(&text);
    if (rc != MP_OK)
        return rc;
    if (it.text == NULL) {
        if (!counted)
            c->b->skipped[MP_IMPORT_SKIP_EMPTY]++;
        return MP_OK;
    }
    it.conv_ref = c->ref;
    if (x->uuid != NULL)
        mp_importitem_set_id(&it, SOURCE ":", &c->b->convs[c->ref - 1], x->uuid, x->uuid_len);
    return mp_importitem_push(c->b, &it);
}

enum { C_UUID, C_TIME, C_MSGS, C_LEAF, C_NAME, C_COUNT };

static int read_conversation(struct conv *c, span cv)
{
    static const char *const keys[C_COUNT] = {"uuid", "created_at", "chat_messages",
                                              "current_leaf_message_uuid", "name"};
    span f[C_COUNT];
    char *id = NULL;
    size_t len = 0;
    if (mp_importjson_members(c->buf, cv, keys, C_COUNT, f) != MP_OK)
        return fail(c, cv.s, "not a list of conversations");
    mp_importjson_title(c->buf, f[C_NAME], c->err);
    int rc = mp_importjson_string(c->buf, f[C_UUID], &id, &len);
    if (rc == MP_OK && len == 0)
        rc = MP_EINVAL;
    if (rc == MP_OK)
        rc = mp_importitem_conv(c->b, SOURCE, id, len, &c->ref);
    free(id);
    if (rc != MP_OK)
        return rc == MP_ENOMEM ? rc : fail(c, f[C_UUID].e > 0 ? f[C_UUID].s : cv.s, "uuid");
    c->time_ms = -1;
    rc = iso_time(c, f[C_TIME], "created_at", &c->time_ms);
    if (rc == MP_NOTFOUND)
        rc = MP_OK;
    if (rc == MP_OK)
        rc = load_msgs(c, f[C_MSGS]);
    if (rc == MP_OK && mp_importjson_given(c->buf, f[C_LEAF]))
        rc = keep_branch(c, f[C_LEAF]);
    for (size_t i = 0; rc == MP_OK && i < c->n; i++) {
        c->err->message = i + 1;
        if (c->msgs[i].kept)
            rc = read_message(c, &c->msgs[i]);
        else
            c->b->skipped[MP_IMPORT_SKIP_OTHER_BRANCH]++;
    }
    for (size_t i = 0; i < c->n; i++)
        free(c->msgs[i].uuid);
    free(c->msgs);
    c->msgs = NULL;
    c->n = 0;
    return rc;
}

static int on_conversation(void *arg, span cv, size_t line)
{
    struct conv *c = arg;
    c->line = line;
    return read_conversation(c, cv);
}

int mp_claude_read(const char *buf, size_t len, int64_t now_ms, struct mp_import_batch *out,
                   struct mp_import_error *err)
{
    struct conv c = {.buf = buf, .now_ms = now_ms, .b = out, .err = err};
    return mp_importjson_each(buf, len, false, err, on_conversation, &c);
}
