/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for broker/recorder.c on a real libuv loop and real files: verified, masked, failing
 * closed. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "broker/recorder.h"
#include "custos/secbuf.h"

struct ctx {
    int ready_err, closed_err, failed, paused_on, paused_off;
    bool ready, closed;
    char why[256];
    unsigned char ckpt[512];
    size_t ckpt_len;
};

static void on_ready(void *c, int err, const char *why)
{
    struct ctx *x = c;

    x->ready = true;
    x->ready_err = err;
    if (why)
        snprintf(x->why, sizeof(x->why), "%s", why);
}

static void on_failed(void *c, const char *why)
{
    struct ctx *x = c;

    x->failed++;
    snprintf(x->why, sizeof(x->why), "%s", why);
}

static void on_paused(void *c, bool p)
{
    struct ctx *x = c;

    if (p)
        x->paused_on++;
    else
        x->paused_off++;
}

static void on_closed(void *c, int err, const unsigned char *ck, size_t n)
{
    struct ctx *x = c;

    x->closed = true;
    x->closed_err = err;
    if (ck && n <= sizeof(x->ckpt)) {
        memcpy(x->ckpt, ck, n);
        x->ckpt_len = n;
    }
}

struct fixture {
    char dir[64];
    uv_loop_t loop;
    unsigned char vpk[32], vsk[64], pk[32];
    struct secbuf *sk;
    unsigned char vsig[64];
    struct ctx c;
    struct recorder_ops ops;
    struct recorder_session s;
    struct recorder_conf conf;
};

static void fixture_init(struct fixture *f, const char *session)
{
    struct buf msg;

    memset(f, 0, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/test_recorder.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(uv_loop_init(&f->loop), 0);
    crypto_sign_keypair(f->vpk, f->vsk);
    assert_int_equal(recorder_keypair(f->pk, &f->sk), 0);
    buf_init(&msg, 256);
    assert_int_equal(rec_key_message(session, f->pk, &msg), 0);
    crypto_sign_detached(f->vsig, NULL, (const unsigned char *)msg.data, msg.len, f->vsk);
    buf_fini(&msg);
    f->ops = (struct recorder_ops){&f->c, on_ready, on_failed, on_paused, on_closed};
    f->s = (struct recorder_session){session,   "alice",        "root@web01", "web01", "g-1",
                                     "bastion", RECORDER_SHELL, NULL,         "xterm", 80,
                                     24,        f->vpk,         f->vsig};
    f->conf = (struct recorder_conf){f->dir, true, false, false, 1u << 20, 0};
}

static void fixture_fini(struct fixture *f)
{
    char cmd[128];

    assert_int_equal(uv_run(&f->loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&f->loop), 0); /* every handle closed, nothing left */
    secbuf_free(f->sk);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
}

/* Run the loop until cond or about 5 s. */
#define RUN_UNTIL(f, cond)                                                                         \
    do {                                                                                           \
        for (int i_ = 0; i_ < 500 && !(cond); i_++) {                                              \
            uv_run(&(f)->loop, UV_RUN_NOWAIT);                                                     \
            usleep(10000);                                                                         \
        }                                                                                          \
        assert_true(cond);                                                                         \
    } while (0)

static void verify_file(const char *path, const unsigned char *vpk, struct rec_verdict *v)
{
    struct rec_verifier *ver;
    FILE *fp = fopen(path, "rb");
    unsigned char b[65536];
    size_t n;

    assert_non_null(fp);
    assert_int_equal(rec_verifier_new(vpk, &ver), 0);
    while ((n = fread(b, 1, sizeof(b), fp)) > 0)
        assert_int_equal(rec_verifier_feed(ver, b, n), 0);
    fclose(fp);
    rec_verifier_finish(ver, v);
    rec_verifier_free(ver);
}

static void slurp(const char *path, struct buf *b)
{
    FILE *fp = fopen(path, "rb");
    char tmp[65536];
    size_t n;

    assert_non_null(fp);
    while ((n = fread(tmp, 1, sizeof(tmp), fp)) > 0)
        assert_int_equal(buf_append(b, tmp, n), 0);
    fclose(fp);
}

static void test_recorder_records_verifies_and_masks(void **state)
{
    struct fixture f;
    struct recorder *r;
    const struct relay_tap *tap;
    struct rec_verdict v;
    char path[128];
    struct stat st;

    fixture_init(&f, "s-1");
    assert_int_equal(recorder_new(&f.loop, &f.conf, &f.s, f.sk, &f.ops, &r), 0);
    RUN_UNTIL(&f, f.c.ready);
    assert_int_equal(f.c.ready_err, 0);
    snprintf(path, sizeof(path), "%s/s-1.crec", f.dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    tap = recorder_tap(r);
    tap->bytes(tap->ctx, RELAY_OUT, "root@web01:~# ", 14);
    for (const char *k = "sudo id\r"; *k; k++) {
        tap->bytes(tap->ctx, RELAY_IN, k, 1);
        tap->bytes(tap->ctx, RELAY_OUT, *k == '\r' ? "\r\n" : k, *k == '\r' ? 2 : 1);
    }
    tap->bytes(tap->ctx, RELAY_OUT, "[sudo] password for alice: ", 27);
    for (const char *k = "Tr0ub4dor&3"; *k; k++)
        tap->bytes(tap->ctx, RELAY_IN, k, 1);
    tap->bytes(tap->ctx, RELAY_IN, "\r", 1);
    tap->bytes(tap->ctx, RELAY_OUT, "\r\nuid=0(root)\r\n", 15);
    {
        struct relay_event ev = {.kind = RELAY_EV_RESIZE, .cols = 100, .rows = 30};
        tap->event(tap->ctx, &ev);
    }
    recorder_command(r, REC_HOW_TYPED, "sudo id", "allow");
    recorder_marker(r, "expiry_warning", "ends in 5 min");
    uv_run(&f.loop, UV_RUN_NOWAIT);
    recorder_close(r);
    RUN_UNTIL(&f, f.c.closed);
    assert_int_equal(f.c.closed_err, 0);
    assert_int_equal(f.c.failed, 0);
    assert_true(f.c.ckpt_len > 0);
    assert_int_equal(rec_checkpoint_verify(f.c.ckpt, f.c.ckpt_len, f.pk), 0);
    recorder_free(r);
    verify_file(path, f.vpk, &v);
    assert_int_equal(v.kind, REC_V_OK);
    assert_true(v.key_checked);
    assert_memory_equal(v.last.head, f.c.ckpt + 56,
                        32); /* the checkpoint handed on is the file's */
    {
        /* the password is nowhere in the file (the echoed command is) */
        struct buf b;
        buf_init(&b, 1u << 20);
        slurp(path, &b);
        assert_null(memmem(b.data, b.len, "Tr0ub4dor", 9));
        buf_fini(&b);
    }
    fixture_fini(&f);
}

static void test_recorder_refuses_when_the_file_cannot_be_made(void **state)
{
    struct fixture f;
    struct recorder *r;
    char path[128];

    fixture_init(&f, "s-2");
    /* the file exists already: O_EXCL refuses to write over a recording */
    snprintf(path, sizeof(path), "%s/s-2.crec", f.dir);
    {
        FILE *fp = fopen(path, "w");
        assert_non_null(fp);
        fclose(fp);
    }
    assert_int_equal(recorder_new(&f.loop, &f.conf, &f.s, f.sk, &f.ops, &r), 0);
    RUN_UNTIL(&f, f.c.ready);
    assert_int_not_equal(f.c.ready_err, 0);
    assert_non_null(strstr(f.c.why, "could not be created"));
    recorder_close(r); /* the owner refuses the session and closes: closed() with an error */
    assert_true(f.c.closed);
    assert_int_not_equal(f.c.closed_err, 0);
    recorder_free(r);
    fixture_fini(&f);
}

static void test_recorder_fails_closed_when_writes_fail(void **state)
{
    struct fixture f;
    struct recorder *r;
    struct rlimit old, lim;
    const struct relay_tap *tap;
    char big[65536];

    fixture_init(&f, "s-3");
    assert_int_equal(recorder_new(&f.loop, &f.conf, &f.s, f.sk, &f.ops, &r), 0);
    RUN_UNTIL(&f, f.c.ready);
    assert_int_equal(f.c.ready_err, 0);
    /* a disk that takes no more: the file may not grow past 64 KiB (write fails with EFBIG) */
    signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = 64u << 10;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    tap = recorder_tap(r);
    randombytes_buf(big, sizeof(big));
    for (int i = 0; i < 8 && !f.c.failed; i++) {
        tap->bytes(tap->ctx, RELAY_OUT, big, sizeof(big));
        for (int k = 0; k < 5; k++) {
            uv_run(&f.loop, UV_RUN_NOWAIT);
            usleep(20000);
        }
    }
    RUN_UNTIL(&f, f.c.failed);
    assert_int_equal(f.c.failed, 1); /* once */
    assert_non_null(strstr(f.c.why, "could not be written"));
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    recorder_close(r);
    assert_true(f.c.closed);
    recorder_free(r);
    fixture_fini(&f);
}

static void test_recorder_pauses_output_when_behind(void **state)
{
    struct fixture f;
    struct recorder *r;
    const struct relay_tap *tap;
    char chunk[8192];
    struct rec_verdict v;
    char path[128];

    fixture_init(&f, "s-4");
    f.conf.backlog_max = 32u << 10;
    assert_int_equal(recorder_new(&f.loop, &f.conf, &f.s, f.sk, &f.ops, &r), 0);
    RUN_UNTIL(&f, f.c.ready);
    tap = recorder_tap(r);
    memset(chunk, 'x', sizeof(chunk));
    /* the worker is busy or not yet scheduled: the loop queues past the bound */
    for (int i = 0; i < 16; i++)
        tap->bytes(tap->ctx, RELAY_OUT, chunk, sizeof(chunk));
    assert_int_equal(f.c.paused_on, 1);
    assert_true(recorder_paused(r));
    RUN_UNTIL(&f, f.c.paused_off == 1);
    assert_false(recorder_paused(r));
    recorder_close(r);
    RUN_UNTIL(&f, f.c.closed);
    recorder_free(r);
    snprintf(path, sizeof(path), "%s/s-4.crec", f.dir);
    verify_file(path, f.vpk, &v);
    assert_int_equal(v.kind, REC_V_OK);
    assert_int_equal(v.last.out_bytes, 16 * sizeof(chunk)); /* nothing dropped */
    fixture_fini(&f);
}

static void test_recorder_follows_an_sftp_session_without_its_bytes(void **state)
{
    struct fixture f;
    struct recorder *r;
    const struct relay_tap *tap;
    struct rec_verdict v;
    char path[128];
    struct buf b;
    FILE *cap;
    unsigned char hd[5];

    fixture_init(&f, "s-5");
    f.s.kind = RECORDER_SUBSYSTEM;
    f.s.command = "sftp";
    f.s.cols = f.s.rows = 0;
    assert_int_equal(recorder_new(&f.loop, &f.conf, &f.s, f.sk, &f.ops, &r), 0);
    RUN_UNTIL(&f, f.c.ready);
    tap = recorder_tap(r);
    assert_non_null(cap = fopen(XFER_DATA_DIR "/sftp.cap", "rb"));
    while (fread(hd, 1, 5, cap) == 5) {
        size_t n = (size_t)hd[1] << 24 | (size_t)hd[2] << 16 | (size_t)hd[3] << 8 | hd[4];
        char *p = malloc(n);
        assert_int_equal(fread(p, 1, n, cap), n);
        tap->bytes(tap->ctx, hd[0] == 'u' ? RELAY_IN : RELAY_OUT, p, n);
        free(p);
        uv_run(&f.loop, UV_RUN_NOWAIT);
    }
    fclose(cap);
    recorder_close(r);
    RUN_UNTIL(&f, f.c.closed);
    recorder_free(r);
    snprintf(path, sizeof(path), "%s/s-5.crec", f.dir);
    verify_file(path, f.vpk, &v);
    assert_int_equal(v.kind, REC_V_OK);
    assert_int_equal(v.last.out_bytes, 0); /* the transfers, not the stream */
    buf_init(&b, 1u << 20);
    slurp(path, &b);
    /* the file is small: names and digests, not the 150 KB the session carried */
    assert_true(b.len < 8192);
    buf_fini(&b);
    fixture_fini(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recorder_records_verifies_and_masks),
        cmocka_unit_test(test_recorder_refuses_when_the_file_cannot_be_made),
        cmocka_unit_test(test_recorder_fails_closed_when_writes_fail),
        cmocka_unit_test(test_recorder_pauses_output_when_behind),
        cmocka_unit_test(test_recorder_follows_an_sftp_session_without_its_bytes),
    };
    if (secbuf_init() != 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
