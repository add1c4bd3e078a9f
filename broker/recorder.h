/* SPDX-License-Identifier: Apache-2.0 */
/* A session's recorder: fed from the relay's tap on the loop, written off the loop. */
#ifndef CUSTOS_BROKER_RECORDER_H
#define CUSTOS_BROKER_RECORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "custos/rec.h"
#include "custos/secbuf.h"
#include "relay.h"

/*
 * On the loop, the recorder only copies: tap callbacks append events (with
 * their time) to a pending queue.  Everything else — the echo check that
 * masks passwords, the transfer watcher, compression, the hash chain,
 * signing, write(2) and fdatasync — runs in libuv's thread pool, one batch
 * at a time per session, so a slow or full disk never stalls the relay.
 *
 * It fails closed: the owner starts relaying only after ready() said the
 * file is open and its header written; a write that fails, a full disk or
 * the size limit reach the owner through failed(), once, and the owner ends
 * the session.  When the queue passes backlog_max the owner is told to pause
 * the target's output (paused(true)) until the disk catches up: events are
 * never dropped.  Data reaches the disk at least every second (a checkpoint
 * and fdatasync with each tick that brought anything) and at close.
 */

struct recorder_conf {
    const char *dir;     /* the recordings directory (exists, 0700, the broker's) */
    bool mask_unechoed;  /* mask keystrokes the target did not echo (pty sessions) */
    bool xfer_contents;  /* keep transferred files' contents, not only their digests */
    bool end_on_backlog; /* end the session instead of pausing output when the disk lags */
    size_t backlog_max;  /* queued bytes before output is paused (or the session ended) */
    uint64_t max_bytes;  /* the file's size limit (0: none) */
};

/* What a session is, for the header; strings borrowed for recorder_new. */
struct recorder_session {
    const char *session, *identity, *account, *target, *grant, *broker;
    enum { RECORDER_SHELL, RECORDER_EXEC, RECORDER_SUBSYSTEM, RECORDER_FORWARD } kind;
    const char *command; /* exec command or subsystem name */
    const char *term;
    unsigned cols, rows;            /* 0: no pty */
    const unsigned char *vault_key; /* 32 bytes: the vault key that signed rec_key */
    const unsigned char *vault_sig; /* 64 bytes: its signature over the recording key */
};

/* Callbacks, on the loop.  None is called after recorder_free(). */
struct recorder_ops {
    void *ctx;
    /* The file is open and its header written (err 0), or not (err, why: refuse the session). */
    void (*ready)(void *ctx, int err, const char *why);
    /* Recording can no longer go on (why): end the session. Called once. */
    void (*failed)(void *ctx, const char *why);
    /* The disk lags (true): stop moving the target's output until false. */
    void (*paused)(void *ctx, bool paused);
    /* After recorder_close(): the final checkpoint is on disk (err 0) — its body for session.close.
     */
    void (*closed)(void *ctx, int err, const unsigned char *ckpt, size_t len);
};

struct recorder;

/*
 * A new per-session key pair: the public key goes to the vault in
 * session.open, the secret key (64 bytes, in locked memory) to
 * recorder_new().  *sk owned by the caller.  -ERR_NOMEM, -ERR_CRYPTO.
 */
MUST_CHECK int recorder_keypair(unsigned char pk[REC_KEY_LEN], struct secbuf **sk);

/*
 * Start recording: the file DIR/SESSION.crec is created (O_EXCL, 0600,
 * O_APPEND) off the loop, then ready() is called.  sk is copied (the caller
 * frees its own).  *out owned by the caller (recorder_free).
 */
MUST_CHECK int recorder_new(uv_loop_t *loop, const struct recorder_conf *conf,
                            const struct recorder_session *s, const struct secbuf *sk,
                            const struct recorder_ops *ops, struct recorder **out);

/* The tap to set on the session's relay (valid while the recorder lives). */
const struct relay_tap *recorder_tap(struct recorder *r);

/* What the relay's tap does not see. */
void recorder_marker(struct recorder *r, const char *kind, const char *text);
void recorder_command(struct recorder *r, enum rec_how how, const char *line, const char *decision);

/* Is the owner to hold the target's output back now? */
bool recorder_paused(const struct recorder *r);

/* The session ended: flush, the final checkpoint, fdatasync, close; then closed(). */
void recorder_close(struct recorder *r);

/* Forget the recorder (its callbacks too); freed once work in flight ends. NULL is fine. */
void recorder_free(struct recorder *r);

#endif
