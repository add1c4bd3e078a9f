/* SPDX-License-Identifier: Apache-2.0 */
/* What the admin asked of the session channel: recorded by the admin leg, replayed on the target.
 */
#ifndef BROKER_CHANREQ_H
#define BROKER_CHANREQ_H

#include <stdbool.h>

/* CHANREQ_FORWARD: only forwards (ssh -J / -W as ACCOUNT@TARGET), no session channel at all. */
enum chanreq_kind {
    CHANREQ_NONE,
    CHANREQ_SHELL,
    CHANREQ_EXEC,
    CHANREQ_SUBSYSTEM,
    CHANREQ_FORWARD,
};

/*
 * Written by the admin leg's callbacks as the requests arrive (one shell,
 * exec or subsystem per session), read by the target leg when it replays
 * them and by the relay phase, which carries later window changes and
 * signals over.
 */
struct chanreq {
    enum chanreq_kind kind;
    char *command; /* exec command or subsystem name; owned, freed with the session */
    bool have_pty;
    char term[64];
    int cols, rows, pxw, pxh;
    bool resize_pending; /* the size changed since the target last heard it */
    char pending_signal[32];
};

#endif
