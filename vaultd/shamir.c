/* SPDX-License-Identifier: Apache-2.0 */
/* Shamir secret sharing over GF(2^8) (AES field, x^8+x^4+x^3+x+1) in constant time. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "custos/log.h"
#include "shamir.h"

#define SHARE_PREFIX "cst1-"
#define SHARE_PREFIX_LEN (sizeof(SHARE_PREFIX) - 1)
#define SHARE_CHECK_LEN 4u
#define SHARE_CHECK_HEX (2u * SHARE_CHECK_LEN)
#define SHARE_CHECK_DOMAIN "custos-share"
/* Longest "<k>-<x>-" part: two numbers of up to three digits, two dashes. */
#define SHARE_NUMS_MAX 8u

/*
 * Field arithmetic.  Share bytes and coefficients are secret, so nothing
 * below branches on or indexes memory by a value: the usual log/exp tables
 * would leak them through the cache.
 */

/* Product in GF(2^8) mod 0x11b: shift-and-add with masks instead of branches. */
static uint8_t gf_mul(uint8_t a, uint8_t b)
{
    unsigned r = 0, x = a, y = b;
    int i;

    for (i = 0; i < 8; i++) {
        r ^= x & (0u - (y & 1u));
        x = (x << 1) ^ (0x11bu & (0u - (x >> 7)));
        y >>= 1;
    }
    return (uint8_t)r;
}

/* Inverse as a^254 (a^255 = 1 for a != 0); gives 0 for 0.  Fixed exponent: no branches. */
static uint8_t gf_inv(uint8_t a)
{
    uint8_t sq = gf_mul(a, a); /* a^2 */
    uint8_t r = sq;            /* a^2 */
    int i;

    /* 254 = 2 + 4 + ... + 128: multiply in a^(2^i) for i = 2..7. */
    for (i = 2; i < 8; i++) {
        sq = gf_mul(sq, sq);
        r = gf_mul(r, sq);
    }
    return r;
}

int shamir_split(const struct secbuf *secret, unsigned k, unsigned n, struct secbuf **shares)
{
    int r = -ERR_INTERNAL;
    struct secbuf *coef = NULL;
    struct secbuf *made[SHAMIR_MAX_SHARES] = {NULL};
    const uint8_t *s;
    uint8_t *c, acc = 0;
    size_t len, i;
    unsigned x, j;

    if (!secret || !shares || k < 2 || k > n || n > SHAMIR_MAX_SHARES) {
        r = -ERR_INVAL;
        goto out;
    }
    len = secbuf_len(secret);
    if (len == 0) {
        r = -ERR_INVAL;
        goto out;
    }
    s = secbuf_cdata(secret);
    for (x = 1; x <= n; x++) {
        if ((r = secbuf_new(1 + len, &made[x - 1])) != 0)
            goto out;
        ((uint8_t *)secbuf_data(made[x - 1]))[0] = (uint8_t)x;
        if ((r = secbuf_set_len(made[x - 1], 1 + len)) != 0)
            goto out;
    }
    /* k-1 coefficients per byte, in locked memory and refreshed for each byte. */
    if ((r = secbuf_new(k - 1, &coef)) != 0)
        goto out;
    c = secbuf_data(coef);
    for (i = 0; i < len; i++) {
        /*
         * Coefficients are uniform, zero included: forcing the top one
         * non-zero would make any k-1 shares rule out one value of the byte.
         */
        randombytes_buf(c, k - 1);
        for (x = 1; x <= n; x++) {
            /* Horner: f(x) = s + c0 x + ... + c(k-2) x^(k-1). */
            acc = c[k - 2];
            for (j = k - 2; j > 0; j--)
                acc = gf_mul(acc, (uint8_t)x) ^ c[j - 1];
            acc = gf_mul(acc, (uint8_t)x) ^ s[i];
            ((uint8_t *)secbuf_data(made[x - 1]))[1 + i] = acc;
        }
    }
    for (x = 0; x < n; x++) {
        shares[x] = made[x]; /* caller owns them now */
        made[x] = NULL;
    }
    r = 0;
out:
    for (x = 0; x < SHAMIR_MAX_SHARES; x++)
        secbuf_free(made[x]);
    secbuf_free(coef);
    sodium_memzero(&acc, sizeof(acc));
    return r;
}

int shamir_combine(struct secbuf *const *shares, unsigned count, struct secbuf **out)
{
    int r = -ERR_INTERNAL;
    uint8_t basis[SHAMIR_MAX_SHARES];
    uint8_t xs[SHAMIR_MAX_SHARES];
    bool seen[256] = {false};
    struct secbuf *res = NULL;
    const uint8_t *y;
    uint8_t *o, num, den, acc = 0;
    size_t len = 0, i;
    unsigned j, m;

    if (!out) {
        r = -ERR_INVAL;
        goto out;
    }
    *out = NULL;
    if (!shares || count == 0 || count > SHAMIR_MAX_SHARES) {
        r = -ERR_INVAL;
        goto out;
    }
    /* x is public (the share's index), so checking it may branch. */
    for (j = 0; j < count; j++) {
        if (!shares[j] || secbuf_len(shares[j]) < 2) {
            r = -ERR_INVAL;
            goto out;
        }
        if (j == 0)
            len = secbuf_len(shares[0]) - 1;
        else if (secbuf_len(shares[j]) - 1 != len) {
            r = -ERR_INVAL;
            goto out;
        }
        xs[j] = ((const uint8_t *)secbuf_cdata(shares[j]))[0];
        if (xs[j] == 0 || seen[xs[j]]) {
            r = -ERR_INVAL;
            goto out;
        }
        seen[xs[j]] = true;
    }
    /* Lagrange basis at 0: l_j = prod_{m != j} x_m / (x_m - x_j); minus is xor here. */
    for (j = 0; j < count; j++) {
        num = 1;
        den = 1;
        for (m = 0; m < count; m++) {
            if (m == j)
                continue;
            num = gf_mul(num, xs[m]);
            den = gf_mul(den, xs[m] ^ xs[j]);
        }
        basis[j] = gf_mul(num, gf_inv(den));
    }
    if ((r = secbuf_new(len, &res)) != 0)
        goto out;
    o = secbuf_data(res);
    for (i = 0; i < len; i++) {
        acc = 0;
        for (j = 0; j < count; j++) {
            y = secbuf_cdata(shares[j]);
            acc ^= gf_mul(y[1 + i], basis[j]);
        }
        o[i] = acc;
    }
    if ((r = secbuf_set_len(res, len)) != 0)
        goto out;
    *out = res; /* caller owns it now */
    res = NULL;
    r = 0;
out:
    secbuf_free(res);
    sodium_memzero(&acc, sizeof(acc));
    return r;
}

/*
 * The check is the first SHARE_CHECK_LEN bytes of BLAKE2b-256 (libsodium's
 * crypto_generichash default length) over "custos-share" || k || x || y,
 * with k and x one byte each.  It catches typing mistakes, not forgeries.
 */
static int share_check(unsigned k, const uint8_t *share, size_t len, uint8_t check[SHARE_CHECK_LEN])
{
    int r = -ERR_INTERNAL;
    crypto_generichash_state st;
    uint8_t h[crypto_generichash_BYTES];
    uint8_t kb = (uint8_t)k;

    if (crypto_generichash_init(&st, NULL, 0, sizeof(h)) != 0 ||
        crypto_generichash_update(&st, (const uint8_t *)SHARE_CHECK_DOMAIN,
                                  sizeof(SHARE_CHECK_DOMAIN) - 1) != 0 ||
        crypto_generichash_update(&st, &kb, 1) != 0 ||
        crypto_generichash_update(&st, share, len) != 0 ||
        crypto_generichash_final(&st, h, sizeof(h)) != 0) {
        r = -ERR_CRYPTO;
        goto out;
    }
    memcpy(check, h, SHARE_CHECK_LEN);
    r = 0;
out:
    sodium_memzero(&st, sizeof(st));
    sodium_memzero(h, sizeof(h));
    return r;
}

int shamir_share_encode(const struct secbuf *share, unsigned k, struct secbuf **text)
{
    int r = -ERR_INTERNAL;
    struct secbuf *t = NULL;
    uint8_t check[SHARE_CHECK_LEN];
    char head[SHARE_PREFIX_LEN + SHARE_NUMS_MAX + 1];
    const uint8_t *sh;
    char *p;
    size_t ylen, cap;
    int hn;

    if (!text) {
        r = -ERR_INVAL;
        goto out;
    }
    *text = NULL;
    if (!share || secbuf_len(share) < 2 || k < 2 || k > SHAMIR_MAX_SHARES) {
        r = -ERR_INVAL;
        goto out;
    }
    sh = secbuf_cdata(share);
    ylen = secbuf_len(share) - 1;
    if (sh[0] == 0 || ylen > ((size_t)1 << 28)) {
        r = -ERR_INVAL;
        goto out;
    }
    hn = snprintf(head, sizeof(head), SHARE_PREFIX "%u-%u-", k, (unsigned)sh[0]);
    if (hn < 0 || (size_t)hn >= sizeof(head)) {
        r = -ERR_INTERNAL;
        goto out;
    }
    if ((r = share_check(k, sh, 1 + ylen, check)) != 0)
        goto out;
    /* head, hex of y, '-', check hex, NUL. */
    cap = (size_t)hn + 2 * ylen + 1 + SHARE_CHECK_HEX + 1;
    if ((r = secbuf_new(cap, &t)) != 0)
        goto out;
    p = secbuf_data(t);
    memcpy(p, head, (size_t)hn);
    p += hn;
    sodium_bin2hex(p, 2 * ylen + 1, sh + 1, ylen); /* constant time */
    p += 2 * ylen;
    *p++ = '-';
    sodium_bin2hex(p, SHARE_CHECK_HEX + 1, check, SHARE_CHECK_LEN);
    if ((r = secbuf_set_len(t, cap - 1)) != 0)
        goto out;
    *text = t; /* caller owns it now */
    t = NULL;
    r = 0;
out:
    secbuf_free(t);
    sodium_memzero(check, sizeof(check));
    return r;
}

/* Decimal 1..255 without leading zeros, up to the next '-'; advances *pos past it. */
static bool parse_byte_num(const char *text, size_t len, size_t *pos, unsigned *val)
{
    size_t p = *pos;
    unsigned v = 0, digits = 0;

    while (p < len && text[p] >= '0' && text[p] <= '9' && digits < 4) {
        v = v * 10 + (unsigned)(text[p] - '0');
        p++;
        digits++;
    }
    if (digits == 0 || digits > 3 || (digits > 1 && text[*pos] == '0'))
        return false;
    if (v == 0 || v > 255 || p >= len || text[p] != '-')
        return false;
    *pos = p + 1;
    *val = v;
    return true;
}

/*
 * Whether all `len` characters are lowercase hex, without branching on any
 * of them (they encode the secret share).  Same trick as sodium_hex2bin.
 */
static bool is_lower_hex(const char *s, size_t len)
{
    unsigned bad = 0, c, num, alpha, ok;
    size_t i;

    for (i = 0; i < len; i++) {
        c = (unsigned char)s[i];
        num = c ^ 48u;                               /* 0..9 for '0'..'9' */
        alpha = c - 87u;                             /* 10..15 for 'a'..'f' */
        ok = ((num - 10u) >> 8) |                    /* num < 10 */
             (((alpha - 10u) ^ (alpha - 16u)) >> 8); /* 10 <= alpha < 16 */
        bad |= (ok & 1u) ^ 1u;
    }
    return bad == 0;
}

int shamir_share_decode(const char *text, size_t len, unsigned *k, struct secbuf **share)
{
    int r = -ERR_INTERNAL;
    struct secbuf *sh = NULL;
    uint8_t want[SHARE_CHECK_LEN], got[SHARE_CHECK_LEN];
    unsigned kv = 0, xv = 0;
    size_t pos = SHARE_PREFIX_LEN, hexlen, ylen = 0;
    uint8_t *d;

    if (!share || !k) {
        r = -ERR_INVAL;
        goto out;
    }
    *share = NULL;
    if (!text) {
        r = -ERR_INVAL;
        goto out;
    }
    r = -ERR_PARSE;
    if (len < SHARE_PREFIX_LEN || memcmp(text, SHARE_PREFIX, SHARE_PREFIX_LEN) != 0)
        goto out;
    if (!parse_byte_num(text, len, &pos, &kv) || kv < 2)
        goto out;
    if (!parse_byte_num(text, len, &pos, &xv))
        goto out;
    /* What is left: hex of y, '-', check. */
    if (len - pos < 2 + 1 + SHARE_CHECK_HEX || text[len - SHARE_CHECK_HEX - 1] != '-')
        goto out;
    hexlen = len - pos - 1 - SHARE_CHECK_HEX;
    if (hexlen % 2 != 0 || !is_lower_hex(text + pos, hexlen) ||
        !is_lower_hex(text + len - SHARE_CHECK_HEX, SHARE_CHECK_HEX))
        goto out;
    if (hexlen / 2 > ((size_t)1 << 28))
        goto out;
    if (sodium_hex2bin(got, sizeof(got), text + len - SHARE_CHECK_HEX, SHARE_CHECK_HEX, NULL, NULL,
                       NULL) != 0)
        goto out;
    if ((r = secbuf_new(1 + hexlen / 2, &sh)) != 0)
        goto out;
    d = secbuf_data(sh);
    d[0] = (uint8_t)xv;
    if (sodium_hex2bin(d + 1, hexlen / 2, text + pos, hexlen, NULL, &ylen, NULL) != 0 ||
        ylen != hexlen / 2) {
        r = -ERR_PARSE;
        goto out;
    }
    if ((r = secbuf_set_len(sh, 1 + ylen)) != 0)
        goto out;
    if ((r = share_check(kv, d, 1 + ylen, want)) != 0)
        goto out;
    if (sodium_memcmp(want, got, SHARE_CHECK_LEN) != 0) {
        log_debug("share check mismatch k=%u x=%u", kv, xv);
        r = -ERR_PARSE;
        goto out;
    }
    *k = kv;
    *share = sh; /* caller owns it now */
    sh = NULL;
    r = 0;
out:
    secbuf_free(sh);
    sodium_memzero(want, sizeof(want));
    sodium_memzero(got, sizeof(got));
    return r;
}
