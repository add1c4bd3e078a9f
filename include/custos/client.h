/* SPDX-License-Identifier: Apache-2.0 */
/* Blocking client of the vaultd socket API (used by the CLI, tests and benchmarks). */
#ifndef CUSTOS_CLIENT_H
#define CUSTOS_CLIENT_H

#include <jansson.h>

#include "custos/err.h"
#include "custos/paths.h"

/* Socket path used when neither --socket nor $CUSTOS_SOCKET is given. */
#define CLIENT_DEFAULT_SOCKET CUSTOS_SOCKET_PATH

struct client;

/*
 * Connect to the Unix socket at `path` (NULL: $CUSTOS_SOCKET, then
 * CLIENT_DEFAULT_SOCKET).  `timeout_ms` bounds connect and every later call
 * (0: 30000).  -ERR_CONN if nothing listens, -ERR_TIMEOUT.  *out freed with
 * client_close().
 */
MUST_CHECK int client_connect(const char *path, int timeout_ms, struct client **out);
void client_close(struct client *c);

/*
 * Send {"id", "op", "args"} and wait for the answer with the same id.  `args`
 * is borrowed (NULL means {}).  On success *result is a new reference to the
 * "result" member.  On an error answer, returns the negative code mapped by
 * err_from_name and, if errmsg is non-NULL, *errmsg = strdup'd message
 * (caller frees).  Transport failures: -ERR_CLOSED, -ERR_TIMEOUT, -ERR_PARSE.
 */
MUST_CHECK int client_call(struct client *c, const char *op, json_t *args, json_t **result,
                           char **errmsg);

/*
 * As client_call; on an error answer *error is a new reference to the whole
 * "error" object (code, message and any extra members such as "errors");
 * NULL on success or transport failure.  error may be NULL.
 */
MUST_CHECK int client_call_ex(struct client *c, const char *op, json_t *args, json_t **result,
                              json_t **error);

/*
 * Wait for the next line that is not an answer (a pushed event: objects with
 * "event"), at most timeout_ms (-1: forever).  *event is a new reference.
 * Events that arrive during client_call are queued and returned here first.
 */
MUST_CHECK int client_next_event(struct client *c, int timeout_ms, json_t **event);

#endif
