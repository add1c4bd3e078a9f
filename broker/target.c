/* SPDX-License-Identifier: Apache-2.0 */
/* The target leg: resolve, connect, check the pinned host key, log in, open and replay. */
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libssh/server.h>

#include "custos/log.h"
#include "sshfd.h"
#include "target.h"

void target_leg_init(struct target_leg *tl, uv_loop_t *loop, uint64_t id, uint64_t rekey_data,
                     const struct target_io *io)
{
    memset(tl, 0, sizeof(*tl));
    tl->loop = loop;
    tl->id = id;
    tl->rekey_data = rekey_data;
    tl->io = *io;
    tl->fd = -1;
}

static void set_step(struct target_leg *tl, enum target_step st)
{
    tl->step = st;
    tl->step_since_ms = uv_now(tl->loop);
}

static void fail(struct target_leg *tl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(struct target_leg *tl, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(tl->error, sizeof(tl->error), fmt, ap);
    va_end(ap);
    set_step(tl, TARGET_FAILED);
}

/* "<what> on target T: <libssh's error>" */
static void fail_ssh(struct target_leg *tl, const char *what)
{
    fail(tl, "%s on target %s: %s", what, tl->name, tl->cs ? ssh_get_error(tl->cs) : "no session");
}

/* ---- callbacks (record only) ----------------------------------------------- */

static void on_exit_status(ssh_session session, ssh_channel channel, int status, void *ud)
{
    struct target_leg *tl = ud;

    (void)session;
    (void)channel;
    tl->have_exit_status = true;
    tl->exit_status = status;
}

static void on_exit_signal(ssh_session session, ssh_channel channel, const char *signal, int core,
                           const char *errmsg, const char *lang, void *ud)
{
    struct target_leg *tl = ud;

    (void)session;
    (void)channel;
    (void)core;
    (void)errmsg;
    (void)lang;
    tl->have_exit_signal = true;
    snprintf(tl->exit_signal, sizeof(tl->exit_signal), "%s", signal ? signal : "TERM");
}

static int on_message(ssh_session session, ssh_message msg, void *ud)
{
    struct target_leg *tl = ud;

    (void)session;
    return tl->io.message ? tl->io.message(tl->io.ctx, msg) : 1;
}

static void on_poll(uv_poll_t *p, int status, int events)
{
    struct target_leg *tl = p->data;

    (void)status;
    (void)events;
    tl->io.wake(tl->io.ctx);
}

static void on_closed(uv_handle_t *h)
{
    struct target_leg *tl = h->data;

    tl->handles--;
    tl->io.closed(tl->io.ctx);
}

/* ---- resolve and connect ------------------------------------------------------ */

static void on_resolved(uv_getaddrinfo_t *g, int status, struct addrinfo *ai)
{
    struct target_leg *tl = g->data;
    int fd = -1, r;

    tl->gai_running = false;
    if (tl->closing || tl->halted || tl->step != TARGET_RESOLVE) {
        uv_freeaddrinfo(ai);
        tl->io.closed(tl->io.ctx);
        return;
    }
    if (status < 0 || !ai) {
        fail(tl, "target %s (%s) cannot be resolved: %s", tl->name, tl->host, uv_strerror(status));
        uv_freeaddrinfo(ai);
        tl->io.wake(tl->io.ctx);
        return;
    }
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
        close(fd);
        fd = -1;
    }
    uv_freeaddrinfo(ai);
    if (fd < 0) {
        fail(tl, "cannot reach target %s (%s port %u): %s", tl->name, tl->host, tl->port,
             strerror(errno));
        tl->io.wake(tl->io.ctx);
        return;
    }
    tl->fd = fd;
    if ((r = uv_poll_init(tl->loop, &tl->poll, fd)) != 0) {
        log_warn("session=%llu uv_poll_init: %s", (unsigned long long)tl->id, uv_strerror(r));
        fail(tl, "cannot watch the connection to target %s", tl->name);
        tl->io.wake(tl->io.ctx);
        return;
    }
    tl->poll.data = tl;
    tl->poll_open = true;
    tl->handles++;
    set_step(tl, TARGET_TCP);
    uv_poll_start(&tl->poll, UV_WRITABLE, on_poll);
}

int target_leg_start(struct target_leg *tl)
{
    char port[16];
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM};

    snprintf(port, sizeof(port), "%u", tl->port ? tl->port : 22);
    set_step(tl, TARGET_RESOLVE);
    tl->gai.data = tl;
    /* Never a blocking getaddrinfo on the loop (and never inside libssh). */
    if (uv_getaddrinfo(tl->loop, &tl->gai, on_resolved, tl->host, port, &hints) != 0) {
        fail(tl, "cannot look the target address up");
        return -ERR_CONN;
    }
    tl->gai_running = true;
    return 0;
}

/* ---- the SSH session -------------------------------------------------------- */

static bool hostkey_ok(struct target_leg *tl)
{
    ssh_key key = NULL;
    unsigned char *hash = NULL;
    size_t hlen = 0;
    char *fp = NULL;
    bool ok = false;

    if (ssh_get_server_publickey(tl->cs, &key) != SSH_OK ||
        ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash, &hlen) != 0 ||
        !(fp = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, hlen))) {
        fail(tl, "the target's host key cannot be read");
    } else if (strcmp(fp, tl->hostkey) != 0) {
        fail(tl,
             "host key of target %s does not match the pinned key (pinned %s, offered %s); "
             "refusing to connect",
             tl->name, tl->hostkey, fp);
        log_warn("session=%llu %s", (unsigned long long)tl->id, tl->error);
    } else {
        ok = true;
    }
    ssh_string_free_char(fp);
    ssh_clean_pubkey_hash(&hash);
    ssh_key_free(key);
    return ok;
}

/* A libssh client session on the connected socket, configured by us alone. */
static bool start_ssh(struct target_leg *tl)
{
    const char *at = strrchr(tl->account, '@');
    int verbosity = SSH_LOG_NOLOG;
    uint64_t rk = tl->rekey_data;
    char name[256];
    bool no = false;

    snprintf(name, sizeof(name), "%.*s", at ? (int)(at - tl->account) : (int)strlen(tl->account),
             tl->account);
    if (!(tl->cs = ssh_new())) {
        fail(tl, "out of memory");
        return false;
    }
    /* Never ~/.ssh/config of the broker's user: every option is set here, or none is. */
    if (ssh_options_set(tl->cs, SSH_OPTIONS_FD, &tl->fd) != 0 ||
        ssh_options_set(tl->cs, SSH_OPTIONS_HOST, tl->host) != 0 ||
        ssh_options_set(tl->cs, SSH_OPTIONS_USER, name) != 0 ||
        ssh_options_set(tl->cs, SSH_OPTIONS_PROCESS_CONFIG, &no) != 0 ||
        ssh_options_set(tl->cs, SSH_OPTIONS_LOG_VERBOSITY, &verbosity) != 0 ||
        (rk && ssh_options_set(tl->cs, SSH_OPTIONS_REKEY_DATA, &rk) != 0) ||
        (tl->agent[0] && ssh_options_set(tl->cs, SSH_OPTIONS_IDENTITY_AGENT, tl->agent) != 0)) {
        fail_ssh(tl, "the SSH session cannot be set up");
        return false;
    }
    ssh_set_message_callback(tl->cs, on_message, tl);
    ssh_set_blocking(tl->cs, 0);
    set_step(tl, TARGET_SSH);
    return true;
}

static bool open_channel(struct target_leg *tl)
{
    if (!(tl->ch = ssh_channel_new(tl->cs))) {
        fail_ssh(tl, "cannot open a channel");
        return false;
    }
    memset(&tl->cb, 0, sizeof(tl->cb));
    tl->cb.userdata = tl;
    tl->cb.channel_exit_status_function = on_exit_status;
    tl->cb.channel_exit_signal_function = on_exit_signal;
    ssh_callbacks_init(&tl->cb);
    ssh_set_channel_callbacks(tl->ch, &tl->cb);
    return true;
}

void target_leg_process(struct target_leg *tl)
{
    if (tl->cs)
        ssh_execute_message_callbacks(tl->cs);
}

enum target_step target_leg_step(struct target_leg *tl)
{
    const struct chanreq *req = tl->req;
    int rc;

    if (tl->step >= TARGET_SSH && tl->step != TARGET_FAILED)
        target_leg_process(tl);
    for (;;) {
        switch (tl->step) {
        case TARGET_TCP: {
            int err = 0;
            socklen_t el = sizeof(err);

            getsockopt(tl->fd, SOL_SOCKET, SO_ERROR, &err, &el);
            if (err == EINPROGRESS || err == EALREADY)
                return tl->step;
            if (err) {
                fail(tl, "cannot reach target %s (%s port %u): %s", tl->name, tl->host, tl->port,
                     strerror(err));
                return tl->step;
            }
            if (!start_ssh(tl))
                return tl->step;
            continue;
        }
        case TARGET_SSH:
            rc = ssh_connect(tl->cs);
            sshfd_set_nonblock(tl->fd); /* libssh makes client sockets blocking again */
            if (rc == SSH_AGAIN)
                return tl->step;
            if (rc != SSH_OK) {
                fail_ssh(tl, "SSH connection failed");
                return tl->step;
            }
            if (!hostkey_ok(tl))
                return tl->step;
            set_step(tl, TARGET_USERAUTH);
            continue;
        case TARGET_USERAUTH:
            /*
             * With an agent, libssh talks to vaultd's socket with blocking
             * I/O: a local round trip answered at once on vaultd's loop (the
             * signature's audit entry is written after it), the same bounded
             * compromise as the MFA link.  The target leg stays non-blocking.
             */
            if (tl->agent[0])
                rc = ssh_userauth_agent(tl->cs, NULL);
            else
                rc = ssh_userauth_password(tl->cs, NULL, secbuf_cdata(tl->password));
            if (rc == SSH_AUTH_AGAIN)
                return tl->step;
            /* The credential has done its job either way: wipe it now. */
            secbuf_free(tl->password);
            tl->password = NULL;
            if (rc != SSH_AUTH_SUCCESS) {
                fail(tl,
                     "the target %s refused the vaulted credential for %s (it may need "
                     "rotation)",
                     tl->name, tl->account);
                return tl->step;
            }
            /* A jump (-J/-W): logged in, nothing to open but the forwards themselves. */
            set_step(tl, req->kind == CHANREQ_FORWARD ? TARGET_READY : TARGET_CH_OPEN);
            continue;
        case TARGET_CH_OPEN:
            if (!tl->ch && !open_channel(tl))
                return tl->step;
            rc = ssh_channel_open_session(tl->ch);
            if (rc == SSH_AGAIN)
                return tl->step;
            if (rc != SSH_OK) {
                fail_ssh(tl, "cannot open a session channel");
                return tl->step;
            }
            set_step(tl, req->have_pty ? TARGET_CH_PTY : TARGET_CH_REQ);
            continue;
        case TARGET_CH_PTY:
            rc = ssh_channel_request_pty_size(tl->ch, req->term, req->cols, req->rows);
            if (rc == SSH_AGAIN)
                return tl->step;
            if (rc != SSH_OK) {
                fail_ssh(tl, "pty request refused");
                return tl->step;
            }
            tl->req->resize_pending = false; /* the request carried the latest size */
            set_step(tl, TARGET_CH_REQ);
            continue;
        case TARGET_CH_REQ:
            rc = req->kind == CHANREQ_SHELL  ? ssh_channel_request_shell(tl->ch)
                 : req->kind == CHANREQ_EXEC ? ssh_channel_request_exec(tl->ch, req->command)
                                             : ssh_channel_request_subsystem(tl->ch, req->command);
            if (rc == SSH_AGAIN)
                return tl->step;
            if (rc != SSH_OK) {
                fail_ssh(tl,
                         req->kind == CHANREQ_SUBSYSTEM ? "subsystem refused" : "request refused");
                return tl->step;
            }
            set_step(tl, TARGET_READY);
            return tl->step;
        default:
            return tl->step;
        }
    }
}

void target_leg_rearm(struct target_leg *tl)
{
    if (tl->poll_open && tl->cs)
        sshfd_rearm(&tl->poll, tl->cs, on_poll);
}

bool target_leg_is_gone(const struct target_leg *tl)
{
    return tl->cs && (!ssh_is_connected(tl->cs) ||
                      (ssh_get_status(tl->cs) & (SSH_CLOSED | SSH_CLOSED_ERROR)));
}

void target_leg_halt(struct target_leg *tl)
{
    tl->halted = true;
}

void target_leg_close(struct target_leg *tl)
{
    tl->closing = true;
    if (tl->poll_open) {
        uv_poll_stop(&tl->poll);
        uv_close((uv_handle_t *)&tl->poll, on_closed);
        tl->poll_open = false;
    }
    if (tl->ch)
        ssh_channel_free(tl->ch);
    tl->ch = NULL;
    /*
     * libssh does not close a socket given with SSH_OPTIONS_FD: it is ours
     * to close, after ssh_free is done with it.
     */
    if (tl->cs) {
        ssh_disconnect(tl->cs);
        ssh_free(tl->cs);
    }
    tl->cs = NULL;
    if (tl->fd >= 0) {
        close(tl->fd);
        tl->fd = -1;
    }
    secbuf_free(tl->password);
    tl->password = NULL;
}

bool target_leg_is_closed(const struct target_leg *tl)
{
    return tl->handles == 0 && !tl->gai_running;
}
