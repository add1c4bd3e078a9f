/* SPDX-License-Identifier: Apache-2.0 */
/* session.* ops: broker sessions, each opened against a live grant, and the credential it gets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "custos/log.h"
#include "agent.h"
#include "gov_state.h"
#include "scopes.h"

/* Longest exec command kept (and audited as given: it is not a secret). */
#define SESSION_COMMAND_MAX 4096u
/* Longest free-text reason (close, kill). */
#define SESSION_REASON_MAX 500u
/* Longest client address ("[v6%zone]" fits well under it). */
#define SESSION_ADDR_MAX 255u
/* Longest key fingerprint accepted ("SHA256:" + 43 base64 characters today). */
#define SESSION_FP_MAX 128u
/* Byte counters stay exact in every JSON reader. */
#define SESSION_BYTES_MAX (1ull << 53)
/* How far a broker's clock may run ahead of the vault's in session.close's ended_at. */
#define SESSION_CLOCK_SKEW 5

static bool str_eq(const json_t *v, const char *s)
{
    return json_is_string(v) && strcmp(json_string_value(v), s) == 0;
}

static const char *jstr(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* A member to copy, or JSON null when absent (json_null() is a singleton: no reference). */
static json_t *or_null(json_t *v)
{
    return v ? v : json_null();
}

/* Optional (or required) free text of 1..max bytes. */
static int text_arg(struct req *rq, const char *key, bool required, size_t max, const char **out)
{
    int r = arg_str(rq, key, required, out);

    if (r == 0 && *out && (!**out || strlen(*out) > max)) {
        req_fail(rq, -ERR_INVAL, "\"%s\" must be 1 to %zu bytes", key, max);
        r = -ERR_INVAL;
    }
    return r;
}

static int session_id_arg(struct req *rq, const char **out)
{
    return text_arg(rq, "session", true, 64, out);
}

/* {"addr", "port"?} copied member by member (new reference), or JSON null when absent. */
static int client_arg(struct req *rq, json_t **out)
{
    json_t *c = json_object_get(rq->args, "client"), *addr, *port;
    const char *k;
    json_t *v;

    *out = NULL;
    if (!c || json_is_null(c)) {
        *out = json_null();
        return 0;
    }
    if (!json_is_object(c))
        goto bad;
    json_object_foreach(c, k, v)
    {
        if (strcmp(k, "addr") != 0 && strcmp(k, "port") != 0)
            goto bad;
    }
    addr = json_object_get(c, "addr");
    port = json_object_get(c, "port");
    if (!json_is_string(addr) || json_string_length(addr) == 0 ||
        json_string_length(addr) > SESSION_ADDR_MAX)
        goto bad;
    if (port && !json_is_null(port) &&
        (!json_is_integer(port) || json_integer_value(port) < 0 ||
         json_integer_value(port) > 65535))
        goto bad;
    *out = json_pack("{s:O,s:O?}", "addr", addr, "port", port);
    return 0;
bad:
    req_fail(rq, -ERR_INVAL,
             "\"client\" must be {\"addr\": text of 1 to %u bytes, \"port\": 0..65535}",
             SESSION_ADDR_MAX);
    return -ERR_INVAL;
}

/* The arguments of session.open; pointers borrow rq->args, client is owned. */
struct open_args {
    const char *fp, *account, *broker, *kind, *command;
    json_t *client;
};

static int open_args_get(struct req *rq, struct open_args *oa)
{
    int r;

    memset(oa, 0, sizeof(*oa));
    if ((r = text_arg(rq, "fp", true, SESSION_FP_MAX, &oa->fp)) != 0 ||
        (r = text_arg(rq, "account", true, STORE_KEY_MAX / 2, &oa->account)) != 0 ||
        (r = arg_str(rq, "broker", false, &oa->broker)) != 0 ||
        (r = arg_str(rq, "kind", false, &oa->kind)) != 0 ||
        (r = text_arg(rq, "command", false, SESSION_COMMAND_MAX, &oa->command)) != 0 ||
        (r = client_arg(rq, &oa->client)) != 0)
        return r;
    if (oa->broker && !name_is_valid(oa->broker)) {
        req_fail(rq, -ERR_INVAL, "\"broker\" must be 1-64 of [A-Za-z0-9._-]");
        return -ERR_INVAL;
    }
    if (!oa->kind)
        oa->kind = "shell";
    if (strcmp(oa->kind, "shell") != 0 && strcmp(oa->kind, "exec") != 0 &&
        strcmp(oa->kind, "subsystem") != 0 && strcmp(oa->kind, "forward") != 0) {
        req_fail(rq, -ERR_INVAL, "\"kind\" must be shell, exec, subsystem or forward");
        return -ERR_INVAL;
    }
    /* The policy decides on the command: never on a missing one. */
    if (!oa->command && (strcmp(oa->kind, "exec") == 0 || strcmp(oa->kind, "subsystem") == 0)) {
        req_fail(rq, -ERR_INVAL, "\"command\" is required for kind %s", oa->kind);
        return -ERR_INVAL;
    }
    return 0;
}

/*
 * What the audit entries of session.open say about the attempt.  Never the
 * credential: only who, from where, through which broker, to run what.
 */
static json_t *open_detail(const struct open_args *oa, const char *identity)
{
    return json_pack("{s:s?,s:s,s:s?,s:s,s:s?,s:O?}", "identity", identity, "fp", oa->fp, "broker",
                     oa->broker, "kind", oa->kind, "command", oa->command, "client",
                     json_object_get(oa->client, "addr"));
}

/*
 * Answer a refusal (decision stolen: {"allow": false, "reason", "message",
 * "identity"?}) and audit it with result "refused": a refusal is no error
 * (the broker shows the message), but it is evidence.
 */
static int refuse(struct vaultd *vd, struct req *rq, MDB_txn *txn, const struct open_args *oa,
                  json_t *decision)
{
    json_t *detail = open_detail(oa, jstr(decision, "identity")), *ev;
    int r;

    json_object_set(detail, "reason", json_object_get(decision, "reason"));
    ev = req_audit_event(rq, oa->account, detail);
    json_object_set_new(ev, "result", json_string("refused"));
    r = vd->audit ? audit_append(vd->audit, txn, ev) : -ERR_SEALED;
    json_decref(ev);
    if (r != 0) {
        log_err_r(r, "audit append failed op=%s; refusing the request", rq->op->name);
        req_fail(rq, -ERR_AUDIT, "audit log could not be written; request refused");
        json_decref(decision);
        return -ERR_AUDIT;
    }
    rq->result = decision;
    return 0;
}

static json_t *deny_new(const char *identity, const char *reason, const char *message)
{
    return json_pack("{s:b,s:s,s:s,s:s?}", "allow", 0, "reason", reason, "message", message,
                     "identity", identity);
}

/* gov.evidence kind "session", written in the same txn as the session. */
static int usage_touch(struct vaultd *vd, struct req *rq, MDB_txn *txn, const char *identity,
                       const char *account, json_int_t now)
{
    char key[2 * STORE_KEY_MAX + 2];
    json_t *u = NULL;
    int r;

    if (strlen(identity) + strlen(account) + 2 > STORE_KEY_MAX) {
        req_fail(rq, -ERR_INVAL, "identity and account names are too long together");
        return -ERR_INVAL;
    }
    snprintf(key, sizeof(key), "%s/%s", identity, account);
    r = store_json_get(vd->store, txn, STORE_USAGE, key, &u);
    if (r == -ERR_NOT_FOUND)
        u = json_pack("{s:s,s:s,s:n,s:n}", "identity", identity, "account", account, "last_session",
                      "last_use");
    else if (r != 0)
        return r;
    json_object_set_new(u, "last_session", json_integer(now));
    r = store_json_put(vd->store, txn, STORE_USAGE, key, u, STORE_UPSERT);
    json_decref(u);
    return r;
}

/* The session record as stored and listed (see docs/api.md, "Broker sessions"). */
static json_t *session_new(const char *id, const struct open_args *oa, const json_t *decision,
                           const json_t *acct, json_int_t now)
{
    json_t *s = json_object();

    json_object_set_new(s, "id", json_string(id));
    json_object_set(s, "identity", or_null(json_object_get(decision, "identity")));
    json_object_set_new(s, "account", json_string(oa->account));
    json_object_set(s, "target", or_null(json_object_get(acct, "target")));
    json_object_set_new(s, "fp", json_string(oa->fp));
    json_object_set(s, "via", or_null(json_object_get(decision, "via")));
    json_object_set(s, "grant", or_null(json_object_get(decision, "grant")));
    json_object_set(s, "role", or_null(json_object_get(decision, "role")));
    json_object_set(s, "expires_at", or_null(json_object_get(decision, "expires_at")));
    json_object_set_new(s, "file_transfer",
                        json_boolean(json_is_true(json_object_get(decision, "file_transfer"))));
    json_object_set_new(s, "started_at", json_integer(now));
    json_object_set_new(s, "state", json_string("live"));
    json_object_set(s, "client", oa->client);
    json_object_set_new(s, "broker", oa->broker ? json_string(oa->broker) : json_null());
    json_object_set_new(s, "kind", json_string(oa->kind));
    json_object_set_new(s, "command", oa->command ? json_string(oa->command) : json_null());
    json_object_set_new(s, "ended_at", json_null());
    json_object_set_new(s, "end_reason", json_null());
    json_object_set_new(s, "exit_status", json_null());
    json_object_set_new(s, "signal", json_null());
    json_object_set_new(s, "bytes_in", json_null());
    json_object_set_new(s, "bytes_out", json_null());
    json_object_set_new(s, "kill_requested_at", json_null());
    json_object_set_new(s, "kill_requested_by", json_null());
    json_object_set_new(s, "kill_reason", json_null());
    json_object_set(s, "policy", or_null(json_object_get(decision, "policy")));
    json_object_set_new(s, "hold", json_null());
    return s;
}

static void session_end(json_t *s, const char *reason, json_int_t now)
{
    json_object_set_new(s, "state", json_string("closed"));
    json_object_set_new(s, "ended_at", json_integer(now));
    json_object_set_new(s, "end_reason", json_string(reason));
}

/* The session record ended (closed) with `reason`, stored. */
static int session_store_end(struct vaultd *vd, MDB_txn *txn, json_t *sess, const char *reason)
{
    session_end(sess, reason, gov_now());
    return store_json_put(vd->store, txn, STORE_SESSIONS, jstr(sess, "id"), sess, STORE_UPDATE);
}

/*
 * An exec or subsystem that the policy holds: the session is recorded as
 * "held" (no credential yet) with a command request an approver decides;
 * the broker waits for request.decided and asks session.resume.
 */
static int hold(struct vaultd *vd, struct req *rq, MDB_txn *txn, const struct open_args *oa,
                const json_t *decision, const json_t *acct, const json_t *rule)
{
    json_t *sess = NULL, *requester = NULL, *request = NULL, *detail;
    const char *ident = jstr(decision, "identity");
    char sid[32], why[256] = "", msg[GOV_COMMAND_MAX + 400];
    int r;

    if ((r = gov_id_next(vd, txn, "s", sid, sizeof(sid))) != 0 ||
        (r = gov_load(vd, rq, txn, STORE_IDENTITIES, "identity", ident, &requester)) != 0)
        goto out;
    sess = session_new(sid, oa, decision, acct, gov_now());
    json_object_set_new(sess, "state", json_string("held"));
    r = gov_hold_create(vd, rq, txn, requester, sess, oa->kind, oa->command, rule, &request, why,
                        sizeof(why));
    if (r == -ERR_DENIED) {
        snprintf(msg, sizeof(msg), "\"%s\" on %s needs approval, but nobody can approve it: %s",
                 oa->command ? oa->command : "", oa->account, why);
        r = refuse(vd, rq, txn, oa, deny_new(ident, "command_not_approvable", msg));
        goto out;
    }
    if (r != 0)
        goto out;
    json_object_set(sess, "hold", json_object_get(request, "id"));
    if ((r = store_json_put(vd->store, txn, STORE_SESSIONS, sid, sess, STORE_CREATE)) != 0)
        goto out;
    detail = open_detail(oa, ident);
    json_object_set_new(detail, "session", json_string(sid));
    json_object_set(detail, "hold", json_object_get(request, "id"));
    if ((r = req_audit(vd, rq, txn, oa->account, detail)) != 0)
        goto out;
    rq->result = json_pack(
        "{s:b,s:s,s:s,s:s,s:{s:O,s:O,s:O,s:O}}", "allow", 1, "session", sid, "identity", ident,
        "account", oa->account, "hold", "request", json_object_get(request, "id"), "approvers",
        json_object_get(request, "approvers"), "expires_at", json_object_get(request, "decide_by"),
        "reason", json_object_get(request, "reason"));
out:
    json_decref(sess);
    json_decref(requester);
    json_decref(request);
    return r;
}

/*
 * The broker's only way to a credential: vaultd itself asks governance
 * (gov_authorize) whether the key's identity may open the account now, and
 * applies the entitlement's command policy to an exec or subsystem (deny,
 * hold for approval, allow); it releases the current password only then.
 * Like secret.get, the release is audited in this request's txn and
 * answered only after the batch commit (audit-or-deny).  Refusals are
 * answers ({"allow": false}), audited as "refused".
 *
 * `held` is the session record of a held command being resumed (its
 * request approved), or NULL for a new session.
 */
static int open_session(struct vaultd *vd, struct req *rq, MDB_txn *txn, const struct open_args *oa,
                        json_t *held)
{
    json_t *decision = NULL, *acct = NULL, *target = NULL, *sess = NULL, *value = NULL, *res = NULL;
    json_t *detail;
    struct secbuf *plain = NULL, *sk = NULL;
    const char *ident, *tname, *hostkey, *akind, *why;
    const json_t *rule = NULL;
    unsigned char pub[32];
    char sid[32], msg[GOV_COMMAND_MAX + 400], agent_path[256];
    bool is_key;
    enum gov_cmd_action action;
    json_int_t v, now = gov_now();
    int r;

    if ((r = gov_authorize(vd, txn, oa->fp, NULL, oa->account, &decision)) != 0) {
        req_fail(rq, r, "cannot decide on %s", oa->account);
        goto out;
    }
    if (!json_is_true(json_object_get(decision, "allow"))) {
        r = refuse(vd, rq, txn, oa, decision);
        decision = NULL;
        goto out;
    }
    if (!(ident = jstr(decision, "identity"))) {
        req_fail(rq, -ERR_INTERNAL, "authorization named no identity");
        r = -ERR_INTERNAL;
        goto out;
    }
    if ((r = gov_load(vd, rq, txn, STORE_ACCOUNTS, "account", oa->account, &acct)) != 0 ||
        (r = gov_load(vd, rq, txn, STORE_TARGETS, "target", jstr(acct, "target"), &target)) != 0)
        goto out;
    tname = jstr(acct, "target"); /* the key target was loaded by: never NULL here */
    hostkey = jstr(target, "hostkey");
    akind = jstr(acct, "kind");
    /* Without a pinned key the broker could hand the password to whoever answers on the port. */
    if (!hostkey || !*hostkey) {
        snprintf(msg, sizeof(msg),
                 "target %s has no pinned host key; set it with custos target update %s "
                 "--hostkey SHA256:...",
                 tname, tname);
        r = refuse(vd, rq, txn, oa, deny_new(ident, "no_hostkey", msg));
        goto out;
    }
    is_key = akind && strcmp(akind, "ssh-key") == 0;
    if (!is_key && (!akind || strcmp(akind, "password") != 0)) {
        req_fail(rq, -ERR_CORRUPT, "account %s has an unknown kind", oa->account);
        r = -ERR_CORRUPT;
        goto out;
    }
    if (!json_is_integer(json_object_get(acct, "current"))) {
        snprintf(msg, sizeof(msg), "account %s has no current secret in the vault", oa->account);
        r = refuse(vd, rq, txn, oa, deny_new(ident, "no_credential", msg));
        goto out;
    }
    if (!held && (strcmp(oa->kind, "exec") == 0 || strcmp(oa->kind, "subsystem") == 0)) {
        action = gov_command_decide(json_object_get(decision, "policy"), oa->kind,
                                    oa->command ? oa->command : "", &rule);
        if (action == GOV_CMD_DENY) {
            snprintf(msg, sizeof(msg), "%s \"%s\" is not allowed on %s: %s",
                     strcmp(oa->kind, "exec") == 0 ? "command" : "subsystem", oa->command,
                     oa->account,
                     jstr(rule, "reason") && *jstr(rule, "reason")
                         ? jstr(rule, "reason")
                         : (rule ? "a rule of your entitlement denies it"
                                 : "your entitlement allows only listed commands"));
            r = refuse(vd, rq, txn, oa, deny_new(ident, "command_denied", msg));
            goto out;
        }
        if (action == GOV_CMD_HOLD) {
            r = hold(vd, rq, txn, oa, decision, acct, rule);
            goto out;
        }
    }
    v = json_integer_value(json_object_get(acct, "current"));
    if ((r = store_value_get(vd->store, txn, vd->dek, oa->account, (uint32_t)v, &plain)) != 0) {
        if (r == -ERR_TAMPERED)
            log_err("account=%s version=%lld: sealed value fails authentication", oa->account,
                    (long long)v);
        req_fail(rq, r, "secret %s version %lld cannot be opened", oa->account, (long long)v);
        goto out;
    }
    if (is_key) {
        /* The key stays here: the broker gets an agent socket that signs with it. */
        r = agent_key_parse(secbuf_cdata(plain), secbuf_len(plain), &sk, pub, &why);
        if (r == -ERR_NOMEM) {
            req_fail(rq, r, "cannot parse the key of %s", oa->account);
            goto out;
        }
        if (r != 0) {
            snprintf(msg, sizeof(msg), "the key of account %s cannot be used: %s", oa->account,
                     why ? why : "unknown error");
            r = refuse(vd, rq, txn, oa, deny_new(ident, "key_unusable", msg));
            goto out;
        }
    } else if (!(value = json_stringn(secbuf_cdata(plain), secbuf_len(plain)))) {
        req_fail(rq, -ERR_CORRUPT, "secret %s is not valid UTF-8", oa->account);
        r = -ERR_CORRUPT;
        goto out;
    }
    if (held) {
        snprintf(sid, sizeof(sid), "%s", jstr(held, "id"));
        sess = json_incref(held);
        json_object_set_new(sess, "state", json_string("live"));
        /* What allows it now, not what allowed it when it was held. */
        json_object_set(sess, "policy", or_null(json_object_get(decision, "policy")));
        json_object_set(sess, "expires_at", or_null(json_object_get(decision, "expires_at")));
        json_object_set(sess, "grant", or_null(json_object_get(decision, "grant")));
        json_object_set(sess, "via", or_null(json_object_get(decision, "via")));
        json_object_set(sess, "role", or_null(json_object_get(decision, "role")));
        json_object_set_new(sess, "file_transfer",
                            json_boolean(json_is_true(json_object_get(decision, "file_transfer"))));
    } else {
        if ((r = gov_id_next(vd, txn, "s", sid, sizeof(sid))) != 0)
            goto out;
        sess = session_new(sid, oa, decision, acct, now);
    }
    if ((r = store_json_put(vd->store, txn, STORE_SESSIONS, sid, sess,
                            held ? STORE_UPDATE : STORE_CREATE)) != 0 ||
        (r = usage_touch(vd, rq, txn, ident, oa->account, now)) != 0)
        goto out;
    detail = open_detail(oa, ident);
    json_object_set_new(detail, "session", json_string(sid));
    json_object_set(detail, "grant", or_null(json_object_get(decision, "grant")));
    json_object_set(detail, "via", or_null(json_object_get(decision, "via")));
    json_object_set_new(detail, "version", json_integer(v));
    json_object_set_new(detail, "credential", json_string(is_key ? "agent" : "password"));
    if (held)
        json_object_set(detail, "approved", json_object_get(held, "hold"));
    if ((r = req_audit(vd, rq, txn, oa->account, detail)) != 0)
        goto out;
    /*
     * Last, so nothing after it can fail in this handler.  Should the batch
     * commit still fail, the socket's name was never told to anyone and it
     * goes after AGENT_IDLE_MS.
     */
    if (is_key) {
        r = agent_start(vd, sid, oa->account, rq->principal, rq->uid, sk, pub, agent_path,
                        sizeof(agent_path));
        sk = NULL; /* stolen */
        if (r != 0) {
            req_fail(rq, r, "cannot serve an agent socket for %s", oa->account);
            goto out;
        }
    }
    res = json_pack("{s:b,s:s,s:s,s:s,s:O?,s:O?,s:O?,s:O,s:O?,s:{s:s,s:O?,s:O?,s:s},s:{s:s}}",
                    "allow", 1, "session", sid, "identity", ident, "account", oa->account, "grant",
                    json_object_get(decision, "grant"), "via", json_object_get(decision, "via"),
                    "expires_at", json_object_get(decision, "expires_at"), "file_transfer",
                    json_object_get(sess, "file_transfer"), "policy",
                    json_object_get(decision, "policy"), "target", "name", tname, "host",
                    json_object_get(target, "host"), "port", json_object_get(target, "port"),
                    "hostkey", hostkey, "credential", "kind", is_key ? "agent" : "password");
    if (res && is_key) {
        r = json_object_set_new(json_object_get(res, "credential"), "socket",
                                json_string(agent_path));
    } else if (res) {
        r = json_object_set_new(json_object_get(res, "credential"), "value", value);
        value = NULL; /* stolen even on failure; the wiping allocator clears it when freed */
    }
    if (!res || r != 0) {
        req_fail(rq, -ERR_NOMEM, "cannot build the answer");
        r = -ERR_NOMEM;
        goto out;
    }
    rq->result = res;
    res = NULL;
out:
    json_decref(res);
    json_decref(value);
    secbuf_free(plain);
    secbuf_free(sk);
    sodium_memzero(pub, sizeof(pub));
    json_decref(decision);
    json_decref(acct);
    json_decref(target);
    json_decref(sess);
    return r;
}

static int op_session_open(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    struct open_args oa;
    int r;

    if ((r = open_args_get(rq, &oa)) == 0)
        r = open_session(vd, rq, txn, &oa, NULL);
    json_decref(oa.client);
    return r;
}

static int session_load(struct vaultd *vd, struct req *rq, MDB_txn *txn, const char **id,
                        json_t **out)
{
    int r;

    *out = NULL;
    if ((r = session_id_arg(rq, id)) != 0)
        return r;
    return gov_load(vd, rq, txn, STORE_SESSIONS, "session", *id, out);
}

/* Set member `key` of s from an optional integer argument of at most `max`. */
static int stat_arg(struct req *rq, json_t *s, const char *key, unsigned long long max)
{
    unsigned long long n = 0;
    int r = arg_uint(rq, key, false, max, &n);

    if (r == 0 && json_is_integer(json_object_get(rq->args, key)))
        json_object_set_new(s, key, json_integer((json_int_t)n));
    return r;
}

/*
 * The broker's end time of a session (it may deliver session.close late,
 * after the vault was down): not before the session started, not in the
 * future beyond SESSION_CLOCK_SKEW (within it: now).  Absent: now.
 */
static int ended_at_arg(struct req *rq, const json_t *s, json_int_t now, json_int_t *out)
{
    unsigned long long at = 0;
    json_int_t started = json_integer_value(json_object_get(s, "started_at"));
    int r;

    *out = now;
    if ((r = arg_uint(rq, "ended_at", false, 1ull << 40, &at)) != 0)
        return r;
    if (!json_is_integer(json_object_get(rq->args, "ended_at")))
        return 0;
    if ((json_int_t)at > now + SESSION_CLOCK_SKEW) {
        req_fail(rq, -ERR_INVAL, "\"ended_at\" (%llu) is in the future (now %lld)", at,
                 (long long)now);
        return -ERR_INVAL;
    }
    if ((json_int_t)at < started) {
        req_fail(rq, -ERR_INVAL, "\"ended_at\" (%llu) is before the session started (%lld)", at,
                 (long long)started);
        return -ERR_INVAL;
    }
    *out = (json_int_t)at < now ? (json_int_t)at : now;
    return 0;
}

static int op_session_close(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    const char *id, *reason, *sig = NULL;
    json_t *s = NULL;
    json_int_t ended;
    int r;

    if ((r = session_load(vd, rq, txn, &id, &s)) != 0 ||
        (r = text_arg(rq, "reason", true, SESSION_REASON_MAX, &reason)) != 0 ||
        (r = text_arg(rq, "signal", false, 32, &sig)) != 0 ||
        (r = ended_at_arg(rq, s, gov_now(), &ended)) != 0)
        goto out;
    if (str_eq(json_object_get(s, "state"), "closed")) {
        rq->result = json_incref(s); /* closed already: the broker may retry after a crash */
        goto out;
    }
    if ((r = stat_arg(rq, s, "exit_status", 255)) != 0 ||
        (r = stat_arg(rq, s, "bytes_in", SESSION_BYTES_MAX)) != 0 ||
        (r = stat_arg(rq, s, "bytes_out", SESSION_BYTES_MAX)) != 0)
        goto out;
    if (sig)
        json_object_set_new(s, "signal", json_string(sig));
    if (json_is_string(json_object_get(s, "hold")) &&
        (r = gov_hold_cancel(vd, rq, txn, jstr(s, "hold"), "the session ended")) != 0)
        goto out;
    session_end(s, reason, ended);
    if ((r = store_json_put(vd->store, txn, STORE_SESSIONS, id, s, STORE_UPDATE)) != 0 ||
        (r = req_audit(vd, rq, txn, jstr(s, "account"),
                       json_pack("{s:s,s:O,s:s,s:O,s:O,s:O,s:O,s:I}", "session", id, "identity",
                                 json_object_get(s, "identity"), "reason", reason, "exit_status",
                                 json_object_get(s, "exit_status"), "signal",
                                 json_object_get(s, "signal"), "bytes_in",
                                 json_object_get(s, "bytes_in"), "bytes_out",
                                 json_object_get(s, "bytes_out"), "ended_at", ended))) != 0)
        goto out;
    agent_session_closed(vd, id); /* its agent socket, if the account is key-based */
    rq->result = json_incref(s);
out:
    json_decref(s);
    return r;
}

/* Sessions are listed by auditors and by governance administrators. */
static int scope_check(struct req *rq)
{
    if (rq->scopes & (SCOPE(AUDIT) | SCOPE(GOV)))
        return 0;
    log_warn("principal=%s op=%s refused: scope", rq->principal, rq->op->name);
    req_fail(rq, -ERR_DENIED, "principal lacks the scope for this op (audit or gov)");
    return -ERR_DENIED;
}

/* Numeric part of "s-N", for listing in opening order (keys sort as text). */
static unsigned long long id_num(const json_t *s)
{
    const char *id = jstr(s, "id");

    return id && strncmp(id, "s-", 2) == 0 ? strtoull(id + 2, NULL, 10) : 0;
}

static int by_id(const void *a, const void *b)
{
    unsigned long long x = id_num(*(json_t *const *)a), y = id_num(*(json_t *const *)b);

    return (x > y) - (x < y);
}

static int op_session_list(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    const char *state = NULL, *identity = NULL, *account = NULL;
    json_t *all = NULL, *res = NULL, *s, **rows = NULL;
    size_t i, n = 0;
    int r;

    if ((r = scope_check(rq)) != 0 || (r = arg_str(rq, "state", false, &state)) != 0 ||
        (r = arg_str(rq, "identity", false, &identity)) != 0 ||
        (r = arg_str(rq, "account", false, &account)) != 0)
        goto out;
    if (state && strcmp(state, "live") != 0 && strcmp(state, "held") != 0 &&
        strcmp(state, "closed") != 0) {
        req_fail(rq, -ERR_INVAL, "\"state\" must be live, held or closed");
        r = -ERR_INVAL;
        goto out;
    }
    if ((r = gov_list(vd, txn, STORE_SESSIONS, &all)) != 0)
        goto out;
    if (!(rows = calloc(json_array_size(all) + 1, sizeof(*rows)))) {
        r = -ERR_NOMEM;
        goto out;
    }
    json_array_foreach(all, i, s)
    {
        if ((state && !str_eq(json_object_get(s, "state"), state)) ||
            (identity && !str_eq(json_object_get(s, "identity"), identity)) ||
            (account && !str_eq(json_object_get(s, "account"), account)))
            continue;
        rows[n++] = s;
    }
    if (n > 1)
        qsort(rows, n, sizeof(*rows), by_id);
    res = json_array();
    for (i = 0; i < n; i++)
        json_array_append(res, rows[i]);
    rq->result = json_pack("{s:O}", "sessions", res);
out:
    free(rows);
    json_decref(all);
    json_decref(res);
    return r;
}

static int op_session_get(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    const char *id;
    json_t *s = NULL;
    int r;

    if ((r = scope_check(rq)) != 0 || (r = session_load(vd, rq, txn, &id, &s)) != 0)
        return r;
    rq->result = s;
    return 0;
}

/*
 * Ending a session is the broker's job (it holds the connection): vaultd
 * records the request and pushes session.kill to subscribers; the session
 * stays live until the broker's session.close.
 */
static int op_session_kill(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    const char *id, *reason;
    json_t *s = NULL;
    int r;

    if ((r = session_load(vd, rq, txn, &id, &s)) != 0)
        goto out;
    if ((r = arg_str(rq, "reason", true, &reason)) != 0)
        goto out;
    if (strlen(reason) < 3 || strlen(reason) > SESSION_REASON_MAX) {
        req_fail(rq, -ERR_INVAL, "reason must be 3 to %u characters", SESSION_REASON_MAX);
        r = -ERR_INVAL;
        goto out;
    }
    /* A held session (waiting for an approver) can be ended too. */
    if (!str_eq(json_object_get(s, "state"), "live") &&
        !str_eq(json_object_get(s, "state"), "held")) {
        req_fail(rq, -ERR_STATE, "session %s is %s, not live or held", id,
                 jstr(s, "state") ?: "unknown");
        r = -ERR_STATE;
        goto out;
    }
    json_object_set_new(s, "kill_requested_at", json_integer(gov_now()));
    json_object_set_new(s, "kill_requested_by", json_string(rq->principal));
    json_object_set_new(s, "kill_reason", json_string(reason));
    if ((r = store_json_put(vd->store, txn, STORE_SESSIONS, id, s, STORE_UPDATE)) != 0 ||
        (r = req_audit(vd, rq, txn, jstr(s, "account"),
                       json_pack("{s:s,s:O,s:s}", "session", id, "identity",
                                 json_object_get(s, "identity"), "reason", reason))) != 0)
        goto out;
    gov_emit(rq, "session.kill",
             json_pack("{s:s,s:O,s:O,s:O,s:s,s:s}", "session", id, "identity",
                       json_object_get(s, "identity"), "account", json_object_get(s, "account"),
                       "broker", json_object_get(s, "broker"), "reason", reason, "by",
                       rq->principal));
    rq->result = json_incref(s);
out:
    json_decref(s);
    return r;
}

/*
 * A broker that starts has no live session: whatever the store still calls
 * live under its name ended with its previous run.
 */
static int op_session_reset(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    const char *broker;
    json_t *all = NULL, *ids = json_array(), *s;
    json_int_t now = gov_now();
    size_t i;
    int r;

    if ((r = arg_str(rq, "broker", true, &broker)) != 0)
        goto out;
    if (!name_is_valid(broker)) {
        req_fail(rq, -ERR_INVAL, "\"broker\" must be 1-64 of [A-Za-z0-9._-]");
        r = -ERR_INVAL;
        goto out;
    }
    if ((r = gov_list(vd, txn, STORE_SESSIONS, &all)) != 0)
        goto out;
    json_array_foreach(all, i, s)
    {
        if ((!str_eq(json_object_get(s, "state"), "live") &&
             !str_eq(json_object_get(s, "state"), "held")) ||
            !str_eq(json_object_get(s, "broker"), broker))
            continue;
        if (json_is_string(json_object_get(s, "hold")) &&
            (r = gov_hold_cancel(vd, rq, txn, jstr(s, "hold"), "the broker restarted")) != 0)
            goto out;
        session_end(s, "broker restarted", now);
        if ((r = store_json_put(vd->store, txn, STORE_SESSIONS, jstr(s, "id"), s, STORE_UPDATE)) !=
            0)
            goto out;
        json_array_append(ids, json_object_get(s, "id"));
    }
    if ((r = req_audit(vd, rq, txn, NULL,
                       json_pack("{s:s,s:I,s:O}", "broker", broker, "closed",
                                 (json_int_t)json_array_size(ids), "sessions", ids))) != 0)
        goto out;
    rq->result = json_pack("{s:s,s:I,s:O}", "broker", broker, "closed",
                           (json_int_t)json_array_size(ids), "sessions", ids);
out:
    json_decref(all);
    json_decref(ids);
    return r;
}

/* The decided hold request of a session, loaded. */
static int hold_request(struct vaultd *vd, struct req *rq, MDB_txn *txn, const json_t *s,
                        json_t **out)
{
    if (!json_is_string(json_object_get(s, "hold"))) {
        req_fail(rq, -ERR_STATE, "session %s holds no command", jstr(s, "id"));
        return -ERR_STATE;
    }
    return gov_load(vd, rq, txn, STORE_REQUESTS, "request", jstr(s, "hold"), out);
}

/* "denied by bob: not now", "not approved within the time allowed", "cancelled". */
static void hold_outcome(const json_t *request, char *out, size_t len)
{
    const json_t *d = json_object_get(request, "denial");
    const char *st = jstr(request, "state");

    if (str_eq(json_object_get(request, "state"), "denied"))
        snprintf(out, len, "denied by %s: %s", jstr(d, "by") ?: "an approver",
                 jstr(d, "comment") ?: "");
    else if (str_eq(json_object_get(request, "state"), "expired"))
        snprintf(out, len, "not approved within the time allowed");
    else
        snprintf(out, len, "%s", st ? st : "not approved");
}

/*
 * A held exec or subsystem whose request an approver decided: approved, the
 * session opens as session.open would (authorization asked again, the
 * credential released now); denied, expired or cancelled, it is closed and
 * the answer says why.  Still pending: {"held": true}.
 */
static int op_session_resume(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    struct open_args oa;
    const char *id;
    json_t *s = NULL, *request = NULL;
    char why[600], msg[700];
    int r;

    if ((r = session_load(vd, rq, txn, &id, &s)) != 0 ||
        (r = hold_request(vd, rq, txn, s, &request)) != 0)
        goto out;
    if (!str_eq(json_object_get(s, "state"), "held")) {
        req_fail(rq, -ERR_STATE, "session %s is %s, not held", id, jstr(s, "state") ?: "unknown");
        r = -ERR_STATE;
        goto out;
    }
    /* Past its deadline it is expired now, whether or not the timer has run yet. */
    if ((r = gov_request_expire_overdue(vd, rq, txn, request)) != 0)
        goto out;
    if (str_eq(json_object_get(request, "state"), "pending")) {
        rq->result = json_pack("{s:b,s:b,s:s,s:O}", "allow", 0, "held", 1, "session", id, "request",
                               json_object_get(request, "id"));
        goto out;
    }
    memset(&oa, 0, sizeof(oa));
    oa.fp = jstr(s, "fp");
    oa.account = jstr(s, "account");
    oa.broker = jstr(s, "broker");
    oa.kind = jstr(s, "kind");
    oa.command = jstr(s, "command");
    oa.client = json_object_get(s, "client");
    if (!oa.fp || !oa.account || !oa.kind) {
        req_fail(rq, -ERR_CORRUPT, "session %s is incomplete", id);
        r = -ERR_CORRUPT;
        goto out;
    }
    if (!str_eq(json_object_get(request, "state"), "approved")) {
        hold_outcome(request, why, sizeof(why));
        snprintf(msg, sizeof(msg), "\"%s\" on %s was %s", oa.command ? oa.command : "", oa.account,
                 why);
        if ((r = session_store_end(vd, txn, s, msg)) == 0)
            r = refuse(vd, rq, txn, &oa,
                       deny_new(jstr(s, "identity"),
                                str_eq(json_object_get(request, "state"), "denied")
                                    ? "command_denied"
                                    : "command_not_approved",
                                msg));
        goto out;
    }
    r = open_session(vd, rq, txn, &oa, s);
    if (r == 0 && !json_is_true(json_object_get(rq->result, "allow")))
        r = session_store_end(vd, txn, s, jstr(rq->result, "message") ?: "refused");
out:
    json_decref(s);
    json_decref(request);
    return r;
}

/*
 * A -L forward the broker opened or refused: audited with vaultd's own
 * reading of the session's policy next to what the broker did.
 */
static int forward_report(struct vaultd *vd, struct req *rq, MDB_txn *txn, json_t *s)
{
    const char *host, *action, *kind = NULL;
    unsigned long long port = 0;
    bool allowed, remote;
    int r;

    if ((r = arg_str(rq, "forward_kind", false, &kind)) != 0 ||
        (r = text_arg(rq, "forward_host", true, 255, &host)) != 0 ||
        (r = arg_uint(rq, "forward_port", true, 65535, &port)) != 0 ||
        (r = arg_str(rq, "action", true, &action)) != 0)
        return r;
    if (strcmp(action, "allow") != 0 && strcmp(action, "deny") != 0) {
        req_fail(rq, -ERR_INVAL, "\"action\" must be allow or deny");
        return -ERR_INVAL;
    }
    if (kind && strcmp(kind, "local") != 0 && strcmp(kind, "remote") != 0) {
        req_fail(rq, -ERR_INVAL, "\"forward_kind\" must be local or remote");
        return -ERR_INVAL;
    }
    remote = kind && strcmp(kind, "remote") == 0;
    allowed = remote
                  ? gov_remote_forward_allowed(json_object_get(s, "policy"), host, (unsigned)port)
                  : gov_forward_allowed(json_object_get(s, "policy"), host, (unsigned)port);
    if (strcmp(action, "allow") == 0 && !allowed)
        log_warn("session=%s broker forwarded to %s:%llu, which the policy does not allow",
                 jstr(s, "id"), host, port);
    if ((r = req_audit(vd, rq, txn, jstr(s, "account"),
                       json_pack("{s:O,s:O,s:s,s:s,s:I,s:s,s:s}", "session",
                                 json_object_get(s, "id"), "identity",
                                 json_object_get(s, "identity"), "forward_kind",
                                 remote ? "remote" : "local", "forward_host", host, "forward_port",
                                 (json_int_t)port, "action", action, "policy",
                                 allowed ? "allow" : "deny"))) != 0)
        return r;
    rq->result = json_pack("{s:O,s:s}", "session", json_object_get(s, "id"), "action",
                           allowed ? "allow" : "deny");
    return 0;
}

/*
 * A command line typed in a live shell that the broker's copy of the policy
 * does not simply allow (best effort: the broker sees keystrokes, not what
 * the shell runs).  vaultd decides again from the session's policy, audits
 * the line, and for a hold files a command request.  {"cancel": REQUEST}
 * instead withdraws a pending hold of this session (the admin pressed ^C).
 */
static int op_session_command(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    const char *id, *command = NULL, *cancel = NULL;
    json_t *s = NULL, *requester = NULL, *request = NULL;
    const json_t *rule = NULL;
    char why[256] = "";
    enum gov_cmd_action action;
    int r;

    if ((r = session_load(vd, rq, txn, &id, &s)) != 0 ||
        (r = text_arg(rq, "command", false, SESSION_COMMAND_MAX, &command)) != 0 ||
        (r = text_arg(rq, "cancel", false, 64, &cancel)) != 0)
        goto out;
    if (!str_eq(json_object_get(s, "state"), "live")) {
        req_fail(rq, -ERR_STATE, "session %s is %s, not live", id, jstr(s, "state") ?: "unknown");
        r = -ERR_STATE;
        goto out;
    }
    if (cancel) {
        if (!str_eq(json_object_get(s, "hold"), cancel)) {
            req_fail(rq, -ERR_INVAL, "request %s is not a hold of session %s", cancel, id);
            r = -ERR_INVAL;
            goto out;
        }
        if ((r = gov_hold_cancel(vd, rq, txn, cancel, "cancelled by the admin")) == 0)
            rq->result = json_pack("{s:s,s:s}", "session", id, "cancelled", cancel);
        goto out;
    }
    if (json_object_get(rq->args, "forward_host")) {
        r = forward_report(vd, rq, txn, s);
        goto out;
    }
    if (!command) {
        req_fail(rq, -ERR_INVAL, "\"command\", \"cancel\" or \"forward_host\" is required");
        r = -ERR_INVAL;
        goto out;
    }
    action = gov_command_decide(json_object_get(s, "policy"), "exec", command, &rule);
    if ((r = req_audit(vd, rq, txn, jstr(s, "account"),
                       json_pack("{s:s,s:O,s:s,s:s}", "session", id, "identity",
                                 json_object_get(s, "identity"), "command", command, "action",
                                 gov_cmd_action_name(action)))) != 0)
        goto out;
    if (action == GOV_CMD_HOLD) {
        if ((r = gov_load(vd, rq, txn, STORE_IDENTITIES, "identity", jstr(s, "identity"),
                          &requester)) != 0)
            goto out;
        r = gov_hold_create(vd, rq, txn, requester, s, "shell", command, rule, &request, why,
                            sizeof(why));
        if (r == -ERR_DENIED) {
            /* Nobody can approve it: refused, with the reason. */
            rq->result = json_pack("{s:s,s:s,s:s}", "session", id, "action", "deny", "reason", why);
            r = 0;
            goto out;
        }
        if (r != 0)
            goto out;
        json_object_set(s, "hold", json_object_get(request, "id"));
        if ((r = store_json_put(vd->store, txn, STORE_SESSIONS, id, s, STORE_UPDATE)) != 0)
            goto out;
    }
    rq->result = json_pack("{s:s,s:s,s:O?}", "session", id, "action", gov_cmd_action_name(action),
                           "reason", json_object_get(rule, "reason"));
    if (request) {
        json_object_set(rq->result, "request", json_object_get(request, "id"));
        json_object_set(rq->result, "approvers", json_object_get(request, "approvers"));
        json_object_set(rq->result, "expires_at", json_object_get(request, "decide_by"));
    }
out:
    json_decref(s);
    json_decref(requester);
    json_decref(request);
    return r;
}

/* session.list/get need audit or gov: the table asks for no bits and the handler checks. */
const struct op ops_session[] = {
    {"session.open", SCOPE(BROKER), ST_UNSEALED, OP_WRITE, op_session_open, NULL},
    {"session.resume", SCOPE(BROKER), ST_UNSEALED, OP_WRITE, op_session_resume, NULL},
    {"session.command", SCOPE(BROKER), ST_UNSEALED, OP_WRITE, op_session_command, NULL},
    {"session.close", SCOPE(BROKER), ST_UNSEALED, OP_WRITE, op_session_close, NULL},
    {"session.reset", SCOPE(BROKER), ST_UNSEALED, OP_WRITE, op_session_reset, NULL},
    {"session.kill", SCOPE(GOV), ST_UNSEALED, OP_WRITE, op_session_kill, NULL},
    {"session.list", 0, ST_UNSEALED, OP_READ, op_session_list, NULL},
    {"session.get", 0, ST_UNSEALED, OP_READ, op_session_get, NULL},
    {NULL, 0, 0, 0, NULL, NULL},
};
