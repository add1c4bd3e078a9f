/* SPDX-License-Identifier: Apache-2.0 */
/* OpenSSH public key fingerprints (SHA256, as ssh-keygen -lf prints them). */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "custos/gov.h"

/* The longest key line taken: RSA 16384 public keys are about 2.8 KB of base64. */
#define KEY_LINE_MAX 16384u

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* "SHA256:" + 43 unpadded base64 characters of a 32-byte digest. */
#define FP_LEN (7u + 43u)

bool gov_fp_is_valid(const char *fp)
{
    if (!fp || strncmp(fp, "SHA256:", 7) != 0 || strnlen(fp, FP_LEN + 1) != FP_LEN)
        return false;
    for (size_t i = 7; i < FP_LEN; i++) {
        char c = fp[i];

        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/'))
            return false;
    }
    return true;
}

int gov_key_fingerprint(const char *pubkey_line, char *fp, size_t fplen)
{
    int r = -ERR_INVAL;
    const char *p, *type, *b64, *end;
    size_t typelen, b64len, n, bloblen = 0, namelen;
    unsigned char *blob = NULL;
    unsigned char digest[crypto_hash_sha256_BYTES];
    char enc[sodium_base64_ENCODED_LEN(crypto_hash_sha256_BYTES,
                                       sodium_base64_VARIANT_ORIGINAL_NO_PADDING)];

    if (!pubkey_line || !fp || fplen < GOV_FP_MAX)
        goto out;
    n = strnlen(pubkey_line, KEY_LINE_MAX + 1);
    if (n > KEY_LINE_MAX)
        goto out;
    p = pubkey_line;
    while (is_blank(*p))
        p++;
    type = p;
    while (*p && !is_blank(*p) && *p != '\r' && *p != '\n')
        p++;
    typelen = (size_t)(p - type);
    if (typelen == 0 || !is_blank(*p))
        goto out;
    while (is_blank(*p))
        p++;
    b64 = p;
    while (*p && !is_blank(*p) && *p != '\r' && *p != '\n')
        p++;
    b64len = (size_t)(p - b64);
    if (b64len == 0)
        goto out;
    /* A comment may follow; a line ending may close the line, nothing after it. */
    end = p + strcspn(p, "\r\n");
    if (*end && strspn(end, "\r\n") != strlen(end))
        goto out;
    if (!(blob = malloc(b64len))) {
        r = -ERR_NOMEM;
        goto out;
    }
    if (sodium_base642bin(blob, b64len, b64, b64len, NULL, &bloblen, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        end != b64 + b64len)
        goto out;
    /* RFC 4253 section 6.6: the blob opens with the key type as a string. */
    if (bloblen < 4)
        goto out;
    namelen = (size_t)blob[0] << 24 | (size_t)blob[1] << 16 | (size_t)blob[2] << 8 | blob[3];
    if (namelen != typelen || namelen > bloblen - 4 || memcmp(blob + 4, type, typelen) != 0 ||
        bloblen == 4 + namelen)
        goto out;
    crypto_hash_sha256(digest, blob, bloblen);
    sodium_bin2base64(enc, sizeof(enc), digest, sizeof(digest),
                      sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
    memcpy(fp, "SHA256:", 7);
    memcpy(fp + 7, enc, strlen(enc) + 1);
    r = 0;
out:
    free(blob);
    return r;
}
