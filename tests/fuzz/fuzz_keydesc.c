/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: the KEK descriptor (keys_unwrap_dek) read back from the store
 * (parsed as vaultd/store.c does), under a fixed KEK.  The result is an error
 * (-ERR_AUTH, -ERR_CORRUPT, -ERR_INVAL) with no key, or a 32-byte DEK; a DEK
 * that opens must not open under another KEK, and must rewrap and unwrap to
 * itself.  The seeds hold descriptors wrapped under FUZZ_KEK, so mutations
 * reach the AEAD.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "crypt.h"
#include "custos/err.h"
#include "custos/secbuf.h"
#include "fuzz.h"
#include "keys.h"

#define FUZZ_KEK "custos-fuzz-kek-0123456789abcdef" /* 32 bytes */

static struct secbuf *kek_new(char flip)
{
    struct secbuf *k = NULL;
    char key[] = FUZZ_KEK;

    key[0] ^= flip;
    FUZZ_CHECK(secbuf_from(key, CRYPT_KEY_LEN, &k) == 0);
    return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct secbuf *kek, *other, *dek = (struct secbuf *)1, *dek2 = NULL;
    json_t *desc, *copy;
    json_error_t jerr;
    int r;

    fuzz_init();
    desc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    if (!desc)
        return 0;
    kek = kek_new(0);
    r = keys_unwrap_dek(desc, kek, &dek);
    if (r != 0) {
        FUZZ_CHECK(dek == NULL);
        FUZZ_CHECK(r == -ERR_AUTH || r == -ERR_CORRUPT || r == -ERR_INVAL);
        FUZZ_CHECK(json_is_object(desc) || r == -ERR_INVAL);
        goto out;
    }
    FUZZ_CHECK(dek != NULL && secbuf_len(dek) == CRYPT_KEY_LEN);

    other = kek_new(1);
    FUZZ_CHECK(keys_unwrap_dek(desc, other, &dek2) == -ERR_AUTH && dek2 == NULL);
    secbuf_free(other);

    copy = json_deep_copy(desc);
    FUZZ_CHECK(copy != NULL);
    FUZZ_CHECK(keys_wrap_dek(copy, kek, dek) == 0);
    FUZZ_CHECK(keys_unwrap_dek(copy, kek, &dek2) == 0 && secbuf_equal(dek, dek2));
    secbuf_free(dek2);
    json_decref(copy);
    secbuf_free(dek);
out:
    secbuf_free(kek);
    json_decref(desc);
    return 0;
}
