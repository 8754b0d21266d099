import { Buffer } from 'node:buffer';

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;

/**
 * Follows the frontend's message boundaries: first untyped startup packets (length + code; an
 * SSL/GSSENC request is followed by another startup packet), then typed messages (1-byte type +
 * int32 length). Reports when a Terminate ('X') message completes.
 */
export class ClientFraming {
  private buffer: Buffer = Buffer.alloc(0);
  private startup = true;
  private terminated = false;

  push(chunk: Buffer): boolean {
    if (this.terminated) return false;
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    for (;;) {
      if (this.startup) {
        if (this.buffer.length < 8) return false;
        const length = this.buffer.readInt32BE(0);
        if (this.buffer.length < length) return false;
        const code = this.buffer.readInt32BE(4);
        this.buffer = this.buffer.subarray(length);
        if (code !== SSL_REQUEST && code !== GSSENC_REQUEST) this.startup = false;
        continue;
      }
      if (this.buffer.length < 5) return false;
      const type = this.buffer[0];
      const length = this.buffer.readInt32BE(1);
      if (this.buffer.length < 1 + length) return false;
      this.buffer = this.buffer.subarray(1 + length);
      if (type === 0x58 /* 'X' */) {
        this.terminated = true;
        return true;
      }
    }
  }
}
