/* Entry points for the differential fuzz (Python loads this as a shared library with ctypes and
 * compares every answer with the Python reference codec and edge_dan's deframer). */
#include <string.h>

#include "edb_frame.h"
#include "edb_msg.h"

int diff_decode(const uint8_t *data, size_t size, uint8_t *out, size_t cap, size_t *out_len);
size_t diff_deframe(const uint8_t *stream, size_t size, size_t cap, int *events, size_t max_events,
                    uint8_t *payloads, size_t payloads_cap);

/* The decoder's class; on EDB_OK, out holds the decoded message encoded again. */
int diff_decode(const uint8_t *data, size_t size, uint8_t *out, size_t cap, size_t *out_len)
{
    static edb_msg msg;
    int rc = edb_msg_decode(data, size, &msg);
    *out_len = 0;
    if (rc == EDB_OK && edb_msg_encode(&msg, out, cap, out_len) != EDB_OK) {
        return 100; /* decoded but cannot be encoded: Python flags it as a mismatch */
    }
    return rc;
}

/* Feeds stream to a deframer with a buffer of cap bytes; records each event and appends each
 * payload to payloads. Returns the number of events. */
size_t diff_deframe(const uint8_t *stream, size_t size, size_t cap, int *events, size_t max_events,
                    uint8_t *payloads, size_t payloads_cap)
{
    static uint8_t buf[65535u + EDB_CRC_LEN];
    edb_deframer d;
    size_t n = 0;
    size_t used = 0;
    size_t i;
    edb_deframer_init(&d, buf, cap);
    for (i = 0; i < size && n < max_events; i++) {
        size_t len = 0;
        int rc = edb_deframer_push(&d, stream[i], &len);
        if (rc == EDB_FRAME_NONE) {
            continue;
        }
        events[n++] = rc;
        if (rc == EDB_FRAME_READY && used + len <= payloads_cap) {
            memcpy(payloads + used, buf, len);
            used += len;
        }
    }
    return n;
}
