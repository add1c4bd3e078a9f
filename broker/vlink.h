/* SPDX-License-Identifier: Apache-2.0 */
/* The broker's link to custos-vaultd: asynchronous NDJSON calls and pushed events on libuv. */
#ifndef BROKER_VLINK_H
#define BROKER_VLINK_H

#include <stdbool.h>

#include <jansson.h>
#include <uv.h>

#include "custos/err.h"

/*
 * Called exactly once per vlink_call unless cancelled: err 0 with result
 * (borrowed until the callback returns), or a negative ERR_* with a message
 * (the vault's, or "the vault did not answer in time", "the vault is
 * unreachable").  Runs on the loop thread, never inside vlink_call itself.
 */
typedef void (*vlink_answer_cb)(void *ctx, int err, json_t *result, const char *errmsg);
/* A pushed event {"event","at","data"}: type and data borrowed for the call. */
typedef void (*vlink_event_cb)(void *ctx, const char *type, json_t *data);

struct vlink;

/*
 * Start linking to the vault socket at `path` on `loop`: connects now and
 * after every loss (once a second), subscribes to events on each connect
 * and, if `reset_broker` is non-NULL, closes that broker's stale sessions
 * (session.reset).  Calls time out after timeout_s.  *out freed by
 * vlink_close (asynchronously, with the loop).
 */
MUST_CHECK int vlink_open(uv_loop_t *loop, const char *path, unsigned timeout_s,
                          const char *reset_broker, vlink_event_cb on_event, void *ev_ctx,
                          struct vlink **out);
/* Send op with args (stolen; NULL: {}); cb(ctx, ...) later. */
void vlink_call(struct vlink *l, const char *op, json_t *args, vlink_answer_cb cb, void *ctx);
/* Forget every pending callback for ctx (its owner is going away). */
void vlink_cancel(struct vlink *l, void *ctx);
/* Is the link connected now? */
bool vlink_is_up(const struct vlink *l);
/* Fail pending calls, close handles; memory is released in the close callbacks. */
void vlink_close(struct vlink *l);

#endif
