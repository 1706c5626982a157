# memproxy's container image (docs/deployment.md).
#
# Two stages. The build stage is Debian 12 with the build dependencies
# (scripts/install-deps.sh); it builds a release memproxy and lays out the
# runtime tree: the stripped binary, exactly the shared libraries ldd lists
# for it, the CA bundle, a passwd entry for uid 10001 and the data directory.
# The runtime stage is that tree on an empty base: no shell, no package
# manager, no compiler.
#
#   docker build -t memproxy .        podman build --format docker -t memproxy .
#   (--format docker keeps the HEALTHCHECK, which the OCI format drops)

FROM debian:12-slim AS build
COPY scripts/install-deps.sh /tmp/install-deps.sh
RUN sh /tmp/install-deps.sh && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN meson setup /build -Dtests=false -Dbuildtype=release \
    && ninja -C /build proxy/memproxy \
    && strip /build/proxy/memproxy
# The runtime tree under /rootfs. Each library is copied to the path ldd
# resolved it to (symlinks followed), the loader included, so the dynamic
# linker finds them in its default directories: the binary's own, and libcurl
# and libpq with theirs, which memproxy loads only when it first needs them
# (docs/operations.md, "What the resident memory holds"). The chroot runs at
# the end prove the tree is complete: a missing library fails the build here
# (--check-config loads libcurl, and libpq for a postgres configuration).
RUN set -eu; \
    root=/rootfs; \
    install -D -m 0755 /build/proxy/memproxy "$root/usr/bin/memproxy"; \
    ondemand=$(ldconfig -p | awk '$1 == "libcurl.so.4" || $1 == "libpq.so.5" { print $NF }' | sort -u); \
    [ "$(echo "$ondemand" | wc -l)" -eq 2 ]; \
    for lib in $ondemand $(ldd /build/proxy/memproxy $ondemand \
                 | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// && $1 !~ /:$/ { print $1 }' \
                 | sort -u); do \
        install -D -m 0755 "$(readlink -f "$lib")" "$root$lib"; \
    done; \
    install -D -m 0644 /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"; \
    install -D -m 0644 conf/task-patterns.conf "$root/etc/memproxy/task-patterns.conf"; \
    install -D -m 0644 conf/inserted-context.conf "$root/etc/memproxy/inserted-context.conf"; \
    echo 'memproxy:x:10001:10001:memproxy:/var/lib/memproxy:/nonexistent' >"$root/etc/passwd"; \
    echo 'memproxy:x:10001:' >"$root/etc/group"; \
    install -d -m 0700 -o 10001 -g 10001 /rootfs-data; \
    chroot "$root" /usr/bin/memproxy --version; \
    chroot "$root" /usr/bin/memproxy --check-config; \
    MEMPROXY_STORAGE_BACKEND=postgres MEMPROXY_STORAGE_POSTGRES_URL=postgresql://memproxy@db/memproxy \
        chroot "$root" /usr/bin/memproxy --check-config

FROM scratch
COPY --from=build /rootfs/ /
# The data directory (and so a new named volume on it) belongs to the
# non-root user the process runs as.
COPY --from=build --chown=10001:10001 /rootfs-data /var/lib/memproxy
USER 10001:10001
WORKDIR /var/lib/memproxy
# Inside a container memproxy listens on every interface, and keeps its LMDB
# store in the volume. The environment wins over a mounted config file: set
# these variables (not the file's keys) to change them.
ENV MEMPROXY_SERVER_LISTEN=0.0.0.0:8080 \
    MEMPROXY_SERVER_ADMIN_LISTEN=0.0.0.0:8081 \
    MEMPROXY_STORAGE_PATH=/var/lib/memproxy
VOLUME ["/var/lib/memproxy"]
# 8080: the OpenAI-compatible data plane; 8081: /livez, /readyz, /metrics.
EXPOSE 8080 8081
# memproxy drains on SIGTERM for up to [server] drain_timeout_ms (25 s by
# default) and exits 0: give it a stop timeout longer than that
# (docker run --stop-timeout 30, compose stop_grace_period: 30s).
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 \
    CMD ["/usr/bin/memproxy", "--probe", "http://127.0.0.1:8081/readyz"]
# Exec form: memproxy is PID 1 and handles SIGTERM and SIGHUP itself.
# No arguments: built-in defaults plus MEMPROXY_* variables; pass
# "-c /etc/memproxy/memproxy.ini" to use a mounted file.
ENTRYPOINT ["/usr/bin/memproxy"]
