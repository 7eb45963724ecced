// A minimal Modbus TCP client (function 3, read holding registers) to read the simulator's registers directly,
// independently of Home Assistant, the integration and pymodbus. Register addresses are the protocol addresses
// that the vendor library reads (see the register table of docs/simulator.md); a single-port charger is unit 1.
import net from 'node:net';

let transactionId = 0;

/**
 * Read `count` holding registers from `address` of unit `unit`; resolves to an array of unsigned 16-bit words.
 * Rejects on an exception answer, a closed connection or after `timeoutMs`.
 */
export function readHoldingRegisters({ host, port, unit = 1, address, count, timeoutMs = 3000 }) {
  return new Promise((resolve, reject) => {
    const id = (transactionId = (transactionId + 1) & 0xffff);
    const request = Buffer.alloc(12);
    request.writeUInt16BE(id, 0); // transaction id
    request.writeUInt16BE(0, 2); // protocol id: Modbus
    request.writeUInt16BE(6, 4); // length of what follows
    request.writeUInt8(unit, 6);
    request.writeUInt8(3, 7); // read holding registers
    request.writeUInt16BE(address, 8);
    request.writeUInt16BE(count, 10);

    let answer = Buffer.alloc(0);
    const socket = net.createConnection({ host, port });
    const fail = (error) => {
      socket.destroy();
      reject(error);
    };
    socket.setTimeout(timeoutMs, () => fail(new Error(`no Modbus answer from ${host}:${port} in ${timeoutMs} ms`)));
    socket.on('error', fail);
    socket.on('connect', () => socket.write(request));
    socket.on('data', (chunk) => {
      answer = Buffer.concat([answer, chunk]);
      if (answer.length < 6 || answer.length < 6 + answer.readUInt16BE(4)) return;
      socket.destroy();
      if (answer.readUInt16BE(0) !== id) return reject(new Error('Modbus answer to another transaction'));
      const functionCode = answer.readUInt8(7);
      if (functionCode !== 3) return reject(new Error(`Modbus exception ${answer.readUInt8(8)} for ${address}`));
      const words = [];
      for (let i = 0; i < answer.readUInt8(8) / 2; i++) words.push(answer.readUInt16BE(9 + 2 * i));
      resolve(words);
    });
    socket.on('close', () => reject(new Error('Modbus connection closed before the answer')));
  });
}

const int16 = (word) => (word & 0x8000 ? word - 0x10000 : word);
const int32 = (high, low) => ((high << 16) | low) >> 0;
const ascii = (words) =>
  String.fromCharCode(...words.flatMap((word) => [word >> 8, word & 0xff])).replace(/\0+$/, '');

/**
 * What the charger's port reports now, decoded as the vendor library decodes it: total power in W, imported
 * energy in Wh, current offered in A, the IEC 61851 Mode 3 state as text (e.g. "C2") and the EMS limit in A
 * (null when no limit is set, the register's -1).
 */
export async function readCharger({ host, port, unit = 1 }) {
  const measurements = await readHoldingRegisters({ host, port, unit, address: 200, count: 18 });
  const mode3 = await readHoldingRegisters({ host, port, unit, address: 300, count: 3 });
  const [emsLimit] = await readHoldingRegisters({ host, port, unit, address: 400, count: 1 });
  const [currentOffered] = await readHoldingRegisters({ host, port, unit, address: 417, count: 1 });
  const limitMa = int16(emsLimit);
  return {
    powerW: int16(measurements[6]),
    energyWh: int32(measurements[16], measurements[17]),
    currentOfferedA: currentOffered / 1000,
    mode3: ascii(mode3.slice(1, 3)),
    emsLimitA: limitMa < 0 ? null : limitMa / 1000,
  };
}
