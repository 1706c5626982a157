/* Helpers shared by the storage/ops/store.h suites: open and close a store on
 * either backend in a fresh temporary directory, build the common ops, and
 * read a user back. Every helper fails the running Check test on an error it
 * does not return; none of them checks a store's behaviour by itself. */
#ifndef MP_TESTS_STORAGE_STORE_FIXTURE_H
#define MP_TESTS_STORAGE_STORE_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "format/seal.h"
#include "ops/store.h"

/* A string literal as the (pointer, length) pair of a user key. */
#define U(s) (s), (sizeof(s) - 1)

/* The backends, as the loop index _i of a loop test counts them:
 * tcase_add_loop_test(tc, test, 0, FX_BACKENDS). PG needs a database:
 * MEMPROXY_TEST_POSTGRES_URL (tests/storage/with_pg.sh starts a throwaway
 * cluster around a suite and sets it); without one the PG cases fail. */
#define MEM         0
#define LMDB        1
#define PG          2
#define FX_BACKENDS 3

/* The newest LMDB store a test opened: its directory (a mkdtemp() name)
 * and the options it was opened with. Each LMDB open through
 * fx_open_sized(), fx_open_backend() or fx_open_sealed() sets both; a test
 * may change fx_opts (sync mode, key) before fx_open_existing() or
 * fx_reopen(). */
extern char fx_dir[64];
extern struct mp_store_options fx_opts;

/* Two fixed, different keys; set by fx_setup_keys(). */
extern struct mp_seal_key fx_key_a, fx_key_b;

/* Parses fx_key_a and fx_key_b: a tcase's unchecked fixture. */
void fx_setup_keys(void);

/* ---- open and close ---- */

/* MEM: a new in-memory store. LMDB: a new store in a new directory,
 * unencrypted, map of map bytes growing up to max (0: 64 x map),
 * no fsync. PG: the test database emptied (map and max unused). Never
 * NULL. */
struct mp_store *fx_open_sized(int which, uint64_t map, uint64_t max);

/* fx_open_sized() with a 1 MiB map and the default cap. */
struct mp_store *fx_open_backend(int which);

/* A new LMDB store in a new directory, sealed with fx_key_a (which
 * fx_setup_keys() must have set); fx_reopen() keeps the key. */
struct mp_store *fx_open_sealed(void);

/* Opens the existing LMDB store in fx_dir with fx_opts. Never NULL. */
struct mp_store *fx_open_existing(void);

/* PG: one more handle on the test database, as another process on the
 * same store would have (not emptied). Never NULL. */
struct mp_store *fx_open_pg_again(void);

/* LMDB, PG: closes store and opens it again (LMDB with fx_opts), so that
 * what a test reads next is what was stored. MEM: returns store as it is. */
struct mp_store *fx_reopen(struct mp_store *store, int which);

/* LMDB: compacts store / rotates the store at fx_opts.path from key from
 * (NULL: clear) to to, failing the test on any error. */
void fx_compact(struct mp_store *store);
void fx_rekey(const struct mp_seal_key *from, const struct mp_seal_key *to);

/* A copy of the fixture store dir/which/data.mdb in a fresh fx_dir, opened
 * with key (NULL: clear). */
struct mp_store *fx_open_fixture(const char *dir, const char *which, const struct mp_seal_key *key);

/* True when a regular file in fx_dir holds needle (the canary scans of
 * erasure and encryption); _fold: ASCII case ignored. */
bool fx_dir_has(const char *needle);
bool fx_dir_has_fold(const char *needle);

/* Removes fx_dir; fails the test if anything but data.mdb, lock.mdb and
 * memproxy.lock was left in it (a rewrite's leftovers, for one). */
void fx_remove_dir(void);

/* Every record of the LMDB file path (an older format's fixture, opened
 * read-only with liblmdb, no store code in between) put in store's tables
 * as it is, meta too (its format and its secret): what a store of that
 * format on store's backend (PostgreSQL) held. Reopen store to convert it. */
void fx_place_lmdb_rows(struct mp_store *store, const char *path);

/* The format number in store's meta ("format"), which must be there. */
uint32_t fx_format(struct mp_store *store);

/* Frees store (NULL is fine) and, for LMDB, removes its directory. */
void fx_close_backend(struct mp_store *store, int which);

/* ---- ops ---- */

/* Applies the one op: its result when the apply succeeded, else the
 * apply's error. */
int fx_apply1(struct mp_store *store, struct mp_op *op);

/* A message observed at `at` with request id "req-<at>". text is
 * borrowed by the message. */
struct mp_mem_message fx_msg(enum mp_role role, const char *text, int64_t at);

/* RECORD_TURN of the n messages m (borrowed) at `now`, its idempotency key
 * MP_IDEM_KEY_LEN bytes of idem. */
struct mp_op fx_turn_op(const char *user, size_t ulen, uint8_t idem, const struct mp_mem_message *m,
                        size_t n, int64_t now);

/* Records a user message and the assistant's reply as one turn, both
 * observed at `at`, recorded at `now`: fx_apply1()'s answer. */
int fx_turn(struct mp_store *store, const char *user, size_t ulen, uint8_t idem, const char *said,
            const char *reply, int64_t at, int64_t now);

/* UPSERT_ENTITY of key = value (value borrowed) stated by the user with
 * confidence 0.75, observed at `observed`, recorded 5 ms later, source turn
 * "req-<observed>", model "extractor-1" when extracted, else "" (a value
 * given outright: mp_usermem_trust_given). */
struct mp_op fx_upsert_op(const char *user, size_t ulen, const char *key, const char *value,
                          enum mp_trust trust, int64_t observed);

/* Applies fx_upsert_op(): fx_apply1()'s answer. */
int fx_upsert(struct mp_store *store, const char *user, size_t ulen, const char *key,
              const char *value, enum mp_trust trust, int64_t observed);

/* DELETE_ENTITY of key by actor at `now`. */
struct mp_op fx_delete_op(const char *user, size_t ulen, const char *key, enum mp_actor actor,
                          int64_t now);

/* SET_SUMMARY to text (borrowed) through seq `through` at `now`, model
 * "summarizer-1", dropping the buffer through it whatever jobs are
 * pending (jobs_known_through UINT64_MAX): fx_apply1()'s answer. */
int fx_summarize(struct mp_store *store, const char *user, size_t ulen, const char *text,
                 uint64_t through, int64_t now);

/* A job of kind for user through seq `seq`, from seq - 1, created at 7. */
struct mp_job fx_job_for(const char *user, size_t ulen, enum mp_job_kind kind, uint64_t seq);

/* Adds job j, which must succeed: the id the store gave it. */
uint64_t fx_add_job(struct mp_store *store, struct mp_job j);

/* ---- reading back ---- */

/* The user's memory, which must be there; the caller frees it with
 * mp_usermem_free(). */
struct mp_usermem *fx_get(struct mp_store *store, const char *user, size_t ulen);

/* The user's change history, which must be there; the caller frees it
 * with mp_history_free(). */
struct mp_history *fx_history(struct mp_store *store, const char *user, size_t ulen);

/* The value of the fact key in um (borrowed from um), NULL when absent. */
const char *fx_entity_value(const struct mp_usermem *um, const char *key);

/* True when the user's buffer or archive keeps message seq (>= 1). */
bool fx_keeps(struct mp_store *store, const char *user, size_t ulen, uint64_t seq);

/* True when the store has neither memory nor history for the user. */
bool fx_absent(struct mp_store *store, const char *user, size_t ulen);

/* ---- users listing ---- */

/* Writes the tenant-namespaced user key MP_USER_KEY_TENANT, MP_TENANT_LEN
 * bytes of t, id into out (room for 1 + MP_TENANT_LEN + strlen(id)): its
 * length. */
size_t fx_tenant_key(char *out, unsigned char t, const char *id);

/* Every user of tenant (as mp_store_users() takes it), page by page with
 * the given limit, into list (cap entries): how many. Fails the test
 * unless every page but the last is full and has a cursor and the last
 * has none, or past 50 pages. */
size_t fx_list_all(struct mp_store *store, const unsigned char *tenant, size_t limit,
                   struct mp_user_info *list, size_t cap);

/* True when info names exactly the user key user[0..ulen). */
bool fx_info_is(const struct mp_user_info *info, const char *user, size_t ulen);

#endif
