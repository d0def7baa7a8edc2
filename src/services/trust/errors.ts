/**
 * The trust endpoints' own problems, one factory per situation (docs/errors.md
 * lists the codes). Failures of the building blocks — bad XML, a rejected
 * certificate, a card without its PIN, an upstream TSA — pass through with
 * their own codes.
 */
import { PasserelleError, forbidden } from "../../errors/index.js";

export function signerUnknown(id: string | undefined): PasserelleError {
  return new PasserelleError("PASSERELLE_SIGNER_UNKNOWN", {
    detail:
      id === undefined
        ? "No signer is available to this caller (none configured: SIGNER_KEYSTORE_FILE, SIGNER_PKCS11_TOKEN_LABEL)"
        : `No signer ${JSON.stringify(id)}; GET /v1/trust/certificates lists yours`,
    ...(id === undefined ? {} : { extensions: { signer: id } }),
  });
}

export function signerForbidden(caller: string, id: string): PasserelleError {
  return forbidden(`Caller ${caller} may not use signer ${id} (SIGNER_CALLERS)`);
}

export function noSignerForCaller(caller: string): PasserelleError {
  return forbidden(`Caller ${caller} may use no signer (SIGNER_CALLERS)`);
}

export function tsaNotConfigured(): PasserelleError {
  return new PasserelleError("PASSERELLE_TSA_NOT_CONFIGURED", {
    detail: "No time-stamping authority is configured (TSA_URL); sign with level=B-B to do without a time-stamp",
  });
}

export function emptyBody(mediaType: string): PasserelleError {
  return new PasserelleError("PASSERELLE_MALFORMED_BODY", { detail: `The body is empty; send the document as ${mediaType}` });
}

export function unsupportedMediaType(received: string | undefined, accepted: readonly string[]): PasserelleError {
  return new PasserelleError("PASSERELLE_UNSUPPORTED_MEDIA_TYPE", {
    detail: `Content-Type ${received === undefined ? "is missing" : `${received} is not accepted`}; send ${accepted.join(" or ")}`,
  });
}

export function invalidHash(detail: string): PasserelleError {
  return new PasserelleError("PASSERELLE_VALIDATION", { detail, invalidParams: [{ in: "body", pointer: "/hash", detail }] });
}
