/* Retention passes over the whole store. */
#include "upkeep/sweep.h"

#include <stdlib.h>
#include <string.h>

#include "status.h"

#define DAY_MS (24LL * 3600 * 1000)

void mp_sweep_retention_days(uint32_t retention_days, uint32_t pii_retention_days,
                             uint32_t idempotency_hours, struct mp_retention *out)
{
    out->max_age_ms = (int64_t)retention_days * DAY_MS;
    out->pii_max_age_ms = (int64_t)pii_retention_days * DAY_MS;
    out->idem_max_age_ms = (int64_t)(idempotency_hours > 0 ? idempotency_hours : 1) * 3600 * 1000;
}

void mp_sweep_counts_add(struct mp_sweep_counts *to, const struct mp_sweep_counts *c)
{
    to->facts += c->facts;
    to->messages += c->messages;
    to->summaries += c->summaries;
    to->history += c->history;
    to->idem += c->idem;
}

/* Sweeps one page of users in one apply. */
static int sweep_page(struct mp_store *store, const struct mp_user_info *users, size_t n,
                      struct mp_sweep_pass *pass)
{
    struct mp_op *ops = calloc(n, sizeof(*ops));
    if (ops == NULL)
        return MP_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        ops[i].kind = MP_OP_SWEEP_USER;
        ops[i].user = users[i].user;
        ops[i].user_len = users[i].user_len;
        ops[i].now_ms = pass->now_ms;
        ops[i].u.sweep.retention = pass->retention;
    }
    int rc = mp_store_apply(store, ops, n);
    for (size_t i = 0; rc == MP_OK && i < n; i++)
        mp_sweep_counts_add(&pass->counts, &ops[i].u.sweep.counts);
    free(ops);
    return rc;
}

void mp_sweep_begin(struct mp_sweep_pass *pass, int64_t now_ms, const struct mp_retention *r)
{
    memset(pass, 0, sizeof(*pass));
    pass->now_ms = now_ms;
    pass->retention = *r;
}

int mp_sweep_step(struct mp_store *store, struct mp_sweep_pass *pass, size_t page)
{
    struct mp_user_info *users = NULL;
    unsigned char next[MP_STORE_CURSOR_MAX];
    size_t n = 0, next_len = 0;
    int rc = mp_store_users(store, mp_store_all_tenants, pass->cursor, pass->cursor_len, page,
                            &users, &n, next, &next_len);
    if (rc == MP_OK && n > 0)
        rc = sweep_page(store, users, n, pass);
    free(users);
    if (rc != MP_OK)
        return rc;
    memcpy(pass->cursor, next, next_len);
    pass->cursor_len = next_len;
    return next_len > 0 ? MP_AGAIN : MP_OK;
}

int mp_sweep_run(struct mp_store *store, int64_t now_ms, const struct mp_retention *r,
                 struct mp_sweep_counts *out)
{
    struct mp_sweep_pass pass;
    int rc;
    mp_sweep_begin(&pass, now_ms, r);
    do {
        rc = mp_sweep_step(store, &pass, MP_SWEEP_PAGE);
    } while (rc == MP_AGAIN);
    mp_sweep_counts_add(out, &pass.counts);
    return rc;
}
