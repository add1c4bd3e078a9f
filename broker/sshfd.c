/* SPDX-License-Identifier: Apache-2.0 */
/* A libssh session's fd under libuv: non-blocking, and watched for exactly what libssh wants. */
#include <fcntl.h>

#include "sshfd.h"

void sshfd_set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);

    if (fl >= 0 && !(fl & O_NONBLOCK))
        fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

void sshfd_rearm(uv_poll_t *p, ssh_session s, uv_poll_cb cb)
{
    int f = ssh_get_poll_flags(s), ev = 0;

    if (f & SSH_READ_PENDING)
        ev |= UV_READABLE;
    if (f & SSH_WRITE_PENDING)
        ev |= UV_WRITABLE;
    if (ev)
        uv_poll_start(p, ev, cb);
    else
        uv_poll_stop(p);
}
