/* compress.c: gzip, snappy (raw and xerial), lz4 frame and zstd for record batches. */
#include "kafka/compress.h"

#include <lz4frame.h>
#include <snappy-c.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "base/assert.h"
#include "kafka/wire.h"

/* The xerial snappy framing (github.com/xerial/snappy-java, SnappyCodec and SnappyOutputStream). */
static const uint8_t xerial_magic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
#define XERIAL_HEADER_BYTES   16
#define XERIAL_VERSION        1
#define XERIAL_COMPAT_VERSION 1
#define XERIAL_BLOCK_BYTES    (32 * 1024)
/* zlib's gzip-or-zlib header detection (windowBits 15 + 32) and gzip writing (15 + 16). */
#define ZLIB_WINDOW_AUTO (15 + 32)
#define ZLIB_WINDOW_GZIP (15 + 16)
#define ZLIB_MEM_LEVEL   8
#define GZIP_LEVEL       6
#define ZSTD_LEVEL       3

const char *kafka_compression_name(int codec) {
    static const char *const names[KAFKA_COMPRESSION_COUNT] = {"none", "gzip", "snappy", "lz4",
                                                               "zstd"};
    return codec >= 0 && codec < KAFKA_COMPRESSION_COUNT ? names[codec] : "?";
}

/* --- decompression -----------------------------------------------------------------------------
 */

static strom_err gzip_decompress(const uint8_t *src, size_t n, uint8_t *dst, size_t cap,
                                 size_t *out) {
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, ZLIB_WINDOW_AUTO) != Z_OK) {
        return STROM_ERR_NO_MEMORY;
    }
    /* zlib counts in uInt: inputs and outputs here are below 4 GiB (batches are bounded). */
    zs.next_in = (Bytef *)(uintptr_t)src;
    zs.avail_in = (uInt)(n > UINT32_MAX ? UINT32_MAX : n);
    zs.next_out = dst;
    zs.avail_out = (uInt)(cap > UINT32_MAX ? UINT32_MAX : cap);
    strom_err err = STROM_OK;
    for (;;) {
        int ret = inflate(&zs, Z_FINISH);
        if (ret == Z_STREAM_END && zs.avail_in == 0) {
            break;
        }
        if (ret == Z_STREAM_END) { /* another gzip member follows (RFC 1952, 2.2) */
            if (inflateReset(&zs) != Z_OK) {
                err = STROM_ERR_CORRUPT;
                break;
            }
            continue;
        }
        err = (ret == Z_BUF_ERROR && zs.avail_out == 0) ? STROM_ERR_TOO_LARGE : STROM_ERR_CORRUPT;
        break;
    }
    *out = (size_t)(zs.next_out - dst); /* not total_out: inflateReset clears it per member */
    inflateEnd(&zs);
    return err;
}

/* One raw snappy block into dst; TOO_LARGE when its declared size exceeds cap. */
static strom_err snappy_raw_decompress(const uint8_t *src, size_t n, uint8_t *dst, size_t cap,
                                       size_t *out) {
    size_t need = 0;
    if (snappy_uncompressed_length((const char *)src, n, &need) != SNAPPY_OK) {
        return STROM_ERR_CORRUPT;
    }
    if (need > cap) {
        return STROM_ERR_TOO_LARGE;
    }
    size_t got = cap;
    if (snappy_uncompress((const char *)src, n, (char *)dst, &got) != SNAPPY_OK) {
        return STROM_ERR_CORRUPT;
    }
    *out = got;
    return STROM_OK;
}

static strom_err snappy_xerial_decompress(const uint8_t *src, size_t n, uint8_t *dst, size_t cap,
                                          size_t *out) {
    struct kafka_reader r;
    kafka_reader_init(&r, src, n);
    (void)kafka_read_raw(&r, XERIAL_HEADER_BYTES);
    size_t total = 0;
    strom_err err = STROM_OK;
    while (err == STROM_OK && r.err == STROM_OK && kafka_reader_left(&r) > 0) {
        uint32_t block_bytes = kafka_read_u32(&r);
        const uint8_t *block = kafka_read_raw(&r, block_bytes);
        if (block == NULL) {
            break;
        }
        size_t got = 0;
        err = snappy_raw_decompress(block, block_bytes, dst + total, cap - total, &got);
        total += got;
    }
    *out = total;
    return err != STROM_OK ? err : (r.err != STROM_OK ? STROM_ERR_CORRUPT : STROM_OK);
}

static strom_err snappy_decompress(const uint8_t *src, size_t n, uint8_t *dst, size_t cap,
                                   size_t *out) {
    if (n >= XERIAL_HEADER_BYTES && memcmp(src, xerial_magic, sizeof xerial_magic) == 0) {
        return snappy_xerial_decompress(src, n, dst, cap, out);
    }
    return snappy_raw_decompress(src, n, dst, cap, out);
}

static strom_err lz4_decompress(const uint8_t *src, size_t n, uint8_t *dst, size_t cap,
                                size_t *out) {
    LZ4F_dctx *dctx = NULL;
    if (LZ4F_isError(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION))) {
        return STROM_ERR_NO_MEMORY;
    }
    size_t in_pos = 0;
    size_t out_pos = 0;
    size_t hint = 1; /* LZ4F's "more input expected": 0 once a frame is complete */
    strom_err err = STROM_OK;
    /* Each turn consumes input or produces output, else it stops: at most n + cap + 1 turns. */
    for (;;) {
        size_t in_len = n - in_pos;
        size_t out_len = cap - out_pos;
        hint = LZ4F_decompress(dctx, dst + out_pos, &out_len, src + in_pos, &in_len, NULL);
        if (LZ4F_isError(hint)) {
            err = STROM_ERR_CORRUPT;
            break;
        }
        in_pos += in_len;
        out_pos += out_len;
        if (hint == 0 && in_pos == n) {
            break;
        }
        if (in_len == 0 && out_len == 0) {
            err = out_pos == cap ? STROM_ERR_TOO_LARGE : STROM_ERR_CORRUPT;
            break;
        }
    }
    LZ4F_freeDecompressionContext(dctx);
    *out = out_pos;
    return err;
}

static strom_err zstd_decompress(const uint8_t *src, size_t n, uint8_t *dst, size_t cap,
                                 size_t *out) {
    /* One-shot decompression writes straight into dst: no window buffer is allocated. */
    size_t ret = ZSTD_decompress(dst, cap, src, n);
    if (ZSTD_isError(ret)) {
        *out = 0;
        return ZSTD_getErrorCode(ret) == ZSTD_error_dstSize_tooSmall ? STROM_ERR_TOO_LARGE
                                                                     : STROM_ERR_CORRUPT;
    }
    *out = ret;
    return STROM_OK;
}

strom_err kafka_decompress(int codec, const uint8_t *src, size_t src_bytes, uint8_t *dst,
                           size_t cap, size_t *out_bytes) {
    strom_assert(src != NULL || src_bytes == 0);
    strom_assert(dst != NULL || cap == 0);
    *out_bytes = 0;
    switch (codec) {
    case KAFKA_COMPRESSION_GZIP:
        return gzip_decompress(src, src_bytes, dst, cap, out_bytes);
    case KAFKA_COMPRESSION_SNAPPY:
        return snappy_decompress(src, src_bytes, dst, cap, out_bytes);
    case KAFKA_COMPRESSION_LZ4:
        return lz4_decompress(src, src_bytes, dst, cap, out_bytes);
    case KAFKA_COMPRESSION_ZSTD:
        return zstd_decompress(src, src_bytes, dst, cap, out_bytes);
    default:
        return STROM_ERR_UNSUPPORTED;
    }
}

/* --- compression -------------------------------------------------------------------------------
 */

static LZ4F_preferences_t lz4_preferences(void) {
    LZ4F_preferences_t prefs;
    memset(&prefs, 0, sizeof prefs);
    /* Kafka's Java reader (KafkaLZ4BlockInputStream) reads independent blocks only. */
    prefs.frameInfo.blockMode = LZ4F_blockIndependent;
    prefs.frameInfo.blockSizeID = LZ4F_max64KB;
    return prefs;
}

size_t kafka_compress_bound(int codec, size_t src_bytes) {
    switch (codec) {
    case KAFKA_COMPRESSION_GZIP:
        /* compressBound covers a zlib wrapper; gzip's header and trailer add 12 more bytes. */
        return compressBound((uLong)src_bytes) + 32;
    case KAFKA_COMPRESSION_SNAPPY: {
        size_t blocks = src_bytes / XERIAL_BLOCK_BYTES + 1;
        return XERIAL_HEADER_BYTES +
               blocks * (4 + snappy_max_compressed_length(XERIAL_BLOCK_BYTES));
    }
    case KAFKA_COMPRESSION_LZ4: {
        LZ4F_preferences_t prefs = lz4_preferences();
        return LZ4F_compressFrameBound(src_bytes, &prefs);
    }
    case KAFKA_COMPRESSION_ZSTD:
        return ZSTD_compressBound(src_bytes);
    default:
        return 0;
    }
}

static strom_err gzip_compress(const uint8_t *src, size_t n, uint8_t *dst, size_t cap,
                               size_t *out) {
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, GZIP_LEVEL, Z_DEFLATED, ZLIB_WINDOW_GZIP, ZLIB_MEM_LEVEL,
                     Z_DEFAULT_STRATEGY) != Z_OK) {
        return STROM_ERR_NO_MEMORY;
    }
    zs.next_in = (Bytef *)(uintptr_t)src;
    zs.avail_in = (uInt)n;
    zs.next_out = dst;
    zs.avail_out = (uInt)(cap > UINT32_MAX ? UINT32_MAX : cap);
    int ret = deflate(&zs, Z_FINISH);
    *out = zs.total_out;
    deflateEnd(&zs);
    if (ret == Z_STREAM_END) {
        return STROM_OK;
    }
    return ret == Z_OK || ret == Z_BUF_ERROR ? STROM_ERR_OVERFLOW : STROM_ERR_IO;
}

static strom_err snappy_xerial_compress(const uint8_t *src, size_t n, uint8_t *dst, size_t cap,
                                        size_t *out) {
    struct kafka_writer w;
    kafka_writer_init(&w, dst, cap);
    kafka_write_raw(&w, xerial_magic, sizeof xerial_magic);
    kafka_write_i32(&w, XERIAL_VERSION);
    kafka_write_i32(&w, XERIAL_COMPAT_VERSION);
    for (size_t at = 0; at < n && w.err == STROM_OK; at += XERIAL_BLOCK_BYTES) {
        size_t len = n - at < XERIAL_BLOCK_BYTES ? n - at : XERIAL_BLOCK_BYTES;
        size_t len_at = kafka_writer_reserve_i32(&w);
        if (w.err != STROM_OK) {
            break;
        }
        size_t room = w.cap - w.pos;
        if (room < snappy_max_compressed_length(len)) {
            kafka_writer_fail(&w, STROM_ERR_OVERFLOW);
            break;
        }
        if (snappy_compress((const char *)src + at, len, (char *)w.buf + w.pos, &room) !=
            SNAPPY_OK) {
            kafka_writer_fail(&w, STROM_ERR_IO);
            break;
        }
        w.pos += room;
        kafka_writer_patch_i32(&w, len_at, (int32_t)room);
    }
    *out = w.err == STROM_OK ? w.pos : 0;
    return w.err;
}

static strom_err lz4_compress(const uint8_t *src, size_t n, uint8_t *dst, size_t cap, size_t *out) {
    LZ4F_preferences_t prefs = lz4_preferences();
    if (cap < LZ4F_compressFrameBound(n, &prefs)) {
        return STROM_ERR_OVERFLOW;
    }
    size_t ret = LZ4F_compressFrame(dst, cap, src, n, &prefs);
    if (LZ4F_isError(ret)) {
        return STROM_ERR_IO;
    }
    *out = ret;
    return STROM_OK;
}

static strom_err zstd_compress(const uint8_t *src, size_t n, uint8_t *dst, size_t cap,
                               size_t *out) {
    size_t ret = ZSTD_compress(dst, cap, src, n, ZSTD_LEVEL);
    if (ZSTD_isError(ret)) {
        return ZSTD_getErrorCode(ret) == ZSTD_error_dstSize_tooSmall ? STROM_ERR_OVERFLOW
                                                                     : STROM_ERR_IO;
    }
    *out = ret;
    return STROM_OK;
}

strom_err kafka_compress(int codec, const uint8_t *src, size_t src_bytes, uint8_t *dst, size_t cap,
                         size_t *out_bytes) {
    strom_assert(src != NULL || src_bytes == 0);
    strom_assert(dst != NULL || cap == 0);
    *out_bytes = 0;
    switch (codec) {
    case KAFKA_COMPRESSION_GZIP:
        return gzip_compress(src, src_bytes, dst, cap, out_bytes);
    case KAFKA_COMPRESSION_SNAPPY:
        return snappy_xerial_compress(src, src_bytes, dst, cap, out_bytes);
    case KAFKA_COMPRESSION_LZ4:
        return lz4_compress(src, src_bytes, dst, cap, out_bytes);
    case KAFKA_COMPRESSION_ZSTD:
        return zstd_compress(src, src_bytes, dst, cap, out_bytes);
    default:
        return STROM_ERR_UNSUPPORTED;
    }
}
