/* An import's message order and extraction plan (importplan.h): two
 * sorts (by conversation to find the turns, then by turn to store them)
 * and a pass from the newest turn back for the bound. */
#include "import/importplan.h"

#include <stdlib.h>
#include <string.h>

#include "recall/memblock.h"
#include "status.h"

/* A message and the turn it belongs to. */
struct slot {
    const struct mp_import_item *it;
    size_t turn;        /* the index of the turn's first message in the batch */
    int64_t turn_at_ms; /* the time of that message */
};

static int cmp_time(const struct mp_import_item *x, const struct mp_import_item *y)
{
    if (x->at_ms != y->at_ms)
        return x->at_ms < y->at_ms ? -1 : 1;
    return x < y ? -1 : x > y; /* the batch's order is the file's */
}

static int cmp_item_time(const void *a, const void *b)
{
    const struct mp_import_item *const *x = a, *const *y = b;
    return cmp_time(*x, *y);
}

static int cmp_conv_time(const void *a, const void *b)
{
    const struct slot *x = a, *y = b;
    if (x->it->conv != y->it->conv)
        return x->it->conv < y->it->conv ? -1 : 1;
    return cmp_time(x->it, y->it);
}

static int cmp_turn(const void *a, const void *b)
{
    const struct slot *x = a, *y = b;
    if (x->turn_at_ms != y->turn_at_ms)
        return x->turn_at_ms < y->turn_at_ms ? -1 : 1;
    if (x->turn != y->turn)
        return x->turn < y->turn ? -1 : 1;
    return cmp_time(x->it, y->it);
}

/* Marks each slot with its turn: sorted by conversation and time, a
 * user's message opens one. */
static void find_turns(struct slot *s, size_t n, const struct mp_import_item *base)
{
    if (n > 1)
        qsort(s, n, sizeof(*s), cmp_conv_time);
    for (size_t i = 0; i < n; i++) {
        bool opens = i == 0 || s[i].it->conv != s[i - 1].it->conv || s[i].it->role == MP_ROLE_USER;
        s[i].turn = opens ? (size_t)(s[i].it - base) : s[i - 1].turn;
        s[i].turn_at_ms = opens ? s[i].it->at_ms : s[i - 1].turn_at_ms;
    }
    if (n > 1)
        qsort(s, n, sizeof(*s), cmp_turn);
}

static int make_turns(struct mp_importplan *p, const struct slot *s)
{
    p->turns = calloc(p->n > 0 ? p->n : 1, sizeof(*p->turns));
    if (p->turns == NULL)
        return MP_ENOMEM;
    for (size_t i = 0; i < p->n; i++) {
        if (i == 0 || s[i].turn != s[i - 1].turn)
            p->turns[p->nturns++] = (struct mp_importplan_turn){.first = i};
        struct mp_importplan_turn *t = &p->turns[p->nturns - 1];
        t->n++;
        t->user = t->user || s[i].it->role == MP_ROLE_USER;
        t->tokens += mp_memblock_estimate_text(s[i].it->text, s[i].it->text_len);
    }
    return MP_OK;
}

/* The newest turns that fit the bound go to the model. */
static void choose(struct mp_importplan *p, const struct mp_importplan_limits *lim)
{
    unsigned per_call = lim->batch_turns > 0 ? lim->batch_turns : 1;
    for (size_t k = p->nturns; k-- > 0;) {
        struct mp_importplan_turn *t = &p->turns[k];
        if (!t->user)
            continue;
        uint64_t cost = t->tokens + (p->extract_turns % per_call == 0 ? lim->call_tokens : 0);
        if (p->tokens + cost > lim->max_tokens) {
            p->left_out++;
            continue;
        }
        t->extract = true;
        p->tokens += cost;
        p->calls += p->extract_turns % per_call == 0;
        p->extract_turns++;
    }
}

int mp_importplan_make(const struct mp_import_batch *b, const struct mp_importplan_limits *lim,
                       struct mp_importplan *out)
{
    struct mp_importplan p = {0};
    struct slot *s = NULL;
    p.order = calloc(b->nmessages > 0 ? b->nmessages : 1, sizeof(*p.order));
    s = lim->turns ? calloc(b->nmessages > 0 ? b->nmessages : 1, sizeof(*s)) : NULL;
    if (p.order == NULL || (lim->turns && s == NULL)) {
        free(s);
        mp_importplan_free(&p);
        return MP_ENOMEM;
    }
    for (size_t i = 0; i < b->n; i++)
        if (b->items[i].type == MP_IMPORT_MESSAGE)
            p.order[p.n++] = &b->items[i];
    if (!lim->turns) {
        if (p.n > 1)
            qsort(p.order, p.n, sizeof(*p.order), cmp_item_time);
        *out = p;
        return MP_OK;
    }
    for (size_t i = 0; i < p.n; i++)
        s[i].it = p.order[i];
    find_turns(s, p.n, b->items);
    for (size_t i = 0; i < p.n; i++)
        p.order[i] = s[i].it;
    int rc = make_turns(&p, s);
    free(s);
    if (rc != MP_OK) {
        mp_importplan_free(&p);
        return rc;
    }
    choose(&p, lim);
    *out = p;
    return MP_OK;
}

void mp_importplan_free(struct mp_importplan *p)
{
    free(p->order);
    free(p->turns);
    memset(p, 0, sizeof(*p));
}
