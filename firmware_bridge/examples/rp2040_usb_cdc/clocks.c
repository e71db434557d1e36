/* Clocks: 12 MHz crystal -> PLL_USB at 48 MHz -> clk_usb and clk_sys.
 *
 * The USB controller needs an exact 48 MHz clk_usb (datasheet 4.1.1), which only a PLL fed by the
 * crystal gives; the ring oscillator the bootrom leaves us on is far too imprecise. One PLL is
 * enough for this firmware, so clk_sys runs from the same 48 MHz and PLL_SYS stays off. */
#include "clocks.h"

#include "rp2040_regs.h"

/* 2.16.3: startup delay in units of 256 crystal cycles; 47 * 256 / 12 MHz is about 1 ms. */
#define XOSC_STARTUP_1MS 47u
/* 2.18.2: VCO = 12 MHz / REFDIV 1 * FBDIV 100 = 1200 MHz (inside 750..1600 MHz), then
 * 1200 / (POSTDIV1 5 * POSTDIV2 5) = 48 MHz. */
#define PLL_REFDIV 1u
#define PLL_FBDIV 100u
#define PLL_POSTDIV1 5u
#define PLL_POSTDIV2 5u

static void xosc_start(void)
{
    XOSC_CTRL = XOSC_CTRL_FREQ_1_15MHZ;
    XOSC_STARTUP = XOSC_STARTUP_1MS;
    XOSC_CTRL = XOSC_CTRL_FREQ_1_15MHZ | XOSC_CTRL_ENABLE;
    while ((XOSC_STATUS & XOSC_STATUS_STABLE) == 0u) {
    }
}

static void pll_usb_start(void)
{
    /* From reset, so the PLL is in a known state whatever the bootrom did (2.18.2). */
    RESETS_RESET_SET = RESET_PLL_USB;
    RESETS_RESET_CLR = RESET_PLL_USB;
    while ((RESETS_RESET_DONE & RESET_PLL_USB) == 0u) {
    }
    PLL_CS = PLL_REFDIV;
    PLL_FBDIV_INT = PLL_FBDIV;
    PLL_PWR &= ~(PLL_PWR_PD | PLL_PWR_VCOPD); /* VCO on; post dividers stay off until lock */
    while ((PLL_CS & PLL_CS_LOCK) == 0u) {
    }
    PLL_PRIM = (PLL_POSTDIV1 << PLL_PRIM_POSTDIV1_LSB) | (PLL_POSTDIV2 << PLL_PRIM_POSTDIV2_LSB);
    PLL_PWR &= ~PLL_PWR_POSTDIVPD;
}

void clocks_init(void)
{
    xosc_start();
    /* clk_ref and clk_sys have glitchless muxes (2.15.3.2): switch, then wait for SELECTED. */
    CLK_REF_DIV = CLK_DIV_ONE;
    CLK_REF_CTRL = CLK_REF_SRC_XOSC;
    while (CLK_REF_SELECTED != (1u << CLK_REF_SRC_XOSC)) {
    }
    /* clk_sys onto clk_ref while its auxiliary source (the PLL) changes under it. */
    CLK_SYS_CTRL = 0u;
    while (CLK_SYS_SELECTED != 1u) {
    }
    pll_usb_start();
    CLK_SYS_DIV = CLK_DIV_ONE;
    CLK_SYS_CTRL = CLK_SYS_AUXSRC_PLL_USB;
    CLK_SYS_CTRL = CLK_SYS_AUXSRC_PLL_USB | CLK_SYS_SRC_AUX;
    while (CLK_SYS_SELECTED != (1u << CLK_SYS_SRC_AUX)) {
    }
    /* clk_usb has no glitchless mux: change its source only while it is stopped (2.15.3.3). */
    CLK_USB_CTRL = 0u;
    CLK_USB_DIV = CLK_DIV_ONE;
    CLK_USB_CTRL = CLK_USB_ENABLE | CLK_USB_AUXSRC_PLL_USB;
}
