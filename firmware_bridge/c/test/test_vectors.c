/* Runs the shared vectors (firmware_bridge/vectors/, compiled in as vectors.h) against the C
 * library; the same source runs on the host (under ASan and UBSan) and on Cortex-M boards under
 * QEMU with semihosting. Exit status 0 only if every vector passes. */
#include <stdio.h>
#include <string.h>

#include "edb_frame.h"
#include "edb_msg.h"
#include "vectors.h"

static unsigned failures;

static unsigned current; /* index of the vector being run, for vectors without a name */

static void fail(const char *what, const char *name)
{
    failures++;
    if (failures <= 20u) {
        printf("FAIL %s: %s (vector %u)\n", what, name != NULL ? name : "mutation", current);
    }
}

static int span_equal(edb_span a, edb_span b)
{
    return a.len == b.len && (a.len == 0u || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static int msg_equal(const edb_msg *a, const edb_msg *b)
{
    unsigned i;
    if (a->type != b->type || a->seq != b->seq || a->version != b->version ||
        a->max_payload != b->max_payload || a->point != b->point || a->code != b->code ||
        a->value != b->value || !span_equal(a->kind, b->kind) ||
        !span_equal(a->device_id, b->device_id) || !span_equal(a->accord_id, b->accord_id) ||
        !span_equal(a->detail, b->detail) || a->n_values != b->n_values ||
        a->n_points != b->n_points) {
        return 0;
    }
    for (i = 0; i < a->n_values; i++) {
        if (a->values[i].id != b->values[i].id || a->values[i].value != b->values[i].value) {
            return 0;
        }
    }
    for (i = 0; i < a->n_points; i++) {
        const edb_point *p = &a->points[i];
        const edb_point *q = &b->points[i];
        if (p->id != q->id || p->writable != q->writable || !span_equal(p->name, q->name) ||
            p->min != q->min || p->max != q->max) {
            return 0;
        }
    }
    return 1;
}

static void run_message(const msg_vector *v)
{
    static edb_msg msg;
    static uint8_t out[EDB_TX_BUFFER_SIZE];
    size_t len = 0;
    int rc = edb_msg_decode(v->data, v->len, &msg);
    if (rc != v->expect) {
        printf("  decode gave %d, expected %d\n", rc, v->expect);
        fail("decode class", v->name);
        return;
    }
    if (rc != EDB_OK) {
        return;
    }
    if (v->message != NULL && !msg_equal(&msg, v->message)) {
        fail("decoded value", v->name);
    }
    /* A message that decodes is canonical, so encoding it again gives the same bytes. */
    if (edb_msg_encode(&msg, out, sizeof out, &len) != EDB_OK || len != v->len ||
        memcmp(out, v->data, len) != 0) {
        fail("re-encode", v->name);
    }
    if (v->message != NULL) {
        if (edb_msg_encode(v->message, out, sizeof out, &len) != EDB_OK || len != v->len ||
            memcmp(out, v->data, len) != 0) {
            fail("encode", v->name);
        }
        len = edb_frame_encode(v->data, v->len, out, sizeof out);
        if (len != v->frame_len || memcmp(out, v->frame, len) != 0) {
            fail("frame encode", v->name);
        }
    }
}

static void run_frames(const frame_vector *v)
{
    static uint8_t rx[VECTOR_MAX_PAYLOAD + EDB_CRC_LEN];
    edb_deframer d;
    unsigned seen = 0;
    unsigned i;
    edb_deframer_init(&d, rx, sizeof rx);
    for (i = 0; i < v->len; i++) {
        size_t len = 0;
        int rc = edb_deframer_push(&d, v->stream[i], &len);
        if (rc == EDB_FRAME_NONE) {
            continue;
        }
        if (seen >= v->n_events || v->events[seen].kind != rc) {
            printf("  %s: event %u is %d\n", v->name, seen, rc);
            fail("frame event", v->name);
            return;
        }
        if (rc == EDB_FRAME_READY &&
            (len != v->events[seen].len || memcmp(rx, v->events[seen].payload, len) != 0)) {
            fail("frame payload", v->name);
        }
        seen++;
    }
    if (seen != v->n_events) {
        fail("frame events missing", v->name);
    }
}

static void run_crc(void)
{
    static const uint8_t check[] = "123456789";
    if (edb_crc32(0, check, 9) != 0xCBF43926u || edb_crc32(edb_crc32(0, check, 4), check + 4, 5) !=
                                                     0xCBF43926u) {
        fail("crc32", "check value");
    }
}

int main(void)
{
    unsigned i;
    run_crc();
    for (i = 0; i < N_MSG_VECTORS; i++) {
        current = i;
        run_message(&MSG_VECTORS[i]);
    }
    for (i = 0; i < N_FRAME_VECTORS; i++) {
        run_frames(&FRAME_VECTORS[i]);
    }
    printf("%u message vectors, %u frame vectors, %u failures\n", (unsigned)N_MSG_VECTORS,
           (unsigned)N_FRAME_VECTORS, failures);
    return failures == 0u ? 0 : 1;
}
