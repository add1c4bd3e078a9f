/* SPDX-License-Identifier: Apache-2.0 */
/* XChaCha20-Poly1305-IETF envelope (draft-irtf-cfrg-xchacha) over libsodium. */
#include <sodium.h>

#include "crypt.h"

int crypt_seal(const struct secbuf *key, const void *ad, size_t adlen, const void *plain,
               size_t plen, unsigned char *out)
{
    unsigned long long clen = 0;

    if (secbuf_len(key) != CRYPT_KEY_LEN)
        return -ERR_INVAL;
    randombytes_buf(out, CRYPT_NONCE_LEN);
    crypto_aead_xchacha20poly1305_ietf_encrypt(out + CRYPT_NONCE_LEN, &clen, plain, plen, ad, adlen,
                                               NULL, out, secbuf_cdata(key));
    return 0;
}

int crypt_open(const struct secbuf *key, const void *ad, size_t adlen, const unsigned char *in,
               size_t inlen, struct secbuf **out)
{
    struct secbuf *plain = NULL;
    unsigned long long plen = 0;
    int r;

    *out = NULL;
    if (secbuf_len(key) != CRYPT_KEY_LEN)
        return -ERR_INVAL;
    if (inlen < CRYPT_OVERHEAD)
        return -ERR_CORRUPT;
    if ((r = secbuf_new(inlen - CRYPT_OVERHEAD + 1, &plain)) != 0)
        return r;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(secbuf_data(plain), &plen, NULL,
                                                   in + CRYPT_NONCE_LEN, inlen - CRYPT_NONCE_LEN,
                                                   ad, adlen, in, secbuf_cdata(key)) != 0) {
        secbuf_free(plain);
        return -ERR_TAMPERED;
    }
    r = secbuf_set_len(plain, (size_t)plen);
    if (r != 0) {
        secbuf_free(plain);
        return r;
    }
    *out = plain;
    return 0;
}

int crypt_key_new(struct secbuf **out)
{
    int r = secbuf_new(CRYPT_KEY_LEN, out);

    if (r == 0) {
        randombytes_buf(secbuf_data(*out), CRYPT_KEY_LEN);
        r = secbuf_set_len(*out, CRYPT_KEY_LEN);
    }
    return r;
}
