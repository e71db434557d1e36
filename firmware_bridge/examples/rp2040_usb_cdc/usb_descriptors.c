/* USB descriptors of the thermostat (USB 2.0 chapter 9.6; CDC 1.2 and PSTN 1.2 for the class).
 *
 * A CDC-ACM device is two interfaces: a communication interface (class 02h, subclass 02h ACM)
 * with an interrupt endpoint for notifications, and a data interface (class 0Ah) with one bulk
 * endpoint each way. Operating systems bind their stock serial driver to this (Linux cdc_acm,
 * /dev/ttyACMn; macOS; Windows 10+ usbser), so no host driver is needed.
 *
 * VID 1209h / PID 0001h is the pid.codes test PID, free for development but not for a product. */
#include "usb_descriptors.h"

#include "usb_endpoint.h"

#define DESC_DEVICE 1u
#define DESC_CONFIGURATION 2u
#define DESC_STRING 3u
#define CS_INTERFACE 0x24u
#define CONFIG_TOTAL_LENGTH 67u

static const uint8_t DEVICE[18] = {
    18, DESC_DEVICE, 0x00, 0x02, /* bcdUSB 2.00 */
    0x02, 0x00, 0x00,            /* class CDC at device level, so old hosts pick a CDC driver */
    USB_PACKET_SIZE,             /* bMaxPacketSize0 */
    0x09, 0x12, 0x01, 0x00,      /* idVendor 1209h, idProduct 0001h */
    0x00, 0x01,                  /* bcdDevice 1.00 */
    1, 2, 3,                     /* manufacturer, product, serial number strings */
    1,                           /* one configuration */
};

static const uint8_t CONFIGURATION[CONFIG_TOTAL_LENGTH] = {
    /* configuration 1: two interfaces, bus powered, 100 mA */
    9, DESC_CONFIGURATION, CONFIG_TOTAL_LENGTH, 0, 2, 1, 0, 0x80, 50,
    /* interface 0: communication class, ACM, no AT command protocol, one endpoint */
    9, 4, 0, 0, 1, 0x02, 0x02, 0x00, 0,
    /* functional descriptors: header (CDC 1.10), call management (none, data on interface 1),
     * ACM (bit 1: line coding and control line state requests), union (0 controls 1) */
    5, CS_INTERFACE, 0x00, 0x10, 0x01,
    5, CS_INTERFACE, 0x01, 0x00, 1,
    4, CS_INTERFACE, 0x02, 0x02,
    5, CS_INTERFACE, 0x06, 0, 1,
    /* endpoint 0x81 interrupt IN, polled every 16 ms */
    7, 5, 0x80 | CDC_NOTIFY_EP, 0x03, CDC_NOTIFY_PACKET_SIZE, 0, 16,
    /* interface 1: CDC data, two endpoints */
    9, 4, 1, 0, 2, 0x0A, 0x00, 0x00, 0,
    /* endpoints 0x02 bulk OUT and 0x82 bulk IN, 64 bytes */
    7, 5, CDC_DATA_EP, 0x02, USB_PACKET_SIZE, 0, 0,
    7, 5, 0x80 | CDC_DATA_EP, 0x02, USB_PACKET_SIZE, 0, 0,
};

/* String 0 lists the languages (0409h US English); the others are ASCII here, UTF-16LE on the
 * wire (9.6.7), converted when asked so flash holds each character once. */
static const char *const STRINGS[] = {"edge_dan", "edge_dan thermostat", "EDB-0001"};

static size_t copy(const uint8_t *from, size_t len, uint8_t *out, size_t out_size)
{
    size_t i;
    if (len > out_size) {
        len = out_size;
    }
    for (i = 0; i < len; i++) {
        out[i] = from[i];
    }
    return len;
}

static size_t string_descriptor(uint8_t index, uint8_t *out, size_t out_size)
{
    const char *text;
    size_t n = 0;
    if (index == 0u) {
        static const uint8_t LANGUAGES[4] = {4, DESC_STRING, 0x09, 0x04};
        return copy(LANGUAGES, sizeof LANGUAGES, out, out_size);
    }
    if (index > sizeof STRINGS / sizeof STRINGS[0]) {
        return 0;
    }
    text = STRINGS[index - 1u];
    while (text[n] != '\0' && 2u + 2u * (n + 1u) <= out_size) {
        out[2u + 2u * n] = (uint8_t)text[n];
        out[3u + 2u * n] = 0;
        n++;
    }
    out[0] = (uint8_t)(2u + 2u * n);
    out[1] = DESC_STRING;
    return 2u + 2u * n;
}

size_t usb_descriptor(uint16_t type_and_index, uint8_t *out, size_t out_size)
{
    uint8_t index = (uint8_t)(type_and_index & 0xFFu);
    switch (type_and_index >> 8) {
    case DESC_DEVICE:
        return copy(DEVICE, sizeof DEVICE, out, out_size);
    case DESC_CONFIGURATION:
        return index == 0u ? copy(CONFIGURATION, sizeof CONFIGURATION, out, out_size) : 0u;
    case DESC_STRING:
        return string_descriptor(index, out, out_size);
    default:
        return 0; /* includes the device qualifier: a full-speed-only device stalls it (9.6.2) */
    }
}
