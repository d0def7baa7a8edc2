/**
 * The few fields of an X.509 certificate (RFC 5280 §4.1) a time-stamp
 * verifier looks at beyond what `node:crypto` exposes — issuer, serial
 * number, subject as the bytes the certificate holds them in, and the
 * extensions — read with the offset-keeping BER reader.
 *
 * Names are compared byte for byte first: a TSA copies its issuer name and
 * serial number from its certificate, so they match exactly. Only when the
 * bytes differ are both names decoded and compared as RFC 5280 §7.1 allows
 * (pkijs: attribute by attribute, strings case- and space-folded), so a name
 * re-encoded with another string type still matches, as it did before.
 */
import * as pkijs from "pkijs";
import { UNIVERSAL, booleanValue, contentOf, encodingOf, isContext, isUniversal, oidText, readBer } from "../cms/ber-reader.js";

export interface CertificateExtension {
  /** Dotted OID (extnID). */
  oid: string;
  critical: boolean;
  /** The extnValue OCTET STRING's content: the DER of the extension's value. */
  value: Buffer;
}

export interface CertificateFields {
  /** DER of the issuer Name. */
  issuer: Buffer;
  /** Content octets of the serialNumber INTEGER. */
  serialNumber: Buffer;
  /** DER of the subject Name. */
  subject: Buffer;
  extensions: CertificateExtension[];
}

/** Reads the fields from a certificate's DER; undefined when it is not a certificate's shape. */
export function readCertificateFields(der: Uint8Array): CertificateFields | undefined {
  const certificate = readBer(der, { maxDepth: 32, maxElements: 20_000 });
  const tbs = certificate !== undefined && isUniversal(certificate, UNIVERSAL.SEQUENCE) ? certificate.children[0] : undefined;
  if (!isUniversal(tbs, UNIVERSAL.SEQUENCE)) return undefined;
  const fields = tbs.children;
  // TBSCertificate ::= SEQUENCE { version [0] EXPLICIT DEFAULT v1, serialNumber, signature, issuer, validity, subject,
  //   subjectPublicKeyInfo, issuerUniqueID [1] OPTIONAL, subjectUniqueID [2] OPTIONAL, extensions [3] EXPLICIT OPTIONAL }
  const at = isContext(fields[0], 0, true) ? 1 : 0;
  const serial = fields[at];
  const issuer = fields[at + 2];
  const subject = fields[at + 4];
  if (!isUniversal(serial, UNIVERSAL.INTEGER) || !isUniversal(issuer, UNIVERSAL.SEQUENCE) || !isUniversal(subject, UNIVERSAL.SEQUENCE)) return undefined;
  const extensions: CertificateExtension[] = [];
  const explicit = fields.slice(at + 6).find((field) => isContext(field, 3, true));
  if (explicit !== undefined) {
    const list = explicit.children[0];
    if (explicit.children.length !== 1 || !isUniversal(list, UNIVERSAL.SEQUENCE)) return undefined;
    for (const extension of list.children) {
      // Extension ::= SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }
      const [id, second, third] = extension.children;
      const critical = extension.children.length === 3 ? second : undefined;
      const value = extension.children.length === 3 ? third : second;
      const oid = isUniversal(id, UNIVERSAL.OID) ? oidText(id) : undefined;
      if (!isUniversal(extension, UNIVERSAL.SEQUENCE) || oid === undefined || !isUniversal(value, UNIVERSAL.OCTET_STRING) || value.constructed) return undefined;
      if (critical !== undefined && !isUniversal(critical, UNIVERSAL.BOOLEAN)) return undefined;
      extensions.push({ oid, critical: critical === undefined ? false : booleanValue(critical) === true, value: Buffer.from(contentOf(value)) });
    }
  }
  return { issuer: Buffer.from(encodingOf(issuer)), serialNumber: Buffer.from(contentOf(serial)), subject: Buffer.from(encodingOf(subject)), extensions };
}

/**
 * Whether two DER Names designate the same entity: equal bytes, or equal
 * after decoding (RFC 5280 §7.1 comparison rules, as pkijs applies them).
 */
export function sameName(a: Uint8Array, b: Uint8Array): boolean {
  if (Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b)) return true;
  try {
    return pkijs.RelativeDistinguishedNames.fromBER(Uint8Array.from(a)).isEqual(pkijs.RelativeDistinguishedNames.fromBER(Uint8Array.from(b)));
  } catch {
    return false;
  }
}
