/* SPDX-License-Identifier: Apache-2.0 */
/* A libssh session's fd under libuv: non-blocking, and watched for exactly what libssh wants. */
#ifndef BROKER_SSHFD_H
#define BROKER_SSHFD_H

#include <libssh/libssh.h>
#include <uv.h>

/*
 * libuv only wakes the broker; libssh does the I/O (../shared/notes/
 * libssh-libuv.md).  Shared by both legs of a session.
 */

/* Put O_NONBLOCK back on fd (libssh makes client sockets blocking after connect). */
void sshfd_set_nonblock(int fd);

/*
 * Re-arm p (an initialized uv_poll_t on s's fd) from what s wants:
 * UV_READABLE for SSH_READ_PENDING, UV_WRITABLE for SSH_WRITE_PENDING, the
 * poll stopped when it wants neither (after EOF libssh drops POLLIN; an
 * always-readable poll would spin).
 */
void sshfd_rearm(uv_poll_t *p, ssh_session s, uv_poll_cb cb);

#endif
