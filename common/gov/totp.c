/* SPDX-License-Identifier: Apache-2.0 */
/* TOTP (RFC 6238 over RFC 4226 HOTP, HMAC-SHA1, 30-second steps) and RFC 4648 base32. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

/*
 * <openssl/types.h> declares a type ERR_STATE, which collides with our error
 * code ERR_STATE; rename OpenSSL's for this file (we never use it).
 */
#define ERR_STATE openssl_ERR_STATE
#include <openssl/evp.h>
#include <openssl/hmac.h>
#undef ERR_STATE
#include <sodium.h>

#include "custos/gov.h"

#define TOTP_STEP 30u

static int hotp(const unsigned char *key, size_t keylen, uint64_t counter, unsigned digits,
                unsigned *code)
{
    static const uint32_t mod[] = {1000000u, 10000000u, 100000000u};
    int r = -ERR_CRYPTO;
    unsigned char msg[8], mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0, off;
    uint32_t bin;

    /* RFC 4226 section 5.2: the counter as 8 big-endian bytes. */
    for (int i = 7; i >= 0; i--) {
        msg[i] = (unsigned char)(counter & 0xff);
        counter >>= 8;
    }
    if (!HMAC(EVP_sha1(), key, (int)keylen, msg, sizeof(msg), mac, &maclen) || maclen != 20)
        goto out;
    /* Dynamic truncation (RFC 4226 section 5.3). */
    off = mac[19] & 0x0f;
    bin = (uint32_t)(mac[off] & 0x7f) << 24 | (uint32_t)mac[off + 1] << 16 |
          (uint32_t)mac[off + 2] << 8 | mac[off + 3];
    *code = bin % mod[digits - 6];
    r = 0;
out:
    sodium_memzero(mac, sizeof(mac));
    sodium_memzero(&bin, sizeof(bin));
    return r;
}

int gov_totp_code(const unsigned char *key, size_t keylen, uint64_t t, unsigned digits,
                  unsigned *code)
{
    if (!key || keylen == 0 || keylen > GOV_TOTP_KEY_MAX || !code || digits < 6 || digits > 8)
        return -ERR_INVAL;
    return hotp(key, keylen, t / TOTP_STEP, digits, code);
}

int gov_totp_match(const unsigned char *key, size_t keylen, const char *typed, uint64_t t,
                   unsigned window, uint64_t *step)
{
    int r = -ERR_INVAL;
    uint64_t now = t / TOTP_STEP, first, last, found = 0;
    unsigned code = 0;
    bool ok = false;
    char want[GOV_TOTP_DIGITS + 1];

    if (!key || keylen == 0 || keylen > GOV_TOTP_KEY_MAX || !typed || window > GOV_TOTP_WINDOW_MAX)
        goto out;
    if (strnlen(typed, GOV_TOTP_DIGITS + 1) != GOV_TOTP_DIGITS ||
        strspn(typed, "0123456789") != GOV_TOTP_DIGITS) {
        r = -ERR_AUTH;
        goto out;
    }
    first = now >= window ? now - window : 0;
    last = now + window;
    /* Every step in the window is computed and compared, so timing does not tell which matched. */
    for (uint64_t s = first; s <= last; s++) {
        if ((r = hotp(key, keylen, s, GOV_TOTP_DIGITS, &code)) != 0)
            goto out;
        snprintf(want, sizeof(want), "%0*u", (int)GOV_TOTP_DIGITS, code);
        if (sodium_memcmp(want, typed, GOV_TOTP_DIGITS) == 0 && !ok) {
            ok = true;
            found = s;
        }
    }
    r = ok ? 0 : -ERR_AUTH;
    if (ok && step)
        *step = found;
out:
    sodium_memzero(want, sizeof(want));
    sodium_memzero(&code, sizeof(code));
    return r;
}

bool gov_totp_verify(const unsigned char *key, size_t keylen, const char *typed, uint64_t t,
                     unsigned window)
{
    uint64_t step;

    return gov_totp_match(key, keylen, typed, t, window, &step) == 0;
}

size_t gov_base32_encode(const unsigned char *in, size_t len, char *out, size_t outlen)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    size_t need, n = 0;
    uint32_t acc = 0;
    unsigned bits = 0;

    if (!out || outlen == 0)
        return 0;
    out[0] = '\0';
    if (!in && len > 0)
        return 0;
    if (len > (SIZE_MAX - 5) / 8)
        return 0;
    need = (len * 8 + 4) / 5 + 1;
    if (outlen < need)
        return 0;
    for (size_t i = 0; i < len; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 5) {
            out[n++] = alphabet[(acc >> (bits - 5)) & 0x1f];
            bits -= 5;
        }
    }
    if (bits > 0)
        out[n++] = alphabet[(acc << (5 - bits)) & 0x1f];
    out[n] = '\0';
    sodium_memzero(&acc, sizeof(acc));
    return n;
}
