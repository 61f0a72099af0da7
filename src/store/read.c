/*
 * read.c: reading batches back, stream state and the list of streams (see store.h).
 *
 * A point read starts at the stream's spine (in memory): the last entry whose base offset is at
 * or below the offset covers it. An index entry is read (one pread, its span is known) and
 * searched the same way, level by level, down to the batch, which is read with one more pread:
 * at most 1 + (levels) preads, levels = ceil(log_F(batches)). Every record read is checked
 * (header, CRC, stream, offsets) before anything of it is used or returned.
 *
 * After a reclaim, a stream's first offset is found again the first time it is asked for: the
 * first batch at or after the reclaim position, found by position the same way (positions rise
 * with offsets within a stream). This file writes first_offset and first_pos of a stream only
 * there; store.c writes them on append.
 */
#include <string.h>

#include "base/assert.h"
#include "base/crc32c.h"
#include "store/internal.h"

_Static_assert(sizeof(((struct store_cursor_level *)0)->span) / sizeof(uint32_t) ==
                   STORE_FANOUT_MAX,
               "a cursor caches whole index records");

enum { CURSOR_LEVELS = 2 };

/* The children of the INDEX record e points at (e->level > 0), checked; read once. */
static strom_err index_read_once(struct store *s, uint64_t stream_id, const struct store_entry *e,
                                 struct store_entry *child, uint32_t *count_out,
                                 uint64_t *end_offset_out) {
    struct store_rec_header h;
    struct store_index_head x;
    strom_err err = e->span <= STORE_SCRATCH_BYTES
                        ? log_read_record(&s->log, e->pos, e->span, STORE_REC_INDEX, s->scratch, &h)
                        : STROM_ERR_CORRUPT;
    if (err == STROM_OK && h.level != e->level - 1) {
        err = STROM_ERR_CORRUPT;
    }
    if (err == STROM_OK) {
        err = store_index_head_decode(s->scratch + STORE_HEADER_BYTES, h.body_bytes, &x);
    }
    if (err == STROM_OK && x.stream_id != stream_id) {
        err = STROM_ERR_CORRUPT;
    }
    for (uint32_t i = 0; err == STROM_OK && i < x.child_count; i++) {
        store_entry_decode(s->scratch + STORE_HEADER_BYTES + STORE_INDEX_HEAD_BYTES +
                               i * STORE_ENTRY_BYTES,
                           &child[i]);
        child[i].level = e->level - 1;
        bool ok = child[i].pos < e->pos && child[i].pos >= STORE_DATA_START &&
                  child[i].span >= STORE_HEADER_BYTES && child[i].span % STORE_ALIGN == 0 &&
                  child[i].base_offset < x.end_offset &&
                  (i == 0 ? child[i].base_offset == e->base_offset
                          : child[i].base_offset > child[i - 1].base_offset);
        err = ok ? STROM_OK : STROM_ERR_CORRUPT;
    }
    if (err == STROM_ERR_CORRUPT || err == STROM_ERR_TRUNCATED) {
        return store_corrupt(s, e->pos);
    }
    *count_out = x.child_count;
    *end_offset_out = x.end_offset;
    return err;
}

/* index_read_once, read again while it finds damage (STORE_READ_TRIES). */
static strom_err index_read(struct store *s, uint64_t stream_id, const struct store_entry *e,
                            struct store_entry *child, uint32_t *count_out,
                            uint64_t *end_offset_out) {
    strom_err err = STROM_OK;
    int t = 0;
    do {
        err = index_read_once(s, stream_id, e, child, count_out, end_offset_out);
    } while (err == STROM_ERR_CORRUPT && ++t < STORE_READ_TRIES);
    return err;
}

/* The last of count entries whose base offset is <= offset (entries rise; e[0] <= offset). */
static uint32_t entry_search(const struct store_entry *e, uint32_t count, uint64_t offset) {
    uint32_t lo = 0;
    uint32_t hi = count;
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (e[mid].base_offset <= offset) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    return lo;
}

static void cache_put(struct store_cursor_level *cl, uint64_t pos, const struct store_entry *child,
                      uint32_t count, uint64_t end_offset) {
    cl->pos = pos;
    cl->count = count;
    cl->end_offset = end_offset;
    for (uint32_t i = 0; i < count; i++) {
        cl->base_offset[i] = child[i].base_offset;
        cl->child_pos[i] = child[i].pos;
        cl->span[i] = child[i].span;
    }
}

/* The child of cached level `lv` that covers offset, if that level's record covers it. */
static bool cache_get(const struct store *s, const struct store_cursor *c, unsigned lv,
                      uint64_t offset, struct store_entry *out) {
    const struct store_cursor_level *cl = &c->level[lv];
    if (cl->pos < s->ckpt.reclaim_pos || cl->count == 0 || offset < cl->base_offset[0] ||
        offset >= cl->end_offset) {
        return false;
    }
    uint32_t lo = 0;
    uint32_t hi = cl->count;
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        lo = cl->base_offset[mid] <= offset ? mid : lo;
        hi = cl->base_offset[mid] <= offset ? hi : mid;
    }
    *out = (struct store_entry){cl->base_offset[lo], cl->child_pos[lo], cl->span[lo], lv};
    return true;
}

/* The batch entry that holds c->offset: from the cursor's cache if it covers it, else from the
 * spine down, caching the records of levels 0 and 1 on the way. */
static strom_err locate(struct store *s, struct store_stream *st, struct store_cursor *c,
                        struct store_entry *out) {
    uint64_t offset = c->offset;
    struct store_entry e;
    if (!cache_get(s, c, 0, offset, &e) && !cache_get(s, c, 1, offset, &e)) {
        const struct store_entry *spine = spine_entries(&s->slab, st);
        strom_assert(st->spine_count > 0 && spine[0].base_offset <= offset);
        e = spine[entry_search(spine, st->spine_count, offset)];
    }
    strom_err err = STROM_OK;
    while (err == STROM_OK && e.level > 0) {
        struct store_entry child[STORE_FANOUT_MAX];
        uint32_t count = 0;
        uint64_t end_offset = 0;
        err = e.pos < s->ckpt.reclaim_pos
                  ? STROM_ERR_OUT_OF_RANGE
                  : index_read(s, st->stream_id, &e, child, &count, &end_offset);
        if (err == STROM_OK && (offset >= end_offset || offset < child[0].base_offset)) {
            err = store_corrupt(s, e.pos);
        }
        if (err == STROM_OK && e.level <= CURSOR_LEVELS) {
            cache_put(&c->level[e.level - 1], e.pos, child, count, end_offset);
        }
        if (err == STROM_OK) {
            e = child[entry_search(child, count, offset)];
        }
    }
    *out = e;
    return err;
}

/* Checks the batch record read into rec (header and body head, 72 bytes at least). */
static strom_err batch_check(struct store *s, const struct store_entry *e, uint64_t stream_id,
                             const uint8_t *rec, struct store_rec_header *h,
                             struct store_batch_head *bh) {
    strom_err err = store_header_decode(rec, s->log.file_id, e->pos, h);
    if (err == STROM_OK &&
        (h->type != STORE_REC_BATCH || store_record_span(h->body_bytes) != e->span)) {
        err = STROM_ERR_CORRUPT;
    }
    if (err == STROM_OK) {
        err = store_batch_head_decode(rec + STORE_HEADER_BYTES, h->body_bytes, bh);
    }
    if (err == STROM_OK && (bh->stream_id != stream_id || bh->base_offset != e->base_offset)) {
        err = STROM_ERR_CORRUPT;
    }
    return err;
}

static void batch_fill(struct store_batch *b, const struct store_batch_head *bh, uint64_t pos,
                       uint32_t payload_bytes) {
    b->stream_id = bh->stream_id;
    b->base_offset = bh->base_offset;
    b->message_count = bh->message_count;
    b->flags = bh->flags;
    b->first_ts_ns = bh->first_ts_ns;
    b->last_ts_ns = bh->last_ts_ns;
    b->pos = pos;
    b->payload_bytes = payload_bytes;
}

/* Reads the batch e points at once: one pread when buf holds the whole record, else two. */
static strom_err batch_read_once(struct store *s, const struct store_entry *e, uint64_t stream_id,
                                 struct store_batch *b, uint8_t *buf, size_t cap) {
    enum { FIXED = STORE_HEADER_BYTES + STORE_BATCH_HEAD_BYTES };
    uint8_t fixed[FIXED];
    bool whole = e->span <= cap;
    uint8_t *rec = whole ? buf : fixed;
    size_t got = 0;
    struct store_rec_header h;
    struct store_batch_head bh;
    strom_err err = e->span >= FIXED ? log_read(&s->log, e->pos, rec, whole ? e->span : FIXED, &got)
                                     : STROM_ERR_CORRUPT;
    if (err == STROM_OK && got < (whole ? e->span : FIXED)) {
        err = STROM_ERR_CORRUPT;
    }
    if (err == STROM_OK) {
        err = batch_check(s, e, stream_id, rec, &h, &bh);
    }
    uint32_t payload_bytes = err == STROM_OK ? h.body_bytes - STORE_BATCH_HEAD_BYTES : 0;
    if (err == STROM_OK && !whole && payload_bytes > cap) {
        batch_fill(b, &bh, e->pos, payload_bytes);
        return STROM_ERR_OVERFLOW;
    }
    if (err == STROM_OK && !whole) {
        err = log_read(&s->log, e->pos + FIXED, buf, payload_bytes, &got);
        err = err == STROM_OK && got < payload_bytes ? STROM_ERR_CORRUPT : err;
    }
    const uint8_t *payload = whole ? rec + FIXED : buf;
    if (err == STROM_OK && crc32c(crc32c(0, rec + STORE_HEADER_BYTES, STORE_BATCH_HEAD_BYTES),
                                  payload, payload_bytes) != h.body_crc) {
        err = STROM_ERR_CORRUPT;
    }
    if (err == STROM_OK) {
        if (whole) {
            memmove(buf, rec + FIXED, payload_bytes);
        }
        batch_fill(b, &bh, e->pos, payload_bytes);
    }
    return (err == STROM_ERR_CORRUPT || err == STROM_ERR_TRUNCATED) ? store_corrupt(s, e->pos)
                                                                    : err;
}

/* batch_read_once, read again while it finds damage (STORE_READ_TRIES). */
static strom_err batch_read(struct store *s, const struct store_entry *e, uint64_t stream_id,
                            struct store_batch *b, uint8_t *buf, size_t cap) {
    strom_err err = STROM_OK;
    int t = 0;
    do {
        err = batch_read_once(s, e, stream_id, b, buf, cap);
    } while (err == STROM_ERR_CORRUPT && ++t < STORE_READ_TRIES);
    return err;
}

void store_cursor_init(struct store_cursor *c, uint64_t stream_id, uint64_t offset) {
    c->level[0].pos = 0;
    c->level[0].count = 0;
    c->level[1].pos = 0;
    c->level[1].count = 0;
    c->error_pos = 0;
    c->stream_id = stream_id;
    c->offset = offset;
}

strom_err store_cursor_next(struct store *s, struct store_cursor *c, struct store_batch *b,
                            void *buf, size_t cap) {
    struct store_stream *st = NULL;
    uint64_t first = 0;
    strom_err err = store_stream_get(s, c->stream_id, false, &st);
    if (err == STROM_OK && st->batch_count == 0 && (st->flags & STREAM_CREATED)) {
        err = STROM_ERR_NO_STREAM;
    }
    if (err == STROM_OK) {
        err = store_first_offset(s, st, &first);
    }
    if (err == STROM_OK && c->offset < first) {
        err = STROM_ERR_OUT_OF_RANGE;
    }
    if (err == STROM_OK && c->offset >= st->next_offset) {
        err = STROM_ERR_END;
    }
    struct store_entry e;
    uint64_t stream_id = c->stream_id;
    if (err == STROM_OK) {
        err = locate(s, st, c, &e);
    }
    if (err == STROM_OK) {
        err = e.pos < s->ckpt.reclaim_pos ? STROM_ERR_OUT_OF_RANGE
                                          : batch_read(s, &e, stream_id, b, buf, cap);
    }
    if (err == STROM_OK) {
        c->offset = b->base_offset + b->message_count;
    }
    if (err == STROM_ERR_CORRUPT) {
        c->error_pos = s->error_pos;
    }
    return err;
}

/* The first batch at or after the reclaim position below e: *found, *offset_out, *pos_out.
 * depth bounds the recursion by the level of e. */
static strom_err first_live(struct store *s, uint64_t stream_id, const struct store_entry *e,
                            bool *found, uint64_t *offset_out, uint64_t *pos_out) {
    strom_assert(e->level <= STORE_LEVELS_MAX);
    *found = false;
    if (e->pos < s->ckpt.reclaim_pos) {
        return STROM_OK;
    }
    if (e->level == 0) {
        *found = true;
        *offset_out = e->base_offset;
        *pos_out = e->pos;
        return STROM_OK;
    }
    struct store_entry child[STORE_FANOUT_MAX];
    uint32_t count = 0;
    uint64_t end_offset = 0;
    strom_err err = index_read(s, stream_id, e, child, &count, &end_offset);
    for (uint32_t i = 0; err == STROM_OK && !*found && i < count; i++) {
        err = first_live(s, stream_id, &child[i], found, offset_out, pos_out);
    }
    return err;
}

strom_err store_first_offset(struct store *s, struct store_stream *st, uint64_t *first_out) {
    if (st->first_pos == 0 || st->first_pos >= s->ckpt.reclaim_pos) {
        *first_out = st->first_offset;
        return STROM_OK;
    }
    bool found = false;
    uint64_t offset = st->next_offset;
    uint64_t pos = 0;
    strom_err err = STROM_OK;
    for (uint32_t i = 0; err == STROM_OK && !found && i < st->spine_count; i++) {
        struct store_entry e = spine_entries(&s->slab, st)[i];
        err = first_live(s, st->stream_id, &e, &found, &offset, &pos);
    }
    if (err == STROM_OK) {
        st->first_offset = found ? offset : st->next_offset;
        st->first_pos = found ? pos : 0;
        *first_out = st->first_offset;
    }
    return err;
}

static strom_err info_of(struct store *s, struct store_stream *st, struct store_stream_info *out) {
    uint64_t first = 0;
    strom_err err = store_first_offset(s, st, &first);
    if (err == STROM_OK) {
        out->stream_id = st->stream_id;
        out->first_offset = first;
        out->next_offset = st->next_offset;
        out->batch_count = st->batch_count;
    }
    return err;
}

strom_err store_stream_info(struct store *s, uint64_t stream_id, struct store_stream_info *out) {
    struct store_stream *st = NULL;
    strom_err err = store_stream_get(s, stream_id, false, &st);
    if (err == STROM_OK && st->batch_count == 0 && (st->flags & STREAM_CREATED)) {
        err = STROM_ERR_NO_STREAM;
    }
    return err ? err : info_of(s, st, out);
}

struct list_ctx {
    store_stream_fn fn;
    void *arg;
};

static strom_err list_leaf(struct store *s, void *arg, uint64_t stream_id, uint64_t pos) {
    struct list_ctx *ctx = arg;
    struct store_stream *st = table_find(&s->table, stream_id);
    strom_err err = st ? STROM_OK : store_stream_load(s, stream_id, pos, &st);
    struct store_stream_info info;
    if (err == STROM_OK) {
        err = info_of(s, st, &info);
    }
    return err ? err : ctx->fn(ctx->arg, &info);
}

strom_err store_streams_list(struct store *s, store_stream_fn fn, void *arg) {
    struct list_ctx ctx = {fn, arg};
    strom_err err = trie_walk(s, list_leaf, &ctx);
    /* Streams created since the last checkpoint are not in the trie yet. */
    for (uint64_t i = 0; err == STROM_OK && i < s->table.cap; i++) {
        struct store_stream *st = &s->table.slots[i];
        struct store_stream_info info;
        if ((st->flags & STREAM_USED) && (st->flags & STREAM_CREATED) && st->batch_count > 0) {
            err = info_of(s, st, &info);
            err = err ? err : fn(arg, &info);
        }
    }
    return err;
}
