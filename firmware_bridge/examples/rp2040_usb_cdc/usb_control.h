/* Control transfers on EP0: the standard requests of USB 2.0 chapter 9 and the CDC-ACM class
 * requests (PSTN 1.2 section 6.3); see usb_control.c. */
#ifndef RP2040_USB_CONTROL_H
#define RP2040_USB_CONTROL_H

#include <stdint.h>

typedef enum {
    USB_CONTROL_NOTHING,
    USB_CONTROL_CONFIGURED, /* SET_CONFIGURATION 1: the caller enables its endpoints now */
    USB_CONTROL_DECONFIGURED
} usb_control_event;

/* Forget the address, the configuration and any transfer in progress (after a bus reset). */
void usb_control_reset(void);
/* A SETUP packet is in DPRAM: answer it. */
usb_control_event usb_control_setup(void);
/* An EP0 buffer completed (is_in: device to host): continue the transfer. */
void usb_control_ep0_done(int is_in);

#endif
