/* The thermostat on QEMU's mps2-an386 (Cortex-M4): UART0 (CMSDK APB UART) carries the bridge.
 *
 * Polled, no interrupts: QEMU hands the UART one byte at a time and holds the rest in the host
 * socket, so nothing is lost while the thermostat works on a frame. */
#include <stdint.h>

#include "thermostat.h"

#define UART0_BASE 0x40004000u
#define UART_DATA (*(volatile uint32_t *)(UART0_BASE + 0x00u))
#define UART_STATE (*(volatile uint32_t *)(UART0_BASE + 0x04u))
#define UART_CTRL (*(volatile uint32_t *)(UART0_BASE + 0x08u))
#define UART_BAUDDIV (*(volatile uint32_t *)(UART0_BASE + 0x10u))
#define STATE_TX_FULL 1u
#define STATE_RX_FULL 2u
#define CTRL_TX_RX_ENABLE 3u

static thermostat device;

static void uart_write(const uint8_t *data, size_t len, void *ctx)
{
    size_t i;
    (void)ctx;
    for (i = 0; i < len; i++) {
        while ((UART_STATE & STATE_TX_FULL) != 0u) {
        }
        UART_DATA = data[i];
    }
}

int main(void)
{
    UART_BAUDDIV = 16u; /* the smallest divider the CMSDK UART allows */
    UART_CTRL = CTRL_TX_RX_ENABLE;
    thermostat_init(&device, uart_write, 0);
    for (;;) {
        if ((UART_STATE & STATE_RX_FULL) != 0u) {
            thermostat_receive(&device, (uint8_t)UART_DATA);
        }
    }
}
