/* SPDX-License-Identifier: Apache-2.0 */
/* Who may hold a connection to the API socket, how many, how long a line and how long silent. */
#ifndef VAULTD_PEER_LIMITS_H
#define VAULTD_PEER_LIMITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vconf.h"

/*
 * Decisions taken at accept from the peer's SO_PEERCRED identity (docs/api.md,
 * "Connection limits").  Pure functions of the configuration and counts the
 * server passes in; the server holds the connections.
 */

enum peer_verdict {
    PEER_ADMIT,
    PEER_NO_PRINCIPAL, /* maps to no principal (and is not the daemon's own uid) */
    PEER_FULL,         /* [api] max_clients connections are open */
    PEER_UID_FULL,     /* this uid holds [api] max_clients_per_uid already */
};

/*
 * May a new connection be served?  `principal` may be NULL; `self` is the
 * daemon's own uid under allow_self (never counted per uid).  `n_conns` counts
 * every open connection but this one, `n_same_uid` those of the same uid that
 * are not closing.
 */
enum peer_verdict peer_limits_admit(const struct vconf *conf,
                                    const struct vconf_principal *principal, bool self,
                                    unsigned n_conns, unsigned n_same_uid);

/*
 * Longest request line of this peer: [api] max_line for the daemon's own uid
 * and for principals holding write or gov (their ops carry secret values,
 * policies and HR feeds), [api] max_line_short for every other principal.
 */
size_t peer_limits_line_max(const struct vconf *conf, const struct vconf_principal *principal,
                            bool self);

/*
 * Is this peer exempt from [api] quiet_timeout?  The daemon's own uid and
 * principals holding authorize or broker: the broker's event link and its
 * blocking MFA link stay open between logins by design.
 */
bool peer_limits_quiet_exempt(const struct vconf_principal *principal, bool self);

/*
 * A log line that an unfriendly peer could repeat at will (a refused
 * connection) is written at most once per PEER_LOG_INTERVAL_MS per kind;
 * the ones held back are counted and reported with the next line.
 */
#define PEER_LOG_INTERVAL_MS 10000u

struct peer_log {
    uint64_t last_ms;    /* when the last line was written; 0: never */
    unsigned suppressed; /* refusals since, not logged */
};

/*
 * A refusal at now_ms: true when it is to be logged now, with *held_back
 * the refusals not logged since the previous line; false: it is counted.
 */
bool peer_log_refusal(struct peer_log *l, uint64_t now_ms, unsigned *held_back);
/* Refusals held back for longer than the interval (the server's 1 s tick reports them); 0: none. */
unsigned peer_log_take_stale(struct peer_log *l, uint64_t now_ms);

#endif
