/* The thermostat on a Raspberry Pi Pico: the bridge runs over the USB CDC serial port that
 * pico_stdio_usb provides (the host sees /dev/ttyACM0 or COMx).
 *
 * The device logic is the same thermostat.c that runs under QEMU in CI; only the byte I/O
 * differs. The on-board LED shows the heating output. Not built in CI (needs the Pico SDK). */
#include <stdio.h>

#include "pico/stdlib.h"
#include "thermostat.h"

static thermostat device;

static void usb_write(const uint8_t *data, size_t len, void *ctx)
{
    size_t i;
    (void)ctx;
    for (i = 0; i < len; i++) {
        putchar_raw(data[i]); /* raw: frames are binary, no newline translation */
    }
    stdio_flush();
}

int main(void)
{
    stdio_init_all();
    gpio_init(PICO_DEFAULT_LED_PIN);
    gpio_set_dir(PICO_DEFAULT_LED_PIN, GPIO_OUT);
    thermostat_init(&device, usb_write, NULL);
    for (;;) {
        int c = getchar_timeout_us(1000);
        if (c != PICO_ERROR_TIMEOUT) {
            thermostat_receive(&device, (uint8_t)c);
        }
        gpio_put(PICO_DEFAULT_LED_PIN, device.temp_c_x10 < device.setpoint_c_x10);
    }
}
