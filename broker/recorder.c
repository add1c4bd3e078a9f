/* SPDX-License-Identifier: Apache-2.0 */
/* A session's recorder: events queued on the loop, recorded and written in the thread pool. */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "custos/log.h"
#include "echo.h"
#include "recorder.h"
#include "xfer.h"

#define TICK_MS 1000u
#define SYNC_US 1000000u
#define XFER_MAX 64 /* files followed at once (digests) */

/* One queued event: this header, then len bytes of data. */
enum qkind { Q_IN, Q_OUT, Q_ERR, Q_RESIZE, Q_EXIT, Q_SIGNAL, Q_MARKER, Q_COMMAND, Q_TICK, Q_CLOSE };
struct qhead {
    uint8_t kind, aux;
    uint16_t pad;
    uint32_t len;
    uint64_t t_us, wall_us;
};

struct xfile {
    bool used;
    unsigned id;
    crypto_generichash_state h;
};

struct recorder {
    /* ---- the loop's side ---- */
    uv_loop_t *loop;
    uv_work_t work;
    uv_timer_t timer;
    struct relay_tap tap;
    struct recorder_ops ops;
    struct recorder_conf conf;
    struct buf pending;
    uint64_t t0_us; /* uv_hrtime at start, in µs */
    bool in_flight, ready_sent, failed_sent, closed_sent, close_asked, freeing, timer_open;
    bool paused;
    size_t inflight_bytes; /* the batch the worker holds, counted in the backlog */

    /* ---- the worker's side (touched only inside work_cb, or while nothing is in flight) ---- */
    struct buf batch;
    struct rec_writer *w;
    int fd;
    char path[4096];
    bool opened, closed, xfer_mode, raw_from_now;
    uint64_t last_sync_us, last_t;
    bool dirty;
    struct echo echo;
    bool mask;
    struct xfer *xf;
    struct xfile files[XFER_MAX];
    int w_err;
    char w_why[256];
    unsigned char ckpt[512];
    size_t ckpt_len;
};

int recorder_keypair(unsigned char pk[REC_KEY_LEN], struct secbuf **sk)
{
    int r;

    *sk = NULL;
    if ((r = secbuf_new(REC_SECKEY_LEN, sk)) != 0)
        return r;
    if (crypto_sign_keypair(pk, secbuf_data(*sk)) != 0 || secbuf_set_len(*sk, REC_SECKEY_LEN)) {
        secbuf_free(*sk);
        *sk = NULL;
        return -ERR_CRYPTO;
    }
    return 0;
}

static uint64_t wall_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t mono_us(void)
{
    return uv_hrtime() / 1000u;
}

/* ---- the worker ---------------------------------------------------------------------------- */

static void w_fail(struct recorder *r, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void w_fail(struct recorder *r, int err, const char *fmt, ...)
{
    va_list ap;

    if (r->w_err)
        return;
    r->w_err = err ? err : -ERR_IO;
    va_start(ap, fmt);
    vsnprintf(r->w_why, sizeof(r->w_why), fmt, ap);
    va_end(ap);
}

/* Write what the writer made; fdatasync when asked or due. */
static void w_flush(struct recorder *r, bool sync)
{
    struct buf *o = rec_writer_output(r->w);
    size_t off = 0;

    while (off < o->len && !r->w_err) {
        ssize_t k = write(r->fd, o->data + off, o->len - off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            w_fail(r, errno == ENOSPC || errno == EDQUOT ? -ERR_FULL : -ERR_IO,
                   "the recording could not be written (%s)", strerror(errno));
            break;
        }
        off += (size_t)k;
    }
    buf_reset(o);
    if (r->w_err)
        return;
    if (sync || (r->dirty && mono_us() - r->last_sync_us >= SYNC_US)) {
        if (fdatasync(r->fd) != 0) {
            w_fail(r, -ERR_IO, "the recording could not be made durable (%s)", strerror(errno));
            return;
        }
        r->last_sync_us = mono_us();
        r->dirty = false;
    }
    if (r->conf.max_bytes) {
        struct rec_stats st;
        rec_writer_stats(r->w, &st);
        if (st.file_bytes >= r->conf.max_bytes)
            w_fail(r, -ERR_FULL, "the recording reached its size limit (%llu MiB)",
                   (unsigned long long)(r->conf.max_bytes >> 20));
    }
}

static void w_check(struct recorder *r, int rc, const char *what)
{
    if (rc != 0)
        w_fail(r, rc, "the recording could not take %s (%s)", what, err_str(rc));
}

/* echo callbacks: keys decided */
static void w_kept(void *ctx, uint64_t t, const unsigned char *p, size_t n)
{
    struct recorder *r = ctx;

    w_check(r, rec_writer_event(r->w, REC_IN, t, p, n), "input");
}

static void w_masked(void *ctx, uint64_t t, size_t n)
{
    struct recorder *r = ctx;

    w_check(r, rec_writer_masked(r->w, t, n), "masked input");
}

static const struct echo_ops echo_ops_tmpl = {NULL, w_kept, w_masked};

/* transfer callbacks */
static struct xfile *xf_slot(struct recorder *r, unsigned id, bool make)
{
    for (int i = 0; i < XFER_MAX; i++)
        if (r->files[i].used && r->files[i].id == id)
            return &r->files[i];
    if (!make)
        return NULL;
    for (int i = 0; i < XFER_MAX; i++)
        if (!r->files[i].used) {
            r->files[i].used = true;
            r->files[i].id = id;
            crypto_generichash_init(&r->files[i].h, NULL, 0, 32);
            return &r->files[i];
        }
    return NULL;
}

static void xfer_json(struct recorder *r, json_t *o)
{
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

    json_decref(o);
    if (!s) {
        w_fail(r, -ERR_NOMEM, "the recording could not take a transfer (out of memory)");
        return;
    }
    w_check(r, rec_writer_event(r->w, REC_XFER, r->last_t, s, strlen(s)), "a transfer");
    free(s);
}

static void x_start(void *ctx, unsigned id, enum xfer_dir dir, const char *name)
{
    struct recorder *r = ctx;

    if (!xf_slot(r, id, true))
        w_fail(r, -ERR_FULL, "more transfers at once than the recording follows");
    xfer_json(r, json_pack("{s:s,s:i,s:s,s:s}", "op", "start", "id", (int)id, "dir",
                           dir == XFER_UP ? "upload" : "download", "name", name));
}

static void x_data(void *ctx, unsigned id, uint64_t off, const unsigned char *p, size_t n)
{
    struct recorder *r = ctx;
    struct xfile *f = xf_slot(r, id, false);

    (void)off;
    if (f)
        crypto_generichash_update(&f->h, p, n);
    if (r->conf.xfer_contents) {
        unsigned char hd[16];
        size_t k = 0;
        unsigned v = id;
        do { /* varint id, then the bytes */
            hd[k++] = (unsigned char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
            v >>= 7;
        } while (v);
        while (n && !r->w_err) {
            unsigned char buf[16 + 65536];
            size_t m = n < 65536 ? n : 65536;
            memcpy(buf, hd, k);
            memcpy(buf + k, p, m);
            w_check(r, rec_writer_event(r->w, REC_XFER_DATA, r->last_t, buf, k + m), "file data");
            p += m;
            n -= m;
        }
    }
}

static void x_end(void *ctx, unsigned id, uint64_t bytes, bool in_order)
{
    struct recorder *r = ctx;
    struct xfile *f = xf_slot(r, id, false);
    unsigned char d[32];
    char hex[65];

    if (!f)
        return;
    crypto_generichash_final(&f->h, d, 32);
    sodium_bin2hex(hex, sizeof(hex), d, 32);
    f->used = false;
    xfer_json(r,
              json_pack("{s:s,s:i,s:I,s:s?,s:b}", "op", "end", "id", (int)id, "size",
                        (json_int_t)bytes, "blake2b", in_order ? hex : NULL, "in_order", in_order));
}

static void x_op(void *ctx, const char *text)
{
    struct recorder *r = ctx;

    w_check(r, rec_writer_command(r->w, r->last_t, REC_HOW_SUBSYSTEM, text, NULL), "a command");
}

static void x_lost(void *ctx, const char *why)
{
    struct recorder *r = ctx;
    char text[256];

    snprintf(text, sizeof(text), "transfer not followed (%s): raw bytes recorded from here", why);
    w_check(r, rec_writer_marker(r->w, r->last_t, "note", text), "a marker");
    r->raw_from_now = true;
}

static const struct xfer_ops xfer_ops_tmpl = {NULL, x_start, x_data, x_end, x_op, x_lost};

static void w_open(struct recorder *r)
{
    r->fd = open(r->path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (r->fd < 0) {
        w_fail(r, -ERR_IO, "the recording %s could not be created (%s)", r->path, strerror(errno));
        return;
    }
    r->opened = true;
    r->last_sync_us = mono_us();
    w_flush(r, true); /* magic and header on disk before anything is relayed */
}

static void w_bytes(struct recorder *r, enum qkind k, uint64_t t, const unsigned char *p, size_t n)
{
    struct echo_ops eo = echo_ops_tmpl;

    eo.ctx = r;
    if (r->xfer_mode && !r->raw_from_now) {
        xfer_feed(r->xf, k == Q_IN ? XFER_UP : XFER_DOWN, p, n);
        if (!r->raw_from_now)
            return;
    }
    if (k == Q_IN) {
        if (r->mask)
            echo_input(&r->echo, t, p, n, &eo);
        else
            w_check(r, rec_writer_event(r->w, REC_IN, t, p, n), "input");
        return;
    }
    if (k == Q_OUT && r->mask)
        echo_output(&r->echo, p, n, &eo); /* the keys before this output first */
    w_check(r, rec_writer_event(r->w, k == Q_OUT ? REC_OUT : REC_ERR, t, p, n), "output");
}

static void w_event(struct recorder *r, const struct qhead *h, const unsigned char *p)
{
    struct echo_ops eo = echo_ops_tmpl;
    const char *a, *b;

    eo.ctx = r;
    r->last_t = h->t_us;
    switch (h->kind) {
    case Q_IN:
    case Q_OUT:
    case Q_ERR:
        w_bytes(r, (enum qkind)h->kind, h->t_us, p, h->len);
        break;
    case Q_RESIZE: {
        unsigned cols, rows;
        memcpy(&cols, p, 4);
        memcpy(&rows, p + 4, 4);
        w_check(r, rec_writer_resize(r->w, h->t_us, cols, rows), "a resize");
        break;
    }
    case Q_EXIT: {
        unsigned st;
        memcpy(&st, p, 4);
        w_check(r, rec_writer_exit(r->w, h->t_us, st), "the exit status");
        break;
    }
    case Q_SIGNAL:
        w_check(r, rec_writer_signal(r->w, h->t_us, (const char *)p, h->aux != 0), "a signal");
        break;
    case Q_MARKER:
        a = (const char *)p;
        b = a + strlen(a) + 1;
        w_check(r, rec_writer_marker(r->w, h->t_us, a, *b ? b : NULL), "a marker");
        break;
    case Q_COMMAND:
        a = (const char *)p;
        b = a + strlen(a) + 1;
        w_check(r, rec_writer_command(r->w, h->t_us, (enum rec_how)h->aux, a, *b ? b : NULL),
                "a command");
        break;
    case Q_TICK:
        if (r->mask)
            echo_expire(&r->echo, h->t_us, &eo);
        w_check(r, rec_writer_tick(r->w, h->t_us, h->wall_us), "time");
        break;
    case Q_CLOSE:
        if (r->mask)
            echo_flush(&r->echo, &eo);
        xfer_free(r->xf); /* transfers still open end here */
        r->xf = NULL;
        w_check(r, rec_writer_close(r->w, h->t_us, h->wall_us), "its end");
        r->closed = true;
        break;
    }
    r->dirty = true;
}

static void work_cb(uv_work_t *wk)
{
    struct recorder *r = wk->data;
    size_t off = 0;

    if (!r->opened && !r->w_err)
        w_open(r);
    while (off + sizeof(struct qhead) <= r->batch.len && !r->w_err) {
        struct qhead h;
        memcpy(&h, r->batch.data + off, sizeof(h));
        off += sizeof(h);
        w_event(r, &h, (const unsigned char *)r->batch.data + off);
        off += h.len;
        /* write as we go, so a long batch never holds much in memory */
        if (!r->w_err && rec_writer_output(r->w)->len >= (1u << 20))
            w_flush(r, false);
    }
    buf_reset(&r->batch);
    if (r->opened && !r->w_err)
        w_flush(r, r->closed);
    if (r->closed && r->fd >= 0) {
        size_t n;
        const unsigned char *ck = rec_writer_last_checkpoint(r->w, &n);
        if (!r->w_err && ck && n <= sizeof(r->ckpt)) {
            memcpy(r->ckpt, ck, n);
            r->ckpt_len = n;
        }
        if (close(r->fd) != 0)
            w_fail(r, -ERR_IO, "the recording could not be closed (%s)", strerror(errno));
        r->fd = -1;
    }
}

/* ---- the loop ------------------------------------------------------------------------------- */

static void schedule(struct recorder *r);

static void maybe_free(struct recorder *r)
{
    if (!r->freeing || r->in_flight || r->timer_open)
        return;
    rec_writer_free(r->w);
    xfer_free(r->xf);
    if (r->fd >= 0)
        close(r->fd);
    buf_fini(&r->pending);
    buf_fini(&r->batch);
    sodium_memzero(r, sizeof(*r));
    free(r);
}

/* Behind: queued plus in the worker's hands; paused above the bound, resumed below half of it. */
static void set_paused(struct recorder *r)
{
    size_t behind = r->pending.len + (r->in_flight ? r->inflight_bytes : 0);
    bool want = behind > r->conf.backlog_max || (r->paused && behind > r->conf.backlog_max / 2);

    if (want == r->paused)
        return;
    r->paused = want;
    if (!r->freeing && r->ops.paused)
        r->ops.paused(r->ops.ctx, want);
}

static void after_cb(uv_work_t *wk, int status)
{
    struct recorder *r = wk->data;

    r->in_flight = false;
    if (r->freeing) {
        maybe_free(r);
        return;
    }
    if (status != 0 && !r->w_err)
        w_fail(r, -ERR_INTERNAL, "the recording's worker was cancelled");
    if (!r->ready_sent) {
        r->ready_sent = true;
        if (r->ops.ready)
            r->ops.ready(r->ops.ctx, r->w_err, r->w_err ? r->w_why : NULL);
        if (r->w_err) {
            r->failed_sent = true;
            return;
        }
    } else if (r->w_err && !r->failed_sent) {
        r->failed_sent = true;
        log_err("recording %s: %s", r->path, r->w_why);
        if (r->ops.failed)
            r->ops.failed(r->ops.ctx, r->w_why);
    }
    if (r->closed && !r->closed_sent) {
        r->closed_sent = true;
        uv_timer_stop(&r->timer);
        if (r->ops.closed)
            r->ops.closed(r->ops.ctx, r->w_err, r->ckpt_len ? r->ckpt : NULL, r->ckpt_len);
        return;
    }
    if (r->w_err)
        return;
    if (r->pending.len)
        schedule(r);
    set_paused(r);
}

static void schedule(struct recorder *r)
{
    struct buf t;

    if (r->in_flight || r->w_err || r->closed)
        return;
    /* hand the pending events to the worker: swap, no copy */
    t = r->batch;
    r->batch = r->pending;
    r->pending = t;
    buf_reset(&r->pending);
    r->inflight_bytes = r->batch.len;
    r->work.data = r;
    if (uv_queue_work(r->loop, &r->work, work_cb, after_cb) != 0) {
        w_fail(r, -ERR_INTERNAL, "the recording's worker could not be started");
        if (!r->failed_sent && r->ops.failed) {
            r->failed_sent = true;
            r->ops.failed(r->ops.ctx, r->w_why);
        }
        return;
    }
    r->in_flight = true;
}

static void enqueue(struct recorder *r, enum qkind k, uint8_t aux, const void *p, size_t n)
{
    struct qhead h = {(uint8_t)k, aux, 0, (uint32_t)n, mono_us() - r->t0_us, wall_us()};

    if (r->failed_sent || r->close_asked || r->freeing)
        return;
    if (buf_append(&r->pending, &h, sizeof(h)) != 0 || buf_append(&r->pending, p, n) != 0) {
        /* the queue's hard bound: never drop silently, end the session */
        r->failed_sent = true;
        if (r->ops.failed)
            r->ops.failed(r->ops.ctx, "the recording fell too far behind");
        return;
    }
    if (r->conf.end_on_backlog && r->pending.len + r->inflight_bytes > r->conf.backlog_max) {
        r->failed_sent = true;
        if (r->ops.failed)
            r->ops.failed(r->ops.ctx, "the recording could not keep up with the session");
        return;
    }
    if (r->ready_sent)
        schedule(r);
    set_paused(r);
}

static void tap_bytes(void *ctx, enum relay_dir dir, const char *p, size_t n)
{
    struct recorder *r = ctx;

    enqueue(r, dir == RELAY_IN ? Q_IN : dir == RELAY_OUT ? Q_OUT : Q_ERR, 0, p, n);
}

static void tap_event(void *ctx, const struct relay_event *ev)
{
    struct recorder *r = ctx;
    unsigned v[2];

    switch (ev->kind) {
    case RELAY_EV_RESIZE:
        v[0] = ev->cols > 0 ? (unsigned)ev->cols : 0;
        v[1] = ev->rows > 0 ? (unsigned)ev->rows : 0;
        enqueue(r, Q_RESIZE, 0, v, sizeof(v));
        break;
    case RELAY_EV_EXIT_STATUS:
        v[0] = (unsigned)ev->status;
        enqueue(r, Q_EXIT, 0, v, sizeof(v[0]));
        break;
    case RELAY_EV_SIGNAL:
    case RELAY_EV_EXIT_SIGNAL:
        if (ev->signal)
            enqueue(r, Q_SIGNAL, ev->kind == RELAY_EV_EXIT_SIGNAL, ev->signal,
                    strlen(ev->signal) + 1);
        break;
    default:
        break;
    }
}

static void on_tick(uv_timer_t *t)
{
    struct recorder *r = t->data;

    enqueue(r, Q_TICK, 0, NULL, 0);
}

static void on_timer_closed(uv_handle_t *h)
{
    struct recorder *r = h->data;

    r->timer_open = false;
    maybe_free(r);
}

/* Two strings as "a\0b\0", for markers and commands. */
static void enqueue_pair(struct recorder *r, enum qkind k, uint8_t aux, const char *a,
                         const char *b)
{
    size_t la = strlen(a), lb = b ? strlen(b) : 0;
    char *p = malloc(la + lb + 2);

    if (!p) {
        enqueue(r, k, aux, "", 1); /* the bound path reports it */
        return;
    }
    memcpy(p, a, la + 1);
    memcpy(p + la + 1, b ? b : "", lb + 1);
    enqueue(r, k, aux, p, la + lb + 2);
    free(p);
}

void recorder_marker(struct recorder *r, const char *kind, const char *text)
{
    if (r)
        enqueue_pair(r, Q_MARKER, 0, kind, text);
}

void recorder_command(struct recorder *r, enum rec_how how, const char *line, const char *decision)
{
    if (r)
        enqueue_pair(r, Q_COMMAND, (uint8_t)how, line, decision);
}

bool recorder_paused(const struct recorder *r)
{
    return r && r->paused;
}

const struct relay_tap *recorder_tap(struct recorder *r)
{
    return &r->tap;
}

static bool xfer_proto(const struct recorder_session *s, enum xfer_proto *p)
{
    const char *c = s->command;

    if (s->kind == RECORDER_SUBSYSTEM && c && strcmp(c, "sftp") == 0) {
        *p = XFER_SFTP;
        return true;
    }
    if (s->kind != RECORDER_EXEC || !c)
        return false;
    /* what broker/decide.c calls a transfer: scp's own protocol, or an sftp server by path */
    if (strncmp(c, "scp ", 4) == 0) {
        *p = strstr(c, " -t") ? XFER_SCP_SINK : XFER_SCP_SOURCE;
        return strstr(c, " -t") || strstr(c, " -f");
    }
    if (strstr(c, "sftp-server")) {
        *p = XFER_SFTP;
        return true;
    }
    return false;
}

int recorder_new(uv_loop_t *loop, const struct recorder_conf *conf,
                 const struct recorder_session *s, const struct secbuf *sk,
                 const struct recorder_ops *ops, struct recorder **out)
{
    static const char *const kinds[] = {"shell", "exec", "subsystem", "forward"};
    struct recorder *r;
    struct rec_meta m;
    enum xfer_proto proto;
    char host[256] = "";
    int rc;

    *out = NULL;
    if (!s->session || !s->vault_key || !s->vault_sig || secbuf_len(sk) != REC_SECKEY_LEN)
        return -ERR_INVAL;
    /* aligned as its hash states must be (crypto_generichash_state is 64-byte aligned) */
    if (posix_memalign((void **)&r, _Alignof(struct recorder), sizeof(*r)) != 0)
        return -ERR_NOMEM;
    memset(r, 0, sizeof(*r));
    r->loop = loop;
    r->conf = *conf;
    if (!r->conf.backlog_max)
        r->conf.backlog_max = 4u << 20;
    r->ops = *ops;
    r->fd = -1;
    r->tap = (struct relay_tap){r, tap_bytes, tap_event};
    r->mask = conf->mask_unechoed && s->cols && s->rows;
    echo_init(&r->echo);
    /* hard bound on the queue: the soft one pauses output long before */
    buf_init(&r->pending, 4 * r->conf.backlog_max + (1u << 20));
    buf_init(&r->batch, 4 * r->conf.backlog_max + (1u << 20));
    if (snprintf(r->path, sizeof(r->path), "%s/%s.crec", conf->dir, s->session) >=
        (int)sizeof(r->path)) {
        free(r);
        return -ERR_INVAL;
    }
    memset(&m, 0, sizeof(m));
    if (!s->broker)
        gethostname(host, sizeof(host) - 1);
    m.session = s->session;
    m.identity = s->identity;
    m.account = s->account;
    m.target = s->target;
    m.grant = s->grant;
    m.kind = kinds[s->kind];
    m.term = s->term;
    m.broker = s->broker ? s->broker : host;
    m.started_us = wall_us();
    m.cols = s->cols;
    m.rows = s->rows;
    m.mask_unechoed = r->mask;
    memcpy(m.rec_key, (const unsigned char *)secbuf_cdata(sk) + 32, REC_KEY_LEN);
    memcpy(m.vault_key, s->vault_key, REC_KEY_LEN);
    memcpy(m.vault_sig, s->vault_sig, REC_SIG_LEN);
    if ((rc = rec_writer_new(&m, NULL, secbuf_cdata(sk), &r->w)) != 0)
        goto fail;
    if (xfer_proto(s, &proto)) {
        struct xfer_ops xo = xfer_ops_tmpl;
        xo.ctx = r;
        if ((rc = xfer_new(proto, &xo, &r->xf)) != 0)
            goto fail;
        r->xfer_mode = true;
    }
    /* the first event of the recording: what the session is */
    if (s->kind == RECORDER_EXEC && s->command)
        rc = rec_writer_event(r->w, REC_EXEC, 0, s->command, strlen(s->command));
    else if (s->kind == RECORDER_SUBSYSTEM && s->command)
        rc = rec_writer_event(r->w, REC_SUBSYSTEM, 0, s->command, strlen(s->command));
    else if (s->kind == RECORDER_SHELL)
        rc = rec_writer_event(r->w, REC_SHELL, 0, NULL, 0);
    if (rc == 0 && s->command && s->kind != RECORDER_SHELL)
        rc =
            rec_writer_command(r->w, 0, s->kind == RECORDER_EXEC ? REC_HOW_EXEC : REC_HOW_SUBSYSTEM,
                               s->command, "allow");
    if (rc != 0)
        goto fail;
    r->t0_us = mono_us();
    if ((rc = uv_timer_init(loop, &r->timer)) != 0) {
        rc = -ERR_INTERNAL;
        goto fail;
    }
    r->timer.data = r;
    r->timer_open = true;
    if (uv_timer_start(&r->timer, on_tick, TICK_MS, TICK_MS) != 0) {
        uv_close((uv_handle_t *)&r->timer, NULL);
        r->timer_open = false;
        rc = -ERR_INTERNAL;
        goto fail_timer;
    }
    /* open the file off the loop; ready() follows */
    r->work.data = r;
    if (uv_queue_work(loop, &r->work, work_cb, after_cb) != 0) {
        rc = -ERR_INTERNAL;
        goto fail_timer;
    }
    r->in_flight = true;
    *out = r;
    return 0;
fail_timer:
    /* the timer's close callback frees nothing: the handle is inside r, so wait for it */
    r->freeing = true;
    r->ops = (struct recorder_ops){0};
    if (r->timer_open)
        uv_close((uv_handle_t *)&r->timer, on_timer_closed);
    else
        maybe_free(r);
    return rc;
fail:
    rec_writer_free(r->w);
    xfer_free(r->xf);
    buf_fini(&r->pending);
    buf_fini(&r->batch);
    free(r);
    return rc;
}

void recorder_close(struct recorder *r)
{
    if (!r || r->close_asked)
        return;
    if (r->failed_sent) {
        /* it failed (or never opened): nothing more will be written, no checkpoint to hand on */
        r->close_asked = true;
        if (r->ops.closed && !r->closed_sent) {
            r->closed_sent = true;
            r->ops.closed(r->ops.ctx, -ERR_IO, NULL, 0);
        }
        return;
    }
    enqueue(r, Q_CLOSE, 0, NULL, 0); /* after everything queued; written once the file is open */
    r->close_asked = true;
}

void recorder_free(struct recorder *r)
{
    if (!r || r->freeing)
        return;
    r->freeing = true;
    r->ops = (struct recorder_ops){0};
    if (r->timer_open)
        uv_close((uv_handle_t *)&r->timer, on_timer_closed);
    else
        maybe_free(r);
}
