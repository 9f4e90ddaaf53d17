/*
 * CRC32C (Castagnoli, reflected polynomial 0x82F63B78): the checksum on every
 * journal and snapshot frame. Software slicing-by-8; the tables are computed
 * once per process and never change afterwards, so any thread may call it.
 */
#ifndef STORE_FILE_CRC32C_H
#define STORE_FILE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Extends `crc` (0 for a fresh checksum) over `len` bytes. crc32c("123456789")
 * is 0xE3069283. */
uint32_t crc32c_extend(uint32_t crc, const void *data, size_t len);

static inline uint32_t crc32c(const void *data, size_t len)
{
    return crc32c_extend(0, data, len);
}

#endif
