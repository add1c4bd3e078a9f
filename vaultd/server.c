/* SPDX-License-Identifier: Apache-2.0 */
/* The Unix-socket front of vaultd: accept, identify by SO_PEERCRED, frame, answer in order. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <sodium.h>

#include "custos/log.h"
#include "custos/ndjson.h"
#include "dispatch.h"
#include "gov_state.h"
#include "scopes.h"
#include "vaultd.h"

/* Stop reading from a client with this many unanswered requests (resume when drained). */
#define CONN_MAX_INFLIGHT 64u

struct conn {
    uv_pipe_t pipe;
    struct vaultd *vd;
    struct conn *next, *prev;
    struct ndjson_reader reader;
    uid_t uid;
    gid_t gid;
    pid_t pid;
    const struct vconf_principal *principal;
    bool self;          /* the daemon's own uid with allow_self */
    bool quiet_exempt;  /* [api] quiet_timeout does not apply (peer_limits_quiet_exempt) */
    json_t *subscribed; /* events.subscribe: array of types ([] = all), or NULL */
    struct req *rq_head, *rq_tail;
    unsigned inflight;
    bool reading;
    bool closing;
    bool eof;               /* the peer shut its side: answer what was read, then close */
    size_t out_pending;     /* bytes queued in uv_write and not yet written */
    uint64_t partial_since; /* uv_now() when the unfinished line began; 0: none */
    uint64_t last_active;   /* uv_now() of the last bytes read or answer sent */
    unsigned long id;       /* for logs */
};

struct out {
    uv_write_t w;
    struct conn *conn;
    size_t len;
    char data[];
};

static unsigned long next_conn_id = 1;

static void conn_close(struct conn *c, const char *why);
static void conn_read_start(struct conn *c);

/*
 * After the peer's end of input: once every request read before it is
 * answered and the answers are written, close.  A subscriber stays (it may
 * only listen, as `socat -t N` does) until a write fails or vaultd stops.
 */
static void conn_finish_if_done(struct conn *c)
{
    if (c->eof && !c->closing && !c->rq_head && c->out_pending == 0 && !c->subscribed)
        conn_close(c, "end of input; every answer written");
}

static void conn_free(struct conn *c)
{
    json_decref(c->subscribed);
    ndjson_reader_fini(&c->reader);
    free(c);
}

static void on_conn_closed(uv_handle_t *h)
{
    struct conn *c = h->data;
    struct vaultd *vd = c->vd;

    if (c->prev)
        c->prev->next = c->next;
    else
        vd->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    vd->n_conns--;
    /* Requests still in the writer keep running; they just lose their connection. */
    for (struct req *rq = c->rq_head; rq;) {
        struct req *n = rq->conn_next;
        rq->conn = NULL;
        rq->conn_next = NULL;
        if (rq->done)
            req_free(rq);
        rq = n;
    }
    conn_free(c);
    if (vd->stopping)
        vaultd_close(vd);
}

static void conn_close(struct conn *c, const char *why)
{
    if (c->closing)
        return;
    c->closing = true;
    log_debug("conn=%lu closed: %s", c->id, why);
    uv_close((uv_handle_t *)&c->pipe, on_conn_closed);
}

static void on_written(uv_write_t *w, int status)
{
    struct out *o = (struct out *)w;
    struct conn *c = o->conn;

    c->out_pending -= o->len;
    /* Answers may hold a released secret: wipe before the memory goes back. */
    sodium_memzero(o->data, o->len);
    free(o);
    if (status < 0 && !c->closing)
        conn_close(c, uv_strerror(status));
    else
        conn_finish_if_done(c);
}

static void conn_send(struct conn *c, json_t *msg)
{
    struct buf b;
    struct out *o;
    uv_buf_t ub;
    int r;

    if (c->closing)
        return;
    buf_init(&b, NDJSON_LINE_HARD_MAX);
    if ((r = ndjson_encode(msg, &b)) != 0) {
        log_err_r(r, "conn=%lu cannot encode answer", c->id);
        goto out;
    }
    if (c->out_pending + b.len > c->vd->conf->max_pending_output) {
        log_warn("conn=%lu pending=%zu: client does not read its answers, disconnecting", c->id,
                 c->out_pending);
        conn_close(c, "output limit");
        goto out;
    }
    o = malloc(sizeof(*o) + b.len);
    if (!o) {
        conn_close(c, "out of memory");
        goto out;
    }
    o->conn = c;
    o->len = b.len;
    memcpy(o->data, b.data, b.len);
    ub = uv_buf_init(o->data, (unsigned)o->len);
    if ((r = uv_write(&o->w, (uv_stream_t *)&c->pipe, &ub, 1, on_written)) < 0) {
        log_warn("conn=%lu write: %s", c->id, uv_strerror(r));
        sodium_memzero(o->data, o->len);
        free(o);
        conn_close(c, "write failed");
        goto out;
    }
    c->out_pending += o->len;
out:
    if (b.data)
        sodium_memzero(b.data, b.len);
    buf_fini(&b);
}

static void send_answer(struct conn *c, json_t *id, int err, const char *msg, json_t *result,
                        json_t *errdata)
{
    json_t *ans = json_object();

    json_object_set(ans, "id", id ? id : json_null());
    if (err) {
        json_t *e = json_object();
        if (errdata)
            json_object_update(e, errdata);
        json_object_set_new(e, "code", json_string(err_name(err)));
        json_object_set_new(e, "message", json_string(msg && *msg ? msg : err_str(err)));
        json_object_set_new(ans, "error", e);
    } else {
        json_object_set(ans, "result", result ? result : json_object());
    }
    conn_send(c, ans);
    json_decref(ans);
}

void req_free(struct req *rq)
{
    if (!rq)
        return;
    json_decref(rq->id);
    json_decref(rq->args);
    json_decref(rq->result);
    json_decref(rq->new_desc);
    json_decref(rq->events);
    json_decref(rq->timers);
    json_decref(rq->errdata);
    secbuf_free(rq->new_kek);
    secbuf_free(rq->new_dek);
    audit_free(rq->new_audit);
    free(rq);
}

/* Write every finished answer at the head of the connection's queue, in order. */
static void conn_flush(struct conn *c)
{
    while (c->rq_head && c->rq_head->done) {
        struct req *rq = c->rq_head;

        c->rq_head = rq->conn_next;
        if (!c->rq_head)
            c->rq_tail = NULL;
        c->inflight--;
        send_answer(c, rq->id, rq->err, rq->errmsg, rq->result, rq->errdata);
        c->last_active = uv_now(c->vd->loop);
        req_free(rq);
    }
    if (!c->closing && !c->reading && !c->eof && c->inflight < CONN_MAX_INFLIGHT / 2)
        conn_read_start(c);
    conn_finish_if_done(c);
}

/* Push governance events of a committed request to every subscriber. */
static void push_events(struct vaultd *vd, json_t *events)
{
    size_t i;
    json_t *ev;

    json_array_foreach(events, i, ev)
    {
        const char *type = json_string_value(json_object_get(ev, "event"));
        for (struct conn *c = vd->conns; c; c = c->next) {
            size_t j;
            json_t *t;
            bool want = c->subscribed && json_array_size(c->subscribed) == 0;

            if (!c->subscribed || c->closing)
                continue;
            json_array_foreach(c->subscribed, j,
                               t) if (type && strcmp(json_string_value(t), type) == 0) want = true;
            if (want)
                conn_send(c, ev);
        }
        log_info("event=%s", type ? type : "-");
    }
}

void server_req_done(struct vaultd *vd, struct req *rq)
{
    rq->done = true;
    if (rq->err == 0 || rq->keep_writes) {
        size_t i;
        json_t *t;

        if (rq->events)
            push_events(vd, rq->events);
        json_array_foreach(rq->timers, i, t)
            gov_timers_add(vd, json_integer_value(json_object_get(t, "at")),
                           json_string_value(json_object_get(t, "kind")),
                           json_string_value(json_object_get(t, "id")));
    }
    if (gov_timers_is_tick(rq))
        gov_timers_tick_done(vd, rq);
    if (!rq->conn) {
        req_free(rq); /* its client left */
        return;
    }
    if (!rq->conn->closing)
        conn_flush(rq->conn);
}

static void conn_enqueue(struct conn *c, struct req *rq)
{
    rq->conn = c;
    if (c->rq_tail)
        c->rq_tail->conn_next = rq;
    else
        c->rq_head = rq;
    c->rq_tail = rq;
    c->inflight++;
    if (c->inflight >= CONN_MAX_INFLIGHT && c->reading) {
        uv_read_stop((uv_stream_t *)&c->pipe);
        c->reading = false;
    }
}

/* An immediate error answer that still keeps the per-connection order. */
static void conn_reject(struct conn *c, json_t *id, int err, const char *msg)
{
    struct req *rq = calloc(1, sizeof(*rq));

    if (!rq) {
        conn_close(c, "out of memory");
        return;
    }
    rq->id = id ? json_incref(id) : json_null();
    rq->args = json_object();
    rq->err = err;
    snprintf(rq->errmsg, sizeof(rq->errmsg), "%s", msg);
    conn_enqueue(c, rq);
    server_req_done(c->vd, rq);
}

static bool conn_has_scope(const struct conn *c, unsigned scope)
{
    if (c->self)
        return true;
    if (!c->principal)
        return false;
    return (c->principal->scopes & scope) == scope;
}

static int on_line(void *ctx, const char *line, size_t len, int err)
{
    struct conn *c = ctx;
    struct vaultd *vd = c->vd;
    json_t *msg = NULL, *id = NULL, *jop, *args;
    const struct op *op;
    struct req *rq;
    int r;

    if (err) {
        char why[96];

        log_warn("conn=%lu uid=%u request line over %zu bytes refused", c->id, (unsigned)c->uid,
                 c->reader.max_line);
        snprintf(why, sizeof(why), "request line too long (at most %zu bytes for this caller)",
                 c->reader.max_line);
        conn_reject(c, NULL, err, why);
        return 0;
    }
    if (len == 0)
        return 0;
    if ((r = ndjson_parse(line, len, &msg)) != 0) {
        conn_reject(c, NULL, r, "request is not a JSON object");
        return 0;
    }
    id = json_object_get(msg, "id");
    if (id && !json_is_integer(id) && !json_is_string(id) && !json_is_null(id)) {
        conn_reject(c, NULL, -ERR_INVAL, "\"id\" must be an integer or a string");
        goto out;
    }
    jop = json_object_get(msg, "op");
    args = json_object_get(msg, "args");
    if (!json_is_string(jop)) {
        conn_reject(c, id, -ERR_INVAL, "\"op\" must be a string");
        goto out;
    }
    if (args && !json_is_object(args) && !json_is_null(args)) {
        conn_reject(c, id, -ERR_INVAL, "\"args\" must be an object");
        goto out;
    }
    op = dispatch_find(json_string_value(jop));
    if (!op) {
        conn_reject(c, id, -ERR_UNKNOWN_OP, "unknown op");
        goto out;
    }
    if (!c->self && !c->principal) {
        log_warn("conn=%lu uid=%u gid=%u op=%s refused: no principal", c->id, (unsigned)c->uid,
                 (unsigned)c->gid, op->name);
        conn_reject(c, id, -ERR_DENIED, "caller is not a known principal");
        goto out;
    }
    if (!conn_has_scope(c, op->scope)) {
        log_warn("conn=%lu principal=%s op=%s refused: scope", c->id, c->principal->name, op->name);
        conn_reject(c, id, -ERR_DENIED, "principal lacks the scope for this op");
        goto out;
    }
    rq = calloc(1, sizeof(*rq));
    if (!rq) {
        conn_close(c, "out of memory");
        goto out;
    }
    rq->op = op;
    rq->id = id ? json_incref(id) : json_null();
    rq->args = json_is_object(args) ? json_incref(args) : json_object();
    snprintf(rq->principal, sizeof(rq->principal), "%s", c->self ? "self" : c->principal->name);
    rq->uid = c->uid;
    rq->gid = c->gid;
    rq->scopes = c->self ? SCOPE_ALL : c->principal->scopes;
    if (!c->self && c->principal->identity)
        snprintf(rq->identity, sizeof(rq->identity), "%s", c->principal->identity);
    conn_enqueue(c, rq);
    dispatch_req(vd, rq);
out:
    json_decref(msg);
    return 0;
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    static char slab[65536]; /* one loop thread: reads are consumed before the next alloc */

    (void)h;
    (void)hint;
    *b = uv_buf_init(slab, sizeof(slab));
}

/*
 * The peer shut its side (`printf ... | socat`, shutdown(SHUT_WR)): every
 * request read so far is still answered; the connection closes once the
 * last answer is written (conn_finish_if_done).  A last line without its
 * '\n' is not run (its end is unknown) but answered `parse`.
 */
static void conn_eof(struct conn *c)
{
    c->eof = true;
    if (c->reading) {
        uv_read_stop((uv_stream_t *)&c->pipe);
        c->reading = false;
    }
    c->partial_since = 0;
    if (c->reader.line.len > 0 && !c->reader.discarding) {
        log_info("conn=%lu left with a half-written request", c->id);
        ndjson_reader_fini(&c->reader); /* wipes it: it may hold a secret */
        ndjson_reader_init(&c->reader, 1024);
        conn_reject(c, NULL, -ERR_PARSE, "request line not ended by a newline at end of input");
    }
    conn_finish_if_done(c);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct conn *c = s->data;

    if (n == UV_EOF) {
        conn_eof(c);
        goto out;
    }
    if (n < 0) {
        if (ndjson_reader_has_partial(&c->reader))
            log_info("conn=%lu left with a half-written request", c->id);
        conn_close(c, uv_strerror((int)n));
        goto out;
    }
    if (n > 0)
        c->last_active = uv_now(c->vd->loop);
    if (n > 0 && ndjson_reader_feed(&c->reader, b->base, (size_t)n, on_line, c) != 0)
        conn_close(c, "framing error");
    if (!ndjson_reader_has_partial(&c->reader))
        c->partial_since = 0;
    else if (!c->partial_since)
        c->partial_since = uv_now(c->vd->loop);
out:
    if (n > 0)
        sodium_memzero(b->base, (size_t)n); /* requests may carry secrets */
}

static void conn_read_start(struct conn *c)
{
    int r = uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read);

    if (r < 0) {
        log_warn("conn=%lu read: %s", c->id, uv_strerror(r));
        conn_close(c, "read failed");
        return;
    }
    c->reading = true;
}

/* Open connections of `uid` that are not closing, `c` itself excluded. */
static unsigned conns_of_uid(const struct vaultd *vd, const struct conn *c)
{
    unsigned n = 0;

    for (const struct conn *o = vd->conns; o; o = o->next)
        if (o != c && !o->closing && o->uid == c->uid)
            n++;
    return n;
}

/*
 * Close a peer at accept.  It is told why in one line if the socket takes it
 * at once (never waited for), and the refusal is logged through `lg`, so a
 * flood of them cannot flood the log.
 */
static void conn_refuse(struct conn *c, struct peer_log *lg, int err, const char *msg)
{
    struct vaultd *vd = c->vd;
    char line[256];
    unsigned held = 0;
    uv_buf_t ub;

    snprintf(line, sizeof(line), "{\"id\":null,\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}\n",
             err_name(err), msg);
    ub = uv_buf_init(line, (unsigned)strlen(line));
    (void)uv_try_write((uv_stream_t *)&c->pipe, &ub, 1);
    if (peer_log_refusal(lg, uv_now(vd->loop), &held))
        log_warn("conn=%lu uid=%u gid=%u pid=%d refused: %s%s", c->id, (unsigned)c->uid,
                 (unsigned)c->gid, (int)c->pid, msg,
                 held ? " (and earlier refusals not logged, see the count below)" : "");
    if (held)
        log_warn("%u more connection(s) refused in the last %us without a log line each", held,
                 PEER_LOG_INTERVAL_MS / 1000);
    conn_close(c, msg);
}

static void on_connection(uv_stream_t *srv, int status)
{
    struct vaultd *vd = srv->data;
    struct conn *c;
    struct ucred cred;
    socklen_t clen = sizeof(cred);
    uv_os_fd_t fd;
    char msg[160];
    size_t line_max;
    int r;

    if (status < 0) {
        log_warn("accept: %s", uv_strerror(status));
        return;
    }
    c = calloc(1, sizeof(*c));
    if (!c)
        return;
    c->vd = vd;
    c->id = next_conn_id++;
    ndjson_reader_init(&c->reader, vd->conf->max_line_short);
    uv_pipe_init(vd->loop, &c->pipe, 0);
    c->pipe.data = c;
    c->next = vd->conns;
    if (vd->conns)
        vd->conns->prev = c;
    vd->conns = c;
    vd->n_conns++;
    if ((r = uv_accept(srv, (uv_stream_t *)&c->pipe)) < 0) {
        log_warn("accept: %s", uv_strerror(r));
        conn_close(c, "accept failed");
        return;
    }
    if (uv_fileno((uv_handle_t *)&c->pipe, &fd) != 0 ||
        getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) != 0) {
        log_warn("conn=%lu SO_PEERCRED failed: %s", c->id, strerror(errno));
        conn_close(c, "no peer credentials");
        return;
    }
    c->uid = cred.uid;
    c->gid = cred.gid;
    c->pid = cred.pid;
    c->principal = vconf_principal_for(vd->conf, cred.uid, cred.gid);
    c->self = vd->conf->allow_self && cred.uid == geteuid();
    if (vd->stopping) {
        conn_close(c, "shutting down");
        return;
    }
    switch (
        peer_limits_admit(vd->conf, c->principal, c->self, vd->n_conns - 1, conns_of_uid(vd, c))) {
    case PEER_NO_PRINCIPAL:
        snprintf(msg, sizeof(msg), "uid %u gid %u is no principal of this vault", (unsigned)c->uid,
                 (unsigned)c->gid);
        conn_refuse(c, &vd->refused_unknown, -ERR_DENIED, msg);
        return;
    case PEER_FULL:
        snprintf(msg, sizeof(msg), "%u clients connected (max_clients)", vd->n_conns - 1);
        conn_refuse(c, &vd->refused_full, -ERR_BUSY, msg);
        return;
    case PEER_UID_FULL:
        snprintf(msg, sizeof(msg), "uid %u holds %u connections (max_clients_per_uid)",
                 (unsigned)c->uid, vd->conf->max_clients_per_uid);
        conn_refuse(c, &vd->refused_full, -ERR_BUSY, msg);
        return;
    case PEER_ADMIT:
        break;
    }
    line_max = peer_limits_line_max(vd->conf, c->principal, c->self);
    if (line_max != c->reader.max_line) {
        ndjson_reader_fini(&c->reader);
        ndjson_reader_init(&c->reader, line_max);
    }
    c->quiet_exempt = peer_limits_quiet_exempt(c->principal, c->self);
    c->last_active = uv_now(vd->loop);
    log_debug("conn=%lu uid=%u gid=%u pid=%d principal=%s line_max=%zu", c->id, (unsigned)c->uid,
              (unsigned)c->gid, (int)c->pid,
              c->self ? "self" : (c->principal ? c->principal->name : "-"), line_max);
    conn_read_start(c);
}

/*
 * Once a second: [api] idle_timeout drops a client that leaves a request
 * line unfinished that long; [api] quiet_timeout one that sends nothing and
 * waits for nothing that long (unless exempt); held-back refusal counts are
 * logged.
 */
static void on_idle_timer(uv_timer_t *t)
{
    struct vaultd *vd = t->data;
    uint64_t now = uv_now(vd->loop), limit = (uint64_t)vd->conf->idle_timeout * 1000u;
    uint64_t quiet = (uint64_t)vd->conf->quiet_timeout * 1000u;
    unsigned held;

    for (struct conn *c = vd->conns; c; c = c->next) {
        if (c->closing)
            continue;
        if (limit && c->partial_since && now - c->partial_since >= limit) {
            log_warn("conn=%lu uid=%u: request line unfinished for %us, disconnecting", c->id,
                     (unsigned)c->uid, vd->conf->idle_timeout);
            conn_close(c, "idle_timeout");
        } else if (quiet && !c->quiet_exempt && !c->subscribed && !c->rq_head &&
                   c->out_pending == 0 && !c->partial_since && now - c->last_active >= quiet) {
            log_info("conn=%lu uid=%u: silent for %us, disconnecting", c->id, (unsigned)c->uid,
                     vd->conf->quiet_timeout);
            conn_close(c, "quiet_timeout");
        }
    }
    if ((held = peer_log_take_stale(&vd->refused_unknown, now)) != 0)
        log_warn("%u more connection(s) of no principal refused without a log line each", held);
    if ((held = peer_log_take_stale(&vd->refused_full, now)) != 0)
        log_warn("%u more connection(s) over max_clients or max_clients_per_uid refused without a "
                 "log line each",
                 held);
}

void server_init(struct vaultd *vd)
{
    uv_timer_init(vd->loop, &vd->idle_timer);
    vd->idle_timer.data = vd;
    uv_timer_start(&vd->idle_timer, on_idle_timer, 1000, 1000);
}

void server_close(struct vaultd *vd)
{
    uv_close((uv_handle_t *)&vd->idle_timer, NULL);
}

int server_subscribe(struct req *rq, json_t *types)
{
    if (!rq->conn)
        return -ERR_CLOSED;
    json_decref(rq->conn->subscribed);
    rq->conn->subscribed = json_incref(types);
    log_info("conn=%lu uid=%u subscribed to %zu event type(s)%s", rq->conn->id, (unsigned)rq->uid,
             json_array_size(types), json_array_size(types) ? "" : " (all)");
    return 0;
}

/* A socket file left by a dead daemon is removed; one in use is an error. */
static int prepare_socket_path(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd, r = 0;

    if (strlen(path) >= sizeof(sa.sun_path)) {
        log_err("socket path too long: %s", path);
        return -ERR_CONFIG;
    }
    if (access(path, F_OK) != 0)
        return 0;
    strcpy(sa.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -ERR_IO;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
        log_err("another vaultd is listening on %s", path);
        r = -ERR_BUSY;
    } else if (unlink(path) != 0) {
        log_err("cannot remove stale socket %s: %s", path, strerror(errno));
        r = -ERR_IO;
    }
    close(fd);
    return r;
}

int vaultd_socket_gid(const struct vconf *conf, gid_t *out)
{
    const char *name = conf->socket_group;
    struct group *g;
    char *end = NULL;
    unsigned long gid;

    if (!name || !*name) {
        *out = getegid();
        return 0;
    }
    if ((g = getgrnam(name))) {
        *out = g->gr_gid;
        return 0;
    }
    errno = 0;
    gid = strtoul(name, &end, 10);
    if (errno || end == name || *end || gid >= (gid_t)-1) {
        log_err("socket_group %s: no such group", name);
        return -ERR_CONFIG;
    }
    *out = (gid_t)gid;
    return 0;
}

/*
 * Give the socket just bound at `path` to `gid`, through a descriptor of the
 * node itself (O_PATH, no symlink followed) that is checked to be a socket of
 * ours first: a name swapped in a directory others can write is refused, and
 * nothing is followed to another file.  fchownat is the one chown-family call
 * the unit's SystemCallFilter allows.
 */
static int socket_chgrp(const char *path, gid_t gid)
{
    struct stat st;
    int fd, r = 0;

    if ((fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC)) < 0 || fstat(fd, &st) != 0) {
        log_err("socket_group: cannot open %s: %s", path, strerror(errno));
        r = -ERR_IO;
    } else if (!S_ISSOCK(st.st_mode) || st.st_uid != geteuid()) {
        log_err("%s was replaced before its group was set; refusing", path);
        r = -ERR_IO;
    } else if (st.st_gid != gid && fchownat(fd, "", (uid_t)-1, gid, AT_EMPTY_PATH) != 0) {
        log_err("socket_group: cannot give %s to gid %u: %s (is the daemon a member?)", path,
                (unsigned)gid, strerror(errno));
        r = -ERR_CONFIG;
    }
    if (fd >= 0)
        close(fd);
    return r;
}

int vaultd_listen(struct vaultd *vd)
{
    const struct vconf *conf = vd->conf;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    gid_t gid;
    mode_t old;
    int r, fd = -1;

    if (conf->socket_mode & S_IWOTH)
        log_warn("socket_mode %04o lets every local user connect; the principals still decide, "
                 "but 0660 with socket_group is the usual choice",
                 conf->socket_mode);
    if ((r = vaultd_socket_gid(conf, &gid)) != 0)
        return r;
    if ((r = prepare_socket_path(conf->socket_path)) != 0)
        return r;
    memcpy(sa.sun_path, conf->socket_path, strlen(conf->socket_path) + 1);
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0) {
        log_err("socket: %s", strerror(errno));
        return -ERR_IO;
    }
    /*
     * The mode is set on the socket before bind (Linux creates the node with
     * it, less the umask), so the node never exists with another mode and no
     * call by path follows.  No thread runs yet: the umask is ours to clear.
     */
    if (fchmod(fd, conf->socket_mode) != 0) {
        log_err("fchmod socket: %s", strerror(errno));
        close(fd);
        return -ERR_IO;
    }
    old = umask(0);
    r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    umask(old);
    if (r != 0) {
        log_err("bind %s: %s", conf->socket_path, strerror(errno));
        close(fd);
        return -ERR_IO;
    }
    uv_pipe_init(vd->loop, &vd->listener, 0);
    vd->listener.data = vd;
    vd->listening = true;
    if ((r = uv_pipe_open(&vd->listener, fd)) < 0) {
        log_err("listen %s: %s", conf->socket_path, uv_strerror(r));
        close(fd);
        return -ERR_IO;
    }
    if (gid != getegid() && (r = socket_chgrp(conf->socket_path, gid)) != 0)
        return r;
    if ((r = uv_listen((uv_stream_t *)&vd->listener, 128, on_connection)) < 0) {
        log_err("listen %s: %s", conf->socket_path, uv_strerror(r));
        return -ERR_IO;
    }
    return 0;
}

static void on_listener_closed(uv_handle_t *h)
{
    struct vaultd *vd = h->data;

    vd->listening = false;
    unlink(vd->conf->socket_path);
    vaultd_close(vd);
}

void vaultd_stop(struct vaultd *vd)
{
    if (vd->stopping)
        return;
    vd->stopping = true;
    log_info("stopping: %u clients", vd->n_conns);
    if (vd->listening && !uv_is_closing((uv_handle_t *)&vd->listener))
        uv_close((uv_handle_t *)&vd->listener, on_listener_closed);
    for (struct conn *c = vd->conns; c; c = c->next)
        conn_close(c, "shutdown");
    vaultd_close(vd);
}
