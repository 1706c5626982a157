/* The blocking pipeline of a write transaction (store_pg_pipe.h). libpq
 * gives each queued statement's results and then a NULL, a failed one's
 * error and the rest PGRES_PIPELINE_ABORTED, and the Sync one
 * PGRES_PIPELINE_SYNC with no NULL after it. */
#include "pg/store_pg_pipe.h"

#include <stddef.h>

#include "status.h"

/* Results a statement may give before its NULL (one: no COPY comes here). */
#define RESULTS_MAX 4

int mp_pg_pipe_start(struct mp_pg_pipe *p, PGconn *c)
{
    *p = (struct mp_pg_pipe){.conn = c};
    if (mp_pq.enterPipelineMode(c) != 1) {
        p->broken = true;
        return MP_EIO;
    }
    return MP_OK;
}

static int queued(struct mp_pg_pipe *p, int sent, PGresult **into)
{
    if (into != NULL)
        *into = NULL;
    if (sent != 1) {
        p->broken = true;
        return MP_EIO;
    }
    p->into[p->queued++] = into;
    if (p->queued >= MP_PG_PIPE_QUEUE_MAX)
        return mp_pg_pipe_settle(p);
    return MP_OK;
}

int mp_pg_pipe_queue_sql(struct mp_pg_pipe *p, const char *sql)
{
    if (p->failed || p->broken)
        return MP_EIO;
    return queued(p, mp_pq.sendQueryParams(p->conn, sql, 0, NULL, NULL, NULL, NULL, 1), NULL);
}

int mp_pg_pipe_queue(struct mp_pg_pipe *p, const char *stmt, int n, const char *const *values,
                     const int *lengths, const int *formats, PGresult **into)
{
    if (into != NULL)
        *into = NULL;
    if (p->failed || p->broken)
        return MP_EIO;
    return queued(p, mp_pq.sendQueryPrepared(p->conn, stmt, n, values, lengths, formats, 1), into);
}

/* One statement's result, its NULL read after it; NULL when the
 * connection failed. */
static PGresult *next(struct mp_pg_pipe *p)
{
    if (mp_pq.status(p->conn) != CONNECTION_OK)
        return NULL;
    PGresult *r = mp_pq.getResult(p->conn);
    if (r == NULL)
        return NULL;
    for (int i = 0; i < RESULTS_MAX; i++) {
        PGresult *more = mp_pq.getResult(p->conn);
        if (more == NULL)
            return r;
        mp_pq.clear(more);
    }
    mp_pq.clear(r);
    return NULL;
}

/* Notes a failed statement's result r (taken). */
static void note_failure(struct mp_pg_pipe *p, PGresult *r)
{
    if (!p->failed && mp_pq.resultStatus(r) != PGRES_PIPELINE_ABORTED) {
        p->fail = r; /* the first error says why (a serialization failure?) */
        r = NULL;
    }
    p->failed = true;
    mp_pq.clear(r);
}

/* Reads the n results before the Sync, each into its place, and the
 * Sync's. */
static void read_up_to_sync(struct mp_pg_pipe *p, size_t n)
{
    for (size_t i = 0; i < n && !p->broken; i++) {
        PGresult *r = next(p);
        ExecStatusType st = mp_pq.resultStatus(r);
        if (r == NULL)
            p->broken = true;
        else if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
            note_failure(p, r);
        else if (p->into[i] != NULL)
            *p->into[i] = r;
        else
            mp_pq.clear(r);
    }
    if (p->broken)
        return;
    PGresult *sync = mp_pq.getResult(p->conn);
    if (mp_pq.resultStatus(sync) != PGRES_PIPELINE_SYNC)
        p->broken = true;
    mp_pq.clear(sync);
}

int mp_pg_pipe_settle(struct mp_pg_pipe *p)
{
    size_t n = p->queued;
    p->queued = 0;
    if (!p->broken && mp_pq.pipelineSync(p->conn) != 1)
        p->broken = true;
    if (!p->broken)
        read_up_to_sync(p, n);
    if (!p->broken && !p->failed)
        return MP_OK;
    for (size_t i = 0; i < n; i++) {
        if (p->into[i] != NULL) {
            mp_pq.clear(*p->into[i]);
            *p->into[i] = NULL;
        }
    }
    if (mp_pq.status(p->conn) != CONNECTION_OK)
        p->broken = true;
    return MP_EIO;
}

int mp_pg_pipe_stop(struct mp_pg_pipe *p)
{
    if (!p->broken && p->queued > 0)
        mp_pg_pipe_settle(p);
    if (!p->broken && mp_pq.exitPipelineMode(p->conn) != 1)
        p->broken = true;
    mp_pq.clear(p->fail);
    p->fail = NULL;
    return p->broken ? MP_EIO : MP_OK;
}
