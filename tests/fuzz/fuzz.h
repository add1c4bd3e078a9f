/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by the fuzz targets and driver.c: the libFuzzer entry point, one-time set-up, checks. */
#ifndef CUSTOS_FUZZ_H
#define CUSTOS_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "custos/log.h"
#include "custos/ndjson.h"
#include "custos/secbuf.h"

/* Each target defines it; libFuzzer or driver.c calls it once per input. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * One-time process set-up, as the daemon does it at start-up: libsodium, the
 * wiping jansson allocator (before any json_* call) and quiet logging (the
 * parsers log every refusal; FUZZ_LOG=1 in the environment keeps the logs).
 * Only this flag survives between inputs.
 */
static inline void fuzz_init(void)
{
    static bool done;

    if (done)
        return;
    if (secbuf_init() != 0) {
        fprintf(stderr, "fuzz: secbuf_init failed\n");
        abort();
    }
    ndjson_use_wiping_allocator();
    if (!getenv("FUZZ_LOG"))
        log_set_level((enum log_level)0); /* below LOG_LVL_ERR: drop everything */
    done = true;
}

/* A broken invariant is a crash: libFuzzer saves the input, driver.c's test fails. */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#endif
