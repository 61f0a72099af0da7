/*
 * streams.c: the streams a client appends to, each with its producer id and next sequence
 * (bounded idempotence, docs/protocol.md).
 *
 * An open-addressing table (linear probing) of pointers to entries keyed by path; it doubles when
 * half full and holds at most streams_max entries. Entries never move, so requests in flight keep
 * pointers to them. The hash is FNV-1a, 64 bits (Fowler, Noll, Vo).
 */
#include "client/client.h"

#include <stdlib.h>
#include <string.h>

#include "base/assert.h"

enum { STREAMS_SLOTS_MIN = 64 };

static uint64_t streams_hash(const char *path, size_t len) {
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (size_t i = 0; i < len; i++) {
        h ^= (uint8_t)path[i];
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

uint64_t streams_new_producer_id(strom_client *c) {
    uint64_t id = 0;
    while (id == 0) {
        if (io_entropy(c->io, &id, sizeof id) != STROM_OK) {
            /* No entropy: the clock still makes clashes between clients unlikely. */
            id = io_clock_realtime_ns(c->io) ^ (io_clock_monotonic_ns(c->io) << 21);
        }
    }
    return id;
}

strom_err streams_init(strom_client *c) {
    c->streams = calloc(STREAMS_SLOTS_MIN, sizeof c->streams[0]);
    if (c->streams == NULL) {
        return STROM_ERR_NO_MEMORY;
    }
    c->streams_mask = STREAMS_SLOTS_MIN - 1;
    c->producer_id = c->opt.no_idempotence     ? 0
                     : c->opt.producer_id != 0 ? c->opt.producer_id
                                               : streams_new_producer_id(c);
    return STROM_OK;
}

void streams_free(strom_client *c) {
    if (c->streams == NULL) {
        return;
    }
    for (uint32_t i = 0; i <= c->streams_mask; i++) {
        free(c->streams[i]);
    }
    free(c->streams);
    c->streams = NULL;
}

/* Doubles the table. */
static strom_err streams_grow(strom_client *c) {
    uint32_t slots = (c->streams_mask + 1) * 2;
    struct client_stream **t = calloc(slots, sizeof t[0]);
    if (t == NULL) {
        return STROM_ERR_NO_MEMORY;
    }
    for (uint32_t i = 0; i <= c->streams_mask; i++) {
        struct client_stream *s = c->streams[i];
        if (s != NULL) {
            uint32_t j = (uint32_t)s->hash & (slots - 1);
            while (t[j] != NULL) {
                j = (j + 1) & (slots - 1);
            }
            t[j] = s;
        }
    }
    free(c->streams);
    c->streams = t;
    c->streams_mask = slots - 1;
    return STROM_OK;
}

strom_err streams_get(strom_client *c, const char *path, size_t len, struct client_stream **out) {
    strom_assert(len <= STROM_PATH_BYTES_MAX);
    uint64_t h = streams_hash(path, len);
    uint32_t i = (uint32_t)h & c->streams_mask;
    for (struct client_stream *s; (s = c->streams[i]) != NULL; i = (i + 1) & c->streams_mask) {
        if (s->hash == h && s->path_len == len && memcmp(s->path, path, len) == 0) {
            *out = s;
            return STROM_OK;
        }
    }
    if (c->streams_used >= c->opt.streams_max) {
        return STROM_ERR_LIMIT;
    }
    if ((c->streams_used + 1) * 2 > c->streams_mask + 1) {
        strom_err err = streams_grow(c);
        if (err) {
            return err;
        }
        return streams_get(c, path, len, out); /* one level: the table now has room */
    }
    struct client_stream *s = malloc(sizeof *s + len + 1);
    if (s == NULL) {
        return STROM_ERR_NO_MEMORY;
    }
    *s =
        (struct client_stream){.hash = h, .producer_id = c->producer_id, .path_len = (uint16_t)len};
    memcpy(s->path, path, len);
    s->path[len] = '\0';
    c->streams[i] = s;
    c->streams_used++;
    *out = s;
    return STROM_OK;
}
