/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for broker/xfer.c against byte streams of real sftp and scp transfers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "broker/xfer.h"

#ifndef XFER_DATA_DIR
#error "XFER_DATA_DIR must name tests/unit/data/xfer"
#endif

struct seen {
    unsigned id;
    enum xfer_dir dir;
    char name[256];
    crypto_generichash_state h;
    uint64_t bytes;
    bool ended, in_order;
    char digest[65];
};

struct log {
    struct seen f[16];
    int n;
    char ops[8][256];
    int nops;
    int lost;
    char why[128];
};

static struct seen *find(struct log *l, unsigned id)
{
    for (int i = 0; i < l->n; i++)
        if (l->f[i].id == id)
            return &l->f[i];
    fail_msg("no transfer %u", id);
    return NULL;
}

static void on_start(void *ctx, unsigned id, enum xfer_dir dir, const char *name)
{
    struct log *l = ctx;
    struct seen *s = &l->f[l->n++];

    assert_true(l->n <= 16);
    s->id = id;
    s->dir = dir;
    snprintf(s->name, sizeof(s->name), "%s", name);
    crypto_generichash_init(&s->h, NULL, 0, 32);
}

static void on_data(void *ctx, unsigned id, uint64_t off, const unsigned char *p, size_t n)
{
    struct seen *s = find(ctx, id);

    assert_false(s->ended);
    assert_int_equal(off, s->bytes); /* these transfers go in order */
    crypto_generichash_update(&s->h, p, n);
    s->bytes += n;
}

static void on_end(void *ctx, unsigned id, uint64_t bytes, bool in_order)
{
    struct seen *s = find(ctx, id);
    unsigned char d[32];

    assert_false(s->ended);
    s->ended = true;
    s->in_order = in_order;
    assert_int_equal(bytes, s->bytes);
    crypto_generichash_final(&s->h, d, 32);
    sodium_bin2hex(s->digest, sizeof(s->digest), d, 32);
}

static void on_op(void *ctx, const char *text)
{
    struct log *l = ctx;

    assert_true(l->nops < 8);
    snprintf(l->ops[l->nops++], 256, "%s", text);
}

static void on_lost(void *ctx, const char *why)
{
    struct log *l = ctx;

    l->lost++;
    snprintf(l->why, sizeof(l->why), "%s", why);
}

static unsigned char *slurp(const char *name, size_t *n)
{
    char path[512];
    FILE *f;
    unsigned char *b;
    long len;

    snprintf(path, sizeof(path), "%s/%s", XFER_DATA_DIR, name);
    assert_non_null(f = fopen(path, "rb"));
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    fseek(f, 0, SEEK_SET);
    assert_non_null(b = malloc((size_t)len));
    assert_int_equal(fread(b, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return b;
}

/* Replay a capture into a watcher, each record cut into pieces of `piece` bytes (0: whole). */
static void replay(const char *capture, enum xfer_proto proto, size_t piece, struct log *l)
{
    struct xfer_ops ops = {l, on_start, on_data, on_end, on_op, on_lost};
    struct xfer *x;
    size_t n, off = 0;
    unsigned char *b = slurp(capture, &n);

    memset(l, 0, sizeof(*l));
    assert_int_equal(xfer_new(proto, &ops, &x), 0);
    while (off + 5 <= n) {
        enum xfer_dir dir = b[off] == 'u' ? XFER_UP : XFER_DOWN;
        size_t len = (size_t)b[off + 1] << 24 | (size_t)b[off + 2] << 16 | (size_t)b[off + 3] << 8 |
                     b[off + 4];
        const unsigned char *p = b + off + 5;
        assert_true(off + 5 + len <= n);
        for (size_t k = 0; k < len;) {
            size_t m = piece && len - k > piece ? piece : len - k;
            xfer_feed(x, dir, p + k, m);
            k += m;
        }
        off += 5 + len;
    }
    xfer_free(x);
    free(b);
}

#define BIG_DIGEST "2e6901d0a512f3601dd41948d365ddc304a10d11ba40652621d4422e1c92badd"
#define UP1_DIGEST "75536d32f52453c72f58b38bfe24159b3a58310c9232f2aff5c57b6476b57fe0"

static void check_sftp(const struct log *l)
{
    assert_int_equal(l->lost, 0);
    assert_int_equal(l->n, 3);
    assert_string_equal(l->f[0].name, "/tmp/sftpcap/root/big.txt");
    assert_int_equal(l->f[0].dir, XFER_DOWN);
    assert_int_equal(l->f[0].bytes, 108894);
    assert_true(l->f[0].ended && l->f[0].in_order);
    assert_string_equal(l->f[0].digest, BIG_DIGEST);
    assert_string_equal(l->f[1].name, "/tmp/sftpcap/root/sub-up1.txt");
    assert_int_equal(l->f[1].dir, XFER_UP);
    assert_int_equal(l->f[1].bytes, 40000);
    assert_string_equal(l->f[1].digest, UP1_DIGEST);
    assert_string_equal(l->f[2].name, "/tmp/sftpcap/root/newdir/small.txt");
    assert_int_equal(l->f[2].bytes, 6);
    assert_int_equal(l->nops, 3);
    assert_string_equal(l->ops[0], "sftp mkdir /tmp/sftpcap/root/newdir");
    assert_string_equal(
        l->ops[1], "sftp rename /tmp/sftpcap/root/small.txt /tmp/sftpcap/root/newdir/small.txt");
    assert_string_equal(l->ops[2], "sftp remove /tmp/sftpcap/root/sub-up1.txt");
}

static void test_xfer_sftp_session(void **state)
{
    /* static: its hash states want 64-byte alignment, which ASan's fake stack does not give */
    static struct log l;
    size_t pieces[] = {0, 1, 7, 4096};

    /* however the bytes are cut, the same files, sizes, digests and operations */
    for (size_t i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
        replay("sftp.cap", XFER_SFTP, pieces[i], &l);
        check_sftp(&l);
    }
}

static void test_xfer_scp_sink_and_source(void **state)
{
    static struct log l;

    replay("scp-sink.cap", XFER_SCP_SINK, 3, &l);
    assert_int_equal(l.lost, 0);
    assert_int_equal(l.n, 3);
    assert_string_equal(l.f[0].name, "big.txt");
    assert_int_equal(l.f[0].dir, XFER_UP);
    assert_string_equal(l.f[0].digest, BIG_DIGEST);
    assert_string_equal(l.f[1].name, "tree/sub/b.txt");
    assert_int_equal(l.f[1].bytes, 4);
    assert_string_equal(l.f[2].name, "tree/a.txt");
    assert_true(l.f[2].ended);

    replay("scp-source.cap", XFER_SCP_SOURCE, 0, &l);
    assert_int_equal(l.lost, 0);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.f[0].dir, XFER_DOWN);
    assert_string_equal(l.f[0].name, "big.txt");
    assert_string_equal(l.f[0].digest, BIG_DIGEST);
}

static void test_xfer_not_the_protocol_is_lost_once(void **state)
{
    static struct log l;

    memset(&l, 0, sizeof(l));
    struct xfer_ops ops = {&l, on_start, on_data, on_end, on_op, on_lost};
    struct xfer *x;

    assert_int_equal(xfer_new(XFER_SFTP, &ops, &x), 0);
    xfer_feed(x, XFER_UP, "\x00\x00\x00\x05\x03xxxx", 9); /* an OPEN before INIT */
    xfer_feed(x, XFER_UP, "more bytes", 10);
    xfer_free(x);
    assert_int_equal(l.lost, 1);
    assert_string_equal(l.why, "not an SFTP session");

    memset(&l, 0, sizeof(l));
    assert_int_equal(xfer_new(XFER_SFTP, &ops, &x), 0);
    xfer_feed(x, XFER_UP, "\x7f\xff\xff\xff", 4); /* a length past the limit */
    xfer_free(x);
    assert_int_equal(l.lost, 1);

    memset(&l, 0, sizeof(l));
    assert_int_equal(xfer_new(XFER_SCP_SINK, &ops, &x), 0);
    xfer_feed(x, XFER_UP, "C0644 5 ../evil\n", 16); /* a name with a slash is not scp's */
    xfer_free(x);
    assert_int_equal(l.lost, 1);
    assert_int_equal(l.n, 0);

    /* a file cut off by the channel closing ends, not in order */
    memset(&l, 0, sizeof(l));
    assert_int_equal(xfer_new(XFER_SCP_SINK, &ops, &x), 0);
    xfer_feed(x, XFER_UP, "C0644 10 part.bin\nabcd", 22);
    xfer_free(x);
    assert_int_equal(l.n, 1);
    assert_true(l.f[0].ended);
    assert_false(l.f[0].in_order);
    assert_int_equal(l.f[0].bytes, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xfer_sftp_session),
        cmocka_unit_test(test_xfer_scp_sink_and_source),
        cmocka_unit_test(test_xfer_not_the_protocol_is_lost_once),
    };
    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
