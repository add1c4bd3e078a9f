/* SPDX-License-Identifier: Apache-2.0 */
/* Names and messages for enum err, generated from ERR_LIST. */
#include <string.h>

#include "custos/err.h"

static const char *const names[] = {
#define ERR_NAME(n, c, m) c,
    ERR_LIST(ERR_NAME)
#undef ERR_NAME
};

static const char *const msgs[] = {
#define ERR_MSG(n, c, m) m,
    ERR_LIST(ERR_MSG)
#undef ERR_MSG
};

static int idx(int r)
{
    if (r < 0)
        r = r < -ERR__COUNT ? ERR__COUNT : -r; /* no -INT_MIN */
    return r < ERR__COUNT ? r : ERR_INTERNAL;
}

const char *err_name(int r)
{
    return names[idx(r)];
}

const char *err_str(int r)
{
    return msgs[idx(r)];
}

int err_from_name(const char *name)
{
    for (int i = 0; i < ERR__COUNT; i++)
        if (name && strcmp(names[i], name) == 0)
            return -i;
    return -ERR_INTERNAL;
}
