/* Tests for the governance half of storage/store.h: the change history,
 * provenance, erasure, retention, the facts cap, the users listing, the
 * store's secret, and (LMDB only) encryption at rest, compaction and key
 * rotation, checked against the bytes of the store's files. Cases that run
 * on both backends use the loop index _i: 0 = mem, 1 = lmdb. */
#include <check.h>
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "status.h"
#include "store.h"

Suite *mp_test_suite(void);

#define U(s)   (s), (sizeof(s) - 1)
#define MEM    0
#define LMDB   1
#define CANARY "CANARY-7f3a9"

static char tmpdir[64];
static struct mp_store_options opts;
static struct mp_seal_key key_a, key_b;

/* ---- helpers ---- */

static struct mp_seal_key parse_key(const char *hex)
{
    struct mp_seal_key k;
    char why[128] = "";
    ck_assert_msg(
        mp_seal_key_parse((const unsigned char *)hex, strlen(hex), &k, why, sizeof(why)) == MP_OK,
        "key: %s", why);
    return k;
}

static void setup(void)
{
    key_a = parse_key("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
    key_b = parse_key("f0e1d2c3b4a5968778695a4b3c2d1e0f0f1e2d3c4b5a69788796a5b4c3d2e1f0");
}

/* Opens the LMDB store at tmpdir with key (NULL: clear): the status, with
 * the reason in err. */
static int try_open(const struct mp_seal_key *key, struct mp_store **out, char *err, size_t cap)
{
    struct mp_store_options o = opts;
    o.key = key;
    err[0] = '\0';
    return mp_store_open_lmdb(&o, out, err, cap);
}

static struct mp_store *open_with(const struct mp_seal_key *key)
{
    struct mp_store *store = NULL;
    char err[256];
    int rc = try_open(key, &store, err, sizeof(err));
    ck_assert_msg(rc == MP_OK, "open: %s", err);
    return store;
}

static void make_dir(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/mp_gov_test_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    opts =
        (struct mp_store_options){.path = tmpdir, .map_size = 1 << 20, .sync = MP_STORE_SYNC_NONE};
}

static struct mp_store *open_backend(int which)
{
    struct mp_store *store = NULL;
    if (which == MEM) {
        ck_assert_int_eq(mp_store_open_mem(&store), MP_OK);
        return store;
    }
    make_dir();
    return open_with(NULL);
}

static struct mp_store *open_sealed(void)
{
    make_dir();
    opts.key = &key_a;
    return open_with(opts.key);
}

/* LMDB: close and open again (what survives is what is on disk). */
static struct mp_store *reopen(struct mp_store *store, int which)
{
    if (which == MEM)
        return store;
    mp_store_free(store);
    return open_with(opts.key);
}

/* Only data.mdb and lock.mdb may be left: no rewrite leftovers. */
static void remove_dir(void)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/data.mdb", tmpdir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/lock.mdb", tmpdir);
    unlink(path);
    ck_assert_int_eq(rmdir(tmpdir), 0);
}

static void close_backend(struct mp_store *store, int which)
{
    mp_store_free(store);
    if (which == LMDB)
        remove_dir();
}

/* True when any regular file in tmpdir holds needle. */
static bool dir_has(const char *needle)
{
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    bool found = false;
    ck_assert_ptr_nonnull(d);
    while (!found && (e = readdir(d)) != NULL) {
        char path[512];
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", tmpdir, e->d_name);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        FILE *f = fopen(path, "rb");
        ck_assert_ptr_nonnull(f);
        char *buf = malloc((size_t)st.st_size + 1);
        ck_assert_ptr_nonnull(buf);
        size_t n = fread(buf, 1, (size_t)st.st_size, f);
        fclose(f);
        found = memmem(buf, n, needle, strlen(needle)) != NULL;
        free(buf);
    }
    closedir(d);
    return found;
}

/* The op's result when the apply succeeded, else the apply's error. */
static int apply1(struct mp_store *store, struct mp_op *op)
{
    int rc = mp_store_apply(store, op, 1);
    return rc == MP_OK ? op->result : rc;
}

static struct mp_mem_message msg(enum mp_role role, const char *text, int64_t at)
{
    struct mp_mem_message m = {.role = role, .at_ms = at};
    m.content = (char *)text;
    m.content_len = strlen(text);
    snprintf(m.request_id, sizeof(m.request_id), "req-%lld", (long long)at);
    return m;
}

static struct mp_op turn_op(const char *user, size_t ulen, uint8_t idem,
                            const struct mp_mem_message *m, size_t n, int64_t now)
{
    struct mp_op op = {.kind = MP_OP_RECORD_TURN, .user = user, .user_len = ulen, .now_ms = now};
    op.u.turn.messages = m;
    op.u.turn.nmessages = n;
    memset(op.u.turn.idem_key, idem, MP_IDEM_KEY_LEN);
    return op;
}

/* A user message and the reply, observed at `at`, recorded at `now`. */
static int turn(struct mp_store *store, const char *user, size_t ulen, uint8_t idem,
                const char *said, const char *reply, int64_t at, int64_t now)
{
    struct mp_mem_message m[2] = {msg(MP_ROLE_USER, said, at), msg(MP_ROLE_ASSISTANT, reply, at)};
    struct mp_op op = turn_op(user, ulen, idem, m, 2, now);
    return apply1(store, &op);
}

/* Observed at `observed`, recorded 5 ms later, source turn "req-<observed>". */
static struct mp_op upsert_op(const char *user, size_t ulen, const char *key, const char *value,
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
             trust >= MP_TRUST_CORRECTED ? "" : "extractor-1");
    return op;
}

static int upsert(struct mp_store *store, const char *user, size_t ulen, const char *key,
                  const char *value, enum mp_trust trust, int64_t observed)
{
    struct mp_op op = upsert_op(user, ulen, key, value, trust, observed);
    return apply1(store, &op);
}

static struct mp_op delete_op(const char *user, size_t ulen, const char *key, enum mp_actor actor,
                              int64_t now)
{
    struct mp_op op = {.kind = MP_OP_DELETE_ENTITY, .user = user, .user_len = ulen, .now_ms = now};
    op.actor = actor;
    snprintf(op.u.key, sizeof(op.u.key), "%s", key);
    return op;
}

static int summarize(struct mp_store *store, const char *user, size_t ulen, const char *text,
                     uint64_t through, int64_t now)
{
    struct mp_op op = {.kind = MP_OP_SET_SUMMARY, .user = user, .user_len = ulen, .now_ms = now};
    op.u.summary.text = text;
    op.u.summary.text_len = strlen(text);
    op.u.summary.through_seq = through;
    op.u.summary.model = "summarizer-1";
    return apply1(store, &op);
}

static struct mp_op sweep_op(const char *user, size_t ulen, int64_t now, int64_t max_age,
                             int64_t pii_age, int64_t idem_age)
{
    struct mp_op op = {.kind = MP_OP_SWEEP_USER, .user = user, .user_len = ulen, .now_ms = now};
    op.u.sweep.retention = (struct mp_retention){max_age, pii_age, idem_age};
    return op;
}

static void add_job(struct mp_store *store, const char *user, size_t ulen)
{
    struct mp_op op = {.kind = MP_OP_ADD_JOB};
    op.u.job.kind = MP_JOB_SUMMARIZE;
    memcpy(op.u.job.user, user, ulen);
    op.u.job.user_len = ulen;
    op.u.job.through_seq = 2;
    ck_assert_int_eq(apply1(store, &op), MP_OK);
}

static size_t njobs(struct mp_store *store)
{
    struct mp_job *jobs = NULL;
    size_t n = 0;
    ck_assert_int_eq(mp_store_jobs(store, &jobs, &n), MP_OK);
    free(jobs);
    return n;
}

static struct mp_usermem *get(struct mp_store *store, const char *user, size_t ulen)
{
    struct mp_usermem *um = NULL;
    ck_assert_int_eq(mp_store_get(store, user, ulen, &um), MP_OK);
    ck_assert_ptr_nonnull(um);
    return um;
}

static bool absent(struct mp_store *store, const char *user, size_t ulen)
{
    struct mp_usermem *um = NULL;
    struct mp_history *h = NULL;
    return mp_store_get(store, user, ulen, &um) == MP_NOTFOUND &&
           mp_store_history(store, user, ulen, &h) == MP_NOTFOUND;
}

static const char *entity_value(const struct mp_usermem *um, const char *key)
{
    for (size_t i = 0; i < um->nentities; i++) {
        if (strcmp(um->entities[i].key, key) == 0)
            return um->entities[i].value;
    }
    return NULL;
}

static struct mp_history *history(struct mp_store *store, const char *user, size_t ulen)
{
    struct mp_history *h = NULL;
    ck_assert_int_eq(mp_store_history(store, user, ulen, &h), MP_OK);
    ck_assert_ptr_nonnull(h);
    return h;
}

/* Asserts entry i: seq, event, actor, item, at_ms; for facts the key,
 * revision and value ("" when the entry keeps none). */
static const struct mp_history_item *entry_is(const struct mp_history *h, size_t i, uint64_t seq,
                                              enum mp_history_event event, enum mp_actor actor,
                                              enum mp_item_kind item, int64_t at)
{
    ck_assert_uint_lt(i, h->nitems);
    const struct mp_history_item *it = &h->items[i];
    ck_assert_uint_eq(it->seq, seq);
    ck_assert_int_eq(it->event, event);
    ck_assert_int_eq(it->actor, actor);
    ck_assert_int_eq(it->item, item);
    ck_assert_int_eq(it->at_ms, at);
    if (item != MP_ITEM_FACT) {
        ck_assert_str_eq(it->entity.key, "");
        ck_assert_str_eq(it->entity.value, "");
    }
    return it;
}

static void fact_is(const struct mp_history_item *it, const char *key, uint32_t revision,
                    const char *value)
{
    ck_assert_str_eq(it->entity.key, key);
    ck_assert_uint_eq(it->entity.revision, revision);
    ck_assert_str_eq(it->entity.value, value);
    ck_assert_uint_eq(it->entity.value_len, strlen(value));
}

/* A tenant-namespaced user key: MP_USER_KEY_TENANT, 16 bytes of t, id. */
static size_t tenant_key(char *out, unsigned char t, const char *id)
{
    out[0] = MP_USER_KEY_TENANT;
    memset(out + 1, t, MP_TENANT_LEN);
    memcpy(out + 1 + MP_TENANT_LEN, id, strlen(id));
    return 1 + MP_TENANT_LEN + strlen(id);
}

/* Every user of tenant, page by page with the given limit, into list
 * (cap entries); returns how many. Asserts that every page but the last
 * is full and has a cursor, and the last has none. */
static size_t list_all(struct mp_store *store, const unsigned char *tenant, size_t limit,
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

static bool info_is(const struct mp_user_info *info, const char *user, size_t ulen)
{
    return info->user_len == ulen && memcmp(info->user, user, ulen) == 0;
}

/* ---- change history ---- */

START_TEST(test_gov_history_insert_by_extractor_logs_added)
{
    struct mp_store *store = open_backend(_i);
    ck_assert_int_eq(upsert(store, U("alice"), "city", "Lyon", MP_TRUST_STATED, 1000), MP_OK);
    struct mp_op op = upsert_op(U("alice"), "lang", "C", MP_TRUST_INFERRED, 2000);
    op.u.entity.source_role = MP_ROLE_ASSISTANT;
    ck_assert_int_eq(apply1(store, &op), MP_OK);
    ck_assert_uint_eq(op.u.entity.revision, 2);
    store = reopen(store, _i);
    struct mp_history *h = history(store, U("alice"));
    ck_assert_uint_eq(h->nitems, 2);
    const struct mp_history_item *it =
        entry_is(h, 0, 1, MP_HIST_ADDED, MP_ACTOR_EXTRACTOR, MP_ITEM_FACT, 1005);
    fact_is(it, "city", 1, "");
    ck_assert_int_eq(it->entity.trust, MP_TRUST_STATED);
    ck_assert_int_eq(it->entity.observed_at_ms, 1000);
    ck_assert_int_eq(it->entity.recorded_at_ms, 1005);
    ck_assert_double_eq(it->entity.confidence, 0.75);
    ck_assert_str_eq(it->entity.request_id, "req-1000");
    ck_assert_str_eq(it->entity.model, "extractor-1");
    it = entry_is(h, 1, 2, MP_HIST_ADDED, MP_ACTOR_EXTRACTOR, MP_ITEM_FACT, 2005);
    fact_is(it, "lang", 2, "");
    ck_assert_int_eq(it->entity.trust, MP_TRUST_INFERRED);
    ck_assert_int_eq(it->entity.source_role, MP_ROLE_ASSISTANT);
    mp_history_free(h);
    close_backend(store, _i);
}
END_TEST

START_TEST(test_gov_history_correction_logs_corrected_by_user)
{
    struct mp_store *store = open_backend(_i);
    ck_assert_int_eq(upsert(store, U("alice"), "name", "Ada", MP_TRUST_CORRECTED, 100), MP_OK);
    ck_assert_int_eq(upsert(store, U("alice"), "city", "Lyon", MP_TRUST_STATED, 200), MP_OK);
    ck_assert_int_eq(upsert(store, U("alice"), "city", "Nice", MP_TRUST_CORRECTED, 150), MP_OK);
    struct mp_history *h = history(store, U("alice"));
    ck_assert_uint_eq(h->nitems, 4);
    fact_is(entry_is(h, 0, 1, MP_HIST_CORRECTED, MP_ACTOR_USER, MP_ITEM_FACT, 105), "name", 1, "");
    fact_is(entry_is(h, 1, 2, MP_HIST_ADDED, MP_ACTOR_EXTRACTOR, MP_ITEM_FACT, 205), "city", 2, "");
    fact_is(entry_is(h, 2, 3, MP_HIST_SUPERSEDED, MP_ACTOR_USER, MP_ITEM_FACT, 155), "city", 2,
            "Lyon");
    fact_is(entry_is(h, 3, 4, MP_HIST_CORRECTED, MP_ACTOR_USER, MP_ITEM_FACT, 155), "city", 4, "");
    ck_assert_int_eq(h->items[3].entity.trust, MP_TRUST_CORRECTED);
    mp_history_free(h);
    close_backend(store, _i);
}
END_TEST

START_TEST(test_gov_history_admin_trust_logs_corrected_by_admin)
{
    struct mp_store *store = open_backend(_i);
    ck_assert_int_eq(upsert(store, U("alice"), "plan", "pro", MP_TRUST_ADMIN, 100), MP_OK);
    ck_assert_int_eq(upsert(store, U("alice"), "name", "Ada", MP_TRUST_CORRECTED, 100), MP_OK);
    ck_assert_int_eq(upsert(store, U("alice"), "name", "Ada L.", MP_TRUST_ADMIN, 100), MP_OK);
    struct mp_history *h = history(store, U("alice"));
    ck_assert_uint_eq(h->nitems, 4);
    fact_is(entry_is(h, 0, 1, MP_HIST_CORRECTED, MP_ACTOR_ADMIN, MP_ITEM_FACT, 105), "plan", 1, "");
    fact_is(entry_is(h, 1, 2, MP_HIST_CORRECTED, MP_ACTOR_USER, MP_ITEM_FACT, 105), "name", 2, "");
    fact_is(entry_is(h, 2, 3, MP_HIST_SUPERSEDED, MP_ACTOR_ADMIN, MP_ITEM_FACT, 105), "name", 2,
            "Ada");
    fact_is(entry_is(h, 3, 4, MP_HIST_CORRECTED, MP_ACTOR_ADMIN, MP_ITEM_FACT, 105), "name", 4, "");
    mp_history_free(h);
    close_backend(store, _i);
}
END_TEST

START_TEST(test_gov_history_replacement_keeps_old_value_in_superseded)
{
    struct mp_store *store = open_backend(_i);
    struct mp_op op = upsert_op(U("alice"), "db", "Pinecone", MP_TRUST_STATED, 1000);
    op.u.entity.pii = true;
    ck_assert_int_eq(apply1(store, &op), MP_OK);
    op = upsert_op(U("alice"), "db", "ChromaDB", MP_TRUST_INFERRED, 3000);
    ck_assert_int_eq(apply1(store, &op), MP_NOTFOUND); /* weaker: nothing logged */
    op = upsert_op(U("alice"), "db", "ChromaDB", MP_TRUST_STATED, 2000);
    ck_assert_int_eq(apply1(store, &op), MP_OK);
    ck_assert_uint_eq(op.u.entity.revision, 3);
    store = reopen(store, _i);
    struct mp_history *h = history(store, U("alice"));
    ck_assert_uint_eq(h->nitems, 3);
    fact_is(entry_is(h, 0, 1, MP_HIST_ADDED, MP_ACTOR_EXTRACTOR, MP_ITEM_FACT, 1005), "db", 1, "");
    const struct mp_history_item *it =
        entry_is(h, 1, 2, MP_HIST_SUPERSEDED, MP_ACTOR_EXTRACTOR, MP_ITEM_FACT, 2005);
    fact_is(it, "db", 1, "Pinecone");
    ck_assert_int_eq(it->entity.observed_at_ms, 1000); /* the displaced value's provenance */
    ck_assert_int_eq(it->entity.recorded_at_ms, 1005);
    ck_assert_str_eq(it->entity.request_id, "req-1000");
    ck_assert(it->entity.pii);
    it = entry_is(h, 2, 3, MP_HIST_ADDED, MP_ACTOR_EXTRACTOR, MP_ITEM_FACT, 2005);
    fact_is(it, "db", 3, "");
    ck_assert_str_eq(it->entity.request_id, "req-2000");
    ck_assert(!it->entity.pii);
    mp_history_free(h);
    close_backend(store, _i);
}
END_TEST

START_TEST(test_gov_history_refresh_logs_nothing)
{
    struct mp_store *store = open_backend(_i);
    ck_assert_int_eq(upsert(store, U("alice"), "lang", "C", MP_TRUST_INFERRED, 1000), MP_OK);
    ck_assert_int_eq(upsert(store, U("alice"), "lang", "C", MP_TRUST_INFERRED, 2000), MP_OK);
    ck_assert_int_eq(upsert(store, U("alice"), "lang", "C", MP_TRUST_STATED, 3000), MP_OK);
    struct mp_history *h = history(store, U("alice"));
    ck_assert_uint_eq(h->nitems, 1);
    mp_history_free(h);
    /* The next change takes the next seqs: refreshes used none. */
    struct mp_op op = upsert_op(U("alice"), "lang", "Rust", MP_TRUST_STATED, 4000);
    ck_assert_int_eq(apply1(store, &op), MP_OK);
    ck_assert_uint_eq(op.u.entity.revision, 3);
    h = history(store, U("alice"));
    ck_assert_uint_eq(h->nitems, 3);
    fact_is(entry_is(h, 1, 2, MP_HIST_SUPERSEDED, MP_ACTOR_EXTRACTOR, MP_ITEM_FACT, 4005), "lang",
            1, "C");
    ck_assert_int_eq(h->items[1].entity.observed_at_ms, 3000); /* as refreshed */
    ck_assert_int_eq(h->items[1].entity.trust, MP_TRUST_STATED);
    mp_history_free(h);
    close_backend(store, _i);
}
END_TEST

START_TEST(test_gov_history_set_summary_logs_summarized)
{
    struct mp_store *store = open_backend(_i);
    ck_assert_int_eq(turn(store, U("alice"), 1, "q1", "a1", 100, 101), MP_OK); /* seqs 1, 2 */
    ck_assert_int_eq(turn(store, U("alice"), 2, "q2", "a2", 200, 201), MP_OK); /* seqs 3, 4 */
    ck_assert_int_eq(summarize(store, U("alice"), "first", 3, 900), MP_OK);
    struct mp_op trim = {.kind = MP_OP_TRIM_MESSAGES, .user = "alice", .user_len = 5};
    trim.u.summary.through_seq = 3;
    ck_assert_int_eq(apply1(store, &trim), MP_OK); /* logs nothing */
    ck_assert_int_eq(summarize(store, U("alice"), "second", 4, 950), MP_OK);
    store = reopen(store, _i);
    struct mp_history *h = history(store, U("alice"));
    ck_assert_uint_eq(h->nitems, 2);
    const struct mp_history_item *it =
        entry_is(h, 0, 1, MP_HIST_SUMMARIZED, MP_ACTOR_SUMMARIZER, MP_ITEM_SUMMARY, 900);
    ck_assert_str_eq(it->entity.request_id, "req-200"); /* seq 3: the newest folded turn */
    ck_assert_str_eq(it->entity.model, "summarizer-1");
    ck_assert_int_eq(it->entity.observed_at_ms, 200);
    it = entry_is(h, 1, 2, MP_HIST_SUMMARIZED, MP_ACTOR_SUMMARIZER, MP_ITEM_SUMMARY, 950);
    ck_assert_str_eq(it->entity.request_id, "req-200");
    mp_history_free(h);
    close_backend(store, _i);
}
END_TEST

/* ---- provenance ---- */

START_TEST(test_gov_messages_keep_provenance)
{
    struct mp_store *store = open_backend(_i);
    struct mp_mem_message m[2] = {msg(MP_ROLE_USER, "I am Ada", 700),
                                  msg(MP_ROLE_ASSISTANT, "Hi Ada", 710)};
    m[0].pii = true;
    m[0].recorded_at_ms = 5; /* the store sets it */
    snprintf(m[0].model, sizeof(m[0].model), "chat-model-1");
    snprintf(m[1].model, sizeof(m[1].model), "chat-model-1");
    snprintf(m[1].request_id, sizeof(m[1].request_id), "req-700");
    struct mp_op op = turn_op(U("alice"), 1, m, 2, 1234);
    ck_assert_int_eq(apply1(store, &op), MP_OK);
    store = reopen(store, _i);
    struct mp_usermem *um = get(store, U("alice"));
    ck_assert_uint_eq(um->nmessages, 2);
    for (size_t i = 0; i < 2; i++) {
        ck_assert_int_eq(um->messages[i].recorded_at_ms, 1234);
        ck_assert_str_eq(um->messages[i].request_id, "req-700");
        ck_assert_str_eq(um->messages[i].model, "chat-model-1");
    }
    ck_assert_int_eq(um->messages[0].at_ms, 700);
    ck_assert_int_eq(um->messages[1].at_ms, 710);
    ck_assert(um->messages[0].pii);
    ck_assert(!um->messages[1].pii);
    mp_usermem_free(um);
    close_backend(store, _i);
}
END_TEST

START_TEST(test_gov_summary_takes_provenance_of_newest_folded_message)
{
    struct mp_store *store = open_backend(_i);
    ck_assert_int_eq(turn(store, U("alice"), 1, "q1", "a1", 100, 101), MP_OK); /* seqs 1, 2 */
    ck_assert_int_eq(turn(store, U("alice"), 2, "q2", "a2", 200, 201), MP_OK); /* seqs 3, 4 */
    ck_assert_int_eq(turn(store, U("alice"), 3, "q3", "a3", 300, 301), MP_OK); /* seqs 5, 6 */
    struct mp_op op = {.kind = MP_OP_SET_SUMMARY, .user = "alice", .user_len = 5, .now_ms = 900};
    op.u.summary.text = "Ada asked three things.";
    op.u.summary.text_len = strlen(op.u.summary.text);
    op.u.summary.through_seq = 4;
    op.u.summary.model = "summarizer-2";
    op.u.summary.pii = true;
    ck_assert_int_eq(apply1(store, &op), MP_OK);
    store = reopen(store, _i);
    struct mp_usermem *um = get(store, U("alice"));
    ck_assert_str_eq(um->summary.text, "Ada asked three things.");
    ck_assert_str_eq(um->summary.model, "summarizer-2");
    ck_assert_str_eq(um->summary.request_id, "req-200");
    ck_assert_int_eq(um->summary.observed_at_ms, 200);
    ck_assert_int_eq(um->summary.updated_at_ms, 900);
    ck_assert_uint_eq(um->summary.covers_through_seq, 4);
    ck_assert(um->summary.pii);
    ck_assert_uint_eq(um->nmessages, 2);
    mp_usermem_free(um);
    op.u.summary.through_seq = 6;
    op.u.summary.model = NULL; /* "" */
    op.u.summary.pii = false;
    ck_assert_int_eq(apply1(store, &op), MP_OK);
    um = get(store, U("alice"));
    ck_assert_str_eq(um->summary.model, "");
    ck_assert_str_eq(um->summary.request_id, "req-300");
    ck_assert_int_eq(um->summary.observed_at_ms, 300);
    ck_assert(!um->summary.pii);
    mp_usermem_free(um);
    close_backend(store, _i);
}
END_TEST

/* ---- erasure ---- */

START_TEST(test_gov_delete_entity_needs_user_or_admin_actor)
{
    struct mp_store *store = open_backend(_i);
    const enum mp_actor others[3] = {MP_ACTOR_EXTRACTOR, MP_ACTOR_SUMMARIZER, MP_ACTOR_RETENTION};
    ck_assert_int_eq(upsert(store, U("alice"), "pet", "cat", MP_TRUST_STATED, 10), MP_OK);
    ck_assert_int_eq(upsert(store, U("alice"), "city", "Lyon", MP_TRUST_STATED, 10), MP_OK);
    for (size_t i = 0; i < 3; i++) {
        struct mp_op op = delete_op(U("alice"), "pet", others[i], 50);
        ck_assert_int_eq(mp_store_apply(store, &op, 1), MP_EINVAL);
        ck_assert_int_eq(op.result, MP_EINVAL);
    }
    struct mp_op op = delete_op(U("alice"), "pet", MP_ACTOR_USER, 60);
    ck_assert_int_eq(apply1(store, &op), MP_OK);
    op = delete_op(U("alice"), "city", MP_ACTOR_ADMIN, 70);
    ck_assert_int_eq(apply1(store, &op), MP_OK);
    struct mp_usermem *um = get(store, U("alice"));
    ck_assert_uint_eq(um->nentities, 0);
    mp_usermem_free(um);
    struct mp_history *h = history(store, U("alice"));
    ck_assert_uint_eq(h->nitems, 4);
    fact_is(entry_is(h, 2, 3, MP_HIST_DELETED, MP_ACTOR_USER, MP_ITEM_FACT, 60), "pet", 1, "");
    fact_is(entry_is(h, 3, 4, MP_HIST_DELETED, MP_ACTOR_ADMIN, MP_ITEM_FACT, 70), "city", 2, "");
    mp_history_free(h);
    close_backend(store, _i);
}
END_TEST

START_TEST(test_gov_delete_entity_strips_past_values_from_history)
{
    struct mp_store *store = open_backend(_i);
    ck_assert_int_eq(upsert(store, U("alice"), "city", "Lyon", MP_TRUST_STATED, 10), MP_OK);
    ck_assert_int_eq(upsert(store, U("alice"), "pet", "cat", MP_TRUST_STATED, 10), MP_OK);
    ck_assert_int_eq(upsert(store, U("alice"), "city", "Nice", MP_TRUST_STATED, 20), MP_OK);
    ck_assert_int_eq(upsert(store, U("alice"), "pet", "dog", MP_TRUST_STATED, 20), MP_OK);
    ck_assert_int_eq(upsert(store, U("alice"), "city", "Oslo", MP_TRUST_CORRECTED, 30), MP_OK);
    struct mp_op op = delete_op(U("alice"), "city", MP_ACTOR_USER, 99);
    ck_assert_int_eq(apply1(store, &op), MP_OK);
    store = reopen(store, _i);
    struct mp_history *h = history(store, U("alice"));
    ck_assert_uint_eq(h->nitems, 9); /* the entries stay */
    fact_is(entry_is(h, 0, 1, MP_HIST_ADDED, MP_ACTOR_EXTRACTOR, MP_ITEM_FACT, 15), "city", 1, "");
    fact_is(entry_is(h, 2, 3, MP_HIST_SUPERSEDED, MP_ACTOR_EXTRACTOR, MP_ITEM_FACT, 25), "city", 1,
            "");
    fact_is(entry_is(h, 4, 5, MP_HIST_SUPERSEDED, MP_ACTOR_EXTRACTOR, MP_ITEM_FACT, 25), "pet", 2,
            "cat"); /* another key keeps its past */
    fact_is(entry_is(h, 6, 7, MP_HIST_SUPERSEDED, MP_ACTOR_USER, MP_ITEM_FACT, 35), "city", 4, "");
    fact_is(entry_is(h, 7, 8, MP_HIST_CORRECTED, MP_ACTOR_USER, MP_ITEM_FACT, 35), "city", 8, "");
    fact_is(entry_is(h, 8, 9, MP_HIST_DELETED, MP_ACTOR_USER, MP_ITEM_FACT, 99), "city", 8, "");
    for (size_t i = 0; i < h->nitems; i++) {
        ck_assert(strstr(h->items[i].entity.value, "Lyon") == NULL);
        ck_assert(strstr(h->items[i].entity.value, "Nice") == NULL);
    }
    mp_history_free(h);
    struct mp_usermem *um = get(store, U("alice"));
    ck_assert_ptr_null(entity_value(um, "city"));
    ck_assert_str_eq(entity_value(um, "pet"), "dog");
    mp_usermem_free(um);
    close_backend(store, _i);
}
END_TEST

START_TEST(test_gov_delete_entity_drops_summary_and_messages_that_tell_it)
{
    struct mp_store *store = open_backend(_i);
    ck_assert_int_eq(turn(store, U("alice"), 1, "hello", "hi", 100, 100), MP_OK); /* 1, 2 */
    ck_assert_int_eq(turn(store, U("alice"), 2, "I moved south", "noted", 200, 200), MP_OK);
    ck_assert_int_eq(turn(store, U("alice"), 3, "LYON is lovely", "indeed", 300, 300), MP_OK);
    ck_assert_int_eq(turn(store, U("alice"), 4, "Paris too", "sure, lYoN", 400, 400), MP_OK);
    ck_assert_int_eq(upsert(store, U("alice"), "city", "Lyon", MP_TRUST_STATED, 200), MP_OK);
    ck_assert_int_eq(upsert(store, U("alice"), "pet", "cat", MP_TRUST_STATED, 100), MP_OK);
    ck_assert_int_eq(summarize(store, U("alice"), "Ada lives in Lyon.", 0, 500), MP_OK);
    struct mp_op op = delete_op(U("alice"), "city", MP_ACTOR_USER, 999);
    ck_assert_int_eq(apply1(store, &op), MP_OK);
    store = reopen(store, _i);
    struct mp_usermem *um = get(store, U("alice"));
    ck_assert_ptr_null(um->summary.text);
    ck_assert_ptr_null(entity_value(um, "city"));
    ck_assert_str_eq(entity_value(um, "pet"), "cat");
    /* gone: seqs 3, 4 (the fact's turn req-200), 5 ("LYON"), 8 ("lYoN") */
    ck_assert_uint_eq(um->nmessages, 4);
    const uint64_t seqs[4] = {1, 2, 6, 7};
    const char *texts[4] = {"hello", "hi", "indeed", "Paris too"};
    for (size_t i = 0; i < 4; i++) {
        ck_assert_uint_eq(um->messages[i].seq, seqs[i]);
        ck_assert_str_eq(um->messages[i].content, texts[i]);
    }
    ck_assert_uint_eq(um->next_seq, 9);
    mp_usermem_free(um);
    struct mp_history *h = history(store, U("alice"));
    ck_assert_uint_eq(h->nitems, 6); /* ADDED x2, SUMMARIZED, then the erasure */
    const struct mp_history_item *it =
        entry_is(h, 3, 4, MP_HIST_DELETED, MP_ACTOR_USER, MP_ITEM_FACT, 999);
    fact_is(it, "city", 1, "");
    it = entry_is(h, 4, 5, MP_HIST_DELETED, MP_ACTOR_USER, MP_ITEM_MESSAGES, 999);
    ck_assert_uint_eq(it->count, 4);
    entry_is(h, 5, 6, MP_HIST_DELETED, MP_ACTOR_USER, MP_ITEM_SUMMARY, 999);
    mp_history_free(h);
    close_backend(store, _i);
}
END_TEST

START_TEST(test_gov_delete_entity_leaves_no_summary_provenance)
{
    struct mp_store *store = open_backend(_i);
    ck_assert_int_eq(turn(store, U("alice"), 1, "hello", "hi", 100, 100), MP_OK);
    ck_assert_int_eq(summarize(store, U("alice"), "Ada greets.", 2, 150), MP_OK);
    ck_assert_int_eq(upsert(store, U("alice"), "pet", "cat", MP_TRUST_STATED, 100), MP_OK);
    struct mp_op op = delete_op(U("alice"), "pet", MP_ACTOR_USER, 200);
    ck_assert_int_eq(apply1(store, &op), MP_OK);
    /* A new summary folding no buffered message has no source turn. */
    ck_assert_int_eq(summarize(store, U("alice"), "Ada.", 2, 300), MP_OK);
    struct mp_usermem *um = get(store, U("alice"));
    ck_assert_str_eq(um->summary.text, "Ada.");
    ck_assert_str_eq(um->summary.request_id, "");
    ck_assert_int_eq(um->summary.observed_at_ms, 0);
    ck_assert_int_eq(um->summary.updated_at_ms, 300);
    mp_usermem_free(um);
    close_backend(store, _i);
}
END_TEST

START_TEST(test_gov_delete_entity_absent_key_is_notfound)
{
    struct mp_store *store = open_backend(_i);
    ck_assert_int_eq(turn(store, U("alice"), 1, "hello", "hi", 100, 100), MP_OK);
    ck_assert_int_eq(upsert(store, U("alice"), "pet", "cat", MP_TRUST_STATED, 100), MP_OK);
    ck_assert_int_eq(summarize(store, U("alice"), "sum", 0, 150), MP_OK);
    struct mp_op op = delete_op(U("alice"), "city", MP_ACTOR_USER, 200);
    ck_assert_int_eq(mp_store_apply(store, &op, 1), MP_OK);
    ck_assert_int_eq(op.result, MP_NOTFOUND);
    op = delete_op(U("ghost"), "city", MP_ACTOR_ADMIN, 200);
    ck_assert_int_eq(apply1(store, &op), MP_NOTFOUND);
    ck_assert(absent(store, U("ghost"))); /* not created by the attempt */
    struct mp_usermem *um = get(store, U("alice"));
    ck_assert_str_eq(um->summary.text, "sum"); /* nothing erased */
    ck_assert_uint_eq(um->nmessages, 2);
    mp_usermem_free(um);
    struct mp_history *h = history(store, U("alice"));
    ck_assert_uint_eq(h->nitems, 2); /* nothing logged */
    mp_history_free(h);
    close_backend(store, _i);
}
END_TEST

START_TEST(test_gov_if_match_on_another_revision_fails_the_apply)
{
    struct mp_store *store = open_backend(_i);
    ck_assert_int_eq(upsert(store, U("alice"), "city", "Lyon", MP_TRUST_STATED, 10), MP_OK);
    struct mp_mem_message m[1] = {msg(MP_ROLE_USER, "q", 20)};
    struct mp_op ops[2] = {turn_op(U("alice"), 1, m, 1, 20),
                           upsert_op(U("alice"), "city", "Nice", MP_TRUST_ADMIN, 20)};
    ops[1].if_match = true;
    ops[1].if_revision = 7;
    ck_assert_int_eq(mp_store_apply(store, ops, 2), MP_ECONFLICT);
    ops[1].if_revision = 0; /* "no current value" is a revision too */
    ck_assert_int_eq(mp_store_apply(store, ops, 2), MP_ECONFLICT);
    struct mp_op del = delete_op(U("alice"), "city", MP_ACTOR_ADMIN, 30);
    del.if_match = true;
    del.if_revision = 2;
    ck_assert_int_eq(mp_store_apply(store, &del, 1), MP_ECONFLICT);
    struct mp_usermem *um = get(store, U("alice"));
    ck_assert_uint_eq(um->nmessages, 0); /* the turn went with the apply */
    ck_assert_str_eq(entity_value(um, "city"), "Lyon");
    mp_usermem_free(um);
    ops[1].if_revision = 1;
    ck_assert_int_eq(mp_store_apply(store, ops, 2), MP_OK);
    ck_assert_uint_eq(ops[1].u.entity.revision, 3);
    struct mp_op pet = upsert_op(U("alice"), "pet", "cat", MP_TRUST_ADMIN, 20);
    pet.if_match = true;
    pet.if_revision = 0;
    ck_assert_int_eq(apply1(store, &pet), MP_OK);
    del.if_revision = 3;
    ck_assert_int_eq(apply1(store, &del), MP_OK);
    struct mp_history *h = history(store, U("alice"));
    /* ADDED, SUPERSEDED, CORRECTED, CORRECTED, DELETED, and DELETED for the
     * message of the fact's source turn (req-20) */
    ck_assert_uint_eq(h->nitems, 6);
    ck_assert_int_eq(h->items[5].item, MP_ITEM_MESSAGES);
    mp_history_free(h);
    close_backend(store, _i);
}
END_TEST

/* ---- DELETE_USER ---- */

START_TEST(test_gov_delete_user_forgets_history_idem_keys_and_jobs)
{
    struct mp_store *store = open_backend(_i);
    for (int u = 0; u < 2; u++) {
        const char *user = u == 0 ? "alice" : "bob";
        ck_assert_int_eq(turn(store, user, strlen(user), 5, "q", "a", 10, 10), MP_OK);
        ck_assert_int_eq(upsert(store, user, strlen(user), "pet", "cat", MP_TRUST_STATED, 10),
                         MP_OK);
        ck_assert_int_eq(summarize(store, user, strlen(user), "sum", 0, 20), MP_OK);
        add_job(store, user, strlen(user));
    }
    struct mp_op op = {.kind = MP_OP_DELETE_USER, .user = "alice", .user_len = 5};
    ck_assert_int_eq(apply1(store, &op), MP_OK);
    store = reopen(store, _i);
    ck_assert(absent(store, U("alice")));
    ck_assert_uint_eq(njobs(store), 1);
    struct mp_user_info list[4];
    ck_assert_uint_eq(list_all(store, NULL, 10, list, 4), 1);
    ck_assert(info_is(&list[0], U("bob")));
    /* The same turn (same idem key) is recorded again, as new. */
    ck_assert_int_eq(turn(store, U("alice"), 5, "q", "a", 30, 30), MP_OK);
    struct mp_history *h = history(store, U("alice"));
    ck_assert_uint_eq(h->nitems, 0);
    mp_history_free(h);
    h = history(store, U("bob"));
    ck_assert_uint_eq(h->nitems, 2);
    mp_history_free(h);
    close_backend(store, _i);
}
END_TEST

/* ---- retention ---- */

#define NOW  1000000
#define KEEP 500000 /* max_age_ms in most sweeps: older than NOW - KEEP expires */

START_TEST(test_gov_sweep_purges_expired_items_and_logs_expired)
{
    struct mp_store *store = open_backend(_i);
    /* Observed long ago, recorded recently: items expire, history entries do not. */
    ck_assert_int_eq(turn(store, U("alice"), 1, "old q", "old a", 100, 990000), MP_OK);
    ck_assert_int_eq(turn(store, U("alice"), 2, "new q", "new a", 900000, 990000), MP_OK);
    struct mp_op op = upsert_op(U("alice"), "old", "x", MP_TRUST_STATED, 100);
    op.now_ms = 990000;
    ck_assert_int_eq(apply1(store, &op), MP_OK);
    op = upsert_op(U("alice"), "new", "y", MP_TRUST_STATED, 900000);
    ck_assert_int_eq(apply1(store, &op), MP_OK);
    ck_assert_int_eq(summarize(store, U("alice"), "sum", 1, 990000), MP_OK); /* folds seq 1 */
    op = sweep_op(U("alice"), NOW, KEEP, 0, 0);
    ck_assert_int_eq(apply1(store, &op), MP_OK);
    ck_assert_uint_eq(op.u.sweep.counts.messages, 1); /* seq 2; seq 1 was folded */
    ck_assert_uint_eq(op.u.sweep.counts.facts, 1);
    ck_assert_uint_eq(op.u.sweep.counts.summaries, 1); /* observed at 100 */
    ck_assert_uint_eq(op.u.sweep.counts.history, 0);
    ck_assert_uint_eq(op.u.sweep.counts.idem, 0);
    store = reopen(store, _i);
    struct mp_usermem *um = get(store, U("alice"));
    ck_assert_uint_eq(um->nmessages, 2);
    ck_assert_str_eq(um->messages[0].content, "new q");
    ck_assert_uint_eq(um->nentities, 1);
    ck_assert_str_eq(um->entities[0].key, "new");
    ck_assert_ptr_null(um->summary.text);
    mp_usermem_free(um);
    struct mp_history *h = history(store, U("alice"));
    ck_assert_uint_eq(h->nitems, 6); /* ADDED x2, SUMMARIZED, EXPIRED x3 */
    const struct mp_history_item *it =
        entry_is(h, 3, 4, MP_HIST_EXPIRED, MP_ACTOR_RETENTION, MP_ITEM_MESSAGES, NOW);
    ck_assert_uint_eq(it->count, 1);
    fact_is(entry_is(h, 4, 5, MP_HIST_EXPIRED, MP_ACTOR_RETENTION, MP_ITEM_FACT, NOW), "old", 1,
            "");
    entry_is(h, 5, 6, MP_HIST_EXPIRED, MP_ACTOR_RETENTION, MP_ITEM_SUMMARY, NOW);
    mp_history_free(h);
    close_backend(store, _i);
}
END_TEST

START_TEST(test_gov_sweep_pii_items_expire_by_the_pii_limit)
{
    struct mp_store *store = open_backend(_i);
    struct mp_mem_message m[2] = {msg(MP_ROLE_USER, "my phone is 555", 800000),
                                  msg(MP_ROLE_ASSISTANT, "ok", 800000)};
    m[0].pii = true;
    struct mp_op op = turn_op(U("alice"), 1, m, 2, 990000);
    ck_assert_int_eq(apply1(store, &op), MP_OK);
    op = upsert_op(U("alice"), "phone", "555", MP_TRUST_STATED, 800000);
    op.u.entity.pii = true;
    op.now_ms = 990000;
    ck_assert_int_eq(apply1(store, &op), MP_OK);
    op = upsert_op(U("alice"), "lang", "C", MP_TRUST_STATED, 800000);
    op.now_ms = 990000;
    ck_assert_int_eq(apply1(store, &op), MP_OK);
    /* max_age keeps all of it (800000 > NOW - KEEP); the pii limit does not. */
    op = sweep_op(U("alice"), NOW, KEEP, 100000, 0);
    ck_assert_int_eq(apply1(store, &op), MP_OK);
    ck_assert_uint_eq(op.u.sweep.counts.messages, 1);
    ck_assert_uint_eq(op.u.sweep.counts.facts, 1);
    struct mp_usermem *um = get(store, U("alice"));
    ck_assert_uint_eq(um->nmessages, 1);
    ck_assert_str_eq(um->messages[0].content, "ok");
    ck_assert_uint_eq(um->nentities, 1);
    ck_assert_str_eq(um->entities[0].key, "lang");
    mp_usermem_free(um);
    /* A pii limit longer than max_age does not extend it: at NOW + 400000
     * the pii fact is past max_age (900000 > 800000), not past its own. */
    op = upsert_op(U("bob"), "phone", "555", MP_TRUST_STATED, 800000);
    op.u.entity.pii = true;
    ck_assert_int_eq(apply1(store, &op), MP_OK);
    op = sweep_op(U("bob"), NOW + 400000, KEEP, 900000, 0);
    ck_assert_int_eq(apply1(store, &op), MP_OK);
    ck_assert_uint_eq(op.u.sweep.counts.facts, 1);
    close_backend(store, _i);
}
END_TEST

START_TEST(test_gov_sweep_pii_summary_expires_by_the_pii_limit)
{
    struct mp_store *store = open_backend(_i);
    ck_assert_int_eq(turn(store, U("alice"), 1, "q", "a", 800000, 800000), MP_OK);
    struct mp_op op = {.kind = MP_OP_SET_SUMMARY, .user = "alice", .user_len = 5, .now_ms = 990000};
    op.u.summary.text = "Ada's phone is 555";
    op.u.summary.text_len = strlen(op.u.summary.text);
    op.u.summary.through_seq = 2;
    op.u.summary.pii = true;
    ck_assert_int_eq(apply1(store, &op), MP_OK);
    op = sweep_op(U("alice"), NOW, KEEP, 300000, 0);
    ck_assert_int_eq(apply1(store, &op), MP_OK);
    ck_assert_uint_eq(op.u.sweep.counts.summaries, 0); /* observed 800000: young enough */
    op = sweep_op(U("alice"), NOW, KEEP, 100000, 0);
    ck_assert_int_eq(apply1(store, &op), MP_OK);
    ck_assert_uint_eq(op.u.sweep.counts.summaries, 1);
    struct mp_usermem *um = get(store, U("alice"));
    ck_assert_ptr_null(um->summary.text);
    mp_usermem_free(um);
    close_backend(store, _i);
}
END_TEST

START_TEST(test_gov_sweep_purges_old_history_entries)
{
    struct mp_store *store = open_backend(_i);
    ck_assert_int_eq(upsert(store, U("alice"), "city", "Lyon", MP_TRUST_STATED, 100), MP_OK);
    ck_assert_int_eq(upsert(store, U("alice"), "city", "Nice", MP_TRUST_STATED, 200), MP_OK);
    struct mp_op op = delete_op(U("alice"), "city", MP_ACTOR_USER, 300);
    ck_assert_int_eq(apply1(store, &op), MP_OK);
    ck_assert_int_eq(upsert(store, U("alice"), "pet", "cat", MP_TRUST_STATED, 900000), MP_OK);
    op = sweep_op(U("alice"), NOW, KEEP, 0, 0);
    ck_assert_int_eq(apply1(store, &op), MP_OK);
    ck_assert_uint_eq(op.u.sweep.counts.history, 4); /* ADDED, SUPERSEDED, ADDED, DELETED */
    ck_assert_uint_eq(op.u.sweep.counts.facts, 0);
    store = reopen(store, _i);
    struct mp_history *h = history(store, U("alice"));
    ck_assert_uint_eq(h->nitems, 1);
    fact_is(entry_is(h, 0, 5, MP_HIST_ADDED, MP_ACTOR_EXTRACTOR, MP_ITEM_FACT, 900005), "pet", 5,
            "");
    mp_history_free(h);
    /* Seqs are not reused after a purge. */
    ck_assert_int_eq(upsert(store, U("alice"), "city", "Oslo", MP_TRUST_STATED, 900000), MP_OK);
    h = history(store, U("alice"));
    ck_assert_uint_eq(h->nitems, 2);
    ck_assert_uint_eq(h->items[1].seq, 6);
    mp_history_free(h);
    close_backend(store, _i);
}
END_TEST

START_TEST(test_gov_sweep_purges_old_idem_keys)
{
    struct mp_store *store = open_backend(_i);
    ck_assert_int_eq(turn(store, U("alice"), 1, "q1", "a1", 100, 100), MP_OK);
    ck_assert_int_eq(turn(store, U("alice"), 2, "q2", "a2", 999500, 999500), MP_OK);
    struct mp_op op = sweep_op(U("alice"), NOW, 0, 0, 1000);
    ck_assert_int_eq(apply1(store, &op), MP_OK);
    ck_assert_uint_eq(op.u.sweep.counts.idem, 1);
    ck_assert_uint_eq(op.u.sweep.counts.messages, 0); /* no item limit */
    ck_assert_uint_eq(op.u.sweep.counts.history, 0);
    store = reopen(store, _i);
    /* A retry of the old turn is recorded again; of the young one, not. */
    ck_assert_int_eq(turn(store, U("alice"), 1, "q1", "a1", 100, NOW), MP_OK);
    ck_assert_int_eq(turn(store, U("alice"), 2, "q2", "a2", 999500, NOW), MP_NOTFOUND);
    struct mp_usermem *um = get(store, U("alice"));
    ck_assert_uint_eq(um->nmessages, 6);
    mp_usermem_free(um);
    close_backend(store, _i);
}
END_TEST

START_TEST(test_gov_sweep_zero_limits_expire_nothing)
{
    struct mp_store *store = open_backend(_i);
    struct mp_mem_message m[1] = {msg(MP_ROLE_USER, "old", 1)};
    m[0].pii = true;
    struct mp_op op = turn_op(U("alice"), 1, m, 1, 1);
    ck_assert_int_eq(apply1(store, &op), MP_OK);
    ck_assert_int_eq(upsert(store, U("alice"), "pet", "cat", MP_TRUST_STATED, 1), MP_OK);
    ck_assert_int_eq(summarize(store, U("alice"), "sum", 0, 2), MP_OK);
    op = sweep_op(U("alice"), NOW, 0, 0, 0);
    ck_assert_int_eq(apply1(store, &op), MP_OK);
    ck_assert_uint_eq(op.u.sweep.counts.messages + op.u.sweep.counts.facts +
                          op.u.sweep.counts.summaries + op.u.sweep.counts.history +
                          op.u.sweep.counts.idem,
                      0);
    struct mp_usermem *um = get(store, U("alice"));
    ck_assert_uint_eq(um->nmessages, 1);
    ck_assert_uint_eq(um->nentities, 1);
    ck_assert_str_eq(um->summary.text, "sum");
    mp_usermem_free(um);
    struct mp_history *h = history(store, U("alice"));
    ck_assert_uint_eq(h->nitems, 2); /* no EXPIRED entry */
    mp_history_free(h);
    ck_assert_int_eq(turn(store, U("alice"), 1, "old", "x", 1, NOW), MP_NOTFOUND);
    close_backend(store, _i);
}
END_TEST

START_TEST(test_gov_sweep_user_left_with_nothing_disappears)
{
    struct mp_store *store = open_backend(_i);
    ck_assert_int_eq(turn(store, U("alice"), 1, "q", "a", 100, 100), MP_OK);
    ck_assert_int_eq(upsert(store, U("alice"), "pet", "cat", MP_TRUST_STATED, 100), MP_OK);
    ck_assert_int_eq(turn(store, U("bob"), 1, "q", "a", NOW, NOW), MP_OK);
    struct mp_op op = sweep_op(U("alice"), NOW, 1000, 0, 1000);
    ck_assert_int_eq(apply1(store, &op), MP_OK);
    ck_assert_uint_eq(op.u.sweep.counts.history, 1);
    ck_assert_uint_eq(op.u.sweep.counts.idem, 1);
    /* The EXPIRED entries just logged keep the user for now. */
    struct mp_history *h = history(store, U("alice"));
    ck_assert_uint_eq(h->nitems, 2);
    mp_history_free(h);
    struct mp_usermem *um = get(store, U("alice"));
    ck_assert_uint_eq(um->nmessages + um->nentities, 0);
    mp_usermem_free(um);
    op = sweep_op(U("alice"), NOW + 2000, 1000, 0, 1000);
    ck_assert_int_eq(apply1(store, &op), MP_OK);
    ck_assert_uint_eq(op.u.sweep.counts.history, 2);
    store = reopen(store, _i);
    ck_assert(absent(store, U("alice")));
    struct mp_user_info list[4];
    ck_assert_uint_eq(list_all(store, NULL, 10, list, 4), 1);
    ck_assert(info_is(&list[0], U("bob")));
    op = sweep_op(U("alice"), NOW + 3000, 1000, 0, 1000);
    ck_assert_int_eq(apply1(store, &op), MP_NOTFOUND);
    close_backend(store, _i);
}
END_TEST

START_TEST(test_gov_sweep_unknown_user_is_notfound)
{
    struct mp_store *store = open_backend(_i);
    struct mp_op op = sweep_op(U("ghost"), NOW, 1, 1, 1);
    op.u.sweep.counts.facts = 77;
    ck_assert_int_eq(mp_store_apply(store, &op, 1), MP_OK);
    ck_assert_int_eq(op.result, MP_NOTFOUND);
    ck_assert_uint_eq(op.u.sweep.counts.facts, 77); /* not written */
    ck_assert(absent(store, U("ghost")));
    op = sweep_op(U("ghost"), NOW, -1, 0, 0);
    ck_assert_int_eq(apply1(store, &op), MP_EINVAL);
    close_backend(store, _i);
}
END_TEST

/* ---- facts cap ---- */

START_TEST(test_gov_facts_cap_refuses_a_new_key_past_the_max)
{
    struct mp_store *store = open_backend(_i);
    static struct mp_op ops[MP_STORE_FACTS_MAX];
    static char keys[MP_STORE_FACTS_MAX][8];
    for (size_t i = 0; i < MP_STORE_FACTS_MAX; i++) {
        snprintf(keys[i], sizeof(keys[i]), "k%03zu", i);
        ops[i] = upsert_op(U("alice"), keys[i], "v", MP_TRUST_STATED, 10);
    }
    ck_assert_int_eq(mp_store_apply(store, ops, MP_STORE_FACTS_MAX), MP_OK);
    ck_assert_int_eq(ops[MP_STORE_FACTS_MAX - 1].result, MP_OK);
    struct mp_op op = upsert_op(U("alice"), "extra", "v", MP_TRUST_ADMIN, 20);
    op.u.entity.revision = 4242;
    ck_assert_int_eq(mp_store_apply(store, &op, 1), MP_OK);
    ck_assert_int_eq(op.result, MP_ETOOBIG);
    ck_assert_uint_eq(op.u.entity.revision, 4242);
    /* An existing key still takes a new value. */
    ck_assert_int_eq(upsert(store, U("alice"), "k000", "w", MP_TRUST_STATED, 30), MP_OK);
    store = reopen(store, _i);
    struct mp_usermem *um = get(store, U("alice"));
    ck_assert_uint_eq(um->nentities, MP_STORE_FACTS_MAX);
    ck_assert_ptr_null(entity_value(um, "extra"));
    ck_assert_str_eq(entity_value(um, "k000"), "w");
    mp_usermem_free(um);
    struct mp_history *h = history(store, U("alice"));
    ck_assert_uint_eq(h->nitems, MP_STORE_FACTS_MAX + 2); /* nothing for "extra" */
    mp_history_free(h);
    close_backend(store, _i);
}
END_TEST

/* ---- listing ---- */

START_TEST(test_gov_users_lists_each_tenant_apart)
{
    struct mp_store *store = open_backend(_i);
    char k[5][64];
    size_t kl[5];
    kl[0] = strlen(strcpy(k[0], "alice"));
    kl[1] = strlen(strcpy(k[1], "bob"));
    kl[2] = tenant_key(k[2], 0xA1, "alice");
    kl[3] = tenant_key(k[3], 0xA1, "carol");
    kl[4] = tenant_key(k[4], 0xB2, "alice");
    for (size_t i = 0; i < 5; i++)
        ck_assert_int_eq(turn(store, k[i], kl[i], 1, "q", "a", 1, 1), MP_OK);
    unsigned char t1[MP_TENANT_LEN], t2[MP_TENANT_LEN], t3[MP_TENANT_LEN];
    memset(t1, 0xA1, sizeof(t1));
    memset(t2, 0xB2, sizeof(t2));
    memset(t3, 0xC3, sizeof(t3));
    struct mp_user_info list[8];
    ck_assert_uint_eq(list_all(store, NULL, 10, list, 8), 2);
    ck_assert(info_is(&list[0], k[0], kl[0]) && info_is(&list[1], k[1], kl[1]));
    ck_assert_uint_eq(list_all(store, t1, 10, list, 8), 2);
    ck_assert(info_is(&list[0], k[2], kl[2]) && info_is(&list[1], k[3], kl[3]));
    ck_assert_uint_eq(list_all(store, t2, 10, list, 8), 1);
    ck_assert(info_is(&list[0], k[4], kl[4]));
    ck_assert_uint_eq(list_all(store, t3, 10, list, 8), 0);
    ck_assert_uint_eq(list_all(store, mp_store_all_tenants, 10, list, 8), 5);
    close_backend(store, _i);
}
END_TEST

START_TEST(test_gov_users_pages_cover_every_user_once_in_order)
{
    struct mp_store *store = open_backend(_i);
    const char *ids[5] = {"u1", "u2", "u3", "u4", "u5"};
    char other[64];
    size_t olen = tenant_key(other, 0xA1, "u0");
    for (size_t i = 5; i-- > 0;)
        ck_assert_int_eq(turn(store, ids[i], 2, 1, "q", "a", 1, 1), MP_OK);
    ck_assert_int_eq(turn(store, other, olen, 1, "q", "a", 1, 1), MP_OK);
    const size_t limits[4] = {1, 2, 5, 6};
    for (size_t l = 0; l < 4; l++) {
        struct mp_user_info list[8];
        ck_assert_uint_eq(list_all(store, NULL, limits[l], list, 8), 5);
        for (size_t i = 0; i < 5; i++)
            ck_assert(info_is(&list[i], ids[i], 2));
    }
    close_backend(store, _i);
}
END_TEST

START_TEST(test_gov_users_cursor_of_another_tenant_is_einval)
{
    struct mp_store *store = open_backend(_i);
    char k[4][64];
    size_t kl[4];
    kl[0] = tenant_key(k[0], 0xA1, "alice");
    kl[1] = tenant_key(k[1], 0xA1, "bob");
    kl[2] = strlen(strcpy(k[2], "carol"));
    kl[3] = strlen(strcpy(k[3], "dave"));
    for (size_t i = 0; i < 4; i++)
        ck_assert_int_eq(turn(store, k[i], kl[i], 1, "q", "a", 1, 1), MP_OK);
    unsigned char t1[MP_TENANT_LEN], t2[MP_TENANT_LEN];
    memset(t1, 0xA1, sizeof(t1));
    memset(t2, 0xB2, sizeof(t2));
    unsigned char c1[MP_STORE_CURSOR_MAX], c0[MP_STORE_CURSOR_MAX], next[MP_STORE_CURSOR_MAX];
    size_t c1_len = 0, c0_len = 0, n = 0, next_len = 0;
    struct mp_user_info *page = NULL;
    ck_assert_int_eq(mp_store_users(store, t1, NULL, 0, 1, &page, &n, c1, &c1_len), MP_OK);
    free(page);
    ck_assert_uint_gt(c1_len, 0);
    ck_assert_int_eq(mp_store_users(store, NULL, NULL, 0, 1, &page, &n, c0, &c0_len), MP_OK);
    free(page);
    ck_assert_uint_gt(c0_len, 0);
    page = (struct mp_user_info *)&page;
    ck_assert_int_eq(mp_store_users(store, t2, c1, c1_len, 1, &page, &n, next, &next_len),
                     MP_EINVAL);
    ck_assert_int_eq(mp_store_users(store, NULL, c1, c1_len, 1, &page, &n, next, &next_len),
                     MP_EINVAL);
    ck_assert_int_eq(mp_store_users(store, t1, c0, c0_len, 1, &page, &n, next, &next_len),
                     MP_EINVAL);
    ck_assert_int_eq(mp_store_users(store, NULL, c0, c0_len, 0, &page, &n, next, &next_len),
                     MP_EINVAL); /* limit 0 */
    ck_assert_ptr_eq(page, (struct mp_user_info *)&page);
    /* Each cursor goes on within its own tenant. */
    ck_assert_int_eq(mp_store_users(store, t1, c1, c1_len, 5, &page, &n, next, &next_len), MP_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert(info_is(&page[0], k[1], kl[1]));
    ck_assert_uint_eq(next_len, 0);
    free(page);
    close_backend(store, _i);
}
END_TEST

START_TEST(test_gov_users_info_counts_facts_messages_and_summary)
{
    struct mp_store *store = open_backend(_i);
    ck_assert_int_eq(turn(store, U("alice"), 1, "q", "a", 40, 50), MP_OK);
    ck_assert_int_eq(turn(store, U("alice"), 2, "q", "a", 45, 55), MP_OK);
    ck_assert_int_eq(upsert(store, U("alice"), "pet", "cat", MP_TRUST_STATED, 60), MP_OK);
    ck_assert_int_eq(upsert(store, U("alice"), "city", "Lyon", MP_TRUST_STATED, 70), MP_OK);
    ck_assert_int_eq(summarize(store, U("alice"), "sum", 1, 777), MP_OK);
    ck_assert_int_eq(turn(store, U("bob"), 1, "q", "a", 1, 60), MP_OK);
    store = reopen(store, _i);
    struct mp_user_info list[4];
    ck_assert_uint_eq(list_all(store, NULL, 10, list, 4), 2);
    ck_assert(info_is(&list[0], U("alice")));
    ck_assert_uint_eq(list[0].nfacts, 2);
    ck_assert_uint_eq(list[0].nmessages, 3);
    ck_assert(list[0].summary);
    ck_assert_int_eq(list[0].updated_at_ms, 777);
    ck_assert(info_is(&list[1], U("bob")));
    ck_assert_uint_eq(list[1].nfacts, 0);
    ck_assert_uint_eq(list[1].nmessages, 2);
    ck_assert(!list[1].summary);
    ck_assert_int_eq(list[1].updated_at_ms, 60);
    /* Trimming the buffer is a change too. */
    struct mp_op trim = {.kind = MP_OP_TRIM_MESSAGES, .user = "alice", .user_len = 5};
    trim.now_ms = 800;
    trim.u.summary.through_seq = 4;
    ck_assert_int_eq(apply1(store, &trim), MP_OK);
    ck_assert_uint_eq(list_all(store, NULL, 10, list, 4), 2);
    ck_assert_uint_eq(list[0].nmessages, 0);
    ck_assert_int_eq(list[0].updated_at_ms, 800);
    close_backend(store, _i);
}
END_TEST

START_TEST(test_gov_lmdb_sealed_users_pages_cover_every_user_once)
{
    struct mp_store *store = open_sealed();
    char k[7][64];
    size_t kl[7];
    for (size_t i = 0; i < 7; i++) {
        char id[16];
        snprintf(id, sizeof(id), "user-%zu", i);
        kl[i] = i < 4 ? strlen(strcpy(k[i], id)) : tenant_key(k[i], 0xA1, id);
        ck_assert_int_eq(turn(store, k[i], kl[i], 1, "q", "a", 1, (int64_t)i + 10), MP_OK);
    }
    ck_assert_int_eq(upsert(store, k[2], kl[2], "pet", "cat", MP_TRUST_STATED, 10), MP_OK);
    unsigned char t1[MP_TENANT_LEN];
    memset(t1, 0xA1, sizeof(t1));
    for (size_t limit = 1; limit <= 3; limit++) {
        struct mp_user_info list[8];
        size_t n = list_all(store, NULL, limit, list, 8);
        ck_assert_uint_eq(n, 4);
        for (size_t i = 0; i < 4; i++) { /* each exactly once (hash order) */
            size_t seen = 0;
            for (size_t j = 0; j < n; j++) {
                if (!info_is(&list[j], k[i], kl[i]))
                    continue;
                seen++;
                ck_assert_uint_eq(list[j].nfacts, i == 2 ? 1 : 0);
                ck_assert_uint_eq(list[j].nmessages, 2);
            }
            ck_assert_uint_eq(seen, 1);
        }
        ck_assert_uint_eq(list_all(store, t1, limit, list, 8), 3);
        ck_assert_uint_eq(list_all(store, mp_store_all_tenants, limit, list, 8), 7);
    }
    /* The cursor does not reveal the user id. */
    unsigned char cur[MP_STORE_CURSOR_MAX];
    size_t cur_len = 0, n = 0;
    struct mp_user_info *page = NULL;
    ck_assert_int_eq(mp_store_users(store, NULL, NULL, 0, 1, &page, &n, cur, &cur_len), MP_OK);
    ck_assert_uint_gt(cur_len, 0);
    ck_assert_ptr_null(memmem(cur, cur_len, page[0].user, page[0].user_len));
    free(page);
    close_backend(store, LMDB);
}
END_TEST

/* ---- secret ---- */

START_TEST(test_gov_secret_is_32_random_bytes_per_store)
{
    struct mp_store *s1 = open_backend(_i);
    char dir1[64];
    memcpy(dir1, tmpdir, sizeof(dir1));
    struct mp_store *s2 = open_backend(_i);
    unsigned char a[MP_SEAL_KEY_LEN], again[MP_SEAL_KEY_LEN], b[MP_SEAL_KEY_LEN];
    unsigned char zero[MP_SEAL_KEY_LEN] = {0};
    ck_assert_int_eq(mp_store_secret(s1, a), MP_OK);
    ck_assert_int_eq(mp_store_secret(s1, again), MP_OK);
    ck_assert_int_eq(mp_store_secret(s2, b), MP_OK);
    ck_assert_mem_eq(a, again, MP_SEAL_KEY_LEN);
    ck_assert(memcmp(a, b, MP_SEAL_KEY_LEN) != 0);
    ck_assert(memcmp(a, zero, MP_SEAL_KEY_LEN) != 0);
    close_backend(s2, _i);
    if (_i == LMDB)
        memcpy(tmpdir, dir1, sizeof(dir1));
    close_backend(s1, _i);
}
END_TEST

START_TEST(test_gov_lmdb_secret_survives_reopen)
{
    for (int sealed = 0; sealed < 2; sealed++) {
        struct mp_store *store = sealed ? open_sealed() : open_backend(LMDB);
        unsigned char a[MP_SEAL_KEY_LEN], b[MP_SEAL_KEY_LEN];
        ck_assert_int_eq(mp_store_secret(store, a), MP_OK);
        store = reopen(store, LMDB);
        ck_assert_int_eq(mp_store_secret(store, b), MP_OK);
        ck_assert_mem_eq(a, b, MP_SEAL_KEY_LEN);
        close_backend(store, LMDB);
    }
}
END_TEST

/* ---- encryption at rest, compaction, key rotation (LMDB) ---- */

#define CANARY_USER "ada-" CANARY

/* The canary in every kind of record of user: two messages, a fact and
 * its past value, the summary; plus a job naming the user. */
static void fill_canary(struct mp_store *store, const char *user, size_t ulen)
{
    ck_assert_int_eq(turn(store, user, ulen, 1, "my code is " CANARY, "noted: " CANARY, 100, 100),
                     MP_OK);
    ck_assert_int_eq(upsert(store, user, ulen, "code", CANARY "-old", MP_TRUST_STATED, 90), MP_OK);
    ck_assert_int_eq(upsert(store, user, ulen, "code", CANARY, MP_TRUST_STATED, 100), MP_OK);
    ck_assert_int_eq(summarize(store, user, ulen, "Ada's code is " CANARY, 0, 200), MP_OK);
    add_job(store, user, ulen);
}

/* What fill_canary() wrote reads back intact. */
static void check_canary(struct mp_store *store, const char *user, size_t ulen)
{
    struct mp_usermem *um = get(store, user, ulen);
    ck_assert_uint_eq(um->nmessages, 2);
    ck_assert_str_eq(um->messages[0].content, "my code is " CANARY);
    ck_assert_str_eq(um->messages[1].content, "noted: " CANARY);
    ck_assert_str_eq(entity_value(um, "code"), CANARY);
    ck_assert_str_eq(um->summary.text, "Ada's code is " CANARY);
    mp_usermem_free(um);
    struct mp_history *h = history(store, user, ulen);
    ck_assert_uint_eq(h->nitems, 4);
    ck_assert_str_eq(h->items[1].entity.value, CANARY "-old");
    mp_history_free(h);
    struct mp_job *jobs = NULL;
    size_t n = 0;
    ck_assert_int_eq(mp_store_jobs(store, &jobs, &n), MP_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(jobs[0].user_len, ulen);
    ck_assert_mem_eq(jobs[0].user, user, ulen);
    free(jobs);
    ck_assert_int_eq(turn(store, user, ulen, 1, "retry", "retry", 100, 300), MP_NOTFOUND);
}

/* Nothing of what fill_canary() wrote is left in the live data. */
static void check_no_live_canary(struct mp_store *store, const char *user, size_t ulen)
{
    struct mp_usermem *um = NULL;
    if (mp_store_get(store, user, ulen, &um) == MP_OK) {
        for (size_t i = 0; i < um->nmessages; i++)
            ck_assert_ptr_null(strstr(um->messages[i].content, CANARY));
        for (size_t i = 0; i < um->nentities; i++)
            ck_assert_ptr_null(strstr(um->entities[i].value, CANARY));
        ck_assert_ptr_null(um->summary.text);
        mp_usermem_free(um);
    }
    struct mp_history *h = NULL;
    if (mp_store_history(store, user, ulen, &h) == MP_OK) {
        for (size_t i = 0; i < h->nitems; i++)
            ck_assert_ptr_null(strstr(h->items[i].entity.value, CANARY));
        mp_history_free(h);
    }
}

START_TEST(test_gov_lmdb_sealed_store_keeps_no_clear_text)
{
    for (int sealed = 0; sealed < 2; sealed++) {
        struct mp_store *store = sealed ? open_sealed() : open_backend(LMDB);
        char tk[64];
        size_t tlen = tenant_key(tk, 0xA1, CANARY_USER);
        fill_canary(store, U(CANARY_USER));
        ck_assert_int_eq(turn(store, tk, tlen, 1, "q", "a", 1, 1), MP_OK);
        mp_store_free(store);
        /* In clear the canary is there (the check is meaningful); sealed, not. */
        ck_assert_int_eq(dir_has(CANARY), !sealed);
        ck_assert_int_eq(dir_has(CANARY_USER), !sealed);
        ck_assert_int_eq(dir_has("summarizer-1"), !sealed);
        remove_dir();
    }
}
END_TEST

START_TEST(test_gov_lmdb_sealed_store_reads_back_with_its_key)
{
    struct mp_store *store = open_sealed();
    fill_canary(store, U(CANARY_USER));
    store = reopen(store, LMDB);
    check_canary(store, U(CANARY_USER));
    struct mp_user_info list[2];
    ck_assert_uint_eq(list_all(store, NULL, 5, list, 2), 1);
    ck_assert(info_is(&list[0], U(CANARY_USER)));
    close_backend(store, LMDB);
}
END_TEST

START_TEST(test_gov_lmdb_sealed_store_without_key_is_eio)
{
    struct mp_store *store = open_sealed();
    fill_canary(store, U("alice"));
    mp_store_free(store);
    char err[256];
    store = NULL;
    ck_assert_int_eq(try_open(NULL, &store, err, sizeof(err)), MP_EIO);
    ck_assert_ptr_null(store);
    ck_assert_msg(strstr(err, "encryption_key_file") != NULL, "err: %s", err);
    remove_dir();
}
END_TEST

START_TEST(test_gov_lmdb_sealed_store_with_another_key_is_eio)
{
    struct mp_store *store = open_sealed();
    fill_canary(store, U("alice"));
    mp_store_free(store);
    char err[256];
    store = NULL;
    ck_assert_int_eq(try_open(&key_b, &store, err, sizeof(err)), MP_EIO);
    ck_assert_ptr_null(store);
    ck_assert_msg(strstr(err, "key id") != NULL, "err: %s", err);
    remove_dir();
}
END_TEST

START_TEST(test_gov_lmdb_clear_store_with_a_key_is_eio)
{
    struct mp_store *store = open_backend(LMDB);
    fill_canary(store, U("alice"));
    mp_store_free(store);
    char err[256];
    store = NULL;
    ck_assert_int_eq(try_open(&key_a, &store, err, sizeof(err)), MP_EIO);
    ck_assert_ptr_null(store);
    ck_assert_msg(strstr(err, "rotate") != NULL, "err: %s", err);
    store = open_with(NULL); /* refused, not changed */
    check_canary(store, U("alice"));
    close_backend(store, LMDB);
}
END_TEST

static void compact(struct mp_store *store)
{
    char err[256] = "";
    ck_assert_msg(mp_store_compact(store, err, sizeof(err)) == MP_OK, "compact: %s", err);
}

static void rekey(const struct mp_seal_key *from, const struct mp_seal_key *to)
{
    struct mp_store_options o = opts;
    char err[256] = "";
    o.key = from;
    ck_assert_msg(mp_store_rekey_lmdb(&o, to, err, sizeof(err)) == MP_OK, "rekey: %s", err);
}

/* data.mdb's permission bits. */
static unsigned data_mode(void)
{
    char path[128];
    struct stat st;
    snprintf(path, sizeof(path), "%s/data.mdb", tmpdir);
    ck_assert_int_eq(stat(path, &st), 0);
    return st.st_mode & 0777u;
}

START_TEST(test_gov_lmdb_rewritten_file_stays_private)
{
    mode_t old = umask(022);
    struct mp_store *store = open_backend(LMDB);
    fill_canary(store, U("alice"));
    ck_assert_uint_eq(data_mode(), 0600);
    compact(store);
    ck_assert_uint_eq(data_mode(), 0600);
    mp_store_free(store);
    rekey(NULL, &key_a);
    ck_assert_uint_eq(data_mode(), 0600);
    umask(old);
    remove_dir();
}
END_TEST

START_TEST(test_gov_lmdb_erased_fact_leaves_the_files_only_with_compaction)
{
    struct mp_store *store = open_backend(LMDB);
    fill_canary(store, U("alice"));
    ck_assert_int_eq(turn(store, U("bob"), 1, "bob's data", "kept", 5, 5), MP_OK);
    struct mp_op op = delete_op(U("alice"), "code", MP_ACTOR_USER, 500);
    ck_assert_int_eq(apply1(store, &op), MP_OK);
    check_no_live_canary(store, U("alice"));
    /* Erased from the live data, yet still in freed pages of the file. */
    ck_assert(dir_has(CANARY));
    compact(store);
    ck_assert(!dir_has(CANARY));
    ck_assert(dir_has("bob's data"));
    struct mp_usermem *um = get(store, U("bob"));
    ck_assert_str_eq(um->messages[0].content, "bob's data");
    mp_usermem_free(um);
    struct mp_history *h = history(store, U("alice"));
    ck_assert_uint_eq(h->nitems, 7); /* ADDED, SUPERSEDED, ADDED, SUMMARIZED, DELETED x3 */
    mp_history_free(h);
    close_backend(store, LMDB);
}
END_TEST

START_TEST(test_gov_lmdb_deleted_user_leaves_the_files_only_with_compaction)
{
    struct mp_store *store = open_backend(LMDB);
    fill_canary(store, U("alice"));
    ck_assert_int_eq(turn(store, U("bob"), 1, "bob's data", "kept", 5, 5), MP_OK);
    struct mp_op op = {.kind = MP_OP_DELETE_USER, .user = "alice", .user_len = 5};
    ck_assert_int_eq(apply1(store, &op), MP_OK);
    ck_assert(absent(store, U("alice")));
    ck_assert(dir_has(CANARY));
    compact(store);
    ck_assert(!dir_has(CANARY));
    store = reopen(store, LMDB);
    ck_assert(!dir_has(CANARY));
    struct mp_usermem *um = get(store, U("bob"));
    ck_assert_str_eq(um->messages[0].content, "bob's data");
    mp_usermem_free(um);
    close_backend(store, LMDB);
}
END_TEST

START_TEST(test_gov_compaction_keeps_live_data_and_the_store_works)
{
    struct mp_store *store = open_backend(_i);
    fill_canary(store, U("alice"));
    ck_assert_int_eq(turn(store, U("bob"), 7, "bob's data", "kept", 5, 5), MP_OK);
    unsigned char before[MP_SEAL_KEY_LEN], after[MP_SEAL_KEY_LEN];
    ck_assert_int_eq(mp_store_secret(store, before), MP_OK);
    compact(store);
    compact(store); /* twice in a row is fine */
    check_canary(store, U("alice"));
    ck_assert_int_eq(mp_store_secret(store, after), MP_OK);
    ck_assert_mem_eq(before, after, MP_SEAL_KEY_LEN);
    ck_assert_int_eq(turn(store, U("bob"), 7, "bob's data", "kept", 5, 6), MP_NOTFOUND);
    /* Writes go on: seqs, history seqs and job ids continue. */
    struct mp_mem_message m[1] = {msg(MP_ROLE_USER, "after", 9)};
    struct mp_op ops[2] = {turn_op(U("bob"), 8, m, 1, 9), {.kind = MP_OP_ADD_JOB}};
    ops[1].u.job.kind = MP_JOB_EXTRACT;
    memcpy(ops[1].u.job.user, "bob", 3);
    ops[1].u.job.user_len = 3;
    ck_assert_int_eq(mp_store_apply(store, ops, 2), MP_OK);
    ck_assert_uint_eq(ops[0].u.turn.first_seq, 3);
    ck_assert_uint_eq(ops[1].u.job.id, 2);
    struct mp_op up = upsert_op(U("alice"), "pet", "cat", MP_TRUST_STATED, 10);
    ck_assert_int_eq(apply1(store, &up), MP_OK);
    ck_assert_uint_eq(up.u.entity.revision, 5);
    store = reopen(store, _i);
    struct mp_usermem *um = get(store, U("bob"));
    ck_assert_uint_eq(um->nmessages, 3);
    ck_assert_str_eq(um->messages[2].content, "after");
    mp_usermem_free(um);
    ck_assert_int_eq(mp_store_ping(store), MP_OK);
    close_backend(store, _i);
}
END_TEST

struct reader_arg {
    struct mp_store *store;
    atomic_bool *stop;
    int reads, bad;
};

/* Reads until told to stop. */
static void *reader(void *p)
{
    struct reader_arg *a = p;
    while (!atomic_load(a->stop)) {
        struct mp_usermem *um = NULL;
        int rc = mp_store_get(a->store, U("alice"), &um);
        a->reads++;
        /* every turn adds two messages: a torn read would show an odd count */
        if (rc != MP_OK || um->nmessages % 2 != 0 || um->nmessages == 0)
            a->bad++;
        mp_usermem_free(um);
    }
    return NULL;
}

START_TEST(test_gov_lmdb_reads_go_on_during_compaction)
{
    struct mp_store *store = open_sealed();
    struct reader_arg args[3];
    pthread_t th[3];
    atomic_bool stop = false;
    ck_assert_int_eq(turn(store, U("alice"), 0, "q", "a", 1, 1), MP_OK);
    for (int t = 0; t < 3; t++) {
        args[t] = (struct reader_arg){store, &stop, 0, 0};
        ck_assert_int_eq(pthread_create(&th[t], NULL, reader, &args[t]), 0);
    }
    for (uint8_t i = 1; i <= 6; i++) {
        ck_assert_int_eq(turn(store, U("alice"), i, "q", "a", i, i), MP_OK);
        compact(store);
    }
    atomic_store(&stop, true);
    for (int t = 0; t < 3; t++) {
        pthread_join(th[t], NULL);
        ck_assert_int_gt(args[t].reads, 0);
        ck_assert_int_eq(args[t].bad, 0);
    }
    struct mp_usermem *um = get(store, U("alice"));
    ck_assert_uint_eq(um->nmessages, 14);
    mp_usermem_free(um);
    close_backend(store, LMDB);
}
END_TEST

START_TEST(test_gov_lmdb_sealed_store_compacts_and_reads_back)
{
    struct mp_store *store = open_sealed();
    fill_canary(store, U(CANARY_USER));
    struct mp_op op = {.kind = MP_OP_DELETE_USER, .user = "gone", .user_len = 4};
    ck_assert_int_eq(apply1(store, &op), MP_OK);
    compact(store);
    check_canary(store, U(CANARY_USER));
    store = reopen(store, LMDB);
    check_canary(store, U(CANARY_USER));
    mp_store_free(store);
    ck_assert(!dir_has(CANARY));
    char err[256];
    ck_assert_int_eq(try_open(NULL, &store, err, sizeof(err)), MP_EIO);
    remove_dir();
}
END_TEST

START_TEST(test_gov_lmdb_rekey_encrypts_a_clear_store)
{
    struct mp_store *store = open_backend(LMDB);
    char tk[64];
    size_t tlen = tenant_key(tk, 0xA1, CANARY_USER);
    fill_canary(store, U(CANARY_USER));
    ck_assert_int_eq(turn(store, tk, tlen, 1, "tenant q", "a", 1, 1), MP_OK);
    unsigned char before[MP_SEAL_KEY_LEN], after[MP_SEAL_KEY_LEN];
    ck_assert_int_eq(mp_store_secret(store, before), MP_OK);
    mp_store_free(store);
    ck_assert(dir_has(CANARY));
    rekey(NULL, &key_a);
    ck_assert(!dir_has(CANARY));
    char err[256];
    store = NULL;
    ck_assert_int_eq(try_open(NULL, &store, err, sizeof(err)), MP_EIO);
    ck_assert_int_eq(try_open(&key_b, &store, err, sizeof(err)), MP_EIO);
    ck_assert_ptr_null(store);
    store = open_with(&key_a);
    check_canary(store, U(CANARY_USER));
    ck_assert_int_eq(mp_store_secret(store, after), MP_OK);
    ck_assert_mem_eq(before, after, MP_SEAL_KEY_LEN);
    unsigned char t1[MP_TENANT_LEN];
    memset(t1, 0xA1, sizeof(t1));
    struct mp_user_info list[2];
    ck_assert_uint_eq(list_all(store, t1, 5, list, 2), 1);
    ck_assert(info_is(&list[0], tk, tlen));
    struct mp_usermem *um = get(store, tk, tlen);
    ck_assert_str_eq(um->messages[0].content, "tenant q");
    mp_usermem_free(um);
    close_backend(store, LMDB);
}
END_TEST

START_TEST(test_gov_lmdb_rekey_rotates_to_a_new_key)
{
    struct mp_store *store = open_backend(LMDB);
    fill_canary(store, U(CANARY_USER));
    mp_store_free(store);
    rekey(NULL, &key_a);
    rekey(&key_a, &key_b);
    char err[256];
    store = NULL;
    ck_assert_int_eq(try_open(&key_a, &store, err, sizeof(err)), MP_EIO);
    ck_assert_msg(strstr(err, "key id") != NULL, "err: %s", err);
    ck_assert_ptr_null(store);
    struct mp_store_options o = opts;
    o.key = &key_a; /* the old key no longer reads it: nothing is rewritten */
    ck_assert_int_eq(mp_store_rekey_lmdb(&o, &key_b, err, sizeof(err)), MP_EIO);
    o.key = &key_b; /* no new key: refused, not decrypted into a clear store */
    ck_assert_int_eq(mp_store_rekey_lmdb(&o, NULL, err, sizeof(err)), MP_EIO);
    store = open_with(&key_b);
    check_canary(store, U(CANARY_USER)); /* the same user id finds its memory */
    mp_store_free(store);
    ck_assert(!dir_has(CANARY));
    store = open_with(&key_b);
    close_backend(store, LMDB);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("store_governance");
    TCase *tc = tcase_create("governance");
    tcase_add_unchecked_fixture(tc, setup, NULL);
    tcase_set_timeout(tc, 20);
    tcase_add_loop_test(tc, test_gov_history_insert_by_extractor_logs_added, 0, 2);
    tcase_add_loop_test(tc, test_gov_history_correction_logs_corrected_by_user, 0, 2);
    tcase_add_loop_test(tc, test_gov_history_admin_trust_logs_corrected_by_admin, 0, 2);
    tcase_add_loop_test(tc, test_gov_history_replacement_keeps_old_value_in_superseded, 0, 2);
    tcase_add_loop_test(tc, test_gov_history_refresh_logs_nothing, 0, 2);
    tcase_add_loop_test(tc, test_gov_history_set_summary_logs_summarized, 0, 2);
    tcase_add_loop_test(tc, test_gov_messages_keep_provenance, 0, 2);
    tcase_add_loop_test(tc, test_gov_summary_takes_provenance_of_newest_folded_message, 0, 2);
    tcase_add_loop_test(tc, test_gov_delete_entity_needs_user_or_admin_actor, 0, 2);
    tcase_add_loop_test(tc, test_gov_delete_entity_strips_past_values_from_history, 0, 2);
    tcase_add_loop_test(tc, test_gov_delete_entity_drops_summary_and_messages_that_tell_it, 0, 2);
    tcase_add_loop_test(tc, test_gov_delete_entity_leaves_no_summary_provenance, 0, 2);
    tcase_add_loop_test(tc, test_gov_delete_entity_absent_key_is_notfound, 0, 2);
    tcase_add_loop_test(tc, test_gov_if_match_on_another_revision_fails_the_apply, 0, 2);
    tcase_add_loop_test(tc, test_gov_delete_user_forgets_history_idem_keys_and_jobs, 0, 2);
    tcase_add_loop_test(tc, test_gov_sweep_purges_expired_items_and_logs_expired, 0, 2);
    tcase_add_loop_test(tc, test_gov_sweep_pii_items_expire_by_the_pii_limit, 0, 2);
    tcase_add_loop_test(tc, test_gov_sweep_pii_summary_expires_by_the_pii_limit, 0, 2);
    tcase_add_loop_test(tc, test_gov_sweep_purges_old_history_entries, 0, 2);
    tcase_add_loop_test(tc, test_gov_sweep_purges_old_idem_keys, 0, 2);
    tcase_add_loop_test(tc, test_gov_sweep_zero_limits_expire_nothing, 0, 2);
    tcase_add_loop_test(tc, test_gov_sweep_user_left_with_nothing_disappears, 0, 2);
    tcase_add_loop_test(tc, test_gov_sweep_unknown_user_is_notfound, 0, 2);
    tcase_add_loop_test(tc, test_gov_facts_cap_refuses_a_new_key_past_the_max, 0, 2);
    tcase_add_loop_test(tc, test_gov_users_lists_each_tenant_apart, 0, 2);
    tcase_add_loop_test(tc, test_gov_users_pages_cover_every_user_once_in_order, 0, 2);
    tcase_add_loop_test(tc, test_gov_users_cursor_of_another_tenant_is_einval, 0, 2);
    tcase_add_loop_test(tc, test_gov_users_info_counts_facts_messages_and_summary, 0, 2);
    tcase_add_test(tc, test_gov_lmdb_sealed_users_pages_cover_every_user_once);
    tcase_add_loop_test(tc, test_gov_secret_is_32_random_bytes_per_store, 0, 2);
    tcase_add_test(tc, test_gov_lmdb_secret_survives_reopen);
    tcase_add_test(tc, test_gov_lmdb_sealed_store_keeps_no_clear_text);
    tcase_add_test(tc, test_gov_lmdb_rewritten_file_stays_private);
    tcase_add_test(tc, test_gov_lmdb_sealed_store_reads_back_with_its_key);
    tcase_add_test(tc, test_gov_lmdb_sealed_store_without_key_is_eio);
    tcase_add_test(tc, test_gov_lmdb_sealed_store_with_another_key_is_eio);
    tcase_add_test(tc, test_gov_lmdb_clear_store_with_a_key_is_eio);
    tcase_add_test(tc, test_gov_lmdb_erased_fact_leaves_the_files_only_with_compaction);
    tcase_add_test(tc, test_gov_lmdb_deleted_user_leaves_the_files_only_with_compaction);
    tcase_add_loop_test(tc, test_gov_compaction_keeps_live_data_and_the_store_works, 0, 2);
    tcase_add_test(tc, test_gov_lmdb_sealed_store_compacts_and_reads_back);
    tcase_add_test(tc, test_gov_lmdb_reads_go_on_during_compaction);
    tcase_add_test(tc, test_gov_lmdb_rekey_encrypts_a_clear_store);
    tcase_add_test(tc, test_gov_lmdb_rekey_rotates_to_a_new_key);
    suite_add_tcase(s, tc);
    return s;
}
