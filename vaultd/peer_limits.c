/* SPDX-License-Identifier: Apache-2.0 */
/* Connection admission, line limits, silence exemptions and rate-limited refusal logs. */
#include "peer_limits.h"
#include "scopes.h"

enum peer_verdict peer_limits_admit(const struct vconf *conf,
                                    const struct vconf_principal *principal, bool self,
                                    unsigned n_conns, unsigned n_same_uid)
{
    /* A peer that may call nothing gets nothing: not a slot, not a line buffer. */
    if (!principal && !self)
        return PEER_NO_PRINCIPAL;
    if (n_conns >= conf->max_clients)
        return PEER_FULL;
    if (!self && n_same_uid >= conf->max_clients_per_uid)
        return PEER_UID_FULL;
    return PEER_ADMIT;
}

size_t peer_limits_line_max(const struct vconf *conf, const struct vconf_principal *principal,
                            bool self)
{
    if (self || (principal && (principal->scopes & (SCOPE(WRITE) | SCOPE(GOV)))))
        return conf->max_line;
    return conf->max_line_short < conf->max_line ? conf->max_line_short : conf->max_line;
}

bool peer_limits_quiet_exempt(const struct vconf_principal *principal, bool self)
{
    return self || (principal && (principal->scopes & (SCOPE(AUTHORIZE) | SCOPE(BROKER))));
}

bool peer_log_refusal(struct peer_log *l, uint64_t now_ms, unsigned *held_back)
{
    *held_back = 0;
    if (l->last_ms && now_ms - l->last_ms < PEER_LOG_INTERVAL_MS) {
        l->suppressed++;
        return false;
    }
    *held_back = l->suppressed;
    l->suppressed = 0;
    l->last_ms = now_ms ? now_ms : 1;
    return true;
}

unsigned peer_log_take_stale(struct peer_log *l, uint64_t now_ms)
{
    unsigned n = l->suppressed;

    if (n == 0 || now_ms - l->last_ms < PEER_LOG_INTERVAL_MS)
        return 0;
    l->suppressed = 0;
    l->last_ms = now_ms ? now_ms : 1;
    return n;
}
