/* libFuzzer target for core/json/jsonrpc.c, the MCP endpoint's reader:
 * whatever the bytes, a message is read or refused with one of the two
 * JSON-RPC codes, every span it gives lies inside the body and starts the
 * value it names, and the params readers the tools use (strings,
 * integers, objects, name lists, _meta's version) stay within their
 * buffers and answer only their documented results. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "json/jsonrpc.h"
#include "status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_string(const char *b, size_t s, size_t e, const char *name, size_t cap)
{
    char out[1100];
    size_t n = 12345;
    assert(cap <= sizeof(out));
    int rc = mp_jsonrpc_string(b, s, e, name, out, cap, &n);
    assert(rc == MP_OK || rc == MP_NOTFOUND || rc == MP_EINVAL || rc == MP_ETOOBIG);
    if (rc == MP_OK) {
        assert(n < cap && out[n] == '\0' && strlen(out) == n);
    } else {
        assert(n == 12345);
    }
}

static void check_params(const char *b, size_t size, size_t s, size_t e)
{
    static const char *const types[] = {"facts", "messages"};
    size_t as = 0, ae = 0, ms, me;
    uint64_t v = 0;
    unsigned bits = 0;
    assert(s < e && e <= size && b[s] == '{' && b[e - 1] == '}');
    check_string(b, s, e, "name", 32);
    check_string(b, s, e, "protocolVersion", 32);
    int rc = mp_jsonrpc_object(b, s, e, "arguments", &as, &ae);
    assert(rc == MP_OK || rc == MP_NOTFOUND || rc == MP_EINVAL);
    if (rc == MP_OK) {
        assert(as >= s && ae <= e && b[as] == '{');
        check_string(b, as, ae, "query", 1025);
        check_string(b, as, ae, "key", 193);
        check_string(b, as, ae, "cursor", 24);
        rc = mp_jsonrpc_uint(b, as, ae, "limit", 100, &v);
        assert(rc == MP_OK || rc == MP_NOTFOUND || rc == MP_EINVAL);
        assert(rc != MP_OK || v <= 100);
        rc = mp_jsonrpc_names(b, as, ae, "types", types, 2, &bits);
        assert(rc == MP_OK || rc == MP_NOTFOUND || rc == MP_EINVAL);
        assert(rc != MP_OK || bits <= 3);
    }
    if (mp_jsonrpc_object(b, s, e, "_meta", &ms, &me) == MP_OK)
        check_string(b, ms, me, "io.modelcontextprotocol/protocolVersion", 64);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *b = (const char *)data;
    struct mp_jsonrpc_msg m;
    int code = 0;
    memset(&m, 0xA5, sizeof(m));
    int rc = mp_jsonrpc_parse(b, size, &m, &code);
    assert(rc == MP_OK || rc == MP_EINVAL);
    assert(m.id_start == m.id_end || (m.id_start < m.id_end && m.id_end <= size &&
                                      m.id_end - m.id_start <= MP_JSONRPC_ID_MAX));
    if (m.id_start < m.id_end)
        assert(b[m.id_start] == '"' || b[m.id_start] == '-' ||
               (b[m.id_start] >= '0' && b[m.id_start] <= '9'));
    if (rc != MP_OK) {
        assert(code == MP_JSONRPC_PARSE_ERROR || code == MP_JSONRPC_INVALID_REQUEST);
        return 0;
    }
    assert(m.kind == MP_JSONRPC_REQUEST || m.kind == MP_JSONRPC_NOTIFICATION ||
           m.kind == MP_JSONRPC_RESPONSE);
    assert(m.method_len <= MP_JSONRPC_METHOD_MAX && strlen(m.method) == m.method_len);
    assert((m.kind == MP_JSONRPC_REQUEST || m.kind == MP_JSONRPC_RESPONSE) ==
           (m.id_start < m.id_end));
    if (m.has_params)
        check_params(b, size, m.params_start, m.params_end);
    return 0;
}
