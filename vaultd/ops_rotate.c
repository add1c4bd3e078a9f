/* SPDX-License-Identifier: Apache-2.0 */
/* rotate.queue.*: the accounts waiting for a credential rotation, and their completion. */
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "gov_state.h"
#include "scopes.h"

static const char *jstr(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

/* The number in an id "q-N" (0 if none), so q-10 sorts after q-9. */
static long long id_number(const json_t *entry)
{
    const char *id = jstr(entry, "id"), *dash = id ? strrchr(id, '-') : NULL;

    return dash ? atoll(dash + 1) : 0;
}

static int by_request_order(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    json_int_t tx = json_integer_value(json_object_get(x, "requested_at"));
    json_int_t ty = json_integer_value(json_object_get(y, "requested_at"));
    long long nx = id_number(x), ny = id_number(y);

    if (tx != ty)
        return tx < ty ? -1 : 1;
    return nx < ny ? -1 : nx > ny;
}

static int op_queue_list(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    const char *state = NULL;
    json_t *all = NULL, *out = NULL, *e, **v = NULL;
    size_t i, n = 0;
    int r;

    if ((r = arg_str(rq, "state", false, &state)) != 0)
        goto out;
    if (state && strcmp(state, "queued") != 0 && strcmp(state, "done") != 0) {
        req_fail(rq, -ERR_INVAL, "\"state\" must be queued or done");
        r = -ERR_INVAL;
        goto out;
    }
    if ((r = gov_list(vd, txn, STORE_ROTATION, &all)) != 0)
        goto out;
    if (!(v = calloc(json_array_size(all) + 1, sizeof(*v)))) {
        r = -ERR_NOMEM;
        goto out;
    }
    json_array_foreach(all, i, e)
    {
        if (!state || strcmp(jstr(e, "state") ? jstr(e, "state") : "", state) == 0)
            v[n++] = e;
    }
    if (n)
        qsort(v, n, sizeof(*v), by_request_order);
    out = json_array();
    for (i = 0; i < n; i++)
        json_array_append(out, v[i]);
    rq->result = json_pack("{s:o}", "queue", out);
out:
    free(v);
    json_decref(all);
    return r;
}

static int op_queue_done(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    const char *id, *result = NULL;
    json_t *e = NULL;
    int r;

    if ((r = arg_str(rq, "id", true, &id)) != 0 || (r = arg_str(rq, "result", false, &result)) != 0)
        goto out;
    if (!gov_name_is_valid(id)) {
        req_fail(rq, -ERR_INVAL, "\"id\" must be a queue entry id (q-N)");
        r = -ERR_INVAL;
        goto out;
    }
    if (!result)
        result = "rotated";
    if (strcmp(result, "rotated") != 0 && strcmp(result, "skipped") != 0) {
        req_fail(rq, -ERR_INVAL, "\"result\" must be rotated or skipped");
        r = -ERR_INVAL;
        goto out;
    }
    if ((r = gov_load(vd, rq, txn, STORE_ROTATION, "rotation", id, &e)) != 0)
        goto out;
    if (strcmp(jstr(e, "state") ? jstr(e, "state") : "", "queued") != 0) {
        req_fail(rq, -ERR_STATE, "rotation %s is already %s", id,
                 jstr(e, "state") ? jstr(e, "state") : "closed");
        r = -ERR_STATE;
        goto out;
    }
    json_object_set_new(e, "state", json_string("done"));
    json_object_set_new(e, "done_at", json_integer(gov_now()));
    json_object_set_new(e, "result", json_string(result));
    json_object_set_new(e, "done_by", json_string(rq->principal));
    if ((r = store_json_put(vd->store, txn, STORE_ROTATION, id, e, STORE_UPDATE)) != 0 ||
        (r = req_audit(vd, rq, txn, id,
                       json_pack("{s:O?,s:s}", "account", json_object_get(e, "account"), "result",
                                 result))) != 0)
        goto out;
    rq->result = json_incref(e);
out:
    json_decref(e);
    return r;
}

const struct op ops_rotate[] = {
    {"rotate.queue.list", SCOPE(GOV), ST_UNSEALED, OP_READ, op_queue_list, NULL},
    {"rotate.queue.done", SCOPE(GOV), ST_UNSEALED, OP_WRITE, op_queue_done, NULL},
    {NULL, 0, 0, 0, NULL, NULL},
};
