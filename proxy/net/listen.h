/* Listening sockets for the data and admin planes. */
#ifndef MP_PROXY_LISTEN_H
#define MP_PROXY_LISTEN_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

/* Binds and listens on addr; with reuseport, SO_REUSEPORT is set so several
 * workers can bind the same address. TCP_NODELAY is set on the listener, so
 * every connection it accepts has it from the start. Returns the
 * non-blocking socket, or -1 with err (borrowed, errcap bytes) saying why. */
int mp_listen_bind(const struct mp_addr *addr, bool reuseport, char *err, size_t errcap);

/* Fails (-1, err set) when addr is already bound by anyone, even by sockets
 * with SO_REUSEPORT: those would otherwise silently share our port. */
int mp_listen_probe(const struct mp_addr *addr, char *err, size_t errcap);

/* The port a bound socket got (useful after binding port 0). */
uint16_t mp_listen_port(int fd);

#endif
