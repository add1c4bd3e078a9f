/* SPDX-License-Identifier: Apache-2.0 */
/* One brokered session: admin leg (libssh server), vault authorization, target leg, relay. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libssh/callbacks.h>
#include <sodium.h>

#include "broker.h"
#include "custos/client.h"
#include "custos/gov.h"
#include "custos/log.h"
#include "custos/secbuf.h"
#include "forward.h"
#include "lineedit.h"
#include "relay.h"
#include "target.h"
#include "selfmenu.h"
#include "selfsvc.h"

/*
 * The pump (../shared/notes/libssh-libuv.md): libuv only wakes us; every
 * wake-up of either fd runs pump(), which lets libssh process what is
 * readable on both legs (non-blocking, timeout 0), advances the target leg's
 * state machine, moves data both ways within the SSH windows, propagates
 * EOF / exit status / close, and re-arms both uv_polls from what libssh
 * wants.  libssh callbacks only record what happened; all work and teardown
 * happen in pump(), never inside a callback.
 */

enum state {
    ST_HANDSHAKE, /* key exchange and admin authentication */
    ST_WAIT_REQ,  /* authenticated; waiting for a channel and shell/exec/subsystem */
    ST_AUTHORIZE, /* asking the vault */
    ST_HELD,      /* the command waits for an approver (command policy) */
    ST_CONNECT,   /* the target leg: resolve, connect, log in, replay (target.c) */
    ST_RELAY,
    ST_SELF,    /* a custos@ self-service command is running */
    ST_CLOSING, /* admin channel told; waiting for it to close */
    ST_DEAD,
};

/* How often a held session asks the vault again, should an event be lost. */
#define HOLD_POLL_MS 5000u

/* The editor follows exactly the lines the command policy can check. */
_Static_assert(LINEEDIT_MAX == GOV_COMMAND_MAX, "lineedit and cmdpolicy disagree on a line");

/* What the typed-line filter (shells under a filtering policy) decided at an Enter. */
enum line_act { LINE_NONE, LINE_DENY, LINE_HOLD };

struct bsess {
    struct bloop *bl;
    struct bsess *next, *prev;
    uint64_t id;
    enum state state;
    bool in_pump, dead, freed_handles;
    unsigned open_handles;
    char client_addr[64];
    unsigned client_port;
    uint64_t started_ms, last_activity_ms, state_since_ms;

    /* admin leg */
    ssh_session ss;
    uv_poll_t spoll;
    bool spoll_open, kex_done, authed;
    struct ssh_server_callbacks_struct scb;
    char user[256]; /* the account asked for: NAME@TARGET */
    bool need_totp;
    unsigned totp_failures;
    char mfa_identity[80];
    char refuse[256]; /* set during authentication: refuse at the first request, with this */
    struct selfsvc_job *selfjob;
    struct selfmenu *menu;
    char fp[96]; /* SHA256 fingerprint of the admin's key */
    ssh_channel ach;
    struct ssh_channel_callbacks_struct acb;
    struct chanreq req; /* what the session channel asked for */
    bool admin_closed;

    /* vault decision */
    char vsession[48];
    char identity[80];
    char grant[48];
    char account[256];
    char target[80];
    int64_t expires_at; /* 0: standing access */
    bool warned;
    char end_reason[256];
    bool exit_sent; /* the admin has its exit status */

    struct target_leg tl; /* the target's SSH session and channel */

    struct relay relay; /* the session channel and its twin: bytes both ways, the tap */

    /* command policy (the entitlement's, as session.open answered it) */
    json_t *policy;
    char hold_req[32];      /* the held exec/subsystem's request, or a held typed line's */
    time_t hold_until;      /* when the vault expires it */
    uint64_t hold_poll_ms;  /* last session.resume asked while held */
    bool filter;            /* a shell whose typed lines are checked */
    struct lineedit le;     /* the line being typed, and the target's echo of it */
    enum line_act line_act; /* set by the filter, acted on after the write */
    bool line_echoed;       /* the line came back from the target as typed */
    char line_cmd[GOV_COMMAND_MAX + 1];
    char line_raw[GOV_COMMAND_MAX + 2]; /* no pty: the held line as typed (and room for \n) */
    bool line_waiting;                  /* a typed line waits for the vault or an approver */
    /* without a pty, lines are buffered whole (raw_input) */
    char *rest; /* input read but not yet checked (after a held line) */
    size_t rest_len;
    bool raw_stopped;  /* a line was refused: nothing more goes to the target */
    char notice[256];  /* told to the admin once the session channel exists */
    struct fwdset fwd; /* -L, -R and jump forwards */
};

static void pump(struct bsess *s);
static void session_free_if_done(struct bsess *s);
static size_t filter_input(void *ctx, const char *p, size_t n);
static void filter_echo(void *ctx, const char *p, size_t n);

static uint64_t now_ms(struct bsess *s)
{
    return uv_now(&s->bl->loop);
}

static void set_state(struct bsess *s, enum state st)
{
    s->state = st;
    s->state_since_ms = now_ms(s);
}

/* ---- messages to the admin ---------------------------------------------- */

/* A line on the admin's stderr ("custos: ..."), shown by OpenSSH as is. */
static void tell(struct bsess *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tell(struct bsess *s, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    int n;

    if (!s->ach || !ssh_channel_is_open(s->ach))
        return;
    n = snprintf(line, sizeof(line), "%scustos: ", s->req.have_pty ? "\r\n" : "");
    va_start(ap, fmt);
    n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    if ((size_t)n >= sizeof(line) - 3)
        n = (int)sizeof(line) - 3;
    n += snprintf(line + n, sizeof(line) - (size_t)n, "%s", s->req.have_pty ? "\r\n" : "\n");
    ssh_channel_write_stderr(s->ach, line, (uint32_t)n);
}

/* Refuse or end the session with a reason the admin can act on; exit status 255. */
static void finish(struct bsess *s, const char *reason)
{
    if (s->state >= ST_CLOSING)
        return;
    target_leg_halt(&s->tl);
    snprintf(s->end_reason, sizeof(s->end_reason), "%s", reason);
    log_info("session=%llu identity=%s account=%s ends: %s", (unsigned long long)s->id,
             s->identity[0] ? s->identity : "-", s->user, reason);
    if (s->ach && ssh_channel_is_open(s->ach)) {
        tell(s, "%s", reason);
        if (!s->exit_sent) {
            ssh_channel_request_send_exit_status(s->ach, 255);
            s->exit_sent = true;
        }
        ssh_channel_send_eof(s->ach);
        ssh_channel_close(s->ach);
        set_state(s, ST_CLOSING);
    } else {
        set_state(s, ST_DEAD);
    }
}

/* ---- MFA: blocking vault calls, bounded (auth callbacks answer synchronously) ---- */

static int sync_call(struct bsess *s, const char *op, json_t *args, json_t **res)
{
    struct bloop *bl = s->bl;
    char *msg = NULL;
    int r;

    *res = NULL;
    if (!bl->sync_vault &&
        (r = client_connect(bl->conf->vault_socket, MFA_TIMEOUT_MS, &bl->sync_vault)) != 0) {
        bl->sync_vault = NULL;
        json_decref(args);
        return r;
    }
    r = client_call(bl->sync_vault, op, args, res, &msg);
    json_decref(args);
    if (r == -ERR_CLOSED || r == -ERR_TIMEOUT || r == -ERR_PARSE) {
        client_close(bl->sync_vault); /* reconnect next time */
        bl->sync_vault = NULL;
    }
    if (r)
        log_warn("session=%llu %s: %s", (unsigned long long)s->id, op, msg ? msg : err_str(r));
    free(msg);
    return r;
}

/* Does this key's identity have to give a TOTP code?  On any doubt: yes, via the refusal path. */
static bool mfa_required(struct bsess *s)
{
    json_t *res = NULL;
    bool req = false;

    if (sync_call(s, "gov.mfa.check", json_pack("{s:s}", "fp", s->fp), &res) != 0) {
        snprintf(s->refuse, sizeof(s->refuse),
                 "the vault could not be asked whether a one-time code is needed; try again");
        return false;
    }
    req = json_is_true(json_object_get(res, "required"));
    snprintf(s->mfa_identity, sizeof(s->mfa_identity), "%s",
             json_string_value(json_object_get(res, "identity")) ?: "");
    json_decref(res);
    return req;
}

static int fwd_open(struct bsess *s, ssh_message msg);
static int rfwd_request(struct bsess *s, ssh_message msg);

static void totp_prompt(ssh_message msg, const char *instruction)
{
    const char *prompts[] = {"One-time code: "};
    char echo[] = {0};

    ssh_message_auth_interactive_request(msg, "Custos", instruction, 1, prompts, echo);
}

/*
 * Keyboard-interactive after the key (partial success): one TOTP code,
 * three tries.  After the third wrong code the connection is let in only to
 * be told why it is refused at its first request (and the vault has audited
 * each failed check).
 */
static int a_message(ssh_session session, ssh_message msg, void *ud)
{
    struct bsess *s = ud;
    const char *answer;
    json_t *res = NULL;
    bool ok = false;

    if (ssh_message_type(msg) == SSH_REQUEST_CHANNEL_OPEN &&
        ssh_message_subtype(msg) == SSH_CHANNEL_DIRECT_TCPIP && s->authed)
        return fwd_open(s, msg);
    if (ssh_message_type(msg) == SSH_REQUEST_GLOBAL &&
        ssh_message_subtype(msg) == SSH_GLOBAL_REQUEST_TCPIP_FORWARD && s->authed)
        return rfwd_request(s, msg);
    if (ssh_message_type(msg) != SSH_REQUEST_AUTH ||
        ssh_message_subtype(msg) != SSH_AUTH_METHOD_INTERACTIVE || !s->need_totp)
        return 1; /* default reply: refused */
    if (!ssh_message_auth_kbdint_is_response(msg)) {
        totp_prompt(msg, "Enter the code from your authenticator app.");
        return 0;
    }
    answer = ssh_userauth_kbdint_getnanswers(session) == 1
                 ? ssh_userauth_kbdint_getanswer(session, 0)
                 : NULL;
    if (answer && strlen(answer) <= 10 &&
        sync_call(s, "gov.totp.verify",
                  json_pack("{s:s,s:s}", "identity", s->mfa_identity, "code", answer), &res) == 0)
        ok = json_is_true(json_object_get(res, "ok"));
    json_decref(res);
    log_info("session=%llu identity=%s one-time code %s (try %u)", (unsigned long long)s->id,
             s->mfa_identity, ok ? "accepted" : "refused", s->totp_failures + 1);
    if (ok) {
        s->authed = true;
        s->need_totp = false;
        ssh_message_auth_reply_success(msg, 0);
        return 0;
    }
    if (++s->totp_failures < 3) {
        totp_prompt(msg, "Wrong or reused code; try again.");
        return 0;
    }
    log_warn("session=%llu identity=%s three wrong one-time codes", (unsigned long long)s->id,
             s->mfa_identity);
    snprintf(s->refuse, sizeof(s->refuse),
             "three wrong one-time codes for %s; access refused (the attempts are audited)",
             s->mfa_identity);
    s->authed = true;
    s->need_totp = false;
    ssh_message_auth_reply_success(msg, 0);
    return 0;
}

/* ---- admin leg callbacks (record only; answers must be immediate) -------- */

static int a_auth_none(ssh_session session, const char *user, void *ud)
{
    (void)session;
    (void)user;
    (void)ud;
    return SSH_AUTH_DENIED;
}

/*
 * Public key: the probe is accepted (whether the key is known is the vault's
 * answer, given with a clear message once a command is asked for); at
 * SSH_PUBLICKEY_STATE_VALID libssh has verified the signature, so the key
 * is the admin's: keep its fingerprint.
 */
static int a_auth_pubkey(ssh_session session, const char *user, struct ssh_key_struct *key,
                         char sigstate, void *ud)
{
    struct bsess *s = ud;
    unsigned char *hash = NULL;
    size_t hlen = 0;
    char *fp;

    (void)session;
    if (sigstate == SSH_PUBLICKEY_STATE_NONE)
        return SSH_AUTH_SUCCESS;
    if (sigstate != SSH_PUBLICKEY_STATE_VALID)
        return SSH_AUTH_DENIED;
    if (ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash, &hlen) != 0)
        return SSH_AUTH_DENIED;
    fp = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, hlen);
    ssh_clean_pubkey_hash(&hash);
    if (!fp)
        return SSH_AUTH_DENIED;
    snprintf(s->fp, sizeof(s->fp), "%s", fp);
    ssh_string_free_char(fp);
    snprintf(s->user, sizeof(s->user), "%s", user ? user : "");
    log_info("session=%llu client=%s:%u user=%s key=%s authenticated", (unsigned long long)s->id,
             s->client_addr, s->client_port, s->user, s->fp);
    if (mfa_required(s)) {
        s->need_totp = true;
        ssh_set_auth_methods(session, SSH_AUTH_METHOD_INTERACTIVE);
        return SSH_AUTH_PARTIAL;
    }
    s->authed = true;
    return SSH_AUTH_SUCCESS;
}

static int a_pty(ssh_session session, ssh_channel ch, const char *term, int w, int h, int pw,
                 int ph, void *ud)
{
    struct bsess *s = ud;

    (void)session;
    (void)ch;
    if (s->req.kind != CHANREQ_NONE)
        return 1;
    s->req.have_pty = true;
    snprintf(s->req.term, sizeof(s->req.term), "%s", term ? term : "xterm");
    s->req.cols = w;
    s->req.rows = h;
    s->req.pxw = pw;
    s->req.pxh = ph;
    return 0;
}

static int a_window(ssh_session session, ssh_channel ch, int w, int h, int pw, int ph, void *ud)
{
    struct bsess *s = ud;

    (void)session;
    (void)ch;
    s->req.cols = w;
    s->req.rows = h;
    s->req.pxw = pw;
    s->req.pxh = ph;
    s->req.resize_pending = true;
    return 0;
}

static int take_request(struct bsess *s, enum chanreq_kind kind, const char *arg)
{
    if (s->req.kind != CHANREQ_NONE)
        return 1; /* one request per session */
    if (arg && strlen(arg) > 4096)
        return 1;
    if (arg && !lineedit_utf8_valid(arg, strlen(arg)))
        snprintf(s->refuse, sizeof(s->refuse),
                 "the command is not valid UTF-8: it cannot be checked or audited; refused");
    s->req.kind = kind;
    free(s->req.command);
    s->req.command = arg ? strdup(arg) : NULL;
    return 0;
}

static int a_shell(ssh_session session, ssh_channel ch, void *ud)
{
    (void)session;
    (void)ch;
    return take_request(ud, CHANREQ_SHELL, NULL);
}

static int a_exec(ssh_session session, ssh_channel ch, const char *command, void *ud)
{
    (void)session;
    (void)ch;
    return take_request(ud, CHANREQ_EXEC, command);
}

static int a_subsystem(ssh_session session, ssh_channel ch, const char *subsystem, void *ud)
{
    (void)session;
    (void)ch;
    return take_request(ud, CHANREQ_SUBSYSTEM, subsystem);
}

static int a_env(ssh_session session, ssh_channel ch, const char *name, const char *value, void *ud)
{
    (void)session;
    (void)ch;
    (void)name;
    (void)value;
    (void)ud;
    return 1; /* environment is not passed to targets */
}

static void a_signal(ssh_session session, ssh_channel ch, const char *signal, void *ud)
{
    struct bsess *s = ud;

    (void)session;
    (void)ch;
    snprintf(s->req.pending_signal, sizeof(s->req.pending_signal), "%s", signal ? signal : "");
}

static ssh_channel a_channel_open(ssh_session session, void *ud)
{
    struct bsess *s = ud;

    if (s->ach || !s->authed)
        return NULL; /* one session channel per connection */
    s->ach = ssh_channel_new(session);
    if (!s->ach)
        return NULL;
    s->relay.a = s->ach;
    memset(&s->acb, 0, sizeof(s->acb));
    s->acb.userdata = s;
    s->acb.channel_pty_request_function = a_pty;
    s->acb.channel_pty_window_change_function = a_window;
    s->acb.channel_shell_request_function = a_shell;
    s->acb.channel_exec_request_function = a_exec;
    s->acb.channel_subsystem_request_function = a_subsystem;
    s->acb.channel_env_request_function = a_env;
    s->acb.channel_signal_function = a_signal;
    ssh_callbacks_init(&s->acb);
    ssh_set_channel_callbacks(s->ach, &s->acb);
    return s->ach;
}

/* ---- poll plumbing ------------------------------------------------------- */

static void on_poll(uv_poll_t *p, int status, int events)
{
    (void)status;
    (void)events;
    pump(p->data);
}

static void rearm(struct bsess *s)
{
    int f, ev = 0;

    if (!s->spoll_open || !s->ss)
        return;
    f = ssh_get_poll_flags(s->ss);
    if (f & SSH_READ_PENDING)
        ev |= UV_READABLE;
    if (f & SSH_WRITE_PENDING)
        ev |= UV_WRITABLE;
    if (ev)
        uv_poll_start(&s->spoll, ev, on_poll);
    else
        uv_poll_stop(&s->spoll);
}

static void set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);

    if (fl >= 0 && !(fl & O_NONBLOCK))
        fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* ---- vault ---------------------------------------------------------------- */

static void connect_target(struct bsess *s);

/* sftp (also what scp uses since OpenSSH 9) and legacy scp/rsync over exec move files. */
static bool is_transfer(const struct bsess *s)
{
    static const char *const exec_prefixes[] = {"scp ", "rsync --server", "sftp-server", NULL};

    if (s->req.kind == CHANREQ_SUBSYSTEM)
        return true;
    if (s->req.kind != CHANREQ_EXEC || !s->req.command)
        return false;
    for (const char *const *p = exec_prefixes; *p; p++)
        if (strncmp(s->req.command, *p, strlen(*p)) == 0)
            return true;
    return false;
}

/* "bob" or "bob, carol" (at most a line). */
static void names_of(const json_t *arr, char *out, size_t len)
{
    const json_t *v;
    size_t i, n = 0;

    out[0] = '\0';
    json_array_foreach(arr, i, v)
    {
        int w = snprintf(out + n, len - n, "%s%s", i ? ", " : "", json_string_value(v) ?: "?");
        if (w < 0 || (size_t)w >= len - n)
            break;
        n += (size_t)w;
    }
    if (!out[0])
        snprintf(out, len, "an approver");
}

/* Tell the admin who must approve what, and by when; `what` is the command as shown. */
static void tell_hold(struct bsess *s, const char *what, const json_t *hold)
{
    char who[256];
    long long mins = ((long long)s->hold_until - (long long)time(NULL) + 59) / 60;

    names_of(json_object_get(hold, "approvers"), who, sizeof(who));
    tell(s, "\"%s\" needs approval (%s): request %s waits for %s, up to %lld min", what,
         json_string_value(json_object_get(hold, "reason")) ?: "policy", s->hold_req, who,
         mins < 1 ? 1 : mins);
    tell(s, "approvers run: ssh custos@<this broker> approve %s   (or: custos gov approve %s)",
         s->hold_req, s->hold_req);
}

/* An exec or subsystem the policy holds: wait (ST_HELD) for request.decided. */
static void enter_hold(struct bsess *s, const json_t *hold)
{
    snprintf(s->hold_req, sizeof(s->hold_req), "%s",
             json_string_value(json_object_get(hold, "request")) ?: "");
    s->hold_until = (time_t)json_integer_value(json_object_get(hold, "expires_at"));
    s->hold_poll_ms = now_ms(s);
    log_info("session=%llu vsession=%s held: request %s", (unsigned long long)s->id, s->vsession,
             s->hold_req);
    tell_hold(s, s->req.command ? s->req.command : "", hold);
    set_state(s, ST_HELD);
}

static void on_authorized(void *ctx, int err, json_t *res, const char *errmsg);

/* Ask whether the held command was decided (after request.decided, or as a backstop). */
static void resume(struct bsess *s)
{
    s->hold_poll_ms = now_ms(s);
    set_state(s, ST_AUTHORIZE);
    vlink_call(s->bl->vault, "session.resume", json_pack("{s:s}", "session", s->vsession),
               on_authorized, s);
}

static void on_authorized(void *ctx, int err, json_t *res, const char *errmsg)
{
    struct bsess *s = ctx;
    json_t *t, *cred;
    const char *v;

    if (s->state != ST_AUTHORIZE)
        return;
    if (err) {
        log_warn("session=%llu vault: %s", (unsigned long long)s->id, errmsg);
        finish(s, err == -ERR_SEALED || err == -ERR_NOT_INIT
                      ? "the vault is sealed; try again once it is unsealed"
                  : err == -ERR_TIMEOUT ? "the vault did not answer in time; try again"
                  : err == -ERR_CONN    ? "the vault is unreachable; try again later"
                                        : "the vault refused the session");
        pump(s);
        return;
    }
    if (json_is_true(json_object_get(res, "held"))) {
        set_state(s, ST_HELD); /* session.resume: the approver has not decided yet */
        return;
    }
    snprintf(s->identity, sizeof(s->identity), "%s",
             json_string_value(json_object_get(res, "identity")) ?: "");
    if (!json_is_true(json_object_get(res, "allow"))) {
        const char *reason = json_string_value(json_object_get(res, "reason"));
        const char *m = json_string_value(json_object_get(res, "message")) ?: "not authorized";
        char msg[1024];

        if (reason && strncmp(reason, "command_", 8) == 0)
            snprintf(msg, sizeof(msg), "%s", m); /* says which command and why */
        else
            snprintf(msg, sizeof(msg), "access to %s refused: %s", s->user, m);
        finish(s, msg);
        pump(s);
        return;
    }
    snprintf(s->vsession, sizeof(s->vsession), "%s",
             json_string_value(json_object_get(res, "session")) ?: "");
    if (json_is_object(json_object_get(res, "hold"))) {
        enter_hold(s, json_object_get(res, "hold"));
        return;
    }
    json_decref(s->policy);
    s->policy = json_incref(json_object_get(res, "policy"));
    s->fwd.policy = s->policy;
    s->filter = s->req.kind == CHANREQ_SHELL && gov_policy_filters(s->policy);
    if (s->filter)
        s->relay.io = (struct relay_io){s, filter_input, filter_echo};
    if (is_transfer(s) && !json_is_true(json_object_get(res, "file_transfer"))) {
        char msg[1024];
        snprintf(msg, sizeof(msg),
                 "file transfer (sftp/scp) to %s is not allowed by your grant; ask for an "
                 "entitlement with file_transfer",
                 s->user);
        finish(s, msg);
        pump(s);
        return;
    }
    snprintf(s->grant, sizeof(s->grant), "%s",
             json_string_value(json_object_get(res, "grant")) ?: "");
    snprintf(s->account, sizeof(s->account), "%s",
             json_string_value(json_object_get(res, "account")) ?: s->user);
    s->expires_at = json_integer_value(json_object_get(res, "expires_at"));
    t = json_object_get(res, "target");
    snprintf(s->target, sizeof(s->target), "%s",
             json_string_value(json_object_get(t, "name")) ?: "");
    snprintf(s->tl.host, sizeof(s->tl.host), "%s",
             json_string_value(json_object_get(t, "host")) ?: "");
    s->tl.port = (unsigned)json_integer_value(json_object_get(t, "port"));
    snprintf(s->tl.hostkey, sizeof(s->tl.hostkey), "%s",
             json_string_value(json_object_get(t, "hostkey")) ?: "");
    cred = json_object_get(res, "credential");
    v = json_string_value(json_object_get(cred, "value"));
    if (json_is_string(json_object_get(cred, "kind")) &&
        strcmp(json_string_value(json_object_get(cred, "kind")), "agent") == 0) {
        /* A key account: vaultd signs through this socket; the broker never holds the key. */
        const char *sock = json_string_value(json_object_get(cred, "socket"));

        if (!sock || !*sock || strlen(sock) >= sizeof(s->tl.agent)) {
            finish(s, "the vault gave no usable agent socket");
            pump(s);
            return;
        }
        snprintf(s->tl.agent, sizeof(s->tl.agent), "%s", sock);
    } else if (!v || secbuf_from(v, json_string_length(json_object_get(cred, "value")),
                                 &s->tl.password) != 0) {
        finish(s, "the vault gave no usable credential");
        pump(s);
        return;
    }
    log_info("session=%llu vsession=%s identity=%s account=%s grant=%s authorized",
             (unsigned long long)s->id, s->vsession, s->identity, s->account,
             s->grant[0] ? s->grant : "standing");
    connect_target(s);
}

static void authorize(struct bsess *s)
{
    json_t *args = json_pack("{s:s,s:s,s:{s:s,s:i},s:s,s:s}", "fp", s->fp, "account", s->user,
                             "client", "addr", s->client_addr, "port", (int)s->client_port,
                             "broker", s->bl->conf->name, "kind",
                             s->req.kind == CHANREQ_SHELL     ? "shell"
                             : s->req.kind == CHANREQ_EXEC    ? "exec"
                             : s->req.kind == CHANREQ_FORWARD ? "forward"
                                                              : "subsystem");

    if (s->req.command)
        json_object_set_new(args, "command", json_string(s->req.command));
    set_state(s, ST_AUTHORIZE);
    vlink_call(s->bl->vault, "session.open", args, on_authorized, s);
}

/* ---- target leg (target.c) ---------------------------------------------------- */

static void connect_target(struct bsess *s)
{
    set_state(s, ST_CONNECT);
    if (target_leg_start(&s->tl) != 0) {
        finish(s, s->tl.error);
        pump(s);
    }
}

/* Advance the target leg; once it runs, relay. */
static void connect_step(struct bsess *s)
{
    switch (target_leg_step(&s->tl)) {
    case TARGET_FAILED:
        finish(s, s->tl.error);
        break;
    case TARGET_READY:
        set_state(s, ST_RELAY);
        s->last_activity_ms = now_ms(s);
        s->relay.t = s->tl.ch;
        if (s->req.kind == CHANREQ_FORWARD)
            log_info("session=%llu vsession=%s relaying forwards only", (unsigned long long)s->id,
                     s->vsession);
        else
            log_info("session=%llu vsession=%s relaying %s", (unsigned long long)s->id, s->vsession,
                     s->req.kind == CHANREQ_SHELL ? "shell" : s->req.command);
        break;
    default:
        break;
    }
}

/* The target leg's socket is ready, or its address lookup failed. */
static void target_wake(void *ctx)
{
    struct bsess *s = ctx;

    if (s->state == ST_CONNECT && s->tl.step == TARGET_FAILED)
        finish(s, s->tl.error);
    pump(s);
}

static void target_closed(void *ctx)
{
    session_free_if_done(ctx);
}

static int t_message(void *ctx, ssh_message msg);

/* ---- typed lines in a shell (best effort: docs/broker.md, "Command policy") ---- */

/* Enter: true when the line is refused or held (the Enter is not sent; line_act says what). */
static bool line_enter(struct bsess *s, const struct lineedit_line *l)
{
    const json_t *rule = NULL;
    enum gov_cmd_action a;

    gov_command_normalize(l->text, s->line_cmd, sizeof(s->line_cmd));
    s->line_echoed = l->echoed;
    if (!s->line_cmd[0] && !l->unknown)
        return false;
    a = gov_command_decide(s->policy, "exec", s->line_cmd, &rule);
    /*
     * A line recalled, completed or edited in place is not what the broker
     * saw: whatever the rules say of the broker's copy (hold included: an
     * approver must see what runs), it is refused unless everything is allowed.
     */
    if (l->unknown &&
        (a != GOV_CMD_ALLOW || gov_command_decide(s->policy, "exec", "", NULL) != GOV_CMD_ALLOW))
        a = GOV_CMD_DENY, s->line_cmd[0] = '\0';
    if (a == GOV_CMD_ALLOW)
        return false;
    s->line_act = a == GOV_CMD_HOLD && s->line_echoed ? LINE_HOLD : LINE_DENY;
    return true;
}

/*
 * Any other control key: the line as typed so far must be one the policy
 * allows, since the shell may run it on this key; else it is refused here.
 */
static bool line_key_check(struct bsess *s, const struct lineedit_line *l)
{
    char norm[GOV_COMMAND_MAX + 1];

    gov_command_normalize(l->text, norm, sizeof(norm));
    if (!norm[0] || gov_command_decide(s->policy, "exec", norm, NULL) == GOV_CMD_ALLOW)
        return false;
    memcpy(s->line_cmd, norm, sizeof(norm));
    s->line_echoed = l->echoed;
    lineedit_reset(&s->le);
    s->line_act = LINE_DENY;
    return true;
}

/*
 * Follow what the admin types (lineedit.c) and stop at a key whose line the
 * policy refuses or holds: returns how many bytes of d go to the target (the
 * key and what follows it in this read do not).
 */
static size_t line_filter(struct bsess *s, const char *d, size_t n)
{
    size_t i = 0;

    while (i < n) {
        enum lineedit_stop stop;
        struct lineedit_line l;

        i += lineedit_feed(&s->le, d + i, n - i, &stop, &l);
        if ((stop == LINEEDIT_ENTER && line_enter(s, &l)) ||
            (stop == LINEEDIT_KEY && line_key_check(s, &l)))
            return i - 1;
    }
    return n;
}

/* The relay's hooks under a filtering policy: the admin's keys, and the target's echo of them. */
static size_t filter_input(void *ctx, const char *p, size_t n)
{
    return line_filter(ctx, p, n);
}

static void filter_echo(void *ctx, const char *p, size_t n)
{
    struct bsess *s = ctx;

    lineedit_echo(&s->le, p, n);
}

static void on_line_answer(void *ctx, int err, json_t *res, const char *errmsg);

/* Report a refused or held line to the vault (audit; a hold files a request). */
static void line_report(struct bsess *s)
{
    const char *shown = s->line_echoed ? s->line_cmd : "(a line typed without echo, withheld)";

    vlink_call(s->bl->vault, "session.command",
               json_pack("{s:s,s:s}", "session", s->vsession, "command",
                         s->line_cmd[0] ? shown : "(a line the broker could not follow)"),
               s->line_act == LINE_HOLD ? on_line_answer : NULL,
               s->line_act == LINE_HOLD ? s : NULL);
}

/*
 * Bytes the broker itself sends to the target (^C, a held Enter, a held
 * line): queued after what is queued, so none is lost to a short write or a
 * rekey.  No room (never expected: at most a line): the session ends.
 */
static void to_target(struct bsess *s, const char *d, size_t n)
{
    if (relay_inject(&s->relay, d, n) != 0)
        finish(s, "session ended: the broker could not deliver its own input to the target");
}

/* Drop the typed line on the target (^C at a prompt discards it) and say why. */
static void line_drop(struct bsess *s, const char *why)
{
    if (s->req.have_pty) {
        to_target(s, "\x03", 1);
        tell(s, "%s", why);
    } else {
        /* A script: stop at the refused line, as set -e would; the shell gets EOF. */
        tell(s, "%s; the rest of the input is not sent to the target", why);
        s->raw_stopped = true;
        free(s->rest);
        s->rest = NULL;
        s->rest_len = 0;
        relay_eof_in(&s->relay);
    }
    s->line_waiting = false;
    s->hold_req[0] = '\0';
}

/* The held line may run: its Enter (pty), or the whole line (no pty, buffered). */
static void line_release(struct bsess *s)
{
    if (s->req.have_pty) {
        to_target(s, "\r", 1);
    } else {
        size_t n = strlen(s->line_raw);
        s->line_raw[n] = '\n';
        to_target(s, s->line_raw, n + 1);
        s->line_raw[n] = '\0';
    }
    s->line_waiting = false;
    s->hold_req[0] = '\0';
}

/* What the filter decided, once the bytes before the Enter reached the target. */
static void line_act_run(struct bsess *s)
{
    char msg[GOV_COMMAND_MAX + 256];
    const json_t *rule = NULL;
    const char *reason;

    if (s->line_act == LINE_NONE || !relay_in_empty(&s->relay))
        return;
    if (s->line_act == LINE_HOLD) {
        s->line_waiting = true;
        line_report(s);
    } else {
        gov_command_decide(s->policy, "exec", s->line_cmd, &rule);
        reason = json_string_value(json_object_get(rule, "reason"));
        if (!s->line_cmd[0] && !s->req.have_pty)
            snprintf(msg, sizeof(msg), "a line longer than %u bytes cannot be checked",
                     GOV_COMMAND_MAX);
        else if (!s->line_cmd[0])
            snprintf(
                msg, sizeof(msg),
                "this line was edited with keys the broker cannot follow (history, completion, "
                "cursor movement); type the command out in full");
        else if (!s->line_echoed)
            snprintf(msg, sizeof(msg),
                     "a line typed without echo was not sent: the policy refuses it");
        else
            snprintf(msg, sizeof(msg), "\"%s\" refused by policy: %s", s->line_cmd,
                     reason && *reason ? reason : "not among the commands allowed on this account");
        line_report(s);
        line_drop(s, msg);
    }
    s->line_act = LINE_NONE;
}

static void on_line_answer(void *ctx, int err, json_t *res, const char *errmsg)
{
    struct bsess *s = ctx;
    const char *action = json_string_value(json_object_get(res, "action"));
    char msg[GOV_COMMAND_MAX + 256];

    if (s->state != ST_RELAY || !s->line_waiting)
        return;
    if (err || !action) {
        snprintf(msg, sizeof(msg), "\"%s\" not sent: %s", s->line_cmd,
                 errmsg ? errmsg : "the vault did not decide");
        line_drop(s, msg);
    } else if (strcmp(action, "allow") == 0) {
        line_release(s);
    } else if (strcmp(action, "hold") == 0) {
        snprintf(s->hold_req, sizeof(s->hold_req), "%s",
                 json_string_value(json_object_get(res, "request")) ?: "");
        s->hold_until = (time_t)json_integer_value(json_object_get(res, "expires_at"));
        tell_hold(s, s->line_cmd, res);
        tell(s, "waiting; ^C withdraws the request");
    } else {
        snprintf(msg, sizeof(msg), "\"%s\" refused by policy", s->line_cmd);
        line_drop(s, msg);
    }
    pump(s);
}

/* While a typed line waits: the admin's keys are dropped, but ^C withdraws the request. */
static bool line_wait_input(struct bsess *s)
{
    char in[256];
    int n;

    if (!s->req.have_pty || ssh_channel_poll(s->ach, 0) <= 0)
        return false; /* a script just waits: what follows runs once the line is decided */
    n = ssh_channel_read_nonblocking(s->ach, in, sizeof(in), 0);
    if (n <= 0)
        return false;
    if (memchr(in, 0x03, (size_t)n) && s->hold_req[0]) {
        vlink_call(s->bl->vault, "session.command",
                   json_pack("{s:s,s:s}", "session", s->vsession, "cancel", s->hold_req), NULL,
                   NULL);
        line_drop(s, "request withdrawn");
    }
    return true;
}

/* The approver decided on the typed line that waits. */
static void line_decided(struct bsess *s, const json_t *data)
{
    const char *st = json_string_value(json_object_get(data, "state")) ?: "";
    const json_t *d = json_object_get(data, "denial");
    char msg[GOV_COMMAND_MAX + 512];

    if (strcmp(st, "approved") == 0) {
        tell(s, "request %s approved; running \"%s\"", s->hold_req, s->line_cmd);
        line_release(s);
        return;
    }
    if (strcmp(st, "denied") == 0)
        snprintf(msg, sizeof(msg), "\"%s\" was denied by %s: %s", s->line_cmd,
                 json_string_value(json_object_get(d, "by")) ?: "an approver",
                 json_string_value(json_object_get(d, "comment")) ?: "");
    else
        snprintf(msg, sizeof(msg), "\"%s\" was not approved (%s)", s->line_cmd,
                 strcmp(st, "expired") == 0 ? "no decision within the time allowed" : st);
    line_drop(s, msg);
}

/* ---- forwards (forward.c) ----------------------------------------------------- */

/* A direct-tcpip channel open (-L, or -W/-J): 0 accepted, 1 refused (default reply). */
static int fwd_open(struct bsess *s, ssh_message msg)
{
    const char *host = ssh_message_channel_request_open_destination(msg);
    int port = ssh_message_channel_request_open_destination_port(msg);

    /*
     * Without a session channel this is a jump (-J / -W) as ACCOUNT@TARGET:
     * the session becomes forward-only, authorized and logged in like any
     * other, and its forwards leave from the target as the entitlement allows.
     */
    if (!s->ach && s->req.kind == CHANREQ_NONE && s->state == ST_WAIT_REQ && strchr(s->user, '@') &&
        !s->refuse[0])
        s->req.kind = CHANREQ_FORWARD;
    if (s->state >= ST_CLOSING || !strchr(s->user, '@') || s->refuse[0] ||
        (!s->ach && s->req.kind != CHANREQ_FORWARD)) {
        log_info("session=%llu user=%s forward to %s:%d refused: not a session to an account",
                 (unsigned long long)s->id, s->user, host ?: "?", port);
        snprintf(s->notice, sizeof(s->notice),
                 "forwarding to %.100s:%d refused: forwards need a session to ACCOUNT@TARGET "
                 "(e.g. ssh -J root@web01@broker ...)",
                 host ?: "?", port);
        return 1;
    }
    return fwdset_open(&s->fwd, msg);
}

/* The admin's tcpip-forward (-R): 0 answered, 1 refused (default reply). */
static int rfwd_request(struct bsess *s, ssh_message msg)
{
    if (!strchr(s->user, '@') || s->state >= ST_CLOSING) {
        log_info("session=%llu user=%s remote forward refused: no account session",
                 (unsigned long long)s->id, s->user);
        return 1;
    }
    return fwdset_listen(&s->fwd, msg);
}

/* The target leg's requests: a connection on a -R listener is taken; the rest refused. */
static int t_message(void *ctx, ssh_message msg)
{
    struct bsess *s = ctx;

    return s->state == ST_RELAY ? fwdset_incoming(&s->fwd, msg) : 1;
}

static void fwd_tell(void *ctx, const char *msg)
{
    tell(ctx, "%s", msg);
}

static void fwd_notice(void *ctx, const char *msg)
{
    struct bsess *s = ctx;

    snprintf(s->notice, sizeof(s->notice), "%s", msg);
}

/*
 * Without a pty the input is a script: no echo, no line editing.  Lines are
 * kept back whole until their newline and sent only when allowed, so a
 * refused line never reaches the shell.  Returns the input consumed; the
 * allowed lines are appended to out (room for len + GOV_COMMAND_MAX + 1).
 */
static size_t raw_lines(struct bsess *s, const char *in, size_t len, char *out, size_t *olen)
{
    size_t i = 0;

    while (i < len) {
        const json_t *rule = NULL;
        struct lineedit_line l;
        enum gov_cmd_action a;
        bool done;

        i += lineedit_feed_raw(&s->le, in + i, len - i, &done, &l);
        if (!done)
            break;
        /* A line with a control byte or too long to check is refused whole. */
        lineedit_join(l.text, s->line_cmd, sizeof(s->line_cmd));
        gov_command_normalize(s->line_cmd, s->line_cmd, sizeof(s->line_cmd));
        a = l.unknown ? GOV_CMD_DENY : gov_command_decide(s->policy, "exec", s->line_cmd, &rule);
        if (!s->line_cmd[0] && !l.unknown)
            a = GOV_CMD_ALLOW;
        if (a == GOV_CMD_ALLOW) {
            memcpy(out + *olen, l.text, l.len);
            *olen += l.len;
            out[(*olen)++] = '\n';
            continue;
        }
        memcpy(s->line_raw, l.text, l.len + 1);
        if (l.unknown)
            s->line_cmd[0] = '\0';
        s->line_echoed = l.echoed; /* what is sent is what is checked */
        s->line_act = a == GOV_CMD_HOLD ? LINE_HOLD : LINE_DENY;
        return i;
    }
    return len;
}

/* Keep what follows a held line for once it is decided. */
static void rest_keep(struct bsess *s, const char *d, size_t n)
{
    char *r = malloc(s->rest_len + n);

    if (!r) {
        line_drop(s, "out of memory while a line waits");
        return;
    }
    memcpy(r, d, n);
    if (s->rest_len)
        memcpy(r + n, s->rest, s->rest_len);
    free(s->rest);
    s->rest = r;
    s->rest_len += n;
}

/* Admin to target without a pty under a filtering policy (see raw_lines). */
static bool raw_input(struct bsess *s)
{
    char in[16384]; /* with a held line's remainder, fits a carry */
    char *out;
    uint32_t room;
    size_t n, used, olen = 0;
    bool moved;
    int k;

    moved = relay_flush_in(&s->relay);
    if (!relay_in_empty(&s->relay))
        return moved;
    if (s->line_waiting || s->line_act != LINE_NONE)
        return moved;
    room = relay_in_room(&s->relay);
    if (room == 0 || !(out = relay_in_space(&s->relay)))
        return moved;
    if (s->rest_len) {
        n = s->rest_len < sizeof(in) ? s->rest_len : sizeof(in);
        memcpy(in, s->rest, n);
        memmove(s->rest, s->rest + n, s->rest_len - n);
        s->rest_len -= n;
    } else {
        k = relay_in_read(&s->relay, in, room < sizeof(in) ? room : sizeof(in));
        if (k == SSH_EOF && lineedit_pending(&s->le) > 0 && !s->raw_stopped) {
            /* The last line has no newline: the shell would run it at EOF all the same. */
            in[0] = '\n';
            n = 1;
        } else if (k <= 0) {
            return moved;
        } else {
            n = (size_t)k;
        }
    }
    if (s->raw_stopped)
        return true; /* a line was refused: the rest is dropped */
    used = raw_lines(s, in, n, out, &olen);
    if (used < n)
        rest_keep(s, in + used, n - used);
    relay_in_commit(&s->relay, olen);
    return true;
}

/* Nothing of the admin's input is left to check or send (EOF may follow). */
static bool admin_input_done(const struct bsess *s)
{
    return relay_in_empty(&s->relay) && !s->rest_len && !s->line_waiting &&
           s->line_act == LINE_NONE &&
           (!s->filter || s->req.have_pty || lineedit_pending(&s->le) == 0 || s->raw_stopped);
}

static void relay(struct bsess *s)
{
    if (s->notice[0]) {
        tell(s, "%s", s->notice);
        s->notice[0] = '\0';
    }
    for (unsigned i = 0; i < RELAY_STEPS; i++) {
        bool m = relay_flush_in(&s->relay);
        if (s->filter && !s->req.have_pty)
            m |= raw_input(s);
        else if (s->line_waiting)
            m |= line_wait_input(s);
        else if (s->line_act == LINE_NONE)
            m |= relay_move_in(&s->relay);
        line_act_run(s);
        m |= relay_move_out(&s->relay);
        if (!m)
            break;
    }
    fwdset_step(&s->fwd, s->ss, s->tl.cs);
    if (s->req.kind == CHANREQ_FORWARD && fwdset_is_empty(&s->fwd) && s->state == ST_RELAY) {
        /* A jump whose forwards are all closed (or refused) is over. */
        snprintf(s->end_reason, sizeof(s->end_reason), "forwards closed");
        set_state(s, ST_DEAD);
    }
    if (s->req.resize_pending && s->tl.ch) {
        relay_resize(&s->relay, s->req.cols, s->req.rows);
        s->req.resize_pending = false;
    }
    if (s->req.pending_signal[0] && s->tl.ch) {
        relay_signal(&s->relay, s->req.pending_signal);
        s->req.pending_signal[0] = '\0';
    }
    /* Admin EOF reaches the target once everything before it has. */
    if (!s->relay.eof_in_sent && s->ach && ssh_channel_is_eof(s->ach) && admin_input_done(s) &&
        ssh_channel_poll(s->ach, 0) == SSH_EOF)
        relay_eof_in(&s->relay);
    /*
     * OpenSSH sends EOF, then exit-status, then CLOSE: forward each as it
     * comes, once the data before it has been delivered.
     */
    if (s->tl.ch && (ssh_channel_is_eof(s->tl.ch) || ssh_channel_is_closed(s->tl.ch)) &&
        relay_out_drained(&s->relay)) {
        relay_eof_out(&s->relay);
        if (!s->exit_sent && (s->tl.have_exit_status || s->tl.have_exit_signal)) {
            if (s->tl.have_exit_signal)
                relay_exit_signal(&s->relay, s->tl.exit_signal);
            else
                /* A script stopped at a refused line did not succeed. */
                relay_exit_status(&s->relay, s->raw_stopped ? 255 : s->tl.exit_status);
            s->exit_sent = true;
        }
        if (ssh_channel_is_closed(s->tl.ch) || !ssh_is_connected(s->tl.cs)) {
            snprintf(s->end_reason, sizeof(s->end_reason), "%s",
                     s->tl.have_exit_signal ? "exited on a signal" : "exited");
            ssh_channel_close(s->ach);
            set_state(s, ST_CLOSING);
        }
    }
}

/* ---- the pump -------------------------------------------------------------- */

static void leg_check(struct bsess *s)
{
    /* The admin went away: nothing left to relay for. */
    if (s->ss &&
        (!ssh_is_connected(s->ss) || (ssh_get_status(s->ss) & (SSH_CLOSED | SSH_CLOSED_ERROR)))) {
        if (s->state < ST_CLOSING && s->state >= ST_WAIT_REQ)
            snprintf(s->end_reason, sizeof(s->end_reason), "admin disconnected");
        set_state(s, ST_DEAD);
        return;
    }
    if (s->ach && s->admin_closed == false && ssh_channel_is_closed(s->ach) &&
        s->state != ST_CLOSING && s->state >= ST_WAIT_REQ) {
        s->admin_closed = true;
        snprintf(s->end_reason, sizeof(s->end_reason), "admin closed the channel");
        set_state(s, ST_DEAD);
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
            finish(s, "the target closed the connection");
    }
}

static void teardown(struct bsess *s);

static void self_out(void *ctx, const char *data, size_t len)
{
    struct bsess *s = ctx;

    if (s->ach && ssh_channel_is_open(s->ach))
        ssh_channel_write(s->ach, data, (uint32_t)len);
}

static void self_done(void *ctx, int status, const char *errmsg)
{
    struct bsess *s = ctx;

    s->selfjob = NULL;
    if (s->ach && ssh_channel_is_open(s->ach)) {
        if (errmsg)
            tell(s, "%s", errmsg);
        ssh_channel_request_send_exit_status(s->ach, status);
        s->exit_sent = true;
        ssh_channel_send_eof(s->ach);
        ssh_channel_close(s->ach);
    }
    snprintf(s->end_reason, sizeof(s->end_reason), "self-service");
    set_state(s, ST_CLOSING);
    pump(s);
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
    snprintf(s->user, sizeof(s->user), "%s", account);
    log_info("session=%llu menu connects to %s", (unsigned long long)s->id, s->user);
    authorize(s);
    pump(s);
}

/* What the admin typed into the menu (pty, raw). */
static void menu_feed(struct bsess *s)
{
    char in[512];
    int n;

    for (unsigned i = 0; i < RELAY_STEPS && s->menu && s->ach; i++) {
        if (ssh_channel_poll(s->ach, 0) <= 0)
            break;
        n = ssh_channel_read_nonblocking(s->ach, in, sizeof(in), 0);
        if (n <= 0)
            break;
        s->last_activity_ms = now_ms(s);
        selfmenu_input(s->menu, in, (size_t)n);
    }
}

/*
 * custos@broker: the broker's own commands (selfsvc.c), or with a pty and no
 * command the menu (selfmenu.c); no target, no credential.
 */
static void self_service(struct bsess *s)
{
    struct selfsvc_io io = {s, self_out, self_done};
    struct selfmenu_io mio = {s, self_out, menu_connect, menu_done};

    set_state(s, ST_SELF);
    if (s->req.kind == CHANREQ_SHELL && s->req.have_pty)
        s->menu = selfmenu_start(s->bl->vault, s->fp, s->req.cols, &mio);
    else
        s->selfjob = selfsvc_run(s->bl->vault, s->fp,
                                 s->req.kind == CHANREQ_EXEC ? s->req.command : "help", &io);
}

static void pump(struct bsess *s)
{
    int rc;

    if (s->in_pump || s->dead)
        return;
    s->in_pump = true;
    if (s->state == ST_HANDSHAKE && !s->kex_done) {
        rc = ssh_handle_key_exchange(s->ss);
        if (rc == SSH_OK) {
            s->kex_done = true;
        } else if (rc != SSH_AGAIN) {
            log_info("session=%llu client=%s:%u handshake failed: %s", (unsigned long long)s->id,
                     s->client_addr, s->client_port, ssh_get_error(s->ss));
            set_state(s, ST_DEAD);
        }
    }
    if (s->kex_done && s->state != ST_DEAD)
        ssh_execute_message_callbacks(s->ss);
    if (s->state == ST_HANDSHAKE && s->authed)
        set_state(s, ST_WAIT_REQ);
    if (s->state == ST_WAIT_REQ && (s->ach || s->req.kind == CHANREQ_FORWARD) &&
        s->req.kind != CHANREQ_NONE) {
        if (s->refuse[0])
            finish(s, s->refuse);
        else if (strcmp(s->user, "custos") == 0)
            self_service(s);
        else if (!strchr(s->user, '@'))
            finish(s, "connect as ACCOUNT@TARGET (e.g. ssh -p 2222 root@web01@broker), or as "
                      "custos@ for the self-service commands (ssh -p 2222 custos@broker help)");
        else
            authorize(s);
    }
    if (s->state == ST_SELF && s->menu)
        menu_feed(s);
    if (s->state == ST_CONNECT)
        connect_step(s);
    if (s->state == ST_RELAY) {
        target_leg_process(&s->tl);
        relay(s);
        if (s->relay.active) {
            s->last_activity_ms = now_ms(s);
            s->relay.active = false;
        }
    }
    leg_check(s);
    if (s->state == ST_DEAD) {
        s->in_pump = false;
        teardown(s);
        return;
    }
    rearm(s);
    target_leg_rearm(&s->tl);
    s->in_pump = false;
}

/* ---- lifecycle ------------------------------------------------------------- */

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
    free(s->req.command);
    json_decref(s->policy);
    free(s->rest);
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
    /*
     * The admin's poll was stopped first.  Forward channels live on both
     * sessions: they go before either session.  libssh closes the admin's
     * fd (it came through ssh_bind_accept_fd); the target leg closes its own.
     */
    fwdset_fini(&s->fwd);
    target_leg_close(&s->tl);
    if (s->ach)
        ssh_channel_free(s->ach);
    if (s->ss) {
        ssh_disconnect(s->ss);
        ssh_free(s->ss);
    }
    s->ach = NULL;
    s->ss = NULL;
    session_free_if_done(s);
}

void bsess_accept(struct bloop *bl, int fd, const char *addr, unsigned port)
{
    struct bsess *s = calloc(1, sizeof(*s));
    int verbosity = SSH_LOG_NOLOG;

    if (!s) {
        close(fd);
        return;
    }
    s->bl = bl;
    s->id = ((uint64_t)bl->index << 48) | ++bl->next_sess;
    {
        struct target_io tio = {s, target_wake, target_closed, t_message};

        target_leg_init(&s->tl, &bl->loop, s->id, bl->conf->rekey_data, &tio);
        s->tl.req = &s->req;
        s->tl.name = s->target;
        s->tl.account = s->account;
    }
    s->fwd = (struct fwdset){.id = s->id,
                             .io = {s, fwd_tell, fwd_notice},
                             .vault = bl->vault,
                             .relay = &s->relay,
                             .user = s->user,
                             .account = s->account,
                             .vsession = s->vsession};
    snprintf(s->client_addr, sizeof(s->client_addr), "%s", addr);
    s->client_port = port;
    s->started_ms = s->last_activity_ms = uv_now(&bl->loop);
    set_state(s, ST_HANDSHAKE);
    s->ss = ssh_new();
    if (!s->ss || ssh_bind_accept_fd(bl->bind, s->ss, fd) != SSH_OK) {
        log_warn("accept from %s:%u failed: %s", addr, port,
                 s->ss ? ssh_get_error(s->ss) : "out of memory");
        if (s->ss)
            ssh_free(s->ss);
        else
            close(fd);
        free(s);
        return;
    }
    ssh_options_set(s->ss, SSH_OPTIONS_LOG_VERBOSITY, &verbosity);
    if (bl->conf->rekey_data) {
        uint64_t rk = bl->conf->rekey_data;
        ssh_options_set(s->ss, SSH_OPTIONS_REKEY_DATA, &rk);
    }
    ssh_set_blocking(s->ss, 0);
    set_nonblock(fd);
    ssh_set_auth_methods(s->ss, SSH_AUTH_METHOD_PUBLICKEY);
    memset(&s->scb, 0, sizeof(s->scb));
    s->scb.userdata = s;
    s->scb.auth_none_function = a_auth_none;
    s->scb.auth_pubkey_function = a_auth_pubkey;
    s->scb.channel_open_request_session_function = a_channel_open;
    ssh_callbacks_init(&s->scb);
    ssh_set_server_callbacks(s->ss, &s->scb);
    ssh_set_message_callback(s->ss, a_message, s);
    uv_poll_init(&bl->loop, &s->spoll, fd);
    s->spoll.data = s;
    s->spoll_open = true;
    s->open_handles++;
    s->next = bl->sessions;
    if (bl->sessions)
        bl->sessions->prev = s;
    bl->sessions = s;
    bl->n_sessions++;
    log_debug("session=%llu client=%s:%u accepted", (unsigned long long)s->id, addr, port);
    pump(s); /* the server banner is already queued */
}

/* ---- enforcement ------------------------------------------------------------- */

static void on_recheck(void *ctx, int err, json_t *res, const char *errmsg)
{
    struct bsess *s = ctx;

    if (s->state != ST_RELAY && s->state > ST_AUTHORIZE)
        (void)0;
    if (err) {
        log_warn("session=%llu re-authorization failed: %s", (unsigned long long)s->id, errmsg);
        return; /* keep going: the vault's own timer still ends expired grants */
    }
    if (!json_is_true(json_object_get(res, "allow"))) {
        char msg[1024];
        snprintf(msg, sizeof(msg), "session ended: %s",
                 json_string_value(json_object_get(res, "message")) ?: "access revoked");
        finish(s, msg);
    } else {
        snprintf(s->grant, sizeof(s->grant), "%s",
                 json_string_value(json_object_get(res, "grant")) ?: "");
        s->expires_at = json_integer_value(json_object_get(res, "expires_at"));
        s->warned = false;
    }
    pump(s);
}

/* Ask the vault again whether this session may go on. */
static void recheck(struct bsess *s)
{
    if (s->state < ST_CONNECT || s->state >= ST_CLOSING || !s->identity[0])
        return;
    vlink_call(s->bl->vault, "gov.authorize",
               json_pack("{s:s,s:s}", "identity", s->identity, "account", s->account), on_recheck,
               s);
}

void bsess_on_event(struct bloop *bl, const char *type, json_t *data)
{
    const char *grant = json_string_value(json_object_get(data, "grant"));
    const char *identity = json_string_value(json_object_get(data, "identity"));
    const char *session = json_string_value(json_object_get(data, "session"));

    for (struct bsess *s = bl->sessions, *n; s; s = n) {
        n = s->next;
        const char *rid = json_string_value(json_object_get(data, "request"));

        if (strcmp(type, "request.decided") == 0) {
            if (!rid || !s->hold_req[0] || strcmp(rid, s->hold_req) != 0)
                continue;
            if (s->state == ST_HELD)
                resume(s);
            else if (s->state == ST_RELAY && s->line_waiting)
                line_decided(s, data);
            pump(s);
        } else if (strcmp(type, "session.kill") == 0) {
            if (session && strcmp(session, s->vsession) == 0) {
                char msg[1024];
                snprintf(msg, sizeof(msg), "session ended by an operator: %s",
                         json_string_value(json_object_get(data, "reason")) ?: "killed");
                finish(s, msg);
                pump(s);
            }
        } else if ((grant && s->grant[0] && strcmp(grant, s->grant) == 0) ||
                   (identity && strcmp(identity, s->identity) == 0)) {
            /* Grant ended, identity suspended/left, review revoked: ask again. */
            recheck(s);
        }
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
                     (unsigned long long)s->id, s->client_addr, s->client_port, c->auth_timeout);
            set_state(s, ST_DEAD);
        } else if (s->state == ST_WAIT_REQ &&
                   now - s->state_since_ms > (uint64_t)c->auth_timeout * 1000u) {
            set_state(s, ST_DEAD);
        } else if (s->state == ST_CONNECT &&
                   now - s->tl.step_since_ms > (uint64_t)c->connect_timeout * 1000u) {
            char msg[1024];
            snprintf(msg, sizeof(msg), "target %s did not answer within %us", s->target,
                     c->connect_timeout);
            finish(s, msg);
        } else if (s->state == ST_RELAY) {
            if (s->line_waiting) {
                s->last_activity_ms = now; /* waiting for an approver is not idling */
                if (s->hold_req[0] && wall > s->hold_until + 2)
                    line_drop(s, "the request was not decided in time; the line was not sent");
            }
            if (s->expires_at && !s->warned && c->expiry_warning &&
                wall >= s->expires_at - (time_t)c->expiry_warning) {
                struct tm tm;
                char hhmm[16];
                time_t e = (time_t)s->expires_at;
                gmtime_r(&e, &tm);
                strftime(hhmm, sizeof(hhmm), "%H:%M", &tm);
                tell(s,
                     "your grant for %s ends in %lld min (at %s UTC); request an extension "
                     "if you need more time",
                     s->account, (long long)((s->expires_at - wall + 59) / 60), hhmm);
                s->warned = true;
            }
            if (s->expires_at && wall >= s->expires_at)
                recheck(s); /* the vault's own expiry event normally comes first */
            if (c->idle_timeout && now - s->last_activity_ms > (uint64_t)c->idle_timeout * 1000u)
                finish(s, "session ended: idle timeout");
            else if (c->max_session && now - s->started_ms > (uint64_t)c->max_session * 1000u)
                finish(s, "session ended: maximum session length reached");
            else if (c->keepalive && now - s->last_activity_ms > (uint64_t)c->keepalive * 1000u &&
                     (now / 1000u) % c->keepalive == 0) {
                ssh_send_keepalive(s->ss);
                ssh_send_keepalive(s->tl.cs);
            }
        } else if (s->state == ST_HELD) {
            /* Backstop for a lost event: ask again now and then, and once the hold expires. */
            if (now - s->hold_poll_ms >= HOLD_POLL_MS || wall >= s->hold_until)
                resume(s);
        } else if (s->state == ST_SELF && c->idle_timeout &&
                   now - s->last_activity_ms > (uint64_t)c->idle_timeout * 1000u) {
            selfmenu_abandon(s->menu);
            s->menu = NULL;
            finish(s, "session ended: idle timeout");
        } else if (s->state == ST_CLOSING && now - s->state_since_ms > 5000) {
            set_state(s, ST_DEAD); /* the admin did not close its side: stop waiting */
        }
        /* Also the watchdog of the notes: a session that missed a wake-up moves on. */
        pump(s);
    }
}

void bsess_close_all(struct bloop *bl, const char *why)
{
    for (struct bsess *s = bl->sessions, *n; s; s = n) {
        n = s->next;
        finish(s, why);
        set_state(s, ST_DEAD);
        pump(s);
    }
}
