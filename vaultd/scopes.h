/* SPDX-License-Identifier: Apache-2.0 */
/* API scopes: what a principal (SO_PEERCRED uid/gid) may do over the socket. */
#ifndef VAULTD_SCOPES_H
#define VAULTD_SCOPES_H

/* X(NAME, "config-name", "what it allows") */
#define SCOPE_LIST(X)                                                                              \
    X(STATUS, "status", "vault.status (also granted to every known principal)")                    \
    X(UNSEAL, "unseal", "vault.unseal")                                                            \
    X(ADMIN, "admin", "vault.init, vault.seal, vault.rekey, vault.backup, vault.restore")          \
    X(READ, "read", "target/account get and list, secret.list, secret.history")                    \
    X(WRITE, "write", "target/account create, update, delete; secret.put, secret.promote")         \
    X(SECRET, "secret", "secret.get: release a decrypted credential")                              \
    X(AUDIT, "audit", "audit.verify, audit.export")                                                \
    X(GOV, "gov", "governance administration: identities, roles, rules, SoD, campaigns, HR sync")  \
    X(REQUEST, "request", "self-service as the principal's identity: request, approve, review")    \
    X(ACT_AS, "act_as",                                                                            \
      "act as any identity (\"as\" argument): trusted front ends such as the broker")              \
    X(AUTHORIZE, "authorize", "gov.authorize, gov.evidence, events.subscribe (the broker)")        \
    X(BROKER, "broker", "session.open/close: a session's credential, for the SSH broker only")

enum scope_bit {
#define SCOPE_ENUM(n, s, d) SCOPE_BIT_##n,
    SCOPE_LIST(SCOPE_ENUM)
#undef SCOPE_ENUM
        SCOPE__COUNT
};

#define SCOPE(n) (1u << SCOPE_BIT_##n)
#define SCOPE_ALL ((1u << SCOPE__COUNT) - 1u)

#endif
