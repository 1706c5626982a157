/* Which of a user's messages belong to one conversation (DELETE
 * /admin/users/{id}/conversations/{conv}, docs/admin-api.md): their seqs,
 * read from the store's archive and buffer. It changes nothing; the
 * caller erases them. */
#ifndef MP_PROXY_CONVSEQS_H
#define MP_PROXY_CONVSEQS_H

#include <stddef.h>
#include <stdint.h>

#include "ops/store.h"

/* The seqs of the messages of user[0..user_len) (a store user key) whose
 * conversation digest is conv (a message whose conversation is not known
 * is in none), archived ones in archive order, then buffered ones the
 * archive does not hold, each once. MP_OK with *out (caller frees; NULL
 * when *n is 0) and *n (0 also when nothing is stored for the user);
 * MP_EIO; MP_ENOMEM. Reads the whole archive a page at a time. */
int mp_convseqs_find(struct mp_store *store, const char *user, size_t user_len, uint64_t conv,
                     uint64_t **out, size_t *n);

#endif
