/*
 * fuzz_kgroup.c: folds arbitrary records into a Kafka group (src/node/kgroup.h), as a gateway
 * folds a /sys/groups/<group> stream read from disk. The input is split at '\n' into batches at
 * blank lines: each line is one message (an ssim record, or anything), each batch is folded with
 * a timestamp that grows by the batch's first byte in seconds.
 *
 * Properties beyond "no crash, no out-of-bounds access": the group's counts stay within their
 * bounds; a leader, when named, is a member or the group awaits a new generation; every outcome
 * names a ref and a member id within its bound.
 */
#include <stdint.h>
#include <string.h>

#include "base/assert.h"
#include "node/kgroup.h"
#include "node/msgset.h"

#define INPUT_BYTES_MAX (64 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct kgroup group;
static char scratch[KGROUP_SCRATCH_BYTES];
static uint8_t set[INPUT_BYTES_MAX + 64 * 1024];

static void on_outcome(void *arg, const struct kgroup_outcome *o) {
    (void)arg;
    strom_assert(o->ref != 0 && o->member_id_len < KGROUP_MEMBER_ID_BYTES_MAX);
}

static bool resolve(void *arg, const char *topic, size_t len, int32_t partition, uint64_t *id) {
    (void)arg;
    *id = (uint64_t)partition * 31 + len + (len > 0 ? (uint8_t)topic[0] : 0);
    return partition % 7 != 3;
}

/* Appends one message holding line[0, len) to the set; returns the new size. */
static size_t put(size_t used, const uint8_t *line, size_t len) {
    uint32_t n = (uint32_t)len;
    memset(set + used, 0, 16);
    memcpy(set + used + 16, &n, 4);
    memcpy(set + used + 20, line, len);
    return used + MSGSET_ONE_OVERHEAD + len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > INPUT_BYTES_MAX) {
        return 0;
    }
    kgroup_init(&group);
    struct kgroup_env env = {.outcome = on_outcome, .resolve = resolve, .scratch = scratch};
    uint64_t ts = 1000000000000000000u, offset = 0;
    size_t pos = 0, used = 0;
    uint32_t count = 0;
    while (pos <= size) {
        const uint8_t *nl = pos < size ? memchr(data + pos, '\n', size - pos) : NULL;
        size_t end = nl != NULL ? (size_t)(nl - data) : size;
        if (end > pos) {
            used = put(used, data + pos, end - pos);
            count++;
        }
        if ((end == pos || nl == NULL) && count > 0) {
            ts += (uint64_t)set[20] * 1000000000u;
            (void)kgroup_fold(&group, &env, ts, offset, set, (uint32_t)used, count);
            offset += count;
            used = 0;
            count = 0;
        }
        pos = end + 1;
    }
    strom_assert(group.member_count <= KGROUP_MEMBERS_MAX);
    strom_assert(group.offset_count <= KGROUP_OFFSETS_MAX);
    strom_assert(group.leader_len < KGROUP_MEMBER_ID_BYTES_MAX);
    return 0;
}
