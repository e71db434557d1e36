/* edb_frame: COBS + CRC32 framing, streaming; see edb_frame.h. */
#include "edb_frame.h"

#define CRC_POLY 0xEDB88320u
/* The register after running over P || CRC32(P) (little-endian), before the final inversion: a
 * frame is intact exactly when its decoded bytes end the register here, so no buffering is needed
 * to find where the CRC starts. */
#define CRC_RESIDUE 0xDEBB20E3u

static uint32_t crc_step(uint32_t reg, uint8_t byte)
{
    unsigned bit;
    reg ^= byte;
    for (bit = 0; bit < 8u; bit++) {
        /* Bitwise, not table-driven: 1 KB of table would be a third of the code budget. */
        reg = (reg >> 1) ^ (CRC_POLY & (0u - (reg & 1u)));
    }
    return reg;
}

/* EDB_MAX_ENCODED(payload_len) without a division: Cortex-M0 has no divide instruction and the
 * library call would cost more flash than this loop. */
static size_t max_encoded(size_t payload_len)
{
    size_t raw = payload_len + EDB_CRC_LEN;
    size_t total = raw + 1u;
    while (raw >= 254u) {
        raw -= 254u;
        total++;
    }
    return total;
}

uint32_t edb_crc32(uint32_t crc, const uint8_t *data, size_t len)
{
    uint32_t reg = ~crc;
    size_t i;
    for (i = 0; i < len; i++) {
        reg = crc_step(reg, data[i]);
    }
    return ~reg;
}

size_t edb_frame_encode(const uint8_t *payload, size_t len, uint8_t *out, size_t cap)
{
    uint8_t crc_bytes[EDB_CRC_LEN];
    uint32_t crc;
    size_t code_at = 0; /* where the current block's code goes once its length is known */
    size_t o = 1;
    size_t i;
    uint8_t code = 1;

    if (len == 0u || len > 65535u || cap < max_encoded(len) + 1u) {
        return 0;
    }
    crc = edb_crc32(0, payload, len);
    for (i = 0; i < EDB_CRC_LEN; i++) {
        crc_bytes[i] = (uint8_t)(crc >> (8u * i));
    }
    for (i = 0; i < len + EDB_CRC_LEN; i++) {
        uint8_t byte = i < len ? payload[i] : crc_bytes[i - len];
        if (byte != 0u) {
            out[o++] = byte;
            code++;
        }
        if (byte == 0u || code == 0xFFu) {
            out[code_at] = code;
            code_at = o++;
            code = 1;
        }
    }
    out[code_at] = code;
    out[o++] = 0;
    return o;
}

static void deframer_reset(edb_deframer *d)
{
    d->len = 0;
    d->encoded = 0;
    d->crc = 0xFFFFFFFFu;
    d->remaining = 0;
    d->code = 0;
    d->zero_due = 0;
    d->discarding = 0;
}

void edb_deframer_init(edb_deframer *d, uint8_t *buf, size_t cap)
{
    d->buf = buf;
    d->cap = cap;
    deframer_reset(d);
}

static void emit(edb_deframer *d, uint8_t byte)
{
    d->crc = crc_step(d->crc, byte);
    if (d->len < d->cap) {
        d->buf[d->len] = byte;
    }
    d->len++;
}

static int end_of_frame(edb_deframer *d, size_t *payload_len)
{
    if (d->discarding || d->encoded == 0u) {
        return EDB_FRAME_NONE; /* oversize was reported when it began; empty frames are skipped */
    }
    if (d->remaining != 0u) {
        return EDB_FRAME_ERR_COBS;
    }
    if (d->len <= EDB_CRC_LEN) {
        return EDB_FRAME_ERR_SHORT;
    }
    if (d->crc != CRC_RESIDUE) {
        return EDB_FRAME_ERR_CRC;
    }
    if (d->len > d->cap) {
        return EDB_FRAME_ERR_OVERSIZE;
    }
    *payload_len = d->len - EDB_CRC_LEN;
    return EDB_FRAME_READY;
}

int edb_deframer_push(edb_deframer *d, uint8_t byte, size_t *payload_len)
{
    if (byte == 0u) {
        int result = end_of_frame(d, payload_len);
        deframer_reset(d);
        return result;
    }
    if (d->discarding) {
        return EDB_FRAME_NONE;
    }
    if (++d->encoded > max_encoded(d->cap - EDB_CRC_LEN)) {
        d->discarding = 1;
        return EDB_FRAME_ERR_OVERSIZE;
    }
    if (d->remaining == 0u) {
        if (d->zero_due) {
            emit(d, 0);
        }
        d->code = byte;
        d->remaining = (uint8_t)(byte - 1u);
    } else {
        emit(d, byte);
        d->remaining--;
    }
    /* A block that ends here implies a 0x00, unless it is a full 0xFF block or the frame's last. */
    d->zero_due = (uint8_t)(d->remaining == 0u && d->code != 0xFFu);
    return EDB_FRAME_NONE;
}
