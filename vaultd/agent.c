/* SPDX-License-Identifier: Apache-2.0 */
/* Per-session agent sockets on vaultd's loop: one connection, a few signatures, then gone. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <sodium.h>

#include "custos/log.h"
#include "agent.h"
#include "dispatch.h"
#include "vaultd.h"

struct agent {
    struct vaultd *vd;
    struct agent *next; /* in vd->agents.head, under its mutex */
    uv_pipe_t listener;
    uv_pipe_t conn;
    uv_timer_t timer;
    int fd; /* the listening socket until the loop adopts it */
    bool adopted, want_close, closing, listening, connected, unlinked;
    unsigned handles; /* libuv handles not yet closed */
    uid_t uid;        /* the only peer served */
    unsigned signs, msgs;
    struct secbuf *sk; /* wiped at agent_close */
    unsigned char pub[32];
    struct buf in;
    char session[64];
    char account[256];
    char principal[64];
    char comment[300];
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

struct out {
    uv_write_t w;
    size_t len;
    char data[];
};

static void agent_close(struct agent *a, const char *why);

/* ---- audit of each signature: an internal write op, never in the dispatch table ---- */

static int op_session_sign(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    const char *session = json_string_value(json_object_get(rq->args, "session"));
    const char *account = json_string_value(json_object_get(rq->args, "account"));

    return req_audit(vd, rq, txn, account, json_pack("{s:s?}", "session", session));
}

static const struct op sign_op = {"session.sign", 0, ST_UNSEALED, OP_WRITE, op_session_sign, NULL};

/*
 * Queue the audit entry of a signature just given.  The signature is not held
 * back for the commit: the broker reads the agent socket blocking, and a group
 * commit (or an exclusive op ahead in the writer) would stall its whole loop.
 * The capability itself was released by session.open only once audited, and
 * it is bounded to AGENT_SIGNS_MAX signatures.
 */
static void audit_sign(struct agent *a)
{
    struct req *rq = calloc(1, sizeof(*rq));

    if (!rq) {
        log_err("session=%s account=%s: no memory to audit a signature", a->session, a->account);
        return;
    }
    rq->op = &sign_op;
    rq->id = json_null();
    rq->args = json_pack("{s:s,s:s}", "session", a->session, "account", a->account);
    snprintf(rq->principal, sizeof(rq->principal), "%s", a->principal);
    rq->uid = a->uid;
    rq->gid = (gid_t)-1;
    rq->scopes = 0;
    dispatch_req(a->vd, rq); /* answered to nobody: server_req_done frees it */
}

/* ---- lifetime ---- */

static void agent_free(struct agent *a)
{
    struct agent_set *set = &a->vd->agents;

    uv_mutex_lock(&set->mu);
    for (struct agent **p = &set->head; *p; p = &(*p)->next) {
        if (*p == a) {
            *p = a->next;
            break;
        }
    }
    uv_mutex_unlock(&set->mu);
    if (a->fd >= 0)
        close(a->fd);
    if (!a->unlinked)
        unlink(a->path);
    secbuf_free(a->sk);
    if (a->in.data)
        sodium_memzero(a->in.data, a->in.cap); /* sign requests are not secret, but cheap */
    buf_fini(&a->in);
    free(a);
}

static void on_handle_closed(uv_handle_t *h)
{
    struct agent *a = h->data;

    if (--a->handles == 0)
        agent_free(a);
}

static void close_handle(struct agent *a, uv_handle_t *h)
{
    if (!uv_is_closing(h))
        uv_close(h, on_handle_closed);
}

/* Wipe the key at once, remove the socket file, close the handles (the last one frees). */
static void agent_close(struct agent *a, const char *why)
{
    if (a->closing)
        return;
    a->closing = true;
    log_info("agent session=%s closed: %s (signatures=%u)", a->session, why, a->signs);
    secbuf_free(a->sk);
    a->sk = NULL;
    if (!a->unlinked && unlink(a->path) == 0)
        a->unlinked = true;
    if (a->listening)
        close_handle(a, (uv_handle_t *)&a->listener);
    if (a->connected)
        close_handle(a, (uv_handle_t *)&a->conn);
    close_handle(a, (uv_handle_t *)&a->timer);
}

static void on_timer(uv_timer_t *t)
{
    agent_close(t->data, "unused for 60 s");
}

/* ---- the one connection ---- */

static void on_written(uv_write_t *w, int status)
{
    (void)status; /* a failed write shows as a read error or EOF */
    free(w->data);
}

static void agent_send(struct agent *a, const struct buf *b)
{
    struct out *o;
    uv_buf_t ub;
    int r;

    if (a->closing || !b->len)
        return;
    if (!(o = malloc(sizeof(*o) + b->len))) {
        agent_close(a, "out of memory");
        return;
    }
    o->len = b->len;
    memcpy(o->data, b->data, b->len);
    o->w.data = o;
    ub = uv_buf_init(o->data, (unsigned)o->len);
    if ((r = uv_write(&o->w, (uv_stream_t *)&a->conn, &ub, 1, on_written)) < 0) {
        free(o);
        agent_close(a, uv_strerror(r));
    }
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    static char slab[4096]; /* one loop thread: consumed before the next alloc */

    (void)h;
    (void)hint;
    *b = uv_buf_init(slab, sizeof(slab));
}

/* Answer every whole message in a->in. */
static void serve(struct agent *a)
{
    struct vaultd *vd = a->vd;
    struct buf out;
    size_t off = 0;

    buf_init(&out, 4096);
    while (!a->closing && a->in.len - off >= 4) {
        const unsigned char *p = (const unsigned char *)a->in.data + off;
        uint32_t n = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
        bool may_sign, signed_ = false;

        if (n == 0 || n > AGENT_MSG_MAX) {
            agent_close(a, "bad message length");
            break;
        }
        if (a->in.len - off - 4 < n)
            break;
        if (++a->msgs > AGENT_MSGS_MAX) {
            agent_close(a, "too many messages");
            break;
        }
        may_sign = a->signs < AGENT_SIGNS_MAX && vd->state == VAULT_UNSEALED && !vd->stopping;
        buf_reset(&out);
        if (agent_msg_answer(a->sk, a->pub, a->comment, may_sign, p + 4, n, &out, &signed_) != 0) {
            agent_close(a, "cannot build an answer");
            break;
        }
        if (signed_) {
            a->signs++;
            log_info("agent session=%s account=%s: signature %u given", a->session, a->account,
                     a->signs);
            audit_sign(a);
        } else if (p[4] == AGENTC_SIGN_REQUEST) {
            log_warn("agent session=%s account=%s: sign request refused%s", a->session, a->account,
                     may_sign ? " (malformed or another key)" : " (limit or sealed)");
        }
        agent_send(a, &out);
        off += 4 + (size_t)n;
    }
    buf_fini(&out);
    if (!a->closing)
        buf_consume(&a->in, off);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct agent *a = s->data;

    if (n < 0) {
        agent_close(a, n == UV_EOF ? "client disconnected" : uv_strerror((int)n));
        return;
    }
    if (n == 0 || a->closing)
        return;
    uv_timer_again(&a->timer);
    if (buf_append(&a->in, b->base, (size_t)n) != 0) {
        agent_close(a, "message too long");
        return;
    }
    serve(a);
}

static void on_connection(uv_stream_t *srv, int status)
{
    struct agent *a = srv->data;
    struct ucred cred;
    socklen_t clen = sizeof(cred);
    uv_os_fd_t fd;
    int r;

    if (a->closing || a->connected)
        return;
    if (status < 0) {
        agent_close(a, uv_strerror(status));
        return;
    }
    uv_pipe_init(a->vd->loop, &a->conn, 0);
    a->conn.data = a;
    a->handles++;
    a->connected = true;
    if ((r = uv_accept(srv, (uv_stream_t *)&a->conn)) < 0) {
        agent_close(a, uv_strerror(r));
        return;
    }
    if (uv_fileno((uv_handle_t *)&a->conn, &fd) != 0 ||
        getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) != 0 || cred.uid != a->uid) {
        log_warn("agent session=%s: connection from uid %d refused (served to uid %u only)",
                 a->session, clen == sizeof(cred) ? (int)cred.uid : -1, (unsigned)a->uid);
        agent_close(a, "wrong peer");
        return;
    }
    /* One connection only: the file goes now, the listener with it. */
    if (unlink(a->path) == 0)
        a->unlinked = true;
    close_handle(a, (uv_handle_t *)&a->listener);
    a->listening = false;
    if ((r = uv_read_start((uv_stream_t *)&a->conn, on_alloc, on_read)) < 0) {
        agent_close(a, uv_strerror(r));
        return;
    }
    uv_timer_again(&a->timer);
    log_debug("agent session=%s: broker connected", a->session);
}

/* On the loop thread: start serving an agent bound by a writer thread. */
static void adopt(struct agent *a)
{
    struct vaultd *vd = a->vd;
    int r;

    a->adopted = true;
    uv_timer_init(vd->loop, &a->timer);
    a->timer.data = a;
    a->handles++;
    uv_timer_start(&a->timer, on_timer, AGENT_IDLE_MS, AGENT_IDLE_MS);
    uv_pipe_init(vd->loop, &a->listener, 0);
    a->listener.data = a;
    a->handles++;
    a->listening = true;
    if ((r = uv_pipe_open(&a->listener, a->fd)) < 0) {
        agent_close(a, uv_strerror(r)); /* a->fd is still ours: agent_free closes it */
        return;
    }
    a->fd = -1; /* the pipe owns it now */
    if ((r = uv_listen((uv_stream_t *)&a->listener, 1, on_connection)) < 0)
        agent_close(a, uv_strerror(r));
}

static void on_async(uv_async_t *h)
{
    struct vaultd *vd = h->data;
    struct agent_set *set = &vd->agents;
    struct agent *todo[64];
    size_t n;

    /*
     * Collect under the lock, act outside it (agent_close may free through a
     * close callback later, which locks again).  Loop until nothing is left:
     * more than 64 new agents in one wake-up is possible under load.
     */
    do {
        n = 0;
        uv_mutex_lock(&set->mu);
        for (struct agent *a = set->head; a && n < 64; a = a->next)
            if (!a->closing && (!a->adopted || a->want_close))
                todo[n++] = a;
        uv_mutex_unlock(&set->mu);
        for (size_t i = 0; i < n; i++) {
            if (!todo[i]->adopted)
                adopt(todo[i]);
            uv_mutex_lock(&set->mu);
            bool close_it = todo[i]->want_close;
            uv_mutex_unlock(&set->mu);
            if (close_it)
                agent_close(todo[i], "session closed");
        }
    } while (n == 64);
}

/* ---- set-up and shutdown ---- */

/* The socket's directory, when it is missing (no RuntimeDirectory= outside systemd): 0755. */
static int parent_ensure(const char *dir)
{
    char parent[sizeof(((struct agent_set *)0)->dir)];
    const char *slash = strrchr(dir, '/');

    if (!slash || slash == dir)
        return 0;
    snprintf(parent, sizeof(parent), "%.*s", (int)(slash - dir), dir);
    if (mkdir(parent, 0755) != 0 && errno != EEXIST) {
        log_err("mkdir %s: %s", parent, strerror(errno));
        return -ERR_IO;
    }
    return 0;
}

int agents_open(struct vaultd *vd)
{
    struct agent_set *set = &vd->agents;
    const char *sock = vd->conf->socket_path, *slash = strrchr(sock, '/');
    struct stat st;
    DIR *d;
    struct dirent *e;
    gid_t gid;
    int n, r;

    set->dirfd = -1;
    /* Beside the API socket, which the broker reaches already. */
    n = slash ? snprintf(set->dir, sizeof(set->dir), "%.*s/agents", (int)(slash - sock), sock)
              : snprintf(set->dir, sizeof(set->dir), "agents");
    /* 32 hex characters and a slash must still fit a sockaddr_un. */
    if (n < 0 || (size_t)n >= sizeof(set->dir) ||
        (size_t)n + 34 > sizeof(((struct sockaddr_un *)0)->sun_path)) {
        log_err("agent directory path too long: %s", set->dir);
        return -ERR_CONFIG;
    }
    if ((r = vaultd_socket_gid(vd->conf, &gid)) != 0 || (r = parent_ensure(set->dir)) != 0)
        return r;
    if (mkdir(set->dir, 0711) != 0 && errno != EEXIST) {
        log_err("mkdir %s: %s", set->dir, strerror(errno));
        return -ERR_IO;
    }
    /* Every later change goes through this descriptor: no name is followed again. */
    set->dirfd = open(set->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (set->dirfd < 0 || fstat(set->dirfd, &st) != 0 || st.st_uid != geteuid()) {
        log_err("%s is not a directory of this user", set->dir);
        return -ERR_IO;
    }
    /*
     * 0711: the broker may reach a socket it knows the name of, but list none.
     * (No setgid bit to pass socket_group on: RestrictSUIDSGID= refuses it.)
     */
    if (fchmod(set->dirfd, 0711) != 0) {
        log_err("chmod %s: %s", set->dir, strerror(errno));
        return -ERR_IO;
    }
    set->gid = gid;
    if ((n = dup(set->dirfd)) >= 0 && (d = fdopendir(n))) { /* sockets of a previous run */
        while ((e = readdir(d)))
            if (e->d_name[0] != '.')
                unlinkat(dirfd(d), e->d_name, 0);
        closedir(d);
    } else if (n >= 0) {
        close(n);
    }
    if (uv_mutex_init(&set->mu) != 0) {
        log_err("cannot create the agent mutex");
        return -ERR_INTERNAL;
    }
    uv_async_init(vd->loop, &set->async, on_async);
    set->async.data = vd;
    set->open = true;
    return 0;
}

void agents_close(struct vaultd *vd)
{
    struct agent_set *set = &vd->agents;
    struct agent *a, *next;

    if (!set->open)
        return;
    /* No writer runs now (vaultd_close waits for it): nothing is added any more. */
    uv_mutex_lock(&set->mu);
    set->open = false;
    a = set->head;
    uv_mutex_unlock(&set->mu);
    for (; a; a = next) {
        next = a->next; /* agent_close never frees synchronously */
        if (!a->adopted) {
            a->adopted = true;
            uv_timer_init(vd->loop, &a->timer); /* so that one close path frees it */
            a->timer.data = a;
            a->handles++;
        }
        agent_close(a, "vaultd stopping");
    }
    uv_close((uv_handle_t *)&set->async, NULL);
    if (set->dirfd >= 0)
        close(set->dirfd);
    set->dirfd = -1;
}

int agent_start(struct vaultd *vd, const char *session, const char *account, const char *principal,
                uid_t uid, struct secbuf *sk, const unsigned char pub[32], char *path,
                size_t pathlen)
{
    struct agent_set *set = &vd->agents;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    unsigned char rnd[16];
    char name[33];
    struct agent *a = NULL;
    bool open;
    int r = -ERR_IO;

    if (!(a = calloc(1, sizeof(*a)))) {
        r = -ERR_NOMEM;
        goto out;
    }
    a->vd = vd;
    a->fd = -1;
    a->unlinked = true; /* nothing on disk yet */
    a->uid = uid;
    a->sk = sk;
    sk = NULL;
    memcpy(a->pub, pub, 32);
    buf_init(&a->in, 4 + AGENT_MSG_MAX);
    snprintf(a->session, sizeof(a->session), "%s", session);
    snprintf(a->account, sizeof(a->account), "%s", account);
    snprintf(a->principal, sizeof(a->principal), "%s", principal);
    snprintf(a->comment, sizeof(a->comment), "custos:%s", account);
    randombytes_buf(rnd, sizeof(rnd));
    sodium_bin2hex(name, sizeof(name), rnd, sizeof(rnd));
    if ((size_t)snprintf(a->path, sizeof(a->path), "%s/%s", set->dir, name) >= sizeof(a->path) ||
        strlen(a->path) >= pathlen) {
        r = -ERR_CONFIG;
        goto out;
    }
    memcpy(sa.sun_path, a->path, strlen(a->path) + 1);
    if ((a->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0) {
        log_err("agent socket: %s", strerror(errno));
        goto out;
    }
    /*
     * The name is unguessable and agents/ cannot be listed, so the moment
     * between bind and the mode change exposes nothing; the peer's uid is
     * checked at accept anyway.  Owner, group and mode are set through
     * agents/'s descriptor (only vaultd can write there, and no symlink is
     * followed); the umask, which is per process, is never touched from a
     * writer thread.  Without the privilege to give the socket to the
     * broker's uid (the unit grants none), it is reached through socket_group.
     */
    if (bind(a->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        log_err("agent bind: %s", strerror(errno));
        goto out;
    }
    a->unlinked = false;
    if (uid != geteuid() && fchownat(set->dirfd, name, uid, (gid_t)-1, AT_SYMLINK_NOFOLLOW) != 0) {
        if ((set->gid != getegid() &&
             fchownat(set->dirfd, name, (uid_t)-1, set->gid, AT_SYMLINK_NOFOLLOW) != 0) ||
            fchmodat(set->dirfd, name, 0660, 0) != 0)
            goto io;
    } else if (fchmodat(set->dirfd, name, 0600, 0) != 0) {
        goto io;
    }
    if (listen(a->fd, 1) != 0)
        goto io;
    uv_mutex_lock(&set->mu);
    if ((open = set->open)) {
        a->next = set->head;
        set->head = a;
    }
    uv_mutex_unlock(&set->mu);
    if (!open) {
        r = -ERR_STATE;
        goto out;
    }
    snprintf(path, pathlen, "%s", a->path);
    log_info("agent session=%s account=%s served to uid %u", session, account, (unsigned)uid);
    a = NULL;
    uv_async_send(&set->async);
    r = 0;
    goto out;
io:
    log_err("agent socket set-up: %s", strerror(errno));
    r = -ERR_IO;
out:
    if (a) {
        if (a->fd >= 0)
            close(a->fd);
        if (!a->unlinked)
            unlink(a->path);
        secbuf_free(a->sk);
        buf_fini(&a->in);
        free(a);
    }
    secbuf_free(sk);
    return r;
}

void agent_session_closed(struct vaultd *vd, const char *session)
{
    struct agent_set *set = &vd->agents;
    bool found = false;

    uv_mutex_lock(&set->mu);
    for (struct agent *a = set->open ? set->head : NULL; a; a = a->next) {
        if (strcmp(a->session, session) == 0) {
            a->want_close = true;
            found = true;
        }
    }
    uv_mutex_unlock(&set->mu);
    if (found)
        uv_async_send(&set->async);
}
