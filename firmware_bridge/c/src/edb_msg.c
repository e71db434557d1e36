/* edb_msg: table-driven encoder and one-pass strict decoder of the bridge messages.
 *
 * A table lists each message type's fields (its keys are 0..n-1 in order) and each field's kind,
 * place in edb_msg and range; encoder and decoder walk the same table, so they cannot disagree on a
 * limit. Check order follows PROTOCOL.md section 5, mirrored by the Python reference codec. */
#include "edb_msg.h"

#include <string.h>

#include "edb_frame.h"

enum { K_U16, K_U8, K_I32, K_TEXT, K_BYTES, K_VALUES, K_POINTS };

typedef struct {
    uint8_t kind;
    uint8_t min_len;     /* strings, VALUES, POINTS: fewest bytes or items */
    uint8_t max_len;     /* strings, VALUES, POINTS: most; K_U8 and K_U16 take their type's range */
    uint8_t allow_empty; /* BYTES: length 0 accepted besides min_len..max_len */
    uint16_t offset;     /* of the member in edb_msg */
} field_desc;

enum { F_SEQ, F_VERSION, F_KIND, F_DEVICE_ID, F_MAX_PAYLOAD, F_POINTS, F_STATE_VALUES,
       F_STATE_ACCORD, F_POINT, F_VALUE, F_ACCORD, F_ACCORD_VALUES, F_CODE, F_DETAIL };

static const field_desc FIELDS[] = {
    {K_U16, 0, 0, 0, offsetof(edb_msg, seq)},
    {K_U16, 0, 0, 0, offsetof(edb_msg, version)},
    {K_TEXT, 1, 16, 0, offsetof(edb_msg, kind)},
    {K_BYTES, EDB_DEVICE_ID_LEN, EDB_DEVICE_ID_LEN, 0, offsetof(edb_msg, device_id)},
    {K_U16, 0, 0, 0, offsetof(edb_msg, max_payload)},
    {K_POINTS, 0, EDB_MAX_POINTS, 0, offsetof(edb_msg, n_points)},
    {K_VALUES, 0, EDB_MAX_POINTS, 0, offsetof(edb_msg, n_values)},
    {K_BYTES, EDB_ACCORD_ID_LEN, EDB_ACCORD_ID_LEN, 1, offsetof(edb_msg, accord_id)},
    {K_U8, 0, 0, 0, offsetof(edb_msg, point)},
    {K_I32, 0, 0, 0, offsetof(edb_msg, value)},
    {K_BYTES, EDB_ACCORD_ID_LEN, EDB_ACCORD_ID_LEN, 0, offsetof(edb_msg, accord_id)},
    {K_VALUES, 1, EDB_MAX_POINTS, 0, offsetof(edb_msg, n_values)},
    {K_U8, 0, 0, 0, offsetof(edb_msg, code)},
    {K_TEXT, 0, 32, 0, offsetof(edb_msg, detail)},
};

#define MAX_FIELDS 6
/* Per type, from EDB_MSG_HELLO on: field count, then the field at key 0, 1, ... */
static const uint8_t TYPES[8][1 + MAX_FIELDS] = {
    {2, F_SEQ, F_VERSION},
    {6, F_SEQ, F_VERSION, F_KIND, F_DEVICE_ID, F_MAX_PAYLOAD, F_POINTS},
    {1, F_SEQ},
    {3, F_SEQ, F_STATE_VALUES, F_STATE_ACCORD},
    {3, F_SEQ, F_POINT, F_VALUE},
    {3, F_SEQ, F_ACCORD, F_ACCORD_VALUES},
    {1, F_SEQ},
    {3, F_SEQ, F_CODE, F_DETAIL},
};

static const uint8_t *type_fields(uint32_t type)
{
    if (type < EDB_MSG_HELLO || type > EDB_MSG_ERROR) {
        return NULL;
    }
    return TYPES[type - EDB_MSG_HELLO];
}

static int len_ok(const field_desc *f, uint32_t len)
{
    return (len >= f->min_len && len <= f->max_len) || (f->allow_empty && len == 0u);
}

/* --- decoding --- */

static int get_uint(edb_reader *r, uint32_t max, uint32_t *out)
{
    uint8_t major;
    int rc = edb_cbor_get_head(r, &major, out);
    if (rc != EDB_OK) {
        return rc;
    }
    return (major != EDB_CBOR_UINT || *out > max) ? EDB_ERR_SCHEMA : EDB_OK;
}

static int get_i32(edb_reader *r, int32_t *out)
{
    uint8_t major;
    uint32_t arg;
    int rc = edb_cbor_get_head(r, &major, &arg);
    if (rc != EDB_OK) {
        return rc;
    }
    if ((major != EDB_CBOR_UINT && major != EDB_CBOR_NINT) || arg > 0x7FFFFFFFu) {
        return EDB_ERR_SCHEMA;
    }
    *out = major == EDB_CBOR_UINT ? (int32_t)arg : -1 - (int32_t)arg;
    return EDB_OK;
}

/* Head of an array or map of the wanted major whose count len_ok accepts. */
static int get_count(edb_reader *r, uint8_t want, const field_desc *f, uint32_t *count)
{
    uint8_t major;
    int rc = edb_cbor_get_head(r, &major, count);
    if (rc != EDB_OK) {
        return rc;
    }
    return (major != want || !len_ok(f, *count)) ? EDB_ERR_SCHEMA : EDB_OK;
}

static int get_string(edb_reader *r, uint8_t want, const field_desc *f, edb_span *out)
{
    uint8_t major;
    uint32_t len;
    int rc = edb_cbor_get_head(r, &major, &len);
    if (rc != EDB_OK) {
        return rc;
    }
    if (major != want) {
        return EDB_ERR_SCHEMA;
    }
    if (len > r->len - r->pos) {
        return EDB_ERR_MALFORMED;
    }
    if (!len_ok(f, len)) {
        return EDB_ERR_SCHEMA;
    }
    out->ptr = r->data + r->pos;
    out->len = (uint8_t)len;
    r->pos += len;
    if (want == EDB_CBOR_TEXT && !edb_utf8_valid(out->ptr, len)) {
        return EDB_ERR_MALFORMED;
    }
    return EDB_OK;
}

static const field_desc POINT_SHAPE = {K_POINTS, 5, 5, 0, 0};
static const field_desc POINT_NAME = {K_TEXT, 1, 12, 0, 0};

static int get_points(edb_reader *r, const field_desc *f, edb_msg *msg)
{
    uint32_t count;
    uint32_t i;
    int rc = get_count(r, EDB_CBOR_ARRAY, f, &count);
    for (i = 0; rc == EDB_OK && i < count; i++) {
        edb_point *p = &msg->points[i];
        uint32_t n;
        uint8_t major;
        rc = get_count(r, EDB_CBOR_ARRAY, &POINT_SHAPE, &n);
        if (rc == EDB_OK) {
            rc = get_uint(r, 0xFFu, &n);
            p->id = (uint8_t)n;
        }
        if (rc == EDB_OK) {
            rc = get_string(r, EDB_CBOR_TEXT, &POINT_NAME, &p->name);
        }
        if (rc == EDB_OK) {
            rc = get_i32(r, &p->min);
        }
        if (rc == EDB_OK) {
            rc = get_i32(r, &p->max);
        }
        if (rc == EDB_OK) {
            rc = edb_cbor_get_head(r, &major, &n);
            if (rc == EDB_OK && major != EDB_CBOR_SIMPLE) {
                rc = EDB_ERR_SCHEMA;
            }
            p->writable = (uint8_t)n;
        }
        msg->n_points = (uint8_t)(i + 1u);
    }
    return rc;
}

static int get_values(edb_reader *r, const field_desc *f, edb_msg *msg)
{
    uint32_t count;
    uint32_t i;
    int rc = get_count(r, EDB_CBOR_MAP, f, &count);
    for (i = 0; rc == EDB_OK && i < count; i++) {
        uint32_t id;
        rc = get_uint(r, 0xFFu, &id);
        if (rc == EDB_OK && i > 0u && id <= msg->values[i - 1u].id) {
            rc = EDB_ERR_NONCANONICAL;
        }
        if (rc == EDB_OK) {
            msg->values[i].id = (uint8_t)id;
            rc = get_i32(r, &msg->values[i].value);
        }
        msg->n_values = (uint8_t)(i + 1u);
    }
    return rc;
}

static int get_field(edb_reader *r, const field_desc *f, edb_msg *msg)
{
    uint8_t *member = (uint8_t *)msg + f->offset;
    uint32_t n = 0;
    int rc;
    switch (f->kind) {
    case K_U16:
        rc = get_uint(r, 0xFFFFu, &n);
        *(uint16_t *)(void *)member = (uint16_t)n;
        return rc;
    case K_U8:
        rc = get_uint(r, 0xFFu, &n);
        *member = (uint8_t)n;
        return rc;
    case K_I32:
        return get_i32(r, (int32_t *)(void *)member);
    case K_TEXT:
        return get_string(r, EDB_CBOR_TEXT, f, (edb_span *)(void *)member);
    case K_BYTES:
        return get_string(r, EDB_CBOR_BYTES, f, (edb_span *)(void *)member);
    case K_VALUES:
        return get_values(r, f, msg);
    default:
        return get_points(r, f, msg);
    }
}

static const field_desc ENVELOPE = {K_POINTS, 3, 3, 0, 0};

int edb_msg_decode(const uint8_t *data, size_t len, edb_msg *msg)
{
    edb_reader r;
    const uint8_t *fields;
    field_desc body = {K_VALUES, 0, 0, 0, 0};
    uint32_t n;
    uint32_t i;
    uint32_t key;
    uint32_t seen = 0;
    int rc;

    memset(msg, 0, sizeof *msg);
    r.data = data;
    r.len = len;
    r.pos = 0;
    rc = get_count(&r, EDB_CBOR_ARRAY, &ENVELOPE, &n);
    if (rc == EDB_OK) {
        rc = get_uint(&r, 0xFFFFFFFFu, &n);
    }
    if (rc == EDB_OK && n != EDB_FORMAT_VERSION) {
        rc = EDB_ERR_VERSION;
    }
    if (rc == EDB_OK) {
        rc = get_uint(&r, 0xFFFFFFFFu, &n);
    }
    if (rc != EDB_OK) {
        return rc;
    }
    fields = type_fields(n);
    if (fields == NULL) {
        return EDB_ERR_UNKNOWN_TYPE;
    }
    msg->type = (uint16_t)n;
    body.max_len = fields[0];
    rc = get_count(&r, EDB_CBOR_MAP, &body, &n);
    for (i = 0; rc == EDB_OK && i < n; i++) {
        rc = get_uint(&r, 0xFFFFFFFFu, &key);
        if (rc == EDB_OK && i > 0u && key <= 31u && (seen >> key) != 0u) {
            rc = EDB_ERR_NONCANONICAL; /* not above every key so far */
        }
        if (rc == EDB_OK && key >= fields[0]) {
            rc = EDB_ERR_SCHEMA;
        }
        if (rc == EDB_OK) {
            seen |= 1u << key;
            rc = get_field(&r, &FIELDS[fields[1u + key]], msg);
        }
    }
    if (rc == EDB_OK && seen != (1u << fields[0]) - 1u) {
        rc = EDB_ERR_SCHEMA; /* a key is missing */
    }
    if (rc == EDB_OK && r.pos != len) {
        rc = EDB_ERR_MALFORMED;
    }
    return rc;
}

/* --- encoding --- */

static int put_field(edb_writer *w, const field_desc *f, const edb_msg *msg)
{
    const uint8_t *member = (const uint8_t *)msg + f->offset;
    const edb_span *span = (const edb_span *)(const void *)member;
    uint32_t i;
    switch (f->kind) {
    case K_U16:
        edb_cbor_put_head(w, EDB_CBOR_UINT, *(const uint16_t *)(const void *)member);
        return EDB_OK;
    case K_U8:
        edb_cbor_put_head(w, EDB_CBOR_UINT, *member);
        return EDB_OK;
    case K_I32:
        edb_cbor_put_int(w, *(const int32_t *)(const void *)member);
        return EDB_OK;
    case K_TEXT:
    case K_BYTES:
        if (!len_ok(f, span->len) ||
            (f->kind == K_TEXT && !edb_utf8_valid(span->ptr, span->len))) {
            return EDB_ERR_SCHEMA;
        }
        edb_cbor_put_string(w, f->kind == K_TEXT ? EDB_CBOR_TEXT : EDB_CBOR_BYTES, span->ptr,
                            span->len);
        return EDB_OK;
    case K_VALUES:
        if (!len_ok(f, msg->n_values)) {
            return EDB_ERR_SCHEMA;
        }
        edb_cbor_put_head(w, EDB_CBOR_MAP, msg->n_values);
        for (i = 0; i < msg->n_values; i++) {
            if (i > 0u && msg->values[i].id <= msg->values[i - 1u].id) {
                return EDB_ERR_SCHEMA; /* canonical maps need ascending keys */
            }
            edb_cbor_put_head(w, EDB_CBOR_UINT, msg->values[i].id);
            edb_cbor_put_int(w, msg->values[i].value);
        }
        return EDB_OK;
    default:
        if (!len_ok(f, msg->n_points)) {
            return EDB_ERR_SCHEMA;
        }
        edb_cbor_put_head(w, EDB_CBOR_ARRAY, msg->n_points);
        for (i = 0; i < msg->n_points; i++) {
            const edb_point *p = &msg->points[i];
            if (!len_ok(&POINT_NAME, p->name.len) || !edb_utf8_valid(p->name.ptr, p->name.len) ||
                p->writable > 1u) {
                return EDB_ERR_SCHEMA;
            }
            edb_cbor_put_head(w, EDB_CBOR_ARRAY, 5);
            edb_cbor_put_head(w, EDB_CBOR_UINT, p->id);
            edb_cbor_put_string(w, EDB_CBOR_TEXT, p->name.ptr, p->name.len);
            edb_cbor_put_int(w, p->min);
            edb_cbor_put_int(w, p->max);
            edb_cbor_put_head(w, EDB_CBOR_SIMPLE, 20u + p->writable);
        }
        return EDB_OK;
    }
}

int edb_msg_encode(const edb_msg *msg, uint8_t *out, size_t cap, size_t *out_len)
{
    edb_writer w;
    const uint8_t *fields = type_fields(msg->type);
    uint32_t key;
    int rc = EDB_OK;

    if (fields == NULL) {
        return EDB_ERR_UNKNOWN_TYPE;
    }
    w.buf = out;
    w.cap = cap < EDB_MAX_PAYLOAD ? cap : EDB_MAX_PAYLOAD;
    w.len = 0;
    w.overflow = 0;
    edb_cbor_put_head(&w, EDB_CBOR_ARRAY, 3);
    edb_cbor_put_head(&w, EDB_CBOR_UINT, EDB_FORMAT_VERSION);
    edb_cbor_put_head(&w, EDB_CBOR_UINT, msg->type);
    edb_cbor_put_head(&w, EDB_CBOR_MAP, fields[0]);
    for (key = 0; rc == EDB_OK && key < fields[0]; key++) {
        edb_cbor_put_head(&w, EDB_CBOR_UINT, key);
        rc = put_field(&w, &FIELDS[fields[1u + key]], msg);
    }
    if (rc == EDB_OK && w.overflow) {
        rc = EDB_ERR_NOSPACE;
    }
    *out_len = w.len;
    return rc;
}
