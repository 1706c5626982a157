/* The running proxy: binds the listeners, starts the data-plane workers,
 * serves the admin plane on the main thread, and turns signals into a
 * graceful drain (SIGTERM, SIGINT) or a validate-then-swap reload (SIGHUP),
 * as docs/operations.md says. */
#ifndef MP_PROXY_SERVER_H
#define MP_PROXY_SERVER_H

#include "config/config.h"

struct mp_server;
struct mp_store;
struct mp_metrics;

/* Binds both listeners and starts the workers. config_path (borrowed, may
 * be NULL) is re-read on SIGHUP; store is borrowed and must outlive the
 * server. Returns MP_OK with *out (free with mp_server_free()), or MP_EIO
 * when a listener cannot be bound or a worker cannot start (logged). */
int mp_server_new(const struct mp_config *cfg, const char *config_path, struct mp_store *store,
                  struct mp_server **out);

/* Runs the main loop until shutdown completes. Returns MP_OK. */
int mp_server_run(struct mp_server *s);

/* The data-plane workers cfg asks for: [server] workers, or one per CPU
 * when 0; 1 .. 256. */
unsigned mp_server_worker_count(const struct mp_config *cfg);

/* Stops and joins everything. mp_server_free(NULL) does nothing. */
void mp_server_free(struct mp_server *s);

#endif
