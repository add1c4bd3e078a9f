/* SPDX-License-Identifier: Apache-2.0 */
/* An append-only Merkle log in the style of RFC 9162: hashes, roots, inclusion and consistency. */
#ifndef CUSTOS_MERKLE_H
#define CUSTOS_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#include "custos/err.h"

/*
 * RFC 9162 section 2.1 with SHA-256: a leaf hash is SHA-256(0x00 || data),
 * an interior node SHA-256(0x01 || left || right), and the tree over n leaves
 * splits at the largest power of two below n.  The vault keeps the log of
 * recordings' final checkpoints with it; auditors check its proofs.
 *
 * The log is read through a callback that returns the hash of a complete
 * subtree — `level` 0 is a leaf, level h covers leaves [i*2^h, (i+1)*2^h) —
 * so a root or a proof costs O(log n) lookups, never a walk over the leaves.
 * merkle_append() says which complete subtrees a new leaf makes, for the
 * store to keep.  Nothing here allocates.
 */
#define MERKLE_HASH 32
#define MERKLE_PATH_MAX 64 /* proof length bound: 2 * log2(2^32) */

typedef int (*merkle_node_fn)(void *ctx, unsigned level, uint64_t index,
                              unsigned char out[MERKLE_HASH]);

void merkle_leaf_hash(const void *data, size_t n, unsigned char out[MERKLE_HASH]);
void merkle_node_hash(const unsigned char left[MERKLE_HASH], const unsigned char right[MERKLE_HASH],
                      unsigned char out[MERKLE_HASH]);

/* MTH of the first n leaves (n = 0: SHA-256 of nothing). Errors: those of get. */
MUST_CHECK int merkle_root(uint64_t n, merkle_node_fn get, void *ctx,
                           unsigned char root[MERKLE_HASH]);

/*
 * Appending leaf number n (0-based) with hash `leaf` completes subtrees
 * (level 1.., index): for each, `put` is called with its hash, lowest first
 * (the leaf itself is level 0 and is put first).  get reads the ones before.
 */
typedef int (*merkle_put_fn)(void *ctx, unsigned level, uint64_t index,
                             const unsigned char hash[MERKLE_HASH]);
MUST_CHECK int merkle_append(uint64_t n, const unsigned char leaf[MERKLE_HASH], merkle_node_fn get,
                             merkle_put_fn put, void *ctx);

/* PATH(m, D[n]): the inclusion proof of leaf m in the tree of n leaves. -ERR_INVAL if m >= n. */
MUST_CHECK int merkle_inclusion_proof(uint64_t m, uint64_t n, merkle_node_fn get, void *ctx,
                                      unsigned char path[][MERKLE_HASH], size_t *len);
/* PROOF(m, D[n]): the consistency proof of the tree of m leaves with that of n. 0 < m <= n. */
MUST_CHECK int merkle_consistency_proof(uint64_t m, uint64_t n, merkle_node_fn get, void *ctx,
                                        unsigned char path[][MERKLE_HASH], size_t *len);

/* RFC 9162 2.1.3.2: 0 when leaf m of a tree of n with `root` has this path, else -ERR_TAMPERED. */
MUST_CHECK int merkle_verify_inclusion(uint64_t m, uint64_t n,
                                       const unsigned char leaf[MERKLE_HASH],
                                       const unsigned char path[][MERKLE_HASH], size_t len,
                                       const unsigned char root[MERKLE_HASH]);
/* RFC 9162 2.1.4.2: 0 when the tree of n with root_n extends that of m with root_m, else
 * -ERR_TAMPERED. */
MUST_CHECK int merkle_verify_consistency(uint64_t m, uint64_t n,
                                         const unsigned char root_m[MERKLE_HASH],
                                         const unsigned char root_n[MERKLE_HASH],
                                         const unsigned char path[][MERKLE_HASH], size_t len);

#endif
