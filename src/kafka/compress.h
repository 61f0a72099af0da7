/*
 * compress.h: the compression codecs of Kafka record batches, over the Debian libraries (zlib,
 * libsnappy's C API, liblz4's frame API, libzstd).
 *
 * Formats (Kafka's KIP-110 and the Java client's record classes): gzip is a gzip stream (RFC
 * 1952; concatenated members are read too); snappy is either a raw snappy block or the xerial
 * framing the Java client writes (8-byte magic 82 'SNAPPY' 00, int32 version, int32 minimum
 * compatible version, then blocks of int32 big-endian length + raw snappy); lz4 is the LZ4 frame
 * format (one or more frames); zstd is one or more zstd frames.
 *
 * Decompression writes into a caller's buffer and never beyond it: output that would exceed cap
 * is TOO_LARGE, which is the decompression-bomb limit. The libraries allocate their own working
 * state per call: decompression serves native readers of streams Kafka clients wrote, not the
 * produce path, which stores batches without decompressing them.
 */
#ifndef STROM_KAFKA_COMPRESS_H
#define STROM_KAFKA_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

/* Compression codecs: the low 3 bits of a RecordBatch's attributes. */
enum kafka_compression {
    KAFKA_COMPRESSION_NONE = 0,
    KAFKA_COMPRESSION_GZIP = 1,
    KAFKA_COMPRESSION_SNAPPY = 2,
    KAFKA_COMPRESSION_LZ4 = 3,
    KAFKA_COMPRESSION_ZSTD = 4,
};
#define KAFKA_COMPRESSION_COUNT 5

/* The codec's name as Kafka spells it ("none", "gzip", "snappy", "lz4", "zstd"); "?" otherwise. */
const char *kafka_compression_name(int codec);

/*
 * Decompresses src (src_bytes) of codec into dst (at most cap bytes); *out_bytes is the size.
 * Errors: TOO_LARGE (the output would exceed cap), CORRUPT (malformed or truncated input),
 * UNSUPPORTED (codec none or unknown), NO_MEMORY (a library could not allocate its state).
 */
strom_err kafka_decompress(int codec, const uint8_t *src, size_t src_bytes, uint8_t *dst,
                           size_t cap, size_t *out_bytes);

/* The most bytes kafka_compress can write for src_bytes of input (0 for an unknown codec). */
size_t kafka_compress_bound(int codec, size_t src_bytes);

/*
 * Compresses src into dst (cap bytes). snappy is written in the xerial framing (32 KiB blocks),
 * which both the Java client and librdkafka read; lz4 as one frame of independent blocks.
 * Errors: OVERFLOW (cap too small), UNSUPPORTED (none or unknown codec), NO_MEMORY, IO (a library
 * failed).
 */
strom_err kafka_compress(int codec, const uint8_t *src, size_t src_bytes, uint8_t *dst, size_t cap,
                         size_t *out_bytes);

#endif
