/* The follow-ups of committed turns, pending (see followups.h). */
#include "memory/followups.h"

#include <stdlib.h>
#include <string.h>

#include "status.h"

struct pending {
    struct mp_op op;
    char user[MP_USER_KEY_MAX];
};

struct mp_followups {
    struct pending *items;
    size_t n, cap;
};

int mp_followups_new(struct mp_followups **out)
{
    *out = calloc(1, sizeof(**out));
    return *out != NULL ? MP_OK : MP_ENOMEM;
}

void mp_followups_free(struct mp_followups *f)
{
    if (f == NULL)
        return;
    free(f->items);
    free(f);
}

static struct pending *slot_of(struct mp_followups *f, const char *user, size_t len)
{
    for (size_t i = 0; i < f->n; i++)
        if (f->items[i].op.user_len == len && memcmp(f->items[i].user, user, len) == 0)
            return &f->items[i];
    if (f->n == f->cap) {
        size_t cap = f->cap > 0 ? f->cap * 2 : 64;
        struct pending *grown = realloc(f->items, cap * sizeof(*grown));
        if (grown == NULL)
            return NULL;
        f->items = grown;
        f->cap = cap;
    }
    return &f->items[f->n++];
}

int mp_followups_put(struct mp_followups *f, const struct mp_op *op)
{
    if (op->user_len > MP_USER_KEY_MAX)
        return MP_EINVAL;
    struct pending *p = slot_of(f, op->user, op->user_len);
    if (p == NULL)
        return MP_ENOMEM;
    p->op = *op;
    memcpy(p->user, op->user, op->user_len);
    p->op.user = p->user;
    return MP_OK;
}

size_t mp_followups_count(const struct mp_followups *f)
{
    return f->n;
}

size_t mp_followups_copy(const struct mp_followups *f, struct mp_op *out)
{
    for (size_t i = 0; i < f->n; i++) {
        out[i] = f->items[i].op;
        out[i].user = f->items[i].user;
    }
    return f->n;
}

void mp_followups_clear(struct mp_followups *f)
{
    f->n = 0;
}
