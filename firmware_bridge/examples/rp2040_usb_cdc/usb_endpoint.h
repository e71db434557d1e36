/* Endpoint buffers of the RP2040 USB controller (datasheet 4.1.2): arm one buffer, learn how
 * much it carried. Single-buffered, one 64-byte packet per buffer, which keeps the driver simple
 * and is plenty for a few hundred bytes of frames. */
#ifndef RP2040_USB_ENDPOINT_H
#define RP2040_USB_ENDPOINT_H

#include <stddef.h>
#include <stdint.h>

#define USB_PACKET_SIZE 64u

typedef struct {
    uint8_t number;  /* 0..15 */
    uint8_t is_in;   /* 1: device to host */
    uint16_t buffer; /* offset of its data buffer in DPRAM */
    uint8_t data1;   /* PID of the next packet, DATA0 or DATA1 (USB 2.0 section 8.6) */
} usb_endpoint;

/* Bulk or interrupt endpoint: enable it in DPRAM with an interrupt per completed buffer. */
void usb_endpoint_enable(usb_endpoint *ep, uint32_t type);
/* IN: copy len (<= 64) bytes into the buffer and hand it to the controller.
 * OUT: let the controller receive up to len bytes (data is ignored). */
void usb_endpoint_start(usb_endpoint *ep, const uint8_t *data, size_t len);
/* Bytes the host sent in the last completed OUT buffer, and where they are. */
size_t usb_endpoint_received(const usb_endpoint *ep);
const volatile uint8_t *usb_endpoint_data(const usb_endpoint *ep);
/* Answer the current control transfer with STALL on EP0 (USB 2.0 section 8.5.3.4). */
void usb_endpoint_stall_ep0(void);

#define USB_TYPE_BULK 2u
#define USB_TYPE_INTERRUPT 3u

#endif
