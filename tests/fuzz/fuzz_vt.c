/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: the screen model behind recording keyframes (common/rec/vt*.c).
 *
 * Input: a 4-byte header, then terminal output.
 *   hdr[0]     columns 1..160, hdr[1] rows 1..60
 *   hdr[2]     chunk size for feeding: 1 + b bytes
 *   hdr[3]     if non-zero, resize to (hdr[3] % 200, hdr[3] / 3) half way
 * After every chunk the model must snapshot, and a fresh model fed the
 * snapshot must equal it (vt_equal): a keyframe restores exactly the screen.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/rec/vt.h"
#include "fuzz.h"

#define HDR_LEN 4u

static void round_trip(const struct vt *vt)
{
    struct vt *b;
    struct buf snap;
    unsigned cols, rows;

    vt_size(vt, &cols, &rows);
    buf_init(&snap, 16u << 20);
    FUZZ_CHECK(vt_snapshot(vt, &snap) == 0);
    FUZZ_CHECK(vt_new(cols, rows, &b) == 0);
    FUZZ_CHECK(vt_feed(b, snap.data, snap.len) == 0);
    FUZZ_CHECK(vt_equal(vt, b));
    vt_free(b);
    buf_fini(&snap);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vt *vt;
    size_t off = HDR_LEN, step;
    bool resized = false;

    fuzz_init();
    if (size < HDR_LEN)
        return 0;
    FUZZ_CHECK(vt_new(1 + data[0] % 160, 1 + data[1] % 60, &vt) == 0);
    step = 1 + (size_t)data[2];
    while (off < size) {
        size_t n = size - off < step ? size - off : step;
        FUZZ_CHECK(vt_feed(vt, data + off, n) == 0);
        off += n;
        if (!resized && data[3] && off >= HDR_LEN + (size - HDR_LEN) / 2) {
            FUZZ_CHECK(vt_resize(vt, data[3] % 200, data[3] / 3) == 0);
            resized = true;
        }
        round_trip(vt);
    }
    vt_free(vt);
    return 0;
}
