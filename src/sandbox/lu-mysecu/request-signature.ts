/**
 * The STS's check of a WS-Security signed request (OASIS WS-Security 1.1,
 * X.509 Token Profile 1.1), in the order a careful service runs it:
 *
 * 1. one wsse:Security header holding one wsu:Timestamp, one X.509 v3
 *    wsse:BinarySecurityToken and one ds:Signature whose KeyInfo is a
 *    wsse:SecurityTokenReference to that token (X.509 Token Profile §3.3.2);
 * 2. the certificate is one the sandbox LU CA issued, valid now, fit for
 *    signatures (RFC 5280 path validation, src/trust/certificates);
 * 3. the signature verifies with that certificate's key, through the
 *    hardened verifier (src/protocols/xmldsig: allow-listed algorithms,
 *    unique Ids, no wrapping), and covers both the soap:Body and the
 *    Timestamp — the structural defence against signature wrapping;
 * 4. the Timestamp is fresh (WS-Security 1.1 §10: Created not in the future,
 *    not older than the freshness limit, Expires not passed);
 * 5. the same signature was not seen before while it was fresh (replay).
 *
 * Only then is the Body handed to the STS, and only the signed Body.
 */
import { X509Certificate, createHash } from "node:crypto";
import type { Element } from "@xmldom/xmldom";
import { childElements, isNamed, selectElements } from "../../protocols/xml/index.js";
import { XmlSignatureError, verifyXmlSignature, type XmlSignatureFailure } from "../../protocols/xmldsig/index.js";
import { validateChain } from "../../trust/certificates/index.js";
import { BASE64_ENCODING_TYPE, DS_NAMESPACE, WSSE_NAMESPACE, WSU_NAMESPACE, X509V3_VALUE_TYPE } from "./namespaces.js";
import { MySecuFault, type MySecuFaultName } from "./soap-faults.js";
import type { SoapRequest } from "./soap-envelope.js";

export interface RequestSignaturePolicy {
  /** The CA that must have issued the signing certificate (the sandbox LU CA). */
  issuingCa: X509Certificate;
  now: Date;
  /** Tolerated clock difference with the client. */
  clockSkewMs: number;
  /** Oldest accepted wsu:Created. */
  maxAgeMs: number;
  replay: ReplayCache;
}

export interface VerifiedRequest {
  /** The certificate that signed (from the BinarySecurityToken, validated). */
  certificate: X509Certificate;
  /** The signed soap:Body. */
  body: Element;
  timestamp: { created: Date; expires: Date };
}

export async function verifySignedRequest(request: SoapRequest, policy: RequestSignaturePolicy): Promise<VerifiedRequest> {
  const security = securityHeader(request);
  const timestamps = childrenNamed(security, WSU_NAMESPACE, "Timestamp");
  const tokens = childrenNamed(security, WSSE_NAMESPACE, "BinarySecurityToken");
  const signatures = childrenNamed(security, DS_NAMESPACE, "Signature");
  if (timestamps.length !== 1) throw new MySecuFault("invalidSecurity", "The Security header must hold exactly one wsu:Timestamp");
  if (tokens.length !== 1) throw new MySecuFault("invalidSecurity", "The Security header must hold exactly one wsse:BinarySecurityToken");
  if (signatures.length !== 1) throw new MySecuFault("invalidSecurity", "The Security header must hold exactly one ds:Signature");
  const token = tokens[0] as Element;
  const signature = signatures[0] as Element;

  const certificate = binarySecurityTokenCertificate(token);
  assertKeyInfoReferencesToken(signature, token);

  const chain = await validateChain(certificate, { anchors: [policy.issuingCa], purpose: "signature", at: policy.now });
  if (!chain.valid) throw new MySecuFault("failedAuthentication", `The signing certificate is not accepted: ${chain.detail}`, chain.error);

  const soap = `/soap:Envelope`;
  try {
    await verifyXmlSignature(request.document, {
      trustedCertificates: [certificate],
      signatureXPath: `${soap}/soap:Header/wsse:Security/ds:Signature`,
      requireSigned: [`${soap}/soap:Body`, `${soap}/soap:Header/wsse:Security/wsu:Timestamp`],
      namespaces: { soap: request.namespace, wsse: WSSE_NAMESPACE, wsu: WSU_NAMESPACE },
      at: policy.now,
    });
  } catch (error) {
    if (error instanceof XmlSignatureError) throw new MySecuFault(faultForSignature(error.reason), `The signature is refused (${error.reason}): ${error.detail}`, error);
    throw error;
  }

  const timestamp = readTimestamp(timestamps[0] as Element);
  const now = policy.now.getTime();
  if (timestamp.created.getTime() > now + policy.clockSkewMs) throw new MySecuFault("messageExpired", "wsu:Created is in the future");
  if (timestamp.created.getTime() < now - policy.maxAgeMs - policy.clockSkewMs) {
    throw new MySecuFault("messageExpired", `wsu:Created is older than ${Math.round(policy.maxAgeMs / 1000)} s`);
  }
  if (timestamp.expires.getTime() <= now - policy.clockSkewMs) throw new MySecuFault("messageExpired", "The message expired (wsu:Expires)");

  const signatureValue = childrenNamed(signature, DS_NAMESPACE, "SignatureValue")[0]?.textContent ?? "";
  const fingerprint = createHash("sha256").update(signatureValue.replace(/\s+/g, "")).digest("hex");
  if (!policy.replay.remember(fingerprint, Math.max(timestamp.expires.getTime(), timestamp.created.getTime() + policy.maxAgeMs) + policy.clockSkewMs, now)) {
    throw new MySecuFault("invalidSecurity", "This signed message was already received (replay)");
  }
  return { certificate, body: request.body, timestamp };
}

/** The one wsse:Security header (SOAP actor/role is not used by this service). */
export function securityHeader(request: SoapRequest): Element {
  const headers = request.header === undefined ? [] : childrenNamed(request.header, WSSE_NAMESPACE, "Security");
  if (headers.length !== 1) throw new MySecuFault("invalidSecurity", `Expected one wsse:Security header, found ${headers.length}`);
  return headers[0] as Element;
}

export function childrenNamed(parent: Element, namespace: string, localName: string): Element[] {
  return childElements(parent).filter((child) => isNamed(child, namespace, localName));
}

function binarySecurityTokenCertificate(token: Element): X509Certificate {
  // X.509 Token Profile 1.1 §3.1: ValueType X509v3; SOAP Message Security 1.1 §6.3: EncodingType defaults to Base64Binary.
  if (token.getAttribute("ValueType") !== X509V3_VALUE_TYPE) {
    throw new MySecuFault("invalidSecurityToken", `The BinarySecurityToken must have ValueType ${X509V3_VALUE_TYPE}`);
  }
  const encoding = token.getAttribute("EncodingType");
  if (encoding !== null && encoding !== "" && encoding !== BASE64_ENCODING_TYPE) {
    throw new MySecuFault("invalidSecurityToken", "The BinarySecurityToken must be Base64Binary");
  }
  const text = (token.textContent ?? "").replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) throw new MySecuFault("invalidSecurityToken", "The BinarySecurityToken is not base64");
  try {
    return new X509Certificate(Buffer.from(text, "base64"));
  } catch (error) {
    throw new MySecuFault("invalidSecurityToken", "The BinarySecurityToken is not an X.509 certificate", error);
  }
}

/** X.509 Token Profile 1.1 §3.3.2: KeyInfo/SecurityTokenReference/Reference URI="#<token wsu:Id>". */
function assertKeyInfoReferencesToken(signature: Element, token: Element): void {
  const id = token.getAttributeNS(WSU_NAMESPACE, "Id");
  const references = selectElements("./ds:KeyInfo/wsse:SecurityTokenReference/wsse:Reference", signature, { ds: DS_NAMESPACE, wsse: WSSE_NAMESPACE });
  const reference = references[0];
  if (id === null || id === "" || references.length !== 1 || reference?.getAttribute("URI") !== `#${id}`) {
    throw new MySecuFault("invalidSecurity", "The Signature's KeyInfo must be a SecurityTokenReference to the BinarySecurityToken");
  }
  const valueType = reference.getAttribute("ValueType");
  if (valueType !== null && valueType !== "" && valueType !== X509V3_VALUE_TYPE) {
    throw new MySecuFault("invalidSecurity", "The SecurityTokenReference must reference an X509v3 token");
  }
}

function readTimestamp(timestamp: Element): { created: Date; expires: Date } {
  const created = childrenNamed(timestamp, WSU_NAMESPACE, "Created");
  const expires = childrenNamed(timestamp, WSU_NAMESPACE, "Expires");
  if (created.length !== 1 || expires.length !== 1) throw new MySecuFault("invalidSecurity", "wsu:Timestamp must hold one Created and one Expires");
  const parse = (element: Element, what: string): Date => {
    const date = parseXsdDateTime(element.textContent ?? "");
    if (date === undefined) throw new MySecuFault("invalidSecurity", `wsu:${what} is not an xsd:dateTime with a time zone`);
    return date;
  };
  const result = { created: parse(created[0] as Element, "Created"), expires: parse(expires[0] as Element, "Expires") };
  if (result.expires.getTime() <= result.created.getTime()) throw new MySecuFault("invalidSecurity", "wsu:Expires is not after wsu:Created");
  return result;
}

/** XML Schema 1.1 Part 2 §3.3.7 dateTime, with a mandatory time zone (WS-Security 1.1 §10 wants UTC). */
export function parseXsdDateTime(text: string): Date | undefined {
  const value = text.trim();
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/.test(value)) return undefined;
  const date = new Date(value);
  return Number.isFinite(date.getTime()) ? date : undefined;
}

function faultForSignature(reason: XmlSignatureFailure): MySecuFaultName {
  switch (reason) {
    case "algorithm_not_allowed":
    case "hmac_truncation":
    case "transform_not_allowed":
      return "unsupportedAlgorithm";
    case "signature_not_found":
    case "multiple_signatures":
    case "malformed_signature":
    case "unsupported_reference":
    case "too_many_references":
      return "invalidSecurity";
    case "untrusted_key":
    case "weak_key":
    case "certificate_expired":
    case "certificate_not_yet_valid":
      return "failedAuthentication";
    default:
      // signature_mismatch, digest_mismatch, wrapping, duplicate_id, reference_*, comment_in_signed_content…
      return "failedCheck";
  }
}

/**
 * Signatures seen while their message is fresh. Bounded: when full, the
 * entries that expire first go (they are the least useful to keep).
 */
export class ReplayCache {
  readonly #seen = new Map<string, number>();
  readonly #maxEntries: number;

  constructor(maxEntries = 10_000) {
    this.#maxEntries = maxEntries;
  }

  /** Records `fingerprint` until `until`; false if it was already there. */
  remember(fingerprint: string, until: number, now: number): boolean {
    const known = this.#seen.get(fingerprint);
    if (known !== undefined && known > now) return false;
    if (this.#seen.size >= this.#maxEntries) {
      for (const [key, expiry] of this.#seen) if (expiry <= now) this.#seen.delete(key);
      if (this.#seen.size >= this.#maxEntries) {
        const soonest = [...this.#seen.entries()].sort((a, b) => a[1] - b[1]).slice(0, Math.ceil(this.#maxEntries / 10));
        for (const [key] of soonest) this.#seen.delete(key);
      }
    }
    this.#seen.set(fingerprint, until);
    return true;
  }
}
