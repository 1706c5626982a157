/* Opening connections and naming failures without leaking the
 * connection string. */
#include "pg/store_pg_conn.h"

#include "pg/store_pg.h"
#include "pg/store_pg_usnap.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/codec.h"
#include "ops/store.h"
#include "status.h"

/* The server's notices ("relation already exists, skipping") are no
 * errors and may carry names: never written to stderr. */
void mp_pg_no_notices(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* The parameters every connection opens with: conninfo (a string or a
 * URI, expanded as dbname), our connect_timeout unless it sets its own,
 * and the application name. */
static const char *const connect_keys[] = {"dbname", "connect_timeout", "application_name", NULL};
#define CONNECT_VALUES(conninfo)                                                                   \
    {                                                                                              \
        (conninfo), MP_PG_STR(MP_PG_CONNECT_TIMEOUT_S), "memproxy", NULL                           \
    }
#define MP_PG_STR(x)  MP_PG_STR_(x)
#define MP_PG_STR_(x) #x

int mp_store_pg_load_libpq(const char **why)
{
    return mp_pq_load(why);
}

PGconn *mp_pg_connect_start(const char *conninfo)
{
    const char *const values[] = CONNECT_VALUES(conninfo);
    if (mp_pq_load(NULL) != MP_OK)
        return NULL;
    PGconn *c = mp_pq.connectStartParams(connect_keys, values, 1);
    if (c != NULL)
        mp_pq.setNoticeProcessor(c, mp_pg_no_notices, NULL);
    return c;
}

PGconn *mp_pg_connect(const char *conninfo, char *err, size_t errcap)
{
    const char *const values[] = CONNECT_VALUES(conninfo);
    const char *why = NULL;
    if (mp_pq_load(&why) != MP_OK) {
        snprintf(err, errcap, "cannot connect to PostgreSQL: %s", why);
        return NULL;
    }
    PGconn *c = mp_pq.connectdbParams(connect_keys, values, 1);
    if (c == NULL) {
        snprintf(err, errcap, "cannot connect to PostgreSQL: out of memory");
        return NULL;
    }
    if (mp_pq.status(c) != CONNECTION_OK) {
        snprintf(err, errcap, "cannot connect to PostgreSQL: %s", mp_pg_cause(c));
        mp_pq.finish(c);
        return NULL;
    }
    mp_pq.setNoticeProcessor(c, mp_pg_no_notices, NULL);
    return c;
}

const char *mp_pg_cause(const PGconn *conn)
{
    static const struct {
        const char *needle, *cause;
    } causes[] = {
        {"Connection refused", "connection refused"},
        {"timeout expired", "connection timed out"},
        {"password authentication failed", "authentication failed"},
        {"authentication failed", "authentication failed"},
        {"no password supplied", "authentication failed (no password)"},
        {"no pg_hba.conf entry", "the server refuses this host or user (pg_hba.conf)"},
        {"database \"", "the database does not exist"},
        {"role \"", "the role does not exist"},
        {"could not translate host name", "the host name does not resolve"},
        {"invalid connection option", "the connection string is invalid"},
        {"missing \"=\"", "the connection string is invalid"},
        {"invalid URI", "the connection string is invalid"},
        {"invalid port", "the connection string is invalid"},
        {"SSL", "TLS failed"},
        {"server closed the connection", "the server closed the connection"},
        {"terminating connection", "the server closed the connection"},
        {"the database system is starting up", "the server is starting up"},
        {"the database system is shutting down", "the server is shutting down"},
        {"too many clients", "the server has too many connections"},
    };
    const char *m = conn != NULL ? mp_pq.errorMessage(conn) : "";
    for (size_t i = 0; i < sizeof(causes) / sizeof(causes[0]); i++)
        if (strstr(m, causes[i].needle) != NULL)
            return causes[i].cause;
    return conn != NULL && mp_pq.status(conn) == CONNECTION_BAD ? "the connection failed"
                                                                : "the statement failed";
}

bool mp_pg_retryable(const PGresult *r)
{
    const char *state = r != NULL ? mp_pq.resultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    return state != NULL && (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0);
}

bool mp_pg_exec_ok(PGconn *conn, const char *sql)
{
    PGresult *r = mp_pq.exec(conn, sql);
    ExecStatusType st = mp_pq.resultStatus(r);
    mp_pq.clear(r);
    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

/* The tables a request reads (not the history, idempotency keys or the
 * keys' own indexes, which only writes need). */
const unsigned char *mp_pg_cell(const PGresult *r, int row, int col, size_t *len)
{
    *len = (size_t)mp_pq.getlength(r, row, col);
    return (const unsigned char *)mp_pq.getvalue(r, row, col);
}

int mp_pg_int2(const PGresult *r, int row, int col)
{
    if (mp_pq.getlength(r, row, col) != 2)
        return MP_PG_NOT_INT2;
    return (int16_t)mp_codec_be_get((const unsigned char *)mp_pq.getvalue(r, row, col), 2);
}

const bool mp_pg_user_tables[MP_TABLE_COUNT] = {
    [MP_TABLE_USERS] = true,  [MP_TABLE_SETTINGS] = true, [MP_TABLE_FACTRANK] = true,
    [MP_TABLE_FACTS] = true,  [MP_TABLE_ARCHIVE] = true,  [MP_TABLE_DOCS] = true,
    [MP_TABLE_DTERMS] = true, [MP_TABLE_POSTINGS] = true, [MP_TABLE_CONVS] = true,
};

int mp_pg_user_table_of(const PGresult *r, int row)
{
    int t = mp_pg_int2(r, row, 0);
    return t >= 0 && t < MP_TABLE_COUNT && mp_pg_user_tables[t] ? t : -1;
}

bool mp_pg_derived_table(int t)
{
    return t == MP_TABLE_POSTINGS || t == MP_TABLE_FACTRANK;
}

size_t mp_pg_user_tables_list(char *out, size_t cap, bool derived)
{
    size_t n = 0;
    out[0] = '\0';
    for (int t = 0; t < MP_TABLE_COUNT; t++)
        if (mp_pg_user_tables[t] && (derived || !mp_pg_derived_table(t)))
            n += (size_t)snprintf(out + n, cap - n, "%s%d", n == 0 ? "" : ",", t);
    return n;
}

void mp_pg_user_sql(char *out, bool ordered, bool derived)
{
    char in[64];
    if (!ordered) {
        mp_pg_usnap_read_sql(out, derived);
        return;
    }
    mp_pg_user_tables_list(in, sizeof(in), derived);
    snprintf(out, MP_PG_USER_SQL_MAX,
             "SELECT t, k, v FROM mp_kv WHERE part = $1 AND t IN (%s) ORDER BY t, k LIMIT %d", in,
             MP_PG_USER_ROWS + 1);
}
