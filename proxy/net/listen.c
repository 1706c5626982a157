/* socket/bind/listen with getaddrinfo. */
#include "net/listen.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BACKLOG 4096

static int bind_one(const struct mp_addr *addr, bool reuseport, bool do_listen, char *err,
                    size_t errcap)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    char port[8];
    int one = 1;
    snprintf(port, sizeof(port), "%u", addr->port);
    int rc = getaddrinfo(addr->host, port, &hints, &res);
    if (rc != 0) {
        snprintf(err, errcap, "cannot resolve %s: %s", addr->host, gai_strerror(rc));
        return -1;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errcap, "socket: %s", strerror(errno));
        goto out;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    /* inherited by every socket accept(2) returns: one setsockopt per
     * listener instead of one per connection */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (reuseport)
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    if (bind(fd, res->ai_addr, res->ai_addrlen) != 0 || (do_listen && listen(fd, BACKLOG) != 0)) {
        snprintf(err, errcap, "cannot listen on %s:%u: %s", addr->host, addr->port,
                 strerror(errno));
        close(fd);
        fd = -1;
    }
out:
    freeaddrinfo(res);
    return fd;
}

int mp_listen_bind(const struct mp_addr *addr, bool reuseport, char *err, size_t errcap)
{
    return bind_one(addr, reuseport, true, err, errcap);
}

int mp_listen_probe(const struct mp_addr *addr, char *err, size_t errcap)
{
    int fd = bind_one(addr, false, false, err, errcap);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

uint16_t mp_listen_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return 0;
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}
