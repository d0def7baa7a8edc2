/**
 * Reading a TimeStampResp (RFC 3161 §2.4.2): the TSA's status and, when it
 * granted the request, the token.
 */
import * as asn1js from "asn1js";
import * as pkijs from "pkijs";
import { decodeDer, encodedBytes } from "./der.js";
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

/**
 * Parses a DER TimeStampResp. Throws a `TimestampError` (reason `malformed`)
 * when the bytes are not one, or when the status and the presence of a token
 * disagree (RFC 3161 §2.4.2: a token if and only if granted).
 */
export function parseTimestampResponse(der: Uint8Array): ParsedTimestampResponse {
  if (!(der instanceof Uint8Array)) throw new TypeError("A TimeStampResp is given as bytes (Buffer / Uint8Array)");
  const element = decodeDer(der);
  if (element === undefined) throw malformed("The answer is not a DER TimeStampResp");
  let response: pkijs.TimeStampResp;
  try {
    response = new pkijs.TimeStampResp({ schema: element });
  } catch (error) {
    throw malformed("The answer is not a TimeStampResp", error);
  }
  const status = pkiStatusName(response.status.status);
  if (status === undefined) throw malformed(`Unknown PKIStatus ${response.status.status}`);
  const statusStrings = (response.status.statusStrings ?? []).map((text) => text.valueBlock.value);
  const failInfo = response.status.failInfo instanceof asn1js.BitString ? decodeFailureInfo(response.status.failInfo) : [];
  const tokenElement = element instanceof asn1js.Sequence ? element.valueBlock.value[1] : undefined;
  const token = tokenElement === undefined ? undefined : encodedBytes(tokenElement);
  if (isGrantedStatus(status) && token === undefined) throw malformed(`The TSA answered "${status}" without a token`);
  if (!isGrantedStatus(status) && token !== undefined) throw malformed(`The TSA answered "${status}" with a token`);
  return { status, statusStrings, failInfo, token };
}
