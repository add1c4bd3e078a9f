/* SPDX-License-Identifier: Apache-2.0 */
/* The single writer: batches of write requests in one LMDB transaction on the threadpool. */
#include <string.h>

#include "custos/log.h"
#include "dispatch.h"

/* Upper bound of requests committed by one fsync. */
#define WRITER_BATCH_MAX 256u

static void writer_kick(struct vaultd *vd);
static void on_sync_timer(uv_timer_t *t);

/*
 * Worker thread.  For a normal batch: one parent txn, one nested txn per
 * request so a failing request rolls back alone, one commit (one fsync) for
 * all.  The loop thread changes neither the keys nor the store while this
 * runs (see struct writer).
 */
static void on_work(uv_work_t *w)
{
    struct vaultd *vd = w->data;
    struct writer *wr = &vd->writer;
    MDB_txn *parent = NULL, *txn = NULL;
    int r;

    wr->batch_err = 0;
    if (wr->sync_only) {
        if ((r = store_sync(vd->store)) != 0)
            log_err_r(r, "delayed fsync failed");
        return;
    }
    if (wr->exclusive) {
        struct req *rq = wr->batch;
        rq->err = rq->op->handler(vd, rq, NULL);
        return;
    }
    if ((r = store_txn_begin(vd->store, NULL, true, &parent)) != 0) {
        wr->batch_err = r;
        return;
    }
    for (struct req *rq = wr->batch; rq; rq = rq->next) {
        /* A seal queued before this request has run by now: check again. */
        if (!(rq->op->states & (1u << vd->state))) {
            req_fail(rq, dispatch_state_error(vd, rq->op), "%s: vault is %s", rq->op->name,
                     vaultd_state_name(vd->state));
            continue;
        }
        if ((r = store_txn_begin(vd->store, parent, true, &txn)) != 0) {
            req_fail(rq, r, "cannot begin a transaction");
            continue;
        }
        rq->err = rq->op->handler(vd, rq, txn);
        if (rq->err == 0 && rq->op->kind == OP_READ) {
            store_txn_abort(txn); /* a read that waited behind an exclusive op */
        } else if (rq->err == 0 || rq->keep_writes) {
            if ((r = store_txn_commit(txn)) != 0) {
                rq->keep_writes = false;
                req_fail(rq, r, "cannot commit");
            }
        } else {
            store_txn_abort(txn);
        }
        txn = NULL;
    }
    if ((r = store_txn_commit(parent)) != 0) {
        log_err_r(r, "batch commit failed");
        wr->batch_err = r;
    }
    if (vd->conf->sync_interval_ms)
        wr->dirty = true; /* the sync timer flushes it on the threadpool */
}

static void on_after_work(uv_work_t *w, int status)
{
    struct vaultd *vd = w->data;
    struct writer *wr = &vd->writer;
    struct req *rq = wr->batch, *next;

    wr->batch = NULL;
    if (wr->sync_only)
        wr->dirty = false;
    for (; rq; rq = next) {
        next = rq->next;
        rq->next = NULL;
        if (status < 0 || wr->batch_err)
            rq->keep_writes = false; /* nothing it wrote is durable */
        if (status < 0 && !rq->err)
            req_fail(rq, -ERR_INTERNAL, "request cancelled");
        if (wr->batch_err && !rq->err) {
            /* Nothing of this batch is durable: no answer may claim it is. */
            json_decref(rq->result);
            rq->result = NULL;
            req_fail(rq, rq->op->kind == OP_WRITE ? -ERR_AUDIT : wr->batch_err,
                     "the change could not be made durable (%s)", err_str(wr->batch_err));
        }
        if (wr->exclusive && rq->op->post)
            rq->op->post(vd, rq);
        if (rq->err && !rq->errmsg[0])
            req_fail(rq, rq->err, "%s", err_str(rq->err));
        server_req_done(vd, rq);
    }
    wr->busy = false;
    wr->exclusive = false;
    wr->sync_only = false;
    if (vd->stopping) {
        vaultd_close(vd);
        return;
    }
    writer_kick(vd);
    /* First dirty commit since the last flush: flush within sync_interval_ms. */
    if (wr->dirty && !uv_is_active((uv_handle_t *)&wr->sync_timer))
        uv_timer_start(&wr->sync_timer, on_sync_timer, vd->conf->sync_interval_ms, 0);
}

static void writer_kick(struct vaultd *vd)
{
    struct writer *wr = &vd->writer;
    struct req *last = NULL;
    unsigned n = 0;
    int r;

    if (wr->busy || !wr->head)
        return;
    wr->batch = wr->head;
    if (wr->head->op->kind == OP_EXCLUSIVE) {
        wr->exclusive = true;
        last = wr->head;
    } else {
        /* Take requests up to the next exclusive one. */
        for (struct req *rq = wr->head; rq && rq->op->kind != OP_EXCLUSIVE && n < WRITER_BATCH_MAX;
             rq = rq->next, n++)
            last = rq;
    }
    wr->head = last->next;
    if (!wr->head)
        wr->tail = NULL;
    last->next = NULL;
    wr->busy = true;
    wr->work.data = vd;
    if (!wr->exclusive && vd->conf->sync_interval_ms) {
        /*
         * Delayed durability: a commit is only writes to the page cache, no
         * fsync, so the batch runs right here; the hop to the threadpool
         * would cost more than the work (two wake-ups on this kind of VM).
         */
        on_work(&wr->work);
        on_after_work(&wr->work, 0);
        return;
    }
    if ((r = uv_queue_work(vd->loop, &wr->work, on_work, on_after_work)) < 0) {
        log_err("uv_queue_work: %s", uv_strerror(r));
        on_after_work(&wr->work, r);
    }
}

/* Nothing was written for a while: flush what the last batches left unsynced. */
static void on_sync_timer(uv_timer_t *t)
{
    struct vaultd *vd = t->data;
    struct writer *wr = &vd->writer;
    int r;

    if (!wr->dirty || vd->stopping)
        return;
    if (wr->busy) { /* an exclusive op is running: try again shortly */
        uv_timer_start(&wr->sync_timer, on_sync_timer, 1, 0);
        return;
    }
    wr->busy = true;
    wr->sync_only = true;
    wr->work.data = vd;
    if ((r = uv_queue_work(vd->loop, &wr->work, on_work, on_after_work)) < 0) {
        log_err("uv_queue_work: %s", uv_strerror(r));
        wr->busy = wr->sync_only = false;
    }
}

void writer_init(struct vaultd *vd)
{
    uv_timer_init(vd->loop, &vd->writer.sync_timer);
    vd->writer.sync_timer.data = vd;
}

/* At shutdown, writer idle: flush delayed commits, close the timer. */
void writer_close(struct vaultd *vd)
{
    if (vd->writer.dirty && vd->store && store_sync(vd->store) != 0)
        log_err("final fsync failed");
    vd->writer.dirty = false;
    uv_close((uv_handle_t *)&vd->writer.sync_timer, NULL);
}

void writer_submit(struct vaultd *vd, struct req *rq)
{
    struct writer *wr = &vd->writer;

    rq->next = NULL;
    if (wr->tail)
        wr->tail->next = rq;
    else
        wr->head = rq;
    wr->tail = rq;
    writer_kick(vd);
}

bool writer_idle(const struct vaultd *vd)
{
    return !vd->writer.busy;
}
