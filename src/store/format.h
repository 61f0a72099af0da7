/*
 * format.h: the bytes of a store file (docs/storage.md, "The format", says the same in prose).
 *
 * A store file is a sequence of records at positions that are multiples of STORE_ALIGN. Each
 * record is a 32-byte header, a body of body_bytes, and zero padding up to the next multiple of
 * STORE_ALIGN. All integers are little-endian. The file header record (HEAD) sits at position 0
 * and is padded with zeros to STORE_DATA_START; every other record comes after.
 *
 * Header (32 bytes):
 *   0  u32 magic        STORE_MAGIC ("STRM")
 *   4  u8  type         enum store_rec_type
 *   5  u8  level        index records: their level (0 indexes batches); 0 otherwise
 *   6  u16 reserved     0
 *   8  u32 body_bytes   bytes of the body, at most STORE_BODY_BYTES_MAX
 *  12  u32 body_crc     CRC-32C of the body
 *  16  u64 durable_pos  the file was durable (fdatasync'd) below this position when the record
 *                       was written; recovery uses it to tell a torn tail from damage inside
 *  24  u32 reserved     0
 *  28  u32 header_crc   CRC-32C of bytes [0, 28), started from salt(file_id, position)
 *
 * The salt is crc32c(0, le64(file_id) || le64(position)): a header is valid only at its own
 * position in its own file, so stale bytes at a reused position, a record of another file, or a
 * store file carried inside a batch's payload never pass as a record (the same idea as the salts
 * in SQLite's WAL frame headers). The HEAD record uses file_id 0, since it is what holds it.
 *
 * Every body layout below is fixed, with reserved fields 0; a decoder rejects anything else as
 * STROM_ERR_CORRUPT. Decoders never read past the bytes they are given.
 */
#ifndef STROM_STORE_FORMAT_H
#define STROM_STORE_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#define STORE_MAGIC UINT32_C(0x4D525453) /* "STRM" little-endian */

enum {
    STORE_ALIGN = 8,                  /* record positions and lengths */
    STORE_HEADER_BYTES = 32,          /* the common header */
    STORE_DATA_START = 4096,          /* first record after the file header */
    STORE_FORMAT_VERSION = 1,         /* of this layout */
    STORE_FANOUT_MIN = 4,             /* index fan-out F, smallest allowed */
    STORE_FANOUT_MAX = 64,            /* and largest */
    STORE_LEVELS_MAX = 24,            /* index levels of a stream (F^24 batches at F = 4) */
    STORE_SPINE_MAX = 1024,           /* unindexed entries of one stream, all levels */
    STORE_BODY_BYTES_MAX = 1 << 30,   /* a record body */
    STORE_HEAD_BODY_BYTES = 32,       /* HEAD */
    STORE_BATCH_HEAD_BYTES = 40,      /* BATCH, before the payload */
    STORE_ENTRY_BYTES = 24,           /* one child of an index, one spine entry */
    STORE_INDEX_HEAD_BYTES = 24,      /* INDEX, before its entries */
    STORE_STREAM_HEAD_BYTES = 48,     /* STREAM, before its spine */
    STORE_TRIE_FANOUT = 16,           /* children of a trie node: 4 bits of key per level */
    STORE_TRIE_DEPTH_MAX = 16,        /* 64 bits of key / 4 */
    STORE_TRIE_HEAD_BYTES = 8,        /* TRIE, before its entries */
    STORE_TRIE_ENTRY_BYTES = 16,      /* one child of a trie node */
    STORE_CHECKPOINT_BODY_BYTES = 64, /* CHECKPOINT */
    STORE_POS_BITS = 56,              /* positions stay below 2^56 (64 PiB) */
};

/* Record types (u8 at header offset 4). */
enum store_rec_type {
    STORE_REC_HEAD = 1,       /* the file header, at position 0 only */
    STORE_REC_BATCH = 2,      /* one batch of one stream: messages [base_offset, +count) */
    STORE_REC_INDEX = 3,      /* children of one stream at one level */
    STORE_REC_STREAM = 4,     /* a stream's state at a checkpoint: offsets and unindexed spine */
    STORE_REC_TRIE = 5,       /* a node of the trie of stream roots, keyed by hashed stream id */
    STORE_REC_CHECKPOINT = 6, /* the roots: trie root, reclaim position, previous checkpoint */
    STORE_REC_TYPE_MAX_ = 6,
};

/* The header fields a writer chooses (magic, reserved and header_crc are implied). */
struct store_rec_header {
    uint8_t type;         /* enum store_rec_type */
    uint8_t level;        /* INDEX level, else 0 */
    uint32_t body_bytes;  /* <= STORE_BODY_BYTES_MAX */
    uint32_t body_crc;    /* crc32c(0, body) */
    uint64_t durable_pos; /* see above */
};

/* HEAD body (32 bytes): u64 file_id, u32 version, u32 index_fanout, u32 data_start,
 * u32 reserved, u64 created_ns (realtime). */
struct store_file_head {
    uint64_t file_id;      /* random at creation; salts every header */
    uint32_t version;      /* STORE_FORMAT_VERSION */
    uint32_t index_fanout; /* F, in [STORE_FANOUT_MIN, STORE_FANOUT_MAX] */
    uint32_t data_start;   /* STORE_DATA_START */
    uint64_t created_ns;   /* ns since the Unix epoch */
};

/* BATCH body head (40 bytes), then the payload (body_bytes - 40 bytes):
 * u64 stream_id, u64 base_offset, u64 first_ts_ns, u64 last_ts_ns, u32 message_count, u32 flags. */
struct store_batch_head {
    uint64_t stream_id;
    uint64_t base_offset;   /* offset of the first message */
    uint64_t first_ts_ns;   /* timestamp of the first message, ns since the Unix epoch */
    uint64_t last_ts_ns;    /* of the last message */
    uint32_t message_count; /* >= 1 */
    uint32_t flags;         /* the caller's, stored and returned unchanged */
};

/* One child of an index record, or one entry of a stream's spine (24 bytes):
 * u64 base_offset, u64 pos, u32 span, u32 level (spine) or 0 (index). */
struct store_entry {
    uint64_t base_offset; /* first offset the child covers */
    uint64_t pos;         /* position of the child record */
    uint32_t span;        /* bytes of the child record, header and padding included */
    uint32_t level;       /* spine: 0 for a batch, L + 1 for an index record of level L */
};

/* INDEX body: u64 stream_id, u64 end_offset, u32 child_count, u32 reserved, then child_count
 * entries. A level-0 index's children are batches, a level-L one's are level L-1 indexes; every
 * child lies before the index, and the children cover [entry[0].base_offset, end_offset) in
 * order without gaps. */
struct store_index_head {
    uint64_t stream_id;
    uint64_t end_offset;  /* offset after the last message covered */
    uint32_t child_count; /* in [1, STORE_FANOUT_MAX] */
};

/* STREAM body: u64 stream_id, u64 next_offset, u64 batch_count, u64 first_offset, u64 first_pos,
 * u32 spine_count, u32 reserved, then spine_count entries (highest level first, offsets rising):
 * the roots of the stream's index trees and its unindexed batches, which together cover
 * [spine[0].base_offset, next_offset). */
struct store_stream_head {
    uint64_t stream_id;
    uint64_t next_offset;  /* offset the next batch must start at */
    uint64_t batch_count;  /* batches ever appended */
    uint64_t first_offset; /* first offset not reclaimed, as last computed */
    uint64_t first_pos;    /* position of the batch holding first_offset; 0 when none */
    uint32_t spine_count;  /* <= STORE_SPINE_MAX */
};

/* TRIE body: u16 bitmap, u8 depth, u8 reserved, u32 reserved, then popcount(bitmap) entries of
 * (u64 ptr, u64 aux) in slot order. Slot i holds keys whose 4-bit digit at this depth is i (the
 * key is store_trie_key(stream_id), digits from the top). ptr with bit 0 set: a leaf, the STREAM
 * record at ptr - 1, aux its stream id. Bit 0 clear: a child node, the TRIE record at ptr, aux
 * the smallest position of any record in that subtree (reclaim uses it). */
struct store_trie_head {
    uint16_t bitmap; /* bit i: slot i is present */
    uint8_t depth;   /* 0 at the root, < STORE_TRIE_DEPTH_MAX */
};

struct store_trie_entry {
    uint64_t ptr; /* leaf: STREAM position | 1; node: TRIE position */
    uint64_t aux; /* leaf: stream id; node: smallest position in its subtree */
};

/* CHECKPOINT body (64 bytes): u64 seq, u64 trie_root_pos, u64 nodes_pos, u64 reclaim_pos,
 * u64 prev_pos, u64 stream_count, u64 written_ns, u32 nodes_crc, u32 index_fanout.
 * Written only when everything before nodes_pos is durable; nodes_crc covers the raw bytes of
 * [nodes_pos, own position), the STREAM and TRIE records written for it, so a checkpoint is
 * valid only if all of them are whole. */
struct store_checkpoint {
    uint64_t seq;           /* 1, 2, ... */
    uint64_t trie_root_pos; /* TRIE record of the root; 0 when there are no streams */
    uint64_t nodes_pos;     /* first record written for this checkpoint */
    uint64_t reclaim_pos;   /* records before it are reclaimed; >= STORE_DATA_START */
    uint64_t prev_pos;      /* the previous checkpoint; 0 for none */
    uint64_t stream_count;  /* streams in the trie */
    uint64_t written_ns;    /* realtime */
    uint32_t nodes_crc;     /* see above */
    uint32_t index_fanout;  /* F, as in the file header */
};

/* Bytes a record with body_bytes takes in the file, padding included. */
static inline uint64_t store_record_span(uint64_t body_bytes) {
    return (STORE_HEADER_BYTES + body_bytes + STORE_ALIGN - 1) & ~(uint64_t)(STORE_ALIGN - 1);
}

/* Bits set in a trie bitmap (a portable popcount: the build does not assume the instruction). */
static inline unsigned store_bits16(uint16_t v) {
    unsigned x = v;
    x = x - ((x >> 1) & 0x5555u);
    x = (x & 0x3333u) + ((x >> 2) & 0x3333u);
    x = (x + (x >> 4)) & 0x0F0Fu;
    return (x + (x >> 8)) & 0x1Fu;
}

/* The trie key of a stream id: the splitmix64 finalizer (Steele, Lea, Flood, OOPSLA 2014), a
 * bijection on 64 bits, so that any pattern of ids spreads evenly over the trie. */
uint64_t store_trie_key(uint64_t stream_id);

/* Little-endian access to fixed layouts. */
void store_put_u16(uint8_t *p, uint16_t v);
void store_put_u32(uint8_t *p, uint32_t v);
void store_put_u64(uint8_t *p, uint64_t v);
uint16_t store_get_u16(const uint8_t *p);
uint32_t store_get_u32(const uint8_t *p);
uint64_t store_get_u64(const uint8_t *p);

/* Encodes the header of the record at pos of file file_id into out[STORE_HEADER_BYTES]. */
void store_header_encode(uint8_t *out, const struct store_rec_header *h, uint64_t file_id,
                         uint64_t pos);

/* Decodes and checks a header (magic, reserved fields, header CRC, known type, body bound).
 * STROM_ERR_CORRUPT when any fails. The body is not checked here. */
strom_err store_header_decode(const uint8_t *in, uint64_t file_id, uint64_t pos,
                              struct store_rec_header *h);

/* Whether in (4 bytes) starts with the magic: a cheap first test when scanning. */
bool store_has_magic(const uint8_t *in);

/* Body codecs. encode writes exactly the layout's bytes; decode checks len and reserved fields
 * and the ranges stated above, returning STROM_ERR_CORRUPT on any mismatch. */
void store_file_head_encode(uint8_t *out, const struct store_file_head *f);
strom_err store_file_head_decode(const uint8_t *in, size_t len, struct store_file_head *f);
void store_batch_head_encode(uint8_t *out, const struct store_batch_head *b);
strom_err store_batch_head_decode(const uint8_t *in, size_t len, struct store_batch_head *b);
void store_entry_encode(uint8_t *out, const struct store_entry *e);
void store_entry_decode(const uint8_t *in, struct store_entry *e);
void store_index_head_encode(uint8_t *out, const struct store_index_head *x);
strom_err store_index_head_decode(const uint8_t *in, size_t len, struct store_index_head *x);
void store_stream_head_encode(uint8_t *out, const struct store_stream_head *s);
strom_err store_stream_head_decode(const uint8_t *in, size_t len, struct store_stream_head *s);
void store_trie_head_encode(uint8_t *out, const struct store_trie_head *t);
strom_err store_trie_head_decode(const uint8_t *in, size_t len, struct store_trie_head *t);
void store_checkpoint_encode(uint8_t *out, const struct store_checkpoint *c);
strom_err store_checkpoint_decode(const uint8_t *in, size_t len, struct store_checkpoint *c);

/* The name of a record type ("batch"), "unknown" outside the enum. */
const char *store_rec_type_name(uint8_t type);

#endif
