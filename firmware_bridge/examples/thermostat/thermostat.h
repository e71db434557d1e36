/* A thermostat that takes part in edge_dan through the firmware bridge: portable device logic.
 *
 * The board code feeds every received byte to thermostat_receive and provides a write function;
 * everything else (framing, decoding, answering, applying accords) happens here, with no heap and
 * all buffers inside the thermostat struct. Points (PROTOCOL.md section 2): 0 "setpoint" in tenths
 * of a degree Celsius (50..300, writable), 1 "temp" (read-only), 2 "heating" (0 or 1, read-only). */
#ifndef THERMOSTAT_H
#define THERMOSTAT_H

#include <stddef.h>
#include <stdint.h>

#include "edb_frame.h"
#include "edb_msg.h"

typedef void (*thermostat_write_fn)(const uint8_t *data, size_t len, void *ctx);

typedef struct {
    edb_deframer rx;
    uint8_t rx_buf[EDB_RX_BUFFER_SIZE];
    uint8_t msg_buf[EDB_MAX_PAYLOAD];
    uint8_t tx_buf[EDB_TX_BUFFER_SIZE];
    edb_msg request;
    edb_msg reply;
    int32_t setpoint_c_x10;
    int32_t temp_c_x10;
    uint8_t accord_id[EDB_ACCORD_ID_LEN];
    uint8_t has_accord;
    uint32_t frames_dropped;   /* bad COBS, short, bad CRC, oversize */
    uint32_t messages_refused; /* framed fine but did not decode */
    thermostat_write_fn write;
    void *write_ctx;
} thermostat;

void thermostat_init(thermostat *t, thermostat_write_fn write, void *write_ctx);
void thermostat_receive(thermostat *t, uint8_t byte);

#endif
