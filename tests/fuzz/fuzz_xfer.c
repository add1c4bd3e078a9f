/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: the broker's file-transfer watcher (broker/xfer.c).
 *
 * Input: one byte choosing the protocol (0 sftp, 1 scp sink, 2 scp source),
 * one byte of piece size (1 + b), then records as in tests/unit/data/xfer:
 * 'u' or 'd', a big-endian u32 length, the bytes.  The watcher must keep its
 * promises whatever it is fed: every transfer ends once, after its start; its
 * data adds up to what on_end says; no data after the end; on_lost at most
 * once and nothing after it; every name NUL-terminated, bounded and free of
 * control characters.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "broker/xfer.h"
#include "fuzz.h"

#define MAXT 4096

struct st {
    uint64_t bytes[MAXT];
    bool started[MAXT], ended[MAXT];
    bool lost;
    unsigned last_id;
};

static void on_start(void *ctx, unsigned id, enum xfer_dir dir, const char *name)
{
    struct st *s = ctx;
    size_t n = strnlen(name, XFER_NAME_MAX * 2 + 2);

    FUZZ_CHECK(!s->lost);
    FUZZ_CHECK(id > s->last_id && id < MAXT); /* ids only grow */
    FUZZ_CHECK(dir == XFER_UP || dir == XFER_DOWN);
    FUZZ_CHECK(n <= XFER_NAME_MAX * 2 + 1);
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK((unsigned char)name[i] >= 0x20 && name[i] != 0x7f);
    s->last_id = id;
    s->started[id] = true;
}

static void on_data(void *ctx, unsigned id, uint64_t off, const unsigned char *p, size_t n)
{
    struct st *s = ctx;

    FUZZ_CHECK(!s->lost && id < MAXT && s->started[id] && !s->ended[id]);
    FUZZ_CHECK(n > 0 && p != NULL);
    (void)off;
    s->bytes[id] += n;
    /* touch every byte: ASan sees a read past what was fed */
    volatile unsigned char sink = 0;
    for (size_t i = 0; i < n; i++)
        sink ^= p[i];
    (void)sink;
}

static void on_end(void *ctx, unsigned id, uint64_t bytes, bool in_order)
{
    struct st *s = ctx;

    (void)in_order;
    FUZZ_CHECK(id < MAXT && s->started[id] && !s->ended[id]);
    FUZZ_CHECK(bytes == s->bytes[id]);
    s->ended[id] = true;
}

static void on_op(void *ctx, const char *text)
{
    struct st *s = ctx;

    FUZZ_CHECK(!s->lost && strlen(text) < 2 * XFER_NAME_MAX + 32);
}

static void on_lost(void *ctx, const char *why)
{
    struct st *s = ctx;

    FUZZ_CHECK(!s->lost && why && *why);
    s->lost = true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct st *s;
    struct xfer *x;
    struct xfer_ops ops;
    size_t off = 2, piece;

    fuzz_init();
    if (size < 2)
        return 0;
    s = calloc(1, sizeof(*s));
    FUZZ_CHECK(s != NULL);
    ops = (struct xfer_ops){s, on_start, on_data, on_end, on_op, on_lost};
    FUZZ_CHECK(xfer_new((enum xfer_proto)(data[0] % 3), &ops, &x) == 0);
    piece = 1 + (size_t)data[1];
    while (off + 5 <= size) {
        enum xfer_dir dir = data[off] & 1 ? XFER_UP : XFER_DOWN;
        size_t len = (size_t)data[off + 1] << 24 | (size_t)data[off + 2] << 16 |
                     (size_t)data[off + 3] << 8 | data[off + 4];
        off += 5;
        if (len > size - off)
            len = size - off;
        for (size_t k = 0; k < len;) {
            size_t m = len - k < piece ? len - k : piece;
            unsigned char *p = malloc(m);
            FUZZ_CHECK(p != NULL);
            memcpy(p, data + off + k, m);
            xfer_feed(x, dir, p, m);
            free(p);
            k += m;
        }
        off += len;
    }
    xfer_free(x);
    for (unsigned i = 0; i < MAXT; i++)
        FUZZ_CHECK(!s->started[i] || s->ended[i]); /* every transfer ended */
    free(s);
    return 0;
}
