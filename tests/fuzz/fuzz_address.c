/* libFuzzer target for core/wire/address.c and clienttask.c's rule by
 * shape: the input as a text, then as a request body on each wire. A text
 * reads the same twice, its instructions end within what was read and
 * within the window, an agent has what mp_address_is_agent asks; a body
 * that scans gives a task of a kind in the enum or none, the same twice. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/address.h"
#include "wire/clienttask.h"
#include "status.h"
#include "wire/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Checks use assert(): the fuzz build is a debug build. */
#define CHECK(cond) assert(cond)

#define MSGS 64

static void text_checked(const char *text, size_t len)
{
    struct mp_address a, b;
    mp_address_read(text, len, &a);
    mp_address_read(text, len, &b);
    CHECK(memcmp(&a, &b, sizeof(a)) == 0);
    CHECK(a.instructions <= len && a.instructions <= MP_ADDRESS_WINDOW);
    CHECK(a.kind >= -1 && a.kind < MP_TASK_KINDS);
    if (mp_address_is_agent(&a, len))
        CHECK(a.role && a.person == 0 && a.own > 0 && len >= MP_ADDRESS_AGENT_MIN);
    int k = mp_address_kind(text, len);
    CHECK(k >= -1 && k < MP_TASK_KINDS);
}

static void body_checked(const struct mp_wire *w, const char *body, size_t len)
{
    static struct mp_chatreq_msg msgs[MSGS];
    struct mp_chatreq req;
    enum mp_clienttask_kind k1 = MP_TASK_KINDS, k2 = MP_TASK_KINDS;
    if (w->scan(body, len, msgs, MSGS, &req) != MP_OK)
        return;
    int rc = mp_clienttask_from_shape(w, body, len, &req, NULL, &k1);
    CHECK(rc == MP_OK || rc == MP_NOTFOUND || rc == MP_ENOMEM);
    if (rc == MP_OK)
        CHECK(k1 >= 0 && k1 < MP_TASK_KINDS);
    else
        CHECK(k1 == MP_TASK_KINDS); /* untouched */
    CHECK(mp_clienttask_from_shape(w, body, len, &req, NULL, &k2) == rc && k2 == k1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size + 1);
    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    copy[size] = '\0';
    text_checked(copy, size);
    body_checked(&mp_wire_chat, copy, size);
    body_checked(&mp_wire_responses, copy, size);
    body_checked(&mp_wire_messages, copy, size);
    free(copy);
    return 0;
}
