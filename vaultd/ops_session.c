/* SPDX-License-Identifier: Apache-2.0 */
/* Placeholder: session.* ops for the broker (being written). */
#include "dispatch.h"

const struct op ops_session[] = {
    {NULL, 0, 0, 0, NULL, NULL},
};
