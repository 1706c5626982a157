#!/bin/bash
# Builds memproxy's container image (Dockerfile) with podman and proves it on
# this machine, with no registry: long mode, not part of CI (several minutes
# the first time; needs root and Debian's packages).
#
#  1. installs debootstrap, podman and buildah when missing (apt-get);
#  2. builds a local debian:12-slim (debootstrap --variant=minbase bookworm,
#     from the mirror this machine's apt uses) and imports it as
#     localhost/debian:12-slim, also tagged docker.io/library/debian:12-slim
#     so FROM debian:12-slim resolves locally (kept: --rebuild-base redoes it);
#  3. builds the image (--pull=never), prints its size, fails at >= 40 MB,
#     checks its config (user, volume, ports, healthcheck, no shell);
#  4. starts the fake upstream (build/tests/fake_upstream) and runs the image
#     with host networking, --read-only, a named volume, config from env;
#     waits for the image's HEALTHCHECK (memproxy --probe .../readyz);
#  5. teaches a fact, replaces the container by a new one on the same volume
#     and checks the fact is injected into the upstream request;
#  6. stops it with a stream in flight: exit 0 within drain_timeout_ms, the
#     stream completes, the log says "stopped";
#  7. with --systemd: runs conf/systemd/memproxy.service under a real systemd
#     (a privileged container: the unit's sandboxing needs mount namespaces)
#     with the image's binary: active, /readyz, reload, clean stop.
# Exit 0 when every check passed.
#
# Usage: scripts/container.sh [--build DIR] [--tag IMAGE] [--rebuild-base] [--systemd] [--keep]
#   --build DIR     meson build directory for the fake upstream (default: build)
#   --tag IMAGE     image name (default: localhost/memproxy:dev)
#   --rebuild-base  debootstrap the base image again even when it exists
#   --systemd       also check the systemd unit (step 7)
#   --keep          keep the containers, the volume and the temporary directory
# Environment: PODMAN_OPTS, extra global podman options (for a machine where the
# defaults fail, e.g. "--storage-driver vfs --cgroup-manager cgroupfs
# --events-backend file").
set -euo pipefail
cd "$(dirname "$0")/.."

build=build
image=localhost/memproxy:dev
rebuild_base=false
keep=false
with_systemd=false
while [ $# -gt 0 ]; do
    case $1 in
    --build)
        build=${2:?--build needs a directory}
        shift 2
        ;;
    --tag)
        image=${2:?--tag needs an image name}
        shift 2
        ;;
    --rebuild-base)
        rebuild_base=true
        shift
        ;;
    --keep)
        keep=true
        shift
        ;;
    --systemd)
        with_systemd=true
        shift
        ;;
    -h | --help)
        sed -n '2,/^set -euo/{ /^#/s/^# \{0,1\}//p; }' "$0"
        exit 0
        ;;
    *)
        echo "container: unknown argument: $1 (try --help)" >&2
        exit 2
        ;;
    esac
done

MAX_BYTES=40000000 # 40 MB
DRAIN_MS=5000
base=localhost/debian:12-slim
name=memproxy-check
volume=memproxy-check-data
tmp=$(mktemp -d "${TMPDIR:-/tmp}/memproxy-container.XXXXXX")
fake_pid=
passed=()

runtime_opts=() # global podman options found to be needed here (preflight below)
run_opts=()     # options for podman run and build, likewise
# shellcheck disable=SC2086
pm() { podman ${PODMAN_OPTS:-} "${runtime_opts[@]}" "$@"; }

die() {
    echo "container: FAILED: $*" >&2
    exit 1
}
ok() {
    passed+=("$1")
    echo "   ok: $1"
}

cleanup() {
    if ! $keep; then
        pm rm -f -t 0 "$name" "$name-systemd" >/dev/null 2>&1 || true
        pm volume rm -f "$volume" >/dev/null 2>&1 || true
    fi
    [ -n "$fake_pid" ] && kill -TERM "$fake_pid" 2>/dev/null && wait "$fake_pid" 2>/dev/null
    if $keep; then
        echo "(kept $tmp, container $name, volume $volume)"
    else
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

[ "$(id -u)" = 0 ] || die "run as root (apt-get, debootstrap and rootful podman)"

echo "== tools"
missing=""
for p in debootstrap podman buildah crun uidmap curl python3; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "   installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
pm --version

# The Debian mirror this machine's apt uses for bookworm main (one-line and
# deb822 sources alike); the security archive is not a mirror of the release.
apt_mirror() {
    python3 - /etc/apt/sources.list /etc/apt/sources.list.d/* <<'EOF'
import sys
entries = []  # (uris, suites, components)
for path in sys.argv[1:]:
    try:
        text = open(path).read()
    except OSError:
        continue
    if path.endswith('.sources'):
        for block in text.split('\n\n'):
            f = {}
            for line in block.splitlines():
                if ':' in line and not line.startswith(('#', ' ')):
                    k, v = line.split(':', 1)
                    f[k.strip().lower()] = v.split()
            if 'deb' in f.get('types', []):
                entries.append((f.get('uris', []), f.get('suites', []), f.get('components', [])))
    elif path.endswith('.list'):
        for line in text.splitlines():
            w = line.split('#', 1)[0].split()
            if w[:1] == ['deb']:
                w = [x for x in w[1:] if not x.startswith('[')]
                if len(w) >= 3:
                    entries.append(([w[0]], [w[1]], w[2:]))
for uris, suites, comps in entries:
    if 'bookworm' in suites and 'main' in comps:
        for u in uris:
            if 'security' not in u:
                print(u.rstrip('/'))
                sys.exit(0)
sys.exit(1)
EOF
}

echo "== base image $base"
if $rebuild_base || ! pm image exists "$base"; then
    mirror=$(apt_mirror) || die "no bookworm main mirror in /etc/apt/sources.list*"
    echo "   debootstrap --variant=minbase bookworm from $mirror"
    debootstrap --variant=minbase bookworm "$tmp/rootfs" "$mirror" >"$tmp/debootstrap.log" 2>&1 ||
        die "debootstrap failed: $(tail -n 5 "$tmp/debootstrap.log")"
    # Like the registry's slim image: no apt lists, no docs or man pages.
    rm -rf "$tmp/rootfs/var/lib/apt/lists/"* "$tmp/rootfs/var/cache/apt/"*.bin \
        "$tmp/rootfs/usr/share/doc/"* "$tmp/rootfs/usr/share/man/"*
    tar --numeric-owner -C "$tmp/rootfs" -c . | pm import --change 'CMD ["/bin/bash"]' - "$base" >/dev/null
    rm -rf "$tmp/rootfs"
else
    echo "   exists (--rebuild-base to make it again)"
fi
pm tag "$base" docker.io/library/debian:12-slim

# Preflight: a trivial container, first with podman's defaults, then with what
# machines like this one need (each failure is printed): resource limits no
# higher than the host's (podman asks for more than a process without
# CAP_SYS_RESOURCE may set), then runc instead of crun (crun refuses a hybrid
# cgroup v1/v2 layout whose v2 hierarchy has a controller).
echo "== can containers run here?"
hard_nofile=$(ulimit -Hn)
[ "$hard_nofile" = unlimited ] && hard_nofile=65536
[ "$hard_nofile" -gt 65536 ] && hard_nofile=65536
limits=(--ulimit "nofile=$hard_nofile:$hard_nofile" --ulimit nproc=4096:4096)
try_run() {
    local out
    if out=$(pm run --rm --network none "${run_opts[@]}" "$base" true 2>&1); then
        echo "   runs with: podman ${runtime_opts[*]} run ${run_opts[*]}"
        return 0
    fi
    echo "   fails with: podman ${runtime_opts[*]} run ${run_opts[*]}: $out"
    return 1
}
if ! try_run; then
    run_opts=("${limits[@]}")
    if ! try_run; then
        command -v runc >/dev/null || apt-get install -y -qq --no-install-recommends runc >/dev/null
        runtime_opts=(--runtime runc)
        try_run || die "no container runs on this machine (see the attempts above)"
    fi
fi

echo "== building $image"
pm build --pull=never --format docker --network host "${run_opts[@]}" -t "$image" -f Dockerfile . >"$tmp/build.log" 2>&1 ||
    die "podman build failed: $(tail -n 20 "$tmp/build.log")"
grep -E '^memproxy .*\(commit|^configuration ok' "$tmp/build.log" | sed 's/^/   build stage, chroot into the runtime tree: /'

echo "== image checks"
size=$(pm image inspect --format '{{.Size}}' "$image")
echo "   image size: $size bytes ($((size / 1000000)) MB; $((size / 1048576)) MiB)"
[ "$size" -lt "$MAX_BYTES" ] || die "the image is $size bytes, not under $MAX_BYTES"
ok "image size $size bytes < 40 MB"
inspect() { pm image inspect --format "$1" "$image"; }
[ "$(inspect '{{.Config.User}}')" = "10001:10001" ] || die "user is $(inspect '{{.Config.User}}')"
ok "runs as 10001:10001"
inspect '{{json .Config.Volumes}}' | grep -q '"/var/lib/memproxy"' || die "no volume /var/lib/memproxy"
inspect '{{json .Config.ExposedPorts}}' | grep -q '8080/tcp' || die "8080 not exposed"
inspect '{{json .Config.ExposedPorts}}' | grep -q '8081/tcp' || die "8081 not exposed"
inspect '{{json .Config.Healthcheck}}' | grep -q -- '--probe' || die "no HEALTHCHECK with --probe (built without --format docker?)"
ok "volume /var/lib/memproxy, ports 8080 and 8081, HEALTHCHECK with --probe"
# What the image holds, file by file.
pm rm -f "$name-files" >/dev/null 2>&1 || true
pm create --name "$name-files" "$image" >/dev/null 2>>"$tmp/podman.err"
pm export "$name-files" | tar -t | sed 's|^\./||' | grep -v '/$' | sort >"$tmp/files.txt"
pm rm -v "$name-files" >/dev/null 2>>"$tmp/podman.err"
echo "   $(wc -l <"$tmp/files.txt") files: $(grep -c '\.so' "$tmp/files.txt") shared libraries, $(grep -v '\.so' "$tmp/files.txt" | tr '\n' ' ')"
for f in bin/sh usr/bin/sh bin/bash usr/bin/apt-get usr/bin/dpkg usr/bin/gcc usr/bin/curl; do
    grep -qx "$f" "$tmp/files.txt" && die "the image holds $f"
done
ok "no shell, package manager, compiler or curl in the image"
pm run --rm --network none "${run_opts[@]}" "$image" --version 2>>"$tmp/podman.err" | sed 's/^/   /'

echo "== fake upstream"
fake=$build/tests/fake_upstream/fake_upstream
if [ ! -x "$fake" ]; then
    [ -f "$build/build.ninja" ] || meson setup "$build" -Dtests=true >/dev/null
    ninja -C "$build" tests/fake_upstream/fake_upstream >/dev/null
fi
"$fake" --host 127.0.0.1 --port 0 >"$tmp/fake.out" 2>"$tmp/fake.err" &
fake_pid=$!
for _ in $(seq 100); do
    grep -q '^PORT ' "$tmp/fake.out" && break
    sleep 0.1
done
fake_url=http://127.0.0.1:$(sed -n 's/^PORT //p' "$tmp/fake.out")
[ "$fake_url" != "http://127.0.0.1:" ] || die "the fake upstream did not start"
echo "   $fake_url"

port_free() { ! python3 -c 'import socket,sys; s=socket.socket(); s.connect(("127.0.0.1",int(sys.argv[1])))' "$1" 2>/dev/null; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# The image's HEALTHCHECK probes 127.0.0.1:8081: use 8080/8081 when free.
health=()
if port_free 8080 && port_free 8081; then
    port=8080 admin=8081
else
    port=$(free_port) admin=$(free_port)
    health=(--health-cmd "[\"/usr/bin/memproxy\",\"--probe\",\"http://127.0.0.1:$admin/readyz\"]")
    echo "   8080 or 8081 is in use here: ports $port and $admin, healthcheck overridden to match"
fi
proxy=http://127.0.0.1:$port

pm volume rm -f "$volume" >/dev/null 2>&1 || true
pm volume create "$volume" >/dev/null

starts=0
start() {
    starts=$((starts + 1))
    pm rm -f -t 0 "$name" >/dev/null 2>&1 || true
    pm run -d --name "$name" --network host --read-only --stop-timeout 30 "${run_opts[@]}" \
        -v "$volume:/var/lib/memproxy" "${health[@]}" \
        -e MEMPROXY_SERVER_LISTEN="127.0.0.1:$port" \
        -e MEMPROXY_SERVER_ADMIN_LISTEN="127.0.0.1:$admin" \
        -e MEMPROXY_SERVER_WORKERS=1 \
        -e MEMPROXY_SERVER_DRAIN_TIMEOUT_MS=$DRAIN_MS \
        -e MEMPROXY_UPSTREAM_BASE_URL="$fake_url/v1" \
        -e MEMPROXY_MEMORY_MODE=hybrid \
        -e MEMPROXY_LOG_LEVEL=info \
        "$image" >/dev/null 2>"$tmp/run.err" || die "podman run failed: $(cat "$tmp/run.err")"
    if grep -q 'unable to get systemd connection' "$tmp/run.err"; then
        echo "   (no systemd here: podman cannot schedule the HEALTHCHECK; this script runs it with podman healthcheck run)"
    fi
    local i
    for ((i = 0; i < 40; i++)); do
        pm healthcheck run "$name" >/dev/null 2>&1 && break
        sleep 0.5
    done
    [ "$(pm inspect --format '{{.State.Health.Status}}' "$name")" = healthy ] ||
        die "not healthy after 20 s: $(pm logs "$name" 2>&1 | tail -n 5)"
    ok "start $starts: HEALTHCHECK (memproxy --probe /readyz) healthy"
    pm exec "$name" /usr/bin/memproxy --probe "http://127.0.0.1:$admin/livez" || die "--probe /livez failed"
    ok "start $starts: podman exec memproxy --probe /livez exits 0"
    local pid uid
    pid=$(pm inspect --format '{{.State.Pid}}' "$name")
    uid=$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status")
    [ "$uid" = 10001 ] || die "memproxy runs as uid $uid"
    [ "$(pm inspect --format '{{.HostConfig.ReadonlyRootfs}}' "$name")" = true ] || die "root fs not read-only"
    ok "start $starts: PID 1 is memproxy as uid 10001 on a read-only root"
}

# chat USER TEXT: one chat request; prints the upstream request's injected text.
chat() {
    python3 - "$proxy" "$fake_url" "$1" "$2" <<'EOF'
import json, sys, urllib.request
proxy, fake, user, text = sys.argv[1:5]
body = json.dumps({'model': 'gpt-4o-mini', 'messages': [{'role': 'user', 'content': text}]}).encode()
req = urllib.request.Request(proxy + '/v1/chat/completions', body, {
    'Content-Type': 'application/json', 'X-User-Id': user, 'Authorization': 'Bearer sk-container-check'})
with urllib.request.urlopen(req, timeout=30) as r:
    rid = r.headers['x-request-id']
    r.read()
n = int(rid[len('fake-'):])
log = json.load(urllib.request.urlopen(fake + '/_fake/requests', timeout=10))
sent = [json.loads(e['body'])['messages'] for e in log if e['n'] == n][0]
print('\n'.join(m.get('content') or '' for m in sent[:-1]))
EOF
}

# wait_fact USER KEY: until GET /v1/memory lists the fact (memory jobs are asynchronous).
wait_fact() {
    local i
    for ((i = 0; i < 100; i++)); do
        curl -sf -H "X-User-Id: $1" "$proxy/v1/memory" | grep -q "\"$2\"" && return 0
        sleep 0.2
    done
    return 1
}

# stop_checked: podman stop with a slow stream in flight; exit 0 within the drain.
stop_checked() {
    curl -sN -H 'Content-Type: application/json' -H 'X-Fake-Behavior: events=6,event_delay_ms=200' \
        -H 'Authorization: Bearer sk-container-check' \
        --data '{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"count"}]}' \
        "$proxy/v1/chat/completions" >"$tmp/stream.out" &
    local curl_pid=$! t0 t1 ms code
    sleep 0.3
    t0=$(date +%s%N)
    pm stop "$name" >/dev/null 2>>"$tmp/stop.err"
    t1=$(date +%s%N)
    wait "$curl_pid" || true
    ms=$(((t1 - t0) / 1000000))
    code=$(pm inspect --format '{{.State.ExitCode}}' "$name")
    [ "$code" = 0 ] || die "exit code $code after podman stop"
    [ "$ms" -lt "$DRAIN_MS" ] || die "podman stop took $ms ms, drain_timeout_ms is $DRAIN_MS"
    grep -q 'data: \[DONE\]' "$tmp/stream.out" || die "the stream in flight was cut: $(tail -c 300 "$tmp/stream.out")"
    pm logs "$name" 2>&1 | grep -q '"msg":"draining"' || die "no \"draining\" line in the log"
    pm logs "$name" 2>&1 | grep -q '"msg":"stopped"' || die "no \"stopped\" line in the log"
    ok "podman stop with a stream in flight: exit 0 in $ms ms (< $DRAIN_MS), stream completed, \"draining\" and \"stopped\" logged"
}

echo "== run 1: teach a fact"
start
chat ada "Hi, my name is Ada. I use ChromaDB as my vector store." >/dev/null
wait_fact ada vector_store || die "the fact was not learned: $(curl -s -H 'X-User-Id: ada' "$proxy/v1/memory")"
ok "fact learned (GET /v1/memory lists vector_store)"
stop_checked

echo "== run 2: a new container on the same volume"
start
injected=$(chat ada "Which vector store did I say I was using?")
grep -q ChromaDB <<<"$injected" || die "the upstream request did not carry the fact: $injected"
ok "after the restart the upstream request carried \"ChromaDB\" in the injected memory"
stop_checked

# The unit under a real systemd, in a container of the base image with
# systemd, procps (the unit's /bin/kill) and memproxy's runtime libraries,
# the image's binary at the unit's ExecStart path, the repository's
# conf/memproxy.ini. Loopback only (--network none): no upstream is reached.
systemd_check() {
    local c=$name-systemd sys=localhost/memproxy-systemd-check:dev i
    mkdir -p "$tmp/systemd"
    cp conf/systemd/memproxy.service conf/memproxy.ini "$tmp/systemd/"
    cat >"$tmp/systemd/Containerfile" <<EOF
FROM $base
RUN apt-get update && apt-get install -y --no-install-recommends systemd systemd-sysv procps \
    libevent-2.1-7 libevent-pthreads-2.1-7 libcurl4 liblmdb0 libjansson4 libstemmer0d libicu72 libzip4 libssl3 \
    ca-certificates && rm -rf /var/lib/apt/lists/*
COPY --from=$image /usr/bin/memproxy /usr/local/bin/memproxy
COPY memproxy.ini /etc/memproxy/memproxy.ini
COPY memproxy.service /etc/systemd/system/memproxy.service
RUN systemctl enable memproxy
CMD ["/sbin/init"]
EOF
    pm build --pull=never --network host "${run_opts[@]}" -t "$sys" "$tmp/systemd" >"$tmp/systemd/build.log" 2>&1 ||
        die "building the systemd check image failed: $(tail -n 20 "$tmp/systemd/build.log")"
    pm rm -f -t 0 "$c" >/dev/null 2>&1 || true
    pm run -d --name "$c" --privileged --systemd=always --network none "${run_opts[@]}" "$sys" \
        >/dev/null 2>>"$tmp/podman.err" || die "podman run (systemd) failed"
    for ((i = 0; i < 60; i++)); do
        [ "$(pm exec "$c" systemctl is-active memproxy 2>/dev/null)" = active ] &&
            pm exec "$c" /usr/local/bin/memproxy --probe http://127.0.0.1:8081/readyz 2>/dev/null && break
        sleep 0.5
    done
    [ "$i" -lt 60 ] || die "memproxy.service not active and ready: $(pm exec "$c" journalctl -u memproxy --no-pager -n 10 -o cat)"
    ok "systemd: memproxy.service active (hardened, DynamicUser), /readyz answers"
    pm exec "$c" sh -c 'systemd-analyze security memproxy.service --no-pager | tail -n 1' | sed 's/^/   /'
    pm exec "$c" systemctl reload memproxy || die "systemctl reload failed"
    sleep 0.5
    pm exec "$c" journalctl -u memproxy --no-pager -o cat | grep -q '"msg":"configuration reloaded"' ||
        die "no \"configuration reloaded\" after systemctl reload"
    ok "systemd: systemctl reload (ExecReload, SIGHUP) reloads the configuration"
    pm exec "$c" systemctl stop memproxy
    [ "$(pm exec "$c" systemctl show memproxy -p Result --value)" = success ] ||
        die "systemctl stop: $(pm exec "$c" systemctl show memproxy -p Result -p ExecMainStatus)"
    pm exec "$c" journalctl -u memproxy --no-pager -o cat | grep -q '"msg":"stopped"' || die "no \"stopped\" in the journal"
    pm exec "$c" sh -c 'ls -ln /var/lib/private/memproxy' | grep -q data.mdb || die "no store in the state directory"
    ok "systemd: systemctl stop exits cleanly (Result=success, \"stopped\"), the store in /var/lib/private/memproxy"
    $keep || pm rm -f -t 0 "$c" >/dev/null 2>&1 || true
}
if $with_systemd; then
    echo "== the systemd unit (conf/systemd/memproxy.service)"
    systemd_check
fi

echo
echo "== all ${#passed[@]} checks passed (image $image, $size bytes)"
