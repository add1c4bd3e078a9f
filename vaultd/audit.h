/* SPDX-License-Identifier: Apache-2.0 */
/* Tamper-evident audit log in LMDB: keyed BLAKE2b chain plus Ed25519 signed checkpoints. */
#ifndef VAULTD_AUDIT_H
#define VAULTD_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "custos/secbuf.h"
#include "store.h"

/* A signed checkpoint is written every this many entries (and at every seal). */
#define AUDIT_CHECKPOINT_EVERY 64u

/*
 * The audit keys of an unsealed vault: a 32-byte BLAKE2b MAC key for the
 * chain and an Ed25519 key pair for checkpoints.  Both are kept sealed under
 * the DEK in STORE_SECRETS (reserved keys "!audit/mac" and "!audit/sign",
 * so store_reseal_all carries them through a rekey); the public key is also
 * kept in clear in STORE_META "audit" so that auditors can pin it.
 */
struct audit;

/*
 * Load the audit keys (creating them inside `txn`, which must then be a write
 * txn, on first use).  *out freed (wiped) with audit_free().
 */
MUST_CHECK int audit_open(struct store *s, MDB_txn *txn, const struct secbuf *dek,
                          struct audit **out);
void audit_free(struct audit *a);

/*
 * Append one entry inside the caller's write txn.  `event` (borrowed) is an
 * object with the fields of the event: "principal", "uid", "op", "object",
 * "result", "detail" (any may be absent).  audit_append adds "seq" (last+1,
 * read from the txn, so it is right after any abort), "time" (Unix seconds,
 * fractional), "prev" and "hash" (hex), where
 *   hash = BLAKE2b-256(key=mac, prev || le64(seq) || canonical JSON of the
 *          entry without "hash")
 * and writes a signed checkpoint when seq % AUDIT_CHECKPOINT_EVERY == 0.
 * It also rewrites the signed head in STORE_META "audit_head", so removal of
 * tail entries is detected.  The entry is durable when the txn commits: a
 * caller that releases a secret commits first and answers after
 * (audit-or-deny).  Never put secret values in `event`.
 */
MUST_CHECK int audit_append(struct audit *a, MDB_txn *txn, json_t *event);

/* Write a signed checkpoint of the current head now (used at seal). */
MUST_CHECK int audit_checkpoint(struct audit *a, MDB_txn *txn);

/*
 * Walk the whole chain: recompute every hash, check seq continuity, every
 * checkpoint signature and hash, and the signed head against the last entry.
 * *report (new object): {"ok", "entries", "checkpoints", "head": {"seq","hash"},
 * "pubkey", "error": {"seq", "reason"} (only when not ok)}.  Returns 0 even
 * when the chain is broken (the report says so); errors are for I/O.
 */
MUST_CHECK int audit_verify(struct audit *a, MDB_txn *txn, json_t **report);

/* Entries with seq > after, at most `limit`, as {"entries": [...], "next": seq|null}. */
MUST_CHECK int audit_export(struct store *s, MDB_txn *txn, uint64_t after, size_t limit,
                            json_t **out);

/* Hex of the Ed25519 public key (static buffer inside *a, valid until audit_free). */
const char *audit_pubkey_hex(const struct audit *a);

#endif
