/* SPDX-License-Identifier: Apache-2.0 */
/* Envelope crypto: XChaCha20-Poly1305 with associated data (vault keys only). */
#ifndef VAULTD_CRYPT_H
#define VAULTD_CRYPT_H

#include <stddef.h>

#include "custos/secbuf.h"

#define CRYPT_KEY_LEN 32u
#define CRYPT_NONCE_LEN 24u
#define CRYPT_TAG_LEN 16u
/* Sealed form is nonce || ciphertext || tag: plaintext length + CRYPT_OVERHEAD. */
#define CRYPT_OVERHEAD (CRYPT_NONCE_LEN + CRYPT_TAG_LEN)

/*
 * Seal `plen` bytes at `plain` under `key` (CRYPT_KEY_LEN bytes) with a fresh
 * random nonce.  `ad` binds the value to its place (record key, version) so it
 * cannot be moved or rolled back unnoticed.  `out` must hold plen +
 * CRYPT_OVERHEAD bytes.  Returns 0, -ERR_INVAL (key length).
 */
MUST_CHECK int crypt_seal(const struct secbuf *key, const void *ad, size_t adlen, const void *plain,
                          size_t plen, unsigned char *out);

/*
 * Open a sealed value into a new secbuf (*out, caller frees).  Never decrypts
 * in place, so `in` may be borrowed from an LMDB map.  Returns 0,
 * -ERR_CORRUPT (too short), -ERR_TAMPERED (wrong key, AD or modified bytes).
 */
MUST_CHECK int crypt_open(const struct secbuf *key, const void *ad, size_t adlen,
                          const unsigned char *in, size_t inlen, struct secbuf **out);

/* A new random key of CRYPT_KEY_LEN bytes. */
MUST_CHECK int crypt_key_new(struct secbuf **out);

#endif
