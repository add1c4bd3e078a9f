/* SPDX-License-Identifier: Apache-2.0 */
/* Playing a recording with its timing to a file descriptor: pause, speed, seek, keys (blocking). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "custos/recplay.h"

#define SEEK_SHORT_US 5000000ull
#define SEEK_LONG_US 60000000ull

/* The events of one chunk, copied out so the file's buffers can be reused. */
struct pev {
    uint8_t type;
    uint64_t t;
    size_t off, len;
};

struct pchunk {
    struct buf data;
    struct pev *ev;
    size_t n, cap, i;
    uint64_t next; /* offset of the frame after the chunk; 0 at the end */
};

struct player {
    struct recf *f;
    const struct play_opts *o;
    struct pchunk c;
    uint64_t c_off; /* offset of the loaded chunk's frame */
    double speed;
    bool paused, quit, interactive;
    uint64_t anchor_rec; /* recording time at anchor_wall */
    double anchor_wall;  /* monotonic seconds */
    uint64_t last_t;     /* time of the last event shown */
    unsigned char key[16];
    size_t nkey;
    int in_fd, out_fd;
    volatile sig_atomic_t *stop, *stop2; /* either ends the play (stop2 may be NULL) */
    struct termios saved;
    bool raw;
};

static bool stopped(const struct player *p)
{
    return *p->stop || (p->stop2 && *p->stop2);
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int put(struct player *pl, const void *p, size_t n)
{
    const char *s = p;

    while (n) {
        ssize_t k = write(pl->out_fd, s, n);
        if (k < 0 && errno == EINTR) {
            if (stopped(pl))
                return -ERR_CLOSED;
            continue;
        }
        if (k <= 0)
            return -ERR_IO;
        s += k;
        n -= (size_t)k;
    }
    return 0;
}

/* ---- chunks ----------------------------------------------------------------------------- */

static int collect(void *ctx, const struct rec_event *ev)
{
    struct pchunk *c = ctx;
    int r;

    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 64;
        struct pev *e = realloc(c->ev, cap * sizeof(*e));
        if (!e)
            return -ERR_NOMEM;
        c->ev = e;
        c->cap = cap;
    }
    c->ev[c->n].type = ev->type;
    c->ev[c->n].t = ev->t_us;
    c->ev[c->n].off = c->data.len;
    c->ev[c->n].len = ev->len;
    if ((r = buf_append(&c->data, ev->data, ev->len)) != 0)
        return r;
    c->n++;
    return 0;
}

/* Load the first chunk at or after offset `off` (c->n == 0 and c->next == 0 at the end). */
static int load(struct player *p, uint64_t off)
{
    struct pchunk *c = &p->c;
    int r;

    buf_reset(&c->data);
    c->n = c->i = 0;
    c->next = 0;
    while (off && off + REC_FRAME_HDR <= p->f->size) {
        struct rec_frame fr;
        struct rec_chunk ch;
        if ((r = recf_frame_at(p->f, off, &fr)) != 0)
            return p->f->closed ? r : 0; /* the torn end of an unfinished file */
        off += fr.raw_len;
        if (fr.type == REC_F_INDEX || fr.type == REC_F_TRAILER)
            return 0;
        if (fr.type != REC_F_CHUNK)
            continue;
        if ((r = rec_chunk_parse(&fr, &ch)) != 0 ||
            (r = rec_chunk_events(&ch, &p->f->scratch, collect, c)) != 0)
            return r;
        c->next = off;
        p->c_off = off - fr.raw_len;
        return 0;
    }
    return 0;
}

/* The next event, loading chunks as needed; NULL at the end. */
static const struct pev *next_event(struct player *p, int *err)
{
    *err = 0;
    while (p->c.i >= p->c.n) {
        if (!p->c.next)
            return NULL;
        if ((*err = load(p, p->c.next)) != 0)
            return NULL;
    }
    return &p->c.ev[p->c.i];
}

static const unsigned char *ev_data(const struct player *p, const struct pev *e)
{
    return (const unsigned char *)p->c.data.data + e->off;
}

/* What the terminal gets for one event: output, and a keyframe's paint. */
static int show(struct player *p, const struct pev *e)
{
    if (e->type == REC_OUT || e->type == REC_ERR)
        return put(p, ev_data(p, e), e->len);
    if (e->type == REC_KEYFRAME) {
        struct rec_event ev = {e->type, e->t, ev_data(p, e), e->len};
        unsigned cols, rows;
        const unsigned char *paint;
        size_t n;
        if (rec_event_keyframe(&ev, &cols, &rows, &paint, &n) != 0)
            return -ERR_CORRUPT;
        return put(p, paint, n);
    }
    return 0;
}

/* Recording time now: from the anchor and the speed; still while paused. */
static uint64_t clock_rec(const struct player *p)
{
    double dt = (now_s() - p->anchor_wall) * p->speed;

    if (p->paused || dt < 0)
        return p->anchor_rec;
    return p->anchor_rec + (uint64_t)(dt * 1e6);
}

/* Let the clock go on from where it is (before changing speed or pausing). */
static void reanchor(struct player *p, uint64_t at)
{
    p->anchor_rec = at;
    p->anchor_wall = now_s();
}

/*
 * Go to recording time `target`: from the last keyframe before it (or the
 * start), reset the terminal, paint, and play what lies between at once.
 */
static int seek_to(struct player *p, uint64_t target)
{
    const struct recf_sync *s = recf_sync_before(p->f, target);
    const struct pev *e;
    int r;

    if ((r = put(p, "\033c", 2)) != 0) /* RIS: reset the terminal */
        return r;
    if ((r = load(p, s ? s->offset : p->f->data_off)) != 0)
        return r;
    p->last_t = s ? s->t_us : 0;
    while ((e = next_event(p, &r)) && e->t < target) {
        if ((r = show(p, e)) != 0)
            return r;
        p->last_t = e->t;
        p->c.i++;
    }
    if (r != 0)
        return r;
    reanchor(p, target);
    return 0;
}

/* ---- keys ------------------------------------------------------------------------------- */

static void raw_on(struct player *p)
{
    struct termios t;

    if (!isatty(p->in_fd) || tcgetattr(p->in_fd, &p->saved) != 0)
        return;
    t = p->saved;
    t.c_lflag &= ~(tcflag_t)(ICANON | ECHO | ISIG);
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    if (tcsetattr(p->in_fd, TCSANOW, &t) == 0)
        p->raw = true;
}

static void raw_off(struct player *p)
{
    if (p->raw)
        (void)tcsetattr(p->in_fd, TCSANOW, &p->saved);
    p->raw = false;
}

struct find_input {
    uint64_t after, t;
    bool found;
};

static int find_input(void *ctx, const struct rec_event *ev)
{
    struct find_input *fi = ctx;

    if ((ev->type == REC_IN || ev->type == REC_IN_MASKED) && ev->t_us > fi->after) {
        fi->t = ev->t_us;
        fi->found = true;
        return 1;
    }
    return 0;
}

static int key(struct player *p)
{
    const unsigned char *k = p->key;
    uint64_t now = clock_rec(p);
    int r;

    if (now < p->last_t)
        now = p->last_t;
    if (k[0] == 'q' || k[0] == 0x03 || k[0] == 0x04) {
        p->quit = true;
    } else if (k[0] == ' ') {
        reanchor(p, now);
        p->paused = !p->paused;
    } else if (k[0] == '+' || k[0] == '=') {
        reanchor(p, now);
        if (p->speed < 64)
            p->speed *= 2;
    } else if (k[0] == '-' || k[0] == '_') {
        reanchor(p, now);
        if (p->speed > 1.0 / 64)
            p->speed /= 2;
    } else if (k[0] == 'n') {
        /* the next keystroke after now, from the loaded chunk on (the file's buffers are free) */
        struct find_input fi = {now, 0, false};
        r = recf_events(p->f, p->c_off, find_input, &fi);
        if (r < 0)
            return r;
        if (fi.found)
            return seek_to(p, fi.t);
    } else if (p->nkey >= 3 && k[0] == 0x1b && (k[1] == '[' || k[1] == 'O')) {
        uint64_t step = (k[2] == 'A' || k[2] == 'B') ? SEEK_LONG_US : SEEK_SHORT_US;
        if (k[2] == 'C' || k[2] == 'A')
            return seek_to(p, now + step);
        if (k[2] == 'D' || k[2] == 'B')
            return seek_to(p, now > step ? now - step : 0);
    }
    return 0;
}

enum wait_result { W_REACHED, W_KEY, W_STOP };

/* Wait until the recording clock reaches t, a key comes (interactive) or a signal. */
static enum wait_result wait_until(struct player *p, uint64_t t)
{
    for (;;) {
        uint64_t now = clock_rec(p);
        int timeout = -1;
        struct pollfd pfd = {p->in_fd, POLLIN, 0};

        if (stopped(p))
            return W_STOP;
        if (!p->paused && now >= t)
            return W_REACHED;
        if (!p->paused) {
            double ms = (double)(t - now) / 1000.0 / p->speed;
            timeout = ms > 200 ? 200 : (int)ms + 1;
        }
        if (!p->interactive) {
            struct timespec ts = {timeout / 1000, (long)(timeout % 1000) * 1000000L};
            nanosleep(&ts, NULL);
            continue;
        }
        if (poll(&pfd, 1, timeout) > 0 && (pfd.revents & (POLLIN | POLLHUP))) {
            ssize_t n = read(p->in_fd, p->key, sizeof(p->key));
            if (n <= 0) {
                p->interactive = false; /* no more keys: play on */
                p->paused = false;
                continue;
            }
            p->nkey = (size_t)n;
            return W_KEY;
        }
    }
}

static int play(struct recf *f, const struct play_opts *o, int in_fd, int out_fd, bool keys,
                volatile sig_atomic_t *stop, volatile sig_atomic_t *stop2)
{
    struct player p;
    const struct pev *e;
    bool fresh = true;
    int r = 0;

    memset(&p, 0, sizeof(p));
    p.f = f;
    p.o = o;
    p.speed = o->speed > 0 ? o->speed : 1.0;
    buf_init(&p.c.data, REC_FRAME_MAX);
    p.in_fd = in_fd;
    p.out_fd = out_fd;
    p.stop = stop;
    p.stop2 = stop2;
    p.interactive = o->wait && keys;
    if (p.interactive)
        raw_on(&p); /* a terminal only: a pipe already carries raw keys */
    if ((r = seek_to(&p, o->at_us)) != 0)
        goto out;
    while (!p.quit && !stopped(&p) && (e = next_event(&p, &r))) {
        if (o->wait) {
            /* a pause longer than the cap is cut to it: move the clock on */
            if (fresh && o->idle_max_us && e->t > p.last_t + o->idle_max_us &&
                clock_rec(&p) < e->t - o->idle_max_us)
                reanchor(&p, e->t - o->idle_max_us);
            fresh = false;
            switch (wait_until(&p, e->t)) {
            case W_STOP:
                goto out;
            case W_KEY:
                if ((r = key(&p)) != 0)
                    goto out;
                fresh = true;
                continue;
            case W_REACHED:
                break;
            }
        }
        if ((r = show(&p, e)) != 0)
            goto out;
        p.last_t = e->t;
        p.c.i++;
        fresh = true;
    }
out:
    raw_off(&p);
    if (r == 0 || r == -ERR_CLOSED)
        (void)put(&p, "\x1b[0m\r\n", 6);
    buf_fini(&p.c.data);
    free(p.c.ev);
    if (r == 0 && stopped(&p))
        r = -ERR_CLOSED;
    return r;
}

int rec_play(struct recf *f, const struct play_opts *o, int in_fd, int out_fd, bool keys,
             volatile sig_atomic_t *stop)
{
    return play(f, o, in_fd, out_fd, keys, stop, NULL);
}

/* ---- playing while verifying ---------------------------------------------------------------- */

struct checker {
    const char *path;
    const unsigned char *key;
    volatile sig_atomic_t bad;    /* set by the checker: MODIFIED or WRONG KEY */
    volatile sig_atomic_t cancel; /* set by the player's thread: stop reading */
    struct rec_verdict v;
    int err;
};

/* The whole file through the verifier, a MiB at a time, until the end or cancel. */
static void *check_main(void *arg)
{
    struct checker *c = arg;
    struct rec_verifier *ver = NULL;
    char *piece = malloc(1u << 20);
    int fd = open(c->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

    if (!piece || fd < 0 || rec_verifier_new(c->key, &ver) != 0) {
        c->err = -ERR_IO;
        goto out;
    }
    while (!c->cancel) {
        ssize_t n = read(fd, piece, 1u << 20);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            c->err = n < 0 ? -ERR_IO : 0;
            break;
        }
        if (rec_verifier_feed(ver, piece, (size_t)n) != 0) {
            c->err = -ERR_NOMEM;
            break;
        }
    }
    if (!c->cancel && c->err == 0) {
        rec_verifier_finish(ver, &c->v);
        if (c->v.kind == REC_V_MODIFIED || c->v.kind == REC_V_WRONG_KEY)
            c->bad = 1; /* the player looks at it between events */
    }
out:
    rec_verifier_free(ver);
    free(piece);
    if (fd >= 0)
        close(fd);
    return NULL;
}

int rec_play_checked(struct recf *f, const struct play_opts *o, int in_fd, int out_fd, bool keys,
                     volatile sig_atomic_t *stop, const unsigned char *vault_key,
                     struct rec_verdict *v)
{
    struct checker c;
    pthread_t th;
    int r;

    memset(&c, 0, sizeof(c));
    memset(v, 0, sizeof(*v));
    c.path = f->path;
    c.key = vault_key;
    if (pthread_create(&th, NULL, check_main, &c) != 0)
        return -ERR_INTERNAL;
    r = play(f, o, in_fd, out_fd, keys, stop, &c.bad);
    c.cancel = !c.bad;
    pthread_join(th, NULL);
    *v = c.v;
    if (c.bad)
        return -ERR_TAMPERED;
    return r;
}
