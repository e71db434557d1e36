/* edb_msg: the firmware bridge messages (firmware_bridge/PROTOCOL.md section 2), encode and decode.
 *
 * One flat struct holds any message; a message uses the fields its type lists, the rest stay 0.
 * Strings and byte strings are spans: decoding points them into the input buffer (no copy, so the
 * buffer must outlive the message), encoding reads them from wherever the caller keeps them.
 * Decoding is strict and classifies failures exactly as the Python reference codec does. */
#ifndef EDB_MSG_H
#define EDB_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "edb_cbor.h"

#define EDB_FORMAT_VERSION 1u
#define EDB_PROTOCOL_VERSION 1u
#define EDB_MAX_POINTS 6u
#define EDB_ACCORD_ID_LEN 32u
#define EDB_DEVICE_ID_LEN 8u

enum {
    EDB_MSG_HELLO = 1280,
    EDB_MSG_CAPABILITIES = 1281,
    EDB_MSG_GET_STATE = 1282,
    EDB_MSG_STATE = 1283,
    EDB_MSG_SET = 1284,
    EDB_MSG_APPLY_ACCORD = 1285,
    EDB_MSG_ACK = 1286,
    EDB_MSG_ERROR = 1287
};

/* ERROR codes (PROTOCOL.md section 4) */
enum {
    EDB_CODE_BAD_MESSAGE = 1,
    EDB_CODE_UNKNOWN_TYPE = 2,
    EDB_CODE_UNEXPECTED = 3,
    EDB_CODE_UNSUPPORTED_VERSION = 4,
    EDB_CODE_UNKNOWN_POINT = 5,
    EDB_CODE_OUT_OF_RANGE = 6,
    EDB_CODE_READ_ONLY = 7,
    EDB_CODE_BUSY = 8,
    EDB_CODE_INTERNAL = 9
};

typedef struct {
    const uint8_t *ptr;
    uint8_t len;
} edb_span;

typedef struct {
    uint8_t id;
    int32_t value;
} edb_value;

typedef struct {
    uint8_t id;
    uint8_t writable; /* 0 or 1 */
    edb_span name;
    int32_t min;
    int32_t max;
} edb_point;

typedef struct {
    uint16_t type;
    uint16_t seq;
    uint16_t version;     /* HELLO, CAPABILITIES */
    uint16_t max_payload; /* CAPABILITIES */
    uint8_t point;        /* SET */
    uint8_t code;         /* ERROR */
    int32_t value;        /* SET */
    edb_span kind;        /* CAPABILITIES: 1..16 bytes of UTF-8 */
    edb_span device_id;   /* CAPABILITIES: 8 bytes */
    edb_span accord_id;   /* APPLY_ACCORD: 32 bytes; STATE: 32 or 0 */
    edb_span detail;      /* ERROR: 0..32 bytes of UTF-8 */
    uint8_t n_values;     /* STATE, APPLY_ACCORD: ids strictly ascending */
    edb_value values[EDB_MAX_POINTS];
    uint8_t n_points; /* CAPABILITIES */
    edb_point points[EDB_MAX_POINTS];
} edb_msg;

/* Decodes data[0..len) into *msg. Returns EDB_OK or an EDB_ERR_* class (then *msg is partial). */
int edb_msg_decode(const uint8_t *data, size_t len, edb_msg *msg);

/* Encodes *msg into out (at most min(cap, EDB_MAX_PAYLOAD) bytes) and sets *out_len. Returns
 * EDB_OK, EDB_ERR_UNKNOWN_TYPE, EDB_ERR_SCHEMA (a field out of range, values not ascending,
 * invalid UTF-8) or EDB_ERR_NOSPACE. */
int edb_msg_encode(const edb_msg *msg, uint8_t *out, size_t cap, size_t *out_len);

#endif
