/* libFuzzer target: the whole example thermostat (deframer, decoder, device logic, encoder) on
 * arbitrary input streams.
 *
 * Every byte the device sends must form valid frames holding messages that decode, each answer a
 * device may send (CAPABILITIES, STATE, ACK, ERROR); the set-point never leaves its range. */
#include <stdlib.h>
#include <string.h>

#include "edb_frame.h"
#include "edb_msg.h"
#include "thermostat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static edb_deframer host_rx;
static uint8_t host_buf[EDB_RX_BUFFER_SIZE];

static void check_sent(const uint8_t *data, size_t len, void *ctx)
{
    static edb_msg msg;
    size_t i;
    (void)ctx;
    if (len == 0u || data[len - 1u] != 0u) {
        abort(); /* every write is one whole frame */
    }
    for (i = 0; i < len; i++) {
        size_t payload_len = 0;
        int rc = edb_deframer_push(&host_rx, data[i], &payload_len);
        if (rc < 0 || (rc == EDB_FRAME_READY) != (i == len - 1u)) {
            abort();
        }
        if (rc == EDB_FRAME_READY) {
            if (edb_msg_decode(host_buf, payload_len, &msg) != EDB_OK ||
                (msg.type != EDB_MSG_CAPABILITIES && msg.type != EDB_MSG_STATE &&
                 msg.type != EDB_MSG_ACK && msg.type != EDB_MSG_ERROR)) {
                abort();
            }
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static thermostat device;
    size_t i;
    edb_deframer_init(&host_rx, host_buf, sizeof host_buf);
    thermostat_init(&device, check_sent, NULL);
    for (i = 0; i < size; i++) {
        thermostat_receive(&device, data[i]);
        if (device.setpoint_c_x10 < 50 || device.setpoint_c_x10 > 300) {
            abort();
        }
    }
    return 0;
}
