/*
 * trie.c: the trie of stream roots (see format.h for its records, internal.h for its memory).
 *
 * A hash trie in the manner of Bagwell's "Ideal Hash Trees" (2001): the key is
 * store_trie_key(stream_id), consumed 4 bits per level from the top; a node holds only the
 * slots in use (bitmap + entries); a leaf sits at the first level where its key is alone and is
 * pushed down when another key arrives there. Keys are unique (the key function is a bijection),
 * so no path is deeper than STORE_TRIE_DEPTH_MAX.
 *
 * Nodes come into memory when a lookup passes through them and stay there; a changed node is
 * marked dirty (disk_pos 0) with every node above it, and trie_write writes the dirty ones,
 * children before parents, so every pointer on disk points backwards (copy-on-write: untouched
 * subtrees are shared with earlier checkpoints). All walks use explicit stacks bounded by the
 * depth limit.
 */
#include <string.h>

#include "base/assert.h"
#include "base/crc32c.h"
#include "store/internal.h"

/* The head of a node in the slab, followed by count entries. */
struct trie_node {
    uint64_t disk_pos; /* the TRIE record of this version; 0: dirty */
    uint64_t min_pos;  /* smallest record position in the subtree, when written */
    uint16_t bitmap;   /* slots present */
    uint8_t count;     /* entries, popcount(bitmap) */
    uint8_t depth;     /* 0 at the root */
    uint8_t cls;       /* slab class of the block */
    uint8_t reserved[7];
};
_Static_assert(sizeof(struct trie_node) == 2 * SLAB_UNIT_BYTES, "two units of head");
_Static_assert(sizeof(struct store_trie_entry) == SLAB_UNIT_BYTES, "one unit per entry");

enum {
    PTR_LEAF = 1, /* bit 0: a leaf (STREAM position + 1) */
    PTR_MEM = 2,  /* bit 1: a child in memory (ref << 2) */
    TRIE_SPAN_MAX = STORE_HEADER_BYTES + STORE_TRIE_HEAD_BYTES +
                    STORE_TRIE_FANOUT * STORE_TRIE_ENTRY_BYTES, /* already aligned */
};

static struct trie_node *node_at(const struct store *s, uint32_t ref) {
    return slab_ptr(&s->slab, ref);
}

static struct store_trie_entry *node_entries(struct trie_node *n) {
    return (struct store_trie_entry *)(n + 1);
}

static unsigned digit_of(uint64_t key, unsigned depth) {
    strom_assert(depth < STORE_TRIE_DEPTH_MAX);
    return (unsigned)(key >> (60 - 4 * depth)) & 0xF;
}

static unsigned slot_index(uint16_t bitmap, unsigned digit) {
    return (unsigned)store_bits16((uint16_t)(bitmap & ((1u << digit) - 1)));
}

void trie_init(struct store_trie *trie, uint64_t root_pos) {
    memset(trie, 0, sizeof *trie);
    trie->root_pos = root_pos;
}

static strom_err node_alloc(struct store *s, uint8_t count, uint8_t depth, uint32_t *ref_out) {
    uint8_t cls = slab_class_of(2u + (count ? count : 1));
    strom_err err = slab_alloc(&s->slab, cls, ref_out);
    if (err == STROM_OK) {
        struct trie_node *n = node_at(s, *ref_out);
        memset(n, 0, sizeof *n);
        n->depth = depth;
        n->cls = cls;
        n->count = count;
        s->trie.nodes++;
    }
    return err;
}

/* Checks one entry of the TRIE record at pos. */
static bool entry_valid(const struct store_trie_entry *e, uint64_t pos) {
    uint64_t at = e->ptr & ~(uint64_t)PTR_LEAF;
    if (e->ptr & PTR_MEM || at % STORE_ALIGN != 0 || at < STORE_DATA_START || at >= pos) {
        return false;
    }
    return (e->ptr & PTR_LEAF) || (e->aux >= STORE_DATA_START && e->aux <= at);
}

/* Reads and checks the TRIE record at pos once, a node at depth: *th, its entries at buf + the
 * offset of the first entry, *min_out the smallest position in its subtree. */
static strom_err node_read_once(struct store *s, uint64_t pos, uint8_t depth, uint8_t *buf,
                                struct store_trie_head *th, uint64_t *min_out) {
    size_t got = 0;
    struct store_rec_header h;
    strom_err err = pos < s->ckpt.reclaim_pos ? STROM_ERR_CORRUPT : STROM_OK;
    if (err == STROM_OK) {
        err = log_read(&s->log, pos, buf, TRIE_SPAN_MAX, &got);
    }
    if (err == STROM_OK && got < STORE_HEADER_BYTES) {
        err = STROM_ERR_CORRUPT;
    }
    if (err == STROM_OK) {
        err = store_header_decode(buf, s->log.file_id, pos, &h);
    }
    if (err == STROM_OK && (h.type != STORE_REC_TRIE || STORE_HEADER_BYTES + h.body_bytes > got ||
                            crc32c(0, buf + STORE_HEADER_BYTES, h.body_bytes) != h.body_crc)) {
        err = STROM_ERR_CORRUPT;
    }
    if (err == STROM_OK) {
        err = store_trie_head_decode(buf + STORE_HEADER_BYTES, h.body_bytes, th);
    }
    if (err == STROM_OK && th->depth != depth) {
        err = STROM_ERR_CORRUPT;
    }
    uint64_t min_pos = pos;
    unsigned count = err == STROM_OK ? (unsigned)store_bits16(th->bitmap) : 0;
    for (unsigned i = 0; err == STROM_OK && i < count; i++) {
        const uint8_t *p = buf + STORE_HEADER_BYTES + STORE_TRIE_HEAD_BYTES + i * 16;
        struct store_trie_entry e = {store_get_u64(p), store_get_u64(p + 8)};
        err = entry_valid(&e, pos) ? STROM_OK : STROM_ERR_CORRUPT;
        uint64_t m = (e.ptr & PTR_LEAF) ? e.ptr - 1 : e.aux;
        min_pos = m < min_pos ? m : min_pos;
    }
    *min_out = min_pos;
    if (err == STROM_ERR_CORRUPT || err == STROM_ERR_TRUNCATED) {
        err = store_corrupt(s, pos);
    }
    return err;
}

/* node_read_once, read again while it finds damage (STORE_READ_TRIES). */
static strom_err node_read(struct store *s, uint64_t pos, uint8_t depth, uint8_t *buf,
                           struct store_trie_head *th, uint64_t *min_out) {
    strom_err err = STROM_OK;
    int t = 0;
    do {
        err = node_read_once(s, pos, depth, buf, th, min_out);
    } while (err == STROM_ERR_CORRUPT && ++t < STORE_READ_TRIES);
    return err;
}

/* Reads the TRIE record at pos, which must be a node at depth, into a new node. */
static strom_err node_load(struct store *s, uint64_t pos, uint8_t depth, uint32_t *ref_out) {
    uint8_t buf[TRIE_SPAN_MAX];
    struct store_trie_head th = {0};
    uint64_t min_pos = 0;
    strom_err err = node_read(s, pos, depth, buf, &th, &min_pos);
    uint8_t count = (uint8_t)store_bits16(th.bitmap);
    if (err == STROM_OK) {
        err = node_alloc(s, count, depth, ref_out);
    }
    if (err == STROM_OK) {
        struct trie_node *n = node_at(s, *ref_out);
        n->disk_pos = pos;
        n->min_pos = min_pos;
        n->bitmap = th.bitmap;
        for (unsigned i = 0; i < count; i++) {
            const uint8_t *p = buf + STORE_HEADER_BYTES + STORE_TRIE_HEAD_BYTES + i * 16;
            node_entries(n)[i] = (struct store_trie_entry){store_get_u64(p), store_get_u64(p + 8)};
        }
    }
    return err;
}

/* The child of entry e of a node at depth, loaded into memory if it is not there yet. */
static strom_err child_ref(struct store *s, struct store_trie_entry *e, uint8_t depth,
                           uint32_t *ref_out) {
    strom_assert(!(e->ptr & PTR_LEAF));
    if (e->ptr & PTR_MEM) {
        *ref_out = (uint32_t)(e->ptr >> 2);
        return STROM_OK;
    }
    if (depth + 1 >= STORE_TRIE_DEPTH_MAX) {
        return store_corrupt(s, e->ptr);
    }
    strom_err err = node_load(s, e->ptr, (uint8_t)(depth + 1), ref_out);
    if (err == STROM_OK) {
        e->ptr = ((uint64_t)*ref_out << 2) | PTR_MEM;
    }
    return err;
}

static strom_err root_ref(struct store *s, uint32_t *ref_out) {
    if (s->trie.root_ref == 0 && s->trie.root_pos != 0) {
        strom_err err = node_load(s, s->trie.root_pos, 0, &s->trie.root_ref);
        if (err) {
            return err;
        }
    }
    *ref_out = s->trie.root_ref;
    return STROM_OK;
}

strom_err trie_find(struct store *s, uint64_t stream_id, bool *found, uint64_t *pos_out) {
    uint64_t key = store_trie_key(stream_id);
    uint32_t ref = 0;
    strom_err err = root_ref(s, &ref);
    *found = false;
    for (unsigned depth = 0; err == STROM_OK && ref != 0; depth++) {
        struct trie_node *n = node_at(s, ref);
        unsigned d = digit_of(key, depth);
        if (!(n->bitmap & (1u << d))) {
            break;
        }
        struct store_trie_entry *e = &node_entries(n)[slot_index(n->bitmap, d)];
        if (e->ptr & PTR_LEAF) {
            *found = e->aux == stream_id;
            *pos_out = e->ptr - 1;
            /* A leaf sits where its key's digits lead; one elsewhere is damage, and inserting
             * beside it would find no digit to tell the two apart. */
            uint64_t differ = store_trie_key(e->aux) ^ key;
            if (!*found && (differ >> (60 - 4 * depth)) != 0) {
                *found = false;
                err = store_corrupt(s, n->disk_pos);
            }
            break;
        }
        err = child_ref(s, e, (uint8_t)depth, &ref);
    }
    return err;
}

/* Inserts entry e at slot digit d of node *ref, moving the node to a larger block when needed;
 * *ref (and the pointer to it in the parent) follow the move. */
static strom_err node_insert(struct store *s, uint32_t *ref, unsigned d,
                             const struct store_trie_entry *e) {
    struct trie_node *n = node_at(s, *ref);
    strom_assert(!(n->bitmap & (1u << d)) && n->count < STORE_TRIE_FANOUT);
    unsigned at = slot_index(n->bitmap, d);
    if (2u + n->count + 1 > slab_class_units(n->cls)) {
        uint8_t cls = slab_class_of(2u + n->count + 1);
        uint32_t bigger = 0;
        strom_err err = slab_alloc(&s->slab, cls, &bigger);
        if (err) {
            return err;
        }
        struct trie_node *m = node_at(s, bigger);
        memcpy(m, n, (2u + n->count) * SLAB_UNIT_BYTES);
        m->cls = cls;
        slab_free(&s->slab, *ref, n->cls);
        *ref = bigger;
        n = m;
    }
    struct store_trie_entry *entries = node_entries(n);
    memmove(&entries[at + 1], &entries[at], (n->count - at) * sizeof *entries);
    entries[at] = *e;
    n->bitmap |= (uint16_t)(1u << d);
    n->count++;
    return STROM_OK;
}

/* A subtree at depth holding the two leaves a (key ka) and b (key kb), whose digits agree above
 * depth; *ref_out is its top node. */
static strom_err split_leaves(struct store *s, unsigned depth, uint64_t ka,
                              const struct store_trie_entry *a, uint64_t kb,
                              const struct store_trie_entry *b, uint32_t *ref_out) {
    unsigned bottom = depth;
    while (digit_of(ka, bottom) == digit_of(kb, bottom)) {
        bottom++; /* keys differ, so this stops below STORE_TRIE_DEPTH_MAX */
    }
    uint32_t ref = 0;
    strom_err err = node_alloc(s, 0, (uint8_t)bottom, &ref);
    if (err == STROM_OK) {
        err = node_insert(s, &ref, digit_of(ka, bottom), a);
    }
    if (err == STROM_OK) {
        err = node_insert(s, &ref, digit_of(kb, bottom), b);
    }
    for (unsigned up = bottom; err == STROM_OK && up > depth; up--) {
        uint32_t parent = 0;
        struct store_trie_entry link = {((uint64_t)ref << 2) | PTR_MEM, 0};
        err = node_alloc(s, 0, (uint8_t)(up - 1), &parent);
        if (err == STROM_OK) {
            err = node_insert(s, &parent, digit_of(ka, up - 1), &link);
        }
        ref = parent;
    }
    *ref_out = ref;
    return err;
}

strom_err trie_set(struct store *s, uint64_t stream_id, uint64_t pos) {
    strom_assert(pos % STORE_ALIGN == 0 && pos >= STORE_DATA_START);
    uint64_t key = store_trie_key(stream_id);
    struct store_trie_entry leaf = {pos | PTR_LEAF, stream_id};
    uint32_t ref = 0;
    strom_err err = root_ref(s, &ref);
    if (err == STROM_OK && ref == 0) {
        err = node_alloc(s, 0, 0, &s->trie.root_ref);
        ref = s->trie.root_ref;
    }
    uint64_t *link = NULL; /* the parent's entry pointing at ref, NULL at the root */
    for (unsigned depth = 0; err == STROM_OK; depth++) {
        struct trie_node *n = node_at(s, ref);
        n->disk_pos = 0;
        unsigned d = digit_of(key, depth);
        if (!(n->bitmap & (1u << d))) {
            err = node_insert(s, &ref, d, &leaf);
            if (err == STROM_OK && link != NULL) {
                *link = ((uint64_t)ref << 2) | PTR_MEM;
            } else if (err == STROM_OK) {
                s->trie.root_ref = ref;
            }
            break;
        }
        struct store_trie_entry *e = &node_entries(n)[slot_index(n->bitmap, d)];
        if ((e->ptr & PTR_LEAF) && e->aux == stream_id) {
            e->ptr = leaf.ptr;
            break;
        }
        if (e->ptr & PTR_LEAF) {
            uint32_t sub = 0;
            struct store_trie_entry other = *e;
            err = split_leaves(s, depth + 1, store_trie_key(other.aux), &other, key, &leaf, &sub);
            if (err == STROM_OK) {
                e->ptr = ((uint64_t)sub << 2) | PTR_MEM;
            }
            break;
        }
        err = child_ref(s, e, (uint8_t)depth, &ref);
        link = &e->ptr;
    }
    return err;
}

/* Writes node ref, whose dirty children are written already. */
static strom_err node_write(struct store *s, uint32_t ref) {
    struct trie_node *n = node_at(s, ref);
    uint8_t body[STORE_TRIE_HEAD_BYTES + STORE_TRIE_FANOUT * STORE_TRIE_ENTRY_BYTES];
    struct store_trie_head th = {.bitmap = n->bitmap, .depth = n->depth};
    store_trie_head_encode(body, &th);
    uint64_t min_pos = UINT64_MAX;
    for (unsigned i = 0; i < n->count; i++) {
        struct store_trie_entry e = node_entries(n)[i];
        if (e.ptr & PTR_MEM) {
            struct trie_node *c = node_at(s, (uint32_t)(e.ptr >> 2));
            strom_assert(c->disk_pos != 0);
            e = (struct store_trie_entry){c->disk_pos, c->min_pos};
        }
        uint64_t m = (e.ptr & PTR_LEAF) ? e.ptr - 1 : e.aux;
        min_pos = m < min_pos ? m : min_pos;
        store_put_u64(body + STORE_TRIE_HEAD_BYTES + i * 16, e.ptr);
        store_put_u64(body + STORE_TRIE_HEAD_BYTES + i * 16 + 8, e.aux);
    }
    uint64_t pos = 0;
    strom_err err =
        log_append(&s->log, STORE_REC_TRIE, 0, body,
                   STORE_TRIE_HEAD_BYTES + n->count * STORE_TRIE_ENTRY_BYTES, NULL, 0, &pos, NULL);
    if (err == STROM_OK) {
        n->disk_pos = pos;
        n->min_pos = min_pos < pos ? min_pos : pos;
    }
    return err;
}

/* The first dirty child in memory of node ref at entry index >= *from, or 0; *from moves past. */
static uint32_t next_dirty_child(struct store *s, uint32_t ref, unsigned *from) {
    struct trie_node *n = node_at(s, ref);
    while (*from < n->count) {
        uint64_t ptr = node_entries(n)[(*from)++].ptr;
        if ((ptr & PTR_MEM) && node_at(s, (uint32_t)(ptr >> 2))->disk_pos == 0) {
            return (uint32_t)(ptr >> 2);
        }
    }
    return 0;
}

strom_err trie_write(struct store *s, uint64_t *root_pos_out) {
    if (s->trie.root_ref == 0) {
        *root_pos_out = s->trie.root_pos;
        return STROM_OK;
    }
    uint32_t stack_ref[STORE_TRIE_DEPTH_MAX + 1];
    unsigned stack_from[STORE_TRIE_DEPTH_MAX + 1];
    unsigned top = 0;
    strom_err err = STROM_OK;
    if (node_at(s, s->trie.root_ref)->disk_pos == 0) {
        stack_ref[0] = s->trie.root_ref;
        stack_from[0] = 0;
        top = 1;
    }
    while (top > 0 && err == STROM_OK) {
        uint32_t child = next_dirty_child(s, stack_ref[top - 1], &stack_from[top - 1]);
        if (child != 0) {
            strom_assert(top <= STORE_TRIE_DEPTH_MAX);
            stack_ref[top] = child;
            stack_from[top] = 0;
            top++;
        } else {
            err = node_write(s, stack_ref[top - 1]);
            top -= err == STROM_OK;
        }
    }
    if (err == STROM_OK) {
        s->trie.root_pos = node_at(s, s->trie.root_ref)->disk_pos;
        *root_pos_out = s->trie.root_pos;
    }
    return err;
}

/* One step of a depth-first walk: the node, the next entry to visit, and whether anything below
 * was marked dirty. */
struct walk_frame {
    uint32_t ref;
    unsigned next;
    bool dirtied;
};

strom_err trie_mark_before(struct store *s, uint64_t pos,
                           strom_err (*fn)(struct store *s, uint64_t stream_id,
                                           uint64_t leaf_pos)) {
    struct walk_frame stack[STORE_TRIE_DEPTH_MAX + 1];
    unsigned top = 0;
    uint32_t ref = 0;
    strom_err err = root_ref(s, &ref);
    if (err == STROM_OK && ref != 0) {
        stack[top++] = (struct walk_frame){ref, 0, false};
    }
    while (top > 0 && err == STROM_OK) {
        struct walk_frame *f = &stack[top - 1];
        struct trie_node *n = node_at(s, f->ref);
        if (f->next == n->count) {
            bool dirty = f->dirtied || n->disk_pos < pos; /* disk_pos 0: dirty already */
            n->disk_pos = dirty ? 0 : n->disk_pos;
            top--;
            if (top > 0) {
                stack[top - 1].dirtied |= dirty;
            }
            continue;
        }
        struct store_trie_entry *e = &node_entries(n)[f->next++];
        if (e->ptr & PTR_LEAF) {
            err = e->ptr - 1 < pos ? fn(s, e->aux, e->ptr - 1) : STROM_OK;
            continue;
        }
        bool old = (e->ptr & PTR_MEM) ? true : e->aux < pos;
        if (old) {
            uint32_t child = 0;
            err = child_ref(s, e, n->depth, &child);
            if (err == STROM_OK && node_at(s, child)->disk_pos != 0 &&
                node_at(s, child)->min_pos >= pos) {
                continue; /* loaded earlier, nothing old below */
            }
            if (err == STROM_OK) {
                strom_assert(top <= STORE_TRIE_DEPTH_MAX);
                stack[top++] = (struct walk_frame){child, 0, false};
            }
        }
    }
    return err;
}

strom_err trie_walk(struct store *s,
                    strom_err (*fn)(struct store *s, void *arg, uint64_t stream_id, uint64_t pos),
                    void *arg) {
    struct walk_frame stack[STORE_TRIE_DEPTH_MAX + 1];
    unsigned top = 0;
    uint32_t ref = 0;
    strom_err err = root_ref(s, &ref);
    if (err == STROM_OK && ref != 0) {
        stack[top++] = (struct walk_frame){ref, 0, false};
    }
    while (top > 0 && err == STROM_OK) {
        struct walk_frame *f = &stack[top - 1];
        struct trie_node *n = node_at(s, f->ref);
        if (f->next == n->count) {
            top--;
            continue;
        }
        struct store_trie_entry *e = &node_entries(n)[f->next++];
        if (e->ptr & PTR_LEAF) {
            err = fn(s, arg, e->aux, e->ptr - 1);
            continue;
        }
        uint32_t child = 0;
        err = child_ref(s, e, n->depth, &child);
        if (err == STROM_OK) {
            strom_assert(top <= STORE_TRIE_DEPTH_MAX);
            stack[top++] = (struct walk_frame){child, 0, false};
        }
    }
    return err;
}

void trie_reset(struct store *s, uint64_t root_pos) {
    struct walk_frame stack[STORE_TRIE_DEPTH_MAX + 1];
    unsigned top = 0;
    if (s->trie.root_ref != 0) {
        stack[top++] = (struct walk_frame){s->trie.root_ref, 0, false};
    }
    while (top > 0) {
        struct walk_frame *f = &stack[top - 1];
        struct trie_node *n = node_at(s, f->ref);
        if (f->next == n->count) {
            slab_free(&s->slab, f->ref, n->cls);
            s->trie.nodes--;
            top--;
            continue;
        }
        uint64_t ptr = node_entries(n)[f->next++].ptr;
        if (ptr & PTR_MEM) {
            strom_assert(top <= STORE_TRIE_DEPTH_MAX);
            stack[top++] = (struct walk_frame){(uint32_t)(ptr >> 2), 0, false};
        }
    }
    s->trie.root_ref = 0;
    s->trie.root_pos = root_pos;
}
