/* format.c: encoders and checking decoders of the store's records (see format.h). */
#include "store/format.h"

#include "base/assert.h"
#include "base/crc32c.h"

_Static_assert(STORE_DATA_START % STORE_ALIGN == 0, "records start aligned");
_Static_assert(STORE_HEADER_BYTES + STORE_HEAD_BODY_BYTES <= STORE_DATA_START, "HEAD fits");
_Static_assert(STORE_TRIE_FANOUT *STORE_TRIE_DEPTH_MAX == 256, "16 digits of 4 bits");
_Static_assert(STORE_FANOUT_MAX *STORE_ENTRY_BYTES + STORE_INDEX_HEAD_BYTES < 4096,
               "an index record stays below a page");

uint64_t store_trie_key(uint64_t stream_id) {
    uint64_t z = stream_id + UINT64_C(0x9E3779B97F4A7C15);
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

void store_put_u16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

void store_put_u32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

void store_put_u64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

uint16_t store_get_u16(const uint8_t *p) {
    return (uint16_t)(p[0] | (p[1] << 8));
}

uint32_t store_get_u32(const uint8_t *p) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) {
        v = (v << 8) | p[i];
    }
    return v;
}

uint64_t store_get_u64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) {
        v = (v << 8) | p[i];
    }
    return v;
}

static uint32_t header_salt(uint64_t file_id, uint64_t pos) {
    uint8_t salt[16];
    store_put_u64(salt, file_id);
    store_put_u64(salt + 8, pos);
    return crc32c(0, salt, sizeof salt);
}

void store_header_encode(uint8_t *out, const struct store_rec_header *h, uint64_t file_id,
                         uint64_t pos) {
    strom_assert(h->type >= STORE_REC_HEAD && h->type <= STORE_REC_TYPE_MAX_);
    strom_assert(h->body_bytes <= STORE_BODY_BYTES_MAX && pos % STORE_ALIGN == 0);
    store_put_u32(out, STORE_MAGIC);
    out[4] = h->type;
    out[5] = h->level;
    store_put_u16(out + 6, 0);
    store_put_u32(out + 8, h->body_bytes);
    store_put_u32(out + 12, h->body_crc);
    store_put_u64(out + 16, h->durable_pos);
    store_put_u32(out + 24, 0);
    store_put_u32(out + 28, crc32c(header_salt(file_id, pos), out, 28));
}

bool store_has_magic(const uint8_t *in) {
    return store_get_u32(in) == STORE_MAGIC;
}

strom_err store_header_decode(const uint8_t *in, uint64_t file_id, uint64_t pos,
                              struct store_rec_header *h) {
    if (!store_has_magic(in) || store_get_u16(in + 6) != 0 || store_get_u32(in + 24) != 0) {
        return STROM_ERR_CORRUPT;
    }
    if (store_get_u32(in + 28) != crc32c(header_salt(file_id, pos), in, 28)) {
        return STROM_ERR_CORRUPT;
    }
    uint8_t type = in[4];
    uint32_t body_bytes = store_get_u32(in + 8);
    if (type < STORE_REC_HEAD || type > STORE_REC_TYPE_MAX_ || body_bytes > STORE_BODY_BYTES_MAX) {
        return STROM_ERR_CORRUPT;
    }
    if (type != STORE_REC_INDEX && in[5] != 0) {
        return STROM_ERR_CORRUPT;
    }
    h->type = type;
    h->level = in[5];
    h->body_bytes = body_bytes;
    h->body_crc = store_get_u32(in + 12);
    h->durable_pos = store_get_u64(in + 16);
    return STROM_OK;
}

void store_file_head_encode(uint8_t *out, const struct store_file_head *f) {
    store_put_u64(out, f->file_id);
    store_put_u32(out + 8, f->version);
    store_put_u32(out + 12, f->index_fanout);
    store_put_u32(out + 16, f->data_start);
    store_put_u32(out + 20, 0);
    store_put_u64(out + 24, f->created_ns);
}

strom_err store_file_head_decode(const uint8_t *in, size_t len, struct store_file_head *f) {
    if (len != STORE_HEAD_BODY_BYTES || store_get_u32(in + 20) != 0) {
        return STROM_ERR_CORRUPT;
    }
    f->file_id = store_get_u64(in);
    f->version = store_get_u32(in + 8);
    f->index_fanout = store_get_u32(in + 12);
    f->data_start = store_get_u32(in + 16);
    f->created_ns = store_get_u64(in + 24);
    if (f->version != STORE_FORMAT_VERSION || f->data_start != STORE_DATA_START ||
        f->index_fanout < STORE_FANOUT_MIN || f->index_fanout > STORE_FANOUT_MAX) {
        return STROM_ERR_CORRUPT;
    }
    return STROM_OK;
}

void store_batch_head_encode(uint8_t *out, const struct store_batch_head *b) {
    store_put_u64(out, b->stream_id);
    store_put_u64(out + 8, b->base_offset);
    store_put_u64(out + 16, b->first_ts_ns);
    store_put_u64(out + 24, b->last_ts_ns);
    store_put_u32(out + 32, b->message_count);
    store_put_u32(out + 36, b->flags);
}

strom_err store_batch_head_decode(const uint8_t *in, size_t len, struct store_batch_head *b) {
    if (len < STORE_BATCH_HEAD_BYTES) {
        return STROM_ERR_CORRUPT;
    }
    b->stream_id = store_get_u64(in);
    b->base_offset = store_get_u64(in + 8);
    b->first_ts_ns = store_get_u64(in + 16);
    b->last_ts_ns = store_get_u64(in + 24);
    b->message_count = store_get_u32(in + 32);
    b->flags = store_get_u32(in + 36);
    if (b->message_count == 0 || b->base_offset + b->message_count < b->base_offset) {
        return STROM_ERR_CORRUPT;
    }
    return STROM_OK;
}

void store_entry_encode(uint8_t *out, const struct store_entry *e) {
    store_put_u64(out, e->base_offset);
    store_put_u64(out + 8, e->pos);
    store_put_u32(out + 16, e->span);
    store_put_u32(out + 20, e->level);
}

void store_entry_decode(const uint8_t *in, struct store_entry *e) {
    e->base_offset = store_get_u64(in);
    e->pos = store_get_u64(in + 8);
    e->span = store_get_u32(in + 16);
    e->level = store_get_u32(in + 20);
}

void store_index_head_encode(uint8_t *out, const struct store_index_head *x) {
    store_put_u64(out, x->stream_id);
    store_put_u64(out + 8, x->end_offset);
    store_put_u32(out + 16, x->child_count);
    store_put_u32(out + 20, 0);
}

strom_err store_index_head_decode(const uint8_t *in, size_t len, struct store_index_head *x) {
    if (len < STORE_INDEX_HEAD_BYTES || store_get_u32(in + 20) != 0) {
        return STROM_ERR_CORRUPT;
    }
    x->stream_id = store_get_u64(in);
    x->end_offset = store_get_u64(in + 8);
    x->child_count = store_get_u32(in + 16);
    if (x->child_count == 0 || x->child_count > STORE_FANOUT_MAX ||
        len != STORE_INDEX_HEAD_BYTES + (size_t)x->child_count * STORE_ENTRY_BYTES) {
        return STROM_ERR_CORRUPT;
    }
    return STROM_OK;
}

void store_stream_head_encode(uint8_t *out, const struct store_stream_head *s) {
    store_put_u64(out, s->stream_id);
    store_put_u64(out + 8, s->next_offset);
    store_put_u64(out + 16, s->batch_count);
    store_put_u64(out + 24, s->first_offset);
    store_put_u64(out + 32, s->first_pos);
    store_put_u32(out + 40, s->spine_count);
    store_put_u32(out + 44, 0);
}

strom_err store_stream_head_decode(const uint8_t *in, size_t len, struct store_stream_head *s) {
    if (len < STORE_STREAM_HEAD_BYTES || store_get_u32(in + 44) != 0) {
        return STROM_ERR_CORRUPT;
    }
    s->stream_id = store_get_u64(in);
    s->next_offset = store_get_u64(in + 8);
    s->batch_count = store_get_u64(in + 16);
    s->first_offset = store_get_u64(in + 24);
    s->first_pos = store_get_u64(in + 32);
    s->spine_count = store_get_u32(in + 40);
    if (s->spine_count > STORE_SPINE_MAX || s->first_offset > s->next_offset ||
        len != STORE_STREAM_HEAD_BYTES + (size_t)s->spine_count * STORE_ENTRY_BYTES) {
        return STROM_ERR_CORRUPT;
    }
    return STROM_OK;
}

void store_trie_head_encode(uint8_t *out, const struct store_trie_head *t) {
    store_put_u16(out, t->bitmap);
    out[2] = t->depth;
    out[3] = 0;
    store_put_u32(out + 4, 0);
}

strom_err store_trie_head_decode(const uint8_t *in, size_t len, struct store_trie_head *t) {
    if (len < STORE_TRIE_HEAD_BYTES || in[3] != 0 || store_get_u32(in + 4) != 0) {
        return STROM_ERR_CORRUPT;
    }
    t->bitmap = store_get_u16(in);
    t->depth = in[2];
    size_t count = (size_t)store_bits16(t->bitmap);
    if (t->bitmap == 0 || t->depth >= STORE_TRIE_DEPTH_MAX ||
        len != STORE_TRIE_HEAD_BYTES + count * STORE_TRIE_ENTRY_BYTES) {
        return STROM_ERR_CORRUPT;
    }
    return STROM_OK;
}

void store_checkpoint_encode(uint8_t *out, const struct store_checkpoint *c) {
    store_put_u64(out, c->seq);
    store_put_u64(out + 8, c->trie_root_pos);
    store_put_u64(out + 16, c->nodes_pos);
    store_put_u64(out + 24, c->reclaim_pos);
    store_put_u64(out + 32, c->prev_pos);
    store_put_u64(out + 40, c->stream_count);
    store_put_u64(out + 48, c->written_ns);
    store_put_u32(out + 56, c->nodes_crc);
    store_put_u32(out + 60, c->index_fanout);
}

strom_err store_checkpoint_decode(const uint8_t *in, size_t len, struct store_checkpoint *c) {
    if (len != STORE_CHECKPOINT_BODY_BYTES) {
        return STROM_ERR_CORRUPT;
    }
    c->seq = store_get_u64(in);
    c->trie_root_pos = store_get_u64(in + 8);
    c->nodes_pos = store_get_u64(in + 16);
    c->reclaim_pos = store_get_u64(in + 24);
    c->prev_pos = store_get_u64(in + 32);
    c->stream_count = store_get_u64(in + 40);
    c->written_ns = store_get_u64(in + 48);
    c->nodes_crc = store_get_u32(in + 56);
    c->index_fanout = store_get_u32(in + 60);
    if (c->seq == 0 || c->reclaim_pos < STORE_DATA_START || c->reclaim_pos > c->nodes_pos ||
        c->index_fanout < STORE_FANOUT_MIN || c->index_fanout > STORE_FANOUT_MAX ||
        c->nodes_pos % STORE_ALIGN != 0 || c->trie_root_pos % STORE_ALIGN != 0) {
        return STROM_ERR_CORRUPT;
    }
    return STROM_OK;
}

const char *store_rec_type_name(uint8_t type) {
    switch (type) {
    case STORE_REC_HEAD:
        return "head";
    case STORE_REC_BATCH:
        return "batch";
    case STORE_REC_INDEX:
        return "index";
    case STORE_REC_STREAM:
        return "stream";
    case STORE_REC_TRIE:
        return "trie";
    case STORE_REC_CHECKPOINT:
        return "checkpoint";
    default:
        return "unknown";
    }
}
