/* SPDX-License-Identifier: Apache-2.0 */
/* Replay over SSH: the blocking player in a thread of its own, joined to the loop by pipes. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "custos/log.h"
#include "custos/recf.h"
#include "selfplay.h"

struct selfplay {
    uv_loop_t *loop;
    struct selfplay_io io;
    uv_pipe_t out; /* what the player writes: its read end */
    uv_async_t finished;
    uv_thread_t th;
    int out_w, in_r, in_w;
    volatile sig_atomic_t stop;
    struct play_opts o;
    bool keys, have_key;
    unsigned char key[32];
    char path[4096];
    /* set by the thread before it signals `finished` */
    int result;
    char why[320];
    /* the loop's */
    bool thread_started, thread_done, eof, done_sent, abandoned, held;
    int handles;
    char rbuf[16384];
};

static int running; /* plays alive in this process (the loop's thread only) */

static void thread_main(void *arg)
{
    struct selfplay *p = arg;
    struct recf f;
    struct rec_verdict v;
    char why[256];
    int r;

    if ((r = recf_open(&f, p->path, true, why, sizeof(why))) != 0) {
        snprintf(p->why, sizeof(p->why), "%s", why);
    } else {
        r = rec_play_checked(&f, &p->o, p->in_r, p->out_w, p->keys, &p->stop,
                             p->have_key ? p->key : NULL, &v);
        if (r == -ERR_TAMPERED)
            snprintf(p->why, sizeof(p->why), "%s: %s: %s; the play was stopped",
                     f.info->meta.session, rec_verdict_name(v.kind), v.why);
        else if (r != 0 && r != -ERR_CLOSED)
            snprintf(p->why, sizeof(p->why), "the recording cannot be played to its end (%s)",
                     err_str(r));
    }
    recf_close(&f);
    p->result = r == -ERR_CLOSED ? 0 : r;
    close(p->out_w); /* the loop sees the end of the output */
    p->out_w = -1;
    uv_async_send(&p->finished);
}

static void on_closed(uv_handle_t *h)
{
    struct selfplay *p = h->data;

    if (--p->handles > 0)
        return;
    if (p->in_w >= 0)
        close(p->in_w);
    if (p->in_r >= 0)
        close(p->in_r);
    sodium_memzero(p->key, sizeof(p->key));
    free(p);
}

/* Both the thread and the output are finished: tell the session once, then go. */
static void maybe_done(struct selfplay *p)
{
    if (!p->thread_done || !p->eof || p->done_sent)
        return;
    p->done_sent = true;
    running--;
    if (!p->abandoned && p->io.done)
        p->io.done(p->io.ctx, p->result ? 1 : 0, p->result ? p->why : NULL);
    uv_close((uv_handle_t *)&p->out, on_closed);
    uv_close((uv_handle_t *)&p->finished, on_closed);
}

static void on_finished(uv_async_t *a)
{
    struct selfplay *p = a->data;

    if (p->thread_done)
        return;
    uv_thread_join(&p->th);
    p->thread_done = true;
    maybe_done(p);
}

static void on_alloc(uv_handle_t *h, size_t want, uv_buf_t *b)
{
    struct selfplay *p = h->data;

    (void)want;
    b->base = p->rbuf;
    b->len = sizeof(p->rbuf);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct selfplay *p = s->data;

    if (n > 0) {
        if (!p->abandoned && p->io.out)
            p->io.out(p->io.ctx, b->base, (size_t)n);
        return;
    }
    if (n < 0) { /* UV_EOF, or an error: the player is gone either way */
        uv_read_stop(s);
        p->eof = true;
        maybe_done(p);
    }
}

static void fail_now(const struct selfplay_io *io, const char *why)
{
    if (io->done)
        io->done(io->ctx, 1, why);
}

struct selfplay *selfplay_start(uv_loop_t *loop, const char *path, const struct play_opts *o,
                                bool keys, const unsigned char *vault_key,
                                const struct selfplay_io *io)
{
    struct selfplay *p;
    int outp[2] = {-1, -1}, inp[2] = {-1, -1};

    if (running >= SELFPLAY_MAX) {
        fail_now(io, "too many replays at once on this broker; try again in a moment");
        return NULL;
    }
    if (!(p = calloc(1, sizeof(*p)))) {
        fail_now(io, "out of memory");
        return NULL;
    }
    p->loop = loop;
    p->io = *io;
    p->o = *o;
    p->keys = keys;
    p->out_w = p->in_r = p->in_w = -1;
    if (vault_key) {
        memcpy(p->key, vault_key, sizeof(p->key));
        p->have_key = true;
    }
    if (snprintf(p->path, sizeof(p->path), "%s", path) >= (int)sizeof(p->path) ||
        pipe2(outp, O_CLOEXEC) != 0 || pipe2(inp, O_CLOEXEC | O_NONBLOCK) != 0) {
        close(outp[0]);
        close(outp[1]);
        free(p);
        fail_now(io, "the replay could not be started");
        return NULL;
    }
    p->out_w = outp[1];
    p->in_r = inp[0];
    p->in_w = inp[1];
    /* the player reads keys with poll(2): its end may block; ours never does */
    (void)fcntl(p->in_r, F_SETFL, fcntl(p->in_r, F_GETFL) & ~O_NONBLOCK);
    if (uv_async_init(loop, &p->finished, on_finished) != 0) {
        close(outp[0]);
        close(outp[1]);
        close(inp[0]);
        close(inp[1]);
        free(p);
        fail_now(io, "the replay could not be started");
        return NULL;
    }
    p->finished.data = p;
    p->handles = 2; /* finished and out: freed when both are closed */
    if (uv_pipe_init(loop, &p->out, 0) != 0) {
        close(outp[0]);
        close(outp[1]);
        p->out_w = -1;
        p->handles = 1; /* out never was a handle */
        uv_close((uv_handle_t *)&p->finished, on_closed);
        fail_now(io, "the replay could not be started");
        return NULL;
    }
    p->out.data = p;
    if (uv_pipe_open(&p->out, outp[0]) != 0) {
        close(outp[0]);
        close(outp[1]);
        p->out_w = -1;
        uv_close((uv_handle_t *)&p->out, on_closed);
        uv_close((uv_handle_t *)&p->finished, on_closed);
        fail_now(io, "the replay could not be started");
        return NULL;
    }
    running++;
    uv_read_start((uv_stream_t *)&p->out, on_alloc, on_read);
    if (uv_thread_create(&p->th, thread_main, p) != 0) {
        close(p->out_w); /* EOF at once */
        p->out_w = -1;
        p->thread_done = true;
        p->result = -ERR_INTERNAL;
        snprintf(p->why, sizeof(p->why), "the replay could not be started");
    }
    return p;
}

void selfplay_input(struct selfplay *p, const char *data, size_t len)
{
    if (!p || p->abandoned || p->in_w < 0)
        return;
    /* a full pipe drops keys: the player takes them far faster than anyone types */
    if (write(p->in_w, data, len) < 0 && errno != EAGAIN)
        log_debug("replay keys: %s", strerror(errno));
}

void selfplay_hold(struct selfplay *p, bool hold)
{
    if (!p || p->eof || p->abandoned || hold == p->held)
        return;
    p->held = hold;
    if (hold)
        uv_read_stop((uv_stream_t *)&p->out);
    else
        uv_read_start((uv_stream_t *)&p->out, on_alloc, on_read);
}

void selfplay_abandon(struct selfplay *p)
{
    if (!p || p->abandoned)
        return;
    p->abandoned = true;
    p->stop = 1;
    if (p->in_w >= 0) {
        close(p->in_w); /* the player's keys end */
        p->in_w = -1;
    }
    /* keep reading (and dropping) the output, so a player blocked in write(2) sees the stop */
    if (p->held && !p->eof) {
        p->held = false;
        uv_read_start((uv_stream_t *)&p->out, on_alloc, on_read);
    }
    maybe_done(p);
}
