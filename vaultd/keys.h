/* SPDX-License-Identifier: Apache-2.0 */
/* Key custody: KEK from passphrase (Argon2id), key file or Shamir; DEK wrapping. */
#ifndef VAULTD_KEYS_H
#define VAULTD_KEYS_H

#include <stddef.h>

#include <jansson.h>

#include "custos/secbuf.h"

/*
 * The KEK descriptor is a JSON object kept in STORE_META "kek"; it holds no
 * secret:
 *   {"method": "passphrase"|"keyfile"|"shamir",
 *    "salt": hex16, "opslimit": N, "memlimit": N,        (passphrase)
 *    "threshold": k, "shares": n,                        (shamir)
 *    "dek_id": hex8, "wrapped_dek": hex(nonce||ct||tag)}
 * The DEK is wrapped with crypt_seal under the KEK, associated data
 * "custos-dek-v1:" || dek_id, so a descriptor cannot be spliced with
 * another vault's wrapped key.
 */

/* New descriptor for `method`; passphrase gets a random salt and the given limits. */
MUST_CHECK int keys_desc_new(const char *method, unsigned long long opslimit, size_t memlimit,
                             unsigned threshold, unsigned shares, json_t **out);

/* Argon2id(passphrase, salt, limits from desc) -> 32-byte KEK. Slow: call off the loop. */
MUST_CHECK int keys_kek_from_passphrase(const json_t *desc, const struct secbuf *passphrase,
                                        struct secbuf **kek);

/*
 * Read a key file: exactly 32 raw bytes, or 64 hex characters (a trailing
 * newline allowed).  Refuses (-ERR_CONFIG, logged with the path, never the
 * content) a file readable or writable by group/other or not owned by the
 * caller's euid; -ERR_IO if missing.
 */
MUST_CHECK int keys_kek_from_file(const char *path, struct secbuf **kek);

/* Create a new key file at `path` (O_EXCL, 0600) with 64 random hex characters. */
MUST_CHECK int keys_keyfile_create(const char *path);

/* (Re)wrap `dek` under `kek` into desc ("dek_id" is new random, "wrapped_dek"). */
MUST_CHECK int keys_wrap_dek(json_t *desc, const struct secbuf *kek, const struct secbuf *dek);

/* Unwrap: 0 and *dek, or -ERR_AUTH (wrong KEK), -ERR_CORRUPT (bad descriptor). */
MUST_CHECK int keys_unwrap_dek(const json_t *desc, const struct secbuf *kek, struct secbuf **dek);

/*
 * Collecting Shamir shares for an unseal that may span several callers.
 * add: decodes and stores one share; -ERR_PARSE (malformed), -ERR_INVAL
 * (threshold does not match the vault's, or an x already given: harmless,
 * not counted).  When count reaches the threshold, keys_shares_combine gives
 * the KEK.  free wipes everything.
 */
struct keys_shares;
MUST_CHECK int keys_shares_new(unsigned threshold, struct keys_shares **out);
MUST_CHECK int keys_shares_add(struct keys_shares *ks, const char *text, size_t len);
unsigned keys_shares_count(const struct keys_shares *ks);
MUST_CHECK int keys_shares_combine(const struct keys_shares *ks, struct secbuf **kek);
void keys_shares_free(struct keys_shares *ks);

#endif
