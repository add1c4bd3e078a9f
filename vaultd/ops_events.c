/* SPDX-License-Identifier: Apache-2.0 */
/* events.subscribe: a connection asks for governance events to be pushed to it. */
#include <string.h>

#include "dispatch.h"
#include "scopes.h"

static const char *const event_types[] = {
    "grant.created",       "grant.expired",    "grant.revoked",
    "identity.suspended",  "identity.left",    "identity.updated",
    "identity.mfa_locked", "alert.breakglass", "review.revoked",
    "rotation.queued",     "request.created",  "request.decided",
    "session.kill",        "access.changed",   NULL,
};

static bool known_type(const char *t)
{
    for (const char *const *e = event_types; *e; e++)
        if (strcmp(*e, t) == 0)
            return true;
    return false;
}

static int op_subscribe(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    json_t *types = json_object_get(rq->args, "types"), *t;
    size_t i;
    int r;

    (void)vd;
    (void)txn;
    if (types && !json_is_array(types)) {
        req_fail(rq, -ERR_INVAL, "\"types\" must be an array of event names");
        return -ERR_INVAL;
    }
    json_array_foreach(types, i, t)
    {
        if (!json_is_string(t) || !known_type(json_string_value(t))) {
            req_fail(rq, -ERR_INVAL, "unknown event type at index %zu", i);
            return -ERR_INVAL;
        }
    }
    types = types ? json_incref(types) : json_array();
    r = server_subscribe(rq, types);
    if (r == 0) {
        if (json_array_size(types) == 0) {
            json_decref(types);
            types = json_array();
            for (const char *const *e = event_types; *e; e++)
                json_array_append_new(types, json_string(*e));
        }
        rq->result = json_pack("{s:O}", "subscribed", types);
    }
    json_decref(types);
    return r;
}

/*
 * Served in every state, uninitialized too: a broker that connects before
 * the vault is initialized and unsealed subscribes once and gets events as
 * soon as they flow.
 */
const struct op ops_events[] = {
    {"events.subscribe", SCOPE(AUTHORIZE), ST_UNINIT | ST_SEALED | ST_UNSEALED, OP_LOOP,
     op_subscribe, NULL},
    {NULL, 0, 0, 0, NULL, NULL},
};
