/* The model list (see fake_models.h). OpenAI's list is {"object":"list",
 * "data":[{"id","object":"model","created","owned_by"}]}, Anthropic's
 * {"data":[{"type":"model","id","display_name","created_at"}],"has_more",
 * "first_id","last_id"}: the one body carries the members of both, so a
 * client's probe of either provider finds what it looks for. */
#include "fake_models.h"

#include "fake_chat.h"

static void put_models(struct fake_buf *o, const struct fake_v1_req *r,
                       const struct fake_behavior *b)
{
    fake_buf_puts(o, "{\"object\":\"list\",\"data\":[{\"id\":\"fake\",\"object\":\"model\","
                     "\"type\":\"model\",\"created\":1700000000,"
                     "\"created_at\":\"2023-11-14T22:13:20Z\",\"display_name\":\"Fake\","
                     "\"owned_by\":\"fake\"}],\"has_more\":false,\"first_id\":\"fake\","
                     "\"last_id\":\"fake\"}");
}

const struct fake_wire fake_wire_models = {
    .put_reply = put_models,
    .put_error = fake_chat_put_error,
    .put_stream = NULL,
};
