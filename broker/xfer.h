/* SPDX-License-Identifier: Apache-2.0 */
/* File transfers seen in a relayed byte stream: SFTP (v3) and scp's own protocol (pure). */
#ifndef CUSTOS_BROKER_XFER_H
#define CUSTOS_BROKER_XFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "custos/err.h"

/*
 * The recorder feeds a session's bytes through this, in order, each way:
 * XFER_UP is what the admin's client sent (to the target), XFER_DOWN what the
 * target sent back.  It follows the protocol without buffering file data:
 * only packet headers and names are held (bounded), data is passed to the
 * callbacks as it goes by.  Nothing is ever refused or changed — this only
 * watches; a stream it cannot follow (not the protocol, or a packet past the
 * limits) makes it stop watching and say so once (on_lost).
 */
enum xfer_dir { XFER_UP = 0, XFER_DOWN = 1 };
enum xfer_proto { XFER_SFTP, XFER_SCP_SINK, XFER_SCP_SOURCE };

#define XFER_NAME_MAX 4096
#define XFER_HANDLES_MAX 64
#define XFER_PACKET_MAX (256u << 10) /* OpenSSH's sftp-server limit */

struct xfer_ops {
    void *ctx;
    /* A file transfer began: id (unique in the session), upload or download, its name. */
    void (*on_start)(void *ctx, unsigned id, enum xfer_dir dir, const char *name);
    /* Bytes of that file, in the order they went by (offset: where in the file). */
    void (*on_data)(void *ctx, unsigned id, uint64_t offset, const unsigned char *p, size_t n);
    /*
     * It ended: bytes moved, and whether they came in order (offsets without
     * gaps or overlaps), so that a digest over them is the file's digest.
     */
    void (*on_end)(void *ctx, unsigned id, uint64_t bytes, bool in_order);
    /* Another operation worth an index line: "rename /a /b", "remove /x", "mkdir /d". */
    void (*on_op)(void *ctx, const char *text);
    /* The stream stopped making sense: why (once; nothing more is reported). */
    void (*on_lost)(void *ctx, const char *why);
};

struct xfer;

/* New watcher for one channel. *out owned by the caller. -ERR_NOMEM. */
MUST_CHECK int xfer_new(enum xfer_proto proto, const struct xfer_ops *ops, struct xfer **out);
/* Transfers still open are ended (on_end) here: the channel closed. NULL is fine. */
void xfer_free(struct xfer *x);
/* Feed the next bytes going `dir`. */
void xfer_feed(struct xfer *x, enum xfer_dir dir, const void *p, size_t n);

#endif
