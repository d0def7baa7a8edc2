/**
 * RFC 3161 §2.4.1 TimeStampReq: built by the client, parsed by a TSA.
 *
 * @example
 * ```ts
 * const digest = createHash("sha256").update(document).digest();
 * const request = buildTimestampRequest(digest, { hashAlgorithm: "SHA-256" });
 * // POST request.der as application/timestamp-query; keep request.nonce to check the answer.
 * ```
 */
import { randomBytes } from "node:crypto";
import {
  UNIVERSAL,
  booleanValue,
  encodingOf,
  integerValue,
  isContext,
  isUniversal,
  oidText,
  readBer,
  smallInteger,
  stringContent,
  type BerElement,
} from "../cms/ber-reader.js";
import { bigIntFromBytes, der } from "./der.js";
import {
  TIMESTAMP_HASH_ALGORITHMS,
  assertTimestampHashAlgorithm,
  hashAlgorithmByOid,
  type TimestampHashAlgorithm,
} from "./hash-algorithms.js";

export interface TimestampRequestOptions {
  hashAlgorithm: TimestampHashAlgorithm;
  /**
   * RFC 3161 §2.4.1: lets the client check the answer belongs to this request.
   * A bigint ≥ 0, or unsigned big-endian bytes (1–64). Default: 64 random bits.
   */
  nonce?: bigint | Uint8Array;
  /** Ask the TSA to put its certificate in the token (default true: verification then needs no extra configuration). */
  certReq?: boolean;
  /** TSAPolicyId (dotted OID) the token should be issued under. */
  policy?: string;
}

/** A DER TimeStampReq and what the answer must echo. */
export interface TimestampRequest {
  der: Buffer;
  hashAlgorithm: TimestampHashAlgorithm;
  digest: Buffer;
  nonce: bigint;
  certReq: boolean;
  policy: string | undefined;
}

const DOTTED_OID = /^[0-2](\.(0|[1-9]\d*))+$/;
const MAX_NONCE_BYTES = 64;

export function isDottedOid(value: unknown): value is string {
  return typeof value === "string" && DOTTED_OID.test(value);
}

function resolveNonce(nonce: bigint | Uint8Array | undefined): bigint {
  if (nonce === undefined) return bigIntFromBytes(randomBytes(8));
  if (typeof nonce === "bigint") {
    if (nonce < 0n || nonce >= 1n << BigInt(MAX_NONCE_BYTES * 8)) {
      throw new TypeError(`nonce must be a non-negative integer of at most ${MAX_NONCE_BYTES * 8} bits`);
    }
    return nonce;
  }
  if (nonce instanceof Uint8Array && nonce.length >= 1 && nonce.length <= MAX_NONCE_BYTES) return bigIntFromBytes(nonce);
  throw new TypeError(`nonce must be a bigint or 1–${MAX_NONCE_BYTES} bytes`);
}

/** Builds a TimeStampReq for an already computed digest. Throws `TypeError` on misuse. */
export function buildTimestampRequest(digest: Uint8Array, options: TimestampRequestOptions): TimestampRequest {
  if (options === null || typeof options !== "object") throw new TypeError("buildTimestampRequest needs options");
  assertTimestampHashAlgorithm(options.hashAlgorithm);
  const algorithm = TIMESTAMP_HASH_ALGORITHMS[options.hashAlgorithm];
  if (!(digest instanceof Uint8Array) || digest.length !== algorithm.length) {
    throw new TypeError(`digest must be the ${algorithm.length}-byte ${algorithm.name} hash of the data`);
  }
  if (options.policy !== undefined && !isDottedOid(options.policy)) {
    throw new TypeError(`policy must be a dotted OID, got ${String(options.policy)}`);
  }
  const nonce = resolveNonce(options.nonce);
  const certReq = options.certReq ?? true;
  // TimeStampReq ::= SEQUENCE { version INTEGER { v1(1) }, messageImprint, reqPolicy OPTIONAL, nonce OPTIONAL,
  //   certReq BOOLEAN DEFAULT FALSE, extensions [0] IMPLICIT OPTIONAL } (RFC 3161 §2.4.1)
  const request = der.sequence(
    der.integer(1n),
    // RFC 5754 §2: the parameters of SHA-2 AlgorithmIdentifiers are absent (accepted as NULL too).
    der.sequence(der.algorithmIdentifier(algorithm.oid), der.octetString(digest)),
    ...(options.policy === undefined ? [] : [der.oid(options.policy)]),
    der.integer(nonce),
    // DER (X.690 §11.5): a BOOLEAN DEFAULT FALSE is omitted when false.
    ...(certReq ? [der.boolean(true)] : []),
  );
  return {
    der: request,
    hashAlgorithm: algorithm.name,
    digest: Buffer.from(digest),
    nonce,
    certReq,
    policy: options.policy,
  };
}

/** A TimeStampReq as a TSA reads it. */
export interface ParsedTimestampRequest {
  der: Buffer;
  version: number;
  hashAlgorithmOid: string;
  /** Undefined when the OID is not an algorithm this module accepts. */
  hashAlgorithm: TimestampHashAlgorithm | undefined;
  hashedMessage: Buffer;
  /** The MessageImprint exactly as sent: RFC 3161 §2.4.2 has the TSA echo it. */
  messageImprintDer: Buffer;
  policy: string | undefined;
  nonce: bigint | undefined;
  certReq: boolean;
  /** OIDs of the request's extensions (RFC 3161 §2.4.1: none is defined). */
  extensions: string[];
}

/**
 * Parses a DER TimeStampReq. Returns undefined when the bytes are not one
 * (the TSA then answers `rejection` / `badDataFormat`); semantic checks
 * (version, algorithm, digest length, policy) are the TSA's.
 */
export function parseTimestampRequest(der: Uint8Array): ParsedTimestampRequest | undefined {
  if (!(der instanceof Uint8Array)) throw new TypeError("A TimeStampReq is given as bytes (Buffer / Uint8Array)");
  const copy = Buffer.from(der);
  const root = readBer(copy, { maxDepth: 40, maxElements: 20_000 });
  if (!isUniversal(root, UNIVERSAL.SEQUENCE)) return undefined;
  const fields = [...root.children];
  const versionElement = fields.shift();
  const version = isUniversal(versionElement, UNIVERSAL.INTEGER) ? smallInteger(versionElement) : undefined;
  // MessageImprint ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier, hashedMessage OCTET STRING }
  const messageImprint = fields.shift();
  const [algorithm, hashed, ...imprintRest] = messageImprint?.children ?? [];
  const [algorithmOid, , ...algorithmRest] = algorithm?.children ?? [];
  const hashAlgorithmOid = isUniversal(algorithmOid, UNIVERSAL.OID) ? oidText(algorithmOid) : undefined;
  const hashedMessage = isUniversal(hashed, UNIVERSAL.OCTET_STRING) ? stringContent(hashed) : undefined;
  if (
    version === undefined ||
    !isUniversal(messageImprint, UNIVERSAL.SEQUENCE) ||
    !isUniversal(algorithm, UNIVERSAL.SEQUENCE) ||
    hashAlgorithmOid === undefined ||
    algorithmRest.length > 0 ||
    hashedMessage === undefined ||
    imprintRest.length > 0
  ) {
    return undefined;
  }
  let policy: string | undefined;
  if (isUniversal(fields[0], UNIVERSAL.OID)) {
    policy = oidText(fields.shift() as BerElement);
    if (policy === undefined) return undefined;
  }
  let nonce: bigint | undefined;
  if (isUniversal(fields[0], UNIVERSAL.INTEGER)) {
    nonce = integerValue(fields.shift() as BerElement);
    if (nonce === undefined || nonce < 0n) return undefined;
  }
  let certReq = false;
  if (isUniversal(fields[0], UNIVERSAL.BOOLEAN)) {
    const value = booleanValue(fields.shift() as BerElement);
    if (value === undefined) return undefined;
    certReq = value;
  }
  const extensions: string[] = [];
  if (isContext(fields[0], 0, true)) {
    // Extensions ::= SEQUENCE OF Extension, [0] IMPLICIT: the Extension SEQUENCEs directly under the tag.
    for (const extension of (fields.shift() as BerElement).children) {
      const id = extension.children[0];
      const oid = isUniversal(extension, UNIVERSAL.SEQUENCE) && isUniversal(id, UNIVERSAL.OID) ? oidText(id) : undefined;
      if (oid === undefined) return undefined;
      extensions.push(oid);
    }
  }
  if (fields.length > 0) return undefined;
  return {
    der: copy,
    version,
    hashAlgorithmOid,
    hashAlgorithm: hashAlgorithmByOid(hashAlgorithmOid)?.name,
    hashedMessage: Buffer.from(hashedMessage),
    messageImprintDer: Buffer.from(encodingOf(messageImprint)),
    policy,
    nonce,
    certReq,
    extensions,
  };
}
