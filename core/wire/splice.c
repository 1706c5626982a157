/* Memory as message objects (see splice.h). */
#include "splice.h"

#include <stdlib.h>
#include <string.h>

#include "json_write.h"
#include "memblock.h"
#include "status.h"

#define ROLE_OPEN      "{\"role\":\""
#define CONTENT_OPEN   "\",\"content\":\""
#define USER_OPEN      "{\"role\":\"user\",\"content\":\""
#define ASSISTANT_OPEN "{\"role\":\"assistant\",\"content\":\""
#define CLOSE          "\"}"

#define SLEN(lit) (sizeof(lit) - 1)

char *mp_wire_put(char *w, const char *s, size_t n)
{
    memcpy(w, s, n);
    return w + n;
}

char *mp_wire_put_block(char *w, const struct mp_wire_memory *mem)
{
    /* the sanitized block has no control byte but '\n': at most 2 per byte */
    return w + mp_json_escape(w, 2 * mem->block_len, mem->block, mem->block_len);
}

size_t mp_wire_pick_bound(const struct mp_wire_pick *pk)
{
    return 1 + SLEN(ASSISTANT_OPEN) + 6 * pk->len + MP_MEMBLOCK_ELLIPSIS_LEN + SLEN(CLOSE);
}

size_t mp_wire_messages_bound(const struct mp_wire_memory *mem, size_t role_len)
{
    size_t bound =
        SLEN(ROLE_OPEN) + role_len + SLEN(CONTENT_OPEN) + 2 * mem->block_len + SLEN(CLOSE);
    for (size_t k = 0; k < mem->npicks; k++)
        bound += mp_wire_pick_bound(&mem->picks[k]);
    return bound;
}

char *mp_wire_put_pick(char *w, const struct mp_wire_pick *pk)
{
    if (pk->role == MP_ROLE_ASSISTANT)
        w = mp_wire_put(w, ASSISTANT_OPEN, SLEN(ASSISTANT_OPEN));
    else
        w = mp_wire_put(w, USER_OPEN, SLEN(USER_OPEN));
    w += mp_json_escape(w, 6 * pk->len, pk->text, pk->len);
    if (pk->cut)
        w = mp_wire_put(w, MP_MEMBLOCK_ELLIPSIS, MP_MEMBLOCK_ELLIPSIS_LEN);
    return mp_wire_put(w, CLOSE, SLEN(CLOSE));
}

char *mp_wire_put_messages(char *w, const struct mp_wire_memory *mem, const char *role,
                           size_t role_len)
{
    w = mp_wire_put(w, ROLE_OPEN, SLEN(ROLE_OPEN));
    w = mp_wire_put(w, role, role_len);
    w = mp_wire_put(w, CONTENT_OPEN, SLEN(CONTENT_OPEN));
    w = mp_wire_put_block(w, mem);
    w = mp_wire_put(w, CLOSE, SLEN(CLOSE));
    for (size_t k = 0; k < mem->npicks; k++) {
        *w++ = ',';
        w = mp_wire_put_pick(w, &mem->picks[k]);
    }
    return w;
}

int mp_wire_splice_messages(const char *body, size_t len, const struct mp_chatreq *req,
                            const struct mp_wire_memory *mem, const char *role, size_t role_len,
                            char **out, size_t *out_len)
{
    char *res = malloc(len + 2 + mp_wire_messages_bound(mem, role_len) + 1), *w;
    if (res == NULL)
        return MP_ENOMEM;
    w = mp_wire_put(res, body, req->insert_at);
    if (req->insert_needs_comma_before)
        *w++ = ',';
    w = mp_wire_put_messages(w, mem, role, role_len);
    if (req->insert_needs_comma_after)
        *w++ = ',';
    w = mp_wire_put(w, body + req->insert_at, len - req->insert_at);
    *w = '\0';
    *out = res;
    *out_len = (size_t)(w - res);
    return MP_OK;
}
