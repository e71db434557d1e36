/* The thermostat on a Raspberry Pi Pico (RP2040), bare metal: the firmware bridge over USB CDC.
 *
 * The device logic is the same examples/thermostat/thermostat.c that runs under QEMU; this file
 * only moves bytes between it and the USB serial port. No SDK: boot2.S, startup.c, clocks.c and
 * the usb_*.c modules are the whole platform. Everything is polled from this one loop, so the
 * thermostat never runs inside an interrupt and needs no locking. The Pico's LED (GPIO 25) shows
 * the heating output. */
#include <stdint.h>

#include "clocks.h"
#include "rp2040_regs.h"
#include "thermostat.h"
#include "usb_cdc.h"

#define LED_PIN 25u

static thermostat device;

static void led_init(void)
{
    RESETS_RESET_CLR = RESET_IO_BANK0 | RESET_PADS_BANK0;
    while ((RESETS_RESET_DONE & (RESET_IO_BANK0 | RESET_PADS_BANK0)) !=
           (RESET_IO_BANK0 | RESET_PADS_BANK0)) {
    }
    IO_BANK0_GPIO_CTRL(LED_PIN) = GPIO_FUNC_SIO;
    SIO_GPIO_OE_SET = 1u << LED_PIN;
}

static void led_show_heating(const thermostat *t)
{
    if (t->temp_c_x10 < t->setpoint_c_x10) {
        SIO_GPIO_OUT_SET = 1u << LED_PIN;
    } else {
        SIO_GPIO_OUT_CLR = 1u << LED_PIN;
    }
}

static void usb_write(const uint8_t *data, size_t len, void *ctx)
{
    (void)ctx;
    usb_cdc_write(data, len);
}

int main(void)
{
    clocks_init();
    led_init();
    usb_cdc_init();
    thermostat_init(&device, usb_write, 0);
    for (;;) {
        uint8_t byte;
        usb_cdc_poll();
        while (usb_cdc_read_byte(&byte)) {
            thermostat_receive(&device, byte);
        }
        led_show_heating(&device);
    }
}
