/* SPDX-License-Identifier: Apache-2.0 */
/* Recording files on disk: positioned reads over the buffer-level parsers of custos/rec.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "custos/gov.h"
#include "custos/recf.h"

#define READ_PIECE (1u << 20)

int recf_path(const char *dir, const char *id_or_path, char *out, size_t outlen)
{
    size_t n = strlen(id_or_path);
    int k;

    if (strchr(id_or_path, '/') || (n > 5 && strcmp(id_or_path + n - 5, ".crec") == 0))
        k = snprintf(out, outlen, "%s", id_or_path);
    else if (gov_name_is_valid(id_or_path))
        k = snprintf(out, outlen, "%s/%s.crec", dir, id_or_path);
    else
        return -ERR_INVAL;
    return k < 0 || (size_t)k >= outlen ? -ERR_INVAL : 0;
}

static int pread_all(int fd, void *p, size_t n, uint64_t off)
{
    size_t got = 0;

    while (got < n) {
        ssize_t k = pread(fd, (char *)p + got, n - got, (off_t)(off + got));
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return k < 0 ? -ERR_IO : -ERR_PARSE;
        got += (size_t)k;
    }
    return 0;
}

int recf_frame_at(struct recf *f, uint64_t offset, struct rec_frame *fr)
{
    unsigned char hdr[REC_FRAME_HDR];
    size_t size;
    char *tail;
    int r;

    if (offset + REC_FRAME_HDR > f->size)
        return -ERR_PARSE;
    if ((r = pread_all(f->fd, hdr, sizeof(hdr), offset)) != 0)
        return r;
    if ((r = rec_frame_size(hdr, sizeof(hdr), &size)) != 0)
        return -ERR_PARSE;
    if (offset + size > f->size)
        return -ERR_PARSE;
    buf_reset(&f->frame);
    if ((r = buf_reserve(&f->frame, size, &tail)) != 0)
        return r;
    if ((r = pread_all(f->fd, tail, size, offset)) != 0)
        return r;
    buf_commit(&f->frame, size);
    return rec_frame_parse(f->frame.data, f->frame.len, fr) == 0 ? 0 : -ERR_PARSE;
}

static int add_sync(struct recf *f, uint64_t offset, uint64_t t, bool keyframe)
{
    struct recf_sync *s;

    if (!(s = realloc(f->syncs, (f->n_syncs + 1) * sizeof(*s))))
        return -ERR_NOMEM;
    f->syncs = s;
    s[f->n_syncs].offset = offset;
    s[f->n_syncs].t_us = t;
    s[f->n_syncs].keyframe = keyframe;
    f->n_syncs++;
    return 0;
}

/* A closed file: the trailer points at the index; the final checkpoint gives the end time. */
static int from_index(struct recf *f)
{
    struct rec_frame fr;
    struct rec_checkpoint ck;
    uint64_t ix_off, fin_off;
    int r;

    if (f->size < REC_MAGIC_LEN + REC_TRAILER_LEN ||
        recf_frame_at(f, f->size - REC_TRAILER_LEN, &fr) != 0 ||
        rec_trailer_parse(&fr, &ix_off, &fin_off) != 0)
        return -ERR_NOT_FOUND;
    if (recf_frame_at(f, fin_off, &fr) != 0 || fr.type != REC_F_CHECKPOINT ||
        rec_checkpoint_parse(fr.body, fr.len, &ck) != 0 || !ck.final)
        return -ERR_NOT_FOUND;
    f->end_us = ck.t_us;
    if (recf_frame_at(f, ix_off, &fr) != 0 || fr.type != REC_F_INDEX ||
        rec_index_parse(fr.body, fr.len, &f->index) != 0)
        return -ERR_NOT_FOUND;
    for (size_t i = 0; i < f->index->n_chunks; i++)
        if ((r = add_sync(f, f->index->chunks[i].offset, f->index->chunks[i].t_first_us,
                          f->index->chunks[i].flags & REC_CHUNK_KEYFRAME)) != 0)
            return r;
    f->closed = true;
    return 0;
}

/* An unfinished file: walk the frames, reading only each one's header and fixed fields. */
static int by_walking(struct recf *f)
{
    uint64_t off = f->data_off;
    unsigned char hdr[REC_CHUNK_HEAD];
    int r;

    while (off + REC_FRAME_HDR <= f->size) {
        struct rec_chunk ch;
        size_t size, want = off + sizeof(hdr) <= f->size ? sizeof(hdr) : REC_FRAME_HDR;
        if (pread_all(f->fd, hdr, want, off) != 0 || rec_frame_size(hdr, want, &size) != 0 ||
            off + size > f->size)
            break; /* the torn end of an unfinished file */
        if (hdr[0] == REC_F_CHUNK && rec_chunk_head(hdr, want, &ch) == 0) {
            if ((ch.flags & REC_CHUNK_SYNC) &&
                (r = add_sync(f, off, ch.t_first_us, ch.flags & REC_CHUNK_KEYFRAME)) != 0)
                return r;
            if (ch.t_last_us > f->end_us)
                f->end_us = ch.t_last_us;
        }
        off += size;
    }
    return 0;
}

int recf_open(struct recf *f, const char *path, bool seek, char *why, size_t whylen)
{
    unsigned char magic[REC_MAGIC_LEN];
    struct rec_frame fr;
    struct stat st;
    int r;

    memset(f, 0, sizeof(*f));
    f->fd = -1;
    buf_init(&f->frame, REC_FRAME_HDR + REC_FRAME_MAX);
    buf_init(&f->scratch, REC_FRAME_MAX);
    snprintf(f->path, sizeof(f->path), "%s", path);
    if ((f->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
        r = errno == ENOENT ? -ERR_NOT_FOUND : -ERR_IO;
        snprintf(why, whylen, "cannot open %s: %s", path, strerror(errno));
        return r;
    }
    if (fstat(f->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(why, whylen, "%s is not a regular file", path);
        return -ERR_IO;
    }
    f->size = (uint64_t)st.st_size;
    if (f->size < REC_MAGIC_LEN || pread_all(f->fd, magic, sizeof(magic), 0) != 0 ||
        memcmp(magic, REC_MAGIC, REC_MAGIC_LEN) != 0) {
        snprintf(why, whylen, "%s is not a custos recording", path);
        return -ERR_PARSE;
    }
    if ((r = recf_frame_at(f, REC_MAGIC_LEN, &fr)) != 0 || (r = rec_header_parse(&fr, &f->info))) {
        snprintf(why, whylen, "%s: the recording's header cannot be read", path);
        return r == -ERR_SCHEMA ? r : -ERR_PARSE;
    }
    f->data_off = REC_MAGIC_LEN + fr.raw_len;
    if (!seek)
        return 0;
    if (from_index(f) != 0) {
        rec_index_free(f->index);
        f->index = NULL;
        free(f->syncs);
        f->syncs = NULL;
        f->n_syncs = 0;
        f->closed = false;
        if ((r = by_walking(f)) != 0) {
            snprintf(why, whylen, "%s: %s", path, err_str(r));
            return r;
        }
    }
    return 0;
}

void recf_close(struct recf *f)
{
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
    rec_info_free(f->info);
    rec_index_free(f->index);
    free(f->syncs);
    buf_fini(&f->frame);
    buf_fini(&f->scratch);
    f->info = NULL;
    f->index = NULL;
    f->syncs = NULL;
}

int recf_events(struct recf *f, uint64_t offset, rec_event_cb cb, void *ctx)
{
    uint64_t off = offset;
    int r;

    while (off + REC_FRAME_HDR <= f->size) {
        struct rec_frame fr;
        struct rec_chunk ch;
        if ((r = recf_frame_at(f, off, &fr)) != 0)
            return f->closed ? r : 0; /* an unfinished file may end in a torn frame */
        off += fr.raw_len;
        if (fr.type == REC_F_INDEX || fr.type == REC_F_TRAILER)
            break;
        if (fr.type != REC_F_CHUNK)
            continue;
        if ((r = rec_chunk_parse(&fr, &ch)) != 0 ||
            (r = rec_chunk_events(&ch, &f->scratch, cb, ctx)) != 0)
            return r;
    }
    return 0;
}

const struct recf_sync *recf_sync_before(const struct recf *f, uint64_t t_us)
{
    const struct recf_sync *best = NULL;

    for (size_t i = 0; i < f->n_syncs; i++) {
        if (f->syncs[i].t_us > t_us && best)
            break;
        /* a seek point without a keyframe cannot show the screen: only the first one may */
        if (f->syncs[i].keyframe || i == 0)
            best = &f->syncs[i];
    }
    return best;
}

int recf_verify(const char *path, const unsigned char *vault_key, struct rec_verdict *v)
{
    struct rec_verifier *ver = NULL;
    char *piece = NULL;
    int fd = -1, r = 0;

    if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
        return errno == ENOENT ? -ERR_NOT_FOUND : -ERR_IO;
    if (!(piece = malloc(READ_PIECE))) {
        r = -ERR_NOMEM;
        goto out;
    }
    if ((r = rec_verifier_new(vault_key, &ver)) != 0)
        goto out;
    for (;;) {
        ssize_t n = read(fd, piece, READ_PIECE);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = -ERR_IO;
            goto out;
        }
        if (n == 0)
            break;
        if ((r = rec_verifier_feed(ver, piece, (size_t)n)) != 0)
            goto out;
    }
    rec_verifier_finish(ver, v);
out:
    rec_verifier_free(ver);
    free(piece);
    close(fd);
    return r;
}
