/* Control transfers on EP0; see usb_control.h.
 *
 * A control transfer (USB 2.0 section 8.5.3) is SETUP, an optional data stage, then a status
 * stage in the other direction. Data stages start at DATA1; the status stage is a zero-length
 * packet with DATA1. We answer GET_DESCRIPTOR, SET_ADDRESS, SET_CONFIGURATION, GET_STATUS,
 * GET_CONFIGURATION, CLEAR_FEATURE and SET_INTERFACE (alternate 0) from chapter 9, and the class
 * requests a CDC-ACM host sends when it opens the port; anything else gets a STALL. */
#include "usb_control.h"

#include "rp2040_regs.h"
#include "usb_descriptors.h"
#include "usb_endpoint.h"

/* bmRequestType bits 6:5 (9.3.1) */
#define REQUEST_TYPE_MASK 0x60u
#define REQUEST_STANDARD 0x00u
#define REQUEST_CLASS 0x20u
/* Standard requests (table 9-4) */
#define GET_STATUS 0u
#define CLEAR_FEATURE 1u
#define SET_ADDRESS 5u
#define GET_DESCRIPTOR 6u
#define GET_CONFIGURATION 8u
#define SET_CONFIGURATION 9u
#define SET_INTERFACE 11u
/* CDC PSTN requests (PSTN 1.2 table 13) */
#define SET_LINE_CODING 0x20u
#define GET_LINE_CODING 0x21u
#define SET_CONTROL_LINE_STATE 0x22u
#define SEND_BREAK 0x23u
#define LINE_CODING_SIZE 7u

typedef enum { STAGE_IDLE, STAGE_DATA_IN, STAGE_STATUS_IN, STAGE_DATA_OUT, STAGE_STATUS_OUT } stage;

typedef struct {
    uint8_t request_type;
    uint8_t request;
    uint16_t value;
    uint16_t length; /* wIndex (bytes 4, 5) names an interface; one interface takes requests */
} setup_packet;

static usb_endpoint ep0_in = {0, 1, USB_EP0_BUFFER_OFFSET, 1};
static usb_endpoint ep0_out = {0, 0, USB_EP0_BUFFER_OFFSET, 1};
static stage current = STAGE_IDLE;
static uint8_t reply[96];     /* the data stage IN, sent 64 bytes at a time */
static uint16_t reply_len;
static uint16_t reply_sent;
static uint8_t reply_zlp;     /* end a short reply that fills its last packet with a ZLP */
static uint8_t new_address;   /* takes effect after the status stage (9.4.6) */
static uint8_t configuration;
/* 115200 8N1 until the host says otherwise; the baud rate means nothing on USB but hosts read it */
static uint8_t line_coding[LINE_CODING_SIZE] = {0x00, 0xC2, 0x01, 0x00, 0, 0, 8};

void usb_control_reset(void)
{
    USB_ADDR_ENDP = 0u;
    current = STAGE_IDLE;
    new_address = 0;
    configuration = 0;
}

static void send_next_packet(void)
{
    uint16_t left = (uint16_t)(reply_len - reply_sent);
    uint16_t chunk = left > USB_PACKET_SIZE ? (uint16_t)USB_PACKET_SIZE : left;
    usb_endpoint_start(&ep0_in, reply + reply_sent, chunk);
    reply_sent = (uint16_t)(reply_sent + chunk);
}

/* Data stage IN: at most what the host asked for (9.3.5); a shorter reply that ends on a packet
 * boundary needs a zero-length packet so the host knows it is over (5.5.3). */
static void reply_with(uint16_t len, uint16_t host_wants)
{
    reply_len = len < host_wants ? len : host_wants;
    reply_sent = 0;
    reply_zlp = reply_len != 0u && reply_len < host_wants && reply_len % USB_PACKET_SIZE == 0u;
    current = STAGE_DATA_IN;
    send_next_packet();
}

static void acknowledge(void)
{
    current = STAGE_STATUS_IN;
    usb_endpoint_start(&ep0_in, 0, 0);
}

static void stall(void)
{
    current = STAGE_IDLE;
    usb_endpoint_stall_ep0();
}

static usb_control_event standard_request(const setup_packet *s)
{
    size_t len;
    switch (s->request) {
    case GET_DESCRIPTOR:
        len = usb_descriptor(s->value, reply, sizeof reply);
        if (len == 0u) {
            stall();
        } else {
            reply_with((uint16_t)len, s->length);
        }
        return USB_CONTROL_NOTHING;
    case SET_ADDRESS:
        new_address = (uint8_t)(s->value & 0x7Fu);
        acknowledge();
        return USB_CONTROL_NOTHING;
    case SET_CONFIGURATION:
        if (s->value > 1u) {
            stall();
            return USB_CONTROL_NOTHING;
        }
        configuration = (uint8_t)s->value;
        acknowledge();
        return configuration ? USB_CONTROL_CONFIGURED : USB_CONTROL_DECONFIGURED;
    case GET_CONFIGURATION:
        reply[0] = configuration;
        reply_with(1, s->length);
        return USB_CONTROL_NOTHING;
    case GET_STATUS: /* bus powered, no remote wakeup, no endpoint halted: all zero */
        reply[0] = 0;
        reply[1] = 0;
        reply_with(2, s->length);
        return USB_CONTROL_NOTHING;
    case CLEAR_FEATURE:
        acknowledge(); /* we never halt an endpoint, so there is nothing to clear */
        return USB_CONTROL_NOTHING;
    case SET_INTERFACE:
        if (s->value == 0u) {
            acknowledge(); /* alternate setting 0 is the only one */
        } else {
            stall();
        }
        return USB_CONTROL_NOTHING;
    default:
        stall();
        return USB_CONTROL_NOTHING;
    }
}

static void class_request(const setup_packet *s)
{
    uint8_t i;
    switch (s->request) {
    case SET_LINE_CODING: /* 7 bytes follow in a data stage OUT */
        current = STAGE_DATA_OUT;
        usb_endpoint_start(&ep0_out, 0, USB_PACKET_SIZE);
        break;
    case GET_LINE_CODING:
        for (i = 0; i < LINE_CODING_SIZE; i++) {
            reply[i] = line_coding[i];
        }
        reply_with(LINE_CODING_SIZE, s->length);
        break;
    case SET_CONTROL_LINE_STATE:
        /* DTR and RTS: we answer whether or not a program holds the port open, so ignore them */
        acknowledge();
        break;
    case SEND_BREAK:
        acknowledge(); /* a break means nothing to the frame layer */
        break;
    default:
        stall();
        break;
    }
}

usb_control_event usb_control_setup(void)
{
    const volatile uint8_t *raw = USB_DPRAM_SETUP;
    setup_packet s;
    s.request_type = raw[0];
    s.request = raw[1];
    s.value = (uint16_t)(raw[2] | (raw[3] << 8));
    s.length = (uint16_t)(raw[6] | (raw[7] << 8));
    ep0_in.data1 = 1;
    ep0_out.data1 = 1;
    switch (s.request_type & REQUEST_TYPE_MASK) {
    case REQUEST_STANDARD:
        return standard_request(&s);
    case REQUEST_CLASS:
        /* Taken whatever the recipient bits say: some hosts address the ACM requests to the
         * device rather than to interface 0. */
        class_request(&s);
        return USB_CONTROL_NOTHING;
    default:
        stall();
        return USB_CONTROL_NOTHING;
    }
}

void usb_control_ep0_done(int is_in)
{
    size_t i;
    if (is_in && current == STAGE_DATA_IN) {
        if (reply_sent < reply_len) {
            send_next_packet();
        } else if (reply_zlp) {
            reply_zlp = 0;
            usb_endpoint_start(&ep0_in, 0, 0);
        } else {
            current = STAGE_STATUS_OUT; /* the host ends the transfer with a ZLP to us */
            usb_endpoint_start(&ep0_out, 0, USB_PACKET_SIZE);
        }
    } else if (is_in && current == STAGE_STATUS_IN) {
        if (new_address != 0u) {
            USB_ADDR_ENDP = new_address;
            new_address = 0;
        }
        current = STAGE_IDLE;
    } else if (!is_in && current == STAGE_DATA_OUT) {
        if (usb_endpoint_received(&ep0_out) >= LINE_CODING_SIZE) {
            for (i = 0; i < LINE_CODING_SIZE; i++) {
                line_coding[i] = usb_endpoint_data(&ep0_out)[i];
            }
        }
        acknowledge();
    } else if (!is_in && current == STAGE_STATUS_OUT) {
        current = STAGE_IDLE;
    }
}
