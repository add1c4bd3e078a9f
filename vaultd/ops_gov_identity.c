/* SPDX-License-Identifier: Apache-2.0 */
/* Placeholder: filled in by the governance work. */
#include "dispatch.h"

const struct op ops_gov_identity[] = {
    {NULL, 0, 0, 0, NULL, NULL},
};
