/* SPDX-License-Identifier: Apache-2.0 */
/* One brokered session: its state machine and lifecycle (pump, teardown, accept, enforcement). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "custos/log.h"
#include "selfmenu.h"
#include "selfsvc.h"
#include "session.h"
#include "sshfd.h"

/*
 * The pump (../shared/notes/libssh-libuv.md): libuv only wakes us; every
 * wake-up of either fd runs session_pump(), which lets libssh process what
 * is readable on both legs (non-blocking, timeout 0), advances the target
 * leg, moves data both ways within the SSH windows, propagates EOF / exit
 * status / close, and re-arms both uv_polls from what libssh wants.  libssh
 * callbacks only record what happened (in the parts' structs); all work and
 * teardown happen in the pump, never inside a callback.
 */

static void teardown(struct bsess *s);
static void session_free_if_done(struct bsess *s);

uint64_t session_now_ms(const struct bsess *s)
{
    return uv_now(&s->bl->loop);
}

void session_set_state(struct bsess *s, enum state st)
{
    /* An ending session stops its parts: answers still due to them are ignored. */
    if (st >= ST_CLOSING) {
        target_leg_halt(&s->tl);
        cmdfilter_halt(&s->cf);
    }
    s->state = st;
    s->state_since_ms = session_now_ms(s);
}

/* ---- messages to the admin ---------------------------------------------- */

void session_tell(struct bsess *s, const char *fmt, ...)
{
    ssh_channel ch = s->adm.ch;
    bool pty = s->adm.req.have_pty;
    char line[1024];
    va_list ap;
    int n;

    if (!ch || !ssh_channel_is_open(ch))
        return;
    n = snprintf(line, sizeof(line), "%scustos: ", pty ? "\r\n" : "");
    va_start(ap, fmt);
    n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    if ((size_t)n >= sizeof(line) - 3)
        n = (int)sizeof(line) - 3;
    n += snprintf(line + n, sizeof(line) - (size_t)n, "%s", pty ? "\r\n" : "\n");
    ssh_channel_write_stderr(ch, line, (uint32_t)n);
}

void session_finish(struct bsess *s, const char *reason)
{
    ssh_channel ch = s->adm.ch;

    if (s->state >= ST_CLOSING)
        return;
    snprintf(s->end_reason, sizeof(s->end_reason), "%s", reason);
    log_info("session=%llu identity=%s account=%s ends: %s", (unsigned long long)s->id,
             s->identity[0] ? s->identity : "-", s->adm.user, reason);
    if (ch && ssh_channel_is_open(ch)) {
        session_tell(s, "%s", reason);
        if (!s->exit_sent) {
            ssh_channel_request_send_exit_status(ch, 255);
            s->exit_sent = true;
        }
        ssh_channel_send_eof(ch);
        ssh_channel_close(ch);
        session_set_state(s, ST_CLOSING);
    } else {
        session_set_state(s, ST_DEAD);
    }
}

/* ---- the parts' io ------------------------------------------------------------ */

static void on_poll(uv_poll_t *p, int status, int events)
{
    (void)status;
    (void)events;
    session_pump(p->data);
}

static void wake(void *ctx)
{
    session_pump(ctx);
}

static void say(void *ctx, const char *msg)
{
    session_tell(ctx, "%s", msg);
}

static void end(void *ctx, const char *reason)
{
    session_finish(ctx, reason);
}

/* The target leg's socket is ready, or its address lookup failed. */
static void target_wake(void *ctx)
{
    struct bsess *s = ctx;

    if (s->state == ST_CONNECT && s->tl.step == TARGET_FAILED)
        session_finish(s, s->tl.error);
    session_pump(s);
}

static void target_closed(void *ctx)
{
    session_free_if_done(ctx);
}

/* The target leg's requests: a connection on a -R listener is taken; the rest refused. */
static int target_message(void *ctx, ssh_message msg)
{
    struct bsess *s = ctx;

    return s->state == ST_RELAY ? fwdset_incoming(&s->fwd, msg) : 1;
}

/*
 * The admin's forwards.  direct-tcpip (-L, or -W/-J) without a session
 * channel is a jump as ACCOUNT@TARGET: the session becomes forward-only,
 * authorized and logged in like any other, and its forwards leave from the
 * target as the entitlement allows.  Only sessions to an account forward.
 */
static int admin_forward(void *ctx, ssh_message msg)
{
    struct bsess *s = ctx;
    bool account = strchr(s->adm.user, '@') != NULL;
    const char *host;
    int port;

    if (ssh_message_type(msg) == SSH_REQUEST_GLOBAL) {
        if (!account || s->state >= ST_CLOSING) {
            log_info("session=%llu user=%s remote forward refused: no account session",
                     (unsigned long long)s->id, s->adm.user);
            return 1;
        }
        return fwdset_listen(&s->fwd, msg);
    }
    host = ssh_message_channel_request_open_destination(msg);
    port = ssh_message_channel_request_open_destination_port(msg);
    if (!s->adm.ch && s->adm.req.kind == CHANREQ_NONE && s->state == ST_WAIT_REQ && account &&
        !s->adm.refuse[0])
        s->adm.req.kind = CHANREQ_FORWARD;
    if (s->state >= ST_CLOSING || !account || s->adm.refuse[0] ||
        (!s->adm.ch && s->adm.req.kind != CHANREQ_FORWARD)) {
        log_info("session=%llu user=%s forward to %s:%d refused: not a session to an account",
                 (unsigned long long)s->id, s->adm.user, host ?: "?", port);
        snprintf(s->notice, sizeof(s->notice),
                 "forwarding to %.100s:%d refused: forwards need a session to ACCOUNT@TARGET "
                 "(e.g. ssh -J root@web01@broker ...)",
                 host ?: "?", port);
        return 1;
    }
    return fwdset_open(&s->fwd, msg);
}

static void fwd_notice(void *ctx, const char *msg)
{
    struct bsess *s = ctx;

    snprintf(s->notice, sizeof(s->notice), "%s", msg);
}

/* ---- target leg ----------------------------------------------------------------- */

void session_connect(struct bsess *s)
{
    session_set_state(s, ST_CONNECT);
    if (target_leg_start(&s->tl) != 0) {
        session_finish(s, s->tl.error);
        session_pump(s);
    }
}

/* Advance the target leg; once it runs, relay. */
static void connect_step(struct bsess *s)
{
    const struct chanreq *req = &s->adm.req;

    switch (target_leg_step(&s->tl)) {
    case TARGET_FAILED:
        session_finish(s, s->tl.error);
        break;
    case TARGET_READY:
        session_set_state(s, ST_RELAY);
        s->last_activity_ms = session_now_ms(s);
        if (req->kind == CHANREQ_FORWARD)
            log_info("session=%llu vsession=%s relaying forwards only", (unsigned long long)s->id,
                     s->vsession);
        else
            log_info("session=%llu vsession=%s relaying %s", (unsigned long long)s->id, s->vsession,
                     req->kind == CHANREQ_SHELL ? "shell" : req->command);
        break;
    default:
        break;
    }
}

/* ---- relaying ------------------------------------------------------------------- */

/* Bytes both ways, forwards, the admin's resize and signals, then EOF, exit and close. */
static void relay(struct bsess *s)
{
    struct chanreq *req = &s->adm.req;
    struct relay *r = &s->relay;
    ssh_channel a = s->adm.ch, t = s->tl.ch;

    r->a = a; /* borrowed from the legs, which own them */
    r->t = t;
    if (s->notice[0]) {
        session_tell(s, "%s", s->notice);
        s->notice[0] = '\0';
    }
    for (unsigned i = 0; i < RELAY_STEPS; i++) {
        bool m = relay_flush_in(r);

        m |= s->cf.on ? cmdfilter_step(&s->cf) : relay_move_in(r);
        m |= relay_move_out(r);
        if (!m)
            break;
    }
    fwdset_step(&s->fwd, s->adm.ss, s->tl.cs);
    if (req->kind == CHANREQ_FORWARD && fwdset_is_empty(&s->fwd) && s->state == ST_RELAY) {
        /* A jump whose forwards are all closed (or refused) is over. */
        snprintf(s->end_reason, sizeof(s->end_reason), "forwards closed");
        session_set_state(s, ST_DEAD);
    }
    if (req->resize_pending && t) {
        relay_resize(r, req->cols, req->rows);
        req->resize_pending = false;
    }
    if (req->pending_signal[0] && t) {
        relay_signal(r, req->pending_signal);
        req->pending_signal[0] = '\0';
    }
    /* Admin EOF reaches the target once everything before it has. */
    if (!r->eof_in_sent && a && ssh_channel_is_eof(a) && cmdfilter_input_done(&s->cf) &&
        ssh_channel_poll(a, 0) == SSH_EOF)
        relay_eof_in(r);
    /*
     * OpenSSH sends EOF, then exit-status, then CLOSE: forward each as it
     * comes, once the data before it has been delivered.
     */
    if (t && (ssh_channel_is_eof(t) || ssh_channel_is_closed(t)) && relay_out_drained(r)) {
        relay_eof_out(r);
        if (!s->exit_sent && (s->tl.have_exit_status || s->tl.have_exit_signal)) {
            if (s->tl.have_exit_signal)
                relay_exit_signal(r, s->tl.exit_signal);
            else
                /* A script stopped at a refused line did not succeed. */
                relay_exit_status(r, s->cf.stopped ? 255 : s->tl.exit_status);
            s->exit_sent = true;
        }
        if (ssh_channel_is_closed(t) || !ssh_is_connected(s->tl.cs)) {
            snprintf(s->end_reason, sizeof(s->end_reason), "%s",
                     s->tl.have_exit_signal ? "exited on a signal" : "exited");
            ssh_channel_close(a);
            session_set_state(s, ST_CLOSING);
        }
    }
    if (r->active) {
        s->last_activity_ms = session_now_ms(s);
        r->active = false;
    }
}

static void leg_check(struct bsess *s)
{
    ssh_session ss = s->adm.ss;

    /* The admin went away: nothing left to relay for. */
    if (ss && (!ssh_is_connected(ss) || (ssh_get_status(ss) & (SSH_CLOSED | SSH_CLOSED_ERROR)))) {
        if (s->state < ST_CLOSING && s->state >= ST_WAIT_REQ)
            snprintf(s->end_reason, sizeof(s->end_reason), "admin disconnected");
        session_set_state(s, ST_DEAD);
        return;
    }
    if (s->adm.ch && !s->admin_closed && ssh_channel_is_closed(s->adm.ch) &&
        s->state != ST_CLOSING && s->state >= ST_WAIT_REQ) {
        s->admin_closed = true;
        snprintf(s->end_reason, sizeof(s->end_reason), "admin closed the channel");
        session_set_state(s, ST_DEAD);
        return;
    }
    /*
     * ST_CLOSING ends when the admin's client disconnects (OpenSSH does once
     * its channel is closed); disconnecting first would make it print
     * "closed by remote host".  The watchdog gives up after 5 s.
     */
    if (s->state == ST_RELAY && target_leg_is_gone(&s->tl)) {
        /* Target gone: deliver what remains, then end with its status if any. */
        if (!s->tl.have_exit_status && !s->tl.have_exit_signal)
            session_finish(s, "the target closed the connection");
    }
}

/* ---- custos@broker ------------------------------------------------------------------ */

static void self_out(void *ctx, const char *data, size_t len)
{
    struct bsess *s = ctx;

    if (s->adm.ch && ssh_channel_is_open(s->adm.ch))
        ssh_channel_write(s->adm.ch, data, (uint32_t)len);
}

static void self_done(void *ctx, int status, const char *errmsg)
{
    struct bsess *s = ctx;
    ssh_channel ch = s->adm.ch;

    s->selfjob = NULL;
    if (ch && ssh_channel_is_open(ch)) {
        if (errmsg)
            session_tell(s, "%s", errmsg);
        ssh_channel_request_send_exit_status(ch, status);
        s->exit_sent = true;
        ssh_channel_send_eof(ch);
        ssh_channel_close(ch);
    }
    snprintf(s->end_reason, sizeof(s->end_reason), "self-service");
    session_set_state(s, ST_CLOSING);
    session_pump(s);
}

static void menu_done(void *ctx, int status, const char *errmsg)
{
    struct bsess *s = ctx;

    s->menu = NULL;
    self_done(ctx, status, errmsg);
}

/* The menu chose a reachable account: carry on as if it had been asked for by name. */
static void menu_connect(void *ctx, const char *account)
{
    struct bsess *s = ctx;

    s->menu = NULL;
    snprintf(s->adm.user, sizeof(s->adm.user), "%s", account);
    log_info("session=%llu menu connects to %s", (unsigned long long)s->id, s->adm.user);
    decide_authorize(s);
    session_pump(s);
}

/* What the admin typed into the menu (pty, raw). */
static void menu_feed(struct bsess *s)
{
    char in[512];
    int n;

    for (unsigned i = 0; i < RELAY_STEPS && s->menu && s->adm.ch; i++) {
        if (ssh_channel_poll(s->adm.ch, 0) <= 0)
            break;
        n = ssh_channel_read_nonblocking(s->adm.ch, in, sizeof(in), 0);
        if (n <= 0)
            break;
        s->last_activity_ms = session_now_ms(s);
        selfmenu_input(s->menu, in, (size_t)n);
    }
}

/*
 * custos@broker: the broker's own commands (selfsvc.c), or with a pty and no
 * command the menu (selfmenu.c); no target, no credential.
 */
static void self_service(struct bsess *s)
{
    const struct chanreq *req = &s->adm.req;
    struct selfsvc_io io = {s, self_out, self_done};
    struct selfmenu_io mio = {s, self_out, menu_connect, menu_done};

    session_set_state(s, ST_SELF);
    if (req->kind == CHANREQ_SHELL && req->have_pty)
        s->menu = selfmenu_start(s->bl->vault, s->adm.fp, req->cols, &mio);
    else
        s->selfjob = selfsvc_run(s->bl->vault, s->adm.fp,
                                 req->kind == CHANREQ_EXEC ? req->command : "help", &io);
}

/* ---- the pump ----------------------------------------------------------------------- */

/* The session channel's request has come: the first decision. */
static void on_request(struct bsess *s)
{
    if (s->adm.refuse[0])
        session_finish(s, s->adm.refuse);
    else if (strcmp(s->adm.user, "custos") == 0)
        self_service(s);
    else if (!strchr(s->adm.user, '@'))
        session_finish(s, "connect as ACCOUNT@TARGET (e.g. ssh -p 2222 root@web01@broker), or as "
                          "custos@ for the self-service commands (ssh -p 2222 custos@broker help)");
    else
        decide_authorize(s);
}

void session_pump(struct bsess *s)
{
    int rc;

    if (s->in_pump || s->dead)
        return;
    s->in_pump = true;
    if (s->state == ST_HANDSHAKE && !s->kex_done) {
        rc = ssh_handle_key_exchange(s->adm.ss);
        if (rc == SSH_OK) {
            s->kex_done = true;
        } else if (rc != SSH_AGAIN) {
            log_info("session=%llu client=%s:%u handshake failed: %s", (unsigned long long)s->id,
                     s->adm.addr, s->adm.port, ssh_get_error(s->adm.ss));
            session_set_state(s, ST_DEAD);
        }
    }
    if (s->kex_done && s->state != ST_DEAD)
        ssh_execute_message_callbacks(s->adm.ss);
    if (s->state == ST_HANDSHAKE && s->adm.authed)
        session_set_state(s, ST_WAIT_REQ);
    if (s->state == ST_WAIT_REQ && (s->adm.ch || s->adm.req.kind == CHANREQ_FORWARD) &&
        s->adm.req.kind != CHANREQ_NONE)
        on_request(s);
    if (s->state == ST_SELF && s->menu)
        menu_feed(s);
    if (s->state == ST_CONNECT)
        connect_step(s);
    if (s->state == ST_RELAY) {
        target_leg_process(&s->tl);
        relay(s);
    }
    leg_check(s);
    if (s->state == ST_DEAD) {
        s->in_pump = false;
        teardown(s);
        return;
    }
    if (s->spoll_open && s->adm.ss)
        sshfd_rearm(&s->spoll, s->adm.ss, on_poll);
    target_leg_rearm(&s->tl);
    s->in_pump = false;
}

/* ---- lifecycle ------------------------------------------------------------------------ */

static void on_handle_closed(uv_handle_t *h)
{
    struct bsess *s = h->data;

    s->open_handles--;
    session_free_if_done(s);
}

static void session_free_if_done(struct bsess *s)
{
    if (!s->dead || s->open_handles || !target_leg_is_closed(&s->tl))
        return;
    relay_fini(&s->relay);
    json_decref(s->policy);
    free(s);
}

static void teardown(struct bsess *s)
{
    struct bloop *bl = s->bl;

    if (s->dead)
        return;
    s->dead = true;
    if (s->vsession[0]) {
        json_t *args =
            json_pack("{s:s,s:I,s:I,s:s}", "session", s->vsession, "bytes_in",
                      (json_int_t)s->relay.bytes_in, "bytes_out", (json_int_t)s->relay.bytes_out,
                      "reason", s->end_reason[0] ? s->end_reason : "closed");
        if (s->tl.have_exit_status)
            json_object_set_new(args, "exit_status", json_integer(s->tl.exit_status));
        if (s->tl.have_exit_signal)
            json_object_set_new(args, "signal", json_string(s->tl.exit_signal));
        vlink_call(bl->vault, "session.close", args, NULL, NULL);
    }
    vlink_cancel(bl->vault, s);
    cmdfilter_fini(&s->cf);
    selfsvc_abandon(s->selfjob);
    s->selfjob = NULL;
    selfmenu_abandon(s->menu);
    s->menu = NULL;
    log_info("session=%llu vsession=%s closed: %s in=%llu out=%llu", (unsigned long long)s->id,
             s->vsession[0] ? s->vsession : "-", s->end_reason[0] ? s->end_reason : "-",
             (unsigned long long)s->relay.bytes_in, (unsigned long long)s->relay.bytes_out);
    if (s->prev)
        s->prev->next = s->next;
    else
        bl->sessions = s->next;
    if (s->next)
        s->next->prev = s->prev;
    bl->n_sessions--;
    if (s->spoll_open) {
        uv_poll_stop(&s->spoll);
        uv_close((uv_handle_t *)&s->spoll, on_handle_closed);
        s->spoll_open = false;
    }
    /* Forward channels live on both legs' sessions: they go before either. */
    fwdset_fini(&s->fwd);
    target_leg_close(&s->tl);
    admin_leg_close(&s->adm);
    session_free_if_done(s);
}

void bsess_accept(struct bloop *bl, int fd, const char *addr, unsigned port)
{
    struct bsess *s = calloc(1, sizeof(*s));
    const struct admin_io aio = {s, admin_forward};
    const struct target_io tio = {s, target_wake, target_closed, target_message};
    int r;

    if (!s) {
        close(fd);
        return;
    }
    s->bl = bl;
    s->id = ((uint64_t)bl->index << 48) | ++bl->next_sess;
    if (admin_leg_open(&s->adm, bl, s->id, fd, addr, port, &aio) != 0) {
        free(s);
        return;
    }
    if ((r = uv_poll_init(&bl->loop, &s->spoll, fd)) != 0) {
        log_warn("session=%llu uv_poll_init: %s", (unsigned long long)s->id, uv_strerror(r));
        admin_leg_close(&s->adm);
        free(s);
        return;
    }
    s->spoll.data = s;
    s->spoll_open = true;
    s->open_handles++;
    target_leg_init(&s->tl, &bl->loop, s->id, bl->conf->rekey_data, &tio);
    s->tl.req = &s->adm.req;
    s->tl.name = s->target;
    s->tl.account = s->account;
    s->cf = (struct cmdfilter){
        .io = {s, say, end, wake}, .vault = bl->vault, .relay = &s->relay, .vsession = s->vsession};
    s->fwd = (struct fwdset){.id = s->id,
                             .io = {s, say, fwd_notice},
                             .vault = bl->vault,
                             .relay = &s->relay,
                             .user = s->adm.user,
                             .account = s->account,
                             .vsession = s->vsession};
    s->started_ms = s->last_activity_ms = uv_now(&bl->loop);
    session_set_state(s, ST_HANDSHAKE);
    s->next = bl->sessions;
    if (bl->sessions)
        bl->sessions->prev = s;
    bl->sessions = s;
    bl->n_sessions++;
    log_debug("session=%llu client=%s:%u accepted", (unsigned long long)s->id, addr, port);
    session_pump(s); /* the server banner is already queued */
}

/* ---- enforcement ------------------------------------------------------------------------ */

/* request.decided: the held exec resumes, or the waiting typed line runs or is dropped. */
static void on_decided(struct bsess *s, const char *rid, const json_t *data)
{
    if (s->state == ST_HELD && s->hold_req[0] && strcmp(rid, s->hold_req) == 0)
        decide_resume(s);
    else if (s->state == ST_RELAY && cmdfilter_is_waiting(&s->cf) && s->cf.hold_req[0] &&
             strcmp(rid, s->cf.hold_req) == 0)
        cmdfilter_decided(&s->cf, data);
    else
        return;
    session_pump(s);
}

void bsess_on_event(struct bloop *bl, const char *type, json_t *data)
{
    const char *grant = json_string_value(json_object_get(data, "grant"));
    const char *identity = json_string_value(json_object_get(data, "identity"));
    const char *session = json_string_value(json_object_get(data, "session"));
    const char *rid = json_string_value(json_object_get(data, "request"));

    for (struct bsess *s = bl->sessions, *n; s; s = n) {
        n = s->next;
        if (strcmp(type, "request.decided") == 0) {
            if (rid)
                on_decided(s, rid, data);
        } else if (strcmp(type, "session.kill") == 0) {
            if (session && strcmp(session, s->vsession) == 0) {
                char msg[1024];

                snprintf(msg, sizeof(msg), "session ended by an operator: %s",
                         json_string_value(json_object_get(data, "reason")) ?: "killed");
                session_finish(s, msg);
                session_pump(s);
            }
        } else if ((grant && s->grant[0] && strcmp(grant, s->grant) == 0) ||
                   (identity && strcmp(identity, s->identity) == 0)) {
            /* Grant ended, identity suspended/left, review revoked: ask again. */
            decide_recheck(s);
        }
    }
}

/* The admin sees a line before the grant ends. */
static void warn_expiry(struct bsess *s, time_t wall)
{
    time_t e = (time_t)s->expires_at;
    char hhmm[16];
    struct tm tm;

    gmtime_r(&e, &tm);
    strftime(hhmm, sizeof(hhmm), "%H:%M", &tm);
    session_tell(s,
                 "your grant for %s ends in %lld min (at %s UTC); request an extension if you "
                 "need more time",
                 s->account, (long long)((s->expires_at - wall + 59) / 60), hhmm);
    s->warned = true;
}

/* Deadlines of a relaying session: approvals, expiry, idle and absolute limits, keepalives. */
static void watch_relay(struct bsess *s, uint64_t now, time_t wall)
{
    const struct bconf *c = s->bl->conf;

    if (cmdfilter_is_waiting(&s->cf)) {
        s->last_activity_ms = now; /* waiting for an approver is not idling */
        cmdfilter_tick(&s->cf, wall);
    }
    if (s->expires_at && !s->warned && c->expiry_warning &&
        wall >= s->expires_at - (time_t)c->expiry_warning)
        warn_expiry(s, wall);
    if (s->expires_at && wall >= s->expires_at)
        decide_recheck(s); /* the vault's own expiry event normally comes first */
    if (c->idle_timeout && now - s->last_activity_ms > (uint64_t)c->idle_timeout * 1000u)
        session_finish(s, "session ended: idle timeout");
    else if (c->max_session && now - s->started_ms > (uint64_t)c->max_session * 1000u)
        session_finish(s, "session ended: maximum session length reached");
    else if (c->keepalive && now - s->last_activity_ms > (uint64_t)c->keepalive * 1000u &&
             (now / 1000u) % c->keepalive == 0) {
        ssh_send_keepalive(s->adm.ss);
        ssh_send_keepalive(s->tl.cs);
    }
}

void bsess_watchdog(struct bloop *bl)
{
    const struct bconf *c = bl->conf;
    uint64_t now = uv_now(&bl->loop);
    time_t wall = time(NULL);

    for (struct bsess *s = bl->sessions, *n; s; s = n) {
        n = s->next;
        if (s->state == ST_HANDSHAKE && now - s->started_ms > (uint64_t)c->auth_timeout * 1000u) {
            log_info("session=%llu client=%s:%u: no authentication within %us",
                     (unsigned long long)s->id, s->adm.addr, s->adm.port, c->auth_timeout);
            session_set_state(s, ST_DEAD);
        } else if (s->state == ST_WAIT_REQ &&
                   now - s->state_since_ms > (uint64_t)c->auth_timeout * 1000u) {
            session_set_state(s, ST_DEAD);
        } else if (s->state == ST_CONNECT &&
                   now - s->tl.step_since_ms > (uint64_t)c->connect_timeout * 1000u) {
            char msg[1024];

            snprintf(msg, sizeof(msg), "target %s did not answer within %us", s->target,
                     c->connect_timeout);
            session_finish(s, msg);
        } else if (s->state == ST_RELAY) {
            watch_relay(s, now, wall);
        } else if (s->state == ST_HELD) {
            /* Backstop for a lost event: ask again now and then, and once the hold expires. */
            if (now - s->hold_poll_ms >= SESSION_HOLD_POLL_MS || wall >= s->hold_until)
                decide_resume(s);
        } else if (s->state == ST_SELF && c->idle_timeout &&
                   now - s->last_activity_ms > (uint64_t)c->idle_timeout * 1000u) {
            selfmenu_abandon(s->menu);
            s->menu = NULL;
            session_finish(s, "session ended: idle timeout");
        } else if (s->state == ST_CLOSING && now - s->state_since_ms > 5000) {
            session_set_state(s, ST_DEAD); /* the admin did not close its side: stop waiting */
        }
        /* Also the watchdog of the notes: a session that missed a wake-up moves on. */
        session_pump(s);
    }
}

void bsess_close_all(struct bloop *bl, const char *why)
{
    for (struct bsess *s = bl->sessions, *n; s; s = n) {
        n = s->next;
        session_finish(s, why);
        session_set_state(s, ST_DEAD);
        session_pump(s);
    }
}
