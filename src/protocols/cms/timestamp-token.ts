/**
 * Reads what a verifier reports about an RFC 3161 time-stamp token carried
 * in a signature (the signature-time-stamp attribute of CAdES-T / PAdES B-T):
 * its time, and whether its message imprint is the hash of the signature it
 * is attached to.
 *
 * This is a reading, not a verification of the TSA's signature or
 * certificate: that is the RFC 3161 verifier's job (a `verifyTimestamp`
 * callback at the PAdES level). It lets a report say "time-stamped at T,
 * imprint matches" and catches a token pasted from another signature.
 */
import { createHash } from "node:crypto";
import * as pkijs from "pkijs";
import { NODE_DIGEST_NAME, digestAlgorithmFromOid } from "./algorithms.js";
import { decodeBer } from "./der.js";
import { CmsError } from "./errors.js";
import { CMS_OID } from "./oids.js";

export interface TimestampTokenInfo {
  genTime: Date;
  /** Whether the token's messageImprint is the hash of the given signature value (RFC 3161 §2.4.2 and Appendix A). */
  imprintMatches: boolean;
}

/** Throws CmsError("malformed") when `token` is not a SignedData over a TSTInfo. */
export function readTimestampToken(token: Uint8Array, signatureValue: Uint8Array): TimestampTokenInfo {
  const root = decodeBer(token);
  if (root === undefined) throw new CmsError("malformed", "The time-stamp token is not DER");
  let info: pkijs.TSTInfo;
  try {
    const contentInfo = new pkijs.ContentInfo({ schema: root });
    const signedData = new pkijs.SignedData({ schema: contentInfo.content });
    const eContent = signedData.encapContentInfo.eContent;
    if (contentInfo.contentType !== CMS_OID.signedData || signedData.encapContentInfo.eContentType !== CMS_OID.tstInfo || eContent === undefined) {
      throw new Error("not a TSTInfo SignedData");
    }
    const tstInfoDer = eContent.idBlock.isConstructed
      ? Buffer.concat(eContent.valueBlock.value.map((part) => Buffer.from((part as typeof eContent).valueBlock.valueHexView)))
      : Buffer.from(eContent.valueBlock.valueHexView);
    info = pkijs.TSTInfo.fromBER(tstInfoDer);
  } catch (cause) {
    throw new CmsError("malformed", "The time-stamp token is not an RFC 3161 TimeStampToken", cause);
  }
  const digest = digestAlgorithmFromOid(info.messageImprint.hashAlgorithm.algorithmId);
  const expected = digest === undefined ? undefined : createHash(NODE_DIGEST_NAME[digest]).update(signatureValue).digest();
  const imprint = Buffer.from(info.messageImprint.hashedMessage.valueBlock.valueHexView);
  return { genTime: info.genTime, imprintMatches: expected !== undefined && expected.equals(imprint) };
}
