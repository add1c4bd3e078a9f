/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Writes the seed corpus of fuzz_recording: small recordings signed with the
 * fuzz target's fixed vault key, each behind the target's 4-byte header.
 * Usage: make_rec_corpus DIR   (ninja -C build tests/fuzz/make_rec_corpus)
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "custos/rec.h"
#include "custos/secbuf.h"

#define FUZZ_VAULT_SEED "custos-fuzz-vault-key-0123456789"
#define TRY(x)                                                                                     \
    do {                                                                                           \
        if ((x) != 0)                                                                              \
            goto free;                                                                             \
    } while (0)

static int save(const char *dir, const char *name, const unsigned char hdr[4], const struct buf *b,
                size_t len)
{
    char path[4096];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (!(f = fopen(path, "wb")))
        return 1;
    fwrite(hdr, 1, 4, f);
    fwrite(b->data, 1, len, f);
    return fclose(f) != 0;
}

static int one(const char *dir, const char *name, bool pty, bool close, int lines)
{
    unsigned char vpk[32], vsk[64], rpk[32], rsk[64], hdr[4] = {3, 0, 9, 200};
    struct rec_meta m = {0};
    struct rec_limits lim;
    struct rec_writer *w;
    struct buf msg, file;
    uint64_t t = 0;
    int r = 1;

    crypto_sign_seed_keypair(vpk, vsk, (const unsigned char *)FUZZ_VAULT_SEED);
    crypto_sign_keypair(rpk, rsk);
    m.session = "s-1";
    m.identity = "alice";
    m.account = "root@web01";
    m.target = "web01";
    m.kind = pty ? "shell" : "exec";
    m.term = pty ? "xterm" : NULL;
    m.cols = pty ? 40 : 0;
    m.rows = pty ? 10 : 0;
    m.mask_unechoed = true;
    memcpy(m.rec_key, rpk, 32);
    memcpy(m.vault_key, vpk, 32);
    buf_init(&msg, 256);
    buf_init(&file, 1u << 20);
    if (rec_key_message(m.session, rpk, &msg) != 0)
        goto out;
    crypto_sign_detached(m.vault_sig, NULL, (const unsigned char *)msg.data, msg.len, vsk);
    rec_limits_default(&lim);
    lim.chunk_bytes = 256;
    lim.checkpoint_chunks = 2;
    lim.keyframe_bytes = 512;
    if (rec_writer_new(&m, &lim, rsk, &w) != 0)
        goto out;
    TRY(rec_writer_event(w, pty ? REC_SHELL : REC_EXEC, t, "id", pty ? 0 : 2));
    for (int i = 0; i < lines; i++) {
        char line[64];
        int n = snprintf(line, sizeof(line), "\x1b[1mline\x1b[0m %d\r\n", i);
        TRY(rec_writer_event(w, REC_IN, t += 1000, "k", 1));
        TRY(rec_writer_event(w, REC_OUT, t += 500, line, (size_t)n));
        if (i % 7 == 3)
            TRY(rec_writer_masked(w, t += 10, 4));
        if (i % 11 == 5)
            TRY(rec_writer_command(w, t += 10, REC_HOW_TYPED, "ls -l", "allow"));
        if (i == lines / 2)
            TRY(rec_writer_resize(w, t += 10, 50, 12));
    }
    TRY(rec_writer_marker(w, t += 10, "note", "end"));
    TRY(rec_writer_exit(w, t += 10, 0));
    t += 10;
    if (close)
        TRY(rec_writer_close(w, t, t));
    if (buf_append(&file, rec_writer_output(w)->data, rec_writer_output(w)->len) != 0)
        goto free;
    r = save(dir, name, hdr, &file, file.len);
free:
    rec_writer_free(w);
out:
    buf_fini(&msg);
    buf_fini(&file);
    return r;
}

int main(int argc, char **argv)
{
    if (argc != 2 || secbuf_init() != 0)
        return 2;
    return one(argv[1], "closed-pty", true, true, 40) |
           one(argv[1], "closed-exec", false, true, 10) |
           one(argv[1], "unfinished", true, false, 30) | one(argv[1], "tiny", false, true, 1);
}
