/* nodelog.c: writing request entries (see nodelog.h). */
#include "node/nodelog.h"

#include <string.h>

#include "base/assert.h"
#include "ring/ring.h"

strom_err nodelog_request_claim(struct ring_writer *w, const struct node_request *req,
                                const char *path, uint8_t **msgs_out) {
    uint32_t path_bytes = node_request_path_bytes(req->path_len);
    uint64_t body = (uint64_t)sizeof *req + path_bytes + req->messages_bytes;
    if (body > ring_body_bytes_max(&w->ring)) {
        return STROM_ERR_TOO_LARGE;
    }
    uint8_t *dst = NULL;
    strom_err err = ring_claim(w, (uint32_t)body, (void **)&dst);
    if (err == STROM_OK) {
        memcpy(dst, req, sizeof *req);
        if (req->path_len > 0) {
            memcpy(dst + sizeof *req, path, req->path_len);
        }
        memset(dst + sizeof *req + req->path_len, 0, path_bytes - req->path_len);
        *msgs_out = dst + sizeof *req + path_bytes;
    }
    return err;
}

strom_err nodelog_request_write(struct ring_writer *w, uint16_t type,
                                const struct node_request *req, const char *path, const void *msgs,
                                uint64_t *request_id) {
    strom_assert(type == NODE_ENTRY_APPEND || type == NODE_ENTRY_CREATE);
    uint8_t *dst = NULL;
    strom_err err = nodelog_request_claim(w, req, path, &dst);
    if (err == STROM_OK) {
        if (req->messages_bytes > 0) {
            memcpy(dst, msgs, req->messages_bytes);
        }
        ring_publish(w, type, request_id);
    }
    return err;
}
