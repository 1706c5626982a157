/* Retention passes over the whole store. */
#include "sweeper.h"

#include <stdlib.h>
#include <string.h>

#include "status.h"

#define DAY_MS (24LL * 3600 * 1000)

void mp_sweeper_retention(const struct mp_config *cfg, struct mp_retention *out)
{
    out->max_age_ms = (int64_t)cfg->governance.retention_days * DAY_MS;
    out->pii_max_age_ms = (int64_t)cfg->governance.pii_retention_days * DAY_MS;
    out->idem_max_age_ms = MP_SWEEPER_IDEM_AGE;
}

static void add_counts(struct mp_sweep_counts *to, const struct mp_sweep_counts *c)
{
    to->facts += c->facts;
    to->messages += c->messages;
    to->summaries += c->summaries;
    to->history += c->history;
    to->idem += c->idem;
}

/* Sweeps one page of users in one apply. */
static int sweep_page(struct mp_store *store, const struct mp_user_info *users, size_t n,
                      const struct mp_retention *r, int64_t now_ms, struct mp_sweep_counts *out)
{
    struct mp_op *ops = calloc(n, sizeof(*ops));
    if (ops == NULL)
        return MP_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        ops[i].kind = MP_OP_SWEEP_USER;
        ops[i].user = users[i].user;
        ops[i].user_len = users[i].user_len;
        ops[i].now_ms = now_ms;
        ops[i].u.sweep.retention = *r;
    }
    int rc = mp_store_apply(store, ops, n);
    for (size_t i = 0; rc == MP_OK && i < n; i++)
        add_counts(out, &ops[i].u.sweep.counts);
    free(ops);
    return rc;
}

void mp_sweeper_begin(struct mp_sweep_pass *pass, int64_t now_ms)
{
    memset(pass, 0, sizeof(*pass));
    pass->now_ms = now_ms;
}

int mp_sweeper_step(struct mp_store *store, const struct mp_config *cfg, struct mp_sweep_pass *pass)
{
    struct mp_retention r;
    struct mp_user_info *users = NULL;
    unsigned char next[MP_STORE_CURSOR_MAX];
    size_t n = 0, next_len = 0;
    mp_sweeper_retention(cfg, &r);
    int rc = mp_store_users(store, mp_store_all_tenants, pass->cursor, pass->cursor_len,
                            MP_SWEEPER_PAGE, &users, &n, next, &next_len);
    if (rc == MP_OK && n > 0)
        rc = sweep_page(store, users, n, &r, pass->now_ms, &pass->counts);
    free(users);
    if (rc != MP_OK)
        return rc;
    memcpy(pass->cursor, next, next_len);
    pass->cursor_len = next_len;
    return next_len > 0 ? MP_AGAIN : MP_OK;
}

int mp_sweeper_run(struct mp_store *store, const struct mp_config *cfg, int64_t now_ms,
                   struct mp_sweep_counts *out)
{
    struct mp_sweep_pass pass;
    int rc;
    mp_sweeper_begin(&pass, now_ms);
    do {
        rc = mp_sweeper_step(store, cfg, &pass);
    } while (rc == MP_AGAIN);
    add_counts(out, &pass.counts);
    return rc;
}
