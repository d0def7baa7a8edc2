/**
 * mySecu's SOAP faults as Passerelle errors. The caller sees the fault code
 * (a stable QName) and our own description of it; the service's fault text
 * stays in the log, since a business service's words may quote patient data.
 */
import { PasserelleError } from "../../../errors/index.js";
import { MYSECU_UPSTREAM } from "./soap-http.js";
import type { SoapFault } from "./soap-message.js";

export type MySecuDepositRefusal = "document_signature_invalid" | "signer_mismatch" | "document_invalid" | "matricule_invalid";

const DEPOSIT_REFUSALS: Readonly<Record<string, { reason: MySecuDepositRefusal; detail: string }>> = {
  "sx:InvalidDocumentSignature": {
    reason: "document_signature_invalid",
    detail: "mySecu refused the document's signature: the PDF must carry a valid PAdES signature by a certificate of the signing CA",
  },
  "sx:SignerMismatch": { reason: "signer_mismatch", detail: "mySecu refused the document: it is not signed by the practitioner depositing it" },
  "sx:InvalidDocument": { reason: "document_invalid", detail: "mySecu refused the document: not a usable PDF (encrypted, empty, corrupt or too large)" },
  "sx:InvalidMatricule": { reason: "matricule_invalid", detail: "mySecu refused the patient's matricule: not a valid national identification number" },
};

/** Faults that mean "this token is not (or no longer) good": renew it and try once more. */
export const TOKEN_REFUSAL_FAULTS: ReadonlySet<string> = new Set([
  "wsse:InvalidSecurity",
  "wsse:InvalidSecurityToken",
  "wsse:FailedAuthentication",
  "wsse:SecurityTokenUnavailable",
  "sx:TokenExpired",
  "sx:AudienceMismatch",
]);

/** The error for a fault of the syncexchange service. */
export function depositFaultError(fault: SoapFault, providerCode: string): PasserelleError {
  const extensions = { upstream: MYSECU_UPSTREAM, faultCode: fault.code };
  if (fault.code === "sx:PractitionerNotEnrolled") {
    return new PasserelleError("PASSERELLE_MYSECU_NOT_ENROLLED", {
      detail: `Practitioner ${providerCode} is not enrolled on mySecu: they must enrol on the mySecu portal before documents are deposited in their name`,
      extensions: { ...extensions, providerCode },
    });
  }
  if (fault.code === "sx:DuplicateReference") {
    // The reference derives from the idempotency key (./client.ts): mySecu remembers it longer than our vault does.
    return new PasserelleError("PASSERELLE_IDEMPOTENCY_KEY_REUSED", {
      detail: "This idempotency key was already used to deposit another document on mySecu",
      extensions,
    });
  }
  const refusal = DEPOSIT_REFUSALS[fault.code];
  if (refusal !== undefined) {
    return new PasserelleError("PASSERELLE_MYSECU_DEPOSIT_REFUSED", { detail: refusal.detail, extensions: { ...extensions, reason: refusal.reason } });
  }
  if (TOKEN_REFUSAL_FAULTS.has(fault.code)) {
    return new PasserelleError("PASSERELLE_MYSECU_FAULT", {
      detail: `mySecu refused the gateway's SAML token (${fault.code}) even after a renewal`,
      extensions,
    });
  }
  return new PasserelleError("PASSERELLE_MYSECU_FAULT", { detail: `mySecu answered the deposit with the fault ${fault.code}`, extensions });
}

/** The error for a fault of the STS: it concerns the gateway's own credentials, so its text is shown. */
export function stsFaultError(fault: SoapFault): PasserelleError {
  const reason = Array.from(fault.reason, (c) => ((c.codePointAt(0) as number) < 0x20 || c === "\u007f" ? " " : c))
    .join("")
    .slice(0, 200);
  return new PasserelleError("PASSERELLE_MYSECU_STS_REFUSED", {
    detail: `mySecu's authentication service refused to issue a token (${fault.code})${reason === "" ? "" : `: ${reason}`}`,
    extensions: { upstream: MYSECU_UPSTREAM, faultCode: fault.code },
  });
}
