/* Helpers shared by the storage/ops/store.h suites (see store_fixture.h). They
 * assert with Check, so they run only inside a Check test. */
#include "store_fixture.h"

#include <check.h>
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <lmdb.h>

#include "status.h"
#include "ops/store_backend.h"
#include "pg/store_pg.h"

char fx_dir[64];
struct mp_store_options fx_opts;
struct mp_seal_key fx_key_a, fx_key_b;

static struct mp_seal_key parse_key(const char *hex)
{
    struct mp_seal_key k;
    char why[128] = "";
    ck_assert_msg(
        mp_seal_key_parse((const unsigned char *)hex, strlen(hex), &k, why, sizeof(why)) == MP_OK,
        "key: %s", why);
    return k;
}

void fx_setup_keys(void)
{
    fx_key_a = parse_key("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
    fx_key_b = parse_key("f0e1d2c3b4a5968778695a4b3c2d1e0f0f1e2d3c4b5a69788796a5b4c3d2e1f0");
}

/* ---- open and close ---- */

struct mp_store *fx_open_existing(void)
{
    struct mp_store *store = NULL;
    char err[256] = "";
    int rc = mp_store_open_lmdb(&fx_opts, &store, err, sizeof(err));
    ck_assert_msg(rc == MP_OK, "open: %s", err);
    return store;
}

/* The PostgreSQL store of MEMPROXY_TEST_POSTGRES_URL, emptied first when
 * empty is set. */
static struct mp_store *open_pg(bool empty)
{
    const char *url = getenv("MEMPROXY_TEST_POSTGRES_URL");
    ck_assert_msg(url != NULL && url[0] != '\0',
                  "no PostgreSQL for the PG cases: run the suite through tests/storage/with_pg.sh "
                  "or set MEMPROXY_TEST_POSTGRES_URL");
    if (empty) {
        PGconn *c = PQconnectdb(url);
        ck_assert_msg(PQstatus(c) == CONNECTION_OK, "PostgreSQL: %s", PQerrorMessage(c));
        PGresult *r = PQexec(c, "DO $$ BEGIN IF to_regclass('mp_kv') IS NOT NULL THEN "
                                "TRUNCATE mp_kv; END IF; IF to_regclass('mp_usnap') IS NOT NULL "
                                "THEN TRUNCATE mp_usnap; END IF; END $$");
        ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK, "truncate: %s", PQerrorMessage(c));
        PQclear(r);
        PQfinish(c);
    }
    struct mp_store_pg_options o = {.conninfo = url, .pool = 4, .migrate = true};
    struct mp_store *store = NULL;
    char err[256] = "";
    ck_assert_msg(mp_store_open_pg(&o, &store, err, sizeof(err)) == MP_OK, "open: %s", err);
    return store;
}

/* A new empty fx_dir, and fx_opts for a clear store in it. */
static void make_dir(uint64_t map, uint64_t max)
{
    snprintf(fx_dir, sizeof(fx_dir), "/tmp/mp_store_test_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(fx_dir));
    fx_opts = (struct mp_store_options){
        .path = fx_dir, .map_size = map, .map_size_max = max, .sync = MP_STORE_SYNC_NONE};
}

struct mp_store *fx_open_sized(int which, uint64_t map, uint64_t max)
{
    struct mp_store *store = NULL;
    if (which == MEM) {
        ck_assert_int_eq(mp_store_open_mem(&store), MP_OK);
        return store;
    }
    if (which == PG)
        return open_pg(true);
    make_dir(map, max);
    return fx_open_existing();
}

struct mp_store *fx_open_backend(int which)
{
    return fx_open_sized(which, 1 << 20, 0);
}

struct mp_store *fx_open_sealed(void)
{
    make_dir(1 << 20, 0);
    fx_opts.key = &fx_key_a;
    return fx_open_existing();
}

struct mp_store *fx_open_pg_again(void)
{
    return open_pg(false);
}

struct mp_store *fx_reopen(struct mp_store *store, int which)
{
    if (which == MEM)
        return store;
    mp_store_free(store);
    return which == PG ? open_pg(false) : fx_open_existing();
}

void fx_remove_dir(void)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/data.mdb", fx_dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/lock.mdb", fx_dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/memproxy.lock", fx_dir);
    unlink(path);
    ck_assert_int_eq(rmdir(fx_dir), 0);
}

void fx_close_backend(struct mp_store *store, int which)
{
    mp_store_free(store);
    if (which == LMDB)
        fx_remove_dir();
}

/* ---- ops ---- */

int fx_apply1(struct mp_store *store, struct mp_op *op)
{
    int rc = mp_store_apply(store, op, 1);
    return rc == MP_OK ? op->result : rc;
}

struct mp_mem_message fx_msg(enum mp_role role, const char *text, int64_t at)
{
    struct mp_mem_message m = {.role = role, .at_ms = at};
    m.content = (char *)text;
    m.content_len = strlen(text);
    snprintf(m.request_id, sizeof(m.request_id), "req-%lld", (long long)at);
    return m;
}

struct mp_op fx_turn_op(const char *user, size_t ulen, uint8_t idem, const struct mp_mem_message *m,
                        size_t n, int64_t now)
{
    struct mp_op op = {.kind = MP_OP_RECORD_TURN, .user = user, .user_len = ulen, .now_ms = now};
    op.u.turn.messages = m;
    op.u.turn.nmessages = n;
    memset(op.u.turn.idem_key, idem, MP_IDEM_KEY_LEN);
    return op;
}

int fx_turn(struct mp_store *store, const char *user, size_t ulen, uint8_t idem, const char *said,
            const char *reply, int64_t at, int64_t now)
{
    struct mp_mem_message m[2] = {fx_msg(MP_ROLE_USER, said, at),
                                  fx_msg(MP_ROLE_ASSISTANT, reply, at)};
    struct mp_op op = fx_turn_op(user, ulen, idem, m, 2, now);
    return fx_apply1(store, &op);
}

struct mp_op fx_upsert_op(const char *user, size_t ulen, const char *key, const char *value,
                          enum mp_trust trust, int64_t observed)
{
    struct mp_op op = {.kind = MP_OP_UPSERT_ENTITY, .user = user, .user_len = ulen};
    op.now_ms = observed + 5;
    snprintf(op.u.entity.key, sizeof(op.u.entity.key), "%s", key);
    op.u.entity.value = (char *)value;
    op.u.entity.value_len = strlen(value);
    op.u.entity.confidence = 0.75;
    op.u.entity.observed_at_ms = observed;
    op.u.entity.trust = trust;
    op.u.entity.source_role = MP_ROLE_USER;
    snprintf(op.u.entity.request_id, sizeof(op.u.entity.request_id), "req-%lld",
             (long long)observed);
    snprintf(op.u.entity.model, sizeof(op.u.entity.model), "%s",
             mp_usermem_trust_given(trust) ? "" : "extractor-1");
    return op;
}

int fx_upsert(struct mp_store *store, const char *user, size_t ulen, const char *key,
              const char *value, enum mp_trust trust, int64_t observed)
{
    struct mp_op op = fx_upsert_op(user, ulen, key, value, trust, observed);
    return fx_apply1(store, &op);
}

struct mp_op fx_delete_op(const char *user, size_t ulen, const char *key, enum mp_actor actor,
                          int64_t now)
{
    struct mp_op op = {.kind = MP_OP_DELETE_ENTITY, .user = user, .user_len = ulen, .now_ms = now};
    op.actor = actor;
    snprintf(op.u.key, sizeof(op.u.key), "%s", key);
    return op;
}

int fx_summarize(struct mp_store *store, const char *user, size_t ulen, const char *text,
                 uint64_t through, int64_t now)
{
    struct mp_op op = {.kind = MP_OP_SET_SUMMARY, .user = user, .user_len = ulen, .now_ms = now};
    op.u.summary.text = text;
    op.u.summary.text_len = strlen(text);
    op.u.summary.through_seq = through;
    op.u.summary.model = "summarizer-1";
    /* the test vouches for every pending job, as callers did before the
       store bounded a fold by them (test_store.c tests that bound) */
    op.u.summary.jobs_known_through = UINT64_MAX;
    return fx_apply1(store, &op);
}

struct mp_job fx_job_for(const char *user, size_t ulen, enum mp_job_kind kind, uint64_t seq)
{
    struct mp_job j = {.kind = kind, .through_seq = seq, .from_seq = seq - 1, .created_ms = 7};
    memcpy(j.user, user, ulen);
    j.user_len = ulen;
    return j;
}

uint64_t fx_add_job(struct mp_store *store, struct mp_job j)
{
    struct mp_op op = {.kind = MP_OP_ADD_JOB};
    op.u.job = j;
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    return op.u.job.id;
}

/* ---- reading back ---- */

struct mp_usermem *fx_get(struct mp_store *store, const char *user, size_t ulen)
{
    struct mp_usermem *um = NULL;
    ck_assert_int_eq(mp_store_get(store, user, ulen, &um), MP_OK);
    ck_assert_ptr_nonnull(um);
    return um;
}

struct mp_history *fx_history(struct mp_store *store, const char *user, size_t ulen)
{
    struct mp_history *h = NULL;
    ck_assert_int_eq(mp_store_history(store, user, ulen, &h), MP_OK);
    ck_assert_ptr_nonnull(h);
    return h;
}

const char *fx_entity_value(const struct mp_usermem *um, const char *key)
{
    for (size_t i = 0; i < um->nentities; i++) {
        if (strcmp(um->entities[i].key, key) == 0)
            return um->entities[i].value;
    }
    return NULL;
}

bool fx_absent(struct mp_store *store, const char *user, size_t ulen)
{
    struct mp_usermem *um = NULL;
    struct mp_history *h = NULL;
    int get_rc = mp_store_get(store, user, ulen, &um);
    int hist_rc = mp_store_history(store, user, ulen, &h);
    mp_usermem_free(um);
    mp_history_free(h);
    return get_rc == MP_NOTFOUND && hist_rc == MP_NOTFOUND;
}

/* ---- users listing ---- */

size_t fx_tenant_key(char *out, unsigned char t, const char *id)
{
    out[0] = MP_USER_KEY_TENANT;
    memset(out + 1, t, MP_TENANT_LEN);
    memcpy(out + 1 + MP_TENANT_LEN, id, strlen(id));
    return 1 + MP_TENANT_LEN + strlen(id);
}

size_t fx_list_all(struct mp_store *store, const unsigned char *tenant, size_t limit,
                   struct mp_user_info *list, size_t cap)
{
    unsigned char cur[MP_STORE_CURSOR_MAX];
    size_t cur_len = 0, total = 0;
    for (int pages = 0; pages < 50; pages++) {
        struct mp_user_info *page = NULL;
        size_t n = 0, next_len = 0;
        unsigned char next[MP_STORE_CURSOR_MAX];
        ck_assert_int_eq(
            mp_store_users(store, tenant, cur, cur_len, limit, &page, &n, next, &next_len), MP_OK);
        ck_assert_uint_le(n, limit);
        ck_assert_uint_le(total + n, cap);
        if (n > 0)
            memcpy(list + total, page, n * sizeof(*page));
        free(page);
        total += n;
        if (next_len == 0)
            return total;
        ck_assert_uint_eq(n, limit);
        memcpy(cur, next, next_len);
        cur_len = next_len;
    }
    ck_abort_msg("listing does not end");
    return 0;
}

bool fx_info_is(const struct mp_user_info *info, const char *user, size_t ulen)
{
    return info->user_len == ulen && memcmp(info->user, user, ulen) == 0;
}

void fx_compact(struct mp_store *store)
{
    char err[256] = "";
    ck_assert_msg(mp_store_compact(store, err, sizeof(err)) == MP_OK, "compact: %s", err);
}

void fx_rekey(const struct mp_seal_key *from, const struct mp_seal_key *to)
{
    struct mp_store_options o = fx_opts;
    char err[256] = "";
    o.key = from;
    ck_assert_msg(mp_store_rekey_lmdb(&o, to, err, sizeof(err)) == MP_OK, "rekey: %s", err);
}

struct mp_store *fx_open_fixture(const char *dir, const char *which, const struct mp_seal_key *key)
{
    char src[512], dst[128], buf[65536];
    struct mp_store *store = fx_open_backend(LMDB);
    mp_store_free(store);
    snprintf(src, sizeof(src), "%s/%s/data.mdb", dir, which);
    snprintf(dst, sizeof(dst), "%s/data.mdb", fx_dir);
    FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
    ck_assert_msg(in != NULL, "%s", src);
    ck_assert_ptr_nonnull(out);
    for (size_t n; (n = fread(buf, 1, sizeof(buf), in)) > 0;)
        ck_assert_uint_eq(fwrite(buf, 1, n, out), n);
    fclose(in);
    ck_assert_int_eq(fclose(out), 0);
    snprintf(dst, sizeof(dst), "%s/lock.mdb", fx_dir);
    unlink(dst);
    fx_opts.key = key;
    return fx_open_existing();
}

void fx_place_lmdb_rows(struct mp_store *s, const char *path)
{
    MDB_env *env;
    MDB_txn *rt;
    struct mp_store_txn txn;
    ck_assert_int_eq(mdb_env_create(&env), 0);
    ck_assert_int_eq(mdb_env_set_maxdbs(env, MP_TABLE_COUNT + 1), 0);
    ck_assert_int_eq(mdb_env_open(env, path, MDB_RDONLY | MDB_NOSUBDIR | MDB_NOLOCK, 0600), 0);
    ck_assert_int_eq(mdb_txn_begin(env, NULL, MDB_RDONLY, &rt), 0);
    ck_assert_int_eq(s->be->begin(s, true, &txn), MP_OK);
    ck_assert_int_eq(s->be->del(&txn, MP_TABLE_META, "format", 6), MP_OK);
    for (int t = 0; t < MP_TABLE_COUNT; t++) {
        MDB_dbi dbi;
        MDB_cursor *c;
        MDB_val k, v;
        if (mdb_dbi_open(rt, mp_store_table_names[t], 0, &dbi) != 0)
            continue; /* a table the file's format never wrote */
        ck_assert_int_eq(mdb_cursor_open(rt, dbi, &c), 0);
        for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
             rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
            ck_assert_int_eq(s->be->put(&txn, (enum mp_store_table)t, k.mv_data, k.mv_size,
                                        v.mv_data, v.mv_size),
                             MP_OK);
        mdb_cursor_close(c);
    }
    ck_assert_int_eq(s->be->end(&txn, true), MP_OK);
    mdb_txn_abort(rt);
    mdb_env_close(env);
}

bool fx_keeps(struct mp_store *store, const char *user, size_t ulen, uint64_t seq)
{
    struct mp_usermem *um = fx_get(store, user, ulen);
    bool found = false;
    for (size_t i = 0; i < um->nmessages; i++)
        found = found || um->messages[i].seq == seq;
    mp_usermem_free(um);
    struct mp_mem_message *page = NULL;
    size_t n = 0;
    bool more = false;
    ck_assert_int_eq(mp_store_archive(store, user, ulen, seq - 1, 1, &page, &n, &more), MP_OK);
    found = found || (n == 1 && page[0].seq == seq);
    mp_store_messages_free(page, n);
    return found;
}

uint32_t fx_format(struct mp_store *s)
{
    struct mp_store_txn txn;
    const unsigned char *v;
    size_t n;
    ck_assert_int_eq(s->be->begin(s, false, &txn), MP_OK);
    ck_assert_int_eq(s->be->get(&txn, MP_TABLE_META, "format", 6, &v, &n), MP_OK);
    ck_assert_uint_eq(n, 4);
    uint32_t f = (uint32_t)v[0] | (uint32_t)v[1] << 8 | (uint32_t)v[2] << 16 | (uint32_t)v[3] << 24;
    s->be->end(&txn, false);
    return f;
}

/* True when a regular file in fx_dir holds needle (ASCII case ignored when
 * fold). */
static bool dir_holds(const char *needle, bool fold)
{
    DIR *d = opendir(fx_dir);
    struct dirent *e;
    bool found = false;
    char want[128];
    size_t n = strlen(needle);
    ck_assert_ptr_nonnull(d);
    ck_assert_uint_lt(n, sizeof(want));
    for (size_t i = 0; i < n; i++)
        want[i] = fold ? (char)tolower((unsigned char)needle[i]) : needle[i];
    while (!found && (e = readdir(d)) != NULL) {
        char path[512];
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", fx_dir, e->d_name);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        FILE *f = fopen(path, "rb");
        ck_assert_ptr_nonnull(f);
        char *buf = malloc((size_t)st.st_size + 1);
        ck_assert_ptr_nonnull(buf);
        size_t got = fread(buf, 1, (size_t)st.st_size, f);
        fclose(f);
        for (size_t i = 0; fold && i < got; i++)
            buf[i] = (char)tolower((unsigned char)buf[i]);
        found = memmem(buf, got, want, n) != NULL;
        free(buf);
    }
    closedir(d);
    return found;
}

bool fx_dir_has(const char *needle)
{
    return dir_holds(needle, false);
}

bool fx_dir_has_fold(const char *needle)
{
    return dir_holds(needle, true);
}
