/* Endpoint buffers of the RP2040 USB controller; see usb_endpoint.h.
 *
 * Each endpoint has a 32-bit buffer control word in DPRAM (datasheet 4.1.2.5): length, FULL (the
 * buffer holds data: set by us for IN, by the controller for OUT), the DATA0/DATA1 PID, and
 * AVAILABLE, which hands the buffer to the controller. The controller clears AVAILABLE and
 * raises the endpoint's bit in BUFF_STATUS once the packet has moved. */
#include "usb_endpoint.h"

#include "rp2040_regs.h"

void usb_endpoint_enable(usb_endpoint *ep, uint32_t type)
{
    USB_EP_CTRL(ep->number, !ep->is_in) = USB_EP_CTRL_ENABLE | USB_EP_CTRL_INT_PER_BUFFER |
                                          (type << USB_EP_CTRL_TYPE_LSB) | ep->buffer;
    ep->data1 = 0; /* a configured endpoint starts at DATA0 (USB 2.0 section 9.1.1.5) */
}

void usb_endpoint_start(usb_endpoint *ep, const uint8_t *data, size_t len)
{
    volatile uint8_t *buffer = (volatile uint8_t *)(uintptr_t)(USB_DPRAM_BASE + ep->buffer);
    uint32_t control = (uint32_t)len | (ep->data1 ? USB_BUF_CTRL_DATA1 : 0u);
    if (ep->is_in) {
        size_t i;
        for (i = 0; i < len; i++) {
            buffer[i] = data[i];
        }
        control |= USB_BUF_CTRL_FULL;
    }
    ep->data1 ^= 1u;
    /* 4.1.2.5.1: write everything but AVAILABLE first, then AVAILABLE a few cycles later, so
     * the controller (on clk_usb) never sees AVAILABLE with a stale length or PID. */
    USB_BUF_CTRL(ep->number, !ep->is_in) = control;
    __asm__ volatile("nop\n nop\n nop");
    USB_BUF_CTRL(ep->number, !ep->is_in) = control | USB_BUF_CTRL_AVAILABLE;
}

size_t usb_endpoint_received(const usb_endpoint *ep)
{
    return USB_BUF_CTRL(ep->number, 1) & USB_BUF_CTRL_LEN_MASK;
}

const volatile uint8_t *usb_endpoint_data(const usb_endpoint *ep)
{
    return (const volatile uint8_t *)(uintptr_t)(USB_DPRAM_BASE + ep->buffer);
}

void usb_endpoint_stall_ep0(void)
{
    /* EP_STALL_ARM and the STALL bit together; the controller disarms on the next SETUP. */
    USB_EP_STALL_ARM = 3u; /* EP0 IN and EP0 OUT */
    USB_BUF_CTRL(0u, 0) = USB_BUF_CTRL_STALL;
    USB_BUF_CTRL(0u, 1) = USB_BUF_CTRL_STALL;
}
