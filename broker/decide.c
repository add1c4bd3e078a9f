/* SPDX-License-Identifier: Apache-2.0 */
/* The vault's decision on a session: authorize, hold a command for an approver, resume, recheck. */
#include <stdio.h>
#include <string.h>

#include "custos/gov.h"
#include "custos/log.h"
#include "session.h"

/* sftp (also what scp uses since OpenSSH 9) and legacy scp/rsync over exec move files. */
static bool is_transfer(const struct chanreq *req)
{
    static const char *const exec_prefixes[] = {"scp ", "rsync --server", "sftp-server", NULL};

    if (req->kind == CHANREQ_SUBSYSTEM)
        return true;
    if (req->kind != CHANREQ_EXEC || !req->command)
        return false;
    for (const char *const *p = exec_prefixes; *p; p++)
        if (strncmp(req->command, *p, strlen(*p)) == 0)
            return true;
    return false;
}

static void tell_cb(void *ctx, const char *msg)
{
    session_tell(ctx, "%s", msg);
}

/* An exec or subsystem the policy holds: wait (ST_HELD) for request.decided. */
static void enter_hold(struct bsess *s, const json_t *hold)
{
    snprintf(s->hold_req, sizeof(s->hold_req), "%s",
             json_string_value(json_object_get(hold, "request")) ?: "");
    s->hold_until = (time_t)json_integer_value(json_object_get(hold, "expires_at"));
    s->hold_poll_ms = session_now_ms(s);
    log_info("session=%llu vsession=%s held: request %s", (unsigned long long)s->id, s->vsession,
             s->hold_req);
    cmdfilter_tell_hold(tell_cb, s, s->adm.req.command ? s->adm.req.command : "", s->hold_req,
                        s->hold_until, hold);
    session_set_state(s, ST_HELD);
}

/* The policy is known: the typed-line filter and the forwards follow it. */
static void take_policy(struct bsess *s, json_t *policy)
{
    json_decref(s->policy);
    s->policy = json_incref(policy);
    s->fwd.policy = s->policy;
    s->cf.policy = s->policy;
    s->cf.pty = s->adm.req.have_pty;
    s->cf.on = s->adm.req.kind == CHANREQ_SHELL && gov_policy_filters(s->policy);
    if (s->cf.on)
        s->relay.io = (struct relay_io){&s->cf, cmdfilter_input, cmdfilter_echo};
}

/* The credential, or vaultd's agent socket for a key account; false: finished. */
static bool take_credential(struct bsess *s, const json_t *cred)
{
    const char *kind = json_string_value(json_object_get(cred, "kind"));
    const char *v = json_string_value(json_object_get(cred, "value"));

    if (kind && strcmp(kind, "agent") == 0) {
        /* A key account: vaultd signs through this socket; the broker never holds the key. */
        const char *sock = json_string_value(json_object_get(cred, "socket"));

        if (!sock || !*sock || strlen(sock) >= sizeof(s->tl.agent)) {
            session_finish(s, "the vault gave no usable agent socket");
            return false;
        }
        snprintf(s->tl.agent, sizeof(s->tl.agent), "%s", sock);
    } else if (!v || secbuf_from(v, json_string_length(json_object_get(cred, "value")),
                                 &s->tl.password) != 0) {
        session_finish(s, "the vault gave no usable credential");
        return false;
    }
    return true;
}

static void on_authorized(void *ctx, int err, json_t *res, const char *errmsg)
{
    struct bsess *s = ctx;
    const json_t *t;
    char msg[1024];

    if (s->state != ST_AUTHORIZE)
        return;
    if (err) {
        log_warn("session=%llu vault: %s", (unsigned long long)s->id, errmsg);
        session_finish(s, err == -ERR_SEALED || err == -ERR_NOT_INIT
                              ? "the vault is sealed; try again once it is unsealed"
                          : err == -ERR_TIMEOUT ? "the vault did not answer in time; try again"
                          : err == -ERR_CONN    ? "the vault is unreachable; try again later"
                                                : "the vault refused the session");
        goto out;
    }
    if (json_is_true(json_object_get(res, "held"))) {
        session_set_state(s, ST_HELD); /* session.resume: the approver has not decided yet */
        return;
    }
    snprintf(s->identity, sizeof(s->identity), "%s",
             json_string_value(json_object_get(res, "identity")) ?: "");
    if (!json_is_true(json_object_get(res, "allow"))) {
        const char *reason = json_string_value(json_object_get(res, "reason"));
        const char *m = json_string_value(json_object_get(res, "message")) ?: "not authorized";

        if (reason && strncmp(reason, "command_", 8) == 0)
            snprintf(msg, sizeof(msg), "%s", m); /* says which command and why */
        else
            snprintf(msg, sizeof(msg), "access to %s refused: %s", s->adm.user, m);
        session_finish(s, msg);
        goto out;
    }
    snprintf(s->vsession, sizeof(s->vsession), "%s",
             json_string_value(json_object_get(res, "session")) ?: "");
    if (json_is_object(json_object_get(res, "hold"))) {
        enter_hold(s, json_object_get(res, "hold"));
        return;
    }
    take_policy(s, json_object_get(res, "policy"));
    if (is_transfer(&s->adm.req) && !json_is_true(json_object_get(res, "file_transfer"))) {
        snprintf(msg, sizeof(msg),
                 "file transfer (sftp/scp) to %s is not allowed by your grant; ask for an "
                 "entitlement with file_transfer",
                 s->adm.user);
        session_finish(s, msg);
        goto out;
    }
    snprintf(s->grant, sizeof(s->grant), "%s",
             json_string_value(json_object_get(res, "grant")) ?: "");
    snprintf(s->account, sizeof(s->account), "%s",
             json_string_value(json_object_get(res, "account")) ?: s->adm.user);
    s->expires_at = json_integer_value(json_object_get(res, "expires_at"));
    t = json_object_get(res, "target");
    snprintf(s->target, sizeof(s->target), "%s",
             json_string_value(json_object_get(t, "name")) ?: "");
    snprintf(s->tl.host, sizeof(s->tl.host), "%s",
             json_string_value(json_object_get(t, "host")) ?: "");
    s->tl.port = (unsigned)json_integer_value(json_object_get(t, "port"));
    snprintf(s->tl.hostkey, sizeof(s->tl.hostkey), "%s",
             json_string_value(json_object_get(t, "hostkey")) ?: "");
    if (!take_credential(s, json_object_get(res, "credential")))
        goto out;
    log_info("session=%llu vsession=%s identity=%s account=%s grant=%s authorized",
             (unsigned long long)s->id, s->vsession, s->identity, s->account,
             s->grant[0] ? s->grant : "standing");
    session_connect(s);
    return;
out:
    session_pump(s);
}

void decide_authorize(struct bsess *s)
{
    const struct chanreq *req = &s->adm.req;
    json_t *args = json_pack("{s:s,s:s,s:{s:s,s:i},s:s,s:s}", "fp", s->adm.fp, "account",
                             s->adm.user, "client", "addr", s->adm.addr, "port", (int)s->adm.port,
                             "broker", s->bl->conf->name, "kind",
                             req->kind == CHANREQ_SHELL     ? "shell"
                             : req->kind == CHANREQ_EXEC    ? "exec"
                             : req->kind == CHANREQ_FORWARD ? "forward"
                                                            : "subsystem");

    if (req->command)
        json_object_set_new(args, "command", json_string(req->command));
    session_set_state(s, ST_AUTHORIZE);
    vlink_call(s->bl->vault, "session.open", args, on_authorized, s);
}

void decide_resume(struct bsess *s)
{
    s->hold_poll_ms = session_now_ms(s);
    session_set_state(s, ST_AUTHORIZE);
    vlink_call(s->bl->vault, "session.resume", json_pack("{s:s}", "session", s->vsession),
               on_authorized, s);
}

static void on_recheck(void *ctx, int err, json_t *res, const char *errmsg)
{
    struct bsess *s = ctx;

    if (err) {
        log_warn("session=%llu re-authorization failed: %s", (unsigned long long)s->id, errmsg);
        return; /* keep going: the vault's own timer still ends expired grants */
    }
    if (!json_is_true(json_object_get(res, "allow"))) {
        char msg[1024];

        snprintf(msg, sizeof(msg), "session ended: %s",
                 json_string_value(json_object_get(res, "message")) ?: "access revoked");
        session_finish(s, msg);
    } else {
        snprintf(s->grant, sizeof(s->grant), "%s",
                 json_string_value(json_object_get(res, "grant")) ?: "");
        s->expires_at = json_integer_value(json_object_get(res, "expires_at"));
        s->warned = false;
    }
    session_pump(s);
}

void decide_recheck(struct bsess *s)
{
    if (s->state < ST_CONNECT || s->state >= ST_CLOSING || !s->identity[0])
        return;
    vlink_call(s->bl->vault, "gov.authorize",
               json_pack("{s:s,s:s}", "identity", s->identity, "account", s->account), on_recheck,
               s);
}
