/* SPDX-License-Identifier: Apache-2.0 */
/* Layout constants of the recording format shared by writer, reader and verifier (internal). */
#ifndef CUSTOS_REC_FRAME_H
#define CUSTOS_REC_FRAME_H

#include "custos/rec.h"

/* Domain separation for the chain's start and the checkpoint signatures. */
#define REC_CHAIN_CONTEXT "custos-rec-v1 header"
#define REC_CKPT_CONTEXT "custos-rec-v1 checkpoint"

/* CHUNK body: fixed part before the payload. */
#define REC_CHUNK_FIXED (8 + 8 + 8 + 4 + 4 + 1 + 1 + 2 + REC_HASH_LEN)
_Static_assert(REC_CHUNK_HEAD == REC_FRAME_HDR + REC_CHUNK_FIXED, "REC_CHUNK_HEAD");
/* CHECKPOINT body: fixed part before the session id (then u16 + sid + signature). */
#define REC_CKPT_FIXED (7 * 8 + REC_HASH_LEN + 1 + 3 + 4 + REC_HASH_LEN)
#define REC_CKPT_SID_MAX 127
/* HEADER body: version, reserved, json length. */
#define REC_HEADER_FIXED 8
/* INDEX entries. */
#define REC_INDEX_ENTRY 24
/* Each of the two INDEX tables stays under this, so the whole INDEX fits in one frame. */
#define REC_INDEX_TABLE_MAX ((8u << 20) - 8)
#define REC_TRAILER_MAGIC "CRECEND"
#define REC_TRAILER_BODY 24

/* Write a frame header for a body of len bytes. */
void rec_frame_header(unsigned char hdr[REC_FRAME_HDR], enum rec_frame_type type, uint32_t len);

/* h = H(context 0x00 || frame) for the header; h = H(h || frame) after it. */
void rec_chain_start(unsigned char h[REC_HASH_LEN], const void *frame, size_t n);
void rec_chain_next(unsigned char h[REC_HASH_LEN], const void *frame, size_t n);

/* Build "context 0x00 || body" for a checkpoint signature into out (reset first). */
MUST_CHECK int rec_ckpt_message(const void *body, size_t n, struct buf *out);

#endif
