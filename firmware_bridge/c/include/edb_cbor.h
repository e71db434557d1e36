/* edb_cbor: the CBOR subset the bridge messages use (unsigned and negative integers up to 32 bits,
 * byte and text strings, arrays, maps, false, true), canonical only.
 *
 * The writer never overruns its buffer: once full it records the overflow and ignores further
 * writes, so a caller checks once at the end. The reader stops at the first item that is not in
 * the subset or not in shortest form. */
#ifndef EDB_CBOR_H
#define EDB_CBOR_H

#include <stddef.h>
#include <stdint.h>

enum { EDB_CBOR_UINT = 0, EDB_CBOR_NINT = 1, EDB_CBOR_BYTES = 2, EDB_CBOR_TEXT = 3,
       EDB_CBOR_ARRAY = 4, EDB_CBOR_MAP = 5, EDB_CBOR_SIMPLE = 7 };

/* Decoding errors (shared with edb_msg.h). */
enum {
    EDB_OK = 0,
    EDB_ERR_MALFORMED = -1,    /* truncated, trailing bytes, outside the subset, bad UTF-8 */
    EDB_ERR_NONCANONICAL = -2, /* not the shortest head, map keys not strictly ascending */
    EDB_ERR_VERSION = -3,      /* envelope format version is not 1 */
    EDB_ERR_UNKNOWN_TYPE = -4, /* type id not a bridge message */
    EDB_ERR_SCHEMA = -5,       /* wrong type, shape, key, length or range */
    EDB_ERR_NOSPACE = -6       /* encoding: the output buffer is too small */
};

typedef struct {
    uint8_t *buf;
    size_t cap;
    size_t len;
    int overflow;
} edb_writer;

void edb_cbor_put_head(edb_writer *w, uint8_t major, uint32_t arg);
void edb_cbor_put_int(edb_writer *w, int32_t value);
/* A byte or text string (major EDB_CBOR_BYTES or EDB_CBOR_TEXT); text must be valid UTF-8. */
void edb_cbor_put_string(edb_writer *w, uint8_t major, const uint8_t *data, size_t len);

typedef struct {
    const uint8_t *data;
    size_t len;
    size_t pos;
} edb_reader;

/* Reads the head of the next item. Booleans come back as major EDB_CBOR_SIMPLE with arg 0 (false)
 * or 1 (true). An 8-byte argument of 2^32 or more saturates to 0xFFFFFFFF: no field accepts it. */
int edb_cbor_get_head(edb_reader *r, uint8_t *major, uint32_t *arg);

/* 1 if data[0..len) is valid UTF-8 (shortest forms, no surrogates, at most U+10FFFF). */
int edb_utf8_valid(const uint8_t *data, size_t len);

#endif
