/**
 * Verifying a JWS (RFC 7515) in any serialization against a key or a key set,
 * with the caller's allow-list of algorithms.
 *
 * Beyond jose's own checks, the algorithm must be in the *protected* header
 * (an unprotected `alg` is legal in RFC 7515 §4.1.1 but lets whoever relays
 * the message change it), and must fit the key given — an HMAC is never
 * verified with a public key (RFC 8725 §2.2).
 *
 * @example
 * ```ts
 * const { payload, protectedHeader } = await verifyJws(token, providerJwks, { algorithms: ID_TOKEN_ALGS, typ: "JWT" });
 * ```
 */
import {
  createLocalJWKSet,
  flattenedVerify,
  type FlattenedJWSInput,
  type GeneralJWSInput,
  type JWSHeaderParameters,
} from "jose";
import { JWS_ALGORITHMS, checkAllowList, isHmacAlgorithm, type JwsAlgorithm } from "./algorithms.js";
import { JoseError, fromJoseLibraryError, summariseFailures } from "./errors.js";
import {
  assertCritUnderstood,
  assertExpectedTyp,
  checkUnderstoodCrit,
  critOption,
  decodeHeaderSegment,
  type HeaderMembers,
} from "./header.js";
import {
  assertAllowListFitsKey,
  assertJoseKey,
  isJsonWebKeySet,
  jwsAlgorithmFitsKey,
  keyFamily,
  type JoseKey,
  type JsonWebKeySet,
  type KeyFamily,
} from "./keys.js";

export type { FlattenedJWSInput, GeneralJWSInput, JWSHeaderParameters } from "jose";

/** A JWS in the compact serialization, or either JSON serialization (parsed). */
export type JwsInput = string | FlattenedJWSInput | GeneralJWSInput;

export interface VerifyJwsOptions {
  /** The algorithms this use accepts (e.g. `ID_TOKEN_ALGS`). Required: there is no default. */
  algorithms: readonly JwsAlgorithm[];
  /** Extension header names this use understands and processes (RFC 7515 §4.1.11); `b64` (RFC 7797) always is. */
  crit?: readonly string[];
  /** Expected `typ` of the protected header (RFC 8725 §3.11), e.g. `JWT`, `at+jwt`. */
  typ?: string;
}

export interface VerifiedJws {
  payload: Uint8Array;
  protectedHeader: JWSHeaderParameters & { alg: JwsAlgorithm };
  /** Not integrity protected: do not base decisions on it. */
  unprotectedHeader?: JWSHeaderParameters;
  /** Which signature of a general JWS verified (0 for compact and flattened). */
  signatureIndex: number;
}

type Candidate = FlattenedJWSInput;

export async function verifyJws(jws: JwsInput, key: JoseKey | JsonWebKeySet, options: VerifyJwsOptions): Promise<VerifiedJws> {
  if (typeof options !== "object" || options === null) throw new TypeError("verifyJws needs options with algorithms");
  const algorithms = checkAllowList("algorithms", options.algorithms, JWS_ALGORITHMS);
  const crit = checkUnderstoodCrit(options.crit, "crit");
  if (options.typ !== undefined && typeof options.typ !== "string") throw new TypeError("typ must be a string");

  let verificationKey: JoseKey | ReturnType<typeof createLocalJWKSet>;
  let family: KeyFamily | undefined;
  if (isJsonWebKeySet(key)) {
    if (algorithms.some(isHmacAlgorithm)) {
      throw new TypeError("verifyJws: HMAC algorithms (HS*) cannot be verified with a key set: they need a shared secret (RFC 8725 §2.2)");
    }
    try {
      verificationKey = createLocalJWKSet(key);
    } catch (error) {
      throw fromJoseLibraryError(error, "JWKS");
    }
  } else {
    assertJoseKey(key, "verifyJws key");
    family = keyFamily(key);
    assertAllowListFitsKey(algorithms, family, jwsAlgorithmFitsKey, "verifyJws");
    verificationKey = key;
  }

  const candidates = candidatesOf(jws);
  const failures: JoseError[] = [];
  for (const [index, candidate] of candidates.entries()) {
    try {
      const alg = checkProtectedAlgorithm(candidate, algorithms, family, [...(crit ?? []), "b64"]);
      const result = await flattenedVerify(candidate, verificationKey, {
        algorithms: [alg],
        ...critOption(crit),
      }).catch((error: unknown) => {
        throw fromJoseLibraryError(error, "JWS");
      });
      const protectedHeader = result.protectedHeader as JWSHeaderParameters & { alg: JwsAlgorithm };
      assertExpectedTyp(protectedHeader.typ, options.typ);
      return {
        payload: result.payload,
        protectedHeader,
        ...(result.unprotectedHeader === undefined ? {} : { unprotectedHeader: result.unprotectedHeader }),
        signatureIndex: index,
      };
    } catch (error) {
      if (!(error instanceof JoseError)) throw error;
      failures.push(error);
    }
  }
  throw summariseFailures(failures, {
    none: "JWS: no signature",
    mixedReason: "signature_invalid",
    detail: () => `JWS: none of the ${failures.length} signatures verified (${failures.map((f) => f.detail).join("; ")})`,
  });
}

function candidatesOf(jws: JwsInput): Candidate[] {
  if (typeof jws === "string") {
    const parts = jws.split(".");
    if (parts.length !== 3) throw new JoseError("malformed", "JWS: the compact serialization has three dot-separated parts");
    const [protectedSegment, payload, signature] = parts as [string, string, string];
    return [{ protected: protectedSegment, payload, signature }];
  }
  if (typeof jws !== "object" || jws === null) throw new JoseError("malformed", "JWS: neither a compact string nor a JSON object");
  if ("signatures" in jws) {
    const { signatures, payload } = jws;
    if (!Array.isArray(signatures) || signatures.length === 0) {
      throw new JoseError("malformed", "JWS: the general serialization needs a non-empty signatures array");
    }
    return signatures.map((entry: unknown) => {
      if (typeof entry !== "object" || entry === null) throw new JoseError("malformed", "JWS: a signatures entry is not an object");
      return { ...(entry as Omit<Candidate, "payload">), payload };
    });
  }
  if ("signature" in jws) return [jws];
  throw new JoseError("malformed", "JWS: a JSON serialization needs signature or signatures");
}

/** The algorithm of one signature: protected, allowed, and fitting the key; and its crit understood. */
function checkProtectedAlgorithm(
  candidate: Candidate,
  algorithms: readonly JwsAlgorithm[],
  family: KeyFamily | undefined,
  understoodCrit: readonly string[],
): JwsAlgorithm {
  const header = candidate.protected === undefined ? {} : decodeHeaderSegment(candidate.protected, "JWS");
  assertCritUnderstood(header, { ...(candidate.header as HeaderMembers | undefined), ...header }, understoodCrit, "JWS");
  const alg = header.alg;
  if (typeof alg !== "string") {
    throw new JoseError(
      "header_invalid",
      candidate.header?.alg !== undefined
        ? "JWS: alg is only in the unprotected header; it must be integrity protected"
        : "JWS: the protected header has no alg",
    );
  }
  if (!(algorithms as readonly string[]).includes(alg)) {
    throw new JoseError("algorithm_not_allowed", `JWS: algorithm ${JSON.stringify(alg)} is not allowed here (allowed: ${algorithms.join(", ")})`);
  }
  if (family !== undefined && !jwsAlgorithmFitsKey(alg, family)) {
    throw new JoseError("key_mismatch", `JWS: the configured ${family.kind} key cannot verify ${alg}`);
  }
  return alg as JwsAlgorithm;
}

/**
 * One error for all signatures. Signatures made for other keys or other
 * algorithms say nothing about the one meant for ours, so the reason comes
 * from the others when there are any: their common reason, or
 * "signature_invalid" when they differ.
 */
