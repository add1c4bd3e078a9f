/* SPDX-License-Identifier: Apache-2.0 */
/* The admin leg: libssh's server side of a session, its authentication (key, then TOTP) and
 * requests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin.h"
#include "custos/client.h"
#include "custos/log.h"
#include "lineedit.h"
#include "sshfd.h"

/* ---- MFA: blocking vault calls, bounded (auth callbacks answer synchronously) ---- */

static int sync_call(struct admin_leg *al, const char *op, json_t *args, json_t **res)
{
    struct bloop *bl = al->bl;
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
        log_warn("session=%llu %s: %s", (unsigned long long)al->id, op, msg ? msg : err_str(r));
    free(msg);
    return r;
}

/* Does this key's identity have to give a TOTP code?  On any doubt: yes, via the refusal path. */
static bool mfa_required(struct admin_leg *al)
{
    json_t *res = NULL;
    bool req = false;

    int r = sync_call(al, "gov.mfa.check", json_pack("{s:s}", "fp", al->fp), &res);

    if (r != 0) {
        snprintf(al->refuse, sizeof(al->refuse), "%s",
                 r == -ERR_SEALED ? "the vault is sealed; try again once it is unsealed"
                 : r == -ERR_CONN || r == -ERR_CLOSED || r == -ERR_TIMEOUT
                     ? "the vault is unreachable; try again later"
                     : "the vault could not be asked whether a one-time code is needed; try again");
        return false;
    }
    req = json_is_true(json_object_get(res, "required"));
    snprintf(al->mfa_identity, sizeof(al->mfa_identity), "%s",
             json_string_value(json_object_get(res, "identity")) ?: "");
    json_decref(res);
    return req;
}

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
 * each failed check).  Forwards, once authenticated, go to the owner.
 */
static int on_message(ssh_session session, ssh_message msg, void *ud)
{
    struct admin_leg *al = ud;
    const char *answer;
    json_t *res = NULL;
    bool ok = false;

    if (((ssh_message_type(msg) == SSH_REQUEST_CHANNEL_OPEN &&
          ssh_message_subtype(msg) == SSH_CHANNEL_DIRECT_TCPIP) ||
         (ssh_message_type(msg) == SSH_REQUEST_GLOBAL &&
          ssh_message_subtype(msg) == SSH_GLOBAL_REQUEST_TCPIP_FORWARD)) &&
        al->authed)
        return al->io.forward(al->io.ctx, msg);
    if (ssh_message_type(msg) != SSH_REQUEST_AUTH ||
        ssh_message_subtype(msg) != SSH_AUTH_METHOD_INTERACTIVE || !al->need_totp)
        return 1; /* default reply: refused */
    if (!ssh_message_auth_kbdint_is_response(msg)) {
        totp_prompt(msg, "Enter the code from your authenticator app.");
        return 0;
    }
    answer = ssh_userauth_kbdint_getnanswers(session) == 1
                 ? ssh_userauth_kbdint_getanswer(session, 0)
                 : NULL;
    if (answer && strlen(answer) <= 10 &&
        sync_call(al, "gov.totp.verify",
                  json_pack("{s:s,s:s}", "identity", al->mfa_identity, "code", answer), &res) == 0)
        ok = json_is_true(json_object_get(res, "ok"));
    json_decref(res);
    log_info("session=%llu identity=%s one-time code %s (try %u)", (unsigned long long)al->id,
             al->mfa_identity, ok ? "accepted" : "refused", al->totp_failures + 1);
    if (ok) {
        al->authed = true;
        al->need_totp = false;
        ssh_message_auth_reply_success(msg, 0);
        return 0;
    }
    if (++al->totp_failures < 3) {
        totp_prompt(msg, "Wrong or reused code; try again.");
        return 0;
    }
    log_warn("session=%llu identity=%s three wrong one-time codes", (unsigned long long)al->id,
             al->mfa_identity);
    snprintf(al->refuse, sizeof(al->refuse),
             "three wrong one-time codes for %s; access refused (the attempts are audited)",
             al->mfa_identity);
    al->authed = true;
    al->need_totp = false;
    ssh_message_auth_reply_success(msg, 0);
    return 0;
}

/* ---- authentication (record only; answers must be immediate) ------------------ */

static int on_auth_none(ssh_session session, const char *user, void *ud)
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
static int on_auth_pubkey(ssh_session session, const char *user, struct ssh_key_struct *key,
                          char sigstate, void *ud)
{
    struct admin_leg *al = ud;
    unsigned char *hash = NULL;
    size_t hlen = 0;
    char *fp;

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
    snprintf(al->fp, sizeof(al->fp), "%s", fp);
    ssh_string_free_char(fp);
    snprintf(al->user, sizeof(al->user), "%s", user ? user : "");
    log_info("session=%llu client=%s:%u user=%s key=%s authenticated", (unsigned long long)al->id,
             al->addr, al->port, al->user, al->fp);
    if (mfa_required(al)) {
        al->need_totp = true;
        ssh_set_auth_methods(session, SSH_AUTH_METHOD_INTERACTIVE);
        return SSH_AUTH_PARTIAL;
    }
    al->authed = true;
    return SSH_AUTH_SUCCESS;
}

/* ---- the session channel's requests (record only) ------------------------------ */

static int on_pty(ssh_session session, ssh_channel ch, const char *term, int w, int h, int pw,
                  int ph, void *ud)
{
    struct admin_leg *al = ud;

    (void)session;
    (void)ch;
    if (al->req.kind != CHANREQ_NONE)
        return 1;
    al->req.have_pty = true;
    snprintf(al->req.term, sizeof(al->req.term), "%s", term ? term : "xterm");
    al->req.cols = w;
    al->req.rows = h;
    al->req.pxw = pw;
    al->req.pxh = ph;
    return 0;
}

static int on_window(ssh_session session, ssh_channel ch, int w, int h, int pw, int ph, void *ud)
{
    struct admin_leg *al = ud;

    (void)session;
    (void)ch;
    al->req.cols = w;
    al->req.rows = h;
    al->req.pxw = pw;
    al->req.pxh = ph;
    al->req.resize_pending = true;
    return 0;
}

static int take_request(struct admin_leg *al, enum chanreq_kind kind, const char *arg)
{
    if (al->req.kind != CHANREQ_NONE)
        return 1; /* one request per session */
    if (arg && strlen(arg) > 4096)
        return 1;
    if (arg && !lineedit_utf8_valid(arg, strlen(arg)))
        snprintf(al->refuse, sizeof(al->refuse),
                 "the command is not valid UTF-8: it cannot be checked or audited; refused");
    al->req.kind = kind;
    free(al->req.command);
    al->req.command = arg ? strdup(arg) : NULL;
    return 0;
}

static int on_shell(ssh_session session, ssh_channel ch, void *ud)
{
    (void)session;
    (void)ch;
    return take_request(ud, CHANREQ_SHELL, NULL);
}

static int on_exec(ssh_session session, ssh_channel ch, const char *command, void *ud)
{
    (void)session;
    (void)ch;
    return take_request(ud, CHANREQ_EXEC, command);
}

static int on_subsystem(ssh_session session, ssh_channel ch, const char *subsystem, void *ud)
{
    (void)session;
    (void)ch;
    return take_request(ud, CHANREQ_SUBSYSTEM, subsystem);
}

static int on_env(ssh_session session, ssh_channel ch, const char *name, const char *value,
                  void *ud)
{
    (void)session;
    (void)ch;
    (void)name;
    (void)value;
    (void)ud;
    return 1; /* environment is not passed to targets */
}

static void on_signal(ssh_session session, ssh_channel ch, const char *signal, void *ud)
{
    struct admin_leg *al = ud;

    (void)session;
    (void)ch;
    snprintf(al->req.pending_signal, sizeof(al->req.pending_signal), "%s", signal ? signal : "");
}

static ssh_channel on_channel_open(ssh_session session, void *ud)
{
    struct admin_leg *al = ud;

    if (al->ch || !al->authed)
        return NULL; /* one session channel per connection */
    if (!(al->ch = ssh_channel_new(session)))
        return NULL;
    memset(&al->cb, 0, sizeof(al->cb));
    al->cb.userdata = al;
    al->cb.channel_pty_request_function = on_pty;
    al->cb.channel_pty_window_change_function = on_window;
    al->cb.channel_shell_request_function = on_shell;
    al->cb.channel_exec_request_function = on_exec;
    al->cb.channel_subsystem_request_function = on_subsystem;
    al->cb.channel_env_request_function = on_env;
    al->cb.channel_signal_function = on_signal;
    ssh_callbacks_init(&al->cb);
    ssh_set_channel_callbacks(al->ch, &al->cb);
    return al->ch;
}

/* ---- lifecycle --------------------------------------------------------------------- */

int admin_leg_open(struct admin_leg *al, struct bloop *bl, uint64_t id, int fd, const char *addr,
                   unsigned port, const struct admin_io *io)
{
    int verbosity = SSH_LOG_NOLOG;
    uint64_t rk = bl->conf->rekey_data;

    memset(al, 0, sizeof(*al));
    al->bl = bl;
    al->id = id;
    al->io = *io;
    snprintf(al->addr, sizeof(al->addr), "%s", addr);
    al->port = port;
    if (!(al->ss = ssh_new())) {
        log_warn("accept from %s:%u failed: out of memory", addr, port);
        close(fd);
        return -ERR_NOMEM;
    }
    if (ssh_bind_accept_fd(bl->bind, al->ss, fd) != SSH_OK) {
        log_warn("accept from %s:%u failed: %s", addr, port, ssh_get_error(al->ss));
        ssh_free(al->ss);
        al->ss = NULL;
        return -ERR_CONN;
    }
    ssh_options_set(al->ss, SSH_OPTIONS_LOG_VERBOSITY, &verbosity);
    if (rk)
        ssh_options_set(al->ss, SSH_OPTIONS_REKEY_DATA, &rk);
    ssh_set_blocking(al->ss, 0);
    sshfd_set_nonblock(fd); /* libssh's writes are all-or-block on a blocking fd */
    ssh_set_auth_methods(al->ss, SSH_AUTH_METHOD_PUBLICKEY);
    al->scb.userdata = al;
    al->scb.auth_none_function = on_auth_none;
    al->scb.auth_pubkey_function = on_auth_pubkey;
    al->scb.channel_open_request_session_function = on_channel_open;
    ssh_callbacks_init(&al->scb);
    ssh_set_server_callbacks(al->ss, &al->scb);
    ssh_set_message_callback(al->ss, on_message, al);
    return 0;
}

void admin_leg_close(struct admin_leg *al)
{
    if (al->ch)
        ssh_channel_free(al->ch);
    al->ch = NULL;
    if (al->ss) {
        ssh_disconnect(al->ss);
        ssh_free(al->ss);
    }
    al->ss = NULL;
    free(al->req.command);
    al->req.command = NULL;
}
