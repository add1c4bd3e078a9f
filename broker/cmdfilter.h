/* SPDX-License-Identifier: Apache-2.0 */
/* The typed-line filter: a shell's lines checked against the command policy before they run. */
#ifndef BROKER_CMDFILTER_H
#define BROKER_CMDFILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "custos/gov.h"
#include "lineedit.h"
#include "relay.h"
#include "vlink.h"

/*
 * Best effort by nature (docs/command-policy.md): the line editor
 * (lineedit.c) follows the keys; at each key on which the shell may run the
 * line, the filter asks the policy.  A refused line never gets its Enter (a
 * ^C discards it on the target); a held one waits, its Enter kept back,
 * until an approver decides.  Without a pty the input is a script: lines are
 * kept back whole until their newline and sent only when allowed, and the
 * script stops (EOF) at a refused line.  Refusals and holds are reported to
 * the vault (session.command), which audits them and files the requests.
 */

/* The editor follows exactly the lines the command policy can check. */
_Static_assert(LINEEDIT_MAX == GOV_COMMAND_MAX, "lineedit and cmdpolicy disagree on a line");

/*
 * The owner's side, on the loop thread: tell() a line on the admin's
 * stderr; end() the session with a reason (the broker cannot deliver its own
 * input); wake() after a vault answer changed something (pump).  After
 * cmdfilter_halt() no vault answer reaches them any more.
 */
struct cmdfilter_io {
    void *ctx;
    void (*tell)(void *ctx, const char *msg);
    void (*end)(void *ctx, const char *reason);
    void (*wake)(void *ctx);
};

/* What the filter decided at a key, acted on once the bytes before it reached the target. */
enum cmdfilter_act { CMDFILTER_NONE, CMDFILTER_DENY, CMDFILTER_HOLD };

/*
 * Embedded in its session, all-zero to start.  The owner sets the first
 * block when the vault has answered (on: a shell whose policy can refuse
 * or hold a command) and, while relaying, gives the relay the hooks
 * cmdfilter_input and cmdfilter_echo with this filter as their ctx.
 */
struct cmdfilter {
    bool on, pty;
    struct cmdfilter_io io;
    struct vlink *vault;
    struct relay *relay;  /* borrowed: the session's */
    const char *vsession; /* borrowed: the vault's session id */
    const json_t *policy; /* borrowed: the entitlement's */

    struct lineedit le; /* the line being typed, and the target's echo of it */
    enum cmdfilter_act act;
    bool echoed;                   /* the line came back from the target as typed */
    char cmd[GOV_COMMAND_MAX + 1]; /* the refused or held line, normalized ("": unknown) */
    char raw[GOV_COMMAND_MAX + 2]; /* no pty: the held line as typed (and room for \n) */
    bool waiting;                  /* a typed line waits for the vault or an approver */
    char hold_req[32];             /* its request, once the vault filed it */
    time_t hold_until;             /* when the vault expires it */
    char *rest;                    /* no pty: input read but not yet checked (after a held line) */
    size_t rest_len;
    bool stopped; /* no pty: a line was refused, nothing more goes to the target */
    bool halted;
};

/* relay_io hooks: the admin's keys (returns how many go), and the target's echo of them. */
size_t cmdfilter_input(void *ctx, const char *p, size_t n);
void cmdfilter_echo(void *ctx, const char *p, size_t n);

/*
 * One relay step of the admin's input under the filter: read, check and
 * send (or keep back, or wait), then act on a decision whose bytes before it
 * have reached the target.  True when bytes moved.
 */
bool cmdfilter_step(struct cmdfilter *f);

/* Nothing of the admin's input is left to check or send (the admin's EOF may follow). */
bool cmdfilter_input_done(const struct cmdfilter *f);

/* A typed line waits for an approver (or for the vault to file its request). */
bool cmdfilter_is_waiting(const struct cmdfilter *f);

/* request.decided for hold_req: run the line, or drop it with the approver's reason. */
void cmdfilter_decided(struct cmdfilter *f, const json_t *data);

/* Once a second: a line whose request expired (wall > hold_until + 2) is dropped. */
void cmdfilter_tick(struct cmdfilter *f, time_t wall);

/* The session stops relaying: vault answers still due are ignored. */
void cmdfilter_halt(struct cmdfilter *f);

/* Forget pending vault answers and free what is kept back. */
void cmdfilter_fini(struct cmdfilter *f);

/*
 * Tell the admin who must approve `what`, under request `req`, and by when
 * (`until`, Unix time): two lines through tell(ctx, line).  hold is the
 * vault's hold object (approvers, reason).  Also used for held execs.
 */
void cmdfilter_tell_hold(void (*tell)(void *ctx, const char *msg), void *ctx, const char *what,
                         const char *req, time_t until, const json_t *hold);

#endif
