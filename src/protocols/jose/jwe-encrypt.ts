/**
 * Encrypting a JWE (RFC 7516) with an explicitly named key management and
 * content encryption algorithm, to one recipient or to several.
 *
 * `RSA1_5` is never produced (RFC 8725 §3.2). Compression (`zip`) is not
 * offered: compressing attacker-influenced plaintext before encryption leaks
 * it through the length (RFC 8725 §3.6).
 *
 * @example
 * ```ts
 * const jwe = await encryptJwe(JSON.stringify(message), recipientPublicKey, { alg: "RSA-OAEP-256", enc: "A256GCM", kid });
 * ```
 */
import { FlattenedEncrypt, GeneralEncrypt, type FlattenedJWE, type GeneralJWE, type JWEHeaderParameters } from "jose";
import {
  JWE_CONTENT_ENCRYPTION_ALGORITHMS,
  JWE_KEY_MANAGEMENT_ALGORITHMS,
  type JweContentEncryptionAlgorithm,
  type JweKeyManagementAlgorithm,
} from "./algorithms.js";
import { fromJoseLibraryError } from "./errors.js";
import { assertCritNames, assertNoReservedMembers, critOption, decodeHeaderSegment, type HeaderMembers } from "./header.js";
import { assertJoseKey, jweAlgorithmFitsKey, keyFamily, type JoseKey } from "./keys.js";

export type { FlattenedJWE, GeneralJWE, JWEHeaderParameters } from "jose";

export type JweSerialization = "compact" | "flattened" | "general";

/** Members the helper sets itself (from typed options or from the key management step). */
const RESERVED_JWE_MEMBERS = ["alg", "enc", "kid", "typ", "cty", "crit", "zip", "epk", "apu", "apv", "p2s", "p2c", "iv", "tag"] as const;

/** Default PBES2 iteration count (RFC 7518 §4.8.1.2 asks for at least 1000); equal to jose's default decryption ceiling. */
export const DEFAULT_PBES2_COUNT = 10_000;

export interface EncryptJweOptions {
  alg: JweKeyManagementAlgorithm;
  enc: JweContentEncryptionAlgorithm;
  kid?: string;
  typ?: string;
  cty?: string;
  /** Further protected header members; not the ones set from options or by key management. */
  header?: HeaderMembers;
  /** Extensions the recipient must understand (RFC 7516 §4.1.13); each must be a protected member. */
  crit?: string[];
  /** JWE Shared Unprotected Header (JSON serializations only). */
  unprotectedHeader?: HeaderMembers;
  /** JWE AAD (JSON serializations only, RFC 7516 §5.1 step 14). */
  aad?: Uint8Array;
  /** PBES2 iteration count (p2c); default {@link DEFAULT_PBES2_COUNT}. */
  pbes2Count?: number;
  /** ECDH-ES PartyUInfo / PartyVInfo (RFC 7518 §4.6.1.2–3). */
  agreementPartyInfo?: { apu?: Uint8Array; apv?: Uint8Array };
  /** Default `compact`. */
  serialization?: JweSerialization;
}

/**
 * Values that must be random in real use, fixed here only to reproduce
 * published test vectors (RFC 7520). Not exported from the module index.
 * @internal
 */
export interface FixedJweValues {
  cek?: Uint8Array;
  iv?: Uint8Array;
  /** PBES2 salt input. */
  p2s?: Uint8Array;
  /** AES-GCM key wrap IV. */
  keyWrapIv?: Uint8Array;
  /** ECDH-ES ephemeral private key. */
  epk?: Parameters<FlattenedEncrypt["setKeyManagementParameters"]>[0]["epk"];
}

/**
 * Everything one encryption needs once options are checked: the three
 * header levels as they will be serialised.
 * @internal
 */
export interface JweEncryptionSpec {
  protectedHeader?: HeaderMembers;
  sharedUnprotectedHeader?: HeaderMembers;
  recipientHeader?: HeaderMembers;
  aad?: Uint8Array;
  crit?: readonly string[];
  pbes2Count?: number;
  agreementPartyInfo?: { apu?: Uint8Array; apv?: Uint8Array };
  fixed?: FixedJweValues;
}

function plaintextBytes(plaintext: Uint8Array | string): Uint8Array {
  if (plaintext instanceof Uint8Array) return plaintext;
  if (typeof plaintext === "string") return new TextEncoder().encode(plaintext);
  throw new TypeError("plaintext must be a Uint8Array or a string");
}

function assertKnown<T extends string>(name: string, value: unknown, known: readonly T[]): asserts value is T {
  if (value === "RSA1_5") {
    throw new TypeError(`${name} "RSA1_5" is not produced: RSAES-PKCS1-v1_5 is open to padding-oracle attacks (RFC 8725 §3.2); use RSA-OAEP-256`);
  }
  if (typeof value !== "string" || !(known as readonly string[]).includes(value)) {
    throw new TypeError(`${name} must be one of ${known.join(", ")} (got ${JSON.stringify(value)})`);
  }
}

/**
 * The protected header in a stable order: alg, kid, the key management
 * parameters jose fills in (p2s/p2c, epk, tag/iv — at this position, as in
 * the RFC 7520 examples), typ, cty, extra members, enc, crit. jose merges
 * its parameters with an object spread, which keeps the position of a member
 * already present; the placeholders are checked to be gone afterwards.
 */
export function buildJweProtectedHeader(options: EncryptJweOptions): HeaderMembers {
  assertKnown("alg", options.alg, JWE_KEY_MANAGEMENT_ALGORITHMS);
  assertKnown("enc", options.enc, JWE_CONTENT_ENCRYPTION_ALGORITHMS);
  assertNoReservedMembers(options.header, RESERVED_JWE_MEMBERS, "header");
  for (const [name, value] of [["kid", options.kid], ["typ", options.typ], ["cty", options.cty]] as const) {
    if (value !== undefined && (typeof value !== "string" || value === "")) throw new TypeError(`${name} must be a non-empty string`);
  }
  const header: HeaderMembers = { alg: options.alg };
  if (options.kid !== undefined) header.kid = options.kid;
  Object.assign(header, keyManagementPlaceholders(options.alg, options.agreementPartyInfo));
  if (options.typ !== undefined) header.typ = options.typ;
  if (options.cty !== undefined) header.cty = options.cty;
  Object.assign(header, options.header);
  header.enc = options.enc;
  assertCritNames(options.crit, header);
  if (options.crit !== undefined) header.crit = [...options.crit];
  return header;
}

const PLACEHOLDER = "\u0000placeholder";

function keyManagementPlaceholders(alg: string, partyInfo: EncryptJweOptions["agreementPartyInfo"]): HeaderMembers {
  if (alg.startsWith("PBES2")) return { p2s: PLACEHOLDER, p2c: PLACEHOLDER };
  if (alg.endsWith("GCMKW")) return { tag: PLACEHOLDER, iv: PLACEHOLDER };
  if (alg.startsWith("ECDH-ES")) {
    return {
      epk: PLACEHOLDER,
      ...(partyInfo?.apu === undefined ? {} : { apu: PLACEHOLDER }),
      ...(partyInfo?.apv === undefined ? {} : { apv: PLACEHOLDER }),
    };
  }
  return {};
}

function assertNoPlaceholderLeft(encodedProtected: string | undefined): void {
  if (encodedProtected === undefined) return;
  const header = decodeHeaderSegment(encodedProtected, "JWE");
  for (const [name, value] of Object.entries(header)) {
    if (value === PLACEHOLDER) throw new Error(`internal: key management parameter "${name}" was not filled in by jose`);
  }
}

/** Encrypts to one recipient and returns the JWE Compact Serialization. */
export function encryptJwe(plaintext: Uint8Array | string, key: JoseKey, options: EncryptJweOptions & { serialization?: "compact" }): Promise<string>;
/** Encrypts to one recipient, flattened JWE JSON Serialization (RFC 7516 §7.2.2). */
export function encryptJwe(plaintext: Uint8Array | string, key: JoseKey, options: EncryptJweOptions & { serialization: "flattened" }): Promise<FlattenedJWE>;
/** Encrypts to one recipient, general JWE JSON Serialization (RFC 7516 §7.2.1). */
export function encryptJwe(plaintext: Uint8Array | string, key: JoseKey, options: EncryptJweOptions & { serialization: "general" }): Promise<GeneralJWE>;
export async function encryptJwe(
  plaintext: Uint8Array | string,
  key: JoseKey,
  options: EncryptJweOptions,
): Promise<string | FlattenedJWE | GeneralJWE> {
  if (typeof options !== "object" || options === null) throw new TypeError("encryptJwe needs options with alg and enc");
  assertJoseKey(key, "encryptJwe key");
  const protectedHeader = buildJweProtectedHeader(options);
  if (!jweAlgorithmFitsKey(options.alg, keyFamily(key))) {
    throw new TypeError(`encryptJwe: ${options.alg} cannot be used with this key`);
  }
  const serialization = options.serialization ?? "compact";
  if (serialization === "compact" && (options.unprotectedHeader !== undefined || options.aad !== undefined)) {
    throw new TypeError("the compact serialization has no unprotected header and no AAD");
  }
  assertNoReservedMembers(options.unprotectedHeader, RESERVED_JWE_MEMBERS, "unprotectedHeader");
  const spec: JweEncryptionSpec = {
    protectedHeader,
    ...(options.unprotectedHeader === undefined ? {} : { sharedUnprotectedHeader: options.unprotectedHeader }),
    ...(options.aad === undefined ? {} : { aad: options.aad }),
    ...(options.crit === undefined ? {} : { crit: options.crit }),
    ...(options.agreementPartyInfo === undefined ? {} : { agreementPartyInfo: options.agreementPartyInfo }),
    pbes2Count: options.pbes2Count ?? DEFAULT_PBES2_COUNT,
  };
  const flattened = await encryptFlattenedJwe(plaintextBytes(plaintext), key, spec);
  return serializeJwe(flattened, serialization);
}

/** @internal Converts a single-recipient flattened JWE to the requested serialization. */
export function serializeJwe(flattened: FlattenedJWE, serialization: JweSerialization): string | FlattenedJWE | GeneralJWE {
  switch (serialization) {
    case "flattened":
      return flattened;
    case "general": {
      const { encrypted_key: encryptedKey, header, ...shared } = flattened;
      const recipient = { ...(encryptedKey === undefined ? {} : { encrypted_key: encryptedKey }), ...(header === undefined ? {} : { header }) };
      return { ...shared, recipients: [recipient] };
    }
    case "compact":
      if (flattened.protected === undefined || flattened.iv === undefined || flattened.tag === undefined) {
        throw new TypeError("the compact serialization needs a protected header, an IV and a tag");
      }
      return [flattened.protected, flattened.encrypted_key ?? "", flattened.iv, flattened.ciphertext, flattened.tag].join(".");
    default:
      throw new TypeError("serialization must be compact, flattened or general");
  }
}

/**
 * The one place jose's FlattenedEncrypt is driven. Options were checked by
 * the caller (encryptJwe, or a test vector that places headers itself).
 * @internal
 */
export async function encryptFlattenedJwe(plaintext: Uint8Array, key: JoseKey, spec: JweEncryptionSpec): Promise<FlattenedJWE> {
  const encrypter = new FlattenedEncrypt(plaintext);
  if (spec.protectedHeader !== undefined) encrypter.setProtectedHeader(spec.protectedHeader as JWEHeaderParameters);
  if (spec.sharedUnprotectedHeader !== undefined) encrypter.setSharedUnprotectedHeader(spec.sharedUnprotectedHeader as JWEHeaderParameters);
  if (spec.recipientHeader !== undefined) encrypter.setUnprotectedHeader(spec.recipientHeader as JWEHeaderParameters);
  if (spec.aad !== undefined) encrypter.setAdditionalAuthenticatedData(spec.aad);
  const fixed = spec.fixed ?? {};
  if (fixed.cek !== undefined) encrypter.setContentEncryptionKey(fixed.cek);
  if (fixed.iv !== undefined) encrypter.setInitializationVector(fixed.iv);
  const parameters = {
    ...(spec.agreementPartyInfo?.apu === undefined ? {} : { apu: spec.agreementPartyInfo.apu }),
    ...(spec.agreementPartyInfo?.apv === undefined ? {} : { apv: spec.agreementPartyInfo.apv }),
    ...(fixed.p2s === undefined ? {} : { p2s: fixed.p2s }),
    ...(fixed.keyWrapIv === undefined ? {} : { iv: fixed.keyWrapIv }),
    ...(fixed.epk === undefined ? {} : { epk: fixed.epk }),
  };
  const alg = String(spec.protectedHeader?.alg ?? spec.sharedUnprotectedHeader?.alg ?? spec.recipientHeader?.alg ?? "");
  const p2c = alg.startsWith("PBES2") ? { p2c: spec.pbes2Count ?? DEFAULT_PBES2_COUNT } : {};
  if (Object.keys(parameters).length > 0 || "p2c" in p2c) encrypter.setKeyManagementParameters({ ...parameters, ...p2c });
  let jwe: FlattenedJWE;
  try {
    jwe = await encrypter.encrypt(key, critOption(spec.crit));
  } catch (error) {
    // Encryption input is ours: a jose refusal here is a caller mistake.
    const mapped = fromJoseLibraryError(error, "JWE encryption");
    throw mapped instanceof Error && mapped !== error ? new TypeError(mapped.message, { cause: error }) : error;
  }
  assertNoPlaceholderLeft(jwe.protected);
  return jwe;
}

export interface JweRecipient {
  key: JoseKey;
  alg: JweKeyManagementAlgorithm;
  kid?: string;
  /** Further per-recipient unprotected members. */
  header?: HeaderMembers;
}

export interface EncryptJweForRecipientsOptions {
  enc: JweContentEncryptionAlgorithm;
  typ?: string;
  cty?: string;
  /** Further protected (shared) header members. */
  header?: HeaderMembers;
  unprotectedHeader?: HeaderMembers;
  aad?: Uint8Array;
  pbes2Count?: number;
}

/**
 * Encrypts once for several recipients (general JWE JSON Serialization,
 * RFC 7516 §7.2.1, as in RFC 7520 §5.13): one content key, wrapped for each
 * recipient with its own algorithm, named in its per-recipient header.
 */
export async function encryptJweForRecipients(
  plaintext: Uint8Array | string,
  recipients: readonly JweRecipient[],
  options: EncryptJweForRecipientsOptions,
): Promise<GeneralJWE> {
  if (!Array.isArray(recipients) || recipients.length === 0) throw new TypeError("recipients must be a non-empty array");
  if (typeof options !== "object" || options === null) throw new TypeError("encryptJweForRecipients needs options with enc");
  assertKnown("enc", options.enc, JWE_CONTENT_ENCRYPTION_ALGORITHMS);
  assertNoReservedMembers(options.header, RESERVED_JWE_MEMBERS, "header");
  assertNoReservedMembers(options.unprotectedHeader, RESERVED_JWE_MEMBERS, "unprotectedHeader");
  const protectedHeader: HeaderMembers = {};
  if (options.typ !== undefined) protectedHeader.typ = options.typ;
  if (options.cty !== undefined) protectedHeader.cty = options.cty;
  Object.assign(protectedHeader, options.header);
  protectedHeader.enc = options.enc;

  const encrypter = new GeneralEncrypt(plaintextBytes(plaintext)).setProtectedHeader(protectedHeader as JWEHeaderParameters);
  if (options.unprotectedHeader !== undefined) encrypter.setSharedUnprotectedHeader(options.unprotectedHeader as JWEHeaderParameters);
  if (options.aad !== undefined) encrypter.setAdditionalAuthenticatedData(options.aad);
  for (const recipient of recipients) {
    assertJoseKey(recipient.key, "recipient key");
    assertKnown("recipient alg", recipient.alg, JWE_KEY_MANAGEMENT_ALGORITHMS);
    if (recipient.alg === "dir" || recipient.alg === "ECDH-ES") {
      throw new TypeError(`${recipient.alg} derives the content key itself and cannot serve several recipients (RFC 7516 §7.2.1)`);
    }
    if (!jweAlgorithmFitsKey(recipient.alg, keyFamily(recipient.key))) {
      throw new TypeError(`recipient ${recipient.kid ?? ""}: ${recipient.alg} cannot be used with this key`);
    }
    assertNoReservedMembers(recipient.header, RESERVED_JWE_MEMBERS, "recipient header");
    const header: HeaderMembers = { alg: recipient.alg, ...(recipient.kid === undefined ? {} : { kid: recipient.kid }), ...recipient.header };
    const added = encrypter.addRecipient(recipient.key).setUnprotectedHeader(header as JWEHeaderParameters);
    if (recipient.alg.startsWith("PBES2")) added.setKeyManagementParameters({ p2c: options.pbes2Count ?? DEFAULT_PBES2_COUNT });
  }
  try {
    return await encrypter.encrypt();
  } catch (error) {
    const mapped = fromJoseLibraryError(error, "JWE encryption");
    throw mapped instanceof Error && mapped !== error ? new TypeError(mapped.message, { cause: error }) : error;
  }
}
