// Control requests that rp2040js's USBCDC host never sends, sent to the emulated firmware after
// enumeration so the tests see how its EP0 code answers them: the device and string descriptors,
// GET/SET_LINE_CODING (with an OUT data stage), SET_CONTROL_LINE_STATE addressed to the
// interface, and a request the device must refuse with a STALL (USB 2.0 sections 8.5.3, 9.4).
//
// Our side plays the USB host on the emulated controller: a SETUP goes into DPRAM, IN packets come
// back through onEndpointWrite, and when the firmware arms EP0 OUT (an OUT data stage or the
// status stage after IN data) we answer through endpointReadDone. A transfer the firmware leaves
// unanswered for TIMEOUT_NS of emulated time is reported as stalled if EP0 IN carries STALL.

const PACKET = 64;
const TIMEOUT_NS = 2e6;
const EP0_IN_BUFFER_CONTROL = 0x80;
const BUFFER_STALL = 1 << 11;

function setupPacket(requestType, request, value, index, length) {
  return new Uint8Array([requestType, request, value & 0xff, value >> 8, index & 0xff, index >> 8, length & 0xff, length >> 8]);
}

// Runs each request in turn; calls done(results) with one entry per request.
export function probeControl(mcu, clock, done) {
  const usb = mcu.usbCtrl;
  const savedWrite = usb.onEndpointWrite;
  const savedRead = usb.onEndpointRead;
  const requests = [
    { name: 'device_descriptor', setup: setupPacket(0x80, 6, 0x0100, 0, 18) },
    { name: 'language_ids', setup: setupPacket(0x80, 6, 0x0300, 0, 255) },
    { name: 'product_string', setup: setupPacket(0x80, 6, 0x0302, 0x0409, 255) },
    { name: 'line_coding_default', setup: setupPacket(0xa1, 0x21, 0, 0, 7) },
    // 9600 baud, 1 stop bit, no parity, 8 data bits (PSTN 1.2 table 17)
    { name: 'set_line_coding', setup: setupPacket(0x21, 0x20, 0, 0, 7), out: [0x80, 0x25, 0, 0, 0, 0, 8] },
    { name: 'line_coding_after_set', setup: setupPacket(0xa1, 0x21, 0, 0, 7) },
    { name: 'control_line_state', setup: setupPacket(0x21, 0x22, 3, 0, 0) },
    { name: 'device_qualifier', setup: setupPacket(0x80, 6, 0x0600, 0, 10) },
    { name: 'vendor_request', setup: setupPacket(0xc0, 0x42, 0, 0, 4) },
  ];
  const results = {};
  let current = null;
  const timeout = clock.createAlarm(() => {
    const stalled = (mcu.usbDPRAMView.getUint32(EP0_IN_BUFFER_CONTROL, true) & BUFFER_STALL) !== 0;
    finish({ stalled, timedOut: !stalled });
  });

  function finish(result) {
    timeout.cancel();
    results[current.name] = { data: current.data, ...result };
    current = null;
    next();
  }

  function next() {
    const request = requests.shift();
    if (!request) {
      usb.onEndpointWrite = savedWrite;
      usb.onEndpointRead = savedRead;
      done(results);
      return;
    }
    const length = request.setup[6] | (request.setup[7] << 8);
    current = { ...request, length, data: [], dataDone: length === 0 || !(request.setup[0] & 0x80) };
    timeout.schedule(TIMEOUT_NS);
    usb.sendSetupPacket(request.setup);
  }

  // After IN data the firmware arms EP0 OUT for the status stage as soon as its last packet is
  // taken, which is before onEndpointWrite delivers that packet; answer once both have happened.
  function answerStatusStage() {
    if (!current.dataDone || !current.statusArmed || current.statusSent) return;
    current.statusSent = true;
    usb.endpointReadDone(0, new Uint8Array(0));
    const name = current.name;
    const settle = clock.createAlarm(() => current?.name === name && finish({ stalled: false }));
    settle.schedule(50e3); // the firmware sees our zero-length packet a little later
  }

  usb.onEndpointWrite = (endpoint, buffer) => {
    if (endpoint !== 0) return savedWrite?.(endpoint, buffer);
    if (!current) return undefined;
    if (!current.dataDone) {
      current.data.push(...buffer);
      current.dataDone = buffer.length < PACKET || current.data.length >= current.length;
      answerStatusStage();
    } else if (buffer.length === 0) {
      finish({ stalled: false }); // the status stage of a request without IN data
    }
    return undefined;
  };
  usb.onEndpointRead = (endpoint, size) => {
    if (endpoint !== 0) return savedRead?.(endpoint, size);
    if (!current) return undefined;
    if (current.out && !current.sentOut) {
      current.sentOut = true;
      usb.endpointReadDone(0, new Uint8Array(current.out)); // the OUT data stage
    } else {
      current.statusArmed = true;
      answerStatusStage();
    }
    return undefined;
  };
  next();
}
