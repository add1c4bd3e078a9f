/* SPDX-License-Identifier: Apache-2.0 */
/* Guarded, locked buffers for secrets: keys, passphrases, decrypted credentials. */
#ifndef CUSTOS_SECBUF_H
#define CUSTOS_SECBUF_H

#include <stddef.h>

#include "custos/err.h"

/*
 * A secbuf lives in sodium_malloc() memory: guard pages on both sides,
 * mlock()ed, and wiped by sodium_free().  The type is opaque and its data
 * accessor returns `void *` so it cannot be handed to a %s format by
 * accident (-Wformat is an error in every build).  secbuf_init() must run
 * (it calls sodium_init) before any other function here.
 */
struct secbuf;

/* Initialise libsodium. Returns 0 or -ERR_CRYPTO. Safe to call more than once. */
MUST_CHECK int secbuf_init(void);

/* New buffer of capacity `cap` (>0), length 0, zero-filled. *out owned by caller. */
MUST_CHECK int secbuf_new(size_t cap, struct secbuf **out);
/* New buffer holding a copy of `len` bytes at `src`. */
MUST_CHECK int secbuf_from(const void *src, size_t len, struct secbuf **out);
/* New buffer holding a copy of another secbuf. */
MUST_CHECK int secbuf_dup(const struct secbuf *src, struct secbuf **out);
/* Wipe and free; NULL is fine. */
void secbuf_free(struct secbuf *b);

/* Borrowed pointer to the data; valid until secbuf_free(). */
void *secbuf_data(struct secbuf *b);
const void *secbuf_cdata(const struct secbuf *b);
size_t secbuf_len(const struct secbuf *b);
size_t secbuf_cap(const struct secbuf *b);
/* Set the used length (<= cap); wipes bytes past the new length. -ERR_INVAL if len > cap. */
MUST_CHECK int secbuf_set_len(struct secbuf *b, size_t len);
/* Append bytes; -ERR_TOO_LONG if it does not fit (secbufs never move: no realloc). */
MUST_CHECK int secbuf_append(struct secbuf *b, const void *src, size_t len);
/* Constant-time equality of two buffers (lengths compared first). */
int secbuf_equal(const struct secbuf *a, const struct secbuf *b);

/* Process hardening for daemons: not dumpable, RLIMIT_CORE 0. Returns 0 or -ERR_INTERNAL. */
MUST_CHECK int secbuf_harden_process(void);

#endif
