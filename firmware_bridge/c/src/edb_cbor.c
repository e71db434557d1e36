/* edb_cbor: canonical CBOR subset writer and reader; see edb_cbor.h. */
#include "edb_cbor.h"

static void put(edb_writer *w, uint8_t byte)
{
    if (w->len < w->cap) {
        w->buf[w->len++] = byte;
    } else {
        w->overflow = 1;
    }
}

void edb_cbor_put_head(edb_writer *w, uint8_t major, uint32_t arg)
{
    unsigned size;
    uint8_t initial = (uint8_t)(major << 5);
    if (arg < 24u) {
        put(w, (uint8_t)(initial | arg));
        return;
    }
    if (arg <= 0xFFu) {
        size = 1;
        initial |= 24u;
    } else if (arg <= 0xFFFFu) {
        size = 2;
        initial |= 25u;
    } else {
        size = 4;
        initial |= 26u;
    }
    put(w, initial);
    while (size-- > 0u) {
        put(w, (uint8_t)(arg >> (8u * size)));
    }
}

void edb_cbor_put_int(edb_writer *w, int32_t value)
{
    if (value >= 0) {
        edb_cbor_put_head(w, EDB_CBOR_UINT, (uint32_t)value);
    } else {
        /* -1 - value without overflow, for INT32_MIN too */
        edb_cbor_put_head(w, EDB_CBOR_NINT, (uint32_t)(-(value + 1)));
    }
}

void edb_cbor_put_string(edb_writer *w, uint8_t major, const uint8_t *data, size_t len)
{
    size_t i;
    edb_cbor_put_head(w, major, (uint32_t)len);
    for (i = 0; i < len; i++) {
        put(w, data[i]);
    }
}

int edb_cbor_get_head(edb_reader *r, uint8_t *major, uint32_t *arg)
{
    uint8_t initial;
    uint8_t info;
    size_t size;
    size_t i;
    uint32_t value = 0;
    uint32_t high = 0; /* bytes above the low 32 bits of an 8-byte argument */

    if (r->pos >= r->len) {
        return EDB_ERR_MALFORMED;
    }
    initial = r->data[r->pos];
    *major = (uint8_t)(initial >> 5);
    info = (uint8_t)(initial & 0x1Fu);
    if (*major == EDB_CBOR_SIMPLE) {
        if (initial != 0xF4u && initial != 0xF5u) {
            return EDB_ERR_MALFORMED; /* floats, null, undefined, other simple values */
        }
        *arg = (uint32_t)(initial - 0xF4u);
        r->pos++;
        return EDB_OK;
    }
    if (*major == 6u || info >= 28u) {
        return EDB_ERR_MALFORMED; /* tags; reserved; indefinite lengths */
    }
    if (info < 24u) {
        *arg = info;
        r->pos++;
        return EDB_OK;
    }
    size = (size_t)1u << (info - 24u);
    if (r->len - r->pos - 1u < size) {
        return EDB_ERR_MALFORMED;
    }
    for (i = 1; i <= size; i++) {
        high |= value >> 24; /* only 8-byte arguments shift bytes out of value */
        value = (value << 8) | r->data[r->pos + i];
    }
    /* Shortest form: 1 byte for 24.., 2 for 256.., 4 for 65536.., 8 for 2^32.. */
    if (size == 8u) {
        if (high == 0u) {
            return EDB_ERR_NONCANONICAL;
        }
    } else if (value < (size == 1u ? 24u : (uint32_t)1u << (4u * size))) {
        return EDB_ERR_NONCANONICAL;
    }
    *arg = high != 0u ? 0xFFFFFFFFu : value;
    r->pos += 1u + size;
    return EDB_OK;
}

int edb_utf8_valid(const uint8_t *data, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint8_t lead = data[i];
        size_t extra;
        size_t k;
        uint32_t cp;
        uint32_t lowest;
        if (lead < 0x80u) {
            i++;
            continue;
        }
        if (lead >= 0xC2u && lead <= 0xDFu) {
            extra = 1;
            cp = lead & 0x1Fu;
            lowest = 0x80u;
        } else if (lead >= 0xE0u && lead <= 0xEFu) {
            extra = 2;
            cp = lead & 0x0Fu;
            lowest = 0x800u;
        } else if (lead >= 0xF0u && lead <= 0xF4u) {
            extra = 3;
            cp = lead & 0x07u;
            lowest = 0x10000u;
        } else {
            return 0;
        }
        if (len - i - 1u < extra) {
            return 0;
        }
        for (k = 1; k <= extra; k++) {
            uint8_t next = data[i + k];
            if ((next & 0xC0u) != 0x80u) {
                return 0;
            }
            cp = (cp << 6) | (next & 0x3Fu);
        }
        if (cp < lowest || cp > 0x10FFFFu || (cp >= 0xD800u && cp <= 0xDFFFu)) {
            return 0;
        }
        i += extra + 1u;
    }
    return 1;
}
