/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for common/rec: write, read back, verify — and every kind of damage is caught. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "common/rec/codec.h"
#include "common/rec/vt.h"
#include "common/rec/wire.h"
#include "custos/rec.h"
#include "custos/secbuf.h"

/* ---- fixtures: a vault key pair and a session key pair ------------------------------- */

struct keys {
    unsigned char vault_pk[32], vault_sk[64];
    unsigned char rec_pk[32], rec_sk[64];
};

static void keys_make(struct keys *k)
{
    crypto_sign_keypair(k->vault_pk, k->vault_sk);
    crypto_sign_keypair(k->rec_pk, k->rec_sk);
}

static void meta_make(struct rec_meta *m, const struct keys *k, const char *session, bool pty)
{
    struct buf msg;

    memset(m, 0, sizeof(*m));
    m->session = session;
    m->identity = "alice";
    m->account = "root@web01";
    m->target = "web01";
    m->grant = "g-7";
    m->kind = "shell";
    m->term = pty ? "xterm-256color" : NULL;
    m->broker = "bastion";
    m->started_us = 1733340000000000ull;
    m->cols = pty ? 80 : 0;
    m->rows = pty ? 24 : 0;
    m->mask_unechoed = true;
    memcpy(m->rec_key, k->rec_pk, 32);
    memcpy(m->vault_key, k->vault_pk, 32);
    buf_init(&msg, 512);
    assert_int_equal(rec_key_message(session, k->rec_pk, &msg), 0);
    crypto_sign_detached(m->vault_sig, NULL, (const unsigned char *)msg.data, msg.len, k->vault_sk);
    buf_fini(&msg);
}

/* Take everything the writer made so far into file. */
static void drain(struct rec_writer *w, struct buf *file)
{
    struct buf *o = rec_writer_output(w);

    assert_int_equal(buf_append(file, o->data, o->len), 0);
    buf_reset(o);
}

static void small_limits(struct rec_limits *l)
{
    rec_limits_default(l);
    l->chunk_bytes = 1024;
    l->checkpoint_chunks = 4;
    l->keyframe_bytes = 4096;
}

/*
 * A scripted session: prompt, typed command (each key echoed), a masked
 * password, output, a resize, markers, an exec-style command and exit.
 * t advances in µs.  Returns the writer open (not closed).
 */
static struct rec_writer *scripted_as(const char *session, const struct keys *k,
                                      const struct rec_limits *lim, struct buf *file, bool close)
{
    struct rec_meta m;
    struct rec_writer *w;
    uint64_t t = 0;
    const char *cmd = "ls -la /etc";

    meta_make(&m, k, session, true);
    assert_int_equal(rec_writer_new(&m, lim, k->rec_sk, &w), 0);
    assert_int_equal(rec_writer_event(w, REC_SHELL, t, NULL, 0), 0);
    assert_int_equal(rec_writer_event(w, REC_OUT, t += 1000, "root@web01:~# ", 14), 0);
    for (size_t i = 0; i < strlen(cmd); i++) {
        assert_int_equal(rec_writer_event(w, REC_IN, t += 120000, cmd + i, 1), 0);
        assert_int_equal(rec_writer_event(w, REC_OUT, t += 300, cmd + i, 1), 0);
    }
    assert_int_equal(rec_writer_event(w, REC_IN, t += 100000, "\r", 1), 0);
    assert_int_equal(rec_writer_command(w, t, REC_HOW_TYPED, cmd, "allow"), 0);
    for (int i = 0; i < 200; i++) {
        char line[96];
        int n = snprintf(line, sizeof(line), "-rw-r--r-- 1 root root %6d Dec  4 12:00 file%03d\r\n",
                         i * 37, i);
        assert_int_equal(rec_writer_event(w, REC_OUT, t += 50, line, (size_t)n), 0);
    }
    t += 2000000;
    assert_int_equal(rec_writer_tick(w, t, m.started_us + t), 0);
    assert_int_equal(rec_writer_event(w, REC_OUT, t += 10, "[sudo] password: ", 17), 0);
    assert_int_equal(rec_writer_masked(w, t += 200000, 9), 0);
    assert_int_equal(rec_writer_resize(w, t += 1000, 100, 30), 0);
    assert_int_equal(rec_writer_marker(w, t += 10, "expiry_warning", "ends in 5 min"), 0);
    assert_int_equal(rec_writer_event(w, REC_OUT, t += 10, "\x1b[?1049h\x1b[Hvim\x1b[?1049l", 23),
                     0);
    assert_int_equal(rec_writer_exit(w, t += 10, 3), 0);
    drain(w, file);
    if (close) {
        t += 10;
        assert_int_equal(rec_writer_close(w, t, m.started_us + t), 0);
        drain(w, file);
    }
    return w;
}

static struct rec_writer *scripted(const struct keys *k, const struct rec_limits *lim,
                                   struct buf *file, bool close)
{
    return scripted_as("s-42", k, lim, file, close);
}

static void verify_buf(const void *p, size_t n, const unsigned char *vault_pk,
                       struct rec_verdict *v)
{
    struct rec_verifier *ver;

    assert_int_equal(rec_verifier_new(vault_pk, &ver), 0);
    assert_int_equal(rec_verifier_feed(ver, p, n), 0);
    rec_verifier_finish(ver, v);
    rec_verifier_free(ver);
}

/* ---- tests ------------------------------------------------------------------------------- */

static void test_rec_closed_recording_verifies(void **state)
{
    struct keys k;
    struct buf file;
    struct rec_limits lim;
    struct rec_writer *w;
    struct rec_verdict v;
    struct rec_stats st;
    size_t ck_len;
    const unsigned char *ck;

    keys_make(&k);
    small_limits(&lim);
    buf_init(&file, 64u << 20);
    w = scripted(&k, &lim, &file, true);
    rec_writer_stats(w, &st);
    assert_true(st.chunks > 4);
    assert_true(st.checkpoints >= 2);
    assert_int_equal(st.file_bytes, file.len);
    verify_buf(file.data, file.len, k.vault_pk, &v);
    assert_int_equal(v.kind, REC_V_OK);
    assert_true(v.key_checked);
    assert_true(v.last.final);
    assert_int_equal(v.last.chunks, st.chunks);
    assert_int_equal(v.last.events, st.events);
    assert_int_equal(v.last.in_bytes, st.in_bytes);
    assert_int_equal(v.last.out_bytes, st.out_bytes);
    assert_string_equal(v.session, "s-42");
    /* The final checkpoint the writer hands out (for session.close) is the file's. */
    ck = rec_writer_last_checkpoint(w, &ck_len);
    assert_non_null(ck);
    assert_int_equal(rec_checkpoint_verify(ck, ck_len, k.rec_pk), 0);
    assert_int_equal(rec_checkpoint_verify(ck, ck_len, k.vault_pk), -ERR_TAMPERED);
    /* Fed one byte at a time, the verdict is the same. */
    {
        struct rec_verifier *ver;
        struct rec_verdict v2;
        assert_int_equal(rec_verifier_new(k.vault_pk, &ver), 0);
        for (size_t i = 0; i < file.len; i++)
            assert_int_equal(rec_verifier_feed(ver, file.data + i, 1), 0);
        rec_verifier_finish(ver, &v2);
        rec_verifier_free(ver);
        assert_int_equal(v2.kind, REC_V_OK);
        assert_int_equal(v2.last.events, v.last.events);
    }
    /* Without a trusted key it still verifies, but says the key was not checked. */
    verify_buf(file.data, file.len, NULL, &v);
    assert_int_equal(v.kind, REC_V_OK);
    assert_false(v.key_checked);
    /* Every call on a closed writer is refused. */
    assert_int_equal(rec_writer_event(w, REC_OUT, 1, "x", 1), -ERR_STATE);
    rec_writer_free(w);
    buf_fini(&file);
}

/* Read the whole file back: frames, header, events in order with their times. */
struct collect {
    struct buf types, text;
    uint64_t last_t;
    unsigned masked, commands, keyframes, resizes, exits, markers;
};

static int collect_event(void *ctx, const struct rec_event *ev)
{
    struct collect *c = ctx;
    uint8_t t = ev->type;

    assert_true(ev->t_us >= c->last_t);
    c->last_t = ev->t_us;
    assert_int_equal(buf_append(&c->types, &t, 1), 0);
    if (ev->type == REC_OUT)
        assert_int_equal(buf_append(&c->text, ev->data, ev->len), 0);
    if (ev->type == REC_IN_MASKED) {
        uint64_t n;
        assert_int_equal(rec_event_uint(ev, &n), 0);
        assert_int_equal(n, 9);
        c->masked++;
    }
    if (ev->type == REC_COMMAND) {
        assert_non_null(memmem(ev->data, ev->len, "ls -la /etc", 11));
        c->commands++;
    }
    if (ev->type == REC_KEYFRAME)
        c->keyframes++;
    if (ev->type == REC_RESIZE) {
        unsigned cols, rows;
        assert_int_equal(rec_event_resize(ev, &cols, &rows), 0);
        assert_int_equal(cols, 100);
        assert_int_equal(rows, 30);
        c->resizes++;
    }
    if (ev->type == REC_EXIT) {
        uint64_t s;
        assert_int_equal(rec_event_uint(ev, &s), 0);
        assert_int_equal(s, 3);
        c->exits++;
    }
    if (ev->type == REC_MARKER)
        c->markers++;
    return 0;
}

static void test_rec_read_back(void **state)
{
    struct keys k;
    struct buf file, scratch;
    struct rec_limits lim;
    struct collect c;
    struct rec_info *info = NULL;
    struct rec_index *ix = NULL;
    size_t off = REC_MAGIC_LEN, chunk_count = 0, sync = 0;
    uint64_t ix_off = 0, fin_off = 0;

    keys_make(&k);
    small_limits(&lim);
    buf_init(&file, 64u << 20);
    buf_init(&scratch, REC_FRAME_MAX);
    memset(&c, 0, sizeof(c));
    buf_init(&c.types, 1u << 20);
    buf_init(&c.text, 1u << 20);
    rec_writer_free(scripted(&k, &lim, &file, true));
    assert_memory_equal(file.data, REC_MAGIC, REC_MAGIC_LEN);
    while (off < file.len) {
        struct rec_frame f;
        assert_int_equal(rec_frame_parse(file.data + off, file.len - off, &f), 0);
        if (f.type == REC_F_HEADER) {
            assert_int_equal(rec_header_parse(&f, &info), 0);
        } else if (f.type == REC_F_CHUNK) {
            struct rec_chunk ch;
            assert_int_equal(rec_chunk_parse(&f, &ch), 0);
            assert_int_equal(ch.seq, ++chunk_count);
            assert_int_equal(ch.codec, CODEC_ZSTD);
            /* every chunk stays near its size limit (one event may pass it) */
            if (!(ch.flags & REC_CHUNK_KEYFRAME))
                assert_true(ch.raw_len <= lim.chunk_bytes + 64);
            if (ch.flags & REC_CHUNK_SYNC)
                sync++;
            assert_int_equal(rec_chunk_events(&ch, &scratch, collect_event, &c), 0);
        } else if (f.type == REC_F_INDEX) {
            assert_int_equal(rec_index_parse(f.body, f.len, &ix), 0);
        } else if (f.type == REC_F_TRAILER) {
            assert_int_equal(rec_trailer_parse(&f, &ix_off, &fin_off), 0);
            assert_int_equal(off + f.raw_len, file.len); /* the last frame */
        }
        off += f.raw_len;
    }
    assert_non_null(info);
    assert_string_equal(info->meta.session, "s-42");
    assert_string_equal(info->meta.identity, "alice");
    assert_string_equal(info->meta.account, "root@web01");
    assert_string_equal(info->meta.grant, "g-7");
    assert_string_equal(info->meta.term, "xterm-256color");
    assert_int_equal(info->meta.cols, 80);
    assert_true(info->meta.mask_unechoed);
    assert_memory_equal(info->meta.rec_key, k.rec_pk, 32);
    assert_string_equal(info->codec, "zstd");
    assert_int_equal(info->limits.chunk_bytes, 1024);
    /* the output came back whole, in order */
    assert_non_null(memmem(c.text.data, c.text.len, "root@web01:~# ls -la /etc", 25));
    assert_non_null(memmem(c.text.data, c.text.len, "file199\r\n", 9));
    assert_int_equal(c.masked, 1);
    assert_int_equal(c.commands, 1);
    assert_int_equal(c.resizes, 1);
    assert_int_equal(c.exits, 1);
    assert_int_equal(c.markers, 1);
    assert_true(c.keyframes >= 1);
    /* the index lists every seek point and the command */
    assert_non_null(ix);
    assert_int_equal(ix->n_chunks, sync);
    assert_int_equal(ix->chunks[0].offset, REC_MAGIC_LEN + (file.data[REC_MAGIC_LEN + 4] & 0xff) +
                                               ((file.data[REC_MAGIC_LEN + 5] & 0xff) << 8) +
                                               REC_FRAME_HDR);
    assert_int_equal(ix->n_commands, 1);
    assert_string_equal(ix->commands[0].line, "ls -la /etc");
    assert_int_equal(ix->commands[0].how, REC_HOW_TYPED);
    assert_true(ix_off > 0 && fin_off > ix_off);
    rec_index_free(ix);
    rec_info_free(info);
    buf_fini(&c.types);
    buf_fini(&c.text);
    buf_fini(&scratch);
    buf_fini(&file);
}

/* A keyframe paints exactly the screen the output before it made. */
struct kf_check {
    struct vt *model; /* fed every OUT */
    unsigned checked;
};

static int kf_event(void *ctx, const struct rec_event *ev)
{
    struct kf_check *c = ctx;

    if (ev->type == REC_KEYFRAME) {
        unsigned cols, rows;
        const unsigned char *paint;
        size_t n;
        struct vt *fresh;
        assert_int_equal(rec_event_keyframe(ev, &cols, &rows, &paint, &n), 0);
        assert_int_equal(vt_new(cols, rows, &fresh), 0);
        assert_int_equal(vt_feed(fresh, paint, n), 0);
        assert_true(vt_equal(fresh, c->model));
        vt_free(fresh);
        c->checked++;
    } else if (ev->type == REC_OUT) {
        assert_int_equal(vt_feed(c->model, ev->data, ev->len), 0);
    } else if (ev->type == REC_RESIZE) {
        unsigned cols, rows;
        assert_int_equal(rec_event_resize(ev, &cols, &rows), 0);
        assert_int_equal(vt_resize(c->model, cols, rows), 0);
    }
    return 0;
}

static void test_rec_keyframes_match_the_screen(void **state)
{
    struct keys k;
    struct rec_meta m;
    struct rec_limits lim;
    struct rec_writer *w;
    struct buf file, scratch;
    struct kf_check c = {0};
    uint64_t t = 0;
    size_t off = REC_MAGIC_LEN;

    keys_make(&k);
    small_limits(&lim);
    meta_make(&m, &k, "s-43", true);
    buf_init(&file, 64u << 20);
    buf_init(&scratch, REC_FRAME_MAX);
    assert_int_equal(rec_writer_new(&m, &lim, k.rec_sk, &w), 0);
    for (int i = 0; i < 1000; i++) {
        char line[128];
        int n = snprintf(line, sizeof(line), "\x1b[%d;%dH\x1b[3%dmline %d \xe4\xb8\x96\x1b[0m\r\n",
                         1 + i % 24, 1 + (i * 7) % 60, i % 8, i);
        assert_int_equal(rec_writer_event(&*w, REC_OUT, t += 3000, line, (size_t)n), 0);
        if (i == 150)
            assert_int_equal(rec_writer_resize(w, t, 120, 40), 0);
        if (i == 200) { /* idle: the writer frees its screen model and brings it back */
            t += 6000000;
            assert_int_equal(rec_writer_tick(w, t, m.started_us + t), 0);
        }
        if (i % 50 == 0)
            assert_int_equal(rec_writer_tick(w, t, m.started_us + t), 0);
    }
    assert_int_equal(rec_writer_close(w, t, m.started_us + t), 0);
    drain(w, &file);
    assert_int_equal(vt_new(80, 24, &c.model), 0);
    while (off < file.len) {
        struct rec_frame f;
        struct rec_chunk ch;
        assert_int_equal(rec_frame_parse(file.data + off, file.len - off, &f), 0);
        if (f.type == REC_F_CHUNK) {
            assert_int_equal(rec_chunk_parse(&f, &ch), 0);
            assert_int_equal(rec_chunk_events(&ch, &scratch, kf_event, &c), 0);
        }
        off += f.raw_len;
    }
    {
        struct rec_stats st;
        rec_writer_stats(w, &st);
        if (c.checked < 3)
            print_error("keyframes %llu checked %u chunks %llu out %llu\n",
                        (unsigned long long)st.keyframes, c.checked, (unsigned long long)st.chunks,
                        (unsigned long long)st.out_bytes);
        assert_int_equal(c.checked, st.keyframes);
    }
    assert_true(c.checked >= 3);
    vt_free(c.model);
    rec_writer_free(w);
    buf_fini(&scratch);
    buf_fini(&file);
}

/* ---- damage ------------------------------------------------------------------------------ */

/* Offsets of every frame of a file. */
static size_t frame_offsets(const struct buf *file, size_t *offs, uint8_t *types, size_t max)
{
    size_t off = REC_MAGIC_LEN, n = 0;

    while (off < file->len && n < max) {
        struct rec_frame f;
        assert_int_equal(rec_frame_parse(file->data + off, file->len - off, &f), 0);
        offs[n] = off;
        types[n++] = f.type;
        off += f.raw_len;
    }
    return n;
}

static struct buf copy_of(const struct buf *b)
{
    struct buf c;

    buf_init(&c, b->max);
    assert_int_equal(buf_append(&c, b->data, b->len), 0);
    return c;
}

static void expect(const struct buf *file, const unsigned char *vk, enum rec_verdict_kind kind)
{
    struct rec_verdict v;

    verify_buf(file->data, file->len, vk, &v);
    if (v.kind != kind)
        print_error("verdict %s (%s), wanted %s\n", rec_verdict_name(v.kind), v.why,
                    rec_verdict_name(kind));
    assert_int_equal(v.kind, kind);
}

static void test_rec_damage_is_caught(void **state)
{
    struct keys k;
    struct buf file, d;
    struct rec_limits lim;
    size_t offs[256], n, first_chunk = 0, second_chunk = 0, a_ckpt = 0, last_ckpt = 0;
    uint8_t types[256];
    struct rec_verdict v;

    keys_make(&k);
    small_limits(&lim);
    buf_init(&file, 64u << 20);
    rec_writer_free(scripted(&k, &lim, &file, true));
    n = frame_offsets(&file, offs, types, 256);
    for (size_t i = 0; i < n; i++) {
        if (types[i] == REC_F_CHUNK && !first_chunk)
            first_chunk = i;
        else if (types[i] == REC_F_CHUNK && !second_chunk)
            second_chunk = i;
        if (types[i] == REC_F_CHECKPOINT) {
            if (!a_ckpt)
                a_ckpt = i;
            last_ckpt = i;
        }
    }
    assert_true(first_chunk && second_chunk && a_ckpt && last_ckpt > a_ckpt);

    /* A flipped byte anywhere after the magic: in every frame, header, payload or trailer. */
    for (size_t i = 0; i < n; i++) {
        size_t end = i + 1 < n ? offs[i + 1] : file.len;
        size_t mid = offs[i] + (end - offs[i]) / 2;
        d = copy_of(&file);
        d.data[mid] ^= 0x01;
        verify_buf(d.data, d.len, k.vault_pk, &v);
        if (v.kind == REC_V_OK)
            print_error("frame %zu of type %d (offset %zu, flipped at %zu) still verifies\n", i,
                        types[i], offs[i], mid);
        if (types[i] == REC_F_TRAILER || types[i] == REC_F_HEADER)
            assert_true(v.kind == REC_V_MODIFIED || v.kind == REC_V_WRONG_KEY);
        else
            assert_int_equal(v.kind, REC_V_MODIFIED);
        assert_true(v.why[0] != '\0');
        buf_fini(&d);
    }

    /* A dropped chunk. */
    d = copy_of(&file);
    memmove(d.data + offs[second_chunk], d.data + offs[second_chunk + 1],
            d.len - offs[second_chunk + 1]);
    d.len -= offs[second_chunk + 1] - offs[second_chunk];
    verify_buf(d.data, d.len, k.vault_pk, &v);
    assert_int_equal(v.kind, REC_V_MODIFIED);
    assert_int_equal(v.bad_offset, offs[second_chunk]); /* reported where it happened */
    buf_fini(&d);

    /* Two chunks swapped. */
    {
        size_t a = offs[first_chunk], b = offs[second_chunk], e = offs[second_chunk + 1];
        size_t la = b - a, lb = e - b;
        char *tmp = malloc(la + lb);
        d = copy_of(&file);
        memcpy(tmp, d.data + b, lb);
        memcpy(tmp + lb, d.data + a, la);
        memcpy(d.data + a, tmp, la + lb);
        free(tmp);
        expect(&d, k.vault_pk, REC_V_MODIFIED);
        buf_fini(&d);
    }

    /* A cut tail: at every frame boundary before the final checkpoint, and inside a frame. */
    for (size_t i = first_chunk; i < n && types[i] != REC_F_INDEX; i++) {
        struct rec_verdict cut;
        d = copy_of(&file);
        d.len = offs[i] + 3; /* in the middle of a frame header */
        verify_buf(d.data, d.len, k.vault_pk, &cut);
        assert_int_equal(cut.kind, REC_V_INCOMPLETE);
        assert_true(cut.tail_bytes > 0);
        buf_fini(&d);
    }
    d = copy_of(&file);
    d.len = offs[a_ckpt + 1]; /* right after a checkpoint: sealed, nothing unsealed */
    verify_buf(d.data, d.len, k.vault_pk, &v);
    assert_int_equal(v.kind, REC_V_INCOMPLETE);
    assert_int_equal(v.tail_bytes, 0);
    assert_true(v.have_last);
    assert_false(v.last.final);
    buf_fini(&d);

    /* A checkpoint replaced by one from another recording (same key, other session). */
    {
        struct buf other;
        size_t o_offs[256], on;
        uint8_t o_types[256];
        buf_init(&other, 64u << 20);
        rec_writer_free(scripted_as("s-43", &k, &lim, &other, true));
        on = frame_offsets(&other, o_offs, o_types, 256);
        for (size_t i = 0; i < on; i++) {
            if (o_types[i] != REC_F_CHECKPOINT)
                continue;
            /* same key, same script, same length — but another session's chain */
            d = copy_of(&file);
            size_t len = offs[a_ckpt + 1] - offs[a_ckpt];
            size_t olen = o_offs[i + 1] - o_offs[i];
            assert_int_equal(olen, len);
            assert_memory_not_equal(d.data + offs[a_ckpt], other.data + o_offs[i], len);
            memcpy(d.data + offs[a_ckpt], other.data + o_offs[i], len);
            expect(&d, k.vault_pk, REC_V_MODIFIED);
            buf_fini(&d);
            break;
        }
        buf_fini(&other);
    }

    /* Bytes appended after the trailer. */
    d = copy_of(&file);
    assert_int_equal(buf_append(&d, "\x02\0\0\0\0\0\0\0", 8), 0);
    expect(&d, k.vault_pk, REC_V_MODIFIED);
    buf_fini(&d);

    /* The trailer is not chained, but a wrong one is still refused. */
    d = copy_of(&file);
    d.data[d.len - 24] ^= 0x10;
    expect(&d, k.vault_pk, REC_V_MODIFIED);
    buf_fini(&d);

    /* Not a recording at all. */
    d = copy_of(&file);
    d.data[1] = 'X';
    expect(&d, k.vault_pk, REC_V_MODIFIED);
    buf_fini(&d);

    /* An empty file and a magic-only file are unfinished, with nothing sealed. */
    verify_buf(file.data, 0, k.vault_pk, &v);
    assert_int_equal(v.kind, REC_V_INCOMPLETE);
    assert_false(v.have_last);
    verify_buf(file.data, REC_MAGIC_LEN, k.vault_pk, &v);
    assert_int_equal(v.kind, REC_V_INCOMPLETE);
    buf_fini(&file);
}

/* Re-signed with another key: the vault never vouched for it. */
static void test_rec_resigned_with_another_key(void **state)
{
    struct keys k, attacker;
    struct rec_limits lim;
    struct buf file;
    struct rec_meta m;
    struct rec_writer *w;
    struct rec_verdict v;

    keys_make(&k);
    keys_make(&attacker);
    small_limits(&lim);
    buf_init(&file, 64u << 20);
    /* The attacker writes the whole file again with its own session key, and signs the key
     * with its own "vault" key: fine on its own, refused against the real vault key. */
    meta_make(&m, &attacker, "s-42", true);
    assert_int_equal(rec_writer_new(&m, &lim, attacker.rec_sk, &w), 0);
    assert_int_equal(rec_writer_event(w, REC_OUT, 5, "forged", 6), 0);
    assert_int_equal(rec_writer_close(w, 10, m.started_us + 10), 0);
    drain(w, &file);
    rec_writer_free(w);
    verify_buf(file.data, file.len, attacker.vault_pk, &v);
    assert_int_equal(v.kind, REC_V_OK);
    verify_buf(file.data, file.len, k.vault_pk, &v);
    assert_int_equal(v.kind, REC_V_WRONG_KEY);
    buf_reset(&file);

    /* The real vault's signature, but for another session id: refused too. */
    meta_make(&m, &k, "s-99", true);
    m.session = "s-42";
    assert_int_equal(rec_writer_new(&m, &lim, k.rec_sk, &w), 0);
    assert_int_equal(rec_writer_close(w, 10, m.started_us + 10), 0);
    drain(w, &file);
    rec_writer_free(w);
    verify_buf(file.data, file.len, k.vault_pk, &v);
    assert_int_equal(v.kind, REC_V_WRONG_KEY);
    buf_fini(&file);
}

static void test_rec_unfinished_recording(void **state)
{
    struct keys k;
    struct rec_limits lim;
    struct buf file;
    struct rec_writer *w;
    struct rec_verdict v;

    keys_make(&k);
    small_limits(&lim);
    buf_init(&file, 64u << 20);
    w = scripted(&k, &lim, &file, false); /* the broker died: no close */
    verify_buf(file.data, file.len, k.vault_pk, &v);
    assert_int_equal(v.kind, REC_V_INCOMPLETE);
    assert_true(v.have_last);
    assert_false(v.last.final);
    assert_string_equal(v.last.session, "s-42");
    rec_writer_free(w);
    buf_fini(&file);
}

static void test_rec_bulk_output_is_split_and_compressed(void **state)
{
    struct keys k;
    struct rec_meta m;
    struct rec_writer *w;
    struct buf file;
    struct rec_verdict v;
    struct rec_stats st;
    unsigned char *zeros = calloc(1, 8u << 20);
    unsigned char *noise = malloc(1u << 20);

    keys_make(&k);
    meta_make(&m, &k, "s-44", false); /* exec, no pty: no keyframes */
    m.kind = "exec";
    buf_init(&file, 64u << 20);
    randombytes_buf(noise, 1u << 20);
    assert_int_equal(rec_writer_new(&m, NULL, k.rec_sk, &w), 0);
    assert_int_equal(rec_writer_event(w, REC_EXEC, 0, "head -c 8M /dev/zero", 20), 0);
    assert_int_equal(rec_writer_event(w, REC_OUT, 10, zeros, 8u << 20), 0);
    drain(w, &file);
    assert_int_equal(rec_writer_event(w, REC_ERR, 20, noise, 1u << 20), 0);
    assert_int_equal(rec_writer_close(w, 30, m.started_us + 30), 0);
    drain(w, &file);
    rec_writer_stats(w, &st);
    assert_int_equal(st.out_bytes, (8u << 20) + (1u << 20));
    assert_int_equal(st.keyframes, 0);
    /* zeros compress to almost nothing; noise does not grow much */
    assert_true(file.len < (1u << 20) + (200u << 10));
    assert_true(st.chunks >= (9u << 20) / (64u << 10));
    verify_buf(file.data, file.len, k.vault_pk, &v);
    assert_int_equal(v.kind, REC_V_OK);
    assert_int_equal(v.last.out_bytes, st.out_bytes);
    rec_writer_free(w);
    free(zeros);
    free(noise);
    buf_fini(&file);
}

static void test_rec_bad_input_is_refused(void **state)
{
    struct keys k;
    struct rec_meta m;
    struct rec_limits lim;
    struct rec_writer *w;
    struct rec_frame f;
    size_t size;

    keys_make(&k);
    meta_make(&m, &k, "s-45", true);
    m.session = NULL;
    assert_int_equal(rec_writer_new(&m, NULL, k.rec_sk, &w), -ERR_INVAL);
    meta_make(&m, &k, "s-45", true);
    rec_limits_default(&lim);
    lim.chunk_bytes = 10;
    assert_int_equal(rec_writer_new(&m, &lim, k.rec_sk, &w), -ERR_INVAL);
    assert_int_equal(rec_writer_new(&m, NULL, k.rec_sk, &w), 0);
    assert_int_equal(rec_writer_event(w, 0x7f, 1, "x", 1), -ERR_INVAL); /* unknown type */
    assert_int_equal(rec_writer_event(w, REC_KEYFRAME, 1, "x", 1), -ERR_INVAL);
    assert_int_equal(rec_writer_marker(w, 1, "note", "\xff\xfe not utf-8"), -ERR_INVAL);
    assert_int_equal(rec_writer_command(w, 1, REC_HOW_TYPED, "\xc3(", NULL), -ERR_INVAL);
    assert_int_equal(rec_writer_command(w, 1, (enum rec_how)9, "ls", NULL), -ERR_INVAL);
    assert_int_equal(rec_writer_signal(w, 1, "", false), -ERR_INVAL);
    /* an event over the limit is refused, and an OUT of any size is taken */
    {
        char *big = calloc(1, REC_EVENT_MAX + 1);
        assert_int_equal(rec_writer_event(w, REC_MARKER, 1, big, REC_EVENT_MAX + 1), -ERR_TOO_LONG);
        assert_int_equal(rec_writer_event(w, REC_OUT, 1, big, REC_EVENT_MAX + 1), 0);
        free(big);
    }
    rec_writer_free(w);
    /* frame headers that are not valid */
    assert_int_equal(rec_frame_size("\x09\0\0\0\0\0\0\0", 8, &size), -ERR_CORRUPT);
    assert_int_equal(rec_frame_size("\x02\x01\0\0\0\0\0\0", 8, &size), -ERR_CORRUPT);
    assert_int_equal(rec_frame_size("\x02\0\0\0\xff\xff\xff\x7f", 8, &size), -ERR_TOO_LONG);
    assert_int_equal(rec_frame_size("\x02\0\0", 3, &size), 0);
    assert_int_equal(size, REC_FRAME_HDR);
    assert_int_equal(rec_frame_parse("\x02\0\0\0\x05\0\0\0ab", 10, &f), -ERR_INVAL);
}

static void test_rec_varints_are_canonical(void **state)
{
    unsigned char b[WIRE_VARINT_MAX];
    uint64_t v, vals[] = {0, 1, 127, 128, 300, 16383, 16384, UINT32_MAX, UINT64_MAX};
    size_t u;

    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        size_t n = wire_varint_put(b, vals[i]);
        assert_int_equal(n, wire_varint_len(vals[i]));
        assert_int_equal(wire_varint_get(b, n, &v, &u), 0);
        assert_int_equal(v, vals[i]);
        assert_int_equal(u, n);
        if (n > 1)
            assert_int_equal(wire_varint_get(b, n - 1, &v, &u), -1); /* cut short */
    }
    assert_int_equal(wire_varint_get((const unsigned char *)"\x80\x00", 2, &v, &u), -1);
    assert_int_equal(wire_varint_get((const unsigned char *)"\xff\xff\xff\xff\xff\xff\xff\xff"
                                                            "\xff\x02",
                                     10, &v, &u),
                     -1);
}

static void test_rec_screen_for_a_watcher(void **state)
{
    struct keys k;
    struct rec_meta m;
    struct rec_writer *w;
    struct buf snap;
    struct vt *model, *fresh;
    unsigned cols, rows;
    const char *out = "\x1b[2J\x1b[H\x1b[1mtop\x1b[0m - 12:00\r\n  PID USER\r\n    1 root";

    keys_make(&k);
    meta_make(&m, &k, "s-50", true);
    assert_int_equal(rec_writer_new(&m, NULL, k.rec_sk, &w), 0);
    assert_int_equal(rec_writer_event(w, REC_OUT, 10, out, strlen(out)), 0); /* still coalescing */
    buf_init(&snap, 1u << 20);
    assert_int_equal(rec_writer_screen(w, &cols, &rows, &snap), 0);
    assert_int_equal(cols, 80);
    assert_int_equal(rows, 24);
    assert_int_equal(vt_new(80, 24, &model), 0);
    assert_int_equal(vt_feed(model, out, strlen(out)), 0);
    assert_int_equal(vt_new(80, 24, &fresh), 0);
    assert_int_equal(vt_feed(fresh, snap.data, snap.len), 0);
    assert_true(vt_equal(model, fresh));
    vt_free(model);
    vt_free(fresh);
    buf_fini(&snap);
    rec_writer_free(w);
    /* no pty, no screen */
    meta_make(&m, &k, "s-51", false);
    assert_int_equal(rec_writer_new(&m, NULL, k.rec_sk, &w), 0);
    buf_init(&snap, 1u << 20);
    assert_int_equal(rec_writer_screen(w, &cols, &rows, &snap), -ERR_NOT_FOUND);
    buf_fini(&snap);
    rec_writer_free(w);
}

static int teardown(void **state)
{
    codec_thread_done();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_rec_closed_recording_verifies, teardown),
        cmocka_unit_test_teardown(test_rec_read_back, teardown),
        cmocka_unit_test_teardown(test_rec_keyframes_match_the_screen, teardown),
        cmocka_unit_test_teardown(test_rec_damage_is_caught, teardown),
        cmocka_unit_test_teardown(test_rec_resigned_with_another_key, teardown),
        cmocka_unit_test_teardown(test_rec_unfinished_recording, teardown),
        cmocka_unit_test_teardown(test_rec_bulk_output_is_split_and_compressed, teardown),
        cmocka_unit_test_teardown(test_rec_bad_input_is_refused, teardown),
        cmocka_unit_test_teardown(test_rec_varints_are_canonical, teardown),
        cmocka_unit_test_teardown(test_rec_screen_for_a_watcher, teardown),
    };

    if (secbuf_init() != 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
