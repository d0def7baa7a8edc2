/**
 * Reading a private key and its certificate chain from a PKCS#12 file
 * (RFC 7292), in JavaScript: pkijs parses the structures (PFX,
 * AuthenticatedSafe, SafeContents, SafeBag, PKCS8ShroudedKeyBag, CertBag)
 * and node:crypto (plus rc2.ts) does the password-based cryptography. No
 * `openssl` process at run time.
 *
 * Supported: password integrity (HMAC with SHA-1/2, RFC 7292 §5 and
 * Appendix B), PBES2/PBKDF2 with AES-CBC or 3DES (`openssl pkcs12 -export`),
 * and the PKCS#12 PBEs with 3DES and RC2 (`-legacy`, Java, Windows, older
 * tools). Not supported: public-key integrity or privacy modes, PBMAC1.
 *
 * @example
 * ```ts
 * const entry = await loadPkcs12(await readFile("practitioner.p12"), password, { alias: "signature" });
 * const signer = new SoftwareSigner(entry);
 * ```
 */
import { X509Certificate, createPrivateKey, type KeyObject } from "node:crypto";
import * as asn1js from "asn1js";
import {
  AuthenticatedSafe,
  ContentInfo,
  EncryptedData,
  PFX,
  SafeContents,
  type Attribute,
  type CertBag,
  type PKCS8ShroudedKeyBag,
  type PrivateKeyInfo,
  type SafeBag,
} from "pkijs";
import type { PasserelleError } from "../../errors/index.js";
import { issuerChain, privateKeyMatchesCertificate } from "./certificate-chain.js";
import type { KeyStoreEntry } from "./key-store-entry.js";
import { keystoreInvalid, keystorePasswordIncorrect } from "./keystore-errors.js";
import { checkPkcs12Mac, decryptWithPassword, octetStringBytes } from "./password-based-encryption.js";

export interface LoadPkcs12Options {
  /** The friendlyName of the key (or of its certificate) to use when the file holds several. */
  alias?: string;
}

// RFC 7292 Appendix D (bag types) and PKCS #9 (attributes).
const KEY_BAG = "1.2.840.113549.1.12.10.1.1";
const SHROUDED_KEY_BAG = "1.2.840.113549.1.12.10.1.2";
const CERT_BAG = "1.2.840.113549.1.12.10.1.3";
const SAFE_CONTENTS_BAG = "1.2.840.113549.1.12.10.1.6";
const X509_CERTIFICATE = "1.2.840.113549.1.9.22.1";
const FRIENDLY_NAME = "1.2.840.113549.1.9.20";
const LOCAL_KEY_ID = "1.2.840.113549.1.9.21";
/** Nested SafeContents deeper than this are refused rather than recursed into. */
const MAX_BAG_DEPTH = 4;

interface FoundKey {
  privateKey: KeyObject;
  alias: string | undefined;
  localKeyId: string | undefined;
}

interface FoundCertificate {
  certificate: X509Certificate;
  alias: string | undefined;
  localKeyId: string | undefined;
}

interface Contents {
  keys: FoundKey[];
  certificates: FoundCertificate[];
}

/**
 * Loads one key and its chain from a PKCS#12 file. Throws
 * `PASSERELLE_KEYSTORE_INVALID` (with a `reason`) for a file that is not
 * PKCS#12, is damaged or uses what we do not support, and
 * `PASSERELLE_KEYSTORE_PASSWORD_INCORRECT` for a wrong password.
 */
export async function loadPkcs12(data: Uint8Array, password: string, options: LoadPkcs12Options = {}): Promise<KeyStoreEntry> {
  if (!(data instanceof Uint8Array)) throw new TypeError("loadPkcs12 needs the file's bytes (a Buffer or Uint8Array)");
  if (typeof password !== "string") throw new TypeError("loadPkcs12 needs the password as a string (\"\" for none)");
  if (options.alias !== undefined && (typeof options.alias !== "string" || options.alias === "")) {
    throw new TypeError("alias must be a non-empty string");
  }

  const pfx = parsePfx(data);
  const authSafeBytes = authenticatedSafeBytes(pfx);
  verifyMac(pfx, authSafeBytes, password);
  const contents = await readAuthenticatedSafe(authSafeBytes, password);
  return selectEntry(contents, options.alias);
}

function parsePfx(data: Uint8Array): PFX {
  const notPkcs12 = (cause?: unknown): PasserelleError =>
    keystoreInvalid("not_pkcs12", "Not a PKCS#12 file (truncated, damaged, or another format)", cause);
  const parsed = asn1js.fromBER(data);
  if (parsed.offset === -1) throw notPkcs12(new Error(parsed.result.error));
  let pfx: PFX;
  try {
    pfx = new PFX({ schema: parsed.result });
  } catch (error) {
    throw notPkcs12(error);
  }
  if (pfx.version !== 3) throw notPkcs12(new Error(`PFX version ${pfx.version}, expected 3`));
  return pfx;
}

/** RFC 7292 §4: in password integrity mode, authSafe is `data` wrapping the DER AuthenticatedSafe. */
function authenticatedSafeBytes(pfx: PFX): Buffer {
  if (pfx.authSafe.contentType === ContentInfo.SIGNED_DATA) {
    throw keystoreInvalid("unsupported_algorithm", "PKCS#12 public-key integrity mode is not supported");
  }
  if (pfx.authSafe.contentType !== ContentInfo.DATA) {
    throw keystoreInvalid("not_pkcs12", `Not a PKCS#12 file (authSafe content type ${pfx.authSafe.contentType})`);
  }
  const bytes = octetStringBytes(pfx.authSafe.content);
  if (bytes === undefined) throw keystoreInvalid("malformed", "The PKCS#12 authSafe is not an OCTET STRING");
  return bytes;
}

/**
 * RFC 7292 §5 and Appendix B.4: the MAC key is derived from the password
 * with the PKCS#12 KDF (purpose 3) and the HMAC covers the AuthenticatedSafe.
 * A file without MacData (`-nomac`) is only checked by its decryption.
 */
function verifyMac(pfx: PFX, authSafe: Buffer, password: string): void {
  const check = checkPkcs12Mac(pfx.macData, authSafe, password);
  if (check.outcome === "unsupported") throw keystoreInvalid("unsupported_algorithm", check.reason);
  if (check.outcome === "wrong-password") {
    throw keystorePasswordIncorrect("Wrong password for PKCS#12 file (its integrity check fails: wrong password, or an altered file)");
  }
}

async function readAuthenticatedSafe(bytes: Buffer, password: string): Promise<Contents> {
  let authenticatedSafe: AuthenticatedSafe;
  try {
    authenticatedSafe = AuthenticatedSafe.fromBER(Uint8Array.from(bytes));
  } catch (error) {
    throw keystoreInvalid("malformed", "Malformed PKCS#12 AuthenticatedSafe", error);
  }
  const contents: Contents = { keys: [], certificates: [] };
  for (const contentInfo of authenticatedSafe.safeContents) {
    const safeContentsBytes = await openContentInfo(contentInfo, password);
    await collectBags(parseSafeContents(safeContentsBytes).safeBags, password, contents, 0);
  }
  return contents;
}

/** RFC 7292 §4.1: each ContentInfo is `data` (plain) or `encryptedData` (password privacy mode). */
async function openContentInfo(contentInfo: ContentInfo, password: string): Promise<Buffer> {
  if (contentInfo.contentType === ContentInfo.DATA) {
    const bytes = octetStringBytes(contentInfo.content);
    if (bytes === undefined) throw keystoreInvalid("malformed", "Malformed PKCS#12 data content");
    return bytes;
  }
  if (contentInfo.contentType === ContentInfo.ENCRYPTED_DATA) {
    let encrypted: EncryptedData;
    try {
      encrypted = new EncryptedData({ schema: contentInfo.content });
    } catch (error) {
      throw keystoreInvalid("malformed", "Malformed PKCS#12 EncryptedData", error);
    }
    const info = encrypted.encryptedContentInfo;
    const ciphertext = info.encryptedContent === undefined ? undefined : octetStringBytes(info.encryptedContent);
    if (ciphertext === undefined) throw keystoreInvalid("malformed", "PKCS#12 EncryptedData without content");
    const plaintext = await decryptWithPassword(info.contentEncryptionAlgorithm, ciphertext, password);
    if (plaintext === undefined) throw keystorePasswordIncorrect("Wrong password for PKCS#12 file (its certificates do not decrypt)");
    return plaintext;
  }
  if (contentInfo.contentType === ContentInfo.ENVELOPED_DATA) {
    throw keystoreInvalid("unsupported_algorithm", "PKCS#12 public-key privacy mode (EnvelopedData) is not supported");
  }
  throw keystoreInvalid("malformed", `Unexpected PKCS#12 content type ${contentInfo.contentType}`);
}

function parseSafeContents(bytes: Uint8Array): SafeContents {
  try {
    return SafeContents.fromBER(Uint8Array.from(bytes));
  } catch (error) {
    // After a password-based decryption with valid padding, garbage means the password was wrong (1 in 256 chance).
    throw keystoreInvalid("malformed", "Malformed PKCS#12 SafeContents", error);
  }
}

async function collectBags(bags: readonly SafeBag[], password: string, contents: Contents, depth: number): Promise<void> {
  for (const bag of bags) {
    const alias = friendlyName(bag.bagAttributes);
    const localKeyId = localKeyIdOf(bag.bagAttributes);
    switch (bag.bagId) {
      case KEY_BAG:
        contents.keys.push({ privateKey: importPkcs8((bag.bagValue as PrivateKeyInfo).toSchema().toBER(false)), alias, localKeyId });
        break;
      case SHROUDED_KEY_BAG: {
        const shrouded = bag.bagValue as PKCS8ShroudedKeyBag;
        const ciphertext = octetStringBytes(shrouded.encryptedData);
        if (ciphertext === undefined) throw keystoreInvalid("malformed", "Malformed PKCS#12 shrouded key bag");
        const pkcs8 = await decryptWithPassword(shrouded.encryptionAlgorithm, ciphertext, password);
        if (pkcs8 === undefined) throw keystorePasswordIncorrect("Wrong password for PKCS#12 file (its private key does not decrypt)");
        contents.keys.push({ privateKey: importPkcs8(pkcs8), alias, localKeyId });
        break;
      }
      case CERT_BAG: {
        const certBag = bag.bagValue as CertBag;
        // SDSI certificates (RFC 7292 §4.2.3) have no use here.
        if (certBag.certId !== X509_CERTIFICATE) break;
        const der = octetStringBytes(certBag.certValue);
        if (der === undefined) throw keystoreInvalid("malformed", "Malformed PKCS#12 certificate bag");
        contents.certificates.push({ certificate: parseCertificate(der), alias, localKeyId });
        break;
      }
      case SAFE_CONTENTS_BAG:
        if (depth >= MAX_BAG_DEPTH) throw keystoreInvalid("malformed", "PKCS#12 SafeContents nested too deeply");
        await collectBags((bag.bagValue as SafeContents).safeBags, password, contents, depth + 1);
        break;
      default:
        // CRL and secret bags: nothing a signer needs.
        break;
    }
  }
}

function importPkcs8(der: ArrayBuffer | Uint8Array): KeyObject {
  try {
    return createPrivateKey({ key: Buffer.from(der instanceof Uint8Array ? der : new Uint8Array(der)), format: "der", type: "pkcs8" });
  } catch (error) {
    throw keystoreInvalid("malformed", "The PKCS#12 private key is not a valid PKCS#8 key", error);
  }
}

function parseCertificate(der: Buffer): X509Certificate {
  try {
    return new X509Certificate(der);
  } catch (error) {
    throw keystoreInvalid("malformed", "A PKCS#12 certificate bag holds an invalid certificate", error);
  }
}

function selectEntry(contents: Contents, alias: string | undefined): KeyStoreEntry {
  const { keys, certificates } = contents;
  if (keys.length === 0) throw keystoreInvalid("no_private_key", "The PKCS#12 file holds no private key");
  let key: FoundKey | undefined;
  if (alias !== undefined) {
    key = keys.find((candidate) => candidate.alias === alias);
    if (key === undefined) {
      // The alias may be on the certificate only; its localKeyId then names the key.
      const certificate = certificates.find((candidate) => candidate.alias === alias);
      const keyId = certificate?.localKeyId;
      key = keyId === undefined ? undefined : keys.find((candidate) => candidate.localKeyId === keyId);
    }
    if (key === undefined) {
      throw keystoreInvalid(
        "alias_not_found",
        `The PKCS#12 file has no key named ${JSON.stringify(alias)} (it has ${describeAliases(keys)})`,
      );
    }
  } else if (keys.length > 1) {
    throw keystoreInvalid(
      "ambiguous",
      `The PKCS#12 file holds ${keys.length} keys (${describeAliases(keys)}): name one with an alias`,
    );
  } else {
    key = keys[0]!;
  }

  if (certificates.length === 0) throw keystoreInvalid("no_certificate", "The PKCS#12 file holds no certificate");
  // RFC 7292 §4.2: localKeyId pairs a key with its certificate; the public key settles it when ids are absent.
  const byId = key.localKeyId === undefined ? undefined : certificates.find((candidate) => candidate.localKeyId === key.localKeyId);
  const chosen = byId ?? certificates.find((candidate) => privateKeyMatchesCertificate(key.privateKey, candidate.certificate));
  if (chosen === undefined || !privateKeyMatchesCertificate(key.privateKey, chosen.certificate)) {
    throw keystoreInvalid("key_certificate_mismatch", "The PKCS#12 private key does not match its certificate");
  }
  const others = certificates.filter((candidate) => candidate !== chosen).map((candidate) => candidate.certificate);
  return {
    privateKey: key.privateKey,
    certificate: chosen.certificate,
    chain: issuerChain(chosen.certificate, others),
    alias: key.alias ?? chosen.alias,
  };
}

function describeAliases(keys: readonly FoundKey[]): string {
  const names = keys.map((key) => (key.alias === undefined ? "(unnamed)" : JSON.stringify(key.alias)));
  return names.join(", ");
}

function attributeValue(attributes: readonly Attribute[] | undefined, type: string): unknown {
  return attributes?.find((attribute) => attribute.type === type)?.values[0];
}

/** PKCS #9 friendlyName is a BMPString. */
function friendlyName(attributes: readonly Attribute[] | undefined): string | undefined {
  const value = attributeValue(attributes, FRIENDLY_NAME);
  if (value instanceof asn1js.BmpString || value instanceof asn1js.Utf8String) return value.valueBlock.value;
  return undefined;
}

function localKeyIdOf(attributes: readonly Attribute[] | undefined): string | undefined {
  const value = attributeValue(attributes, LOCAL_KEY_ID);
  return value instanceof asn1js.OctetString ? Buffer.from(value.valueBlock.valueHexView).toString("hex") : undefined;
}

