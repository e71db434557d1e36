/* The thermostat on QEMU's microbit (nRF51822, Cortex-M0): the nRF51 UART carries the bridge.
 *
 * Polled, no interrupts, like main_mps2.c; QEMU holds incoming bytes until the UART's receive
 * FIFO has room, so nothing is lost while a frame is handled. */
#include <stdint.h>

#include "thermostat.h"

#define UART_BASE 0x40002000u
#define UART_REG(offset) (*(volatile uint32_t *)(UART_BASE + (offset)))
#define TASKS_STARTRX UART_REG(0x000u)
#define TASKS_STARTTX UART_REG(0x008u)
#define EVENTS_RXDRDY UART_REG(0x108u)
#define EVENTS_TXDRDY UART_REG(0x11Cu)
#define ENABLE UART_REG(0x500u)
#define RXD UART_REG(0x518u)
#define TXD UART_REG(0x51Cu)
#define ENABLE_UART 4u

static thermostat device;

static void uart_write(const uint8_t *data, size_t len, void *ctx)
{
    size_t i;
    (void)ctx;
    for (i = 0; i < len; i++) {
        EVENTS_TXDRDY = 0u;
        TXD = data[i];
        while (EVENTS_TXDRDY == 0u) {
        }
    }
}

int main(void)
{
    ENABLE = ENABLE_UART;
    TASKS_STARTRX = 1u;
    TASKS_STARTTX = 1u;
    thermostat_init(&device, uart_write, 0);
    for (;;) {
        if (EVENTS_RXDRDY != 0u) {
            EVENTS_RXDRDY = 0u;
            thermostat_receive(&device, (uint8_t)RXD);
        }
    }
}
