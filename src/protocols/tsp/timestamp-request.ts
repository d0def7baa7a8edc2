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
import * as asn1js from "asn1js";
import * as pkijs from "pkijs";
import { bigIntFromBytes, decodeDer, encodedBytes, integerFromBigInt, objectIdentifierText } from "./der.js";
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
  const request = new pkijs.TimeStampReq({
    version: 1,
    messageImprint: new pkijs.MessageImprint({
      // RFC 5754 §2: the parameters of SHA-2 AlgorithmIdentifiers are absent (accepted as NULL too).
      hashAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: algorithm.oid }),
      hashedMessage: new asn1js.OctetString({ valueHex: Uint8Array.from(digest) }),
    }),
    ...(options.policy === undefined ? {} : { reqPolicy: options.policy }),
    nonce: integerFromBigInt(nonce),
    // DER (X.690 §11.5): a BOOLEAN DEFAULT FALSE is omitted when false.
    ...(certReq ? { certReq: true } : {}),
  });
  return {
    der: Buffer.from(request.toSchema().toBER()),
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
  const element = decodeDer(der);
  if (element === undefined) return undefined;
  let request: pkijs.TimeStampReq;
  try {
    request = new pkijs.TimeStampReq({ schema: element });
  } catch {
    return undefined;
  }
  const nonce = request.nonce;
  if (nonce !== undefined && nonce.toBigInt() < 0n) return undefined;
  const fields = element instanceof asn1js.Sequence ? element.valueBlock.value : [];
  const messageImprint = fields[1];
  if (messageImprint === undefined) return undefined;
  // reqPolicy, when present, is the OBJECT IDENTIFIER after the imprint.
  const policy = fields[2] instanceof asn1js.ObjectIdentifier ? objectIdentifierText(fields[2]) : undefined;
  const hashAlgorithmOid = request.messageImprint.hashAlgorithm.algorithmId;
  return {
    der: Buffer.from(der),
    version: request.version,
    hashAlgorithmOid,
    hashAlgorithm: hashAlgorithmByOid(hashAlgorithmOid)?.name,
    hashedMessage: Buffer.from(request.messageImprint.hashedMessage.valueBlock.valueHexView),
    messageImprintDer: encodedBytes(messageImprint),
    policy,
    nonce: nonce?.toBigInt(),
    certReq: request.certReq ?? false,
    extensions: (request.extensions ?? []).map((extension) => extension.extnID),
  };
}
