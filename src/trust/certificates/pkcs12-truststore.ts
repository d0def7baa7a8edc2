/**
 * The certificates of a PKCS#12 truststore (RFC 7292), with their aliases —
 * what Java's `keytool -importcert -storetype PKCS12` makes, and what the
 * Luxembourg eConnector and other Java connectors are configured with.
 *
 * Only certificate bags are read. The password-based cryptography (MAC key
 * derivation, PBES2 and the PKCS#12 PBEs including RC2) is the signers'
 * (src/trust/signers/password-based-encryption.ts), shared rather than
 * duplicated.
 *
 * Java marks the certificates of `trustedCertEntry` entries with an Oracle
 * attribute (2.16.840.1.113894.746875.1.1, "trusted key usage"), and its
 * TrustManager trusts only those; the certificates of a key entry's chain
 * in the same file are not anchors. We follow that when the attribute is
 * present anywhere in the file, and otherwise (OpenSSL `-nokeys` files)
 * take every certificate.
 */
import { X509Certificate } from "node:crypto";
import * as asn1js from "asn1js";
import type { CertBag} from "pkijs";
import { AuthenticatedSafe, ContentInfo, EncryptedData, PFX, SafeContents, type Attribute, type SafeBag } from "pkijs";
import { checkPkcs12Mac, decryptWithPassword, octetStringBytes } from "../signers/password-based-encryption.js";

export interface Pkcs12Certificate {
  certificate: X509Certificate;
  /** PKCS #9 friendlyName: the keytool alias. */
  alias: string | undefined;
  /** Carries Java's trusted-certificate attribute (a keytool `trustedCertEntry`). */
  javaTrusted: boolean;
}

/** Why a PKCS#12 truststore cannot be read. */
export class Pkcs12TruststoreError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "Pkcs12TruststoreError";
  }
}

const CERT_BAG = "1.2.840.113549.1.12.10.1.3";
const SAFE_CONTENTS_BAG = "1.2.840.113549.1.12.10.1.6";
const X509_CERTIFICATE = "1.2.840.113549.1.9.22.1";
const FRIENDLY_NAME = "1.2.840.113549.1.9.20";
/** Oracle's "trusted key usage" bag attribute, set by keytool on trustedCertEntry certificates. */
const JAVA_TRUSTED_KEY_USAGE = "2.16.840.1.113894.746875.1.1";
const MAX_BAG_DEPTH = 4;

/** True when the bytes parse as a PKCS#12 PFX (used to recognise a truststore file without relying on its name). */
export function isPkcs12(data: Uint8Array): boolean {
  try {
    parsePfx(data);
    return true;
  } catch {
    return false;
  }
}

function parsePfx(data: Uint8Array): PFX {
  const parsed = asn1js.fromBER(data);
  if (parsed.offset === -1) throw new Pkcs12TruststoreError("not a PKCS#12 file");
  let pfx: PFX;
  try {
    pfx = new PFX({ schema: parsed.result });
  } catch (error) {
    throw new Pkcs12TruststoreError("not a PKCS#12 file", error);
  }
  if (pfx.version !== 3) throw new Pkcs12TruststoreError(`PFX version ${pfx.version}, expected 3`);
  return pfx;
}

/** RFC 7292 §5: the password integrity MAC (see checkPkcs12Mac). */
function verifyMac(pfx: PFX, authSafe: Buffer, password: string): void {
  const check = checkPkcs12Mac(pfx.macData, authSafe, password);
  if (check.outcome === "unsupported") throw new Pkcs12TruststoreError(check.reason);
  if (check.outcome === "wrong-password") throw new Pkcs12TruststoreError("wrong truststore password (the PKCS#12 integrity check fails)");
}

function attributeValue(attributes: readonly Attribute[] | undefined, type: string): unknown {
  return attributes?.find((attribute) => attribute.type === type)?.values[0];
}

function friendlyName(attributes: readonly Attribute[] | undefined): string | undefined {
  const value = attributeValue(attributes, FRIENDLY_NAME);
  if (value instanceof asn1js.BmpString || value instanceof asn1js.Utf8String) return value.valueBlock.value;
  return undefined;
}

function collect(bags: readonly SafeBag[], found: Pkcs12Certificate[], depth: number): void {
  for (const bag of bags) {
    if (bag.bagId === SAFE_CONTENTS_BAG) {
      if (depth >= MAX_BAG_DEPTH) throw new Pkcs12TruststoreError("PKCS#12 SafeContents nested too deeply");
      collect((bag.bagValue as SafeContents).safeBags, found, depth + 1);
      continue;
    }
    // Key bags (a keystore given as truststore) and CRL/secret bags are not trust material.
    if (bag.bagId !== CERT_BAG) continue;
    const certBag = bag.bagValue as CertBag;
    if (certBag.certId !== X509_CERTIFICATE) continue;
    const der = octetStringBytes(certBag.certValue);
    if (der === undefined) throw new Pkcs12TruststoreError("malformed PKCS#12 certificate bag");
    let certificate: X509Certificate;
    try {
      certificate = new X509Certificate(der);
    } catch (error) {
      throw new Pkcs12TruststoreError("a PKCS#12 certificate bag holds an invalid certificate", error);
    }
    found.push({
      certificate,
      alias: friendlyName(bag.bagAttributes),
      javaTrusted: bag.bagAttributes?.some((attribute) => attribute.type === JAVA_TRUSTED_KEY_USAGE) ?? false,
    });
  }
}

/**
 * Every certificate of a PKCS#12 file, with its alias. `password` may be ""
 * for files written without one.
 */
export async function readPkcs12Certificates(data: Uint8Array, password: string): Promise<Pkcs12Certificate[]> {
  const pfx = parsePfx(data);
  if (pfx.authSafe.contentType !== ContentInfo.DATA) {
    throw new Pkcs12TruststoreError("PKCS#12 public-key integrity mode is not supported");
  }
  const authSafe = octetStringBytes(pfx.authSafe.content);
  if (authSafe === undefined) throw new Pkcs12TruststoreError("the PKCS#12 authSafe is not an OCTET STRING");
  verifyMac(pfx, authSafe, password);
  let authenticatedSafe: AuthenticatedSafe;
  try {
    authenticatedSafe = AuthenticatedSafe.fromBER(Uint8Array.from(authSafe));
  } catch (error) {
    throw new Pkcs12TruststoreError("malformed PKCS#12 AuthenticatedSafe", error);
  }
  const found: Pkcs12Certificate[] = [];
  for (const contentInfo of authenticatedSafe.safeContents) {
    let bytes: Buffer | undefined;
    if (contentInfo.contentType === ContentInfo.DATA) {
      bytes = octetStringBytes(contentInfo.content);
    } else if (contentInfo.contentType === ContentInfo.ENCRYPTED_DATA) {
      const info = new EncryptedData({ schema: contentInfo.content }).encryptedContentInfo;
      const ciphertext = info.encryptedContent === undefined ? undefined : octetStringBytes(info.encryptedContent);
      if (ciphertext === undefined) throw new Pkcs12TruststoreError("PKCS#12 EncryptedData without content");
      try {
        bytes = await decryptWithPassword(info.contentEncryptionAlgorithm, ciphertext, password);
      } catch (error) {
        throw new Pkcs12TruststoreError(`cannot decrypt the PKCS#12 certificates: ${(error as Error).message}`, error);
      }
      if (bytes === undefined) throw new Pkcs12TruststoreError("wrong truststore password (the certificates do not decrypt)");
    } else {
      throw new Pkcs12TruststoreError(`unsupported PKCS#12 content type ${contentInfo.contentType}`);
    }
    if (bytes === undefined) throw new Pkcs12TruststoreError("malformed PKCS#12 content");
    let safeContents: SafeContents;
    try {
      safeContents = SafeContents.fromBER(Uint8Array.from(bytes));
    } catch (error) {
      throw new Pkcs12TruststoreError("malformed PKCS#12 SafeContents", error);
    }
    collect(safeContents.safeBags, found, 0);
  }
  return found;
}

/** The trust anchors of a truststore: Java's trusted entries when the file has any, else every certificate. */
export function trustedCertificatesOf(entries: readonly Pkcs12Certificate[]): Pkcs12Certificate[] {
  return entries.some((entry) => entry.javaTrusted) ? entries.filter((entry) => entry.javaTrusted) : [...entries];
}
