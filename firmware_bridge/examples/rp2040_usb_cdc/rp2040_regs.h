/* RP2040 register addresses and bits this firmware uses, named after the RP2040 datasheet.
 *
 * Only what the bare-metal thermostat touches: resets (datasheet 2.14), clocks (2.15), the crystal
 * oscillator (2.16), PLL_USB (2.18), one GPIO (2.19, 2.3.1) and the USB controller (4.1). Every peripheral register block
 * also has atomic set and clear aliases at +0x2000 and +0x3000 (2.1.2), which let us change a few
 * bits without a read-modify-write race. */
#ifndef RP2040_REGS_H
#define RP2040_REGS_H

#include <stdint.h>

#define REG32(addr) (*(volatile uint32_t *)(uintptr_t)(addr))
#define ALIAS_SET 0x2000u
#define ALIAS_CLR 0x3000u

/* 2.14 Subsystem resets */
#define RESETS_BASE 0x4000C000u
#define RESETS_RESET REG32(RESETS_BASE + 0x0u)
#define RESETS_RESET_CLR REG32(RESETS_BASE + ALIAS_CLR + 0x0u)
#define RESETS_RESET_SET REG32(RESETS_BASE + ALIAS_SET + 0x0u)
#define RESETS_RESET_DONE REG32(RESETS_BASE + 0x8u)
#define RESET_IO_BANK0 (1u << 5)
#define RESET_PADS_BANK0 (1u << 8)
#define RESET_PLL_USB (1u << 13)
#define RESET_USBCTRL (1u << 24)

/* 2.19 GPIO: function select per pin, and 2.3.1 SIO: the processor's own GPIO output */
#define IO_BANK0_GPIO_CTRL(pin) REG32(0x40014004u + 8u * (pin))
#define GPIO_FUNC_SIO 5u
#define SIO_GPIO_OUT_SET REG32(0xD0000014u)
#define SIO_GPIO_OUT_CLR REG32(0xD0000018u)
#define SIO_GPIO_OE_SET REG32(0xD0000024u)

/* 2.16 XOSC: 12 MHz crystal on the Pico */
#define XOSC_BASE 0x40024000u
#define XOSC_CTRL REG32(XOSC_BASE + 0x00u)
#define XOSC_STATUS REG32(XOSC_BASE + 0x04u)
#define XOSC_STARTUP REG32(XOSC_BASE + 0x0Cu)
#define XOSC_CTRL_FREQ_1_15MHZ 0xAA0u
#define XOSC_CTRL_ENABLE (0xFABu << 12)
#define XOSC_STATUS_STABLE (1u << 31)

/* 2.18 PLL (PLL_USB) */
#define PLL_USB_BASE 0x4002C000u
#define PLL_CS REG32(PLL_USB_BASE + 0x0u)
#define PLL_PWR REG32(PLL_USB_BASE + 0x4u)
#define PLL_FBDIV_INT REG32(PLL_USB_BASE + 0x8u)
#define PLL_PRIM REG32(PLL_USB_BASE + 0xCu)
#define PLL_CS_LOCK (1u << 31)
#define PLL_PWR_PD (1u << 0)
#define PLL_PWR_POSTDIVPD (1u << 3)
#define PLL_PWR_VCOPD (1u << 5)
#define PLL_PRIM_POSTDIV1_LSB 16u
#define PLL_PRIM_POSTDIV2_LSB 12u

/* 2.15 Clocks: each generator has CTRL, DIV, SELECTED, 12 bytes apart */
#define CLOCKS_BASE 0x40008000u
#define CLK_REF_CTRL REG32(CLOCKS_BASE + 0x30u)
#define CLK_REF_DIV REG32(CLOCKS_BASE + 0x34u)
#define CLK_REF_SELECTED REG32(CLOCKS_BASE + 0x38u)
#define CLK_SYS_CTRL REG32(CLOCKS_BASE + 0x3Cu)
#define CLK_SYS_DIV REG32(CLOCKS_BASE + 0x40u)
#define CLK_SYS_SELECTED REG32(CLOCKS_BASE + 0x44u)
#define CLK_USB_CTRL REG32(CLOCKS_BASE + 0x54u)
#define CLK_USB_DIV REG32(CLOCKS_BASE + 0x58u)
#define CLK_REF_SRC_XOSC 2u
#define CLK_SYS_SRC_AUX 1u
#define CLK_SYS_AUXSRC_PLL_USB (1u << 5)
#define CLK_USB_ENABLE (1u << 11)
#define CLK_USB_AUXSRC_PLL_USB (0u << 5)
#define CLK_DIV_ONE (1u << 8) /* integer part in bits 31:8 */

/* 4.1.4 USB controller registers */
#define USB_BASE 0x50110000u
#define USB_ADDR_ENDP REG32(USB_BASE + 0x00u)
#define USB_MAIN_CTRL REG32(USB_BASE + 0x40u)
#define USB_SIE_CTRL REG32(USB_BASE + 0x4Cu)
#define USB_SIE_CTRL_SET REG32(USB_BASE + ALIAS_SET + 0x4Cu)
#define USB_SIE_STATUS REG32(USB_BASE + 0x50u)
#define USB_BUFF_STATUS REG32(USB_BASE + 0x58u)
#define USB_EP_STALL_ARM REG32(USB_BASE + 0x68u)
#define USB_MUXING REG32(USB_BASE + 0x74u)
#define USB_PWR REG32(USB_BASE + 0x78u)
#define USB_INTE REG32(USB_BASE + 0x90u)
#define USB_INTS REG32(USB_BASE + 0x98u)

#define USB_MAIN_CTRL_CONTROLLER_EN (1u << 0)
#define USB_SIE_CTRL_EP0_INT_1BUF (1u << 29)
#define USB_SIE_CTRL_PULLUP_EN (1u << 16)
#define USB_SIE_STATUS_BUS_RESET (1u << 19)
#define USB_SIE_STATUS_SETUP_REC (1u << 17)
#define USB_MUXING_TO_PHY (1u << 0)
#define USB_MUXING_SOFTCON (1u << 3)
#define USB_PWR_VBUS_DETECT (1u << 2)
#define USB_PWR_VBUS_DETECT_OVERRIDE_EN (1u << 3)
#define USB_INT_BUFF_STATUS (1u << 4)
#define USB_INT_BUS_RESET (1u << 12)
#define USB_INT_SETUP_REQ (1u << 16)

/* 4.1.2.5 USB DPRAM (device mode): the SETUP packet, endpoint control and buffer control words,
 * then data buffers from 0x100 (EP0 IN and OUT share the one at 0x100). */
#define USB_DPRAM_BASE 0x50100000u
#define USB_DPRAM_SIZE 4096u
#define USB_DPRAM_SETUP ((volatile const uint8_t *)(uintptr_t)USB_DPRAM_BASE)
#define USB_EP_CTRL(ep, out) REG32(USB_DPRAM_BASE + 0x8u * (ep) + ((out) ? 4u : 0u))
#define USB_BUF_CTRL(ep, out) REG32(USB_DPRAM_BASE + 0x80u + 0x8u * (ep) + ((out) ? 4u : 0u))
#define USB_EP0_BUFFER_OFFSET 0x100u

#define USB_EP_CTRL_ENABLE (1u << 31)
#define USB_EP_CTRL_INT_PER_BUFFER (1u << 29)
#define USB_EP_CTRL_TYPE_LSB 26u
#define USB_BUF_CTRL_FULL (1u << 15)
#define USB_BUF_CTRL_DATA1 (1u << 13)
#define USB_BUF_CTRL_STALL (1u << 11)
#define USB_BUF_CTRL_AVAILABLE (1u << 10)
#define USB_BUF_CTRL_LEN_MASK 0x3FFu

#endif
