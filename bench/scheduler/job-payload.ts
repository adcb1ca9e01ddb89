/**
 * A job's `data`: a google.protobuf.Any holding a google.protobuf.Value
 * (what daprd's HTTP Jobs API stores) whose string_value is
 * `<due instant, ms since the epoch>:<job index>`. The scheduler hands
 * `data` back unchanged in each trigger, so the receiver learns the exact
 * instant the job was due without keeping any table of its own.
 */

export const PAYLOAD_TYPE_URL = 'type.googleapis.com/google.protobuf.Value';

/** google.protobuf.Value.string_value: field 3, length-delimited. */
const STRING_VALUE_TAG = (3 << 3) | 2;

export interface AnyMessage {
  readonly type_url: string;
  readonly value: Buffer;
}

export interface JobPayload {
  readonly dueMs: number;
  readonly index: number;
}

function encodeVarint(n: number): number[] {
  const bytes: number[] = [];
  while (n > 0x7f) {
    bytes.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  bytes.push(n);
  return bytes;
}

export function encodePayload(payload: JobPayload): AnyMessage {
  if (!Number.isSafeInteger(payload.dueMs) || payload.dueMs < 0) throw new Error(`due instant must be a whole number of ms, got ${payload.dueMs}`);
  if (!Number.isSafeInteger(payload.index) || payload.index < 0) throw new Error(`job index must be a whole number, got ${payload.index}`);
  const text = Buffer.from(`${payload.dueMs}:${payload.index}`, 'utf8');
  return { type_url: PAYLOAD_TYPE_URL, value: Buffer.concat([Buffer.from([STRING_VALUE_TAG, ...encodeVarint(text.length)]), text]) };
}

/** The payload of a trigger's data, or undefined when it is not one this bench wrote. */
export function decodePayload(data: { type_url?: string; value?: Uint8Array | null } | null | undefined): JobPayload | undefined {
  if (!data || data.type_url !== PAYLOAD_TYPE_URL || !data.value) return undefined;
  const bytes = data.value;
  if (bytes[0] !== STRING_VALUE_TAG) return undefined;
  let length = 0;
  let shift = 1;
  let at = 1;
  for (; at < bytes.length && at < 6; at++) {
    const b = bytes[at]!;
    length += (b & 0x7f) * shift;
    shift *= 128;
    if ((b & 0x80) === 0) break;
  }
  at++;
  if (at + length !== bytes.length) return undefined;
  const match = /^(\d{1,15}):(\d{1,9})$/.exec(Buffer.from(bytes.buffer, bytes.byteOffset + at, length).toString('utf8'));
  if (!match) return undefined;
  return { dueMs: Number(match[1]), index: Number(match[2]) };
}
