/* A CDC-ACM serial port on the RP2040 USB controller; see usb_cdc.h.
 *
 * Bring-up follows datasheet 4.1.2: take the controller out of reset, clear DPRAM, route it to
 * the on-chip PHY, tell it VBUS is present (the Pico wires VBUS to a GPIO, not to the controller),
 * enable it in device mode, then pull D+ up so the host sees a full-speed device. The host resets
 * the bus, assigns an address and configures us (usb_control.c); then bulk OUT carries the bytes
 * the host writes, bulk IN the bytes we send.
 *
 * Receiving: one OUT buffer is armed at a time and re-armed only once its bytes are consumed, so a
 * host that writes faster than the thermostat reads is held off with NAKs and nothing is lost. */
#include "usb_cdc.h"

#include "rp2040_regs.h"
#include "usb_control.h"
#include "usb_descriptors.h"
#include "usb_endpoint.h"

/* DPRAM data buffers after EP0's at 0x100, each 64-byte aligned (4.1.2.5.2). */
static usb_endpoint notify_in = {CDC_NOTIFY_EP, 1, 0x180u, 0};
static usb_endpoint data_out = {CDC_DATA_EP, 0, 0x1C0u, 0};
static usb_endpoint data_in = {CDC_DATA_EP, 1, 0x200u, 0};

static uint8_t configured;
static uint8_t in_busy;     /* a bulk IN packet is waiting for the host */
static size_t out_len;      /* bytes of the current OUT packet ... */
static size_t out_consumed; /* ... and how many of them usb_cdc_read_byte handed out */

/* BUFF_STATUS: bit 2n for endpoint n IN, bit 2n+1 for endpoint n OUT (4.1.4). */
#define BUFF_BIT(ep, out) (1u << (2u * (ep) + ((out) ? 1u : 0u)))

void usb_cdc_init(void)
{
    volatile uint32_t *dpram = (volatile uint32_t *)(uintptr_t)USB_DPRAM_BASE;
    unsigned i;
    RESETS_RESET_SET = RESET_USBCTRL;
    RESETS_RESET_CLR = RESET_USBCTRL;
    while ((RESETS_RESET_DONE & RESET_USBCTRL) == 0u) {
    }
    /* DPRAM is not cleared by reset; stale endpoint words would confuse the controller. */
    for (i = 0; i < USB_DPRAM_SIZE / 4u; i++) {
        dpram[i] = 0u;
    }
    USB_MUXING = USB_MUXING_TO_PHY | USB_MUXING_SOFTCON;
    USB_PWR = USB_PWR_VBUS_DETECT | USB_PWR_VBUS_DETECT_OVERRIDE_EN;
    USB_MAIN_CTRL = USB_MAIN_CTRL_CONTROLLER_EN;
    USB_SIE_CTRL = USB_SIE_CTRL_EP0_INT_1BUF; /* a BUFF_STATUS bit per EP0 buffer */
    USB_INTE = USB_INT_BUFF_STATUS | USB_INT_BUS_RESET | USB_INT_SETUP_REQ;
    usb_control_reset();
    USB_SIE_CTRL_SET = USB_SIE_CTRL_PULLUP_EN;
}

static void on_configured(void)
{
    usb_endpoint_enable(&notify_in, USB_TYPE_INTERRUPT);
    usb_endpoint_enable(&data_out, USB_TYPE_BULK);
    usb_endpoint_enable(&data_in, USB_TYPE_BULK);
    configured = 1;
    in_busy = 0;
    out_len = 0;
    out_consumed = 0;
    usb_endpoint_start(&data_out, 0, USB_PACKET_SIZE);
}

static void on_buffers_done(uint32_t done)
{
    if (done & BUFF_BIT(0u, 0)) {
        usb_control_ep0_done(1);
    }
    if (done & BUFF_BIT(0u, 1)) {
        usb_control_ep0_done(0);
    }
    if (done & BUFF_BIT(CDC_DATA_EP, 0)) {
        in_busy = 0;
    }
    if (done & BUFF_BIT(CDC_DATA_EP, 1)) {
        out_len = usb_endpoint_received(&data_out);
        out_consumed = 0;
        if (out_len == 0u) {
            usb_endpoint_start(&data_out, 0, USB_PACKET_SIZE); /* a zero-length packet: rearm */
        }
    }
}

void usb_cdc_poll(void)
{
    uint32_t status = USB_INTS;
    if (status & USB_INT_BUS_RESET) {
        USB_SIE_STATUS = USB_SIE_STATUS_BUS_RESET; /* write 1 to clear */
        usb_control_reset();
        configured = 0;
    }
    if (status & USB_INT_BUFF_STATUS) {
        uint32_t done = USB_BUFF_STATUS;
        USB_BUFF_STATUS = done; /* write 1 to clear what we are about to handle */
        on_buffers_done(done);
    }
    if (status & USB_INT_SETUP_REQ) {
        usb_control_event event;
        USB_SIE_STATUS = USB_SIE_STATUS_SETUP_REC;
        event = usb_control_setup();
        if (event == USB_CONTROL_CONFIGURED) {
            on_configured();
        } else if (event == USB_CONTROL_DECONFIGURED) {
            configured = 0;
        }
    }
}

int usb_cdc_read_byte(uint8_t *byte)
{
    if (out_consumed >= out_len) {
        return 0;
    }
    *byte = usb_endpoint_data(&data_out)[out_consumed++];
    if (out_consumed == out_len) {
        out_len = 0;
        out_consumed = 0;
        usb_endpoint_start(&data_out, 0, USB_PACKET_SIZE);
    }
    return 1;
}

void usb_cdc_write(const uint8_t *data, size_t len)
{
    while (len > 0u) {
        size_t chunk = len > USB_PACKET_SIZE ? USB_PACKET_SIZE : len;
        while (configured && in_busy) {
            usb_cdc_poll();
        }
        if (!configured) {
            return; /* nobody to send to; the host retries its request once it is back */
        }
        in_busy = 1;
        usb_endpoint_start(&data_in, data, chunk);
        data += chunk;
        len -= chunk;
    }
}
