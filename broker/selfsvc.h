/* SPDX-License-Identifier: Apache-2.0 */
/* Self-service over SSH: `ssh -p 2222 custos@broker COMMAND` for the authenticated identity. */
#ifndef BROKER_SELFSVC_H
#define BROKER_SELFSVC_H

#include <stddef.h>

#include "custos/buf.h"
#include "vlink.h"

/*
 * The session side of a self-service command: where output goes and how it
 * ends.  out() writes to the admin's stdout; done() writes errmsg (if any) to
 * stderr, sends the exit status and closes the channel.  Both are called on
 * the loop thread, and never after selfsvc_abandon().
 */
struct selfsvc_io {
    void *ctx;
    void (*out)(void *ctx, const char *data, size_t len);
    void (*done)(void *ctx, int status, const char *errmsg);
};

struct selfsvc_job;

/*
 * Run `command` (the exec string) as the identity that owns key `fp`:
 * targets, request ACCOUNT DURATION REASON..., requests, approve ID [COMMENT...],
 * deny ID COMMENT..., grants, sessions, reviews, certify ITEM [COMMENT...],
 * revoke ITEM COMMENT..., help; `--json` anywhere prints the vault's answer
 * (for reviews: only the open items).  Returns the job (owned by itself: freed after done(),
 * or after its vault answer arrives once abandoned), or NULL after done().
 */
struct selfsvc_job *selfsvc_run(struct vlink *vault, const char *fp, const char *command,
                                const struct selfsvc_io *io);
/* The session is going away: never call its io again. */
void selfsvc_abandon(struct selfsvc_job *job);

/* ---- shared with the menu (selfmenu.c) ---- */

/* printf to b, lines ending in "\n"; best effort: a full buffer only truncates. */
void selfsvc_emit(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The string o[k], or "-" (borrowed from o). */
const char *selfsvc_str(const json_t *o, const char *k);
/* Unix time v as "2025-01-31T12:00Z" into out, or "-" when v is not an integer. */
void selfsvc_when(const json_t *v, char *out, size_t len);
/* One line for a request: id, state, requester, account, duration, then who approved it or
   (pending) who may, and its grant. */
void selfsvc_request_line(const json_t *q, struct buf *out);
/*
 * Read the answer to gov.mfa.check {fp}: on success copy the identity into
 * out[len] and return NULL; otherwise return the one-line reason (static or
 * errmsg, valid as long as errmsg) to refuse with.
 */
const char *selfsvc_identity(int err, const json_t *res, const char *errmsg, char *out, size_t len);

#endif
