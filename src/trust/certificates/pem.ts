/**
 * Strict PEM reading (RFC 7468). Trust material is read while it may be
 * being rewritten, so "parses" must mean "complete": every BEGIN line has
 * its END line with the same label, and the base64 between them is well
 * formed. Text outside the blocks (comments, OpenSSL's "Bag Attributes") is
 * allowed, as RFC 7468 §5.2 says parsers should.
 */

export interface PemBlock {
  label: string;
  der: Buffer;
}

export class PemError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PemError";
  }
}

const BEGIN = /^-----BEGIN ([A-Z0-9 ]+)-----\s*$/;
const END = /^-----END ([A-Z0-9 ]+)-----\s*$/;
const BASE64_LINE = /^[A-Za-z0-9+/]*={0,2}$/;

/** All PEM blocks of `text`, in order. Throws PemError on a truncated or damaged block. */
export function parsePemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  let label: string | undefined;
  let body: string[] = [];
  let beganAt = 0;
  const lines = text.split(/\r?\n/);
  lines.forEach((rawLine, index) => {
    const line = rawLine.trim();
    if (label === undefined) {
      const begin = BEGIN.exec(line);
      if (begin !== null) {
        label = begin[1]!;
        body = [];
        beganAt = index + 1;
      } else if (END.test(line)) {
        throw new PemError(`line ${index + 1}: END line without a BEGIN line`);
      }
      return;
    }
    const end = END.exec(line);
    if (end !== null) {
      if (end[1] !== label) throw new PemError(`line ${index + 1}: END ${end[1]} closes BEGIN ${label} (line ${beganAt})`);
      const base64 = body.join("");
      if (base64.length === 0 || base64.length % 4 !== 0 || !BASE64_LINE.test(base64)) {
        throw new PemError(`the ${label} block at line ${beganAt} is not valid base64`);
      }
      blocks.push({ label, der: Buffer.from(base64, "base64") });
      label = undefined;
      return;
    }
    if (BEGIN.test(line)) throw new PemError(`line ${index + 1}: BEGIN inside the ${label} block of line ${beganAt}`);
    // RFC 7468 §2: headers (RFC 1421 "Proc-Type:") are not expected in certificates or CRLs.
    if (line.includes(":")) throw new PemError(`the ${label} block at line ${beganAt} has a header line, which is not supported`);
    if (!BASE64_LINE.test(line)) throw new PemError(`line ${index + 1}: not base64 inside the ${label} block`);
    body.push(line);
  });
  if (label !== undefined) throw new PemError(`the ${label} block at line ${beganAt} has no END line (truncated file?)`);
  return blocks;
}

/** Whether bytes look like PEM text rather than DER (DER starts with a SEQUENCE tag, 0x30). */
export function looksLikePem(bytes: Uint8Array): boolean {
  return Buffer.from(bytes.subarray(0, 4096)).toString("latin1").includes("-----BEGIN ");
}

/** RFC 7468 §2 textual encoding: base64 in 64-character lines. */
export function encodePem(label: string, der: Uint8Array): string {
  const lines = Buffer.from(der).toString("base64").match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}
