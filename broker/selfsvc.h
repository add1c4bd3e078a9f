/* SPDX-License-Identifier: Apache-2.0 */
/* Self-service over SSH: `ssh -p 2222 custos@broker COMMAND` for the authenticated identity. */
#ifndef BROKER_SELFSVC_H
#define BROKER_SELFSVC_H

#include <stddef.h>

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
 * deny ID COMMENT..., grants, sessions, help; `--json` anywhere prints the
 * vault's raw answer.  Returns the job (owned by itself: freed after done(),
 * or after its vault answer arrives once abandoned), or NULL after done().
 */
struct selfsvc_job *selfsvc_run(struct vlink *vault, const char *fp, const char *command,
                                const struct selfsvc_io *io);
/* The session is going away: never call its io again. */
void selfsvc_abandon(struct selfsvc_job *job);

#endif
