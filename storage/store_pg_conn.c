/* Opening connections and naming failures without leaking the
 * connection string. */
#include "store_pg_conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The server's notices ("relation already exists, skipping") are no
 * errors and may carry names: never written to stderr. */
static void no_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

PGconn *mp_pg_connect(const char *conninfo, char *err, size_t errcap)
{
    static const char *const keys[] = {"dbname", "connect_timeout", "application_name", NULL};
    char timeout[16];
    snprintf(timeout, sizeof(timeout), "%d", MP_PG_CONNECT_TIMEOUT_S);
    /* expand_dbname: conninfo (a string or a URI) is parsed as dbname;
       its own connect_timeout, when it sets one, wins over ours */
    const char *const values[] = {conninfo, timeout, "memproxy", NULL};
    PGconn *c = PQconnectdbParams(keys, values, 1);
    if (c == NULL) {
        snprintf(err, errcap, "cannot connect to PostgreSQL: out of memory");
        return NULL;
    }
    if (PQstatus(c) != CONNECTION_OK) {
        snprintf(err, errcap, "cannot connect to PostgreSQL: %s", mp_pg_cause(c));
        PQfinish(c);
        return NULL;
    }
    PQsetNoticeProcessor(c, no_notice, NULL);
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
    const char *m = conn != NULL ? PQerrorMessage(conn) : "";
    for (size_t i = 0; i < sizeof(causes) / sizeof(causes[0]); i++)
        if (strstr(m, causes[i].needle) != NULL)
            return causes[i].cause;
    return conn != NULL && PQstatus(conn) == CONNECTION_BAD ? "the connection failed"
                                                            : "the statement failed";
}

bool mp_pg_retryable(const PGresult *r)
{
    const char *state = r != NULL ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    return state != NULL && (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0);
}

bool mp_pg_exec_ok(PGconn *conn, const char *sql)
{
    PGresult *r = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(r);
    PQclear(r);
    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}
