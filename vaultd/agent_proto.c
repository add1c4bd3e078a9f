/* SPDX-License-Identifier: Apache-2.0 */
/* The pure half of the agent: OpenSSH ed25519 private keys and agent protocol messages. */
#include <string.h>

#include <sodium.h>

#include "agent.h"

#define PEM_BEGIN "-----BEGIN OPENSSH PRIVATE KEY-----"
#define PEM_END "-----END OPENSSH PRIVATE KEY-----"
#define KEY_MAGIC "openssh-key-v1" /* followed by its NUL (PROTOCOL.key) */
#define ED25519 "ssh-ed25519"
#define ED25519_LEN (sizeof(ED25519) - 1)
/* An ed25519 key file is ~400 bytes; anything far larger is not one. */
#define KEY_TEXT_MAX 16384u

/* A bounds-checked reader of SSH wire data (RFC 4251 section 5). */
struct rd {
    const unsigned char *p;
    size_t n;
};

static bool rd_u32(struct rd *r, uint32_t *v)
{
    if (r->n < 4)
        return false;
    *v = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 | (uint32_t)r->p[2] << 8 | r->p[3];
    r->p += 4;
    r->n -= 4;
    return true;
}

static bool rd_string(struct rd *r, const unsigned char **s, size_t *len)
{
    uint32_t l;

    if (!rd_u32(r, &l) || l > r->n)
        return false;
    *s = r->p;
    *len = l;
    r->p += l;
    r->n -= l;
    return true;
}

static bool str_is(const unsigned char *s, size_t len, const char *want)
{
    return len == strlen(want) && memcmp(s, want, len) == 0;
}

static void put_u32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static int append_u32(struct buf *b, uint32_t v)
{
    unsigned char p[4];

    put_u32(p, v);
    return buf_append(b, p, 4);
}

static int append_string(struct buf *b, const void *s, size_t len)
{
    int r;

    if (len > UINT32_MAX)
        return -ERR_TOO_LONG;
    if ((r = append_u32(b, (uint32_t)len)) != 0)
        return r;
    return buf_append(b, s, len);
}

void agent_pub_blob(const unsigned char pub[32], unsigned char out[AGENT_ED25519_BLOB_LEN])
{
    put_u32(out, ED25519_LEN);
    memcpy(out + 4, ED25519, ED25519_LEN);
    put_u32(out + 4 + ED25519_LEN, 32);
    memcpy(out + 8 + ED25519_LEN, pub, 32);
}

static const char *find(const char *hay, size_t n, const char *needle)
{
    size_t m = strlen(needle);

    for (size_t i = 0; m <= n && i <= n - m; i++)
        if (memcmp(hay + i, needle, m) == 0)
            return hay + i;
    return NULL;
}

/* The decoded openssh-key-v1 blob (in `bin`), checked field by field. */
static int parse_blob(const unsigned char *bin, size_t len, unsigned char *sk,
                      unsigned char pub[32], const char **why)
{
    struct rd r = {bin, len}, priv;
    const unsigned char *s, *pk, *ppk, *psk;
    size_t sl, pkl, ppkl, pskl;
    uint32_t nkeys, check1, check2;
    unsigned char derived_pk[32], derived_sk[crypto_sign_SECRETKEYBYTES];
    int rc = -ERR_PARSE;

    *why = "not an OpenSSH private key (openssh-key-v1)";
    if (len < sizeof(KEY_MAGIC) || memcmp(bin, KEY_MAGIC, sizeof(KEY_MAGIC)) != 0)
        goto out;
    r.p += sizeof(KEY_MAGIC);
    r.n -= sizeof(KEY_MAGIC);
    *why = "malformed OpenSSH private key";
    if (!rd_string(&r, &s, &sl)) /* ciphername */
        goto out;
    if (!str_is(s, sl, "none")) {
        *why = "the key is encrypted; store it without a passphrase";
        rc = -ERR_INVAL;
        goto out;
    }
    if (!rd_string(&r, &s, &sl) || !str_is(s, sl, "none") || /* kdfname */
        !rd_string(&r, &s, &sl) ||                           /* kdfoptions */
        !rd_u32(&r, &nkeys) || nkeys != 1)
        goto out;
    {
        struct rd pubr;

        if (!rd_string(&r, &pubr.p, &pubr.n) || !rd_string(&pubr, &s, &sl))
            goto out;
        if (!str_is(s, sl, ED25519)) {
            *why = "only ed25519 keys are supported for key accounts yet";
            rc = -ERR_INVAL;
            goto out;
        }
        if (!rd_string(&pubr, &pk, &pkl) || pkl != 32 || pubr.n != 0)
            goto out;
    }
    if (!rd_string(&r, &priv.p, &priv.n) || r.n != 0)
        goto out;
    /* Private section: check ints (equal for an unencrypted key), then the key, comment, pad. */
    if (!rd_u32(&priv, &check1) || !rd_u32(&priv, &check2) || check1 != check2 ||
        !rd_string(&priv, &s, &sl) || !str_is(s, sl, ED25519) || !rd_string(&priv, &ppk, &ppkl) ||
        ppkl != 32 || memcmp(ppk, pk, 32) != 0 || !rd_string(&priv, &psk, &pskl) ||
        pskl != crypto_sign_SECRETKEYBYTES || memcmp(psk + 32, pk, 32) != 0 ||
        !rd_string(&priv, &s, &sl) /* comment */)
        goto out;
    for (size_t i = 0; i < priv.n; i++)
        if (priv.p[i] != (unsigned char)(i + 1))
            goto out;
    /* The seed must give the public key the file claims. */
    if (crypto_sign_seed_keypair(derived_pk, derived_sk, psk) != 0 ||
        sodium_memcmp(derived_pk, pk, 32) != 0) {
        *why = "the private key does not match its public key";
        goto out;
    }
    memcpy(sk, psk, crypto_sign_SECRETKEYBYTES);
    memcpy(pub, pk, 32);
    *why = NULL;
    rc = 0;
out:
    sodium_memzero(derived_sk, sizeof(derived_sk));
    return rc;
}

int agent_key_parse(const void *text, size_t len, struct secbuf **sk, unsigned char pub[32],
                    const char **why)
{
    const char *t = text, *b64, *end, *b64_end;
    const char *msg = "not an OpenSSH private key (openssh-key-v1)";
    struct secbuf *bin = NULL, *key = NULL;
    size_t binlen = 0;
    int r = -ERR_PARSE;

    *sk = NULL;
    if (len > KEY_TEXT_MAX)
        goto out;
    if (find(t, len, "-----BEGIN RSA PRIVATE KEY-----") ||
        find(t, len, "-----BEGIN EC PRIVATE KEY-----") ||
        find(t, len, "-----BEGIN DSA PRIVATE KEY-----")) {
        msg = "only ed25519 keys are supported for key accounts yet";
        r = -ERR_INVAL;
        goto out;
    }
    if (!(b64 = find(t, len, PEM_BEGIN)))
        goto out;
    b64 += strlen(PEM_BEGIN);
    if (!(b64_end = find(b64, len - (size_t)(b64 - t), PEM_END)))
        goto out;
    if ((r = secbuf_new((size_t)(b64_end - b64) / 4 * 3 + 3, &bin)) != 0 ||
        (r = secbuf_new(crypto_sign_SECRETKEYBYTES, &key)) != 0)
        goto out;
    r = -ERR_PARSE;
    if (sodium_base642bin(secbuf_data(bin), secbuf_cap(bin), b64, (size_t)(b64_end - b64),
                          " \t\r\n", &binlen, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
        end != b64_end)
        goto out;
    if ((r = parse_blob(secbuf_cdata(bin), binlen, secbuf_data(key), pub, &msg)) != 0)
        goto out;
    if ((r = secbuf_set_len(key, crypto_sign_SECRETKEYBYTES)) != 0)
        goto out;
    *sk = key; /* caller owns it now */
    key = NULL;
    msg = NULL;
out:
    if (why)
        *why = msg;
    secbuf_free(bin);
    secbuf_free(key);
    return r;
}

static int answer_failure(struct buf *out)
{
    static const unsigned char fail[5] = {0, 0, 0, 1, AGENT_FAILURE};

    return buf_append(out, fail, sizeof(fail));
}

/* SIGN_REQUEST body: string key_blob, string data, uint32 flags (ignored for ed25519). */
static int answer_sign(const struct secbuf *sk, const unsigned char pub[32], bool may_sign,
                       const unsigned char *body, size_t len, struct buf *out, bool *signed_)
{
    struct rd r = {body, len};
    const unsigned char *blob, *data;
    size_t blobl, datal;
    uint32_t flags;
    unsigned char mine[AGENT_ED25519_BLOB_LEN], sig[crypto_sign_BYTES];
    unsigned char head[4 + 1 + 4 + 4 + ED25519_LEN + 4];
    int rc;

    agent_pub_blob(pub, mine);
    if (!may_sign || !rd_string(&r, &blob, &blobl) || !rd_string(&r, &data, &datal) ||
        !rd_u32(&r, &flags) || r.n != 0 || blobl != sizeof(mine) ||
        memcmp(blob, mine, sizeof(mine)) != 0 || secbuf_len(sk) != crypto_sign_SECRETKEYBYTES)
        return answer_failure(out);
    if (crypto_sign_detached(sig, NULL, data, datal, secbuf_cdata(sk)) != 0)
        return answer_failure(out);
    /* length | 14 | string(string "ssh-ed25519" | string sig) (RFC 8709 section 6) */
    put_u32(head, 1 + 4 + 4 + ED25519_LEN + 4 + crypto_sign_BYTES);
    head[4] = AGENT_SIGN_RESPONSE;
    put_u32(head + 5, 4 + ED25519_LEN + 4 + crypto_sign_BYTES);
    put_u32(head + 9, ED25519_LEN);
    memcpy(head + 13, ED25519, ED25519_LEN);
    put_u32(head + 13 + ED25519_LEN, crypto_sign_BYTES);
    if ((rc = buf_append(out, head, sizeof(head))) != 0 ||
        (rc = buf_append(out, sig, sizeof(sig))) != 0)
        return rc;
    *signed_ = true;
    return 0;
}

int agent_msg_answer(const struct secbuf *sk, const unsigned char pub[32], const char *comment,
                     bool may_sign, const unsigned char *msg, size_t len, struct buf *out,
                     bool *signed_)
{
    unsigned char blob[AGENT_ED25519_BLOB_LEN];
    size_t start = out->len, clen = strlen(comment);
    int r;

    *signed_ = false;
    if (len == 0)
        return answer_failure(out);
    switch (msg[0]) {
    case AGENTC_REQUEST_IDENTITIES:
        if (len != 1)
            return answer_failure(out);
        agent_pub_blob(pub, blob);
        if ((r = append_u32(out, (uint32_t)(1 + 4 + 4 + sizeof(blob) + 4 + clen))) != 0 ||
            (r = buf_append(out, (const unsigned char[]){AGENT_IDENTITIES_ANSWER}, 1)) != 0 ||
            (r = append_u32(out, 1)) != 0 || (r = append_string(out, blob, sizeof(blob))) != 0 ||
            (r = append_string(out, comment, clen)) != 0) {
            out->len = start; /* no half answer */
            return r;
        }
        return 0;
    case AGENTC_SIGN_REQUEST:
        r = answer_sign(sk, pub, may_sign, msg + 1, len - 1, out, signed_);
        if (r != 0)
            out->len = start;
        return r;
    default:
        return answer_failure(out);
    }
}
