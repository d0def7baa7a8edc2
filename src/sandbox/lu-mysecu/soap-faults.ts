/**
 * Every refusal of the mySecu simulator is a SOAP fault with its own code:
 * the standard WS-Security 1.1 (§12) and WS-Trust 1.3 (§11) codes where one
 * fits, and codes of the syncexchange namespace for business refusals. A
 * client branches on the code; the reason text is for people.
 */
import { SYNCEXCHANGE_NAMESPACE, WSSE_NAMESPACE, WST_NAMESPACE } from "./namespaces.js";

export interface FaultCodeInfo {
  namespace: string;
  /** Prefix used when the code is written (`wsse:FailedCheck`). */
  prefix: string;
  localName: string;
  /** SOAP 1.2 env:Sender (the request is at fault) or env:Receiver (the service is). */
  side: "sender" | "receiver";
}

const code = (namespace: string, prefix: string, localName: string, side: "sender" | "receiver" = "sender"): FaultCodeInfo => ({
  namespace,
  prefix,
  localName,
  side,
});

export const MYSECU_FAULT_CODES = {
  // WS-Trust 1.3 §11
  /** The RST is malformed: no RequestSecurityToken, an unsupported RequestType, TokenType or KeyType. */
  invalidRequest: code(WST_NAMESPACE, "wst", "InvalidRequest"),
  /** wsp:AppliesTo names a service this STS does not issue tokens for. */
  invalidScope: code(WST_NAMESPACE, "wst", "InvalidScope"),
  // WS-Security 1.1 §12
  /** No (or more than one) wsse:Security header, a missing Timestamp / token / Signature, KeyInfo not referencing the token, or a replayed message. */
  invalidSecurity: code(WSSE_NAMESPACE, "wsse", "InvalidSecurity"),
  /** A BinarySecurityToken that is not an X.509 v3 certificate; a SAML assertion with a bad signature or issuer. */
  invalidSecurityToken: code(WSSE_NAMESPACE, "wsse", "InvalidSecurityToken"),
  /** The signing certificate is not one the sandbox LU CA issued (or is expired, or not for signatures). */
  failedAuthentication: code(WSSE_NAMESPACE, "wsse", "FailedAuthentication"),
  /** The signature or a digest does not verify, or the Body / Timestamp is not signed. */
  failedCheck: code(WSSE_NAMESPACE, "wsse", "FailedCheck"),
  /** A signature, digest or transform algorithm outside the allow-list (SHA-1, HMAC…). */
  unsupportedAlgorithm: code(WSSE_NAMESPACE, "wsse", "UnsupportedAlgorithm"),
  /** wsu:Timestamp too old, from the future, or past its Expires. */
  messageExpired: code(WSSE_NAMESPACE, "wsse", "MessageExpired"),
  // syncexchange (Passerelle's design)
  /** The syncexchange request does not follow the schema of the WSDL. */
  badRequest: code(SYNCEXCHANGE_NAMESPACE, "sx", "InvalidRequest"),
  /** The SAML assertion is outside its NotBefore / NotOnOrAfter window. */
  tokenExpired: code(SYNCEXCHANGE_NAMESPACE, "sx", "TokenExpired"),
  /** The SAML assertion is not for this service (AudienceRestriction). */
  audienceMismatch: code(SYNCEXCHANGE_NAMESPACE, "sx", "AudienceMismatch"),
  /** The practitioner is not enrolled on mySecu. */
  practitionerNotEnrolled: code(SYNCEXCHANGE_NAMESPACE, "sx", "PractitionerNotEnrolled"),
  /** Not a PDF, encrypted, empty, too large, or not `application/pdf`. */
  invalidDocument: code(SYNCEXCHANGE_NAMESPACE, "sx", "InvalidDocument"),
  /** The PDF is unsigned, its PAdES signature does not verify, or its signer does not chain to the LU CA. */
  invalidDocumentSignature: code(SYNCEXCHANGE_NAMESPACE, "sx", "InvalidDocumentSignature"),
  /** The PDF is signed by someone else than the depositing practitioner. */
  signerMismatch: code(SYNCEXCHANGE_NAMESPACE, "sx", "SignerMismatch"),
  /** The patient's matricule (national identification number) is not valid. */
  invalidMatricule: code(SYNCEXCHANGE_NAMESPACE, "sx", "InvalidMatricule"),
  /** The ClientReference was already used by this vendor for another document. */
  duplicateReference: code(SYNCEXCHANGE_NAMESPACE, "sx", "DuplicateReference"),
  /** Something went wrong in the service itself (details in its log only). */
  internalError: code(SYNCEXCHANGE_NAMESPACE, "sx", "InternalError", "receiver"),
  /** Fault injection `down`: the service is unavailable (HTTP 503). */
  serviceUnavailable: code(SYNCEXCHANGE_NAMESPACE, "sx", "ServiceUnavailable", "receiver"),
} as const satisfies Record<string, FaultCodeInfo>;

export type MySecuFaultName = keyof typeof MYSECU_FAULT_CODES;

/** A refusal, thrown by the request steps and written as a SOAP fault by the endpoint. */
export class MySecuFault extends Error {
  readonly fault: MySecuFaultName;

  constructor(fault: MySecuFaultName, reason: string, cause?: unknown) {
    super(reason, cause === undefined ? undefined : { cause });
    this.name = "MySecuFault";
    this.fault = fault;
  }

  get code(): FaultCodeInfo {
    return MYSECU_FAULT_CODES[this.fault];
  }
}
