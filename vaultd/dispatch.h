/* SPDX-License-Identifier: Apache-2.0 */
/* Request objects and the op table: who may call what, in which vault state, where it runs. */
#ifndef VAULTD_DISPATCH_H
#define VAULTD_DISPATCH_H

#include <stdbool.h>
#include <sys/types.h>

#include <jansson.h>
#include <lmdb.h>

#include "vaultd.h"

/* Where a handler runs. */
enum op_kind {
    OP_LOOP,      /* on the loop thread, no transaction */
    OP_READ,      /* on the loop thread with a read txn */
    OP_WRITE,     /* in a writer batch with a nested write txn (audited) */
    OP_EXCLUSIVE, /* alone on the threadpool, then op->post on the loop thread */
};

/* Vault states in which an op is served. */
#define ST_UNINIT (1u << VAULT_UNINITIALIZED)
#define ST_SEALED (1u << VAULT_SEALED)
#define ST_UNSEALED (1u << VAULT_UNSEALED)

struct op {
    const char *name;
    unsigned scope;  /* SCOPE(...) bits required */
    unsigned states; /* ST_* bits */
    enum op_kind kind;
    /* OP_WRITE: txn is a nested write txn; OP_READ: a read txn; else NULL. */
    int (*handler)(struct vaultd *vd, struct req *rq, MDB_txn *txn);
    /* OP_EXCLUSIVE only, on the loop thread after the handler (may be NULL). */
    void (*post)(struct vaultd *vd, struct req *rq);
};

/* One request from one connection, answered in order on that connection. */
struct req {
    struct conn *conn;     /* NULL once the connection is gone */
    struct req *conn_next; /* per-connection answer order */
    struct req *next;      /* writer queue */
    const struct op *op;
    json_t *id;   /* echoed (may be null) */
    json_t *args; /* object, never NULL */
    char principal[64];
    uid_t uid;
    gid_t gid;
    bool done;
    int err;          /* 0 or negative ERR_* */
    char errmsg[256]; /* detail for the error answer (no secrets) */
    json_t *result;
    /* Exclusive ops hand their new state from the worker to post(). */
    struct secbuf *new_kek, *new_dek;
    struct audit *new_audit;
    json_t *new_desc;
    struct store *new_store;
    /* Caller context for governance. */
    unsigned scopes;   /* SCOPE() bits of the caller (SCOPE_ALL for self) */
    char identity[65]; /* identity bound to the caller's principal, "" if none */
    /* Pushed/armed by the server only once the request's txn is durable. */
    json_t *events;      /* array of {"event","at","data"} or NULL */
    json_t *timers;      /* array of {"at","kind","id"} or NULL */
    json_t *errdata;     /* extra members of the error object (e.g. "errors"), or NULL */
    bool store_replaced; /* restore reached store_restore: new_store is the store now */
    /*
     * The handler refused (err set), yet what it wrote must commit all the
     * same: a request found past its deadline is marked expired and audited
     * while the approval is refused.  Its events and timers go out as for a
     * success; a failed commit clears it.
     */
    bool keep_writes;
};

/*
 * Why `op` is not served in the vault's current state: -ERR_NOT_INIT,
 * -ERR_SEALED (the codes a broker shows as "the vault is not initialized" /
 * "the vault is sealed"), -ERR_ALREADY_INIT for vault.init, else -ERR_STATE.
 */
int dispatch_state_error(const struct vaultd *vd, const struct op *op);

/* Look up an op by name; NULL if unknown. */
const struct op *dispatch_find(const char *name);

/*
 * Run or queue `rq` (already checked for scope and shape).  The answer is
 * produced through server_req_done() when it completes.
 */
void dispatch_req(struct vaultd *vd, struct req *rq);

/* Set rq->err and a detail message (printf; never pass a secret). */
void req_fail(struct req *rq, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Append an audit entry for rq inside txn: object (may be NULL), detail (stolen, may be NULL). */
MUST_CHECK int req_audit(struct vaultd *vd, struct req *rq, MDB_txn *txn, const char *object,
                         json_t *detail);

/* The audit event object for rq (new reference); detail is stolen. */
json_t *req_audit_event(const struct req *rq, const char *object, json_t *detail);

/* Writer (writer.c). */
void writer_submit(struct vaultd *vd, struct req *rq);
bool writer_idle(const struct vaultd *vd);

/* server.c: called on the loop thread when rq has its result or error. */
void server_req_done(struct vaultd *vd, struct req *rq);
/* events.subscribe: deliver events of `types` (array, [] = all) to rq's connection. */
MUST_CHECK int server_subscribe(struct req *rq, json_t *types);
/* Free a request (after its answer is written). */
void req_free(struct req *rq);

/* Op handler tables, one per family (ops_*.c). */
extern const struct op ops_vault[];
extern const struct op ops_objects[];
extern const struct op ops_secret[];
extern const struct op ops_audit[];
extern const struct op ops_gov_identity[];
extern const struct op ops_gov_policy[];
extern const struct op ops_gov_request[];
extern const struct op ops_gov_review[];
extern const struct op ops_gov_sync[];
extern const struct op ops_gov_history[];
extern const struct op ops_rotate[];
extern const struct op ops_events[];
extern const struct op ops_session[];

/* Argument helpers for handlers: on a missing/mistyped arg they req_fail(-ERR_INVAL) and return it.
 */
MUST_CHECK int arg_str(struct req *rq, const char *key, bool required, const char **out);
MUST_CHECK int arg_uint(struct req *rq, const char *key, bool required, unsigned long long max,
                        unsigned long long *out);
/* Names: 1..64 of [A-Za-z0-9._-], not starting with '.' or '-'. */
bool name_is_valid(const char *s);

#endif
