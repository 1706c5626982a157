/* A Responses previous_response_id chain (chain.h). A buffer is a few
 * dozen messages: a newest-first walk, no index. */
#include "wire/chain.h"

#include <string.h>

#include "wire/convid.h"
#include "json/json_scan.h"
#include "status.h"

/* The string value buf[s..e) as an id. */
static bool id_of(const char *buf, size_t s, size_t e, const char **id, size_t *id_len)
{
    if (e < s + 2 || buf[s] != '"' || e - s - 2 == 0 || e - s - 2 > MP_CONVID_ID_MAX)
        return false;
    *id = buf + s + 1;
    *id_len = e - s - 2;
    return true;
}

bool mp_chain_reply_id(const char *body, size_t len, const char **id, size_t *id_len)
{
    size_t s, e;
    return mp_json_find_member(body, len, "id", 2, &s, &e) == MP_OK &&
           id_of(body, s, e, id, id_len);
}

bool mp_chain_event_id(const char *data, size_t len, const char **id, size_t *id_len)
{
    size_t rs, re, s, e;
    if (mp_json_find_member(data, len, "response", 8, &rs, &re) != MP_OK || data[rs] != '{')
        return false;
    return mp_json_member_in(data, rs, re, "id", &s, &e) == MP_OK && id_of(data, s, e, id, id_len);
}

/* The newest assistant message of msgs[0..n) whose reply_ref is ref. */
static const struct mp_mem_message *replied(const struct mp_mem_message *msgs, size_t n,
                                            uint64_t ref)
{
    for (size_t i = n; ref != 0 && i-- > 0;) {
        if (msgs[i].role == MP_ROLE_ASSISTANT && msgs[i].reply_ref == ref)
            return &msgs[i];
    }
    return NULL;
}

int mp_chain_find(const struct mp_mem_message *msgs, size_t n, uint64_t ref, struct mp_chain *out)
{
    const struct mp_mem_message *m = replied(msgs, n, ref);
    if (m == NULL)
        return MP_NOTFOUND;
    bool first = m->conv_kind != MP_CONVID_CHAIN;
    /* a lone first turn's conversation is the chain's from its first turn */
    bool own = first && m->conv_kind == MP_CONVID_FIRST && m->conv != 0;
    *out = (struct mp_chain){.conv = own     ? m->conv
                                     : first ? ref
                                             : m->conv,
                             .link = m,
                             .first = first && !own};
    return MP_OK;
}

const char *mp_chain_first_request(const struct mp_mem_message *msgs, size_t n, uint64_t conv)
{
    const struct mp_mem_message *m = replied(msgs, n, conv);
    return m != NULL && m->request_id[0] != '\0' ? m->request_id : NULL;
}
