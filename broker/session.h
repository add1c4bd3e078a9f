/* SPDX-License-Identifier: Apache-2.0 */
/* One brokered session, inside the broker: its state machine and what session.c and decide.c share.
 */
#ifndef BROKER_SESSION_H
#define BROKER_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>
#include <uv.h>

#include "admin.h"
#include "broker.h"
#include "cmdfilter.h"
#include "forward.h"
#include "relay.h"
#include "target.h"

/*
 * A session is its parts, each with a struct of its own that never pumps
 * and never ends the session (they report through their io callbacks and
 * return values): the admin leg (admin.c), the target leg (target.c), the
 * relay with its tap (relay.c), the typed-line filter over the line editor
 * (cmdfilter.c, lineedit.c) and the forwards (forward.c).  session.c owns
 * the state machine and the lifecycle (pump, teardown, accept, watchdog,
 * events); decide.c asks the vault (authorize, hold, resume, recheck).
 * Nothing else includes this header.
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
#define SESSION_HOLD_POLL_MS 5000u

struct bsess {
    struct bloop *bl;
    struct bsess *next, *prev;
    uint64_t id;
    enum state state;
    bool in_pump, dead;
    unsigned open_handles;
    uint64_t started_ms, last_activity_ms, state_since_ms;

    /* admin leg */
    struct admin_leg adm;
    uv_poll_t spoll;
    bool spoll_open, kex_done, admin_closed;
    bool exit_sent; /* the admin has its exit status */
    struct selfsvc_job *selfjob;
    struct selfmenu *menu;
    char notice[256]; /* told to the admin once the session channel exists */
    char end_reason[256];

    /* the vault's decision */
    char vsession[48];
    char identity[80];
    char grant[48];
    char account[256];
    char target[80];
    int64_t expires_at; /* 0: standing access */
    bool warned;
    json_t *policy;        /* the entitlement's command policy, as session.open answered it */
    char hold_req[32];     /* the held exec/subsystem's request */
    time_t hold_until;     /* when the vault expires it */
    uint64_t hold_poll_ms; /* last session.resume asked while held */

    struct target_leg tl;
    struct relay relay;
    struct cmdfilter cf;
    struct fwdset fwd;
};

/* session.c */
uint64_t session_now_ms(const struct bsess *s);
void session_set_state(struct bsess *s, enum state st);
/* A line on the admin's stderr ("custos: ..."), shown by OpenSSH as is. */
void session_tell(struct bsess *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Refuse or end the session with a reason the admin can act on; exit status 255. */
void session_finish(struct bsess *s, const char *reason);
/* Let libssh run on both legs and act on what it recorded; re-entry is a no-op. */
void session_pump(struct bsess *s);
/* The vault authorized the session: start the target leg (ST_CONNECT). */
void session_connect(struct bsess *s);

/* decide.c */
/* Ask the vault to open the session (ST_AUTHORIZE); on_authorized carries on. */
void decide_authorize(struct bsess *s);
/* A held command: ask again whether it was decided (after request.decided, or as a backstop). */
void decide_resume(struct bsess *s);
/* Ask the vault again whether this session may go on (grant ended, identity left...). */
void decide_recheck(struct bsess *s);

#endif
