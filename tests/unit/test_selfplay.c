/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for broker/selfplay.c: a recording played through the thread and pipes, on a real
 * loop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "broker/selfplay.h"
#include "custos/rec.h"
#include "custos/secbuf.h"

struct got {
    struct buf out;
    bool done;
    int status;
    char why[400];
};

static void on_out(void *c, const char *d, size_t n)
{
    struct got *g = c;

    assert_int_equal(buf_append(&g->out, d, n), 0);
}

static void on_done(void *c, int status, const char *why)
{
    struct got *g = c;

    assert_false(g->done); /* once */
    g->done = true;
    g->status = status;
    snprintf(g->why, sizeof(g->why), "%s", why ? why : "");
}

static char dir[64];
static unsigned char vpk[32];

/* A recording of `lines` numbered lines, 20 ms apart, signed for vpk. */
static void make_recording(const char *name, int lines)
{
    unsigned char vsk[64], pk[32], sk[64];
    struct rec_meta m = {0};
    struct rec_writer *w;
    struct buf msg;
    char path[128];
    FILE *f;
    uint64_t t = 0;

    crypto_sign_seed_keypair(vpk, vsk, (const unsigned char *)"test-selfplay-vault-key-seed-012");
    crypto_sign_keypair(pk, sk);
    m.session = name;
    m.account = "root@web01";
    m.target = "web01";
    m.kind = "shell";
    m.cols = 80;
    m.rows = 24;
    memcpy(m.rec_key, pk, 32);
    memcpy(m.vault_key, vpk, 32);
    buf_init(&msg, 256);
    assert_int_equal(rec_key_message(name, pk, &msg), 0);
    crypto_sign_detached(m.vault_sig, NULL, (const unsigned char *)msg.data, msg.len, vsk);
    buf_fini(&msg);
    assert_int_equal(rec_writer_new(&m, NULL, sk, &w), 0);
    for (int i = 0; i < lines; i++) {
        char l[32];
        int n = snprintf(l, sizeof(l), "line %d\r\n", i);
        t += 20000;
        assert_int_equal(rec_writer_event(w, REC_OUT, t, l, (size_t)n), 0);
    }
    assert_int_equal(rec_writer_close(w, t + 1, t + 1), 0);
    snprintf(path, sizeof(path), "%s/%s.crec", dir, name);
    assert_non_null(f = fopen(path, "wb"));
    fwrite(rec_writer_output(w)->data, 1, rec_writer_output(w)->len, f);
    fclose(f);
    rec_writer_free(w);
}

static void run(uv_loop_t *loop, struct got *g, int max_ms)
{
    for (int i = 0; i < max_ms / 10 && !g->done; i++) {
        uv_run(loop, UV_RUN_NOWAIT);
        usleep(10000);
    }
}

static void test_selfplay_plays_to_the_end(void **state)
{
    uv_loop_t loop;
    struct got g = {0};
    struct selfplay_io io = {&g, on_out, on_done};
    struct play_opts o = {64.0, 0, 0, true}; /* fast, but with timing */
    char path[128];

    buf_init(&g.out, 1u << 20);
    make_recording("s-1", 50);
    snprintf(path, sizeof(path), "%s/s-1.crec", dir);
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_non_null(selfplay_start(&loop, path, &o, false, vpk, &io));
    run(&loop, &g, 5000);
    assert_true(g.done);
    assert_int_equal(g.status, 0);
    assert_non_null(memmem(g.out.data, g.out.len, "line 0\r\n", 8));
    assert_non_null(memmem(g.out.data, g.out.len, "line 49\r\n", 9));
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
    buf_fini(&g.out);
}

static void test_selfplay_quit_key_and_abandon(void **state)
{
    uv_loop_t loop;
    struct got g = {0};
    struct selfplay_io io = {&g, on_out, on_done};
    struct play_opts o = {1.0, 0, 0, true}; /* 50 lines x 20 ms = 1 s at speed 1 */
    struct selfplay *p;
    char path[128];

    buf_init(&g.out, 1u << 20);
    snprintf(path, sizeof(path), "%s/s-1.crec", dir);
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_non_null(p = selfplay_start(&loop, path, &o, true, vpk, &io));
    run(&loop, &g, 200);
    assert_false(g.done);
    selfplay_input(p, "q", 1);
    run(&loop, &g, 2000);
    assert_true(g.done);
    assert_int_equal(g.status, 0);
    assert_null(memmem(g.out.data, g.out.len, "line 49", 7)); /* it stopped early */
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);

    /* abandoned in the middle: no callback after, everything freed, the loop closes */
    buf_fini(&g.out);
    memset(&g, 0, sizeof(g));
    buf_init(&g.out, 1u << 20);
    assert_non_null(p = selfplay_start(&loop, path, &o, false, vpk, &io));
    run(&loop, &g, 100);
    selfplay_abandon(p);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_false(g.done);
    assert_int_equal(uv_loop_close(&loop), 0);
    buf_fini(&g.out);
}

static void test_selfplay_refuses_a_modified_file_and_a_missing_one(void **state)
{
    uv_loop_t loop;
    struct got g = {0};
    struct selfplay_io io = {&g, on_out, on_done};
    struct play_opts o = {64.0, 0, 0, true};
    char path[128];
    FILE *f;
    long size;

    buf_init(&g.out, 1u << 20);
    make_recording("s-2", 2000); /* big enough that its middle is in a chunk */
    snprintf(path, sizeof(path), "%s/s-2.crec", dir);
    assert_non_null(f = fopen(path, "r+b"));
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fseek(f, size / 2, SEEK_SET);
    fputc('X', f);
    fclose(f);
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_non_null(selfplay_start(&loop, path, &o, false, vpk, &io));
    run(&loop, &g, 5000);
    assert_true(g.done);
    assert_int_equal(g.status, 1);
    if (!strstr(g.why, "MODIFIED"))
        print_error("why: %s\n", g.why);
    assert_non_null(strstr(g.why, "MODIFIED"));

    buf_fini(&g.out);
    memset(&g, 0, sizeof(g));
    buf_init(&g.out, 1u << 20);
    snprintf(path, sizeof(path), "%s/nope.crec", dir);
    assert_non_null(selfplay_start(&loop, path, &o, false, vpk, &io));
    run(&loop, &g, 2000);
    assert_true(g.done);
    assert_int_equal(g.status, 1);
    assert_non_null(strstr(g.why, "cannot open"));
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
    buf_fini(&g.out);
}

static int setup(void **state)
{
    snprintf(dir, sizeof(dir), "/tmp/test_selfplay.XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_selfplay_plays_to_the_end),
        cmocka_unit_test(test_selfplay_quit_key_and_abandon),
        cmocka_unit_test(test_selfplay_refuses_a_modified_file_and_a_missing_one),
    };
    if (secbuf_init() != 0)
        return 1;
    return cmocka_run_group_tests(tests, setup, teardown);
}
