/* libFuzzer target: the streaming deframer on arbitrary byte streams.
 *
 * Besides "no crash, no sanitizer report" it checks the invariants a receiver relies on: a
 * delivered payload fits the buffer, is not empty, and framing it again and feeding that back
 * yields exactly the same payload. The first input byte picks the buffer size, so small limits
 * (where oversize and COBS edge cases are dense) get fuzzed too. */
#include <stdlib.h>
#include <string.h>

#include "edb_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_roundtrip(const uint8_t *payload, size_t len, size_t cap)
{
    static uint8_t frame[EDB_MAX_ENCODED(EDB_MAX_PAYLOAD) + 1u];
    static uint8_t again_buf[EDB_RX_BUFFER_SIZE];
    edb_deframer again;
    size_t frame_len = edb_frame_encode(payload, len, frame, sizeof frame);
    size_t out_len = 0;
    size_t i;
    int delivered = 0;
    if (frame_len == 0u) {
        abort();
    }
    edb_deframer_init(&again, again_buf, cap);
    for (i = 0; i < frame_len; i++) {
        int rc = edb_deframer_push(&again, frame[i], &out_len);
        if (rc == EDB_FRAME_READY) {
            delivered++;
        } else if (rc != EDB_FRAME_NONE) {
            abort();
        }
    }
    if (delivered != 1 || out_len != len || memcmp(again_buf, payload, len) != 0) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t buf[EDB_RX_BUFFER_SIZE];
    edb_deframer d;
    size_t cap;
    size_t i;
    if (size == 0u) {
        return 0;
    }
    cap = 5u + data[0] % (sizeof buf - 4u); /* 5 .. 244 */
    edb_deframer_init(&d, buf, cap);
    for (i = 1; i < size; i++) {
        size_t len = 0;
        int rc = edb_deframer_push(&d, data[i], &len);
        if (rc == EDB_FRAME_READY) {
            if (len == 0u || len > cap - EDB_CRC_LEN) {
                abort();
            }
            check_roundtrip(buf, len, cap);
        }
    }
    return 0;
}
