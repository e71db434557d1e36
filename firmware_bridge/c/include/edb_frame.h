/* edb_frame: the serial framing of edge_dan (COBS over payload + CRC32, 0x00 delimited).
 *
 * The normative description is the docstring of edge_dan/wire/framing/serial.py; this is a
 * byte-at-a-time implementation for microcontrollers: no heap, the caller owns every buffer, and
 * the receive buffer only ever holds payload + CRC (the CRC is checked as bytes arrive). */
#ifndef EDB_FRAME_H
#define EDB_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define EDB_MAX_PAYLOAD 240u /* bytes of one message on the bridge (PROTOCOL.md section 1) */
#define EDB_CRC_LEN 4u
/* Longest COBS encoding of n payload bytes plus CRC, delimiter excluded (serial.py max_encoded_len). */
#define EDB_MAX_ENCODED(n) ((n) + EDB_CRC_LEN + 1u + ((n) + EDB_CRC_LEN) / 254u)
#define EDB_RX_BUFFER_SIZE (EDB_MAX_PAYLOAD + EDB_CRC_LEN)        /* 244 */
#define EDB_TX_BUFFER_SIZE (EDB_MAX_ENCODED(EDB_MAX_PAYLOAD) + 1u) /* 246, delimiter included */

/* What edb_deframer_push made of one byte. */
enum {
    EDB_FRAME_NONE = 0,           /* nothing yet */
    EDB_FRAME_READY = 1,          /* a valid payload is in the buffer */
    EDB_FRAME_ERR_COBS = -1,      /* malformed COBS: a block runs past the end */
    EDB_FRAME_ERR_SHORT = -2,     /* 4 bytes or fewer: no payload before the CRC */
    EDB_FRAME_ERR_CRC = -3,       /* CRC mismatch */
    EDB_FRAME_ERR_OVERSIZE = -4   /* longer than the largest valid frame; skipped to the next 0x00 */
};

/* CRC32 as zlib computes it: edb_crc32(0, "123456789", 9) == 0xCBF43926; chain by passing the
 * previous result as crc. */
uint32_t edb_crc32(uint32_t crc, const uint8_t *data, size_t len);

/* Writes the frame of payload (delimiter included) to out and returns its length, or 0 if len is 0
 * or above 65535, or cap is below EDB_MAX_ENCODED(len) + 1. */
size_t edb_frame_encode(const uint8_t *payload, size_t len, uint8_t *out, size_t cap);

typedef struct {
    uint8_t *buf;       /* caller's buffer: payload then CRC */
    size_t cap;         /* its size; the largest payload accepted is cap - 4 */
    size_t len;         /* decoded bytes so far (may pass cap: the frame is then oversize) */
    size_t encoded;     /* encoded bytes so far in this frame */
    uint32_t crc;       /* running CRC register over the decoded bytes */
    uint8_t remaining;  /* data bytes left in the current COBS block; 0: next byte is a code */
    uint8_t code;       /* code of the current block */
    uint8_t zero_due;   /* the previous block ended with an implied 0x00, written if a block follows */
    uint8_t discarding; /* oversize: skip to the next delimiter */
} edb_deframer;

/* cap must be at least 5; EDB_RX_BUFFER_SIZE matches the bridge's limit. */
void edb_deframer_init(edb_deframer *d, uint8_t *buf, size_t cap);

/* Feeds one received byte. On EDB_FRAME_READY the payload is d->buf[0 .. *payload_len - 1], valid
 * until the next push. Errors are reported once per dropped frame; reception always continues. */
int edb_deframer_push(edb_deframer *d, uint8_t byte, size_t *payload_len);

#endif
