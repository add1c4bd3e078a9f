/* SPDX-License-Identifier: Apache-2.0 */
/* The byte relay between the admin's channel and the target's: carries, back-pressure, one tap. */
#ifndef BROKER_RELAY_H
#define BROKER_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libssh/libssh.h>

#include "custos/err.h"

/*
 * Flow control (../shared/notes/libssh-libuv.md, "Relay and flow
 * control"): what a source channel has is read only as far as the
 * destination's SSH window allows; what the destination does not take at
 * once waits in a carry (one chunk at most per direction), and nothing more
 * is read until it is gone.  Unread bytes stay in libssh's channel buffer,
 * so the SSH windows are the back-pressure and memory per direction stays
 * bounded.  The relay never pumps libssh and never ends a session: it moves
 * bytes, reports what it moved, and leaves decisions to its owner.
 */

/* Bytes moved per direction per drain step (one SSH packet is at most 32 KiB). */
#define RELAY_CHUNK 65536u
/* Drain steps per pump, so one busy session cannot starve the loop. */
#define RELAY_STEPS 16u

/* What one direction holds back: bytes read but not yet written (RELAY_CHUNK at most). */
struct relay_carry;

enum relay_dir {
    RELAY_IN,  /* admin → target: keystrokes, stdin, and the broker's own bytes (a ^C) */
    RELAY_OUT, /* target → admin: stdout */
    RELAY_ERR, /* target → admin: stderr */
};

enum relay_event_kind {
    RELAY_EV_RESIZE,      /* the admin's terminal size went to the target: cols, rows */
    RELAY_EV_SIGNAL,      /* the admin's signal went to the target: signal */
    RELAY_EV_EOF_IN,      /* the admin's input ended, and the target was told */
    RELAY_EV_EOF_OUT,     /* the target's output ended, and the admin was told */
    RELAY_EV_EXIT_STATUS, /* the target's exit status went to the admin: status */
    RELAY_EV_EXIT_SIGNAL, /* the target's exit signal went to the admin: signal */
};

struct relay_event {
    enum relay_event_kind kind;
    int cols, rows;     /* RESIZE */
    int status;         /* EXIT_STATUS */
    const char *signal; /* SIGNAL, EXIT_SIGNAL: borrowed for the call */
};

/*
 * The one tap point, for recorders and live watchers: bytes() sees every
 * byte of the session channel as it is written to its destination, in
 * order per direction (after the filter, so a refused line never shows;
 * forwards are not tapped); event() sees what else crosses between the
 * legs.  Both run on the loop thread, inside the owner's pump: they must
 * not block, not call back into the relay, and copy what they keep.
 */
struct relay_tap {
    void *ctx;
    void (*bytes)(void *ctx, enum relay_dir dir, const char *p, size_t n);
    void (*event)(void *ctx, const struct relay_event *ev);
};

/*
 * The owner's own hooks, both optional.  input() sees each read of the
 * admin's input before it is written and returns how many of its n bytes
 * go to the target (the rest is dropped: a typed-line filter stops at a
 * refused Enter).  output() sees each read of the target's stdout before it
 * goes to the admin (the filter's echo check).
 */
struct relay_io {
    void *ctx;
    size_t (*input)(void *ctx, const char *p, size_t n);
    void (*output)(void *ctx, const char *p, size_t n);
};

/*
 * One session channel and its twin on the target.  Embedded in its owner,
 * all-zero to start.  a and t are borrowed from the legs that own them: the
 * owner sets them before it relays (NULL while a leg has no channel).  The
 * carries are allocated on first use and freed by relay_fini().  active is
 * set whenever bytes were read from a source (the owner's idle clock clears
 * it).
 */
struct relay {
    ssh_channel a, t;
    struct relay_io io;
    const struct relay_tap *tap; /* NULL: nobody listens, at no cost */
    struct relay_carry *in, *out, *err;
    uint64_t bytes_in, bytes_out; /* read and passed on, forwards included */
    bool active;
    bool eof_in_sent, eof_out_sent;
};

/* Write what the admin-to-target carry still holds; true when bytes went. */
bool relay_flush_in(struct relay *r);
/* Admin to target, through io.input; true when bytes moved (read, or flushed). */
bool relay_move_in(struct relay *r);
/* Target to admin, stdout (through io.output) and stderr; true when bytes moved. */
bool relay_move_out(struct relay *r);
/* Nothing waits in the admin-to-target carry. */
bool relay_in_empty(const struct relay *r);
/* Nothing waits in the target-to-admin carries, and the target has nothing more to read. */
bool relay_out_drained(const struct relay *r);

/*
 * Bytes the broker itself sends to the target (a ^C, a held Enter, a held
 * line): queued after what is queued, so none is lost to a short write or a
 * rekey.  -ERR_FULL when the carry has no room for them (never expected: at
 * most a line), -ERR_NOMEM.  They are not counted as input.
 */
MUST_CHECK int relay_inject(struct relay *r, const char *p, size_t n);

/*
 * For an owner that reads and rewrites the admin's input itself (a script
 * whose lines are kept back until checked): room is the target's window
 * (0: nothing may be read now, or the carry still holds bytes).
 * relay_in_read() reads at most max bytes of the admin's input: > 0 bytes
 * read, 0 none now, SSH_EOF at the end, another negative on error.
 * relay_in_space() is the empty carry's buffer (RELAY_CHUNK bytes) to write
 * into, NULL when the carry is not empty or cannot be had;
 * relay_in_commit() sends the n bytes written there (counted as input).
 */
uint32_t relay_in_room(const struct relay *r);
int relay_in_read(struct relay *r, char *buf, size_t max);
char *relay_in_space(struct relay *r);
void relay_in_commit(struct relay *r, size_t n);

/* The admin's terminal size, or signal, to the target. */
void relay_resize(struct relay *r, int cols, int rows);
void relay_signal(struct relay *r, const char *signal);
/* EOF to the target (the admin's input ended) or to the admin (the target's output did): once. */
void relay_eof_in(struct relay *r);
void relay_eof_out(struct relay *r);
/* The target's exit status or signal to the admin. */
void relay_exit_status(struct relay *r, int status);
void relay_exit_signal(struct relay *r, const char *signal);

/*
 * One direction of a forward (-L, -R): src to dst on the carry *cp
 * (allocated on first use, freed with relay_carry_free), counted in the
 * relay's bytes_in (admin to target, in true) or bytes_out; never tapped.
 */
bool relay_forward(struct relay *r, ssh_channel src, ssh_channel dst, struct relay_carry **cp,
                   bool in);
bool relay_carry_empty(const struct relay_carry *c);
void relay_carry_free(struct relay_carry *c);

/* Free the carries (the channels are the owner's). */
void relay_fini(struct relay *r);

#endif
