/*
 * recover.c: opening an existing file, and refreshing a read-only store (docs/storage.md,
 * "Recovery").
 *
 * 1. Find the last valid checkpoint, searching backwards from the end of the file: a CHECKPOINT
 *    header at an aligned position, its body's CRC, and the CRC of the nodes it covers.
 * 2. Survey the records after it up to the end: every record is checked (header and body CRC).
 *    An invalid range is damage inside the file when a valid record after it says (durable_pos)
 *    that a sync had covered the range when it was written; otherwise it is the torn tail, and
 *    the file is cut at its start.
 * 3. Apply the valid records before the cut, skipping damaged ranges: batches go onto their
 *    stream's spine, index records collapse the entries they index, later checkpoints (read-only
 *    refresh) are adopted.
 * 4. A writable store truncates the tail, syncs, and writes the index records the tail lost.
 *
 * Scanning reads the file through a 1 MiB window. Owner of struct store_open_info.
 */
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/crc32c.h"
#include "store/internal.h"

enum { WINDOW_BYTES = STORE_WINDOW_BYTES };

/* A window over the file: bytes [start, start + len) are at buf. */
struct window {
    struct store *s;
    uint8_t *buf;
    uint64_t start;
    size_t len;
    uint64_t limit; /* nothing at or past it is read */
};

/* Points *p at [pos, pos + len) (len <= WINDOW_BYTES / 2), reading when needed; *avail gets the
 * bytes there, which is less than len only at the limit. ahead: read forward from pos, else
 * read so that pos + len ends the window (backward scans). */
static strom_err window_get(struct window *w, uint64_t pos, size_t len, bool ahead,
                            const uint8_t **p, size_t *avail) {
    strom_assert(len <= WINDOW_BYTES / 2);
    if (pos >= w->limit) {
        *avail = 0;
        return STROM_OK;
    }
    uint64_t want_end = pos + len < w->limit ? pos + len : w->limit;
    if (pos < w->start || want_end > w->start + w->len) {
        uint64_t start = pos;
        if (!ahead) {
            start = want_end > WINDOW_BYTES ? want_end - WINDOW_BYTES : 0;
            start = start > pos ? pos : start;
        }
        size_t cap = w->limit - start < WINDOW_BYTES ? (size_t)(w->limit - start) : WINDOW_BYTES;
        size_t got = 0;
        strom_err err = log_read_file(&w->s->log, start, w->buf, cap, &got);
        if (err) {
            return err;
        }
        w->start = start;
        w->len = got;
    }
    uint64_t have_end = w->start + w->len;
    *p = w->buf + (pos - w->start);
    *avail = pos >= have_end ? 0 : (size_t)((want_end < have_end ? want_end : have_end) - pos);
    return STROM_OK;
}

/* Checks the header at pos: valid, a plausible durable_pos, within the limit. */
static bool header_at(struct window *w, uint64_t pos, bool ahead, struct store_rec_header *h) {
    const uint8_t *p = NULL;
    size_t avail = 0;
    if (window_get(w, pos, STORE_HEADER_BYTES, ahead, &p, &avail) != STROM_OK ||
        avail < STORE_HEADER_BYTES || !store_has_magic(p)) {
        return false;
    }
    return store_header_decode(p, w->s->log.file_id, pos, h) == STROM_OK && h->durable_pos <= pos &&
           h->type != STORE_REC_HEAD && pos + store_record_span(h->body_bytes) <= w->limit;
}

/* crc32c of [pos, pos + len), continuing from crc, read through the window in pieces. */
static strom_err window_crc(struct window *w, uint64_t pos, uint64_t len, uint32_t crc,
                            uint32_t *crc_out) {
    while (len > 0) {
        const uint8_t *p = NULL;
        size_t piece = len < WINDOW_BYTES / 2 ? (size_t)len : WINDOW_BYTES / 2;
        size_t avail = 0;
        strom_err err = window_get(w, pos, piece, true, &p, &avail);
        if (err || avail < piece) {
            return err ? err : STROM_ERR_TRUNCATED;
        }
        crc = crc32c(crc, p, piece);
        pos += piece;
        len -= piece;
    }
    *crc_out = crc;
    return STROM_OK;
}

/* Whether the whole record at pos is valid (header and body CRC). The first head_cap bytes of
 * the body (fewer if the body is shorter) are copied to head first and the CRC is computed over
 * that copy, so what the caller uses is exactly what was checked, even if a later read of the
 * same bytes would differ. */
static bool record_check(struct window *w, uint64_t pos, struct store_rec_header *h, uint8_t *head,
                         size_t head_cap) {
    if (!header_at(w, pos, true, h)) {
        return false;
    }
    size_t take = h->body_bytes < head_cap ? h->body_bytes : head_cap;
    const uint8_t *p = NULL;
    size_t avail = 0;
    uint32_t crc = 0;
    if (take > 0 && (window_get(w, pos + STORE_HEADER_BYTES, take, true, &p, &avail) != STROM_OK ||
                     avail < take)) {
        return false;
    }
    if (take > 0) {
        memcpy(head, p, take);
        crc = crc32c(0, head, take);
    }
    if (window_crc(w, pos + STORE_HEADER_BYTES + take, h->body_bytes - take, crc, &crc) !=
            STROM_OK ||
        crc != h->body_crc) {
        return false;
    }
    /* The padding is zeros: a record is whole only when all of its span was written. */
    uint64_t body_end = pos + STORE_HEADER_BYTES + h->body_bytes;
    size_t pad = (size_t)(pos + store_record_span(h->body_bytes) - body_end);
    if (pad > 0 && (window_get(w, body_end, pad, true, &p, &avail) != STROM_OK || avail < pad)) {
        return false;
    }
    for (size_t i = 0; i < pad; i++) {
        if (p[i] != 0) {
            return false;
        }
    }
    return true;
}

static bool record_at(struct window *w, uint64_t pos, struct store_rec_header *h) {
    return record_check(w, pos, h, NULL, 0);
}

/* The first aligned position in [pos, w->limit) whose first 4 bytes are the magic, or the
 * limit: a tight loop over the window, so that scanning megabytes of payload stays cheap. */
static uint64_t magic_forward(struct window *w, uint64_t pos) {
    while (pos + STORE_HEADER_BYTES <= w->limit) {
        const uint8_t *p = NULL;
        size_t avail = 0;
        size_t want = WINDOW_BYTES / 2;
        if (window_get(w, pos, want, true, &p, &avail) != STROM_OK || avail < 4) {
            break;
        }
        for (size_t i = 0; i + 4 <= avail; i += STORE_ALIGN) {
            if (store_has_magic(p + i)) {
                return pos + i;
            }
        }
        pos += (avail - 4) / STORE_ALIGN * STORE_ALIGN + STORE_ALIGN;
    }
    return w->limit;
}

/* The last aligned position in [floor, pos] whose first 4 bytes are the magic; false if none. */
static bool magic_backward(struct window *w, uint64_t floor, uint64_t pos, uint64_t *found) {
    while (pos >= floor) {
        uint64_t lo = pos - floor > WINDOW_BYTES / 4 ? pos - WINDOW_BYTES / 4 : floor;
        const uint8_t *p = NULL;
        size_t avail = 0;
        size_t want = (size_t)(pos - lo) + 4;
        if (window_get(w, lo, want, false, &p, &avail) != STROM_OK || avail < want) {
            return false;
        }
        for (uint64_t at = pos; at >= lo; at -= STORE_ALIGN) {
            if (store_has_magic(p + (at - lo))) {
                *found = at;
                return true;
            }
            if (at < lo + STORE_ALIGN) {
                break;
            }
        }
        if (lo == floor) {
            break;
        }
        pos = lo - STORE_ALIGN;
    }
    return false;
}

/* The first position >= pos with a whole valid record, or the limit. */
static uint64_t resync(struct window *w, uint64_t pos) {
    struct store_rec_header h;
    pos = magic_forward(w, pos);
    while (pos < w->limit && !record_at(w, pos, &h)) {
        pos = magic_forward(w, pos + STORE_ALIGN);
    }
    return pos < w->limit ? pos : w->limit;
}

/* Whether the CHECKPOINT at pos (header h valid) is valid; *c gets it. */
static bool checkpoint_at(struct window *w, uint64_t pos, const struct store_rec_header *h,
                          struct store_checkpoint *c) {
    const uint8_t *p = NULL;
    size_t avail = 0;
    uint32_t crc = 0;
    if (h->type != STORE_REC_CHECKPOINT || h->body_bytes != STORE_CHECKPOINT_BODY_BYTES ||
        window_get(w, pos + STORE_HEADER_BYTES, STORE_CHECKPOINT_BODY_BYTES, false, &p, &avail) !=
            STROM_OK ||
        avail < STORE_CHECKPOINT_BODY_BYTES ||
        crc32c(0, p, STORE_CHECKPOINT_BODY_BYTES) != h->body_crc ||
        store_checkpoint_decode(p, STORE_CHECKPOINT_BODY_BYTES, c) != STROM_OK) {
        return false;
    }
    if (c->nodes_pos > pos || c->trie_root_pos >= pos || c->prev_pos >= pos ||
        c->index_fanout != w->s->fanout ||
        (c->trie_root_pos != 0 && c->trie_root_pos < c->reclaim_pos)) {
        return false;
    }
    return log_crc_range(&w->s->log, c->nodes_pos, pos, w->s->scratch, STORE_SCRATCH_BYTES, &crc) ==
               STROM_OK &&
           crc == c->nodes_crc;
}

/* Searches [floor, w->limit) backwards for the last valid checkpoint. */
static bool checkpoint_find(struct window *w, uint64_t floor, uint64_t *pos_out,
                            struct store_checkpoint *c) {
    if (w->limit < floor + STORE_HEADER_BYTES) {
        return false;
    }
    uint64_t pos = (w->limit - STORE_HEADER_BYTES) & ~(uint64_t)(STORE_ALIGN - 1);
    struct store_rec_header h;
    while (magic_backward(w, floor, pos, &pos)) {
        if (header_at(w, pos, false, &h) && checkpoint_at(w, pos, &h, c)) {
            *pos_out = pos;
            return true;
        }
        if (pos < floor + STORE_ALIGN) {
            break;
        }
        pos -= STORE_ALIGN;
    }
    return false;
}

/* --- the survey -------------------------------------------------------------------------- */

struct survey {
    uint64_t start[STORE_DAMAGE_MAX]; /* invalid ranges [start, end) */
    uint64_t end[STORE_DAMAGE_MAX];
    uint64_t after[STORE_DAMAGE_MAX]; /* max durable_pos of valid records after each range */
    uint32_t count;                   /* ranges kept (before the cut) */
    uint64_t cut;                     /* where the valid log ends */
    uint64_t records;                 /* valid records before the cut */
};

/* Checks every record of [from, w->limit) and decides where the log ends (see the top). */
static void survey_run(struct window *w, uint64_t from, struct survey *sv) {
    memset(sv, 0, sizeof *sv);
    uint64_t seg_max = 0; /* max durable_pos of valid records since the last range */
    uint64_t records = 0;
    uint32_t n = 0;
    uint64_t pos = from;
    bool full = false;
    while (pos < w->limit && !full) {
        struct store_rec_header h;
        if (record_at(w, pos, &h)) {
            seg_max = h.durable_pos > seg_max ? h.durable_pos : seg_max;
            pos += store_record_span(h.body_bytes);
            records++;
            continue;
        }
        if (n > 0) {
            sv->after[n - 1] = seg_max;
        }
        full = n == STORE_DAMAGE_MAX - 1; /* the last slot ends the survey: it is the tail */
        sv->start[n] = pos;
        sv->end[n] = full ? w->limit : resync(w, pos + STORE_ALIGN);
        pos = sv->end[n];
        seg_max = 0;
        n++;
    }
    if (n > 0) {
        sv->after[n - 1] = seg_max;
    }
    /* Suffix maxima: a range is damage inside the file when a later record saw it synced. */
    uint64_t suffix = 0;
    sv->cut = pos < w->limit ? pos : w->limit;
    sv->count = n;
    for (uint32_t i = n; i > 0; i--) {
        suffix = sv->after[i - 1] > suffix ? sv->after[i - 1] : suffix;
        if (suffix <= sv->start[i - 1]) {
            sv->cut = sv->start[i - 1];
            sv->count = i - 1;
        }
    }
    sv->records = records;
}

/* --- applying records ----------------------------------------------------------------------- */

/* Replay state for damaged ranges: batches of a stream that lost one get a placeholder. */
struct replay {
    uint64_t damage_pos;  /* start of the last damaged range passed; 0: none yet */
    uint32_t damage_span; /* its length, capped, for the placeholder entry */
};

static strom_err apply_batch(struct store *s, const struct replay *rp, uint64_t pos, uint32_t span,
                             const uint8_t *body, uint32_t body_bytes) {
    struct store_batch_head bh;
    struct store_stream *st = NULL;
    strom_err err = store_batch_head_decode(body, body_bytes, &bh);
    if (err == STROM_OK) {
        err = store_stream_get(s, bh.stream_id, true, &st);
    }
    if (err == STROM_OK && bh.base_offset > st->next_offset && rp->damage_pos != 0 &&
        bh.base_offset - st->next_offset <= UINT32_MAX) {
        /* A batch of this stream was in a damaged range: keep the offsets dense, and let a read
         * of the lost ones name the damage. */
        bool first_ever = st->batch_count == 0 && (st->flags & STREAM_CREATED);
        err = store_stream_add_batch(s, st, st->next_offset,
                                     (uint32_t)(bh.base_offset - st->next_offset), rp->damage_pos,
                                     rp->damage_span);
        s->ckpt.stream_count += first_ever && err == STROM_OK;
    }
    if (err == STROM_OK && bh.base_offset != st->next_offset) {
        err = STROM_ERR_GAP;
    }
    if (err == STROM_OK) {
        bool first_ever = st->batch_count == 0 && (st->flags & STREAM_CREATED);
        err = store_stream_add_batch(s, st, bh.base_offset, bh.message_count, pos, span);
        s->ckpt.stream_count += first_ever && err == STROM_OK;
    }
    return err;
}

/* An index record collapses the spine entries it indexes, if they are exactly its children. */
static strom_err apply_index(struct store *s, uint64_t pos, uint32_t span, uint8_t level,
                             const uint8_t *body, uint32_t body_bytes) {
    struct store_index_head x;
    struct store_stream *st = NULL;
    strom_err err = store_index_head_decode(body, body_bytes, &x);
    if (err == STROM_OK) {
        err = store_stream_get(s, x.stream_id, false, &st);
    }
    if (err) {
        return err;
    }
    struct store_entry *e = spine_entries(&s->slab, st);
    uint32_t at = 0;
    while (at < st->spine_count && e[at].level != level) {
        at++;
    }
    if (at + x.child_count > st->spine_count) {
        return STROM_ERR_NOT_FOUND;
    }
    for (uint32_t i = 0; i < x.child_count; i++) {
        struct store_entry child;
        store_entry_decode(body + STORE_INDEX_HEAD_BYTES + i * STORE_ENTRY_BYTES, &child);
        if (e[at + i].level != level || child.base_offset != e[at + i].base_offset ||
            child.pos != e[at + i].pos || child.span != e[at + i].span) {
            return STROM_ERR_NOT_FOUND;
        }
    }
    struct store_entry up = {e[at].base_offset, pos, span, (uint32_t)level + 1};
    err = table_mark_dirty(&s->table, st);
    if (err == STROM_OK) {
        spine_collapse(&s->slab, st, at, x.child_count, &up);
    }
    return err;
}

/* Read-only stores follow the writer's checkpoints: new roots, new reclaim position. */
static void apply_checkpoint(struct store *s, uint64_t pos, uint64_t end,
                             const struct store_checkpoint *c) {
    if (end > s->log.end) {
        /* The checkpoint's trie nodes lie before it: let lookups during this replay read them
         * (the refresh moves the end past everything it replayed once it is done). */
        log_reset_end(&s->log, end);
    }
    trie_reset(s, c->trie_root_pos);
    s->all_in_table = false; /* the writer's streams are in the trie, not in our table */
    while (s->table.dirty_count > 0) {
        struct store_stream *st = table_find(&s->table, s->table.dirty[s->table.dirty_count - 1]);
        st->flags &= (uint8_t)~STREAM_CREATED; /* the checkpoint put it in the trie */
        table_pop_dirty(&s->table, st);
    }
    s->ckpt.seq = c->seq;
    s->ckpt.pos = pos;
    s->ckpt.mark_end = end;
    s->ckpt.reclaim_pos = c->reclaim_pos;
    s->ckpt.stream_count = c->stream_count;
}

enum {
    HEAD_BYTES_MAX = STORE_INDEX_HEAD_BYTES + STORE_FANOUT_MAX * STORE_ENTRY_BYTES, /* largest
                                                                                  body used */
};

/* Applies the record at pos, whose header h and body head (checked together) are given. An
 * error means the record was not used (counted by the caller). */
static strom_err apply_record(struct store *s, struct window *w, const struct replay *rp,
                              uint64_t pos, const struct store_rec_header *h, const uint8_t *head) {
    uint32_t span = (uint32_t)store_record_span(h->body_bytes);
    struct store_checkpoint c;
    switch (h->type) {
    case STORE_REC_BATCH:
        return apply_batch(s, rp, pos, span, head, h->body_bytes);
    case STORE_REC_INDEX:
        return h->body_bytes <= HEAD_BYTES_MAX
                   ? apply_index(s, pos, span, h->level, head, h->body_bytes)
                   : STROM_ERR_CORRUPT;
    case STORE_REC_CHECKPOINT:
        if (!s->opt.read_only) {
            return STROM_ERR_EXISTS; /* a writer's survey found it invalid as a whole */
        }
        if (!checkpoint_at(w, pos, h, &c)) {
            return STROM_ERR_CORRUPT;
        }
        apply_checkpoint(s, pos, pos + span, &c);
        return STROM_OK;
    default:
        return STROM_OK; /* STREAM and TRIE records belong to checkpoints */
    }
}

/* Applies [from, sv->cut), skipping the damaged ranges of sv. */
static strom_err apply_all(struct store *s, struct window *w, uint64_t from,
                           const struct survey *sv) {
    struct replay rp = {0};
    uint8_t head[HEAD_BYTES_MAX];
    uint32_t r = 0;
    uint64_t pos = from;
    strom_err err = STROM_OK;
    while (pos < sv->cut && err == STROM_OK) {
        if (r < sv->count && pos == sv->start[r]) {
            uint64_t len = sv->end[r] - sv->start[r];
            rp.damage_pos = pos;
            rp.damage_span = len > (1u << 30) ? (1u << 30) : (uint32_t)len;
            s->open.damaged_ranges++;
            s->open.first_damage_pos = s->open.first_damage_pos ? s->open.first_damage_pos : pos;
            pos = sv->end[r++];
            continue;
        }
        struct store_rec_header h;
        bool ok = false;
        for (int t = 0; t < STORE_READ_TRIES && !ok; t++) {
            w->len = t ? 0 : w->len; /* read again from the file */
            ok = record_check(w, pos, &h, head, sizeof head);
        }
        if (!ok) {
            return STROM_ERR_IO;
        }
        s->error_pos = 0;
        strom_err one = apply_record(s, w, &rp, pos, &h, head);
        if (one == STROM_ERR_IO || one == STROM_ERR_NO_MEMORY || one == STROM_ERR_LIMIT) {
            err = one;
        } else if (one == STROM_ERR_CORRUPT && s->error_pos != 0 && s->error_pos != pos) {
            /* The record is sound but a checkpoint record it needs (its stream's STREAM record
             * or a TRIE node) is damaged, read after read: the stream's state before that
             * checkpoint is unknown, and ignoring this batch and every later one of the stream
             * would lose them without a word. The open fails and names the damage. */
            err = one;
        } else if (one != STROM_OK) {
            s->open.ignored_records++;
        }
        s->open.replayed_records++;
        pos += store_record_span(h.body_bytes);
    }
    return err;
}

/* Surveys [from, limit); when it finds anything invalid, surveys again until two agree, keeping
 * the longest log: a transient read error must not cut off good records. */
static void survey_stable(struct store *s, uint64_t from, uint64_t limit, struct survey *sv,
                          struct survey *again) {
    struct window w = {.s = s, .buf = s->window, .limit = limit};
    survey_run(&w, from, sv);
    for (int t = 0; t < STORE_READ_TRIES && (sv->count > 0 || sv->cut < limit); t++) {
        w.len = 0;
        survey_run(&w, from, again);
        bool same = again->cut == sv->cut && again->count == sv->count;
        if (again->cut > sv->cut || (again->cut == sv->cut && again->count < sv->count)) {
            memcpy(sv, again, sizeof *sv);
        }
        if (same) {
            break;
        }
    }
}

strom_err store_replay_to(struct store *s, uint64_t limit, bool cut_tail) {
    uint64_t from = s->open.replay_pos;
    struct survey *sv = malloc(2 * sizeof *sv);
    if (sv == NULL) {
        return STROM_ERR_NO_MEMORY;
    }
    survey_stable(s, from, limit, &sv[0], &sv[1]);
    struct window w = {.s = s, .buf = s->window, .limit = limit};
    strom_err err = apply_all(s, &w, from, &sv[0]);
    if (err == STROM_OK && cut_tail) {
        s->open.cut_pos = sv[0].cut;
        s->open.cut_bytes = limit - sv[0].cut;
    }
    if (err == STROM_OK) {
        s->open.replayed_bytes += sv[0].cut - from;
        s->open.replay_pos = sv[0].cut;
    }
    free(sv);
    return err;
}

/* Writes the index records a torn tail lost, for every stream replay touched. */
static strom_err repair_indexes(struct store *s) {
    uint64_t before = s->index_records;
    strom_err err = STROM_OK;
    for (uint64_t i = 0; i < s->table.dirty_count && err == STROM_OK; i++) {
        struct store_stream *st = table_find(&s->table, s->table.dirty[i]);
        strom_assert(st != NULL);
        err = store_stream_cascade(s, st);
    }
    s->open.repaired_indexes = s->index_records - before;
    return err;
}

strom_err store_recover(struct store *s, uint64_t file_size) {
    /* A file cut inside its first page (with a whole header) holds no records yet. */
    file_size = file_size < STORE_DATA_START ? STORE_DATA_START : file_size;
    struct window w = {.s = s, .buf = s->window, .limit = file_size};
    struct store_checkpoint c;
    uint64_t ckpt_pos = 0;
    uint64_t from = STORE_DATA_START;
    s->ckpt.reclaim_pos = STORE_DATA_START;
    s->ckpt.punched_pos = STORE_DATA_START;
    if (checkpoint_find(&w, STORE_DATA_START, &ckpt_pos, &c)) {
        from = ckpt_pos + store_record_span(STORE_CHECKPOINT_BODY_BYTES);
        s->ckpt.seq = c.seq;
        s->ckpt.pos = ckpt_pos;
        s->ckpt.last_bytes = from - c.nodes_pos;
        s->ckpt.reclaim_pos = c.reclaim_pos;
        s->ckpt.stream_count = c.stream_count;
        s->open.checkpoint_pos = ckpt_pos;
    }
    trie_init(&s->trie, ckpt_pos ? c.trie_root_pos : 0);
    s->all_in_table = s->trie.root_pos == 0;
    s->ckpt.mark_end = from;
    s->ckpt.time_ns = io_clock_monotonic_ns(s->io);
    s->open.replay_pos = from;
    s->open.cut_pos = file_size;
    strom_err err = store_replay_to(s, file_size, true);
    if (err == STROM_OK && s->opt.read_only) {
        log_reset_end(&s->log, s->open.replay_pos);
    } else if (err == STROM_OK) {
        err = s->open.cut_pos != file_size ? log_cut(&s->log, s->open.cut_pos) : log_sync(&s->log);
    }
    if (err == STROM_OK && !s->opt.read_only) {
        err = repair_indexes(s);
    }
    return err;
}

strom_err store_refresh(struct store *s, uint64_t durable_pos) {
    if (!s->opt.read_only) {
        return STROM_OK;
    }
    uint64_t size = 0;
    strom_err err = io_file_size(s->io, s->log.fd, &size);
    uint64_t limit = durable_pos != 0 && durable_pos < size ? durable_pos : size;
    if (err == STROM_OK && limit > s->open.replay_pos) {
        err = store_replay_to(s, limit, false);
    }
    if (err == STROM_OK && s->open.replay_pos > s->log.end) {
        log_reset_end(&s->log, s->open.replay_pos);
    }
    return err;
}
