/**
 * Signing a JWS (RFC 7515) with an explicitly named algorithm.
 *
 * @example
 * ```ts
 * const jws = await signJws({ sub: "client-1" }, privateKey, { alg: "PS256", kid: "2025-01", typ: "JWT" });
 * const flattened = await signJws("hello", secret, { alg: "HS256", serialization: "flattened", unprotectedHeader: { kid: "k1" } });
 * ```
 */
import { FlattenedSign, GeneralSign, type FlattenedJWS, type GeneralJWS } from "jose";
import { JWS_ALGORITHMS, type JwsAlgorithm } from "./algorithms.js";
import {
  assertCritNames,
  assertNoReservedMembers,
  critOption,
  type HeaderMembers,
} from "./header.js";
import { assertJoseKey, jwsAlgorithmFitsKey, keyFamily, type JoseKey } from "./keys.js";

export type { FlattenedJWS, GeneralJWS } from "jose";

/** A payload: bytes, text (UTF-8), or a JSON object (e.g. JWT claims) serialised with JSON.stringify. */
export type JwsPayload = Uint8Array | string | Record<string, unknown>;

export type JwsSerialization = "compact" | "flattened" | "general";

/** Members the helper sets from its typed options only. */
const RESERVED_JWS_MEMBERS = ["alg", "kid", "typ", "cty", "crit", "b64"] as const;

export interface SignJwsOptions {
  alg: JwsAlgorithm;
  kid?: string;
  /** RFC 7515 §4.1.9; RFC 8725 §3.11 recommends explicit types such as `JWT` or `at+jwt`. */
  typ?: string;
  cty?: string;
  /** Further protected header members (e.g. `x5t#S256`, `iat`); not alg/kid/typ/cty/crit/b64. */
  header?: HeaderMembers;
  /** Extensions the recipient must understand (RFC 7515 §4.1.11); each must be a protected member. `b64` is added automatically when `b64: false`. */
  crit?: string[];
  /** RFC 7797: `false` signs the payload bytes as they are, unencoded (JSON serializations, or compact with a detached payload). */
  b64?: boolean;
  /** Unprotected members (JSON serializations only), e.g. `kid` as in RFC 7520 §4.6. */
  unprotectedHeader?: HeaderMembers;
  /** Default `compact`. */
  serialization?: JwsSerialization;
}

export function encodePayload(payload: JwsPayload): Uint8Array {
  if (payload instanceof Uint8Array) return payload;
  if (typeof payload === "string") return new TextEncoder().encode(payload);
  if (typeof payload === "object" && payload !== null && !Array.isArray(payload)) {
    return new TextEncoder().encode(JSON.stringify(payload));
  }
  throw new TypeError("payload must be a Uint8Array, a string or a JSON object");
}

/**
 * Builds the protected header in a stable member order — alg, kid, typ,
 * cty, extra members, b64, crit — which is also the order of the RFC 7520
 * and RFC 7797 examples, so their outputs are reproduced byte for byte.
 */
export function buildJwsProtectedHeader(options: SignJwsOptions): HeaderMembers {
  if (!(JWS_ALGORITHMS as readonly string[]).includes(options.alg)) {
    throw new TypeError(`alg must be one of ${JWS_ALGORITHMS.join(", ")} (got ${JSON.stringify(options.alg)})`);
  }
  assertNoReservedMembers(options.header, RESERVED_JWS_MEMBERS, "header");
  assertNoReservedMembers(options.unprotectedHeader, RESERVED_JWS_MEMBERS.filter((m) => m !== "kid"), "unprotectedHeader");
  for (const [name, value] of [["kid", options.kid], ["typ", options.typ], ["cty", options.cty]] as const) {
    if (value !== undefined && (typeof value !== "string" || value === "")) throw new TypeError(`${name} must be a non-empty string`);
  }
  if (options.kid !== undefined && options.unprotectedHeader?.kid !== undefined) {
    throw new TypeError("kid is given both protected (kid) and unprotected (unprotectedHeader.kid)");
  }
  if (options.b64 !== undefined && typeof options.b64 !== "boolean") throw new TypeError("b64 must be a boolean");

  const header: HeaderMembers = { alg: options.alg };
  if (options.kid !== undefined) header.kid = options.kid;
  if (options.typ !== undefined) header.typ = options.typ;
  if (options.cty !== undefined) header.cty = options.cty;
  Object.assign(header, options.header);
  let crit = options.crit === undefined ? undefined : [...options.crit];
  if (options.b64 === false) {
    header.b64 = false;
    // RFC 7797 §6: b64 MUST be listed in crit.
    crit = crit === undefined ? ["b64"] : crit.includes("b64") ? crit : [...crit, "b64"];
  }
  assertCritNames(crit, header);
  if (crit !== undefined) header.crit = crit;
  return header;
}

/** Signs and returns the JWS Compact Serialization. */
export function signJws(payload: JwsPayload, key: JoseKey, options: SignJwsOptions & { serialization?: "compact" }): Promise<string>;
/** Signs and returns the flattened JWS JSON Serialization (RFC 7515 §7.2.2). */
export function signJws(payload: JwsPayload, key: JoseKey, options: SignJwsOptions & { serialization: "flattened" }): Promise<FlattenedJWS>;
/** Signs and returns the general JWS JSON Serialization with one signature (RFC 7515 §7.2.1). */
export function signJws(payload: JwsPayload, key: JoseKey, options: SignJwsOptions & { serialization: "general" }): Promise<GeneralJWS>;
export async function signJws(
  payload: JwsPayload,
  key: JoseKey,
  options: SignJwsOptions,
): Promise<string | FlattenedJWS | GeneralJWS> {
  if (typeof options !== "object" || options === null) throw new TypeError("signJws needs options with alg");
  assertJoseKey(key, "signJws key");
  const protectedHeader = buildJwsProtectedHeader(options);
  if (!jwsAlgorithmFitsKey(options.alg, keyFamily(key))) {
    throw new TypeError(`signJws: ${options.alg} cannot be used with this key (an HMAC needs a shared secret, RS/PS an RSA key, ES* an EC key of the matching curve)`);
  }
  const serialization = options.serialization ?? "compact";
  if (serialization !== "compact" && serialization !== "flattened" && serialization !== "general") {
    throw new TypeError("serialization must be compact, flattened or general");
  }
  const bytes = encodePayload(payload);
  const unencoded = options.b64 === false ? unencodedPayloadText(bytes, serialization) : undefined;
  const unprotected = options.unprotectedHeader;
  const crit = critOption(protectedHeader.crit as string[] | undefined);

  if (serialization === "general") {
    const signature = new GeneralSign(bytes).addSignature(key, crit).setProtectedHeader(protectedHeader);
    if (unprotected !== undefined) signature.setUnprotectedHeader(unprotected);
    const general = await signature.done().sign();
    return unencoded === undefined ? general : { ...general, payload: unencoded };
  }
  const signer = new FlattenedSign(bytes).setProtectedHeader(protectedHeader);
  if (serialization === "flattened") {
    if (unprotected !== undefined) signer.setUnprotectedHeader(unprotected);
    const flattened = await signer.sign(key, crit);
    return unencoded === undefined ? flattened : { ...flattened, payload: unencoded };
  }
  if (unprotected !== undefined) throw new TypeError("the compact serialization has no unprotected header");
  const flattened = await signer.sign(key, crit);
  return `${flattened.protected ?? ""}.${flattened.payload}.${flattened.signature}`;
}

/**
 * RFC 7797 §5: with `b64: false` the JSON serializations carry the payload
 * as it is, so it must be text; the compact form would need detached
 * content (§5.2), which this helper does not produce.
 */
function unencodedPayloadText(bytes: Uint8Array, serialization: JwsSerialization): string {
  if (serialization === "compact") {
    throw new TypeError("b64: false needs a JSON serialization (flattened or general); compact would need detached content");
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new TypeError("b64: false needs a UTF-8 text payload to carry it unencoded in JSON");
  }
}
