/**
 * Password-based decryption and MAC keys for PKCS#12 files (RFC 7292) and
 * encrypted PKCS#8 keys (RFC 5958 EncryptedPrivateKeyInfo): PBES2 with
 * PBKDF2 (RFC 8018 §6.2, what `openssl pkcs12 -export` writes by default)
 * and the PKCS#12 PBE schemes with their own key derivation (RFC 7292
 * Appendix B and C, what `-legacy` and older tools write).
 */
import { createDecipheriv, createHash, createHmac, pbkdf2, timingSafeEqual } from "node:crypto";
import { promisify } from "node:util";
import * as asn1js from "asn1js";
import { PBES2Params, PBKDF2Params, type AlgorithmIdentifier, type MacData } from "pkijs";
import { PasserelleError } from "../../errors/index.js";
import { keystoreInvalid } from "./keystore-errors.js";
import { rc2CbcDecrypt } from "./rc2.js";

const pbkdf2Async = promisify(pbkdf2);

/**
 * Iteration counts above this are refused: a hostile file could otherwise
 * hold the process for minutes. Real files use 2 048 (OpenSSL) to 600 000.
 */
export const MAX_KDF_ITERATIONS = 1_000_000;

type HashName = "sha1" | "sha224" | "sha256" | "sha384" | "sha512";

/** RFC 7292 Appendix B.2: `v`, the hash block size in bytes. */
const HASH_BLOCK_BYTES: Readonly<Record<HashName, number>> = { sha1: 64, sha224: 64, sha256: 64, sha384: 128, sha512: 128 };

/** Digest OIDs of a PKCS#12 MacData (RFC 7292 §4, RFC 8018 Appendix B.1). */
export const MAC_DIGESTS: Readonly<Record<string, HashName>> = {
  "1.3.14.3.2.26": "sha1",
  "2.16.840.1.101.3.4.2.4": "sha224",
  "2.16.840.1.101.3.4.2.1": "sha256",
  "2.16.840.1.101.3.4.2.2": "sha384",
  "2.16.840.1.101.3.4.2.3": "sha512",
};

/** PBKDF2 PRFs (RFC 8018 Appendix B.1.1–B.1.2). */
const PBKDF2_PRFS: Readonly<Record<string, HashName>> = {
  "1.2.840.113549.2.7": "sha1",
  "1.2.840.113549.2.8": "sha224",
  "1.2.840.113549.2.9": "sha256",
  "1.2.840.113549.2.10": "sha384",
  "1.2.840.113549.2.11": "sha512",
};

interface BlockCipher {
  name: string;
  keyBytes: number;
  ivBytes: number;
}

/** PBES2 encryption schemes (RFC 8018 Appendix B.2, NIST AES OIDs). */
const PBES2_CIPHERS: Readonly<Record<string, BlockCipher>> = {
  "2.16.840.1.101.3.4.1.2": { name: "aes-128-cbc", keyBytes: 16, ivBytes: 16 },
  "2.16.840.1.101.3.4.1.22": { name: "aes-192-cbc", keyBytes: 24, ivBytes: 16 },
  "2.16.840.1.101.3.4.1.42": { name: "aes-256-cbc", keyBytes: 32, ivBytes: 16 },
  "1.2.840.113549.3.7": { name: "des-ede3-cbc", keyBytes: 24, ivBytes: 8 },
};

interface Pkcs12PbeScheme {
  /** A node:crypto cipher, or RC2 done here (see rc2.ts). */
  cipher: { node: string } | { rc2EffectiveBits: number };
  keyBytes: number;
}

/** RFC 7292 Appendix C: the PKCS#12 PBE schemes, all with SHA-1 key derivation. */
const PKCS12_PBE_SCHEMES: Readonly<Record<string, Pkcs12PbeScheme>> = {
  "1.2.840.113549.1.12.1.3": { cipher: { node: "des-ede3-cbc" }, keyBytes: 24 },
  "1.2.840.113549.1.12.1.4": { cipher: { node: "des-ede-cbc" }, keyBytes: 16 },
  "1.2.840.113549.1.12.1.5": { cipher: { rc2EffectiveBits: 128 }, keyBytes: 16 },
  "1.2.840.113549.1.12.1.6": { cipher: { rc2EffectiveBits: 40 }, keyBytes: 5 },
};

const PBES2_OID = "1.2.840.113549.1.5.13";
const PBKDF2_OID = "1.2.840.113549.1.5.12";
const HMAC_SHA1_OID = "1.2.840.113549.2.7";

/** RFC 7292 Appendix B.3: PKCS#12 key derivation purposes. */
export const PKCS12_KDF_PURPOSE = { key: 1, iv: 2, mac: 3 } as const;

/**
 * The ways a password string can be turned into bytes for the PKCS#12 KDF:
 * BMPString with a two-byte terminator (RFC 7292 Appendix B.1). OpenSSL
 * writes files with an empty password either that way or with no bytes at
 * all (a NULL password), so both are tried for "".
 */
export function pkcs12PasswordCandidates(password: string): Buffer[] {
  const utf16be = Buffer.from(password, "utf16le").swap16();
  const bmp = Buffer.concat([utf16be, Buffer.alloc(2)]);
  return password === "" ? [bmp, Buffer.alloc(0)] : [bmp];
}

/** RFC 7292 Appendix B.2. */
export function pkcs12Kdf(
  hash: HashName,
  password: Buffer,
  salt: Uint8Array,
  purpose: number,
  iterations: number,
  length: number,
): Buffer {
  assertIterations(iterations);
  const v = HASH_BLOCK_BYTES[hash];
  const fill = (source: Uint8Array): Buffer => {
    if (source.length === 0) return Buffer.alloc(0);
    const out = Buffer.alloc(v * Math.ceil(source.length / v));
    for (let i = 0; i < out.length; i += 1) out[i] = source[i % source.length]!;
    return out;
  };
  const D = Buffer.alloc(v, purpose);
  const I = Buffer.concat([fill(salt), fill(password)]);
  const output: Buffer[] = [];
  let produced = 0;
  while (produced < length) {
    let A = createHash(hash).update(D).update(I).digest();
    for (let round = 1; round < iterations; round += 1) A = createHash(hash).update(A).digest();
    output.push(A);
    produced += A.length;
    if (produced >= length) break;
    // Step 6B–6C: I_j = (I_j + B + 1) mod 2^(8v), B being A repeated to v bytes.
    const B = Buffer.alloc(v);
    for (let i = 0; i < v; i += 1) B[i] = A[i % A.length]!;
    for (let offset = 0; offset < I.length; offset += v) {
      let carry = 1;
      for (let i = v - 1; i >= 0; i -= 1) {
        const sum = I[offset + i]! + B[i]! + carry;
        I[offset + i] = sum & 0xff;
        carry = sum >> 8;
      }
    }
  }
  return Buffer.concat(output).subarray(0, length);
}

function assertIterations(iterations: number): void {
  if (!Number.isSafeInteger(iterations) || iterations < 1) {
    throw keystoreInvalid("malformed", `Invalid key derivation iteration count ${String(iterations)}`);
  }
  if (iterations > MAX_KDF_ITERATIONS) {
    throw keystoreInvalid(
      "unsupported_algorithm",
      `Key derivation iteration count ${iterations} exceeds the accepted maximum of ${MAX_KDF_ITERATIONS}`,
    );
  }
}

/** Whether `algorithm` names a password-based scheme this module decrypts. */
export function isSupportedPasswordEncryption(algorithmId: string): boolean {
  return algorithmId === PBES2_OID || Object.hasOwn(PKCS12_PBE_SCHEMES, algorithmId);
}

/**
 * Decrypts `ciphertext` encrypted under `password` with `algorithm` (an
 * AlgorithmIdentifier from an EncryptedPrivateKeyInfo or EncryptedContentInfo).
 * Resolves `undefined` when the padding does not check out — the sign of a
 * wrong password; throws `PASSERELLE_KEYSTORE_INVALID` for schemes we do not
 * implement or parameters that do not parse.
 */
export async function decryptWithPassword(
  algorithm: AlgorithmIdentifier,
  ciphertext: Uint8Array,
  password: string,
): Promise<Buffer | undefined> {
  if (algorithm.algorithmId === PBES2_OID) return decryptPbes2(algorithm.algorithmParams, ciphertext, password);
  const scheme = PKCS12_PBE_SCHEMES[algorithm.algorithmId];
  if (scheme === undefined) {
    throw keystoreInvalid("unsupported_algorithm", `Unsupported password-based encryption algorithm ${algorithm.algorithmId}`);
  }
  const { salt, iterations } = parsePkcs12PbeParams(algorithm.algorithmParams);
  for (const passwordBytes of pkcs12PasswordCandidates(password)) {
    const key = pkcs12Kdf("sha1", passwordBytes, salt, PKCS12_KDF_PURPOSE.key, iterations, scheme.keyBytes);
    const iv = pkcs12Kdf("sha1", passwordBytes, salt, PKCS12_KDF_PURPOSE.iv, iterations, 8);
    const plaintext =
      "node" in scheme.cipher
        ? nodeCbcDecrypt(scheme.cipher.node, key, iv, ciphertext)
        : rc2CbcDecrypt(key, scheme.cipher.rc2EffectiveBits, iv, ciphertext);
    if (plaintext !== undefined) return plaintext;
  }
  return undefined;
}

/** RFC 7292 Appendix C: pkcs-12PbeParams ::= SEQUENCE { salt OCTET STRING, iterations INTEGER }. */
function parsePkcs12PbeParams(params: unknown): { salt: Buffer; iterations: number } {
  const sequence = params instanceof asn1js.Sequence ? params.valueBlock.value : [];
  const [salt, iterations] = sequence;
  if (sequence.length !== 2 || !(salt instanceof asn1js.OctetString) || !(iterations instanceof asn1js.Integer)) {
    throw keystoreInvalid("malformed", "Malformed PKCS#12 PBE parameters");
  }
  const count = iterations.valueBlock.valueDec;
  assertIterations(count);
  return { salt: Buffer.from(salt.valueBlock.valueHexView), iterations: count };
}

async function decryptPbes2(params: unknown, ciphertext: Uint8Array, password: string): Promise<Buffer | undefined> {
  let pbes2: PBES2Params;
  let kdf: PBKDF2Params;
  try {
    pbes2 = new PBES2Params({ schema: params });
    if (pbes2.keyDerivationFunc.algorithmId !== PBKDF2_OID) {
      throw keystoreInvalid(
        "unsupported_algorithm",
        `Unsupported PBES2 key derivation ${pbes2.keyDerivationFunc.algorithmId} (only PBKDF2)`,
      );
    }
    kdf = new PBKDF2Params({ schema: pbes2.keyDerivationFunc.algorithmParams });
  } catch (error) {
    if (error instanceof PasserelleError) throw error;
    throw keystoreInvalid("malformed", "Malformed PBES2 parameters", error);
  }
  const cipher = PBES2_CIPHERS[pbes2.encryptionScheme.algorithmId];
  if (cipher === undefined) {
    throw keystoreInvalid("unsupported_algorithm", `Unsupported PBES2 cipher ${pbes2.encryptionScheme.algorithmId}`);
  }
  const ivParam: unknown = pbes2.encryptionScheme.algorithmParams;
  if (!(ivParam instanceof asn1js.OctetString) || ivParam.valueBlock.valueHexView.length !== cipher.ivBytes) {
    throw keystoreInvalid("malformed", `Malformed ${cipher.name} IV in PBES2 parameters`);
  }
  // RFC 8018 §A.2: the salt is the "specified" OCTET STRING choice; otherSource is reserved.
  if (!(kdf.salt instanceof asn1js.OctetString)) throw keystoreInvalid("unsupported_algorithm", "PBKDF2 salt source not supported");
  const prfId = kdf.prf?.algorithmId ?? HMAC_SHA1_OID;
  const prf = PBKDF2_PRFS[prfId];
  if (prf === undefined) throw keystoreInvalid("unsupported_algorithm", `Unsupported PBKDF2 PRF ${prfId}`);
  if (kdf.keyLength !== undefined && kdf.keyLength !== cipher.keyBytes) {
    throw keystoreInvalid("malformed", `PBKDF2 key length ${kdf.keyLength} does not fit ${cipher.name}`);
  }
  assertIterations(kdf.iterationCount);
  // RFC 7292 Appendix B.1 leaves PBES2 passwords to RFC 8018, which OpenSSL and Java read as UTF-8 bytes.
  const key = await pbkdf2Async(
    Buffer.from(password, "utf8"),
    Buffer.from(kdf.salt.valueBlock.valueHexView),
    kdf.iterationCount,
    cipher.keyBytes,
    prf,
  );
  return nodeCbcDecrypt(cipher.name, key, Buffer.from(ivParam.valueBlock.valueHexView), ciphertext);
}

function nodeCbcDecrypt(cipherName: string, key: Buffer, iv: Buffer, ciphertext: Uint8Array): Buffer | undefined {
  try {
    const decipher = createDecipheriv(cipherName, key, iv);
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch (error) {
    // A bad final block (padding) after decryption: the wrong password, almost always.
    const code = (error as { code?: unknown } | null)?.code;
    if (code === "ERR_OSSL_BAD_DECRYPT" || code === "ERR_OSSL_WRONG_FINAL_BLOCK_LENGTH") return undefined;
    throw error;
  }
}

/**
 * The bytes of an OCTET STRING, primitive or constructed: X.690 §8.7.3 —
 * Java and Windows write constructed (BER) OCTET STRINGs in PKCS#12 files.
 * Undefined for anything else (or nesting past a sane depth).
 */
export function octetStringBytes(block: unknown, depth = 0): Buffer | undefined {
  if (!(block instanceof asn1js.BaseBlock) || depth > 8) return undefined;
  const valueBlock = block.valueBlock as { value?: unknown; valueHexView?: Uint8Array };
  if (Array.isArray(valueBlock.value) && block.idBlock.isConstructed) {
    const parts: Buffer[] = [];
    for (const part of valueBlock.value) {
      const bytes = octetStringBytes(part, depth + 1);
      if (bytes === undefined) return undefined;
      parts.push(bytes);
    }
    return Buffer.concat(parts);
  }
  return valueBlock.valueHexView === undefined ? undefined : Buffer.from(valueBlock.valueHexView);
}

/** RFC 9579 PBMAC1, written by OpenSSL ≥ 3.4 on request. */
const PBMAC1 = "1.2.840.113549.1.5.14";

/** The outcome of a PKCS#12 integrity check; `unsupported` says why it could not run. */
export type Pkcs12MacCheck = { outcome: "absent" | "valid" | "wrong-password" } | { outcome: "unsupported"; reason: string };

/**
 * RFC 7292 §5 / Appendix B.4: the password integrity MAC over the
 * AuthenticatedSafe. A file without MacData (`-nomac`, Java 18+ password-less
 * truststores) is `absent`: only its decryption checks the password then.
 */
export function checkPkcs12Mac(macData: MacData | undefined, authSafe: Buffer, password: string): Pkcs12MacCheck {
  if (macData === undefined) return { outcome: "absent" };
  const digestOid = macData.mac.digestAlgorithm.algorithmId;
  if (digestOid === PBMAC1) return { outcome: "unsupported", reason: "PKCS#12 PBMAC1 integrity (RFC 9579) is not supported" };
  const hash = MAC_DIGESTS[digestOid];
  if (hash === undefined) return { outcome: "unsupported", reason: `Unsupported PKCS#12 MAC digest ${digestOid}` };
  const iterations = macData.iterations ?? 1;
  if (!Number.isSafeInteger(iterations) || iterations < 1 || iterations > MAX_KDF_ITERATIONS) {
    return { outcome: "unsupported", reason: `PKCS#12 MAC iteration count ${String(iterations)} is not accepted` };
  }
  const expected = Buffer.from(macData.mac.digest.valueBlock.valueHexView);
  const salt = Buffer.from(macData.macSalt.valueBlock.valueHexView);
  for (const passwordBytes of pkcs12PasswordCandidates(password)) {
    const key = pkcs12Kdf(hash, passwordBytes, salt, PKCS12_KDF_PURPOSE.mac, iterations, expected.length);
    const actual = createHmac(hash, key).update(authSafe).digest();
    if (actual.length === expected.length && timingSafeEqual(actual, expected)) return { outcome: "valid" };
  }
  return { outcome: "wrong-password" };
}
