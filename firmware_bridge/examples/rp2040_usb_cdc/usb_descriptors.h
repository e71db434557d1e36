/* USB descriptors of the thermostat: one CDC-ACM serial port; see usb_descriptors.c. */
#ifndef RP2040_USB_DESCRIPTORS_H
#define RP2040_USB_DESCRIPTORS_H

#include <stddef.h>
#include <stdint.h>

/* Endpoint numbers the configuration descriptor announces. */
#define CDC_NOTIFY_EP 1u /* interrupt IN 0x81: serial state notifications (never sent) */
#define CDC_DATA_EP 2u   /* bulk OUT 0x02 and bulk IN 0x82: the serial data */
#define CDC_NOTIFY_PACKET_SIZE 16u

/* The descriptor GET_DESCRIPTOR asks for (wValue: type in the high byte, index in the low one),
 * written to out (the longest, the configuration, is 67 bytes). Returns its length, 0 if there
 * is no such descriptor, at most out_size. */
size_t usb_descriptor(uint16_t type_and_index, uint8_t *out, size_t out_size);

#endif
