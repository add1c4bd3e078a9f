/* SPDX-License-Identifier: Apache-2.0 */
/* A session's port forwards: -L and jumps (direct-tcpip), -R (the target listens), as the
 * entitlement allows. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libssh/server.h>

#include "custos/gov.h"
#include "custos/log.h"
#include "forward.h"
#include "lineedit.h"

/* One forwarded connection: the admin's channel and its twin on the target leg. */
struct fwd {
    struct fwd *next;
    ssh_channel a, t;
    bool reverse; /* -R: the target's channel came first; the admin's is opened to match */
    bool checked, opened, a_eof_sent, t_eof_sent;
    char host[256]; /* -L: the destination; -R: the address the target listens on */
    unsigned port;
    char orig[64]; /* -R: who connected on the target */
    unsigned orig_port;
    struct relay_carry *a2t, *t2a;
};

static void say(struct fwdset *fs, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct fwdset *fs, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fs->io.tell(fs->io.ctx, msg);
}

static void on_reported(void *ctx, int err, json_t *res, const char *errmsg)
{
    (void)ctx;
    (void)res;
    if (err)
        log_warn("forward report: %s", errmsg ? errmsg : "failed");
}

/* Every forward attempt is audited in the vault (allowed or not). */
static void report(struct fwdset *fs, const char *kind, const char *host, int port, bool allowed)
{
    if (!fs->vsession[0])
        return;
    if (host && !lineedit_utf8_valid(host, strlen(host)))
        host = "(not UTF-8)";
    vlink_call(fs->vault, "session.command",
               json_pack("{s:s,s:s,s:s,s:i,s:s}", "session", fs->vsession, "forward_kind", kind,
                         "forward_host", host ?: "", "forward_port", port, "action",
                         allowed ? "allow" : "deny"),
               on_reported, NULL);
}

/*
 * Accept the channel open of msg into *side of f, and add f to the set
 * (fwds_new: this runs inside libssh's callbacks).  false: f is freed.
 */
static bool accept_into(struct fwdset *fs, struct fwd *f, ssh_message msg, ssh_channel *side)
{
    if (!(*side = ssh_message_channel_request_open_reply_accept(msg))) {
        free(f);
        return false;
    }
    f->next = fs->fwds_new;
    fs->fwds_new = f;
    fs->n_fwds++;
    return true;
}

int fwdset_open(struct fwdset *fs, ssh_message msg)
{
    const char *host = ssh_message_channel_request_open_destination(msg);
    int port = ssh_message_channel_request_open_destination_port(msg);
    struct fwd *f;

    if (!host || port <= 0 || port > 65535 ||
        (fs->policy && !gov_forward_allowed(fs->policy, host, (unsigned)port))) {
        log_info("session=%llu vsession=%s forward to %s:%d refused by policy",
                 (unsigned long long)fs->id, fs->vsession, host ?: "?", port);
        say(fs, "forwarding to %.100s:%d refused: your entitlement for %s does not allow it",
            host ?: "?", port, fs->account);
        report(fs, "local", host, port, false);
        return 1;
    }
    if (fs->n_fwds >= FWDSET_MAX || !(f = calloc(1, sizeof(*f)))) {
        say(fs, "forwarding to %.100s:%d refused: too many forwards in this session", host, port);
        return 1;
    }
    snprintf(f->host, sizeof(f->host), "%s", host);
    f->port = (unsigned)port;
    /* Before the vault has answered, the forward waits and is checked once it has. */
    f->checked = fs->policy != NULL;
    if (!accept_into(fs, f, msg, &f->a))
        return 0;
    if (f->checked) {
        log_info("session=%llu vsession=%s forward to %s:%d", (unsigned long long)fs->id,
                 fs->vsession, host, port);
        report(fs, "local", host, port, true);
    }
    return 0;
}

static void fwd_free(struct fwd *f)
{
    if (f->t)
        ssh_channel_free(f->t);
    if (f->a)
        ssh_channel_free(f->a);
    relay_carry_free(f->a2t);
    relay_carry_free(f->t2a);
    free(f);
}

/* Open, relay, propagate EOF and close one forward; false when f is finished. */
static bool fwd_step(struct fwdset *fs, struct fwd *f, ssh_session admin, ssh_session target)
{
    int rc;

    if (!f->checked) {
        bool ok = gov_forward_allowed(fs->policy, f->host, f->port);

        f->checked = true;
        report(fs, "local", f->host, (int)f->port, ok);
        if (!ok) {
            say(fs, "forwarding to %.100s:%u refused: your entitlement for %s does not allow it",
                f->host, f->port, fs->account);
            ssh_channel_close(f->a);
            return false;
        }
        log_info("session=%llu vsession=%s forward to %s:%u", (unsigned long long)fs->id,
                 fs->vsession, f->host, f->port);
    }
    if (!f->opened && f->reverse) {
        if (!f->a && !(f->a = ssh_channel_new(admin)))
            return false;
        rc = ssh_channel_open_reverse_forward(f->a, f->host, (int)f->port, f->orig,
                                              (int)f->orig_port);
        if (rc == SSH_AGAIN)
            return true;
        if (rc != SSH_OK) {
            log_info("session=%llu -R connection on %s:%u: the admin's client refused it",
                     (unsigned long long)fs->id, f->host, f->port);
            ssh_channel_close(f->t);
            return false;
        }
        f->opened = true;
    }
    if (!f->opened) {
        if (!f->t && !(f->t = ssh_channel_new(target)))
            return false;
        rc = ssh_channel_open_forward(f->t, f->host, (int)f->port, "127.0.0.1", 0);
        if (rc == SSH_AGAIN)
            return true;
        if (rc != SSH_OK) {
            log_info("session=%llu forward to %s:%u: the target refused: %s",
                     (unsigned long long)fs->id, f->host, f->port, ssh_get_error(target));
            ssh_channel_close(f->a);
            return false;
        }
        f->opened = true;
    }
    for (unsigned i = 0; i < RELAY_STEPS; i++) {
        /* Both directions every step, whether or not the first moved anything. */
        bool in = relay_forward(fs->relay, f->a, f->t, &f->a2t, true);
        bool out = relay_forward(fs->relay, f->t, f->a, &f->t2a, false);

        if (!in && !out)
            break;
    }
    if (!f->t_eof_sent && ssh_channel_is_eof(f->a) && relay_carry_empty(f->a2t) &&
        ssh_channel_poll(f->a, 0) == SSH_EOF) {
        ssh_channel_send_eof(f->t);
        f->t_eof_sent = true;
    }
    if (!f->a_eof_sent && ssh_channel_is_eof(f->t) && relay_carry_empty(f->t2a) &&
        ssh_channel_poll(f->t, 0) == SSH_EOF) {
        ssh_channel_send_eof(f->a);
        f->a_eof_sent = true;
    }
    if ((ssh_channel_is_closed(f->a) || ssh_channel_is_closed(f->t)) && relay_carry_empty(f->a2t) &&
        relay_carry_empty(f->t2a)) {
        ssh_channel_close(f->a);
        ssh_channel_close(f->t);
        return false;
    }
    return true;
}

/*
 * The admin's tcpip-forward.  It comes before the session channel (OpenSSH
 * sets forwards up first) and libssh wants the answer now, so an account
 * session gets "yes" at once and the listener is asked of the target once the
 * vault has answered: refused by the policy or by the target, the admin is
 * told on stderr.
 */
int fwdset_listen(struct fwdset *fs, ssh_message msg)
{
    const char *addr = ssh_message_global_request_address(msg);
    int port = ssh_message_global_request_port(msg);
    struct fwdset_listener *l;
    char notice[256];

    if (!addr || strlen(addr) >= sizeof(l->addr) || port <= 0 || port > 65535 ||
        fs->n_listeners >= FWDSET_LISTEN_MAX ||
        (fs->policy && !gov_remote_forward_allowed(fs->policy, addr, (unsigned)port))) {
        log_info("session=%llu user=%s remote forward %s:%d refused", (unsigned long long)fs->id,
                 fs->user, addr ?: "?", port);
        snprintf(notice, sizeof(notice), "remote forwarding (-R) on %.100s:%d refused: %s",
                 addr ?: "?", port,
                 port <= 0                              ? "the port must be given"
                 : fs->n_listeners >= FWDSET_LISTEN_MAX ? "too many in one session"
                                                        : "your entitlement does not allow it");
        fs->io.notice(fs->io.ctx, notice);
        if (fs->policy)
            report(fs, "remote", addr, port, false);
        return 1;
    }
    l = &fs->listeners[fs->n_listeners++];
    l->state = FWDSET_PENDING;
    l->port = (unsigned)port;
    snprintf(l->addr, sizeof(l->addr), "%s", addr);
    ssh_message_global_request_reply_success(msg, (uint16_t)port);
    return 0;
}

/* Check each -R against the policy and ask the target to listen. */
static void listeners_step(struct fwdset *fs, ssh_session target)
{
    for (unsigned i = 0; i < fs->n_listeners; i++) {
        struct fwdset_listener *l = &fs->listeners[i];
        int rc;

        if (l->state != FWDSET_PENDING)
            continue;
        if (!gov_remote_forward_allowed(fs->policy, l->addr, l->port)) {
            say(fs,
                "remote forwarding (-R) on %.100s:%u refused: your entitlement for %s does "
                "not allow it",
                l->addr, l->port, fs->account);
            report(fs, "remote", l->addr, (int)l->port, false);
            l->state = FWDSET_DONE;
            continue;
        }
        rc = ssh_channel_listen_forward(target, l->addr, (int)l->port, NULL);
        if (rc == SSH_AGAIN)
            break; /* libssh has one global request in flight per session */
        if (rc != SSH_OK) {
            say(fs, "remote forwarding (-R) on %.100s:%u: the target refused to listen: %s",
                l->addr, l->port, ssh_get_error(target));
            l->state = FWDSET_DONE;
            continue;
        }
        log_info("session=%llu vsession=%s target listens on %s:%u for the admin",
                 (unsigned long long)fs->id, fs->vsession, l->addr, l->port);
        report(fs, "remote", l->addr, (int)l->port, true);
        l->state = FWDSET_LISTENING;
    }
}

int fwdset_incoming(struct fwdset *fs, ssh_message msg)
{
    int port = ssh_message_channel_request_open_destination_port(msg);
    const char *orig = ssh_message_channel_request_open_originator(msg);
    struct fwd *f;

    if (ssh_message_type(msg) != SSH_REQUEST_CHANNEL_OPEN ||
        ssh_message_subtype(msg) != SSH_CHANNEL_FORWARDED_TCPIP || fs->n_fwds >= FWDSET_MAX)
        return 1;
    for (unsigned i = 0; i < fs->n_listeners; i++) {
        struct fwdset_listener *l = &fs->listeners[i];

        if (l->state != FWDSET_LISTENING || (int)l->port != port || !(f = calloc(1, sizeof(*f))))
            continue;
        f->reverse = f->checked = true;
        snprintf(f->host, sizeof(f->host), "%s", l->addr);
        f->port = l->port;
        snprintf(f->orig, sizeof(f->orig), "%s", orig ? orig : "127.0.0.1");
        f->orig_port = (unsigned)ssh_message_channel_request_open_originator_port(msg);
        accept_into(fs, f, msg, &f->t);
        return 0;
    }
    return 1;
}

/*
 * Forwards opened inside libssh's callbacks (possibly while the list below
 * is walked) wait in fwds_new and join the list here, between walks.
 */
static void merge(struct fwdset *fs)
{
    while (fs->fwds_new) {
        struct fwd *f = fs->fwds_new;

        fs->fwds_new = f->next;
        f->next = fs->fwds;
        fs->fwds = f;
    }
}

void fwdset_step(struct fwdset *fs, ssh_session admin, ssh_session target)
{
    listeners_step(fs, target);
    for (unsigned pass = 0; pass < 2 && (fs->fwds || fs->fwds_new); pass++) {
        merge(fs);
        for (struct fwd **pp = &fs->fwds, *f; (f = *pp);) {
            if (fwd_step(fs, f, admin, target)) {
                pp = &f->next;
                continue;
            }
            *pp = f->next;
            fs->n_fwds--;
            fwd_free(f);
        }
    }
}

bool fwdset_is_empty(const struct fwdset *fs)
{
    return !fs->fwds && !fs->fwds_new;
}

void fwdset_fini(struct fwdset *fs)
{
    merge(fs);
    while (fs->fwds) {
        struct fwd *f = fs->fwds;

        fs->fwds = f->next;
        fwd_free(f);
    }
    fs->n_fwds = 0;
}
