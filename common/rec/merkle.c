/* SPDX-License-Identifier: Apache-2.0 */
/* RFC 9162 Merkle tree hashing, proofs and their verification, over complete-subtree lookups. */
#include <stdbool.h>
#include <string.h>

#include <sodium.h>

#include "custos/merkle.h"

void merkle_leaf_hash(const void *data, size_t n, unsigned char out[MERKLE_HASH])
{
    crypto_hash_sha256_state st;
    unsigned char z = 0x00;

    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, &z, 1);
    crypto_hash_sha256_update(&st, data, n);
    crypto_hash_sha256_final(&st, out);
}

void merkle_node_hash(const unsigned char left[MERKLE_HASH], const unsigned char right[MERKLE_HASH],
                      unsigned char out[MERKLE_HASH])
{
    crypto_hash_sha256_state st;
    unsigned char one = 0x01;

    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, &one, 1);
    crypto_hash_sha256_update(&st, left, MERKLE_HASH);
    crypto_hash_sha256_update(&st, right, MERKLE_HASH);
    crypto_hash_sha256_final(&st, out);
}

/* The largest power of two smaller than n (n >= 2). */
static uint64_t split_point(uint64_t n)
{
    uint64_t k = 1;

    while (k << 1 < n)
        k <<= 1;
    return k;
}

static bool is_pow2(uint64_t n)
{
    return n && !(n & (n - 1));
}

static unsigned log2_of(uint64_t n)
{
    unsigned l = 0;

    while (n >>= 1)
        l++;
    return l;
}

/*
 * MTH(D[lo:hi]) for a range the RFC's recursion produces: a power-of-two range
 * aligned to its size is one stored subtree; any other splits at the largest
 * power of two below its size (whose halves are again such ranges).
 */
static int range_hash(uint64_t lo, uint64_t hi, merkle_node_fn get, void *ctx,
                      unsigned char out[MERKLE_HASH])
{
    uint64_t n = hi - lo, k;
    unsigned char l[MERKLE_HASH], r[MERKLE_HASH];
    int rc;

    if (is_pow2(n) && lo % n == 0)
        return get(ctx, log2_of(n), lo / n, out);
    k = split_point(n);
    if ((rc = range_hash(lo, lo + k, get, ctx, l)) != 0 ||
        (rc = range_hash(lo + k, hi, get, ctx, r)) != 0)
        return rc;
    merkle_node_hash(l, r, out);
    return 0;
}

int merkle_root(uint64_t n, merkle_node_fn get, void *ctx, unsigned char root[MERKLE_HASH])
{
    if (n == 0) {
        crypto_hash_sha256(root, (const unsigned char *)"", 0);
        return 0;
    }
    return range_hash(0, n, get, ctx, root);
}

int merkle_append(uint64_t n, const unsigned char leaf[MERKLE_HASH], merkle_node_fn get,
                  merkle_put_fn put, void *ctx)
{
    unsigned char h[MERKLE_HASH], left[MERKLE_HASH];
    uint64_t index = n;
    int r;

    if ((r = put(ctx, 0, n, leaf)) != 0)
        return r;
    memcpy(h, leaf, MERKLE_HASH);
    /* While this subtree is a right child, its parent is complete now. */
    for (unsigned level = 0; index & 1; level++) {
        if ((r = get(ctx, level, index - 1, left)) != 0)
            return r;
        merkle_node_hash(left, h, h);
        index >>= 1;
        if ((r = put(ctx, level + 1, index, h)) != 0)
            return r;
    }
    return 0;
}

static int push(unsigned char path[][MERKLE_HASH], size_t *len, const unsigned char h[MERKLE_HASH])
{
    if (*len >= MERKLE_PATH_MAX)
        return -ERR_INTERNAL;
    memcpy(path[(*len)++], h, MERKLE_HASH);
    return 0;
}

/* PATH(m, D[lo:hi]), appended leaf side first (RFC 9162 2.1.3.1). */
static int inclusion(uint64_t m, uint64_t lo, uint64_t hi, merkle_node_fn get, void *ctx,
                     unsigned char path[][MERKLE_HASH], size_t *len)
{
    uint64_t n = hi - lo, k;
    unsigned char h[MERKLE_HASH];
    int r;

    if (n <= 1)
        return 0;
    k = split_point(n);
    if (m < k) {
        if ((r = inclusion(m, lo, lo + k, get, ctx, path, len)) != 0 ||
            (r = range_hash(lo + k, hi, get, ctx, h)) != 0)
            return r;
    } else {
        if ((r = inclusion(m - k, lo + k, hi, get, ctx, path, len)) != 0 ||
            (r = range_hash(lo, lo + k, get, ctx, h)) != 0)
            return r;
    }
    return push(path, len, h);
}

int merkle_inclusion_proof(uint64_t m, uint64_t n, merkle_node_fn get, void *ctx,
                           unsigned char path[][MERKLE_HASH], size_t *len)
{
    *len = 0;
    if (m >= n)
        return -ERR_INVAL;
    return inclusion(m, 0, n, get, ctx, path, len);
}

/* SUBPROOF(m, D[lo:hi], b) (RFC 9162 2.1.4.1). */
static int subproof(uint64_t m, uint64_t lo, uint64_t hi, bool b, merkle_node_fn get, void *ctx,
                    unsigned char path[][MERKLE_HASH], size_t *len)
{
    uint64_t n = hi - lo, k;
    unsigned char h[MERKLE_HASH];
    int r;

    if (m == n) {
        if (b)
            return 0;
        if ((r = range_hash(lo, hi, get, ctx, h)) != 0)
            return r;
        return push(path, len, h);
    }
    k = split_point(n);
    if (m <= k) {
        if ((r = subproof(m, lo, lo + k, b, get, ctx, path, len)) != 0 ||
            (r = range_hash(lo + k, hi, get, ctx, h)) != 0)
            return r;
    } else {
        if ((r = subproof(m - k, lo + k, hi, false, get, ctx, path, len)) != 0 ||
            (r = range_hash(lo, lo + k, get, ctx, h)) != 0)
            return r;
    }
    return push(path, len, h);
}

int merkle_consistency_proof(uint64_t m, uint64_t n, merkle_node_fn get, void *ctx,
                             unsigned char path[][MERKLE_HASH], size_t *len)
{
    *len = 0;
    if (m == 0 || m > n)
        return -ERR_INVAL;
    return subproof(m, 0, n, true, get, ctx, path, len);
}

int merkle_verify_inclusion(uint64_t m, uint64_t n, const unsigned char leaf[MERKLE_HASH],
                            const unsigned char path[][MERKLE_HASH], size_t len,
                            const unsigned char root[MERKLE_HASH])
{
    uint64_t fn = m, sn = n - 1;
    unsigned char r[MERKLE_HASH];

    if (m >= n)
        return -ERR_TAMPERED;
    memcpy(r, leaf, MERKLE_HASH);
    for (size_t i = 0; i < len; i++) {
        if (sn == 0)
            return -ERR_TAMPERED;
        if ((fn & 1) || fn == sn) {
            merkle_node_hash(path[i], r, r);
            if (!(fn & 1))
                while (fn && !(fn & 1)) {
                    fn >>= 1;
                    sn >>= 1;
                }
        } else {
            merkle_node_hash(r, path[i], r);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return sn == 0 && sodium_memcmp(r, root, MERKLE_HASH) == 0 ? 0 : -ERR_TAMPERED;
}

int merkle_verify_consistency(uint64_t m, uint64_t n, const unsigned char root_m[MERKLE_HASH],
                              const unsigned char root_n[MERKLE_HASH],
                              const unsigned char path[][MERKLE_HASH], size_t len)
{
    uint64_t fn, sn;
    unsigned char fr[MERKLE_HASH], sr[MERKLE_HASH];
    size_t i = 0;

    if (m == 0 || m > n)
        return -ERR_TAMPERED;
    if (m == n)
        return len == 0 && sodium_memcmp(root_m, root_n, MERKLE_HASH) == 0 ? 0 : -ERR_TAMPERED;
    if (len == 0)
        return -ERR_TAMPERED;
    /* RFC 9162 2.1.4.2: if m is a power of two, root_m is prepended to the path. */
    fn = m - 1;
    sn = n - 1;
    while (fn & 1) {
        fn >>= 1;
        sn >>= 1;
    }
    if (is_pow2(m)) {
        memcpy(fr, root_m, MERKLE_HASH);
    } else {
        memcpy(fr, path[0], MERKLE_HASH);
        i = 1;
    }
    memcpy(sr, fr, MERKLE_HASH);
    for (; i < len; i++) {
        if (sn == 0)
            return -ERR_TAMPERED;
        if ((fn & 1) || fn == sn) {
            merkle_node_hash(path[i], fr, fr);
            merkle_node_hash(path[i], sr, sr);
            if (!(fn & 1))
                while (fn && !(fn & 1)) {
                    fn >>= 1;
                    sn >>= 1;
                }
        } else {
            merkle_node_hash(sr, path[i], sr);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return sn == 0 && sodium_memcmp(fr, root_m, MERKLE_HASH) == 0 &&
                   sodium_memcmp(sr, root_n, MERKLE_HASH) == 0
               ? 0
               : -ERR_TAMPERED;
}
