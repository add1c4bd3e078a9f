/* SPDX-License-Identifier: Apache-2.0 */
/* Shamir secret sharing over GF(2^8), and the printable share format. */
#ifndef VAULTD_SHAMIR_H
#define VAULTD_SHAMIR_H

#include <stddef.h>

#include "custos/secbuf.h"

#define SHAMIR_MAX_SHARES 255u

/*
 * Split `secret` into n shares, any k of which (2 <= k <= n <= 255)
 * reconstruct it; fewer reveal nothing.  Each share is a new secbuf of
 * 1 + len bytes: x (1..n) then the evaluations.  shares[] (n entries) is
 * filled only on success; the caller frees each.  Coefficients come from
 * randombytes_buf and are wiped.
 */
MUST_CHECK int shamir_split(const struct secbuf *secret, unsigned k, unsigned n,
                            struct secbuf **shares);

/*
 * Lagrange interpolation at 0 of `count` shares (same length, distinct
 * non-zero x).  Returns -ERR_INVAL for duplicates/mismatched lengths.  Any
 * `count` shares give *some* secret: whether it is the right one is for the
 * caller to check (vaultd: the wrapped DEK fails to open).
 */
MUST_CHECK int shamir_combine(struct secbuf *const *shares, unsigned count, struct secbuf **out);

/*
 * Printable form: "cst1-<k>-<x>-<hex of y>-<8 hex check>", where check is the
 * first 4 bytes of BLAKE2b("custos-share" || k || x || y).  decode gives
 * -ERR_PARSE for a malformed or mistyped share (check mismatch).  The text is
 * itself a secret and lives in a secbuf (NUL-terminated, len excludes NUL).
 */
MUST_CHECK int shamir_share_encode(const struct secbuf *share, unsigned k, struct secbuf **text);
MUST_CHECK int shamir_share_decode(const char *text, size_t len, unsigned *k,
                                   struct secbuf **share);

#endif
