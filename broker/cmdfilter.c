/* SPDX-License-Identifier: Apache-2.0 */
/* The typed-line filter: a shell's lines checked against the command policy before they run. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmdfilter.h"

static void say(struct cmdfilter *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct cmdfilter *f, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    f->io.tell(f->io.ctx, msg);
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

void cmdfilter_tell_hold(void (*tell)(void *ctx, const char *msg), void *ctx, const char *what,
                         const char *req, time_t until, const json_t *hold)
{
    char who[256], line[1024];
    long long mins = ((long long)until - (long long)time(NULL) + 59) / 60;

    names_of(json_object_get(hold, "approvers"), who, sizeof(who));
    snprintf(line, sizeof(line),
             "\"%s\" needs approval (%s): request %s waits for %s, up to %lld min", what,
             json_string_value(json_object_get(hold, "reason")) ?: "policy", req, who,
             mins < 1 ? 1 : mins);
    tell(ctx, line);
    snprintf(line, sizeof(line),
             "approvers run: ssh custos@<this broker> approve %s   (or: custos gov approve %s)",
             req, req);
    tell(ctx, line);
}

/* ---- deciding at a key ---------------------------------------------------------- */

/* Enter: true when the line is refused or held (the Enter is not sent; act says what). */
static bool on_enter(struct cmdfilter *f, const struct lineedit_line *l)
{
    const json_t *rule = NULL;
    enum gov_cmd_action a;

    gov_command_normalize(l->text, f->cmd, sizeof(f->cmd));
    f->echoed = l->echoed;
    if (!f->cmd[0] && !l->unknown)
        return false;
    a = gov_command_decide(f->policy, "exec", f->cmd, &rule);
    /*
     * A line recalled, completed or edited in place is not what the broker
     * saw: whatever the rules say of the broker's copy (hold included: an
     * approver must see what runs), it is refused unless everything is allowed.
     */
    if (l->unknown &&
        (a != GOV_CMD_ALLOW || gov_command_decide(f->policy, "exec", "", NULL) != GOV_CMD_ALLOW))
        a = GOV_CMD_DENY, f->cmd[0] = '\0';
    if (a == GOV_CMD_ALLOW)
        return false;
    f->act = a == GOV_CMD_HOLD && f->echoed ? CMDFILTER_HOLD : CMDFILTER_DENY;
    return true;
}

/*
 * Any other control key: the line as typed so far must be one the policy
 * allows, since the shell may run it on this key; else it is refused here.
 */
static bool on_key(struct cmdfilter *f, const struct lineedit_line *l)
{
    char norm[GOV_COMMAND_MAX + 1];

    gov_command_normalize(l->text, norm, sizeof(norm));
    if (!norm[0] || gov_command_decide(f->policy, "exec", norm, NULL) == GOV_CMD_ALLOW)
        return false;
    memcpy(f->cmd, norm, sizeof(norm));
    f->echoed = l->echoed;
    lineedit_reset(&f->le);
    f->act = CMDFILTER_DENY;
    return true;
}

/*
 * Follow what the admin types and stop at a key whose line the policy
 * refuses or holds: returns how many bytes of d go to the target (the key
 * and what follows it in this read do not).
 */
size_t cmdfilter_input(void *ctx, const char *d, size_t n)
{
    struct cmdfilter *f = ctx;
    size_t i = 0;

    while (i < n) {
        enum lineedit_stop stop;
        struct lineedit_line l;

        i += lineedit_feed(&f->le, d + i, n - i, &stop, &l);
        if ((stop == LINEEDIT_ENTER && on_enter(f, &l)) || (stop == LINEEDIT_KEY && on_key(f, &l)))
            return i - 1;
    }
    return n;
}

void cmdfilter_echo(void *ctx, const char *p, size_t n)
{
    struct cmdfilter *f = ctx;

    lineedit_echo(&f->le, p, n);
}

/* ---- acting on a decision ------------------------------------------------------- */

static void on_answer(void *ctx, int err, json_t *res, const char *errmsg);

/* Report a refused or held line to the vault (audit; a hold files a request). */
static void report(struct cmdfilter *f)
{
    const char *shown = f->echoed ? f->cmd : "(a line typed without echo, withheld)";

    vlink_call(f->vault, "session.command",
               json_pack("{s:s,s:s}", "session", f->vsession, "command",
                         f->cmd[0] ? shown : "(a line the broker could not follow)"),
               f->act == CMDFILTER_HOLD ? on_answer : NULL, f->act == CMDFILTER_HOLD ? f : NULL);
}

/*
 * Bytes the broker itself sends to the target (^C, a held Enter, a held
 * line).  No room (never expected: at most a line): the session ends.
 */
static void to_target(struct cmdfilter *f, const char *d, size_t n)
{
    if (relay_inject(f->relay, d, n) != 0)
        f->io.end(f->io.ctx,
                  "session ended: the broker could not deliver its own input to the target");
}

/* Drop the typed line on the target (^C at a prompt discards it) and say why. */
static void drop(struct cmdfilter *f, const char *why)
{
    if (f->pty) {
        to_target(f, "\x03", 1);
        say(f, "%s", why);
    } else {
        /* A script: stop at the refused line, as set -e would; the shell gets EOF. */
        say(f, "%s; the rest of the input is not sent to the target", why);
        f->stopped = true;
        free(f->rest);
        f->rest = NULL;
        f->rest_len = 0;
        relay_eof_in(f->relay);
    }
    f->waiting = false;
    f->hold_req[0] = '\0';
}

/* The held line may run: its Enter (pty), or the whole line (no pty, buffered). */
static void release(struct cmdfilter *f)
{
    if (f->pty) {
        to_target(f, "\r", 1);
    } else {
        size_t n = strlen(f->raw);

        f->raw[n] = '\n';
        to_target(f, f->raw, n + 1);
        f->raw[n] = '\0';
    }
    f->waiting = false;
    f->hold_req[0] = '\0';
}

/* What the filter decided, once the bytes before the key reached the target. */
static void act_run(struct cmdfilter *f)
{
    char msg[GOV_COMMAND_MAX + 256];
    const json_t *rule = NULL;
    const char *reason;

    if (f->act == CMDFILTER_NONE || !relay_in_empty(f->relay))
        return;
    if (f->act == CMDFILTER_HOLD) {
        f->waiting = true;
        report(f);
    } else {
        gov_command_decide(f->policy, "exec", f->cmd, &rule);
        reason = json_string_value(json_object_get(rule, "reason"));
        if (!f->cmd[0] && !f->pty)
            snprintf(msg, sizeof(msg), "a line longer than %u bytes cannot be checked",
                     GOV_COMMAND_MAX);
        else if (!f->cmd[0])
            snprintf(
                msg, sizeof(msg),
                "this line was edited with keys the broker cannot follow (history, completion, "
                "cursor movement); type the command out in full");
        else if (!f->echoed)
            snprintf(msg, sizeof(msg),
                     "a line typed without echo was not sent: the policy refuses it");
        else
            snprintf(msg, sizeof(msg), "\"%s\" refused by policy: %s", f->cmd,
                     reason && *reason ? reason : "not among the commands allowed on this account");
        report(f);
        drop(f, msg);
    }
    f->act = CMDFILTER_NONE;
}

static void tell_cb(void *ctx, const char *msg)
{
    struct cmdfilter *f = ctx;

    f->io.tell(f->io.ctx, msg);
}

static void on_answer(void *ctx, int err, json_t *res, const char *errmsg)
{
    struct cmdfilter *f = ctx;
    const char *action = json_string_value(json_object_get(res, "action"));
    char msg[GOV_COMMAND_MAX + 256];

    if (f->halted || !f->waiting)
        return;
    if (err || !action) {
        snprintf(msg, sizeof(msg), "\"%s\" not sent: %s", f->cmd,
                 errmsg ? errmsg : "the vault did not decide");
        drop(f, msg);
    } else if (strcmp(action, "allow") == 0) {
        release(f);
    } else if (strcmp(action, "hold") == 0) {
        snprintf(f->hold_req, sizeof(f->hold_req), "%s",
                 json_string_value(json_object_get(res, "request")) ?: "");
        f->hold_until = (time_t)json_integer_value(json_object_get(res, "expires_at"));
        cmdfilter_tell_hold(tell_cb, f, f->cmd, f->hold_req, f->hold_until, res);
        say(f, "waiting; ^C withdraws the request");
    } else {
        snprintf(msg, sizeof(msg), "\"%s\" refused by policy", f->cmd);
        drop(f, msg);
    }
    f->io.wake(f->io.ctx);
}

/* While a typed line waits: the admin's keys are dropped, but ^C withdraws the request. */
static bool wait_input(struct cmdfilter *f)
{
    char in[256];
    int n;

    if (!f->pty)
        return false; /* a script just waits: what follows runs once the line is decided */
    if ((n = relay_in_read(f->relay, in, sizeof(in))) <= 0)
        return false;
    if (memchr(in, 0x03, (size_t)n) && f->hold_req[0]) {
        vlink_call(f->vault, "session.command",
                   json_pack("{s:s,s:s}", "session", f->vsession, "cancel", f->hold_req), NULL,
                   NULL);
        drop(f, "request withdrawn");
    }
    return true;
}

void cmdfilter_decided(struct cmdfilter *f, const json_t *data)
{
    const char *st = json_string_value(json_object_get(data, "state")) ?: "";
    const json_t *d = json_object_get(data, "denial");
    char msg[GOV_COMMAND_MAX + 512];

    if (strcmp(st, "approved") == 0) {
        say(f, "request %s approved; running \"%s\"", f->hold_req, f->cmd);
        release(f);
        return;
    }
    if (strcmp(st, "denied") == 0)
        snprintf(msg, sizeof(msg), "\"%s\" was denied by %s: %s", f->cmd,
                 json_string_value(json_object_get(d, "by")) ?: "an approver",
                 json_string_value(json_object_get(d, "comment")) ?: "");
    else
        snprintf(msg, sizeof(msg), "\"%s\" was not approved (%s)", f->cmd,
                 strcmp(st, "expired") == 0 ? "no decision within the time allowed" : st);
    drop(f, msg);
}

void cmdfilter_tick(struct cmdfilter *f, time_t wall)
{
    if (f->waiting && f->hold_req[0] && wall > f->hold_until + 2)
        drop(f, "the request was not decided in time; the line was not sent");
}

/* ---- scripts (no pty) ------------------------------------------------------------- */

/*
 * Lines are kept back whole until their newline and sent only when
 * allowed, so a refused line never reaches the shell.  Returns the input
 * consumed; the allowed lines are appended to out (room for len +
 * GOV_COMMAND_MAX + 1).
 */
static size_t raw_lines(struct cmdfilter *f, const char *in, size_t len, char *out, size_t *olen)
{
    size_t i = 0;

    while (i < len) {
        const json_t *rule = NULL;
        struct lineedit_line l;
        enum gov_cmd_action a;
        bool done;

        i += lineedit_feed_raw(&f->le, in + i, len - i, &done, &l);
        if (!done)
            break;
        /* A line with a control byte or too long to check is refused whole. */
        lineedit_join(l.text, f->cmd, sizeof(f->cmd));
        gov_command_normalize(f->cmd, f->cmd, sizeof(f->cmd));
        a = l.unknown ? GOV_CMD_DENY : gov_command_decide(f->policy, "exec", f->cmd, &rule);
        if (!f->cmd[0] && !l.unknown)
            a = GOV_CMD_ALLOW;
        if (a == GOV_CMD_ALLOW) {
            memcpy(out + *olen, l.text, l.len);
            *olen += l.len;
            out[(*olen)++] = '\n';
            continue;
        }
        memcpy(f->raw, l.text, l.len + 1);
        if (l.unknown)
            f->cmd[0] = '\0';
        f->echoed = l.echoed; /* what is sent is what is checked */
        f->act = a == GOV_CMD_HOLD ? CMDFILTER_HOLD : CMDFILTER_DENY;
        return i;
    }
    return len;
}

/* Keep what follows a held line for once it is decided. */
static void rest_keep(struct cmdfilter *f, const char *d, size_t n)
{
    char *r = malloc(f->rest_len + n);

    if (!r) {
        drop(f, "out of memory while a line waits");
        return;
    }
    memcpy(r, d, n);
    if (f->rest_len)
        memcpy(r + n, f->rest, f->rest_len);
    free(f->rest);
    f->rest = r;
    f->rest_len += n;
}

/* Admin to target without a pty (see raw_lines). */
static bool raw_input(struct cmdfilter *f)
{
    char in[16384]; /* with a held line's remainder, fits a carry */
    char *out;
    uint32_t room;
    size_t n, used, olen = 0;
    bool moved;
    int k;

    moved = relay_flush_in(f->relay);
    if (!relay_in_empty(f->relay))
        return moved;
    if (f->waiting || f->act != CMDFILTER_NONE)
        return moved;
    room = relay_in_room(f->relay);
    if (room == 0 || !(out = relay_in_space(f->relay)))
        return moved;
    if (f->rest_len) {
        n = f->rest_len < sizeof(in) ? f->rest_len : sizeof(in);
        memcpy(in, f->rest, n);
        memmove(f->rest, f->rest + n, f->rest_len - n);
        f->rest_len -= n;
    } else {
        k = relay_in_read(f->relay, in, room < sizeof(in) ? room : sizeof(in));
        if (k == SSH_EOF && lineedit_pending(&f->le) > 0 && !f->stopped) {
            /* The last line has no newline: the shell would run it at EOF all the same. */
            in[0] = '\n';
            n = 1;
        } else if (k <= 0) {
            return moved;
        } else {
            n = (size_t)k;
        }
    }
    if (f->stopped)
        return true; /* a line was refused: the rest is dropped */
    used = raw_lines(f, in, n, out, &olen);
    if (used < n)
        rest_keep(f, in + used, n - used);
    relay_in_commit(f->relay, olen);
    return true;
}

/* ---- the relay step ---------------------------------------------------------------- */

bool cmdfilter_step(struct cmdfilter *f)
{
    bool moved = false;

    if (!f->pty)
        moved = raw_input(f);
    else if (f->waiting)
        moved = wait_input(f);
    else if (f->act == CMDFILTER_NONE)
        moved = relay_move_in(f->relay);
    act_run(f);
    return moved;
}

bool cmdfilter_input_done(const struct cmdfilter *f)
{
    return relay_in_empty(f->relay) && !f->rest_len && !f->waiting && f->act == CMDFILTER_NONE &&
           (!f->on || f->pty || lineedit_pending(&f->le) == 0 || f->stopped);
}

bool cmdfilter_is_waiting(const struct cmdfilter *f)
{
    return f->waiting;
}

void cmdfilter_halt(struct cmdfilter *f)
{
    f->halted = true;
}

void cmdfilter_fini(struct cmdfilter *f)
{
    if (f->vault)
        vlink_cancel(f->vault, f);
    free(f->rest);
    f->rest = NULL;
    f->rest_len = 0;
}
