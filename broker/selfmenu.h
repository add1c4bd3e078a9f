/* SPDX-License-Identifier: Apache-2.0 */
/* The custos@broker menu: `ssh -p 2222 custos@broker` with a pty and no command. */
#ifndef BROKER_SELFMENU_H
#define BROKER_SELFMENU_H

#include <stddef.h>

#include "vlink.h"

/*
 * The session side of the menu.  The admin's terminal is in raw mode (ssh
 * gives the broker a pty): the menu echoes what it reads and writes "\r\n".
 * out() writes to the admin's terminal; connect() asks the session to open
 * `account` (NAME@TARGET) as if the admin had typed ssh NAME@TARGET@broker
 * (the menu is finished after it, never called again); done() ends the
 * session with `status` (errmsg, if any, on stderr).  All are called on the
 * loop thread, never from inside selfmenu_start/selfmenu_input's callers'
 * callbacks re-entrantly after selfmenu_abandon().
 */
struct selfmenu_io {
    void *ctx;
    void (*out)(void *ctx, const char *data, size_t len);
    void (*connect)(void *ctx, const char *account);
    void (*done)(void *ctx, int status, const char *errmsg);
};

struct selfmenu;

/*
 * Start the menu for the identity owning key `fp` (borrowed for the call);
 * `cols` is the terminal's width.  Returns the menu, or NULL after done()
 * (out of memory).  The menu owns itself: after it has called done() or
 * connect(), or after selfmenu_abandon(), the caller forgets it, and it is
 * freed once no vault answer is due (at most one call is outstanding).
 */
struct selfmenu *selfmenu_start(struct vlink *vault, const char *fp, int cols,
                                const struct selfmenu_io *io);
/* Bytes the admin typed (raw: "\r" for Enter, 0x7f/0x08 erase, 0x03 Ctrl-C, 0x04 Ctrl-D). */
void selfmenu_input(struct selfmenu *m, const char *data, size_t len);
/* The session is going away: never call its io again; the menu frees itself when it can. */
void selfmenu_abandon(struct selfmenu *m);

#endif
