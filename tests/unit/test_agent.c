/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for vaultd/agent_proto.c: OpenSSH ed25519 key parsing and agent messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "agent.h"

/* Generated once with ssh-keygen -t ed25519 -N "" -C unit@test (a test key, nothing else). */
static const char key_text[] =
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
    "QyNTUxOQAAACAN80HuwUl9uu7PKuQnIfl2FexIYv8iY3TvgIzURieCLAAAAJBK5dh+SuXY\n"
    "fgAAAAtzc2gtZWQyNTUxOQAAACAN80HuwUl9uu7PKuQnIfl2FexIYv8iY3TvgIzURieCLA\n"
    "AAAEB7lrN3u0w9UoXC59cHkR41ki9iKMLfxV6Y2mb+q1Mytg3zQe7BSX267s8q5Cch+XYV\n"
    "7Ehi/yJjdO+AjNRGJ4IsAAAACXVuaXRAdGVzdAECAwQ=\n"
    "-----END OPENSSH PRIVATE KEY-----\n";
/* Its public key (the last 32 bytes of the blob in the .pub file). */
static const char key_pub_hex[] =
    "0df341eec1497dbaeecf2ae42721f97615ec4862ff226374ef808cd44627822c";
/* ssh-keygen -t ed25519 -N pw: encrypted (aes256-ctr, bcrypt). */
static const char enc_text[] =
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAACmFlczI1Ni1jdHIAAAAGYmNyeXB0AAAAGAAAABB+rjULpc\n"
    "zyjurkjWBmFsIoAAAAEAAAAAEAAAAzAAAAC3NzaC1lZDI1NTE5AAAAIAy+1DFzorK4nZYv\n"
    "SwYLWyfnRZ7XuDckYfds0QzCkOqcAAAAkKHVCUvmycTeeYpzKdt4sew2zK1fH/QZTp/hYA\n"
    "Rz20GYctGTA7GU1MyVL1b0O7+/ALDyWWk3NlzrRg9Jz6xkFQE9kj+gh/fucSWmHbEoAETf\n"
    "lxZKWqduYKdtnFGNTMTXs2rJoE38nqSUKLD36R/svjJRy24E/+3NW/9J78sLXzYIaCMrYY\n"
    "ofclggV01oMNZ9GA==\n"
    "-----END OPENSSH PRIVATE KEY-----\n";

static unsigned char want_pub[32];

static int setup(void **state)
{
    (void)state;
    assert_int_equal(secbuf_init(), 0);
    assert_int_equal(sodium_hex2bin(want_pub, 32, key_pub_hex, 64, NULL, NULL, NULL), 0);
    return 0;
}

static void test_parse_ed25519(void **state)
{
    struct secbuf *sk = NULL;
    unsigned char pub[32];
    const char *why = "x";

    (void)state;
    assert_int_equal(agent_key_parse(key_text, strlen(key_text), &sk, pub, &why), 0);
    assert_null(why);
    assert_non_null(sk);
    assert_int_equal(secbuf_len(sk), crypto_sign_SECRETKEYBYTES);
    assert_memory_equal(pub, want_pub, 32);
    assert_memory_equal((const unsigned char *)secbuf_cdata(sk) + 32, want_pub, 32);
    secbuf_free(sk);
}

static void test_parse_refusals(void **state)
{
    static const char rsa[] =
        "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----\n";
    struct secbuf *sk = NULL;
    unsigned char pub[32];
    const char *why = NULL;
    char bad[sizeof(key_text)];

    (void)state;
    assert_int_equal(agent_key_parse(rsa, strlen(rsa), &sk, pub, &why), -ERR_INVAL);
    assert_string_equal(why, "only ed25519 keys are supported for key accounts yet");
    assert_int_equal(agent_key_parse(enc_text, strlen(enc_text), &sk, pub, &why), -ERR_INVAL);
    assert_non_null(strstr(why, "encrypted"));
    assert_int_equal(agent_key_parse("password", 8, &sk, pub, &why), -ERR_PARSE);
    assert_int_equal(agent_key_parse("", 0, &sk, pub, &why), -ERR_PARSE);
    assert_null(sk);
    /* Every truncation of the text fails cleanly (ASan checks the reads). */
    for (size_t n = 0; n < strlen(key_text) - 40; n++) {
        assert_int_not_equal(agent_key_parse(key_text, n, &sk, pub, &why), 0);
        assert_null(sk);
    }
    /* A flipped base64 character either breaks the structure or the key check. */
    for (size_t i = 40; i < strlen(key_text) - 40; i += 7) {
        memcpy(bad, key_text, sizeof(key_text));
        if (bad[i] == '\n' || bad[i] == '=')
            continue;
        bad[i] = bad[i] == 'A' ? 'B' : 'A';
        if (agent_key_parse(bad, strlen(bad), &sk, pub, &why) == 0) {
            /* Only the comment or the check ints can change harmlessly. */
            secbuf_free(sk);
            sk = NULL;
        }
    }
}

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A SIGN_REQUEST message (type byte + body) for blob and data; returns its length. */
static size_t sign_request(unsigned char *m, const unsigned char *blob, size_t bl, const char *data)
{
    size_t dl = strlen(data), n = 0;

    m[n++] = AGENTC_SIGN_REQUEST;
    put32(m + n, (uint32_t)bl);
    memcpy(m + n + 4, blob, bl);
    n += 4 + bl;
    put32(m + n, (uint32_t)dl);
    memcpy(m + n + 4, data, dl);
    n += 4 + dl;
    put32(m + n, 0);
    return n + 4;
}

static void test_messages(void **state)
{
    struct secbuf *sk = NULL;
    unsigned char pub[32], blob[AGENT_ED25519_BLOB_LEN], m[512];
    const unsigned char *o;
    const char *why;
    struct buf out;
    bool sig;
    size_t n;

    (void)state;
    assert_int_equal(agent_key_parse(key_text, strlen(key_text), &sk, pub, &why), 0);
    agent_pub_blob(pub, blob);
    buf_init(&out, 4096);

    /* Identities: one key, our blob, the comment. */
    m[0] = AGENTC_REQUEST_IDENTITIES;
    assert_int_equal(agent_msg_answer(sk, pub, "custos:x@y", true, m, 1, &out, &sig), 0);
    o = (const unsigned char *)out.data;
    assert_false(sig);
    assert_int_equal(get32(o), out.len - 4);
    assert_int_equal(o[4], AGENT_IDENTITIES_ANSWER);
    assert_int_equal(get32(o + 5), 1);
    assert_int_equal(get32(o + 9), sizeof(blob));
    assert_memory_equal(o + 13, blob, sizeof(blob));
    assert_int_equal(get32(o + 13 + sizeof(blob)), 10);
    assert_memory_equal(o + 17 + sizeof(blob), "custos:x@y", 10);

    /* Sign: an RFC 8709 signature that verifies with the public key. */
    buf_reset(&out);
    n = sign_request(m, blob, sizeof(blob), "data to sign");
    assert_int_equal(agent_msg_answer(sk, pub, "c", true, m, n, &out, &sig), 0);
    o = (const unsigned char *)out.data;
    assert_true(sig);
    assert_int_equal(out.len, 4 + 1 + 4 + 4 + 11 + 4 + 64);
    assert_int_equal(o[4], AGENT_SIGN_RESPONSE);
    assert_int_equal(get32(o + 5), 4 + 11 + 4 + 64);
    assert_memory_equal(o + 13, "ssh-ed25519", 11);
    assert_int_equal(get32(o + 24), 64);
    assert_int_equal(
        crypto_sign_verify_detached(o + 28, (const unsigned char *)"data to sign", 12, want_pub),
        0);

    /* Refused: not allowed, another key, truncated, trailing bytes, other types, empty. */
    buf_reset(&out);
    assert_int_equal(agent_msg_answer(sk, pub, "c", false, m, n, &out, &sig), 0);
    assert_false(sig);
    assert_int_equal(out.len, 5);
    assert_int_equal(((unsigned char *)out.data)[4], AGENT_FAILURE);
    for (size_t cut = 0; cut < n; cut++) {
        buf_reset(&out);
        assert_int_equal(agent_msg_answer(sk, pub, "c", true, m, cut, &out, &sig), 0);
        assert_false(sig);
        assert_int_equal(((unsigned char *)out.data)[4], AGENT_FAILURE);
    }
    m[n] = 0;
    buf_reset(&out);
    assert_int_equal(agent_msg_answer(sk, pub, "c", true, m, n + 1, &out, &sig), 0);
    assert_false(sig);
    blob[AGENT_ED25519_BLOB_LEN - 1] ^= 1;
    n = sign_request(m, blob, sizeof(blob), "data");
    buf_reset(&out);
    assert_int_equal(agent_msg_answer(sk, pub, "c", true, m, n, &out, &sig), 0);
    assert_false(sig);
    assert_int_equal(((unsigned char *)out.data)[4], AGENT_FAILURE);
    for (unsigned t = 0; t < 256; t++) {
        if (t == AGENTC_REQUEST_IDENTITIES || t == AGENTC_SIGN_REQUEST)
            continue;
        m[0] = (unsigned char)t;
        buf_reset(&out);
        assert_int_equal(agent_msg_answer(sk, pub, "c", true, m, 3, &out, &sig), 0);
        assert_int_equal(out.len, 5);
        assert_int_equal(((unsigned char *)out.data)[4], AGENT_FAILURE);
    }
    /* A too-small output buffer leaves nothing half-written. */
    buf_fini(&out);
    buf_init(&out, 20);
    m[0] = AGENTC_REQUEST_IDENTITIES;
    assert_int_equal(agent_msg_answer(sk, pub, "c", true, m, 1, &out, &sig), -ERR_TOO_LONG);
    assert_int_equal(out.len, 0);
    buf_fini(&out);
    secbuf_free(sk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_ed25519),
        cmocka_unit_test(test_parse_refusals),
        cmocka_unit_test(test_messages),
    };

    return cmocka_run_group_tests(tests, setup, NULL);
}
