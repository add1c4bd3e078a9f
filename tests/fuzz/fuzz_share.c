/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: Shamir share text (shamir_share_decode).
 *
 * 1. The input as share text: decode must not crash, fails only with
 *    -ERR_PARSE, and a share that decodes encodes back to the same text.
 * 2. The input as a share (k = 2 + in[0] % 254, x = in[1] or 1, y = the
 *    rest): encode, decode gives the same k and share, and a changed check
 *    digit is refused.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "custos/err.h"
#include "custos/secbuf.h"
#include "fuzz.h"
#include "shamir.h"

#define MAX_Y 4096u

static void decode_text(const uint8_t *data, size_t size)
{
    struct secbuf *share = (struct secbuf *)1, *text = NULL;
    unsigned k = 0;
    int r = shamir_share_decode((const char *)data, size, &k, &share);

    if (r != 0) {
        FUZZ_CHECK(r == -ERR_PARSE);
        FUZZ_CHECK(share == NULL);
        return;
    }
    FUZZ_CHECK(share != NULL);
    FUZZ_CHECK(k >= 2 && k <= SHAMIR_MAX_SHARES);
    FUZZ_CHECK(secbuf_len(share) >= 2 && ((const uint8_t *)secbuf_cdata(share))[0] != 0);
    FUZZ_CHECK(shamir_share_encode(share, k, &text) == 0);
    FUZZ_CHECK(secbuf_len(text) == size && memcmp(secbuf_cdata(text), data, size) == 0);
    FUZZ_CHECK(((const char *)secbuf_cdata(text))[size] == '\0');
    secbuf_free(text);
    secbuf_free(share);
}

static void encode_share(const uint8_t *data, size_t size)
{
    struct secbuf *share = NULL, *text = NULL, *back = NULL;
    size_t ylen = size - 2 > MAX_Y ? MAX_Y : size - 2;
    unsigned k = 2 + data[0] % 254, k2 = 0;
    uint8_t x = data[1] ? data[1] : 1;
    char *t;
    size_t tlen;

    FUZZ_CHECK(secbuf_new(1 + ylen, &share) == 0);
    FUZZ_CHECK(secbuf_append(share, &x, 1) == 0);
    FUZZ_CHECK(secbuf_append(share, data + 2, ylen) == 0);
    FUZZ_CHECK(shamir_share_encode(share, k, &text) == 0);
    t = secbuf_data(text);
    tlen = secbuf_len(text);
    FUZZ_CHECK(strlen(t) == tlen && strncmp(t, "cst1-", 5) == 0);
    FUZZ_CHECK(shamir_share_decode(t, tlen, &k2, &back) == 0);
    FUZZ_CHECK(k2 == k && secbuf_equal(share, back));
    secbuf_free(back);
    /* The last check digit changed: the check no longer matches. */
    t[tlen - 1] = t[tlen - 1] == '0' ? '1' : '0';
    FUZZ_CHECK(shamir_share_decode(t, tlen, &k2, &back) == -ERR_PARSE && back == NULL);
    /* Cut short by one character: malformed. */
    FUZZ_CHECK(shamir_share_decode(t, tlen - 1, &k2, &back) == -ERR_PARSE && back == NULL);
    secbuf_free(text);
    secbuf_free(share);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_init();
    decode_text(data, size);
    if (size >= 3)
        encode_share(data, size);
    return 0;
}
