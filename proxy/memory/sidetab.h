/* The side requests this process knows (docs/memory-whose-words.md "Whose words"):
 * the prints of their instructions (core/wire/sidereq.h), by tenant, as
 * the store learned them (storage/ops/store_whose.c: MP_TABLE_SIDES). A
 * lone request whose instructions are one of them is a client's side
 * request before any memory is read: it goes upstream byte for byte.
 *
 * One table per process, written by the memory worker (what an apply
 * learned; the whole store's set at start and every
 * MP_SIDETAB_RELOAD_MS, so that what another proxy on the same database
 * learned arrives too) and read by every request thread under a
 * read lock. Bounded: past MP_SIDETAB_MAX prints a new one is not kept
 * (the store still tells it at recording). Keeps prints and kinds only,
 * never text; a tenant is kept as a hash mixed into the print. */
#ifndef MP_PROXY_SIDETAB_H
#define MP_PROXY_SIDETAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mp_store;

#define MP_SIDETAB_MAX       4096
#define MP_SIDETAB_RELOAD_MS (60 * 1000)

struct mp_sidetab;

/* An empty table: MP_OK with *out, or MP_ENOMEM. */
int mp_sidetab_new(struct mp_sidetab **out);
/* mp_sidetab_free(NULL) does nothing. */
void mp_sidetab_free(struct mp_sidetab *t);

/* Adds the print of tenant (MP_TENANT_LEN bytes, borrowed; NULL: none)
 * with its kind (core/wire/clienttask.h). */
void mp_sidetab_add(struct mp_sidetab *t, const unsigned char *tenant, uint64_t print,
                    uint8_t kind);

/* Replaces the whole table with the store's (storage/ops/store.h:
 * mp_store_sides): MP_OK, or the store's error (the table kept). */
int mp_sidetab_load(struct mp_sidetab *t, struct mp_store *store);

/* Whether one of prints[0..n) is a side request's of tenant (as above):
 * true with *kind. Any thread. */
bool mp_sidetab_find(struct mp_sidetab *t, const unsigned char *tenant, const uint64_t *prints,
                     size_t n, uint8_t *kind);

/* Prints kept now. */
size_t mp_sidetab_count(struct mp_sidetab *t);

#endif
