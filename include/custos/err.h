/* SPDX-License-Identifier: Apache-2.0 */
/* Error codes of libcustos: one enum, one message table, generated from one list. */
#ifndef CUSTOS_ERR_H
#define CUSTOS_ERR_H

#define MUST_CHECK __attribute__((warn_unused_result))

/*
 * ERR_LIST(X): X(NAME, "api-code", "message").  The api-code is the stable,
 * lower-case string used in socket API error answers (docs/api.md); the
 * message is for people.  Append only: codes are part of the protocol.
 */
#define ERR_LIST(X)                                                                                \
    X(OK, "ok", "success")                                                                         \
    X(INTERNAL, "internal", "internal error")                                                      \
    X(NOMEM, "nomem", "out of memory")                                                             \
    X(INVAL, "invalid", "invalid argument")                                                        \
    X(NOT_FOUND, "not_found", "not found")                                                         \
    X(EXISTS, "exists", "already exists")                                                          \
    X(SEALED, "sealed", "vault is sealed")                                                         \
    X(NOT_INIT, "not_initialized", "vault is not initialized")                                     \
    X(ALREADY_INIT, "already_initialized", "vault is already initialized")                         \
    X(AUTH, "auth_failed", "authentication failed")                                                \
    X(DENIED, "denied", "permission denied")                                                       \
    X(TOO_LONG, "too_long", "input too long")                                                      \
    X(PARSE, "parse", "malformed input")                                                           \
    X(CORRUPT, "corrupt", "data is corrupt")                                                       \
    X(SCHEMA, "schema", "unsupported schema version")                                              \
    X(IO, "io", "input/output error")                                                              \
    X(TAMPERED, "tampered", "integrity check failed")                                              \
    X(BUSY, "busy", "busy, try again")                                                             \
    X(UNKNOWN_OP, "unknown_op", "unknown operation")                                               \
    X(CONN, "connection", "connection failed")                                                     \
    X(TIMEOUT, "timeout", "timed out")                                                             \
    X(CONFIG, "config", "configuration error")                                                     \
    X(AUDIT, "audit_failed", "audit log could not be written; request refused")                    \
    X(FULL, "full", "storage is full")                                                             \
    X(CRYPTO, "crypto", "cryptographic operation failed")                                          \
    X(STATE, "bad_state", "operation not allowed in the current state")                            \
    X(CLOSED, "closed", "connection closed")

enum err {
#define ERR_ENUM(n, c, m) ERR_##n,
    ERR_LIST(ERR_ENUM)
#undef ERR_ENUM
        ERR__COUNT
};

/*
 * Functions return 0 (ERR_OK) or a negative error: -ERR_NOT_FOUND etc.
 * The helpers below accept either sign.
 */

/* Stable API code ("not_found"); "internal" for out-of-range values. Static string. */
const char *err_name(int r);

/* Human message ("not found"). Static string. */
const char *err_str(int r);

/* Map an API code back to a negative error; -ERR_INTERNAL when unknown. */
int err_from_name(const char *name);

#endif
