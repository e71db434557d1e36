/* Second-stage bootloader ("boot2"): make the flash readable through XIP, then start the image.
 *
 * RP2040 datasheet 2.8.1: the bootrom copies the first 256 bytes of flash to SRAM at 0x20041f00,
 * checks that the CRC32 in the last 4 of them matches the first 252, and jumps here (Thumb). The
 * bootrom leaves the SSI (the flash interface, 4.10) in a state meant only for this copy; we set it
 * up for execute-in-place with the plainest command every SPI flash understands, 03h READ: one
 * data line, 24-bit address, no dummy cycles. Slow (SCK = clk_sys / 4) but valid for any flash.
 * tools/rp2040/boot2_crc.py pads this code to 252 bytes and appends the CRC at build time.
 *
 * The code runs from SRAM, so everything is PC-relative (literal pool) or absolute. */
    .syntax unified
    .cpu cortex-m0plus
    .thumb

    .equ SSI_BASE, 0x18000000
    .equ SSI_CTRLR0, 0x00
    .equ SSI_CTRLR1, 0x04
    .equ SSI_SSIENR, 0x08
    .equ SSI_BAUDR, 0x14
    .equ SSI_SPI_CTRLR0, 0xf4
    /* CTRLR0: TMOD (9:8) = 3 "EEPROM read": send command + address, then only receive; DFS_32
     * (20:16) = 31: 32-bit data frames; SPI_FRF (22:21) = 0: standard one-line SPI. */
    .equ CTRLR0_XIP, (3 << 8) | (31 << 16)
    /* SPI_CTRLR0: XIP_CMD (31:24) = 0x03 READ, INST_L (9:8) = 2: 8-bit instruction, ADDR_L (5:2)
     * = 6: address of 6 nibbles (24 bits), TRANS_TYPE (1:0) = 0: command and address on one line. */
    .equ SPI_CTRLR0_XIP, (0x03 << 24) | (2 << 8) | (6 << 2)
    .equ BAUDR_DIV4, 4
    /* Where our image starts after boot2, and the Cortex-M0+ vector table offset register. */
    .equ APP_VECTORS, 0x10000100
    .equ PPB_VTOR, 0xe000ed08

    .section .text.boot2, "ax"
    .global boot2_entry
    .type boot2_entry, %function
boot2_entry:
    ldr r3, =SSI_BASE
    movs r0, #0
    str r0, [r3, #SSI_SSIENR]      /* the SSI takes new settings only while disabled */
    movs r0, #BAUDR_DIV4
    str r0, [r3, #SSI_BAUDR]
    ldr r0, =CTRLR0_XIP
    str r0, [r3, #SSI_CTRLR0]
    ldr r0, =SPI_CTRLR0_XIP
    ldr r1, =SSI_BASE + SSI_SPI_CTRLR0  /* offset too large for a Thumb str immediate */
    str r0, [r1]
    movs r0, #0
    str r0, [r3, #SSI_CTRLR1]      /* NDF = 0: one 32-bit frame per XIP access */
    movs r0, #1
    str r0, [r3, #SSI_SSIENR]
    /* Start the image as the core would after reset: VTOR, then SP and PC from its table. */
    ldr r0, =APP_VECTORS
    ldr r1, =PPB_VTOR
    str r0, [r1]
    ldmia r0!, {r1, r2}
    msr msp, r1
    bx r2
    .ltorg
