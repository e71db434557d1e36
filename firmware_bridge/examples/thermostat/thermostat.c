/* Thermostat device logic over the firmware bridge; see thermostat.h. */
#include "thermostat.h"

#include <string.h>

#define POINT_SETPOINT 0u
#define POINT_TEMP 1u
#define POINT_HEATING 2u
#define SETPOINT_MIN 50
#define SETPOINT_MAX 300

static const uint8_t KIND[] = "thermostat";
static const uint8_t DEVICE_ID[EDB_DEVICE_ID_LEN] = {'E', 'D', 'B', '-', '0', '0', '0', '1'};
static const uint8_t NAME_SETPOINT[] = "setpoint";
static const uint8_t NAME_TEMP[] = "temp";
static const uint8_t NAME_HEATING[] = "heating";

void thermostat_init(thermostat *t, thermostat_write_fn write, void *write_ctx)
{
    memset(t, 0, sizeof *t);
    edb_deframer_init(&t->rx, t->rx_buf, sizeof t->rx_buf);
    t->setpoint_c_x10 = 200;
    t->temp_c_x10 = 185;
    t->write = write;
    t->write_ctx = write_ctx;
}

static void send_reply(thermostat *t)
{
    size_t len = 0;
    size_t frame_len;
    if (edb_msg_encode(&t->reply, t->msg_buf, sizeof t->msg_buf, &len) != EDB_OK) {
        return; /* cannot happen with the replies built here; sending nothing beats sending junk */
    }
    frame_len = edb_frame_encode(t->msg_buf, len, t->tx_buf, sizeof t->tx_buf);
    t->write(t->tx_buf, frame_len, t->write_ctx);
}

static void set_span(edb_span *span, const uint8_t *text, size_t len)
{
    span->ptr = text;
    span->len = (uint8_t)len;
}

static void reply_error(thermostat *t, uint16_t seq, uint8_t code, const char *detail)
{
    memset(&t->reply, 0, sizeof t->reply);
    t->reply.type = EDB_MSG_ERROR;
    t->reply.seq = seq;
    t->reply.code = code;
    set_span(&t->reply.detail, (const uint8_t *)detail, strlen(detail));
    send_reply(t);
}

static void reply_capabilities(thermostat *t, uint16_t seq)
{
    edb_msg *m = &t->reply;
    memset(m, 0, sizeof *m);
    m->type = EDB_MSG_CAPABILITIES;
    m->seq = seq;
    m->version = EDB_PROTOCOL_VERSION;
    set_span(&m->kind, KIND, sizeof KIND - 1u);
    set_span(&m->device_id, DEVICE_ID, sizeof DEVICE_ID);
    m->max_payload = EDB_MAX_PAYLOAD;
    m->n_points = 3;
    m->points[0].id = POINT_SETPOINT;
    set_span(&m->points[0].name, NAME_SETPOINT, sizeof NAME_SETPOINT - 1u);
    m->points[0].min = SETPOINT_MIN;
    m->points[0].max = SETPOINT_MAX;
    m->points[0].writable = 1;
    m->points[1].id = POINT_TEMP;
    set_span(&m->points[1].name, NAME_TEMP, sizeof NAME_TEMP - 1u);
    m->points[1].min = -400;
    m->points[1].max = 1000;
    m->points[2].id = POINT_HEATING;
    set_span(&m->points[2].name, NAME_HEATING, sizeof NAME_HEATING - 1u);
    m->points[2].max = 1;
    send_reply(t);
}

static void reply_state(thermostat *t, uint16_t seq)
{
    edb_msg *m = &t->reply;
    memset(m, 0, sizeof *m);
    m->type = EDB_MSG_STATE;
    m->seq = seq;
    m->n_values = 3;
    m->values[0].id = POINT_SETPOINT;
    m->values[0].value = t->setpoint_c_x10;
    m->values[1].id = POINT_TEMP;
    m->values[1].value = t->temp_c_x10;
    m->values[2].id = POINT_HEATING;
    m->values[2].value = t->temp_c_x10 < t->setpoint_c_x10 ? 1 : 0;
    if (t->has_accord) {
        set_span(&m->accord_id, t->accord_id, sizeof t->accord_id);
    }
    send_reply(t);
}

static void reply_ack(thermostat *t, uint16_t seq)
{
    memset(&t->reply, 0, sizeof t->reply);
    t->reply.type = EDB_MSG_ACK;
    t->reply.seq = seq;
    send_reply(t);
}

/* 0 if value may go to point, else the ERROR code that says why not. */
static uint8_t check_write(uint8_t point, int32_t value)
{
    if (point == POINT_TEMP || point == POINT_HEATING) {
        return EDB_CODE_READ_ONLY;
    }
    if (point != POINT_SETPOINT) {
        return EDB_CODE_UNKNOWN_POINT;
    }
    if (value < SETPOINT_MIN || value > SETPOINT_MAX) {
        return EDB_CODE_OUT_OF_RANGE;
    }
    return 0;
}

static void handle_apply_accord(thermostat *t)
{
    const edb_msg *m = &t->request;
    unsigned i;
    /* All or nothing: check every value before applying any. */
    for (i = 0; i < m->n_values; i++) {
        uint8_t code = check_write(m->values[i].id, m->values[i].value);
        if (code != 0u) {
            reply_error(t, m->seq, code, "accord value refused");
            return;
        }
    }
    for (i = 0; i < m->n_values; i++) {
        t->setpoint_c_x10 = m->values[i].value; /* the only writable point */
    }
    memcpy(t->accord_id, m->accord_id.ptr, sizeof t->accord_id);
    t->has_accord = 1;
    reply_ack(t, m->seq);
}

static void handle_message(thermostat *t, const uint8_t *payload, size_t len)
{
    static const char *const CLASSES[] = {"", "malformed", "noncanonical", "version",
                                          "unknown type", "schema"};
    const edb_msg *m = &t->request;
    uint8_t code;
    int rc = edb_msg_decode(payload, len, &t->request);
    if (rc != EDB_OK) {
        t->messages_refused++;
        reply_error(t, 0, rc == EDB_ERR_UNKNOWN_TYPE ? EDB_CODE_UNKNOWN_TYPE : EDB_CODE_BAD_MESSAGE,
                    CLASSES[-rc]);
        return;
    }
    switch (m->type) {
    case EDB_MSG_HELLO:
        if (m->version < EDB_PROTOCOL_VERSION) {
            reply_error(t, m->seq, EDB_CODE_UNSUPPORTED_VERSION, "version 1 only");
        } else {
            reply_capabilities(t, m->seq);
        }
        break;
    case EDB_MSG_GET_STATE:
        reply_state(t, m->seq);
        break;
    case EDB_MSG_SET:
        code = check_write(m->point, m->value);
        if (code != 0u) {
            reply_error(t, m->seq, code, "set refused");
        } else {
            t->setpoint_c_x10 = m->value;
            reply_ack(t, m->seq);
        }
        break;
    case EDB_MSG_APPLY_ACCORD:
        handle_apply_accord(t);
        break;
    default:
        reply_error(t, m->seq, EDB_CODE_UNEXPECTED, "not a host request");
        break;
    }
}

void thermostat_receive(thermostat *t, uint8_t byte)
{
    size_t len = 0;
    int rc = edb_deframer_push(&t->rx, byte, &len);
    if (rc == EDB_FRAME_READY) {
        handle_message(t, t->rx_buf, len);
    } else if (rc != EDB_FRAME_NONE) {
        t->frames_dropped++; /* never answered: the sender's seq is unreadable; it retries */
    }
}
