/* A CDC-ACM serial port on the RP2040 USB controller, polled: no interrupts, no heap.
 *
 * Call usb_cdc_poll often (every pass of the main loop); it answers the host's control requests
 * and moves packets. usb_cdc_read_byte hands out what the host wrote; usb_cdc_write blocks until
 * its bytes are on their way (or drops them while no host has configured the device). */
#ifndef RP2040_USB_CDC_H
#define RP2040_USB_CDC_H

#include <stddef.h>
#include <stdint.h>

void usb_cdc_init(void);
void usb_cdc_poll(void);
/* 1 and the next byte from the host, or 0 when none is waiting. */
int usb_cdc_read_byte(uint8_t *byte);
void usb_cdc_write(const uint8_t *data, size_t len);

#endif
