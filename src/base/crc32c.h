/*
 * crc32c.h: CRC-32C (Castagnoli, polynomial 0x1EDC6F41, reflected 0x82F63B78), as used by
 * iSCSI (RFC 3720, appendix B.4), ext4, and Kafka's RecordBatch v2.
 *
 * crc32c(0, buf, len) is the CRC of buf; crc32c(crc32c(0, a, n), b, m) is the CRC of a then b.
 */
#ifndef STROM_BASE_CRC32C_H
#define STROM_BASE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Extends crc (the CRC of the bytes before buf, 0 for none) over len bytes of buf. */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

#endif
