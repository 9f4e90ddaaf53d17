#include "request_id.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

static void fallback_bytes(uint64_t *sequence, unsigned char bytes[16])
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    uint64_t a = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
    uint64_t b = ++*sequence ^ ((uint64_t)(uintptr_t)sequence << 17);
    memcpy(bytes, &a, 8);
    memcpy(bytes + 8, &b, 8);
}

void request_id_new(uint64_t *sequence, char out[REQUEST_ID_SIZE])
{
    unsigned char b[16];
    if (getrandom(b, sizeof(b), GRND_NONBLOCK) != (ssize_t)sizeof(b))
        fallback_bytes(sequence, b);
    b[6] = (unsigned char)((b[6] & 0x0F) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3F) | 0x80); /* RFC 4122 variant */
    snprintf(out, REQUEST_ID_SIZE,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
}
