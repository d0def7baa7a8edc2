/**
 * Writing PKCS#12 files (RFC 7292) in JavaScript, so the sandbox can hand
 * integrators the same kind of files the Luxembourg eConnector is configured
 * with: a key store holding one private key and its chain ("generic
 * keystore"), and a truststore of CA certificates under aliases.
 *
 * The layout is what `openssl pkcs12 -export` (OpenSSL 3) and Java's
 * `keytool -storetype PKCS12` (JDK ≥ 11.0.12) write by default, which both
 * read back:
 * - password integrity mode: MacData with HMAC-SHA-256, key from the PKCS#12
 *   KDF (RFC 7292 Appendix B, password as BMPString);
 * - password privacy mode: the certificates in an EncryptedData, the key in a
 *   PKCS8ShroudedKeyBag, both PBES2 = PBKDF2-HMAC-SHA-256 + AES-256-CBC
 *   (RFC 8018 §6.2; the password as UTF-8 bytes, as OpenSSL and Java do);
 * - friendlyName (the alias) and localKeyId (SHA-1 of the certificate, pairing
 *   the key with its certificate) bag attributes (PKCS #9);
 * - on truststore entries, Oracle's "trusted key usage" attribute
 *   (2.16.840.1.113894.746875.1.1 = anyExtendedKeyUsage), without which Java
 *   does not load a certificate bag as a `trustedCertEntry`.
 *
 * Sandbox tooling: nothing here reads files; the readers are
 * src/trust/signers (keys) and src/trust/certificates (truststores).
 */
import { X509Certificate, createCipheriv, createHash, createHmac, pbkdf2, randomBytes, type KeyObject } from "node:crypto";
import { promisify } from "node:util";
import * as asn1js from "asn1js";
import { PKCS12_KDF_PURPOSE, pkcs12Kdf, pkcs12PasswordCandidates } from "../../trust/signers/password-based-encryption.js";

const pbkdf2Async = promisify(pbkdf2);

const OID = {
  data: "1.2.840.113549.1.7.1",
  encryptedData: "1.2.840.113549.1.7.6",
  pbes2: "1.2.840.113549.1.5.13",
  pbkdf2: "1.2.840.113549.1.5.12",
  hmacWithSha256: "1.2.840.113549.2.9",
  aes256Cbc: "2.16.840.1.101.3.4.1.42",
  sha256: "2.16.840.1.101.3.4.2.1",
  shroudedKeyBag: "1.2.840.113549.1.12.10.1.2",
  certBag: "1.2.840.113549.1.12.10.1.3",
  x509Certificate: "1.2.840.113549.1.9.22.1",
  friendlyName: "1.2.840.113549.1.9.20",
  localKeyId: "1.2.840.113549.1.9.21",
  javaTrustedKeyUsage: "2.16.840.1.113894.746875.1.1",
  anyExtendedKeyUsage: "2.5.29.37.0",
} as const;

/** JDK 17's default for both PBKDF2 and the MAC (`keystore.pkcs12.*IterationCount`). */
const DEFAULT_ITERATIONS = 10_000;
const SALT_BYTES = 16;

export interface Pkcs12KeyStoreInput {
  privateKey: KeyObject;
  /** The key's certificate. */
  certificate: X509Certificate;
  /** Its issuers, nearest first (the root may be included, as keytool does). */
  chain?: readonly X509Certificate[];
  /** friendlyName of the key and its certificate. */
  alias: string;
  password: string;
  /** PBKDF2 and MAC iterations; default 10 000. */
  iterations?: number;
}

export interface Pkcs12TrustStoreInput {
  entries: ReadonlyArray<{ alias: string; certificate: X509Certificate }>;
  password: string;
  iterations?: number;
}

/** A PKCS#12 key store: one private key entry with its certificate chain. */
export async function encodePkcs12KeyStore(input: Pkcs12KeyStoreInput): Promise<Buffer> {
  if (input === null || typeof input !== "object") throw new TypeError("encodePkcs12KeyStore needs options");
  if (input.privateKey?.type !== "private") throw new TypeError("privateKey must be a private KeyObject");
  if (!(input.certificate instanceof X509Certificate)) throw new TypeError("certificate must be an X509Certificate");
  if (!input.certificate.checkPrivateKey(input.privateKey)) throw new TypeError("privateKey is not the key of certificate");
  const chain = input.chain ?? [];
  if (!chain.every((certificate) => certificate instanceof X509Certificate)) throw new TypeError("chain must hold X509Certificates");
  assertAlias(input.alias);
  const { password, iterations } = checkSecrets(input.password, input.iterations);

  const localKeyId = createHash("sha1").update(input.certificate.raw).digest();
  const pkcs8 = input.privateKey.export({ format: "der", type: "pkcs8" });
  const shrouded = await encryptPbes2(pkcs8, password, iterations);
  const keyBag = safeBag(
    OID.shroudedKeyBag,
    new asn1js.Sequence({ value: [shrouded.algorithm, new asn1js.OctetString({ valueHex: shrouded.ciphertext })] }),
    [friendlyNameAttribute(input.alias), localKeyIdAttribute(localKeyId)],
  );
  const certificateBags = [
    certificateBag(input.certificate, [friendlyNameAttribute(input.alias), localKeyIdAttribute(localKeyId)]),
    ...chain.map((certificate) => certificateBag(certificate, [])),
  ];
  return assemblePfx(
    [await encryptedContentInfo(safeContents(certificateBags), password, iterations), dataContentInfo(safeContents([keyBag]))],
    password,
    iterations,
  );
}

/** A PKCS#12 truststore: certificates only, each under its alias, marked trusted for Java. */
export async function encodePkcs12TrustStore(input: Pkcs12TrustStoreInput): Promise<Buffer> {
  if (input === null || typeof input !== "object" || !Array.isArray(input.entries) || input.entries.length === 0) {
    throw new TypeError("encodePkcs12TrustStore needs at least one entry");
  }
  const aliases = new Set<string>();
  for (const entry of input.entries) {
    assertAlias(entry.alias);
    if (aliases.has(entry.alias)) throw new TypeError(`Two truststore entries have the alias ${JSON.stringify(entry.alias)}`);
    aliases.add(entry.alias);
    if (!(entry.certificate instanceof X509Certificate)) throw new TypeError(`Entry ${entry.alias}: certificate must be an X509Certificate`);
  }
  const { password, iterations } = checkSecrets(input.password, input.iterations);
  const trusted = new asn1js.Sequence({
    value: [
      new asn1js.ObjectIdentifier({ value: OID.javaTrustedKeyUsage }),
      new asn1js.Set({ value: [new asn1js.ObjectIdentifier({ value: OID.anyExtendedKeyUsage })] }),
    ],
  });
  const bags = input.entries.map((entry) => certificateBag(entry.certificate, [friendlyNameAttribute(entry.alias), trusted]));
  return assemblePfx([await encryptedContentInfo(safeContents(bags), password, iterations)], password, iterations);
}

function assertAlias(alias: unknown): asserts alias is string {
  if (typeof alias !== "string" || alias.length === 0 || alias.length > 256) throw new TypeError("alias must be a non-empty string");
}

function checkSecrets(password: unknown, iterations: number | undefined): { password: string; iterations: number } {
  if (typeof password !== "string") throw new TypeError("password must be a string");
  const count = iterations ?? DEFAULT_ITERATIONS;
  if (!Number.isSafeInteger(count) || count < 1 || count > 1_000_000) throw new TypeError("iterations must be an integer in 1..1000000");
  return { password, iterations: count };
}

/** `[0] EXPLICIT` (X.680 §31.2.7). */
function explicit0(inner: asn1js.AsnType): asn1js.Constructed {
  return new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 0 }, value: [inner] });
}

function der(value: asn1js.AsnType): Buffer {
  return Buffer.from(value.toBER(false));
}

function attribute(type: string, value: asn1js.AsnType): asn1js.Sequence {
  return new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: type }), new asn1js.Set({ value: [value] })] });
}

function friendlyNameAttribute(alias: string): asn1js.Sequence {
  return attribute(OID.friendlyName, new asn1js.BmpString({ value: alias }));
}

function localKeyIdAttribute(id: Buffer): asn1js.Sequence {
  return attribute(OID.localKeyId, new asn1js.OctetString({ valueHex: id }));
}

/** RFC 7292 §4.2: SafeBag ::= SEQUENCE { bagId, bagValue [0] EXPLICIT, bagAttributes SET OF Attribute OPTIONAL }. */
function safeBag(bagId: string, value: asn1js.AsnType, attributes: asn1js.Sequence[]): asn1js.Sequence {
  return new asn1js.Sequence({
    value: [
      new asn1js.ObjectIdentifier({ value: bagId }),
      explicit0(value),
      ...(attributes.length === 0 ? [] : [new asn1js.Set({ value: attributes })]),
    ],
  });
}

/** RFC 7292 §4.2.3: CertBag ::= SEQUENCE { certId x509Certificate, certValue [0] EXPLICIT OCTET STRING (DER) }. */
function certificateBag(certificate: X509Certificate, attributes: asn1js.Sequence[]): asn1js.Sequence {
  const certBag = new asn1js.Sequence({
    value: [new asn1js.ObjectIdentifier({ value: OID.x509Certificate }), explicit0(new asn1js.OctetString({ valueHex: certificate.raw }))],
  });
  return safeBag(OID.certBag, certBag, attributes);
}

function safeContents(bags: asn1js.Sequence[]): Buffer {
  return der(new asn1js.Sequence({ value: bags }));
}

/** RFC 5652 §3: ContentInfo of type data, the content an OCTET STRING. */
function dataContentInfo(content: Buffer): asn1js.Sequence {
  return new asn1js.Sequence({
    value: [new asn1js.ObjectIdentifier({ value: OID.data }), explicit0(new asn1js.OctetString({ valueHex: content }))],
  });
}

/** RFC 5652 §8: EncryptedData { version 0, EncryptedContentInfo { data, PBES2, [0] IMPLICIT ciphertext } }. */
async function encryptedContentInfo(content: Buffer, password: string, iterations: number): Promise<asn1js.Sequence> {
  const { algorithm, ciphertext } = await encryptPbes2(content, password, iterations);
  const encryptedContent = new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: 0 }, valueHex: ciphertext });
  const encryptedData = new asn1js.Sequence({
    value: [
      new asn1js.Integer({ value: 0 }),
      new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: OID.data }), algorithm, encryptedContent] }),
    ],
  });
  return new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: OID.encryptedData }), explicit0(encryptedData)] });
}

/** RFC 8018 §6.2 PBES2 with PBKDF2-HMAC-SHA-256 and AES-256-CBC (Appendix A.2, B.2.5). */
async function encryptPbes2(plaintext: Buffer, password: string, iterations: number): Promise<{ algorithm: asn1js.Sequence; ciphertext: Buffer }> {
  const salt = randomBytes(SALT_BYTES);
  const iv = randomBytes(16);
  const key = await pbkdf2Async(Buffer.from(password, "utf8"), salt, iterations, 32, "sha256");
  const cipher = createCipheriv("aes-256-cbc", key, iv);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const algorithm = new asn1js.Sequence({
    value: [
      new asn1js.ObjectIdentifier({ value: OID.pbes2 }),
      new asn1js.Sequence({
        value: [
          new asn1js.Sequence({
            value: [
              new asn1js.ObjectIdentifier({ value: OID.pbkdf2 }),
              new asn1js.Sequence({
                value: [
                  new asn1js.OctetString({ valueHex: salt }),
                  new asn1js.Integer({ value: iterations }),
                  new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: OID.hmacWithSha256 }), new asn1js.Null()] }),
                ],
              }),
            ],
          }),
          new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: OID.aes256Cbc }), new asn1js.OctetString({ valueHex: iv })] }),
        ],
      }),
    ],
  });
  return { algorithm, ciphertext };
}

/** RFC 7292 §4: PFX { version 3, authSafe data(AuthenticatedSafe), macData }, MAC per §5 and Appendix B.4. */
function assemblePfx(contentInfos: asn1js.Sequence[], password: string, iterations: number): Buffer {
  const authenticatedSafe = der(new asn1js.Sequence({ value: contentInfos }));
  const salt = randomBytes(SALT_BYTES);
  const [passwordBytes] = pkcs12PasswordCandidates(password);
  const macKey = pkcs12Kdf("sha256", passwordBytes ?? Buffer.alloc(2), salt, PKCS12_KDF_PURPOSE.mac, iterations, 32);
  const mac = createHmac("sha256", macKey).update(authenticatedSafe).digest();
  const macData = new asn1js.Sequence({
    value: [
      new asn1js.Sequence({
        value: [
          new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: OID.sha256 }), new asn1js.Null()] }),
          new asn1js.OctetString({ valueHex: mac }),
        ],
      }),
      new asn1js.OctetString({ valueHex: salt }),
      new asn1js.Integer({ value: iterations }),
    ],
  });
  return der(new asn1js.Sequence({ value: [new asn1js.Integer({ value: 3 }), dataContentInfo(authenticatedSafe), macData] }));
}
