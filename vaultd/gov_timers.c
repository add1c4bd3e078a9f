/* SPDX-License-Identifier: Apache-2.0 */
/* Governance deadlines: a min-heap of (time, kind, id) and one libuv timer on the loop thread. */
#include <stdlib.h>
#include <unistd.h>
#include <string.h>
#include <time.h>

#include "custos/log.h"
#include "gov_access.h"
#include "gov_state.h"

/*
 * Deadlines live in memory while the vault is unsealed (loaded at unseal,
 * added after each commit).  When the earliest is due, one internal write
 * request ("gov.tick") carries every due item to the writer; each item is
 * applied only if the stored object is still due, so a stale or duplicate
 * heap entry is harmless.  The timer aims at the deadline itself, so an
 * expiry is applied well within the one second the design allows.
 */
struct deadline {
    json_int_t at;
    char kind[12];
    char id[48];
};

struct gov_timers {
    uv_timer_t timer;
    struct deadline *heap;
    size_t n, cap;
    bool tick_running;
};

static struct gov_timers timers; /* one vaultd per process */

static void heap_swap(size_t a, size_t b)
{
    struct deadline t = timers.heap[a];

    timers.heap[a] = timers.heap[b];
    timers.heap[b] = t;
}

static void heap_push(const struct deadline *d)
{
    size_t i;

    if (timers.n == timers.cap) {
        size_t ncap = timers.cap ? timers.cap * 2 : 256;
        struct deadline *nh = realloc(timers.heap, ncap * sizeof(*nh));
        if (!nh) {
            log_err("out of memory: deadline %s %s not armed", d->kind, d->id);
            return;
        }
        timers.heap = nh;
        timers.cap = ncap;
    }
    i = timers.n++;
    timers.heap[i] = *d;
    while (i > 0 && timers.heap[(i - 1) / 2].at > timers.heap[i].at) {
        heap_swap(i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static void heap_pop(void)
{
    size_t i = 0;

    timers.heap[0] = timers.heap[--timers.n];
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < timers.n && timers.heap[l].at < timers.heap[m].at)
            m = l;
        if (r < timers.n && timers.heap[r].at < timers.heap[m].at)
            m = r;
        if (m == i)
            break;
        heap_swap(i, m);
        i = m;
    }
}

static void rearm(struct vaultd *vd);

static int op_tick(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    json_t *item;
    size_t i;
    int r = 0;

    json_array_foreach(json_object_get(rq->args, "items"), i, item)
    {
        const char *kind = json_string_value(json_object_get(item, "kind"));
        const char *id = json_string_value(json_object_get(item, "id"));
        json_t *g = NULL;

        if (strcmp(kind, "grant") == 0) {
            if (store_json_get(vd->store, txn, STORE_GRANTS, id, &g) != 0)
                continue;
            if (strcmp(json_string_value(json_object_get(g, "state")) ?: "", "active") == 0 &&
                json_integer_value(json_object_get(g, "expires_at")) <= gov_now())
                r = gov_grant_end(vd, rq, txn, id, "expired", "timer", "grant expired");
            json_decref(g);
        } else if (strcmp(kind, "request") == 0) {
            r = gov_expire_request(vd, rq, txn, id);
        } else if (strcmp(kind, "campaign") == 0) {
            r = gov_campaign_deadline(vd, rq, txn, id);
        } else if (strcmp(kind, "exception") == 0) {
            r = gov_access_exception_end(vd, rq, txn, id, NULL, NULL);
        }
        if (r != 0) {
            log_err_r(r, "deadline %s %s could not be applied; retrying", kind, id);
            return r;
        }
    }
    return 0;
}

static const struct op tick_op = {"gov.tick", 0, ST_UNSEALED, OP_WRITE, op_tick, NULL};

static void on_timer(uv_timer_t *t)
{
    struct vaultd *vd = t->data;
    json_int_t now = gov_now();
    json_t *items;
    struct req *rq;

    if (timers.tick_running || vd->state != VAULT_UNSEALED || vd->stopping)
        return;
    items = json_array();
    while (timers.n && timers.heap[0].at <= now && json_array_size(items) < 512) {
        json_array_append_new(
            items, json_pack("{s:s,s:s}", "kind", timers.heap[0].kind, "id", timers.heap[0].id));
        heap_pop();
    }
    if (json_array_size(items) == 0) {
        json_decref(items);
        rearm(vd);
        return;
    }
    rq = calloc(1, sizeof(*rq));
    if (!rq) {
        json_decref(items);
        return;
    }
    rq->op = &tick_op;
    rq->id = json_null();
    rq->args = json_pack("{s:o}", "items", items);
    rq->uid = geteuid();
    rq->scopes = 0;
    snprintf(rq->principal, sizeof(rq->principal), "timer");
    timers.tick_running = true;
    writer_submit(vd, rq);
}

void gov_timers_tick_done(struct vaultd *vd, struct req *rq)
{
    json_t *item;
    size_t i;

    timers.tick_running = false;
    if (rq->err) {
        /* Nothing was applied: put the items back and try again in a second. */
        json_array_foreach(json_object_get(rq->args, "items"), i, item)
            gov_timers_add(vd, gov_now() + 1, json_string_value(json_object_get(item, "kind")),
                           json_string_value(json_object_get(item, "id")));
    }
    rearm(vd);
}

bool gov_timers_is_tick(const struct req *rq)
{
    return rq->op == &tick_op;
}

static void rearm(struct vaultd *vd)
{
    struct timespec ts;
    int64_t now_ms, at_ms;
    uint64_t ms;

    if (!timers.n || vd->state != VAULT_UNSEALED || vd->stopping) {
        uv_timer_stop(&timers.timer);
        return;
    }
    /*
     * Deadlines are whole seconds of wall time: aim at the second itself
     * (plus a few ms), measured with sub-second precision, so an expiry is
     * applied right at its time, not up to a second after it.
     */
    clock_gettime(CLOCK_REALTIME, &ts);
    now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    at_ms = (int64_t)timers.heap[0].at * 1000;
    ms = at_ms <= now_ms ? 0 : (uint64_t)(at_ms - now_ms);
    uv_timer_start(&timers.timer, on_timer, ms + 5, 0);
}

void gov_timers_init(struct vaultd *vd)
{
    uv_timer_init(vd->loop, &timers.timer);
    timers.timer.data = vd;
}

void gov_timers_add(struct vaultd *vd, json_int_t at, const char *kind, const char *id)
{
    struct deadline d = {.at = at};

    if (!kind || !id)
        return;
    snprintf(d.kind, sizeof(d.kind), "%s", kind);
    snprintf(d.id, sizeof(d.id), "%s", id);
    heap_push(&d);
    if (!timers.tick_running)
        rearm(vd);
}

int gov_timers_load(struct vaultd *vd)
{
    /* state NULL: objects without a state, due while they have no "ended_at" (exceptions). */
    static const struct {
        enum store_table t;
        const char *kind, *state, *field;
    } src[] = {{STORE_GRANTS, "grant", "active", "expires_at"},
               {STORE_REQUESTS, "request", "pending", "decide_by"},
               {STORE_CAMPAIGNS, "campaign", "open", "deadline"},
               {STORE_SOD_EXC, "exception", NULL, "expires_at"}};
    MDB_txn *txn = NULL;
    size_t loaded = 0;
    int r;

    timers.n = 0;
    if ((r = store_txn_begin(vd->store, NULL, false, &txn)) != 0)
        return r;
    for (size_t s = 0; s < sizeof(src) / sizeof(src[0]); s++) {
        json_t *all = NULL, *o;
        size_t i;
        if ((r = store_json_list(vd->store, txn, src[s].t, "", &all)) != 0)
            break;
        json_array_foreach(all, i, o)
        {
            if (src[s].state ? strcmp(json_string_value(json_object_get(o, "state")) ?: "",
                                      src[s].state) != 0
                             : json_is_integer(json_object_get(o, "ended_at")))
                continue;
            gov_timers_add(vd, json_integer_value(json_object_get(o, src[s].field)), src[s].kind,
                           json_string_value(json_object_get(o, "id")));
            loaded++;
        }
        json_decref(all);
    }
    store_txn_abort(txn);
    log_info("governance deadlines loaded: %zu", loaded);
    rearm(vd);
    return r;
}

void gov_timers_clear(struct vaultd *vd)
{
    (void)vd;
    timers.n = 0;
    uv_timer_stop(&timers.timer);
}

void gov_timers_close(struct vaultd *vd)
{
    (void)vd;
    uv_close((uv_handle_t *)&timers.timer, NULL);
    free(timers.heap);
    timers.heap = NULL;
    timers.n = timers.cap = 0;
}
