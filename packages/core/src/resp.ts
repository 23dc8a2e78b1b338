// RESP, Redis's wire protocol (versions 2 and 3), for the watch connection (resp-connection.ts): just
// enough to send commands and read any reply or push Redis can send. ioredis stays the client for
// everything else; this exists because the watch path runs once per front end per flip, and a flip
// must reach hundreds of front ends within milliseconds (bench/README.md, "Flips").

/** An error reply (`-ERR …`, `-NOPERM …`): Redis refused the command. */
export class RespError extends Error {
  /** The reply's first word (`ERR`, `NOPERM`, `WRONGTYPE`…). */
  readonly prefix: string;

  constructor(message: string) {
    super(message);
    this.name = 'RespError';
    this.prefix = message.split(' ', 1)[0] ?? '';
  }
}

/** An out-of-band push (RESP3 `>`), such as `invalidate` from CLIENT TRACKING. */
export class RespPush {
  constructor(readonly items: RespValue[]) {}
}

/**
 * A decoded reply. Bulk, simple and verbatim strings and big numbers are strings; maps and sets are
 * flat arrays (as RESP2 sends them); RESP3's null and RESP2's null bulk and array are null.
 */
export type RespValue = string | number | boolean | null | RespError | RespValue[];

/** A command as Redis reads it: an array of bulk strings. */
export function encodeCommand(args: readonly string[]): string {
  let text = `*${args.length}\r\n`;
  for (const arg of args) text += `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`;
  return text;
}

/** Returned by `RespDecoder.next()` while the buffered bytes do not hold a whole value. */
export const INCOMPLETE: unique symbol = Symbol('incomplete');

const CR = 13;

/**
 * Incremental decoder: `push()` the bytes as they arrive, then call `next()` until it returns
 * INCOMPLETE. A value split across chunks is decoded once its last byte is in.
 */
export class RespDecoder {
  private buffer: Buffer = Buffer.alloc(0);
  private offset = 0;

  /** Adds received bytes. */
  push(chunk: Buffer): void {
    // Nearly always the previous chunk was used up, so the new one is taken as it is, uncopied.
    this.buffer = this.offset >= this.buffer.length ? chunk : Buffer.concat([this.buffer.subarray(this.offset), chunk]);
    this.offset = 0;
  }

  /** The next whole value (a reply or a RespPush), or INCOMPLETE. Throws on bytes that are not RESP. */
  next(): RespValue | RespPush | typeof INCOMPLETE {
    if (this.offset >= this.buffer.length) return INCOMPLETE;
    const start = this.offset;
    const value = this.value();
    if (value === INCOMPLETE) {
      this.offset = start;
      return INCOMPLETE;
    }
    return value;
  }

  /** The line from the offset to CRLF (moving past it), or undefined while it is incomplete. */
  private line(): string | undefined {
    const end = this.buffer.indexOf(CR, this.offset);
    if (end < 0 || end + 1 >= this.buffer.length) return undefined;
    const text = this.buffer.toString('latin1', this.offset, end);
    this.offset = end + 2;
    return text;
  }

  private value(): RespValue | RespPush | typeof INCOMPLETE {
    const type = this.buffer[this.offset];
    this.offset += 1;
    const line = this.line();
    if (line === undefined) return INCOMPLETE;
    switch (type) {
      case 0x2b: // + simple string
        return line;
      case 0x2d: // - error
        return new RespError(line);
      case 0x3a: // : integer
      case 0x2c: // , double
        return Number(line);
      case 0x28: // ( big number
        return line;
      case 0x23: // # boolean
        return line === 't';
      case 0x5f: // _ null
        return null;
      case 0x24: // $ bulk string
      case 0x3d: // = verbatim string
      case 0x21: {
        // ! bulk error
        const size = Number(line);
        if (size < 0) return null;
        if (this.offset + size + 2 > this.buffer.length) return INCOMPLETE;
        const text = this.buffer.toString('utf8', this.offset, this.offset + size);
        this.offset += size + 2;
        if (type === 0x21) return new RespError(text);
        // Verbatim strings start with their format, `txt:`.
        return type === 0x3d ? text.slice(4) : text;
      }
      case 0x2a: // * array
      case 0x7e: // ~ set
      case 0x3e: // > push
      case 0x25: // % map
      case 0x7c: {
        // | attribute
        const pairs = type === 0x25 || type === 0x7c;
        const count = Number(line) * (pairs ? 2 : 1);
        if (count < 0) return null;
        const items: RespValue[] = [];
        for (let index = 0; index < count; index++) {
          const item = this.value();
          if (item === INCOMPLETE) return INCOMPLETE;
          items.push(item instanceof RespPush ? item.items : item);
        }
        // An attribute annotates the value after it, which is the reply.
        if (type === 0x7c) return this.value();
        return type === 0x3e ? new RespPush(items) : items;
      }
      default:
        throw new Error(`not a RESP reply (type byte ${type})`);
    }
  }
}
