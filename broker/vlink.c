/* SPDX-License-Identifier: Apache-2.0 */
/* Asynchronous vault client: one uv_pipe, ids matched to callbacks, events, reconnects. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "custos/log.h"
#include "custos/ndjson.h"
#include "vlink.h"

struct pending {
    struct pending *next;
    json_int_t id;
    uint64_t deadline_ms;
    vlink_answer_cb cb;
    void *ctx;
    char *line; /* not yet sent (link down or connecting); wiped and freed */
    size_t len;
};

struct vlink {
    uv_loop_t *loop;
    uv_pipe_t pipe;
    uv_connect_t connect;
    uv_timer_t timer;
    char *path;
    char *reset_broker;
    unsigned timeout_s;
    vlink_event_cb on_event;
    void *ev_ctx;
    struct ndjson_reader reader;
    struct pending *pending;
    struct deferred *deferred; /* failures still to be delivered (vlink_cancel reaches them) */
    json_int_t next_id;
    bool up, connecting, pipe_open, closing;
    unsigned handles; /* open uv handles; freed when 0 after close */
};

struct wreq {
    uv_write_t w;
    size_t len;
    char data[];
};

static void link_down(struct vlink *l, const char *why);

static void on_written(uv_write_t *w, int status)
{
    struct wreq *wr = (struct wreq *)w;

    (void)status;                      /* a failed write shows up as a read error and a reconnect */
    sodium_memzero(wr->data, wr->len); /* session.open answers and requests carry credentials */
    free(wr);
}

static int send_line(struct vlink *l, const char *line, size_t len)
{
    struct wreq *wr = malloc(sizeof(*wr) + len);
    uv_buf_t b;
    int r;

    if (!wr)
        return -ERR_NOMEM;
    wr->len = len;
    memcpy(wr->data, line, len);
    b = uv_buf_init(wr->data, (unsigned)len);
    if ((r = uv_write(&wr->w, (uv_stream_t *)&l->pipe, &b, 1, on_written)) < 0) {
        sodium_memzero(wr->data, len);
        free(wr);
        return -ERR_CONN;
    }
    return 0;
}

static void pending_free(struct pending *p)
{
    if (p->line) {
        sodium_memzero(p->line, p->len);
        free(p->line);
    }
    free(p);
}

/* Remove and return the pending call with `id`, or NULL. */
static struct pending *pending_take(struct vlink *l, json_int_t id)
{
    for (struct pending **pp = &l->pending; *pp; pp = &(*pp)->next) {
        if ((*pp)->id == id) {
            struct pending *p = *pp;
            *pp = p->next;
            return p;
        }
    }
    return NULL;
}

static void fail_one(struct pending *p, int err, const char *msg)
{
    if (p->cb)
        p->cb(p->ctx, err, NULL, msg);
    pending_free(p);
}

static int on_line(void *ctx, const char *line, size_t len, int err)
{
    struct vlink *l = ctx;
    json_t *msg = NULL, *id, *res, *e;
    struct pending *p;

    if (err || len == 0)
        return 0;
    if (ndjson_parse(line, len, &msg) != 0) {
        log_warn("vault sent a line that is not JSON; ignored");
        return 0;
    }
    if (json_is_string(json_object_get(msg, "event"))) {
        if (l->on_event)
            l->on_event(l->ev_ctx, json_string_value(json_object_get(msg, "event")),
                        json_object_get(msg, "data"));
        goto out;
    }
    id = json_object_get(msg, "id");
    if (!json_is_integer(id) || !(p = pending_take(l, json_integer_value(id))))
        goto out; /* an answer nobody waits for any more (timed out or cancelled) */
    res = json_object_get(msg, "result");
    e = json_object_get(msg, "error");
    if (res) {
        if (p->cb)
            p->cb(p->ctx, 0, res, NULL);
        pending_free(p);
    } else {
        int code = err_from_name(json_string_value(json_object_get(e, "code")));
        fail_one(p, code ? code : -ERR_INTERNAL,
                 json_string_value(json_object_get(e, "message")) ?: "vault error");
    }
out:
    json_decref(msg);
    return 0;
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    static __thread char slab[65536]; /* consumed before the next read on this loop */

    (void)h;
    (void)hint;
    *b = uv_buf_init(slab, sizeof(slab));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct vlink *l = s->data;

    if (n < 0) {
        link_down(l, n == UV_EOF ? "vault closed the link" : uv_strerror((int)n));
        return;
    }
    if (n > 0) {
        if (ndjson_reader_feed(&l->reader, b->base, (size_t)n, on_line, l) != 0)
            link_down(l, "framing error");
        sodium_memzero(b->base, (size_t)n);
    }
}

static void on_handle_closed(uv_handle_t *h)
{
    struct vlink *l = h->data;

    if (h == (uv_handle_t *)&l->pipe)
        l->pipe_open = false;
    if (--l->handles == 0 && l->closing) {
        ndjson_reader_fini(&l->reader);
        free(l->path);
        free(l->reset_broker);
        free(l);
    }
}

static void on_reset(void *ctx, int err, json_t *result, const char *errmsg)
{
    (void)ctx;
    if (err)
        log_warn("session.reset refused: %s", errmsg);
    else
        log_info("stale sessions of this broker closed: %lld",
                 (long long)json_integer_value(json_object_get(result, "closed")));
}

static void on_subscribed(void *ctx, int err, json_t *result, const char *errmsg)
{
    (void)ctx;
    (void)result;
    if (err)
        log_err("events.subscribe refused: %s; sessions will not be ended on revocation", errmsg);
}

static void flush_queued(struct vlink *l)
{
    for (struct pending *p = l->pending; p; p = p->next) {
        if (!p->line)
            continue;
        if (send_line(l, p->line, p->len) != 0)
            break;
        sodium_memzero(p->line, p->len);
        free(p->line);
        p->line = NULL;
    }
}

static void on_connect(uv_connect_t *c, int status)
{
    struct vlink *l = c->data;

    l->connecting = false;
    if (l->closing)
        return;
    if (status < 0) {
        log_warn("vault link: %s: %s; retrying", l->path, uv_strerror(status));
        uv_close((uv_handle_t *)&l->pipe, on_handle_closed);
        return;
    }
    l->up = true;
    log_info("vault link up: %s", l->path);
    ndjson_reader_fini(&l->reader); /* nothing half-read from an earlier link */
    ndjson_reader_init(&l->reader, NDJSON_LINE_HARD_MAX);
    uv_read_start((uv_stream_t *)&l->pipe, on_alloc, on_read);
    /* Ahead of anything queued: events first, then stale-session cleanup. */
    {
        struct pending *queued = l->pending;
        l->pending = NULL;
        vlink_call(l, "events.subscribe", NULL, on_subscribed, NULL);
        if (l->reset_broker) {
            /* Only at the first connect: later, live sessions are really live. */
            vlink_call(l, "session.reset", json_pack("{s:s}", "broker", l->reset_broker), on_reset,
                       NULL);
            free(l->reset_broker);
            l->reset_broker = NULL;
        }
        /* Append the earlier queue behind the two. */
        struct pending **tail = &l->pending;
        while (*tail)
            tail = &(*tail)->next;
        *tail = queued;
    }
    flush_queued(l);
}

static void try_connect(struct vlink *l)
{
    if (l->up || l->connecting || l->pipe_open || l->closing)
        return;
    uv_pipe_init(l->loop, &l->pipe, 0);
    l->pipe.data = l;
    l->pipe_open = true;
    l->handles++;
    l->connect.data = l;
    l->connecting = true;
    uv_pipe_connect(&l->connect, &l->pipe, l->path, on_connect);
}

static void link_down(struct vlink *l, const char *why)
{
    struct pending *p;

    if (l->up)
        log_warn("vault link down: %s", why);
    l->up = false;
    if (l->pipe_open && !uv_is_closing((uv_handle_t *)&l->pipe)) {
        uv_read_stop((uv_stream_t *)&l->pipe);
        uv_close((uv_handle_t *)&l->pipe, on_handle_closed);
    }
    /* Answers will never come: everyone waiting hears it now. */
    while ((p = l->pending)) {
        l->pending = p->next;
        fail_one(p, -ERR_CONN, "the vault is unreachable");
    }
}

static void on_timer(uv_timer_t *t)
{
    struct vlink *l = t->data;
    uint64_t now = uv_now(l->loop);

    for (struct pending **pp = &l->pending; *pp;) {
        struct pending *p = *pp;
        if (p->deadline_ms <= now) {
            *pp = p->next;
            log_warn("vault call id=%lld timed out", (long long)p->id);
            fail_one(p, -ERR_TIMEOUT, "the vault did not answer in time");
        } else {
            pp = &p->next;
        }
    }
    try_connect(l);
}

int vlink_open(uv_loop_t *loop, const char *path, unsigned timeout_s, const char *reset_broker,
               vlink_event_cb on_event, void *ev_ctx, struct vlink **out)
{
    struct vlink *l = calloc(1, sizeof(*l));

    *out = NULL;
    if (!l || !(l->path = strdup(path))) {
        free(l);
        return -ERR_NOMEM;
    }
    l->reset_broker = reset_broker ? strdup(reset_broker) : NULL;
    ndjson_reader_init(&l->reader, NDJSON_LINE_HARD_MAX);
    l->loop = loop;
    l->timeout_s = timeout_s;
    l->on_event = on_event;
    l->ev_ctx = ev_ctx;
    uv_timer_init(loop, &l->timer);
    l->timer.data = l;
    l->handles = 1;
    uv_timer_start(&l->timer, on_timer, 250, 250);
    try_connect(l);
    *out = l;
    return 0;
}

/* Deliver an immediate failure from the next loop iteration, not inside vlink_call. */
struct deferred {
    uv_idle_t idle;
    struct deferred *next, *prev;
    struct vlink *l; /* NULL once the link is closed */
    vlink_answer_cb cb;
    void *ctx;
    int err;
};

static void deferred_closed(uv_handle_t *h)
{
    free(h->data);
}

static void deferred_run(uv_idle_t *h)
{
    struct deferred *d = h->data;

    uv_idle_stop(h);
    if (d->l) {
        if (d->prev)
            d->prev->next = d->next;
        else
            d->l->deferred = d->next;
        if (d->next)
            d->next->prev = d->prev;
    }
    if (d->cb)
        d->cb(d->ctx, d->err, NULL,
              d->err == -ERR_CONN ? "the vault is unreachable" : "cannot send to the vault");
    uv_close((uv_handle_t *)h, deferred_closed);
}

void vlink_call(struct vlink *l, const char *op, json_t *args, vlink_answer_cb cb, void *ctx)
{
    struct pending *p = calloc(1, sizeof(*p));
    json_t *msg = NULL;
    char *line = NULL;
    size_t len = 0, need;

    if (!p)
        goto fail;
    p->id = ++l->next_id;
    p->cb = cb;
    p->ctx = ctx;
    p->deadline_ms = uv_now(l->loop) + (uint64_t)l->timeout_s * 1000u;
    msg = json_pack("{s:I,s:s,s:o}", "id", p->id, "op", op, "args", args ? args : json_object());
    args = NULL;
    if (!msg || !(need = json_dumpb(msg, NULL, 0, JSON_COMPACT)) || !(line = malloc(need + 1)) ||
        json_dumpb(msg, line, need, JSON_COMPACT) != need)
        goto fail;
    line[need] = '\n';
    len = need + 1;
    if (!l->up) {
        /* Connecting: queue it (it fails by timeout if the vault stays away). */
        p->line = line;
        p->len = len;
        line = NULL;
    } else if (send_line(l, line, len) != 0) {
        goto fail;
    }
    p->next = NULL;
    {
        struct pending **tail = &l->pending;
        while (*tail)
            tail = &(*tail)->next;
        *tail = p;
    }
    p = NULL;
    goto out;
fail:
    if (cb) {
        struct deferred *d = calloc(1, sizeof(*d));
        if (d) {
            d->cb = cb;
            d->ctx = ctx;
            d->err = -ERR_CONN;
            d->l = l;
            d->next = l->deferred;
            if (l->deferred)
                l->deferred->prev = d;
            l->deferred = d;
            uv_idle_init(l->loop, &d->idle);
            d->idle.data = d;
            uv_idle_start(&d->idle, deferred_run);
        }
    }
    if (p)
        pending_free(p);
out:
    json_decref(args);
    json_decref(msg);
    if (line) {
        sodium_memzero(line, len);
        free(line);
    }
}

void vlink_cancel(struct vlink *l, void *ctx)
{
    for (struct pending *p = l->pending; p; p = p->next)
        if (p->ctx == ctx)
            p->cb = NULL;
    for (struct deferred *d = l->deferred; d; d = d->next)
        if (d->ctx == ctx)
            d->cb = NULL;
}

bool vlink_is_up(const struct vlink *l)
{
    return l->up;
}

void vlink_close(struct vlink *l)
{
    struct pending *p;

    if (!l || l->closing)
        return;
    l->closing = true;
    for (struct deferred *d = l->deferred; d; d = d->next)
        d->l = NULL; /* they still run (once each), without the link */
    l->deferred = NULL;
    while ((p = l->pending)) {
        l->pending = p->next;
        fail_one(p, -ERR_CLOSED, "the broker is stopping");
    }
    l->up = false;
    if (l->pipe_open && !uv_is_closing((uv_handle_t *)&l->pipe))
        uv_close((uv_handle_t *)&l->pipe, on_handle_closed);
    uv_close((uv_handle_t *)&l->timer, on_handle_closed);
}
