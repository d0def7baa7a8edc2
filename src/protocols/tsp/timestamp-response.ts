/**
 * Reading a TimeStampResp (RFC 3161 §2.4.2): the TSA's status and, when it
 * granted the request, the token.
 */
import * as asn1js from "asn1js";
import * as pkijs from "pkijs";
import { TAG, readChildren, readTlv } from "../cms/der.js";
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
  // TimeStampResp ::= SEQUENCE { status PKIStatusInfo, timeStampToken TimeStampToken OPTIONAL } (RFC 3161 §2.4.2).
  // Only the status is decoded here; the token is handed on as bytes and decoded once, by its verifier.
  const parts = splitDer(der) ?? splitBer(der);
  if (parts === undefined) throw malformed("The answer is not a DER TimeStampResp");
  const statusElement = decodeDer(parts.status);
  let statusInfo: pkijs.PKIStatusInfo;
  try {
    if (statusElement === undefined) throw new Error("not DER");
    statusInfo = new pkijs.PKIStatusInfo({ schema: statusElement });
  } catch (error) {
    throw malformed("The answer is not a TimeStampResp", error);
  }
  const status = pkiStatusName(statusInfo.status);
  if (status === undefined) throw malformed(`Unknown PKIStatus ${statusInfo.status}`);
  const statusStrings = (statusInfo.statusStrings ?? []).map((text) => text.valueBlock.value);
  const failInfo = statusInfo.failInfo instanceof asn1js.BitString ? decodeFailureInfo(statusInfo.failInfo) : [];
  const token = parts.token === undefined ? undefined : Buffer.from(parts.token);
  if (isGrantedStatus(status) && token === undefined) throw malformed(`The TSA answered "${status}" without a token`);
  if (!isGrantedStatus(status) && token !== undefined) throw malformed(`The TSA answered "${status}" with a token`);
  return { status, statusStrings, failInfo, token };
}

interface ResponseParts {
  status: Uint8Array;
  token: Uint8Array | undefined;
}

/** The fast path: the SEQUENCE's one or two elements, found without decoding them. */
function splitDer(der: Uint8Array): ResponseParts | undefined {
  const outer = readTlv(der, 0);
  if (outer === undefined || outer.tag !== TAG.SEQUENCE || outer.end !== der.length) return undefined;
  const [status, token, ...rest] = readChildren(der, outer) ?? [];
  if (status === undefined || status.tag !== TAG.SEQUENCE || rest.length > 0 || (token !== undefined && token.tag !== TAG.SEQUENCE)) return undefined;
  return { status: der.subarray(status.start, status.end), token: token === undefined ? undefined : der.subarray(token.start, token.end) };
}

/**
 * Some TSAs answer in BER (indefinite lengths in the SignedData): decode the
 * whole answer then, as a CMS reader must accept BER (RFC 5652 §1).
 */
function splitBer(bytes: Uint8Array): ResponseParts | undefined {
  const element = decodeDer(bytes);
  if (!(element instanceof asn1js.Sequence)) return undefined;
  const [status, token, ...rest] = element.valueBlock.value;
  if (status === undefined || rest.length > 0) return undefined;
  return { status: encodedBytes(status), token: token === undefined ? undefined : encodedBytes(token) };
}
