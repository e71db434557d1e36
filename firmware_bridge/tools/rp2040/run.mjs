// Runs the bare-metal RP2040 thermostat (a UF2 file) in the rp2040js emulator and serves its USB
// CDC serial port on a TCP port, so the host bridge reaches it exactly as it reaches QEMU's UART:
// SerialDevice.open("socket://127.0.0.1:PORT").
//
//     node run.mjs build/thermostat_rp2040.uf2 5555
//
// rp2040js has no bootrom, so this script plays the bootrom's part for a flash boot (RP2040
// datasheet 2.8.1): it checks the CRC of the 256-byte boot2 at the start of flash, copies boot2 to
// SRAM at 0x20041f00 and starts the core there; boot2 then sets up XIP and enters the image, as on
// a real chip. rp2040js's USBCDC plays the USB host: it resets the bus, reads the descriptors,
// configures the device and raises DTR. Only then does the port listen (like /dev/ttyACM0
// appearing), one client at a time; bytes from the client go to bulk OUT, bulk IN goes back.
//
// Progress goes to stderr as "rp2040: ..." lines; the test waits for "rp2040: listening" and
// follows the Pico's LED (GPIO 25, the heating output) through "rp2040: led on|off".
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { ConsoleLogger, GPIOPinState, LogLevel, Simulator, USBCDC } from 'rp2040js';
import { probeControl } from './control_probe.mjs';

const FLASH_BASE = 0x10000000;
const SRAM_BASE = 0x20000000;
const BOOT2_SRAM = 0x20041f00; // where the bootrom copies boot2 (datasheet 2.8.1.3)
const BOOT2_STACK = 0x20042000; // the bootrom's stack top when it calls boot2
const APP_VECTORS = 0x10000100; // where boot2 points VTOR
const UF2_MAGIC = [0x0a324655, 0x9e5d5157];
const UF2_MAGIC_END = 0x0ab16f30;
const RP2040_FAMILY = 0xe48bff56;
const NANOS_PER_CYCLE = 1e9 / 125e6; // rp2040js keeps time as if clk_sys were 125 MHz
const SLICE_MS = 10; // emulate this long between turns of node's event loop

function fail(message) {
  process.stderr.write(`rp2040: ${message}\n`);
  process.exit(2);
}

// UF2 (github.com/microsoft/uf2): 512-byte blocks, each with its flash address and payload.
function loadUf2(mcu, data) {
  if (data.length === 0 || data.length % 512) fail('not a UF2 file: size is not a multiple of 512');
  for (let at = 0; at < data.length; at += 512) {
    const word = (i) => data.readUInt32LE(at + 4 * i);
    if (word(0) !== UF2_MAGIC[0] || word(1) !== UF2_MAGIC[1] || data.readUInt32LE(at + 508) !== UF2_MAGIC_END) {
      fail(`UF2 block ${at / 512}: bad magic`);
    }
    if (!(word(2) & 0x2000) || word(7) !== RP2040_FAMILY) fail(`UF2 block ${at / 512}: not for RP2040`);
    const address = word(3);
    const size = word(4);
    mcu.flash.set(data.subarray(at + 32, at + 32 + size), address - FLASH_BASE);
  }
}

// CRC-32/MPEG-2: polynomial 0x04C11DB7, MSB first, initial 0xFFFFFFFF, no final XOR.
function crc32Mpeg2(bytes) {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte << 24;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x80000000 ? (crc << 1) ^ 0x04c11db7 : crc << 1;
  }
  return crc >>> 0;
}

function bootLikeTheBootrom(mcu) {
  const boot2 = mcu.flash.subarray(0, 256);
  const stored = Buffer.from(boot2).readUInt32LE(252);
  if (crc32Mpeg2(boot2.subarray(0, 252)) !== stored) fail('boot2 CRC mismatch: the bootrom would not run it');
  mcu.sram.set(boot2, BOOT2_SRAM - SRAM_BASE);
  mcu.core.SP = BOOT2_STACK;
  mcu.core.PC = BOOT2_SRAM;
}

function main() {
  const [uf2Path, portText] = process.argv.slice(2);
  const port = Number(portText);
  if (!uf2Path || !Number.isInteger(port)) fail('usage: node run.mjs FIRMWARE.uf2 TCP_PORT');

  const simulator = new Simulator();
  const mcu = simulator.rp2040;
  const clock = simulator.clock;
  mcu.logger = new ConsoleLogger(LogLevel.Error); // its debug log of every USB transfer is slow
  loadUf2(mcu, readFileSync(uf2Path));
  bootLikeTheBootrom(mcu);

  // The Pico's LED, which the thermostat drives with its heating output.
  let ledOn = null;
  mcu.gpio[25].addListener((state) => {
    const on = state === GPIOPinState.High; // an undriven pin (input) reads as off
    if (on !== ledOn) process.stderr.write(`rp2040: led ${on ? 'on' : 'off'}\n`);
    ledOn = on;
  });
  const cdc = new USBCDC(mcu.usbCtrl);
  const toDevice = []; // Buffers from the TCP client not yet in USBCDC's 512-byte FIFO
  let client = null;
  let enumerated = false; // USBCDC configured the device
  let configured = false; // ... and our control probe is over: bulk data may flow

  const server = createServer((socket) => {
    if (client) {
      socket.destroy(); // one client at a time, like a serial port
      return;
    }
    client = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk) => toDevice.push(chunk));
    socket.on('close', () => {
      if (client === socket) client = null;
    });
    socket.on('error', () => {});
  });
  server.on('error', (error) => fail(`cannot serve 127.0.0.1:${port}: ${error.message}`));
  cdc.onDeviceConnected = () => {
    process.stderr.write('rp2040: USB configured\n');
    if (enumerated) return; // USBCDC reports this once; serve once whatever happens
    enumerated = true;
    // Before serving, the requests USBCDC does not make (control_probe.mjs), reported as JSON.
    probeControl(mcu, clock, (results) => {
      process.stderr.write(`rp2040: control probe ${JSON.stringify(results)}\n`);
      configured = true;
      server.listen(port, '127.0.0.1', () => process.stderr.write(`rp2040: listening on 127.0.0.1:${port}\n`));
    });
  };
  cdc.onSerialData = (bytes) => {
    if (client) client.write(Buffer.from(bytes));
  };

  // Feed waiting client bytes as the FIFO drains: USBCDC drops whatever does not fit.
  function feedDevice() {
    while (configured && toDevice.length && !cdc.txFIFO.full) {
      const chunk = toDevice[0];
      let used = 0;
      while (used < chunk.length && !cdc.txFIFO.full) cdc.sendSerialByte(chunk[used++]);
      if (used === chunk.length) toDevice.shift();
      else toDevice[0] = chunk.subarray(used);
    }
  }

  // The image's HardFault handler (vector 3 of the table boot2 starts): a core parked there has
  // crashed, which we report and end on instead of hanging until a test times out.
  const faultHandler = mcu.readUint32(APP_VECTORS + 3 * 4) & ~1;
  const { core } = mcu;
  function runSlice() {
    const until = performance.now() + SLICE_MS;
    while (performance.now() < until) {
      for (let i = 0; i < 10000; i++) {
        if (core.waiting) {
          clock.tick(clock.nanosToNextAlarm); // WFI: skip ahead to the next event
        } else {
          clock.tick(core.executeInstruction() * NANOS_PER_CYCLE);
        }
      }
      if ((core.PC & ~1) === faultHandler) fail(`the firmware faulted (PC 0x${faultHandler.toString(16)})`);
      feedDevice();
    }
    setImmediate(runSlice);
  }
  process.on('SIGTERM', () => process.exit(0));
  process.on('SIGINT', () => process.exit(0));
  process.stderr.write('rp2040: running\n');
  runSlice();
}

main();
