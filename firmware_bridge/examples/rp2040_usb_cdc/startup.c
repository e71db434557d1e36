/* Reset entry and vector table of the bare-metal RP2040 thermostat.
 *
 * boot2 (boot2.S) points VTOR at the table below and jumps to rp2040_reset with the stack set. We
 * copy .data from flash, zero .bss (C99 5.1.2: static storage starts initialised) and run main.
 * The firmware polls the USB controller, so no interrupt is enabled; NMI, HardFault, SVCall,
 * PendSV and SysTick land in a handler that parks the core, where a debugger finds it. */
#include <stdint.h>

extern uint32_t __stack_top;
extern uint32_t __data_start__[];
extern uint32_t __data_end__[];
extern uint32_t __data_load__[];
extern uint32_t __bss_start__[];
extern uint32_t __bss_end__[];
extern int main(void);

void rp2040_reset(void);
void rp2040_unexpected(void);

void rp2040_reset(void)
{
    /* Linker symbols mark addresses, not objects: walk the ranges as integers. */
    uintptr_t from = (uintptr_t)__data_load__;
    uintptr_t at;
    for (at = (uintptr_t)__data_start__; at < (uintptr_t)__data_end__; at += sizeof(uint32_t)) {
        *(uint32_t *)at = *(const uint32_t *)from;
        from += sizeof(uint32_t);
    }
    for (at = (uintptr_t)__bss_start__; at < (uintptr_t)__bss_end__; at += sizeof(uint32_t)) {
        *(uint32_t *)at = 0;
    }
    (void)main();
    for (;;) {
    }
}

void rp2040_unexpected(void)
{
    for (;;) {
    }
}

typedef void (*vector)(void);

/* The 16 Cortex-M0+ system entries only: no peripheral interrupt (datasheet 2.3.2) is enabled. */
#define UNEXPECTED rp2040_unexpected
__attribute__((section(".vectors"), used)) static const vector VECTORS[16] = {
    (vector)(uintptr_t)&__stack_top, rp2040_reset, UNEXPECTED, UNEXPECTED, 0, 0, 0, 0, 0, 0, 0,
    UNEXPECTED, 0, 0, UNEXPECTED, UNEXPECTED,
};
