/* The import format's items and their batch (importitem.h): growth,
 * ownership, the names of the reasons a reader leaves something out. */
#include "import/importitem.h"

#include <stdlib.h>
#include <string.h>

#include "status.h"

const char *mp_importitem_format_name(enum mp_import_format f)
{
    static const char *const names[MP_IMPORT_FORMAT_COUNT] = {"jsonl", "chatgpt", "claude",
                                                              "memory-text"};
    return (unsigned)f < MP_IMPORT_FORMAT_COUNT ? names[f] : "unknown";
}

const char *mp_importitem_skip_name(enum mp_import_skip why)
{
    static const char *const names[MP_IMPORT_SKIP_COUNT] = {
        [MP_IMPORT_SKIP_EXPORT_LINE] = "export_line",
        [MP_IMPORT_SKIP_HIDDEN] = "hidden",
        [MP_IMPORT_SKIP_SYSTEM] = "system",
        [MP_IMPORT_SKIP_TOOL] = "tool",
        [MP_IMPORT_SKIP_REASONING] = "reasoning",
        [MP_IMPORT_SKIP_CODE] = "code",
        [MP_IMPORT_SKIP_IMAGE] = "image",
        [MP_IMPORT_SKIP_AUDIO] = "audio",
        [MP_IMPORT_SKIP_FILE] = "file",
        [MP_IMPORT_SKIP_UNSUPPORTED] = "unsupported",
        [MP_IMPORT_SKIP_EMPTY] = "empty",
        [MP_IMPORT_SKIP_OTHER_BRANCH] = "other_branch",
        [MP_IMPORT_SKIP_HEADING] = "heading",
        [MP_IMPORT_SKIP_ASSISTANT] = "assistant_words",
    };
    return (unsigned)why < MP_IMPORT_SKIP_COUNT ? names[why] : "unknown";
}

/* Whether one more item of its type passes the batch's bound. */
static bool over(const struct mp_import_batch *b, const struct mp_import_item *it)
{
    if (it->type == MP_IMPORT_MESSAGE)
        return b->max_messages > 0 && b->nmessages >= b->max_messages;
    if (it->type == MP_IMPORT_SETTINGS)
        return b->max_facts > 0 && b->nsettings >= MP_IMPORT_SETTINGS_MAX;
    return it->type == MP_IMPORT_FACT && b->max_facts > 0 && b->nfacts >= b->max_facts;
}

bool mp_importitem_node_fits(const struct mp_import_batch *b, size_t n)
{
    return b->max_nodes == 0 || n < b->max_nodes;
}

int mp_importitem_push(struct mp_import_batch *b, struct mp_import_item *it)
{
    if (over(b, it)) {
        free(it->text);
        it->text = NULL;
        return MP_ETOOBIG;
    }
    if (b->n == b->cap) {
        size_t cap = b->cap == 0 ? 64 : b->cap * 2;
        struct mp_import_item *items = realloc(b->items, cap * sizeof(*items));
        if (items == NULL) {
            free(it->text);
            it->text = NULL;
            return MP_ENOMEM;
        }
        b->items = items;
        b->cap = cap;
    }
    b->items[b->n++] = *it;
    it->text = NULL; /* the batch's now */
    b->nmessages += it->type == MP_IMPORT_MESSAGE;
    b->nfacts += it->type == MP_IMPORT_FACT;
    b->nsettings += it->type == MP_IMPORT_SETTINGS;
    b->nskipped += it->type == MP_IMPORT_SKIPPED;
    return MP_OK;
}

int mp_importitem_conv(struct mp_import_batch *b, const char *source, const char *id, size_t len,
                       size_t *ref)
{
    if (b->nconvs == b->convcap) {
        size_t cap = b->convcap == 0 ? 16 : b->convcap * 2;
        struct mp_import_conv *convs = realloc(b->convs, cap * sizeof(*convs));
        if (convs == NULL)
            return MP_ENOMEM;
        b->convs = convs;
        b->convcap = cap;
    }
    char *copy = malloc(len + 1);
    if (copy == NULL)
        return MP_ENOMEM;
    memcpy(copy, id, len);
    copy[len] = '\0';
    b->convs[b->nconvs++] = (struct mp_import_conv){source, copy, len};
    *ref = b->nconvs;
    return MP_OK;
}

void mp_importitem_set_id(struct mp_import_item *it, const char *prefix,
                          const struct mp_import_conv *c, const char *mid, size_t mlen)
{
    size_t plen = strlen(prefix);
    it->has_id = false;
    if (c == NULL || mlen == 0 || plen + c->id_len + 1 + mlen > MP_IMPORT_ID_MAX)
        return;
    memcpy(it->id, prefix, plen);
    memcpy(it->id + plen, c->id, c->id_len);
    it->id[plen + c->id_len] = '/';
    memcpy(it->id + plen + c->id_len + 1, mid, mlen);
    it->id[plen + c->id_len + 1 + mlen] = '\0';
    it->has_id = memchr(it->id, '\0', plen + c->id_len + 1 + mlen) == NULL;
}

size_t mp_importitem_line_at(const char *buf, size_t off)
{
    size_t line = 1;
    for (const char *p = buf, *end = buf + off; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL)
            break;
        line++;
        p = nl + 1;
    }
    return line;
}

int mp_importitem_time(int64_t at_ms, int64_t now_ms, struct mp_import_error *err)
{
    if (mp_usermem_time_ok(at_ms, now_ms))
        return MP_OK;
    err->why = "at";
    err->future = at_ms > now_ms;
    return MP_EINVAL;
}

void mp_importitem_free(struct mp_import_batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        free(b->items[i].text);
    for (size_t i = 0; i < b->nconvs; i++)
        free(b->convs[i].id);
    free(b->items);
    free(b->convs);
    memset(b, 0, sizeof(*b));
}
