/* SPDX-License-Identifier: Apache-2.0 */
/* The custos@broker menu (placeholder until the menu lands). */
#include <stdlib.h>

#include "selfmenu.h"

struct selfmenu {
    int unused;
};

struct selfmenu *selfmenu_start(struct vlink *vault, const char *fp, int cols,
                                const struct selfmenu_io *io)
{
    (void)vault;
    (void)fp;
    (void)cols;
    io->done(io->ctx, 2, "the menu is not built yet; try: ssh custos@broker help");
    return NULL;
}

void selfmenu_input(struct selfmenu *m, const char *data, size_t len)
{
    (void)m;
    (void)data;
    (void)len;
}

void selfmenu_abandon(struct selfmenu *m)
{
    free(m);
}
