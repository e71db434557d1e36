/* Clock setup of the bare-metal RP2040 thermostat; see clocks.c. */
#ifndef RP2040_CLOCKS_H
#define RP2040_CLOCKS_H

void clocks_init(void);

#endif
