/* The on-disk format, held still: tests/storage/data holds LMDB stores
 * that write_script() wrote, each pair one in clear and one sealed with
 * fx_key_a: clear/ and sealed/ (format version 2) with the code of commit
 * a6434c5, before the store ops moved above the backend primitives;
 * format6/ (format version 6, before messages kept their conversation)
 * with the code of commit 1747675. Each case opens a copy of one and
 * checks that it reads exactly as the same script reads on a store the
 * current code writes, goes on taking writes the same way, and (the clear
 * one) that the current code writes the very same records, byte for byte.
 *
 * To make the fixtures of a new format version (never to make a failing
 * case pass: the old ones stay as they are):
 *     MP_FORMAT_FIXTURE_OUT=DIR build/tests/storage/test_store_format
 * writes DIR/clear/data.mdb and DIR/sealed/data.mdb and prints their
 * secrets for the constants below. */
#include <check.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "format/codec.h"
#include "wire/convid.h"
#include "recall/lang.h"
#include "recall/memblock.h"
#include "format/termfilter.h"
#include "status.h"
#include "ops/store.h"
#include "store_fixture.h"
#include "view/view_facts.h"

Suite *mp_test_suite(void);

#ifndef MP_FORMAT_FIXTURE_DIR
#error "the build passes the fixture directory"
#endif

/* The secrets the fixture stores were made with. */
static const char clear_secret[] =
    "5afbcd1bb6caed0bb7b9aa1e3f4aeb8938caf1519f92ad205f4f3ebf1af9e179";
static const char sealed_secret[] =
    "9335b033e45d8cf9420dfd32975f23d70a7e17611004d9af03fbcb9b5133c814";
static const char clear6_secret[] =
    "faada1d537568844a1ae0b5fa90f1e32cfc48141077f1344de1ef3e479134795";
static const char sealed6_secret[] =
    "4cfe4f3a549202a22cef075cb72dc768969252d1fddb95eccd2848d672fbb27b";

#define NUSERS 6

/* The users the script writes (tenants 0x11 and 0x22 for two of them). */
static char users[NUSERS][64];
static size_t user_lens[NUSERS];

static void make_users(void)
{
    static const char *plain[] = {"alice", "bob", "eve", "frank"};
    for (int i = 0; i < 4; i++) {
        user_lens[i] = strlen(plain[i]);
        memcpy(users[i], plain[i], user_lens[i]);
    }
    user_lens[4] = fx_tenant_key(users[4], 0x11, "carol");
    user_lens[5] = fx_tenant_key(users[5], 0x22, "dave");
}

#define UK(i) users[i], user_lens[i]

static void ok(struct mp_store *store, struct mp_op *op)
{
    ck_assert_int_eq(fx_apply1(store, op), MP_OK);
}

/* Turns, facts that supersede and get corrected, a summary, an erased fact
 * (its history stripped), jobs added, updated and done, a deleted user, a
 * retention sweep, a capped history and tenants: every record kind and
 * every key shape of the format. */
static void write_script(struct mp_store *store)
{
    struct mp_mem_message m[2] = {fx_msg(MP_ROLE_USER, "my cat is called Tom", 10),
                                  fx_msg(MP_ROLE_ASSISTANT, "nice cat", 10)};
    m[0].pii = true;
    snprintf(m[1].model, sizeof(m[1].model), "chat-1");
    struct mp_op turn = fx_turn_op(UK(0), 1, m, 2, 11);
    struct mp_op job = {.kind = MP_OP_ADD_JOB, .now_ms = 11};
    job.u.job = fx_job_for(UK(0), MP_JOB_EXTRACT, 1);
    job.u.job.from_seq = job.u.job.through_seq = 0; /* inherits the turn's seqs */
    struct mp_op both[2] = {turn, job};
    ck_assert_int_eq(mp_store_apply(store, both, 2), MP_OK);
    ck_assert_int_eq(fx_turn(store, UK(0), 2, "I live in Paris", "ok", 20, 21), MP_OK);
    ck_assert_int_eq(fx_upsert(store, UK(0), "pet", "cat", MP_TRUST_STATED, 30), MP_OK);
    ck_assert_int_eq(fx_upsert(store, UK(0), "pet", "dog", MP_TRUST_STATED, 40), MP_OK);
    ck_assert_int_eq(fx_upsert(store, UK(0), "city", "Paris", MP_TRUST_CORRECTED, 50), MP_OK);
    ck_assert_int_eq(fx_summarize(store, UK(0), "alice has a dog", 2, 60), MP_OK);
    uint64_t j2 = fx_add_job(store, fx_job_for(UK(0), MP_JOB_SUMMARIZE, 4));
    uint64_t j3 = fx_add_job(store, fx_job_for(UK(1), MP_JOB_EXTRACT, 2));
    struct mp_op upd = {.kind = MP_OP_UPDATE_JOB, .now_ms = 70};
    upd.u.job = fx_job_for(UK(0), MP_JOB_SUMMARIZE, 4);
    upd.u.job.id = j2;
    upd.u.job.attempts = 2;
    upd.u.job.not_before_ms = 99;
    ok(store, &upd);

    ck_assert_int_eq(fx_turn(store, UK(1), 1, "I like pizza", "yum", 100, 101), MP_OK);
    ck_assert_int_eq(fx_upsert(store, UK(1), "food", "pizza", MP_TRUST_STATED, 100), MP_OK);
    ck_assert_int_eq(fx_upsert(store, UK(1), "food", "pasta", MP_TRUST_STATED, 110), MP_OK);
    ck_assert_int_eq(fx_upsert(store, UK(1), "sport", "tennis", MP_TRUST_INFERRED, 111), MP_OK);
    ck_assert_int_eq(fx_summarize(store, UK(1), "bob eats", 0, 115), MP_OK);
    struct mp_op del = fx_delete_op(UK(1), "food", MP_ACTOR_USER, 120);
    ok(store, &del);
    struct mp_op done = {.kind = MP_OP_DONE_JOB, .now_ms = 121};
    done.u.job_id = j3;
    ok(store, &done);

    ck_assert_int_eq(fx_turn(store, UK(2), 1, "old words", "old reply", 5, 5), MP_OK);
    ck_assert_int_eq(fx_turn(store, UK(2), 2, "new words", "new reply", 500, 500), MP_OK);
    ck_assert_int_eq(fx_upsert(store, UK(2), "old_fact", "gone soon", MP_TRUST_STATED, 6), MP_OK);
    struct mp_op sweep = {.kind = MP_OP_SWEEP_USER, .user = users[2], .user_len = user_lens[2]};
    sweep.now_ms = 600;
    sweep.u.sweep.retention.max_age_ms = 300;
    sweep.u.sweep.retention.idem_max_age_ms = 300;
    ok(store, &sweep);

    mp_store_set_history_cap(store, 2);
    for (int i = 0; i < 5; i++) {
        char v[16];
        snprintf(v, sizeof(v), "v%d", i);
        ck_assert_int_eq(fx_upsert(store, UK(3), "mood", v, MP_TRUST_STATED, 200 + i), MP_OK);
    }
    mp_store_set_history_cap(store, 0);

    ck_assert_int_eq(fx_turn(store, UK(4), 1, "tenant words", "tenant reply", 300, 301), MP_OK);
    ck_assert_int_eq(fx_upsert(store, UK(4), "team", "blue", MP_TRUST_ADMIN, 302), MP_OK);
    ck_assert_int_eq(fx_turn(store, UK(5), 1, "bye", "bye", 310, 311), MP_OK);
    fx_add_job(store, fx_job_for(UK(5), MP_JOB_EXTRACT, 2));
    struct mp_op gone = {.kind = MP_OP_DELETE_USER, .user = users[5], .user_len = user_lens[5]};
    gone.now_ms = 320;
    ok(store, &gone);
    fx_add_job(store, fx_job_for(UK(4), MP_JOB_EXTRACT, 2));
}

/* More writes on a store write_script() wrote: each record kind changed again. */
static void write_more(struct mp_store *store)
{
    ck_assert_int_eq(fx_turn(store, UK(0), 3, "my dog is Rex", "hi Rex", 700, 701), MP_OK);
    ck_assert_int_eq(fx_turn(store, UK(0), 2, "I live in Paris", "ok", 20, 702), MP_NOTFOUND);
    ck_assert_int_eq(fx_upsert(store, UK(0), "pet", "parrot", MP_TRUST_STATED, 710), MP_OK);
    struct mp_op del = fx_delete_op(UK(0), "city", MP_ACTOR_ADMIN, 720);
    ok(store, &del);
    ck_assert_int_eq(fx_summarize(store, UK(0), "alice has a parrot", 6, 730), MP_OK);
    fx_add_job(store, fx_job_for(UK(3), MP_JOB_SUMMARIZE, 9));
    ck_assert_int_eq(fx_turn(store, UK(4), 2, "more", "more", 740, 741), MP_OK);
    struct mp_op sweep = {.kind = MP_OP_SWEEP_USER, .user = users[1], .user_len = user_lens[1]};
    sweep.now_ms = 800;
    sweep.u.sweep.retention.max_age_ms = 695;
    ok(store, &sweep);
}

/* ---- comparing what two stores read ---- */

static void same_entity(const struct mp_mem_entity *a, const struct mp_mem_entity *b)
{
    ck_assert_str_eq(a->key, b->key);
    ck_assert_uint_eq(a->value_len, b->value_len);
    ck_assert_mem_eq(a->value, b->value, a->value_len);
    ck_assert(a->confidence == b->confidence);
    ck_assert_int_eq(a->observed_at_ms, b->observed_at_ms);
    ck_assert_int_eq(a->recorded_at_ms, b->recorded_at_ms);
    ck_assert_int_eq(a->trust, b->trust);
    ck_assert_int_eq(a->source_role, b->source_role);
    ck_assert_int_eq(a->pii, b->pii);
    ck_assert_uint_eq(a->revision, b->revision);
    ck_assert_str_eq(a->request_id, b->request_id);
    ck_assert_str_eq(a->model, b->model);
}

static void same_usermem(const struct mp_usermem *a, const struct mp_usermem *b)
{
    ck_assert_uint_eq(a->next_seq, b->next_seq);
    ck_assert_int_eq(a->summary.text != NULL, b->summary.text != NULL);
    ck_assert_uint_eq(a->summary.text_len, b->summary.text_len);
    if (a->summary.text != NULL)
        ck_assert_str_eq(a->summary.text, b->summary.text);
    ck_assert_int_eq(a->summary.updated_at_ms, b->summary.updated_at_ms);
    ck_assert_int_eq(a->summary.observed_at_ms, b->summary.observed_at_ms);
    ck_assert_uint_eq(a->summary.covers_through_seq, b->summary.covers_through_seq);
    ck_assert_str_eq(a->summary.request_id, b->summary.request_id);
    ck_assert_str_eq(a->summary.model, b->summary.model);
    ck_assert_int_eq(a->summary.pii, b->summary.pii);
    ck_assert_uint_eq(a->nmessages, b->nmessages);
    for (size_t i = 0; i < a->nmessages; i++) {
        const struct mp_mem_message *x = &a->messages[i], *y = &b->messages[i];
        ck_assert_int_eq(x->role, y->role);
        ck_assert_uint_eq(x->content_len, y->content_len);
        ck_assert_mem_eq(x->content, y->content, x->content_len);
        ck_assert_int_eq(x->at_ms, y->at_ms);
        ck_assert_int_eq(x->recorded_at_ms, y->recorded_at_ms);
        ck_assert_uint_eq(x->seq, y->seq);
        ck_assert_str_eq(x->request_id, y->request_id);
        ck_assert_str_eq(x->model, y->model);
        ck_assert_int_eq(x->pii, y->pii);
        ck_assert_uint_eq(x->conv, y->conv);
        ck_assert_uint_eq(x->conv_kind, y->conv_kind);
        ck_assert_uint_eq(x->reply_ref, y->reply_ref);
    }
    ck_assert_uint_eq(a->nentities, b->nentities);
    for (size_t i = 0; i < a->nentities; i++)
        same_entity(&a->entities[i], &b->entities[i]);
}

static void same_user(struct mp_store *a, struct mp_store *b, int u)
{
    struct mp_usermem *ua = NULL, *ub = NULL;
    struct mp_history *ha = NULL, *hb = NULL;
    int rc = mp_store_get(a, UK(u), &ua);
    ck_assert_int_eq(rc, mp_store_get(b, UK(u), &ub));
    if (rc == MP_OK)
        same_usermem(ua, ub);
    rc = mp_store_history(a, UK(u), &ha);
    ck_assert_int_eq(rc, mp_store_history(b, UK(u), &hb));
    ck_assert_uint_eq(rc == MP_OK ? ha->nitems : 0, rc == MP_OK ? hb->nitems : 0);
    for (size_t i = 0; rc == MP_OK && i < ha->nitems; i++) {
        const struct mp_history_item *x = &ha->items[i], *y = &hb->items[i];
        ck_assert_uint_eq(x->seq, y->seq);
        ck_assert_int_eq(x->event, y->event);
        ck_assert_int_eq(x->actor, y->actor);
        ck_assert_int_eq(x->item, y->item);
        ck_assert_int_eq(x->at_ms, y->at_ms);
        ck_assert_uint_eq(x->count, y->count);
        same_entity(&x->entity, &y->entity);
    }
    mp_usermem_free(ua);
    mp_usermem_free(ub);
    mp_history_free(ha);
    mp_history_free(hb);
}

static int info_cmp(const void *x, const void *y)
{
    const struct mp_user_info *a = x, *b = y;
    int c = memcmp(a->user, b->user, a->user_len < b->user_len ? a->user_len : b->user_len);
    return c != 0 ? c : (a->user_len > b->user_len) - (a->user_len < b->user_len);
}

/* Everything a store answers: users, histories, jobs, the listing (in the
 * store's order when in_order; a sealed store orders by hashed ids, which
 * differ from store to store). */
static void same_store(struct mp_store *a, struct mp_store *b, bool in_order)
{
    struct mp_job *ja = NULL, *jb = NULL;
    size_t na = 0, nb = 0;
    for (int u = 0; u < NUSERS; u++)
        same_user(a, b, u);
    ck_assert_int_eq(mp_store_jobs(a, &ja, &na), MP_OK);
    ck_assert_int_eq(mp_store_jobs(b, &jb, &nb), MP_OK);
    ck_assert_uint_eq(na, nb);
    for (size_t i = 0; i < na; i++) {
        ck_assert_uint_eq(ja[i].id, jb[i].id);
        ck_assert_int_eq(ja[i].kind, jb[i].kind);
        ck_assert_uint_eq(ja[i].user_len, jb[i].user_len);
        ck_assert_mem_eq(ja[i].user, jb[i].user, ja[i].user_len);
        ck_assert_uint_eq(ja[i].through_seq, jb[i].through_seq);
        ck_assert_uint_eq(ja[i].from_seq, jb[i].from_seq);
        ck_assert_uint_eq(ja[i].attempts, jb[i].attempts);
        ck_assert_int_eq(ja[i].not_before_ms, jb[i].not_before_ms);
        ck_assert_int_eq(ja[i].created_ms, jb[i].created_ms);
    }
    free(ja);
    free(jb);
    const unsigned char *tenants[2] = {mp_store_all_tenants, NULL};
    for (int t = 0; t < 2; t++) {
        struct mp_user_info la[NUSERS], lb[NUSERS];
        size_t n = fx_list_all(a, tenants[t], 2, la, NUSERS);
        ck_assert_uint_eq(n, fx_list_all(b, tenants[t], 2, lb, NUSERS));
        if (!in_order) {
            qsort(la, n, sizeof(la[0]), info_cmp);
            qsort(lb, n, sizeof(lb[0]), info_cmp);
        }
        for (size_t i = 0; i < n; i++) {
            ck_assert(fx_info_is(&la[i], lb[i].user, lb[i].user_len));
            ck_assert_uint_eq(la[i].nfacts, lb[i].nfacts);
            ck_assert_uint_eq(la[i].nmessages, lb[i].nmessages);
            ck_assert_int_eq(la[i].summary, lb[i].summary);
            ck_assert_int_eq(la[i].updated_at_ms, lb[i].updated_at_ms);
        }
    }
}

/* ---- raw records ---- */

struct raw_db {
    char name[16];
    size_t n;
    MDB_val *keys, *vals; /* copies */
};

static void raw_read(const char *dir, const char *name, struct raw_db *out)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_cursor *c;
    MDB_val k, v;
    memset(out, 0, sizeof(*out));
    snprintf(out->name, sizeof(out->name), "%s", name);
    ck_assert_int_eq(mdb_env_create(&env), 0);
    ck_assert_int_eq(mdb_env_set_maxdbs(env, 16), 0);
    ck_assert_int_eq(mdb_env_open(env, dir, MDB_NOTLS | MDB_RDONLY, 0600), 0);
    ck_assert_int_eq(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
    ck_assert_int_eq(mdb_dbi_open(txn, name, 0, &dbi), 0);
    ck_assert_int_eq(mdb_cursor_open(txn, dbi, &c), 0);
    for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        out->keys = realloc(out->keys, (out->n + 1) * sizeof(*out->keys));
        out->vals = realloc(out->vals, (out->n + 1) * sizeof(*out->vals));
        ck_assert(out->keys != NULL && out->vals != NULL);
        out->keys[out->n] = (MDB_val){k.mv_size, malloc(k.mv_size + 1)};
        out->vals[out->n] = (MDB_val){v.mv_size, malloc(v.mv_size + 1)};
        memcpy(out->keys[out->n].mv_data, k.mv_data, k.mv_size);
        memcpy(out->vals[out->n].mv_data, v.mv_data, v.mv_size);
        out->n++;
    }
    mdb_cursor_close(c);
    mdb_txn_abort(txn);
    mdb_env_close(env);
}

static void raw_free(struct raw_db *db)
{
    for (size_t i = 0; i < db->n; i++) {
        free(db->keys[i].mv_data);
        free(db->vals[i].mv_data);
    }
    free(db->keys);
    free(db->vals);
}

/* A user record with its fact and index counters and its term filter
 * cleared: a converted store numbers its facts in key order, a store that
 * lived through the script in the order they came, and indexed archived
 * messages the conversion does not have, so only these may differ. */
static void users_without_counters(MDB_val *v)
{
    struct mp_codec_user meta;
    struct mp_usermem *um = NULL;
    ck_assert_int_eq(mp_codec_get_user(v->mv_data, v->mv_size, &meta, &um), MP_OK);
    meta.next_fact = 1;
    meta.narchive = 0; /* format 2 kept no archive: what was folded is not in it */
    memset(meta.kinds, 0, sizeof(meta.kinds));
    memset(&meta.filter, 0, sizeof(meta.filter));
    memset(meta.langs, 0, sizeof(meta.langs)); /* counts the archive, as narchive */
    um->memory_epoch = 0;                      /* random in part: one per record written */
    meta.facts_stamp = 0;                      /* random: one per fact write */
    size_t n = mp_codec_put_user(NULL, &meta, um);
    unsigned char *p = malloc(n);
    ck_assert_ptr_nonnull(p);
    mp_codec_put_user(p, &meta, um);
    free(v->mv_data);
    *v = (MDB_val){n, p};
    mp_usermem_free(um);
}

/* A history record without its reason (store format 11): the fixture's
 * entries, written before reasons were kept, have none where the current
 * code gives one (an erasure's DELETED messages and summary). */
static void history_without_reason(MDB_val *v)
{
    struct mp_history_item h;
    ck_assert_int_eq(mp_codec_get_history(v->mv_data, v->mv_size, &h), MP_OK);
    h.reason = MP_REASON_NONE;
    size_t n = mp_codec_put_history(NULL, &h);
    unsigned char *p = malloc(n);
    ck_assert_ptr_nonnull(p);
    mp_codec_put_history(p, &h);
    free(h.entity.value);
    free(v->mv_data);
    *v = (MDB_val){n, p};
}

/* The DBs dbs[0..ndbs) (meta and users first) of the stores in dirs a
 * and b hold the same records, byte for byte (users: but for their
 * counters and memory epochs; idem keys: their time, the seqs a turn's
 * record holds after it being newer than the fixtures); only the secret
 * (random per store) may differ. */
static void same_records(const char *a, const char *b, const char *const *dbs, size_t ndbs)
{
    for (size_t d = 0; d < ndbs; d++) {
        struct raw_db x, y;
        raw_read(a, dbs[d], &x);
        raw_read(b, dbs[d], &y);
        ck_assert_msg(x.n == y.n, "%s: %zu records against %zu", dbs[d], x.n, y.n);
        ck_assert_uint_gt(x.n, 0);
        for (size_t i = 0; d == 1 && i < x.n; i++) {
            users_without_counters(&x.vals[i]);
            users_without_counters(&y.vals[i]);
        }
        for (size_t i = 0; strcmp(dbs[d], "history") == 0 && i < x.n && i < y.n; i++) {
            history_without_reason(&x.vals[i]);
            history_without_reason(&y.vals[i]);
        }
        for (size_t i = 0; i < x.n; i++) {
            ck_assert_uint_eq(x.keys[i].mv_size, y.keys[i].mv_size);
            ck_assert_mem_eq(x.keys[i].mv_data, y.keys[i].mv_data, x.keys[i].mv_size);
            if (d == 0 && x.keys[i].mv_size == 6 && memcmp(x.keys[i].mv_data, "secret", 6) == 0)
                continue;
            if (strcmp(dbs[d], "docs") == 0) {
                /* the session counter of a kind: format 8's conversion
                   indexes again only the items that are left, so a
                   superseded fact's session is not counted */
                struct mp_codec_doc dx, dy;
                ck_assert_int_eq(mp_codec_get_doc(x.vals[i].mv_data, x.vals[i].mv_size, &dx),
                                 MP_OK);
                ck_assert_int_eq(mp_codec_get_doc(y.vals[i].mv_data, y.vals[i].mv_size, &dy),
                                 MP_OK);
                ck_assert_msg(dx.len == dy.len && dx.bytes == dy.bytes && dx.timex == dy.timex &&
                                  dx.at_ms == dy.at_ms,
                              "docs: record %zu differs", i);
                continue;
            }
            if (strcmp(dbs[d], "idem") == 0) {
                /* the time; a turn's seqs after it came within format 7 */
                ck_assert(x.vals[i].mv_size >= 8 && y.vals[i].mv_size >= 8);
                x.vals[i].mv_size = y.vals[i].mv_size = 8;
            }
            ck_assert_msg(x.vals[i].mv_size == y.vals[i].mv_size &&
                              memcmp(x.vals[i].mv_data, y.vals[i].mv_data, x.vals[i].mv_size) == 0,
                          "%s: record %zu differs", dbs[d], i);
        }
        raw_free(&x);
        raw_free(&y);
    }
}

/* ---- the fixture stores ---- */

static void secret_is(struct mp_store *store, const char *hex)
{
    unsigned char s[MP_SEAL_KEY_LEN];
    char got[2 * MP_SEAL_KEY_LEN + 1];
    ck_assert_int_eq(mp_store_secret(store, s), MP_OK);
    for (size_t i = 0; i < sizeof(s); i++)
        snprintf(got + 2 * i, 3, "%02x", s[i]);
    ck_assert_str_eq(got, hex);
}

/* A fresh store of the current code, in its own directory (*dir). */
static struct mp_store *fresh(const struct mp_seal_key *key, char *dir)
{
    struct mp_store *store = key != NULL ? fx_open_sealed() : fx_open_backend(LMDB);
    memcpy(dir, fx_dir, sizeof(fx_dir));
    return store;
}

/* Opens a copy of the fixture store which (sealed with key; NULL: in
 * clear) and a fresh store of the current code, *cur (its directory in
 * mine), runs the script on the fresh one, and checks that both answer
 * alike, before and after more writes on each. The fixture's directory is
 * fx_dir (and old). */
static struct mp_store *fixture_as_current(const char *which, const struct mp_seal_key *key,
                                           const char *secret, char *mine, char *old,
                                           struct mp_store **cur)
{
    make_users();
    *cur = fresh(key, mine);
    write_script(*cur);
    struct mp_store *fix = fx_open_fixture(MP_FORMAT_FIXTURE_DIR, which, key);
    memcpy(old, fx_dir, sizeof(fx_dir));
    secret_is(fix, secret);
    same_store(fix, *cur, key == NULL); /* sealed: listed by hashed ids */
    write_more(fix);
    write_more(*cur);
    same_store(fix, *cur, key == NULL);
    return fix;
}

START_TEST(test_format_v2_clear_store_reads_and_writes_as_before)
{
    char mine[64], old[64];
    struct mp_store *cur;
    struct mp_store *fix = fixture_as_current("clear", NULL, clear_secret, mine, old, &cur);
    mp_store_free(fix);
    mp_store_free(cur);
    static const char *const dbs[] = {"meta", "users", "history", "jobs", "idem"};
    same_records(old, mine, dbs, 5);
    fx_remove_dir();
    memcpy(fx_dir, mine, sizeof(fx_dir));
    fx_remove_dir();
}
END_TEST

START_TEST(test_format_v2_sealed_store_reads_and_writes_as_before)
{
    char mine[64], old[64];
    struct mp_store *cur;
    struct mp_store *fix = fixture_as_current("sealed", &fx_key_a, sealed_secret, mine, old, &cur);
    fix = fx_reopen(fix, LMDB);
    same_store(fix, cur, false);
    fx_close_backend(fix, LMDB);
    mp_store_free(cur);
    memcpy(fx_dir, mine, sizeof(fx_dir));
    fx_remove_dir();
}
END_TEST

/* The format number in the LMDB store of fx_dir. */
static void format_is(const char *want)
{
    struct raw_db m;
    raw_read(fx_dir, "meta", &m);
    bool found = false;
    for (size_t i = 0; i < m.n; i++) {
        if (m.keys[i].mv_size != 6 || memcmp(m.keys[i].mv_data, "format", 6) != 0)
            continue;
        ck_assert_uint_eq(m.vals[i].mv_size, 4);
        ck_assert_mem_eq(m.vals[i].mv_data, want, 4);
        found = true;
    }
    ck_assert(found);
    raw_free(&m);
}

/* A turn of alice in conversation conv (kind CLIENT), recorded on store
 * after the script: its first seq. */
static uint64_t turn_in_conversation(struct mp_store *store, uint64_t conv)
{
    struct mp_mem_message m[2] = {fx_msg(MP_ROLE_USER, "a question in a chat", 900),
                                  fx_msg(MP_ROLE_ASSISTANT, "its answer", 900)};
    for (int i = 0; i < 2; i++) {
        m[i].conv = conv;
        m[i].conv_kind = MP_CONVID_CLIENT;
    }
    struct mp_op turn = fx_turn_op(UK(0), 90, m, 2, 901);
    ok(store, &turn);
    return turn.u.turn.first_seq;
}

/* Both messages of that turn (from seq first on) read back with conv from
 * the buffer and the archive, the script's with none. */
static void reads_conversation(struct mp_store *store, uint64_t conv, uint64_t first)
{
    struct mp_usermem *um = fx_get(store, UK(0));
    for (size_t i = 0; i < um->nmessages; i++) {
        bool mine = um->messages[i].seq >= first;
        ck_assert_uint_eq(um->messages[i].conv, mine ? conv : 0);
        ck_assert_uint_eq(um->messages[i].conv_kind, mine ? MP_CONVID_CLIENT : 0);
    }
    mp_usermem_free(um);
    struct mp_mem_message *page = NULL;
    size_t n = 0;
    bool more = false;
    ck_assert_int_eq(mp_store_archive(store, UK(0), 0, 100, &page, &n, &more), MP_OK);
    ck_assert_uint_ge(n, 2);
    for (size_t i = 0; i < n; i++) {
        bool mine = page[i].seq >= first;
        ck_assert_uint_eq(page[i].conv, mine ? conv : 0);
        ck_assert_uint_eq(page[i].conv_kind, mine ? MP_CONVID_CLIENT : 0);
    }
    mp_store_messages_free(page, n);
}

/* A store of format 6 (written by that format's code) opens as format 8:
 * converted (migrate.c), its records are the ones the current code writes
 * for the same script, byte for byte, every table but the heads (built
 * whole) and the docs' session counters, its messages read without a
 * conversation, and a turn recorded then keeps its own. */
START_TEST(test_format_v6_clear_store_opens_as_v8_and_reads_as_before)
{
    char mine[64], old[64];
    struct mp_store *cur;
    struct mp_store *fix =
        fixture_as_current("format6/clear", NULL, clear6_secret, mine, old, &cur);
    format_is("\x0c\x00\x00\x00");
    mp_store_free(fix);
    mp_store_free(cur);
    /* not the heads: the conversion to format 8 builds them from the index
       made again (heads.h: mp_heads_build_user), which keeps no counter
       of a term a sampled add counted (test_store_lang.c checks them) */
    static const char *const dbs[] = {"meta",  "users",    "history",  "jobs",    "idem",
                                      "facts", "factkeys", "factrank", "histx",   "archive",
                                      "atime", "docs",     "dterms",   "postings"};
    same_records(old, mine, dbs, sizeof(dbs) / sizeof(dbs[0]));
    fix = fx_open_existing();
    uint64_t first = turn_in_conversation(fix, 0x8000000000000001ull);
    reads_conversation(fix, 0x8000000000000001ull, first);
    fix = fx_reopen(fix, LMDB);
    reads_conversation(fix, 0x8000000000000001ull, first);
    fx_close_backend(fix, LMDB);
    memcpy(fx_dir, mine, sizeof(fx_dir));
    fx_remove_dir();
}
END_TEST

START_TEST(test_format_v6_sealed_store_opens_as_v8_and_reads_as_before)
{
    char mine[64], old[64];
    struct mp_store *cur;
    struct mp_store *fix =
        fixture_as_current("format6/sealed", &fx_key_a, sealed6_secret, mine, old, &cur);
    format_is("\x0c\x00\x00\x00");
    uint64_t first = turn_in_conversation(fix, 0x0123456789abcdefull);
    reads_conversation(fix, 0x0123456789abcdefull, first);
    fix = fx_reopen(fix, LMDB);
    reads_conversation(fix, 0x0123456789abcdefull, first);
    fx_close_backend(fix, LMDB);
    fx_opts.key = NULL;
    mp_store_free(cur);
    memcpy(fx_dir, mine, sizeof(fx_dir));
    fx_remove_dir();
}
END_TEST

/* A message's conversation: written after its role's byte only when
 * known (a message without one is the bytes format 6 wrote), read back
 * from the record alone and inside a head record; a record that says it
 * has one but is cut short, a role byte with other bits, or an unknown
 * rule fail to decode. */
START_TEST(test_codec_message_conversation_round_trips)
{
    struct mp_mem_message m = fx_msg(MP_ROLE_ASSISTANT, "hello there", 5);
    m.seq = 3;
    unsigned char plain[256], conv[256];
    size_t n = mp_codec_put_message(plain, &m);
    ck_assert_uint_eq(plain[0], MP_ROLE_ASSISTANT);
    m.conv = 0xa1b2c3d4e5f60718ull;
    m.conv_kind = MP_CONVID_SESSION;
    size_t c = mp_codec_put_message(conv, &m);
    ck_assert_uint_eq(c, n + 9); /* 8 bytes of digest, 1 of rule */
    ck_assert_uint_eq(conv[0], 0x80 | MP_ROLE_ASSISTANT);
    ck_assert_mem_eq(conv + 10, plain + 1, n - 1);
    struct mp_mem_message got;
    ck_assert_int_eq(mp_codec_get_message(conv, c, &got), MP_OK);
    ck_assert_uint_eq(got.conv, m.conv);
    ck_assert_uint_eq(got.conv_kind, MP_CONVID_SESSION);
    ck_assert_int_eq(got.role, MP_ROLE_ASSISTANT);
    ck_assert_str_eq(got.content, "hello there");
    free(got.content);
    ck_assert_int_eq(mp_codec_get_message(plain, n, &got), MP_OK);
    ck_assert_uint_eq(got.conv, 0);
    ck_assert_uint_eq(got.conv_kind, 0);
    free(got.content);
    /* keys after it, as an archived message with search keys holds them */
    size_t k = mp_codec_put_archived(conv, &m, "greeting", 8);
    const unsigned char *keys;
    size_t klen;
    ck_assert_int_eq(mp_codec_get_archived_keys(conv, k, &keys, &klen), MP_OK);
    ck_assert_uint_eq(klen, 8);
    ck_assert_int_eq(mp_codec_get_message(conv, k, &got), MP_OK);
    ck_assert_uint_eq(got.conv, m.conv);
    free(got.content);
    /* inside a head record */
    struct mp_usermem *um = mp_usermem_new();
    struct mp_mem_message two[2] = {fx_msg(MP_ROLE_USER, "q", 5), m};
    two[0].seq = 2;
    two[0].conv = 7;
    two[0].conv_kind = MP_CONVID_LEADING;
    um->messages = two;
    um->nmessages = 2;
    um->next_seq = 4;
    struct mp_codec_user meta = {.user = "u", .user_len = 1, .next_hist = 1, .next_fact = 1};
    size_t hn = mp_codec_put_user(NULL, &meta, um);
    unsigned char *head = malloc(hn);
    ck_assert_ptr_nonnull(head);
    mp_codec_put_user(head, &meta, um);
    um->messages = NULL;
    um->nmessages = 0;
    mp_usermem_free(um);
    struct mp_usermem *back = NULL;
    char *texts = NULL;
    ck_assert_int_eq(mp_codec_get_user_packed(head, hn, &meta, &back, &texts), MP_OK);
    ck_assert_uint_eq(back->nmessages, 2);
    ck_assert_uint_eq(back->messages[0].conv, 7);
    ck_assert_uint_eq(back->messages[0].conv_kind, MP_CONVID_LEADING);
    ck_assert_uint_eq(back->messages[1].conv, m.conv);
    ck_assert_uint_eq(back->messages[1].conv_kind, MP_CONVID_SESSION);
    mp_codec_free_packed(back, texts);
    free(head);
    /* refused */
    ck_assert_int_eq(mp_codec_get_message(conv, 5, &got), MP_EIO);
    conv[0] = 0x82;
    ck_assert_int_eq(mp_codec_get_message(conv, c, &got), MP_EIO);
    conv[0] = 0x20 | MP_ROLE_USER;
    ck_assert_int_eq(mp_codec_get_message(conv, c, &got), MP_EIO);
    conv[0] = 0x80 | MP_ROLE_USER;
    conv[9] = MP_CONVID_KIND_MAX + 1;
    ck_assert_int_eq(mp_codec_get_message(conv, c, &got), MP_EIO);
    conv[9] = MP_CONVID_CLIENT;
    ck_assert_int_eq(mp_codec_get_message(conv, c, &got), MP_OK);
    ck_assert_int_eq(got.role, MP_ROLE_USER);
    free(got.content);
}
END_TEST

/* A reply's reference: written after the conversation (or the role's
 * byte) only when set, bit 6 of that byte saying so; a message without
 * one is the bytes it was; read back alone, with a conversation and with
 * search keys; a reference of 0 written out, or one cut short, fail. */
START_TEST(test_codec_message_reply_ref_round_trips)
{
    struct mp_mem_message m = fx_msg(MP_ROLE_ASSISTANT, "hello there", 5);
    m.seq = 3;
    m.conv = 0xa1b2c3d4e5f60718ull;
    m.conv_kind = MP_CONVID_CHAIN;
    unsigned char plain[256], ref[256], alone[256];
    size_t n = mp_codec_put_message(plain, &m);
    m.reply_ref = 0x0102030405060708ull;
    size_t r = mp_codec_put_message(ref, &m);
    ck_assert_uint_eq(r, n + 8);
    ck_assert_uint_eq(ref[0], 0x80 | 0x40 | MP_ROLE_ASSISTANT);
    ck_assert_mem_eq(ref + 1, plain + 1, 9); /* the conversation, then the reference */
    ck_assert_uint_eq(ref[10], 0x08);        /* little-endian, as every number of the record */
    ck_assert_uint_eq(ref[17], 0x01);
    ck_assert_mem_eq(ref + 18, plain + 10, n - 10);
    struct mp_mem_message got;
    ck_assert_int_eq(mp_codec_get_message(ref, r, &got), MP_OK);
    ck_assert_uint_eq(got.reply_ref, m.reply_ref);
    ck_assert_uint_eq(got.conv, m.conv);
    ck_assert_uint_eq(got.conv_kind, MP_CONVID_CHAIN);
    ck_assert_str_eq(got.content, "hello there");
    free(got.content);
    ck_assert_int_eq(mp_codec_get_message(plain, n, &got), MP_OK);
    ck_assert_uint_eq(got.reply_ref, 0);
    free(got.content);
    /* without a conversation */
    m.conv = 0;
    m.conv_kind = 0;
    size_t a = mp_codec_put_message(alone, &m);
    ck_assert_uint_eq(alone[0], 0x40 | MP_ROLE_ASSISTANT);
    ck_assert_int_eq(mp_codec_get_message(alone, a, &got), MP_OK);
    ck_assert_uint_eq(got.reply_ref, m.reply_ref);
    ck_assert_uint_eq(got.conv, 0);
    free(got.content);
    size_t k = mp_codec_put_archived(alone, &m, "greeting", 8);
    ck_assert_int_eq(mp_codec_get_message(alone, k, &got), MP_OK);
    ck_assert_uint_eq(got.reply_ref, m.reply_ref);
    free(got.content);
    /* refused */
    ck_assert_int_eq(mp_codec_get_message(ref, 12, &got), MP_EIO);
    memset(ref + 10, 0, 8);
    ck_assert_int_eq(mp_codec_get_message(ref, r, &got), MP_EIO);
}
END_TEST

/* Not a check: with MP_FORMAT_FIXTURE_OUT set, writes the fixtures. */
/* A fact's head (what its rank needs) decodes as the whole fact does, but
 * for the value, which it skips; a record cut short fails both ways. */
START_TEST(test_codec_fact_head_is_the_fact_without_its_value)
{
    struct mp_mem_entity e = {.key = "home_city",
                              .value = (char *)"Lisbon",
                              .value_len = 6,
                              .confidence = 0.75,
                              .observed_at_ms = 1700000000123,
                              .recorded_at_ms = 1700000000456,
                              .trust = MP_TRUST_STATED,
                              .source_role = MP_ROLE_USER,
                              .pii = true,
                              .revision = 3,
                              .request_id = "req-1",
                              .model = "m",
                              .source_first_seq = 7,
                              .source_last_seq = 8};
    unsigned char buf[512];
    size_t n = mp_codec_put_fact(buf, &e);
    ck_assert_uint_le(n, sizeof(buf));
    struct mp_mem_entity full, head;
    ck_assert_int_eq(mp_codec_get_fact(buf, n, &full), MP_OK);
    const unsigned char *value = NULL;
    ck_assert_int_eq(mp_codec_get_fact_head(buf, n, &head, &value), MP_OK);
    ck_assert_ptr_null(head.value);
    /* the value where it lies in the record, not copied */
    ck_assert(value > buf && value + head.value_len <= buf + n);
    ck_assert_mem_eq(value, "Lisbon", 6);
    ck_assert_str_eq(full.value, "Lisbon");
    ck_assert_uint_eq(head.value_len, 6);
    ck_assert_str_eq(head.key, "home_city");
    ck_assert_double_eq(head.confidence, 0.75);
    ck_assert_int_eq(head.observed_at_ms, e.observed_at_ms);
    ck_assert_int_eq(head.recorded_at_ms, e.recorded_at_ms);
    ck_assert_int_eq(head.trust, MP_TRUST_STATED);
    ck_assert_int_eq(head.revision, 3);
    ck_assert_str_eq(head.request_id, "req-1");
    ck_assert_uint_eq(head.source_last_seq, 8);
    free(full.value);
    ck_assert_int_eq(mp_codec_get_fact_head(buf, n - 1, &head, NULL), MP_EIO);
    ck_assert_int_eq(mp_codec_get_fact_head(buf, 20, &head, NULL), MP_EIO);
}
END_TEST

/* A view's block of facts writes a fact's block text only when asked, once,
 * beside the facts: the ones never asked for (a walk that stopped, the
 * budget spent) are decoded but never written. Past one chunk's facts, so
 * that texts land in a newer chunk than their fact. */
START_TEST(test_view_facts_write_a_block_text_only_when_asked)
{
    enum { N = 100 };
    struct mp_view_facts vf = {0};
    struct mp_mem_entity *f[N];
    unsigned char buf[512];
    char key[16], value[32];
    for (uint32_t i = 0; i < N; i++) {
        snprintf(key, sizeof(key), "k%03u", i);
        snprintf(value, sizeof(value), "value %u", i);
        struct mp_mem_entity e = {.value = value,
                                  .value_len = strlen(value),
                                  .confidence = 0.9,
                                  .observed_at_ms = 1700000000000 + (int64_t)i * 86400000,
                                  .trust = MP_TRUST_STATED,
                                  .source_role = MP_ROLE_USER};
        snprintf(e.key, sizeof(e.key), "%s", key);
        size_t n = mp_codec_put_fact(buf, &e);
        ck_assert_int_eq(mp_view_facts_add(&vf, i + 1, buf, n, &f[i]), MP_OK);
        ck_assert_ptr_null(f[i]->block_text);
        ck_assert_str_eq(f[i]->value, value);
    }
    /* every third fact asked, the last one first */
    for (int i = N - 1; i >= 0; i -= 3)
        ck_assert_int_eq(mp_view_facts_text(&vf, f[i]), MP_OK);
    for (uint32_t i = 0; i < N; i++) {
        ck_assert_ptr_eq(mp_view_facts_find(&vf, i + 1), f[i]);
        if ((N - 1 - i) % 3 != 0) {
            ck_assert_ptr_null(f[i]->block_text); /* never asked: never written */
            continue;
        }
        char text[MP_MEMBLOCK_FACT_TEXT_MAX];
        size_t n = mp_memblock_fact_text(f[i], text);
        ck_assert_uint_eq(f[i]->block_len, n);
        ck_assert(memcmp(f[i]->block_text, text, n) == 0);
        /* asked again: the same text, not written twice */
        const char *first = f[i]->block_text;
        ck_assert_int_eq(mp_view_facts_text(&vf, f[i]), MP_OK);
        ck_assert_ptr_eq(f[i]->block_text, first);
    }
    for (uint32_t i = 0; i < N; i++) { /* no text written over a value */
        snprintf(value, sizeof(value), "value %u", i);
        ck_assert_str_eq(f[i]->value, value);
    }
    mp_view_facts_cleanup(&vf);
}
END_TEST

/* A head record: the filter is written only when there is one (version 5
 * says which), the memory epoch round trips, and the packed decode gives
 * what the plain one gives, its texts in one block; a record cut short
 * fails both ways (and frees nothing twice: ASan). Versions 4 (a filter,
 * no epoch) and 3 (neither) read as they are, epoch 0. */
START_TEST(test_codec_user_filter_and_packed_decode)
{
    struct mp_usermem *um = mp_usermem_new();
    ck_assert_ptr_nonnull(um);
    um->next_seq = 4;
    um->summary.text = strdup("likes tea");
    um->summary.text_len = 9;
    um->messages = calloc(3, sizeof(*um->messages));
    ck_assert_ptr_nonnull(um->messages);
    const char *said[3] = {"hello", "", "bye now"};
    for (size_t i = 0; i < 3; i++) {
        um->messages[i].seq = i + 1;
        um->messages[i].role = i % 2 == 0 ? MP_ROLE_USER : MP_ROLE_ASSISTANT;
        um->messages[i].content = strdup(said[i]);
        um->messages[i].content_len = strlen(said[i]);
    }
    um->nmessages = 3;
    um->memory_epoch = 0x123456789abcdefULL;
    struct mp_codec_user meta = {.user = "ann", .user_len = 3, .next_hist = 1, .next_fact = 1};
    mp_termfilter_add(&meta.filter, 0, "tea", 3);
    for (int filtered = 0; filtered < 2; filtered++) {
        meta.filtered = filtered;
        size_t n = mp_codec_put_user(NULL, &meta, um);
        unsigned char *p = malloc(n);
        ck_assert_ptr_nonnull(p);
        ck_assert_uint_eq(mp_codec_put_user(p, &meta, um), n);
        ck_assert_uint_eq(p[0], MP_CODEC_USER_VERSION);
        struct mp_codec_user a, b;
        struct mp_usermem *x = NULL, *y = NULL;
        char *texts = NULL;
        ck_assert_int_eq(mp_codec_get_user(p, n, &a, &x), MP_OK);
        ck_assert_int_eq(mp_codec_get_user_packed(p, n, &b, &y, &texts), MP_OK);
        ck_assert_ptr_nonnull(texts);
        ck_assert(a.filtered == (filtered == 1) && b.filtered == a.filtered);
        ck_assert(mp_termfilter_may_hold(&b.filter, 0, "tea", 3) == (filtered == 1));
        ck_assert_mem_eq(a.filter.bits, b.filter.bits, sizeof(a.filter.bits));
        ck_assert_str_eq(y->summary.text, "likes tea");
        ck_assert_uint_eq(x->memory_epoch, um->memory_epoch);
        ck_assert_uint_eq(y->memory_epoch, um->memory_epoch);
        /* the same record as version 4 (filtered) or 3 wrote it: no epoch,
           no flag, the filter's bits last when there is one */
        size_t bits = filtered ? sizeof(meta.filter.bits) : 0;
        unsigned char *old = malloc(n);
        ck_assert_ptr_nonnull(old);
        memcpy(old, p, n - bits - 9);
        memcpy(old + n - bits - 9, p + n - bits, bits);
        old[0] = filtered ? 4 : 3;
        struct mp_codec_user o;
        struct mp_usermem *z = NULL;
        ck_assert_int_eq(mp_codec_get_user(old, n - 9, &o, &z), MP_OK);
        ck_assert(o.filtered == (filtered == 1));
        ck_assert_uint_eq(z->memory_epoch, 0);
        ck_assert_str_eq(z->summary.text, "likes tea");
        ck_assert_mem_eq(o.filter.bits, a.filter.bits, sizeof(o.filter.bits));
        mp_usermem_free(z);
        free(old);
        ck_assert_uint_eq(y->nmessages, 3);
        for (size_t i = 0; i < 3; i++) {
            ck_assert_str_eq(y->messages[i].content, x->messages[i].content);
            ck_assert_uint_eq(y->messages[i].content_len, strlen(said[i]));
            ck_assert_uint_eq(y->messages[i].seq, i + 1);
            ck_assert(y->messages[i].content >= texts && y->messages[i].content < texts + n + n);
        }
        mp_usermem_free(x);
        mp_codec_free_packed(y, texts);
        for (size_t cut = 1; cut < n; cut += 7) {
            y = NULL;
            ck_assert_int_eq(mp_codec_get_user_packed(p, n - cut, &b, &y, &texts), MP_EIO);
            ck_assert_ptr_null(y);
        }
        free(p);
    }
    unsigned char v2[1] = {2};
    struct mp_usermem *y = NULL;
    char *texts = NULL;
    ck_assert_int_eq(mp_codec_get_user_packed(v2, 1, &meta, &y, &texts), MP_EIO);
    mp_usermem_free(um);
}
END_TEST

/* The language tally of a head record (record format 8): written only
 * when it counts any language (a record without is the bytes it was),
 * after the filter, with or without one; it round trips through both
 * decodes; counting takes user-role messages with a language only and
 * never goes below 0; the most counted language wins, a tie the lower id.
 * A tally of no language, out of order or counting 0 is MP_EIO. */
START_TEST(test_codec_user_lang_tally_round_trips)
{
    struct mp_usermem *um = mp_usermem_new();
    ck_assert_ptr_nonnull(um);
    um->next_seq = 1;
    struct mp_codec_user meta = {.user = "ann", .user_len = 3, .next_hist = 1, .next_fact = 1};
    struct mp_mem_message tr = {.role = MP_ROLE_USER, .lang = MP_LANG_TR};
    struct mp_mem_message de = {.role = MP_ROLE_USER, .lang = MP_LANG_DE};
    struct mp_mem_message reply = {.role = MP_ROLE_ASSISTANT, .lang = MP_LANG_EN};
    struct mp_mem_message unknown = {.role = MP_ROLE_USER, .lang = MP_LANG_NONE};
    ck_assert_int_eq(mp_codec_user_lang(&meta), MP_LANG_NONE);
    size_t bare = mp_codec_put_user(NULL, &meta, um);
    mp_codec_user_count_lang(&meta, &de, 1);
    mp_codec_user_count_lang(&meta, &tr, 1);
    ck_assert_int_eq(mp_codec_user_lang(&meta), MP_LANG_DE); /* a tie: the lower id */
    mp_codec_user_count_lang(&meta, &tr, 1);
    mp_codec_user_count_lang(&meta, &reply, 1);
    mp_codec_user_count_lang(&meta, &unknown, 1);
    mp_codec_user_count_lang(&meta, &de, -1);
    mp_codec_user_count_lang(&meta, &de, -1); /* not below 0 */
    ck_assert_uint_eq(meta.langs[MP_LANG_TR], 2);
    ck_assert_uint_eq(meta.langs[MP_LANG_DE], 0);
    ck_assert_uint_eq(meta.langs[MP_LANG_EN], 0);
    ck_assert_uint_eq(meta.langs[MP_LANG_NONE], 0);
    ck_assert_int_eq(mp_codec_user_lang(&meta), MP_LANG_TR);
    mp_codec_user_count_lang(&meta, &de, 1);
    for (int filtered = 0; filtered < 2; filtered++) {
        meta.filtered = filtered;
        size_t n = mp_codec_put_user(NULL, &meta, um);
        ck_assert_uint_eq(n, bare + (filtered ? sizeof(meta.filter.bits) : 0) + 1 + 2 * 5);
        unsigned char *p = malloc(n);
        ck_assert_ptr_nonnull(p);
        ck_assert_uint_eq(mp_codec_put_user(p, &meta, um), n);
        struct mp_codec_user a, b;
        struct mp_usermem *x = NULL, *y = NULL;
        char *texts = NULL;
        ck_assert_int_eq(mp_codec_get_user(p, n, &a, &x), MP_OK);
        ck_assert_int_eq(mp_codec_get_user_packed(p, n, &b, &y, &texts), MP_OK);
        ck_assert_mem_eq(a.langs, meta.langs, sizeof(meta.langs));
        ck_assert_mem_eq(b.langs, meta.langs, sizeof(meta.langs));
        ck_assert(a.filtered == (filtered == 1));
        ck_assert_int_eq(mp_codec_get_user(p, n, &a, NULL), MP_OK); /* meta only */
        mp_usermem_free(x);
        mp_codec_free_packed(y, texts);
        unsigned char *lang = p + n - 11; /* u8 n | u8 de | u32 | u8 tr | u32 */
        ck_assert_uint_eq(lang[0], 2);
        ck_assert_uint_eq(lang[1], MP_LANG_DE);
        ck_assert_uint_eq(lang[6], MP_LANG_TR);
        lang[0] = 0; /* no language */
        ck_assert_int_eq(mp_codec_get_user(p, n, &a, &x), MP_EIO);
        lang[0] = 2;
        lang[1] = MP_LANG_TR; /* out of order */
        ck_assert_int_eq(mp_codec_get_user(p, n, &a, &x), MP_EIO);
        lang[1] = MP_LANG_DE;
        memset(lang + 2, 0, 4); /* counts 0 */
        ck_assert_int_eq(mp_codec_get_user(p, n, &a, &x), MP_EIO);
        ck_assert_int_eq(mp_codec_get_user(p, n - 4, &a, &x), MP_EIO);
        free(p);
    }
    mp_usermem_free(um);
}
END_TEST

/* The facts stamp of a head record (store format 9): written only when
 * not 0 (a record without is the bytes it was), last, after the language
 * tally; it round trips through both decodes. A stamp flagged but 0, or
 * cut short, is MP_EIO. */
START_TEST(test_codec_user_facts_stamp_round_trips)
{
    struct mp_usermem *um = mp_usermem_new();
    ck_assert_ptr_nonnull(um);
    um->next_seq = 1;
    struct mp_codec_user meta = {.user = "ann", .user_len = 3, .next_hist = 1, .next_fact = 1};
    meta.langs[MP_LANG_DE] = 3;
    size_t bare = mp_codec_put_user(NULL, &meta, um);
    meta.facts_stamp = 0x0123456789abcdefULL;
    size_t n = mp_codec_put_user(NULL, &meta, um);
    ck_assert_uint_eq(n, bare + 8);
    unsigned char *p = malloc(n);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(mp_codec_put_user(p, &meta, um), n);
    ck_assert_mem_eq(p + n - 8, "\xef\xcd\xab\x89\x67\x45\x23\x01", 8);
    struct mp_codec_user a, b;
    struct mp_usermem *x = NULL, *y = NULL;
    char *texts = NULL;
    ck_assert_int_eq(mp_codec_get_user(p, n, &a, &x), MP_OK);
    ck_assert_int_eq(mp_codec_get_user_packed(p, n, &b, &y, &texts), MP_OK);
    ck_assert_uint_eq(a.facts_stamp, meta.facts_stamp);
    ck_assert_uint_eq(b.facts_stamp, meta.facts_stamp);
    ck_assert_uint_eq(a.langs[MP_LANG_DE], 3);
    mp_usermem_free(x);
    mp_codec_free_packed(y, texts);
    ck_assert_int_eq(mp_codec_get_user(p, n - 1, &a, &x), MP_EIO);
    memset(p + n - 8, 0, 8); /* flagged, but no stamp */
    ck_assert_int_eq(mp_codec_get_user(p, n, &a, &x), MP_EIO);
    free(p);
    meta.facts_stamp = 0;
    ck_assert_uint_eq(mp_codec_put_user(NULL, &meta, um), bare);
    mp_usermem_free(um);
}
END_TEST

START_TEST(test_format_write_fixtures)
{
    const char *out = getenv("MP_FORMAT_FIXTURE_OUT");
    if (out == NULL)
        return;
    make_users();
    for (int sealed = 0; sealed < 2; sealed++) {
        char dir[512], err[256];
        unsigned char s[MP_SEAL_KEY_LEN];
        snprintf(dir, sizeof(dir), "%s/%s", out, sealed ? "sealed" : "clear");
        mkdir(out, 0700);
        ck_assert_int_eq(mkdir(dir, 0700), 0);
        fx_opts = (struct mp_store_options){.path = dir, .sync = MP_STORE_SYNC_FULL};
        fx_opts.key = sealed ? &fx_key_a : NULL;
        struct mp_store *store = fx_open_existing();
        write_script(store);
        ck_assert_msg(mp_store_compact(store, err, sizeof(err)) == MP_OK, "%s", err);
        ck_assert_int_eq(mp_store_secret(store, s), MP_OK);
        printf("%s secret: ", sealed ? "sealed" : "clear");
        for (size_t i = 0; i < sizeof(s); i++)
            printf("%02x", s[i]);
        printf("\n");
        mp_store_free(store);
    }
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("store_format");
    TCase *tc = tcase_create("format");
    tcase_add_unchecked_fixture(tc, fx_setup_keys, NULL);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_codec_fact_head_is_the_fact_without_its_value);
    tcase_add_test(tc, test_codec_user_filter_and_packed_decode);
    tcase_add_test(tc, test_codec_user_lang_tally_round_trips);
    tcase_add_test(tc, test_codec_user_facts_stamp_round_trips);
    tcase_add_test(tc, test_view_facts_write_a_block_text_only_when_asked);
    tcase_add_test(tc, test_format_write_fixtures);
    tcase_add_test(tc, test_format_v2_clear_store_reads_and_writes_as_before);
    tcase_add_test(tc, test_format_v2_sealed_store_reads_and_writes_as_before);
    tcase_add_test(tc, test_format_v6_clear_store_opens_as_v8_and_reads_as_before);
    tcase_add_test(tc, test_format_v6_sealed_store_opens_as_v8_and_reads_as_before);
    tcase_add_test(tc, test_codec_message_conversation_round_trips);
    tcase_add_test(tc, test_codec_message_reply_ref_round_trips);
    suite_add_tcase(s, tc);
    return s;
}
