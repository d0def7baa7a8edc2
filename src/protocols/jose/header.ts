/**
 * Header building and checking shared by the JWS and JWE helpers.
 */
import { JoseError } from "./errors.js";

/** A JSON value, as header members and JWK members are. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [member: string]: JsonValue };

export type HeaderMembers = Record<string, JsonValue>;

/**
 * Throws TypeError when `extra` tries to set a member the helper sets itself
 * from a typed option: two sources for `alg` is how allow-lists get bypassed.
 */
export function assertNoReservedMembers(extra: HeaderMembers | undefined, reserved: readonly string[], what: string): void {
  if (extra === undefined) return;
  if (typeof extra !== "object" || extra === null || Array.isArray(extra)) {
    throw new TypeError(`${what} must be an object of header members`);
  }
  for (const name of Object.keys(extra)) {
    if (reserved.includes(name)) {
      throw new TypeError(`${what} must not set "${name}": use the dedicated option`);
    }
  }
}

/**
 * Checks `crit` at signing/encryption time (RFC 7515 §4.1.11, RFC 7516
 * §4.1.13): a non-empty list of distinct names, each present in the
 * protected header.
 */
export function assertCritNames(crit: readonly string[] | undefined, protectedHeader: HeaderMembers): void {
  if (crit === undefined) return;
  if (!Array.isArray(crit) || crit.length === 0 || crit.some((name) => typeof name !== "string" || name === "")) {
    throw new TypeError("crit must be a non-empty array of header member names");
  }
  if (new Set(crit).size !== crit.length) throw new TypeError("crit must not repeat a name");
  for (const name of crit) {
    if (!(name in protectedHeader)) {
      throw new TypeError(`crit names "${name}", which is not in the protected header (RFC 7515 §4.1.11)`);
    }
  }
}

/** jose's `crit` option: the extension names this use understands, each required to be integrity protected. */
export function critOption(names: readonly string[] | undefined): { crit?: Record<string, boolean> } {
  if (names === undefined || names.length === 0) return {};
  return { crit: Object.fromEntries(names.map((name) => [name, true])) };
}

export function checkUnderstoodCrit(names: unknown, what: string): readonly string[] | undefined {
  if (names === undefined) return undefined;
  if (!Array.isArray(names) || names.some((name) => typeof name !== "string" || name === "")) {
    throw new TypeError(`${what} must be an array of header member names`);
  }
  return Object.freeze([...(names as string[])]);
}

/**
 * Explicit typing (RFC 8725 §3.11): compares `typ` the way RFC 7515 §4.1.9
 * says media types compare, case-insensitively and with "application/"
 * optional.
 */
export function assertExpectedTyp(actual: unknown, expected: string | undefined): void {
  if (expected === undefined) return;
  const normalise = (value: string): string => value.toLowerCase().replace(/^application\//, "");
  if (typeof actual !== "string" || normalise(actual) !== normalise(expected)) {
    throw new JoseError(
      "header_invalid",
      `unexpected "typ" header: expected ${JSON.stringify(expected)}, got ${actual === undefined ? "none" : JSON.stringify(actual)}`,
    );
  }
}

/** Decodes a base64url protected header into an object; JoseError "malformed" otherwise. */
export function decodeHeaderSegment(segment: unknown, what: string): HeaderMembers {
  if (typeof segment !== "string" || !/^[A-Za-z0-9_-]*$/.test(segment)) {
    throw new JoseError("malformed", `${what}: the protected header is not base64url`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(segment, "base64url").toString("utf8"));
  } catch (error) {
    throw new JoseError("malformed", `${what}: the protected header is not JSON`, error);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new JoseError("malformed", `${what}: the protected header is not a JSON object`);
  }
  return parsed as HeaderMembers;
}

/**
 * RFC 7515 §4.1.11 / RFC 7516 §4.1.13 on the receiving side, checked before
 * jose runs so the failure has its own reason: `crit`, when present, is a
 * protected, non-empty list of names this use understands, each present.
 */
export function assertCritUnderstood(
  protectedHeader: HeaderMembers | undefined,
  joseHeader: HeaderMembers,
  understood: readonly string[],
  what: string,
): void {
  if (joseHeader.crit === undefined) return;
  const crit = protectedHeader?.crit;
  if (!Array.isArray(crit) || crit.length === 0 || crit.some((name) => typeof name !== "string" || name === "")) {
    throw new JoseError("header_invalid", `${what}: "crit" must be a non-empty array of names in the protected header`);
  }
  for (const name of crit as string[]) {
    if (!understood.includes(name)) {
      throw new JoseError("header_invalid", `${what}: critical extension ${JSON.stringify(name)} is not understood here`);
    }
    if (joseHeader[name] === undefined) throw new JoseError("header_invalid", `${what}: critical extension "${name}" is missing`);
  }
}
