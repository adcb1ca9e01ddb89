import { randomFillSync } from 'node:crypto';

const SERIAL_BYTES = 16;
const POOL_SERIALS = 256;

/**
 * Random certificate serials of up to 128 bits, never zero, as big-endian
 * unsigned bytes (Go's x509 draws the same). Random bytes are drawn 4 KiB at
 * a time: one `randomBytes(16)` per certificate costs more than the DER.
 */
export class SerialSource {
  private readonly pool = Buffer.allocUnsafe(SERIAL_BYTES * POOL_SERIALS);
  private next = POOL_SERIALS;

  /** The next serial: a view into the pool, valid until the next call. */
  draw(): Buffer {
    for (;;) {
      if (this.next === POOL_SERIALS) {
        randomFillSync(this.pool);
        this.next = 0;
      }
      const start = this.next++ * SERIAL_BYTES;
      const serial = this.pool.subarray(start, start + SERIAL_BYTES);
      if (serial.some((byte) => byte !== 0)) return serial;
    }
  }
}

/** One serial, for the rare certificates made outside an issuer. */
export function randomSerial(): Buffer {
  return Buffer.from(new SerialSource().draw());
}
