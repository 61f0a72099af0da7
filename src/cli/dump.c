/*
 * dump.c: `strom dump [--verify] FILE`, every record of a store file as an ssim line.
 *
 *   store.file    version:1  fanout:16  file_id:...  size:...
 *   store.record  type:batch  pos:4096  span:1096  stream:7  offset:0  count:64  crc:ok
 *   store.hole    pos:4096  bytes:1048576            (zeros: a punched range)
 *   store.bad     pos:9000  bytes:40  why:"..."      (no valid record starts here)
 *
 * --verify also follows every pointer (index children, stream spines, trie nodes, checkpoint
 * roots and chains, checkpoint node CRCs), prints a store.bad line for each that does not lead to
 * a valid record of the right type, stream, level and offset, and exits 1 when anything below
 * the end of the file is wrong. Ranges before the last checkpoint's reclaim position are
 * reclaimed, not wrong. The file is read through the io, never written.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/crc32c.h"
#include "cli/cli.h"
#include "io/io.h"
#include "store/format.h"

enum { DUMP_WINDOW_BYTES = 1 << 20, DUMP_BODY_MAX = 64 << 10 };

/* What verify needs to know of a valid record. */
struct dump_rec {
    uint64_t pos;
    uint64_t stream_id;   /* batch, index, stream */
    uint64_t base_offset; /* batch, index (first child) */
    uint32_t span;
    uint8_t type;
    uint8_t level; /* index: level; trie: depth */
};

struct dump {
    struct io io;
    int fd;
    bool fd_open;
    uint64_t size;
    uint64_t file_id;
    uint8_t *win; /* [win_start, win_start + win_len) of the file */
    uint64_t win_start;
    size_t win_len;
    uint8_t *body; /* DUMP_BODY_MAX bytes for a record's body */
    struct dump_rec *recs;
    size_t rec_count;
    size_t rec_cap;
    uint64_t reclaim_pos; /* of the last valid checkpoint seen */
    uint64_t bad_pos[64]; /* starts of bad ranges, to judge after the scan */
    uint64_t bad_count;
    uint64_t problems; /* pointer problems found by verify */
};

/* The bytes [pos, pos + len) of the file, len <= DUMP_WINDOW_BYTES; NULL past the end. */
static const uint8_t *at(struct dump *d, uint64_t pos, size_t len) {
    if (pos + len > d->size) {
        return NULL;
    }
    if (pos < d->win_start || pos + len > d->win_start + d->win_len) {
        size_t got = 0;
        size_t want =
            d->size - pos < DUMP_WINDOW_BYTES ? (size_t)(d->size - pos) : DUMP_WINDOW_BYTES;
        if (io_file_pread(&d->io, d->fd, d->win, want, pos, &got) != STROM_OK || got < len) {
            d->win_len = 0;
            return NULL;
        }
        d->win_start = pos;
        d->win_len = got;
    }
    return d->win + (pos - d->win_start);
}

/* Whether a whole valid record starts at pos; its header in *h and the first bytes of its body
 * (up to DUMP_BODY_MAX) in d->body. */
static bool record_ok(struct dump *d, uint64_t pos, struct store_rec_header *h) {
    const uint8_t *p = at(d, pos, STORE_HEADER_BYTES);
    if (p == NULL || !store_has_magic(p) ||
        store_header_decode(p, d->file_id, pos, h) != STROM_OK || h->type == STORE_REC_HEAD ||
        pos + store_record_span(h->body_bytes) > d->size) {
        return false;
    }
    uint32_t crc = 0;
    uint64_t off = pos + STORE_HEADER_BYTES;
    uint64_t left = h->body_bytes;
    while (left > 0) {
        size_t piece = left < DUMP_WINDOW_BYTES / 2 ? (size_t)left : DUMP_WINDOW_BYTES / 2;
        const uint8_t *q = at(d, off, piece);
        if (q == NULL) {
            return false;
        }
        if (off - pos - STORE_HEADER_BYTES < DUMP_BODY_MAX) {
            uint64_t into = off - pos - STORE_HEADER_BYTES;
            size_t copy = into + piece > DUMP_BODY_MAX ? (size_t)(DUMP_BODY_MAX - into) : piece;
            memcpy(d->body + into, q, copy);
        }
        crc = crc32c(crc, q, piece);
        off += piece;
        left -= piece;
    }
    return crc == h->body_crc;
}

static void rec_add(struct dump *d, const struct dump_rec *r) {
    if (d->rec_count == d->rec_cap) {
        size_t cap = d->rec_cap ? d->rec_cap * 2 : 4096;
        struct dump_rec *grown = realloc(d->recs, cap * sizeof *grown);
        if (grown == NULL) {
            fprintf(stderr, "strom dump: out of memory\n");
            exit(1);
        }
        d->recs = grown;
        d->rec_cap = cap;
    }
    d->recs[d->rec_count++] = *r;
}

static const struct dump_rec *rec_find(const struct dump *d, uint64_t pos) {
    size_t lo = 0;
    size_t hi = d->rec_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (d->recs[mid].pos < pos) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return (lo < d->rec_count && d->recs[lo].pos == pos) ? &d->recs[lo] : NULL;
}

/* Prints one valid record and remembers it. */
static void print_record(struct dump *d, uint64_t pos, const struct store_rec_header *h) {
    struct dump_rec r = {.pos = pos,
                         .span = (uint32_t)store_record_span(h->body_bytes),
                         .type = h->type,
                         .level = h->level};
    printf("store.record  type:%s  pos:%llu  span:%u", store_rec_type_name(h->type),
           (unsigned long long)pos, r.span);
    struct store_batch_head bh;
    struct store_index_head x;
    struct store_stream_head sh;
    struct store_trie_head th;
    struct store_checkpoint c;
    if (h->type == STORE_REC_BATCH &&
        store_batch_head_decode(d->body, h->body_bytes, &bh) == STROM_OK) {
        r.stream_id = bh.stream_id;
        r.base_offset = bh.base_offset;
        printf("  stream:%llu  offset:%llu  count:%u  bytes:%u", (unsigned long long)bh.stream_id,
               (unsigned long long)bh.base_offset, bh.message_count,
               h->body_bytes - STORE_BATCH_HEAD_BYTES);
    } else if (h->type == STORE_REC_INDEX &&
               store_index_head_decode(d->body, h->body_bytes, &x) == STROM_OK) {
        r.stream_id = x.stream_id;
        r.base_offset = store_get_u64(d->body + STORE_INDEX_HEAD_BYTES);
        printf("  stream:%llu  level:%u  offset:%llu  end:%llu  children:%u",
               (unsigned long long)x.stream_id, h->level, (unsigned long long)r.base_offset,
               (unsigned long long)x.end_offset, x.child_count);
    } else if (h->type == STORE_REC_STREAM && h->body_bytes <= DUMP_BODY_MAX &&
               store_stream_head_decode(d->body, h->body_bytes, &sh) == STROM_OK) {
        r.stream_id = sh.stream_id;
        printf("  stream:%llu  first:%llu  next:%llu  batches:%llu  spine:%u",
               (unsigned long long)sh.stream_id, (unsigned long long)sh.first_offset,
               (unsigned long long)sh.next_offset, (unsigned long long)sh.batch_count,
               sh.spine_count);
    } else if (h->type == STORE_REC_TRIE &&
               store_trie_head_decode(d->body, h->body_bytes, &th) == STROM_OK) {
        r.level = th.depth;
        printf("  depth:%u  children:%u", th.depth, store_bits16(th.bitmap));
    } else if (h->type == STORE_REC_CHECKPOINT &&
               store_checkpoint_decode(d->body, h->body_bytes, &c) == STROM_OK) {
        d->reclaim_pos = c.reclaim_pos;
        printf("  seq:%llu  root:%llu  reclaim:%llu  prev:%llu  streams:%llu",
               (unsigned long long)c.seq, (unsigned long long)c.trie_root_pos,
               (unsigned long long)c.reclaim_pos, (unsigned long long)c.prev_pos,
               (unsigned long long)c.stream_count);
    } else {
        printf("  body:undecodable");
        d->problems++;
    }
    printf("  crc:ok\n");
    rec_add(d, &r);
}

/* Skips what is not a record from pos: zeros (a hole) or damage; returns the next record. */
static uint64_t print_gap(struct dump *d, uint64_t pos) {
    uint64_t end = pos;
    const uint8_t *p = NULL;
    while (end + 8 <= d->size && (p = at(d, end, 8)) != NULL &&
           memcmp(p, "\0\0\0\0\0\0\0\0", 8) == 0) {
        end += 8;
    }
    if (end > pos) {
        printf("store.hole  pos:%llu  bytes:%llu\n", (unsigned long long)pos,
               (unsigned long long)(end - pos));
        return end;
    }
    struct store_rec_header h;
    end = pos + STORE_ALIGN;
    while (end < d->size && !record_ok(d, end, &h)) {
        end += STORE_ALIGN;
    }
    end = end < d->size ? end : d->size;
    printf("store.bad  pos:%llu  bytes:%llu  why:\"no valid record\"\n", (unsigned long long)pos,
           (unsigned long long)(end - pos));
    if (d->bad_count < sizeof d->bad_pos / sizeof d->bad_pos[0]) {
        d->bad_pos[d->bad_count] = pos;
    }
    d->bad_count++;
    return end;
}

static void problem(struct dump *d, uint64_t pos, const char *why, uint64_t target) {
    printf("store.bad  pos:%llu  why:\"%s\"  target:%llu\n", (unsigned long long)pos, why,
           (unsigned long long)target);
    d->problems++;
}

/* Checks that target holds a valid record of type (and level, stream, offset when given). */
static void expect(struct dump *d, uint64_t from, uint64_t target, uint8_t type, int level,
                   const uint64_t *stream_id, const uint64_t *offset, uint32_t span) {
    if (target < d->reclaim_pos) {
        return; /* reclaimed */
    }
    const struct dump_rec *r = rec_find(d, target);
    if (target >= from || r == NULL) {
        problem(d, from, target >= from ? "pointer not backwards" : "no valid record there",
                target);
    } else if (r->type != type || (level >= 0 && r->level != level) ||
               (stream_id && r->stream_id != *stream_id) || (offset && r->base_offset != *offset) ||
               (span && r->span != span)) {
        problem(d, from, "record there does not match", target);
    }
}

/* Rereads the body of r into d->body; false when it no longer checks out. */
static bool reread(struct dump *d, const struct dump_rec *r, struct store_rec_header *h) {
    return record_ok(d, r->pos, h) && h->body_bytes <= DUMP_BODY_MAX;
}

static void verify_index(struct dump *d, const struct dump_rec *r, uint32_t body_bytes) {
    struct store_index_head x;
    if (store_index_head_decode(d->body, body_bytes, &x) != STROM_OK) {
        return;
    }
    for (uint32_t i = 0; i < x.child_count; i++) {
        struct store_entry e;
        store_entry_decode(d->body + STORE_INDEX_HEAD_BYTES + i * STORE_ENTRY_BYTES, &e);
        uint8_t type = r->level == 0 ? STORE_REC_BATCH : STORE_REC_INDEX;
        expect(d, r->pos, e.pos, type, r->level == 0 ? 0 : r->level - 1, &x.stream_id,
               &e.base_offset, e.span);
    }
}

static void verify_stream(struct dump *d, const struct dump_rec *r, uint32_t body_bytes) {
    struct store_stream_head sh;
    if (store_stream_head_decode(d->body, body_bytes, &sh) != STROM_OK) {
        return;
    }
    for (uint32_t i = 0; i < sh.spine_count; i++) {
        struct store_entry e;
        store_entry_decode(d->body + STORE_STREAM_HEAD_BYTES + i * STORE_ENTRY_BYTES, &e);
        uint8_t type = e.level == 0 ? STORE_REC_BATCH : STORE_REC_INDEX;
        expect(d, r->pos, e.pos, type, e.level == 0 ? 0 : (int)e.level - 1, &sh.stream_id,
               &e.base_offset, e.span);
    }
}

static void verify_trie(struct dump *d, const struct dump_rec *r, uint32_t body_bytes) {
    struct store_trie_head th;
    if (store_trie_head_decode(d->body, body_bytes, &th) != STROM_OK) {
        return;
    }
    for (unsigned i = 0; i < store_bits16(th.bitmap); i++) {
        uint64_t ptr = store_get_u64(d->body + STORE_TRIE_HEAD_BYTES + i * 16);
        uint64_t aux = store_get_u64(d->body + STORE_TRIE_HEAD_BYTES + i * 16 + 8);
        if (ptr & 1) {
            expect(d, r->pos, ptr - 1, STORE_REC_STREAM, -1, &aux, NULL, 0);
        } else {
            expect(d, r->pos, ptr, STORE_REC_TRIE, th.depth + 1, NULL, NULL, 0);
        }
    }
}

static void verify_checkpoint(struct dump *d, const struct dump_rec *r, uint32_t body_bytes) {
    struct store_checkpoint c;
    if (store_checkpoint_decode(d->body, body_bytes, &c) != STROM_OK) {
        return;
    }
    if (c.trie_root_pos != 0) {
        expect(d, r->pos, c.trie_root_pos, STORE_REC_TRIE, 0, NULL, NULL, 0);
    }
    if (c.prev_pos != 0) {
        expect(d, r->pos, c.prev_pos, STORE_REC_CHECKPOINT, -1, NULL, NULL, 0);
    }
    uint32_t crc = 0;
    for (uint64_t off = c.nodes_pos; off < r->pos;) {
        size_t piece =
            r->pos - off < DUMP_WINDOW_BYTES / 2 ? (size_t)(r->pos - off) : DUMP_WINDOW_BYTES / 2;
        const uint8_t *p = at(d, off, piece);
        if (p == NULL) {
            break;
        }
        crc = crc32c(crc, p, piece);
        off += piece;
    }
    if (crc != c.nodes_crc) {
        problem(d, r->pos, "checkpoint nodes CRC mismatch", c.nodes_pos);
    }
}

static void verify_all(struct dump *d) {
    for (size_t i = 0; i < d->rec_count; i++) {
        struct dump_rec r = d->recs[i];
        struct store_rec_header h;
        if (r.type == STORE_REC_BATCH || !reread(d, &r, &h)) {
            continue;
        }
        switch (r.type) {
        case STORE_REC_INDEX:
            verify_index(d, &r, h.body_bytes);
            break;
        case STORE_REC_STREAM:
            verify_stream(d, &r, h.body_bytes);
            break;
        case STORE_REC_TRIE:
            verify_trie(d, &r, h.body_bytes);
            break;
        default:
            verify_checkpoint(d, &r, h.body_bytes);
            break;
        }
    }
}

/* What to do when FILE is no store: where a node keeps its store files. */
#define DUMP_WHERE "; a node's store files are DATA/commit-N/strom.store (DATA: its --data)"

/* Opens FILE and reads its header. Returns 0, or the exit code. */
static int dump_open(struct dump *d, const char *path) {
    io_linux_init(&d->io);
    strom_err err = io_file_open(&d->io, path, IO_OPEN_READ, &d->fd);
    d->fd_open = err == STROM_OK;
    if (err == STROM_OK) {
        err = io_file_size(&d->io, d->fd, &d->size);
    }
    if (err) {
        fprintf(stderr, "strom dump: %s: %s%s\n", path, strom_strerror(err), DUMP_WHERE);
        return 1;
    }
    struct store_rec_header h;
    struct store_file_head fh;
    const uint8_t *p = at(d, 0, STORE_HEADER_BYTES + STORE_HEAD_BODY_BYTES);
    if (p == NULL || store_header_decode(p, 0, 0, &h) != STROM_OK || h.type != STORE_REC_HEAD ||
        h.body_bytes != STORE_HEAD_BODY_BYTES ||
        crc32c(0, p + STORE_HEADER_BYTES, STORE_HEAD_BODY_BYTES) != h.body_crc ||
        store_file_head_decode(p + STORE_HEADER_BYTES, STORE_HEAD_BODY_BYTES, &fh) != STROM_OK) {
        fprintf(stderr, "strom dump: %s: not a store file, or its header at 0 is damaged%s\n", path,
                DUMP_WHERE);
        return 1;
    }
    d->file_id = fh.file_id;
    printf("store.file  version:%u  fanout:%u  file_id:%llu  size:%llu  created_ns:%llu\n",
           fh.version, fh.index_fanout, (unsigned long long)fh.file_id, (unsigned long long)d->size,
           (unsigned long long)fh.created_ns);
    return 0;
}

int cli_dump(int argc, char **argv) {
    bool verify = argc == 3 && strcmp(argv[1], "--verify") == 0;
    if (argc != 2 + (verify ? 1 : 0) || argv[argc - 1][0] == '-') {
        fprintf(stderr, "usage: strom dump [--verify] FILE\n");
        return 2;
    }
    struct dump *d = calloc(1, sizeof *d);
    int rc = 1;
    if (d != NULL && (d->win = malloc(DUMP_WINDOW_BYTES)) != NULL &&
        (d->body = malloc(DUMP_BODY_MAX)) != NULL) {
        rc = dump_open(d, argv[argc - 1]);
    }
    for (uint64_t pos = STORE_DATA_START; rc == 0 && pos < d->size;) {
        struct store_rec_header h;
        if (record_ok(d, pos, &h)) {
            print_record(d, pos, &h);
            pos += store_record_span(h.body_bytes);
        } else {
            pos = print_gap(d, pos);
        }
    }
    if (rc == 0 && verify) {
        verify_all(d);
        uint64_t wrong = d->problems;
        for (uint64_t i = 0; i < d->bad_count && i < 64; i++) {
            wrong += d->bad_pos[i] >= d->reclaim_pos ? 1 : 0;
        }
        wrong += d->bad_count > 64 ? d->bad_count - 64 : 0;
        printf("store.verify  records:%zu  problems:%llu\n", d->rec_count,
               (unsigned long long)wrong);
        rc = wrong ? 1 : 0;
    }
    if (d != NULL) {
        if (d->fd_open) {
            io_file_close(&d->io, d->fd);
        }
        free(d->win);
        free(d->body);
        free(d->recs);
        free(d);
    }
    return rc;
}
