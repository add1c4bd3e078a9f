/* SPDX-License-Identifier: Apache-2.0 */
/* The byte relay between the admin's channel and the target's: carries, back-pressure, one tap. */
#include <stdlib.h>
#include <string.h>

#include <libssh/server.h>

#include "relay.h"

struct relay_carry {
    size_t len, off;
    char data[RELAY_CHUNK];
};

static struct relay_carry *carry_get(struct relay_carry **c)
{
    if (!*c)
        *c = calloc(1, sizeof(**c));
    return *c;
}

bool relay_carry_empty(const struct relay_carry *c)
{
    return !c || c->off >= c->len;
}

void relay_carry_free(struct relay_carry *c)
{
    free(c);
}

static void tap_event(const struct relay *r, const struct relay_event *ev)
{
    if (r->tap && r->tap->event)
        r->tap->event(r->tap->ctx, ev);
}

/* Write p[0..n) to dst (stderr when dst_err); what went is tapped as dir. */
static int put(const struct relay_tap *tap, enum relay_dir dir, ssh_channel dst, int dst_err,
               const char *p, size_t n)
{
    int w = dst_err ? ssh_channel_write_stderr(dst, p, (uint32_t)n)
                    : ssh_channel_write(dst, p, (uint32_t)n);

    if (w > 0 && tap && tap->bytes)
        tap->bytes(tap->ctx, dir, p, (size_t)w);
    return w;
}

/* Write what carry c still holds to dst; true when bytes went. */
static bool flush(const struct relay_tap *tap, enum relay_dir dir, struct relay_carry *c,
                  ssh_channel dst, int dst_err)
{
    int w;

    if (!c || c->off >= c->len || !dst)
        return false;
    w = put(tap, dir, dst, dst_err, c->data + c->off, c->len - c->off);
    if (w > 0)
        c->off += (size_t)w;
    if (c->off >= c->len)
        c->len = c->off = 0;
    return w > 0;
}

/* One direction's source, destination, carry and hooks. */
struct pipe {
    ssh_channel src, dst;
    int src_err, dst_err;
    struct relay_carry **cp;
    uint64_t *counter;
    enum relay_dir dir;
    const struct relay_tap *tap; /* NULL for forwards */
    size_t (*input)(void *ctx, const char *p, size_t n);
    void (*output)(void *ctx, const char *p, size_t n);
    void *ctx;
};

/*
 * Move what src has into dst without exceeding dst's window; what dst
 * cannot take now waits in the carry, and nothing more is read from src
 * until it is gone.
 */
static bool move(struct relay *r, const struct pipe *p)
{
    struct relay_carry *c;
    bool moved;
    int n, w;
    uint32_t room;

    if (!p->src || !p->dst || !(c = carry_get(p->cp)))
        return false;
    moved = flush(p->tap, p->dir, c, p->dst, p->dst_err);
    if (c->off < c->len)
        return moved;
    /* Poll first (it may run callbacks), size the read after (notes: pitfall 3). */
    n = ssh_channel_poll(p->src, p->src_err);
    if (n <= 0)
        return moved;
    room = ssh_channel_window_size(p->dst);
    if (room == 0)
        return moved;
    if ((uint32_t)n > room)
        n = (int)room;
    if ((size_t)n > sizeof(c->data))
        n = (int)sizeof(c->data);
    n = ssh_channel_read_nonblocking(p->src, c->data, (uint32_t)n, p->src_err);
    if (n <= 0)
        return moved;
    r->active = true;
    if (p->output)
        p->output(p->ctx, c->data, (size_t)n);
    if (p->input && (n = (int)p->input(p->ctx, c->data, (size_t)n)) == 0)
        return true; /* the owner stopped it (a refused or held Enter) */
    c->len = (size_t)n;
    c->off = 0;
    *p->counter += (uint64_t)n;
    w = put(p->tap, p->dir, p->dst, p->dst_err, c->data, (size_t)n);
    if (w > 0)
        c->off = (size_t)w;
    if (c->off >= c->len)
        c->len = c->off = 0;
    return true;
}

bool relay_flush_in(struct relay *r)
{
    return flush(r->tap, RELAY_IN, r->in, r->t, 0);
}

bool relay_move_in(struct relay *r)
{
    struct pipe p = {r->a,     r->t,   0,           0,    &r->in,   &r->bytes_in,
                     RELAY_IN, r->tap, r->io.input, NULL, r->io.ctx};

    return move(r, &p);
}

bool relay_move_out(struct relay *r)
{
    struct pipe out = {r->t, r->a,         0,        0, &r->out, &r->bytes_out, RELAY_OUT, r->tap,
                       NULL, r->io.output, r->io.ctx};
    struct pipe err = {r->t,      r->a,   1,    1,    &r->err, &r->bytes_out,
                       RELAY_ERR, r->tap, NULL, NULL, NULL};
    bool m = move(r, &out);

    if (move(r, &err))
        m = true;
    return m;
}

bool relay_forward(struct relay *r, ssh_channel src, ssh_channel dst, struct relay_carry **cp,
                   bool in)
{
    struct pipe p = {
        src,  dst,  0,    0,   cp, in ? &r->bytes_in : &r->bytes_out, in ? RELAY_IN : RELAY_OUT,
        NULL, NULL, NULL, NULL};

    return move(r, &p);
}

bool relay_in_empty(const struct relay *r)
{
    return relay_carry_empty(r->in);
}

bool relay_out_drained(const struct relay *r)
{
    return relay_carry_empty(r->out) && relay_carry_empty(r->err) &&
           ssh_channel_poll(r->t, 0) <= 0 && ssh_channel_poll(r->t, 1) <= 0;
}

int relay_inject(struct relay *r, const char *p, size_t n)
{
    struct relay_carry *c = carry_get(&r->in);

    if (!c)
        return -ERR_NOMEM;
    if (c->off) {
        memmove(c->data, c->data + c->off, c->len - c->off);
        c->len -= c->off;
        c->off = 0;
    }
    if (c->len + n > sizeof(c->data))
        return -ERR_FULL;
    memcpy(c->data + c->len, p, n);
    c->len += n;
    relay_flush_in(r);
    return 0;
}

uint32_t relay_in_room(const struct relay *r)
{
    return relay_carry_empty(r->in) ? ssh_channel_window_size(r->t) : 0;
}

int relay_in_read(struct relay *r, char *buf, size_t max)
{
    int k = ssh_channel_poll(r->a, 0);

    if (k <= 0)
        return k;
    if ((size_t)k > max)
        k = (int)max;
    k = ssh_channel_read_nonblocking(r->a, buf, (uint32_t)k, 0);
    if (k > 0)
        r->active = true;
    return k;
}

char *relay_in_space(struct relay *r)
{
    struct relay_carry *c = carry_get(&r->in);

    return c && c->off >= c->len ? c->data : NULL;
}

void relay_in_commit(struct relay *r, size_t n)
{
    r->in->len = n;
    r->in->off = 0;
    r->bytes_in += n;
    relay_flush_in(r);
}

void relay_resize(struct relay *r, int cols, int rows)
{
    struct relay_event ev = {.kind = RELAY_EV_RESIZE, .cols = cols, .rows = rows};

    ssh_channel_change_pty_size(r->t, cols, rows);
    tap_event(r, &ev);
}

void relay_signal(struct relay *r, const char *signal)
{
    struct relay_event ev = {.kind = RELAY_EV_SIGNAL, .signal = signal};

    ssh_channel_request_send_signal(r->t, signal);
    tap_event(r, &ev);
}

void relay_eof_in(struct relay *r)
{
    struct relay_event ev = {.kind = RELAY_EV_EOF_IN};

    if (r->eof_in_sent || !r->t)
        return;
    ssh_channel_send_eof(r->t);
    r->eof_in_sent = true;
    tap_event(r, &ev);
}

void relay_eof_out(struct relay *r)
{
    struct relay_event ev = {.kind = RELAY_EV_EOF_OUT};

    if (r->eof_out_sent || !r->a)
        return;
    ssh_channel_send_eof(r->a);
    r->eof_out_sent = true;
    tap_event(r, &ev);
}

void relay_exit_status(struct relay *r, int status)
{
    struct relay_event ev = {.kind = RELAY_EV_EXIT_STATUS, .status = status};

    ssh_channel_request_send_exit_status(r->a, status);
    tap_event(r, &ev);
}

void relay_exit_signal(struct relay *r, const char *signal)
{
    struct relay_event ev = {.kind = RELAY_EV_EXIT_SIGNAL, .signal = signal};

    ssh_channel_request_send_exit_signal(r->a, signal, 0, "", "");
    tap_event(r, &ev);
}

void relay_fini(struct relay *r)
{
    relay_carry_free(r->in);
    relay_carry_free(r->out);
    relay_carry_free(r->err);
    r->in = r->out = r->err = NULL;
}
