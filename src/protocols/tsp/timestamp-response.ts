/**
 * Reading a TimeStampResp (RFC 3161 §2.4.2): the TSA's status and, when it
 * granted the request, the token.
 */
import { UNIVERSAL, encodingOf, isUniversal, readBer, smallInteger, stringContent } from "../cms/ber-reader.js";
import { TimestampError } from "./errors.js";
import { decodeFailureInfo, isGrantedStatus, pkiStatusName, type PkiFailureInfoName, type PkiStatusName } from "./pki-status.js";

export interface ParsedTimestampResponse {
  status: PkiStatusName;
  /** PKIFreeText, as the TSA wrote it. */
  statusStrings: string[];
  failInfo: PkiFailureInfoName[];
  /** The token's exact bytes; present when the status is granted or grantedWithMods. */
  token: Buffer | undefined;
}

function malformed(detail: string, cause?: unknown): TimestampError {
  return new TimestampError({ reason: "malformed", detail, ...(cause === undefined ? {} : { cause }) });
}

/** UTF8String (X.680 §8.6). */
const UTF8_STRING = 12;

/**
 * Parses a TimeStampResp. Throws a `TimestampError` (reason `malformed`)
 * when the bytes are not one, or when the status and the presence of a token
 * disagree (RFC 3161 §2.4.2: a token if and only if granted). Some TSAs
 * answer in BER (indefinite lengths in the SignedData): that is read too, as
 * a CMS reader must (RFC 5652 §1).
 */
export function parseTimestampResponse(der: Uint8Array): ParsedTimestampResponse {
  if (!(der instanceof Uint8Array)) throw new TypeError("A TimeStampResp is given as bytes (Buffer / Uint8Array)");
  // TimeStampResp ::= SEQUENCE { status PKIStatusInfo, timeStampToken TimeStampToken OPTIONAL } (RFC 3161 §2.4.2).
  // Only the status is interpreted here; the token is handed on as the bytes it came in, for its verifier.
  const root = readBer(der, { maxDepth: 40, maxElements: 20_000 });
  const [statusInfo, tokenElement, ...rest] = root?.children ?? [];
  if (!isUniversal(root, UNIVERSAL.SEQUENCE) || !isUniversal(statusInfo, UNIVERSAL.SEQUENCE) || rest.length > 0) {
    throw malformed("The answer is not a DER TimeStampResp");
  }
  if (tokenElement !== undefined && !isUniversal(tokenElement, UNIVERSAL.SEQUENCE)) throw malformed("The answer is not a DER TimeStampResp");

  // PKIStatusInfo ::= SEQUENCE { status PKIStatus, statusString PKIFreeText OPTIONAL, failInfo PKIFailureInfo OPTIONAL }
  const fields = [...statusInfo.children];
  const statusElement = fields.shift();
  const statusValue = isUniversal(statusElement, UNIVERSAL.INTEGER) ? smallInteger(statusElement) : undefined;
  if (statusValue === undefined) throw malformed("The answer is not a TimeStampResp");
  const status = pkiStatusName(statusValue);
  if (status === undefined) throw malformed(`Unknown PKIStatus ${statusValue}`);
  const statusStrings: string[] = [];
  if (isUniversal(fields[0], UNIVERSAL.SEQUENCE)) {
    // PKIFreeText ::= SEQUENCE SIZE (1..MAX) OF UTF8String
    for (const text of fields.shift()?.children ?? []) {
      const value = text.tagClass === 0 && text.tagNumber === UTF8_STRING ? stringContent(text) : undefined;
      if (value === undefined) throw malformed("The answer is not a TimeStampResp");
      statusStrings.push(value.toString("utf8"));
    }
  }
  let failInfo: PkiFailureInfoName[] = [];
  const failInfoElement = fields[0];
  if (isUniversal(failInfoElement, UNIVERSAL.BIT_STRING)) {
    fields.shift();
    const decoded = decodeFailureInfo(failInfoElement);
    if (decoded === undefined) throw malformed("The answer is not a TimeStampResp");
    failInfo = decoded;
  }
  if (fields.length > 0) throw malformed("The answer is not a TimeStampResp");
  const token = tokenElement === undefined ? undefined : Buffer.from(encodingOf(tokenElement));
  if (isGrantedStatus(status) && token === undefined) throw malformed(`The TSA answered "${status}" without a token`);
  if (!isGrantedStatus(status) && token !== undefined) throw malformed(`The TSA answered "${status}" with a token`);
  return { status, statusStrings, failInfo, token };
}
