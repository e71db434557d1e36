/* Minimal Cortex-M startup for the QEMU test images: vector table, zeroed .bss, semihosting, main.
 *
 * Used only for the QEMU runs (tests and the example firmware), not part of the library. QEMU
 * loads every ELF segment at its address, .data included, so nothing is copied from flash. A fault
 * ends the run through semihosting with status 90, so a crash fails the test instead of hanging. */
#include <stdint.h>
#include <stdlib.h>

extern uint32_t __stack_top;
extern uint32_t __bss_start__[];
extern uint32_t __bss_end__[];
extern int main(void);
extern void initialise_monitor_handles(void);

void Reset_Handler(void);
void Fault_Handler(void);

void Reset_Handler(void)
{
    uintptr_t at;
    /* Linker symbols mark addresses, not objects: walk the range as integers. */
    for (at = (uintptr_t)__bss_start__; at < (uintptr_t)__bss_end__; at += sizeof(uint32_t)) {
        *(uint32_t *)at = 0;
    }
    initialise_monitor_handles();
    exit(main());
}

void Fault_Handler(void)
{
    _Exit(90);
}

typedef void (*vector)(void);

__attribute__((section(".vectors"), used)) static const vector VECTORS[16] = {
    (vector)(uintptr_t)&__stack_top, Reset_Handler, Fault_Handler, Fault_Handler,
    Fault_Handler, Fault_Handler, Fault_Handler, 0, 0, 0, 0, Fault_Handler, Fault_Handler, 0,
    Fault_Handler, Fault_Handler,
};
