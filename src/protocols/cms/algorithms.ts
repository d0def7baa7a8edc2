/**
 * Digest and signature algorithms of CMS SignedData: which ones we produce
 * for a given Signer, and which ones we accept when verifying.
 *
 * SHA-1 is not accepted: it has not been allowed for new signatures for a
 * decade (ETSI TS 119 312), and every producer we meet (OpenSSL, eHealth
 * connectors, the national TSAs) defaults to SHA-256.
 */
import { constants, type KeyObject, type VerifyKeyObjectInput, type VerifyPublicKeyInput } from "node:crypto";
import * as pkijs from "pkijs";
import type { SignatureAlgorithm, Signer } from "../../trust/signer.js";
import { TAG, encodeOid, encodeTlv } from "./der.js";
import { CmsError } from "./errors.js";
import { DIGEST_OID, SIGNATURE_OID } from "./oids.js";

export type DigestAlgorithm = "SHA-256" | "SHA-384" | "SHA-512";

export const DIGEST_ALGORITHMS: readonly DigestAlgorithm[] = ["SHA-256", "SHA-384", "SHA-512"];

/** Node's name of each digest, for createHash/verify. */
export const NODE_DIGEST_NAME: Readonly<Record<DigestAlgorithm, string>> = {
  "SHA-256": "sha256",
  "SHA-384": "sha384",
  "SHA-512": "sha512",
};

export function assertDigestAlgorithm(value: unknown): asserts value is DigestAlgorithm {
  if (!DIGEST_ALGORITHMS.includes(value as DigestAlgorithm)) {
    throw new TypeError(`digestAlgorithm must be one of ${DIGEST_ALGORITHMS.join(", ")}`);
  }
}

/**
 * RFC 5754 §2: digest AlgorithmIdentifiers are written with absent parameters
 * (implementations must accept NULL too, which is why parsing ignores them).
 */
export function digestAlgorithmIdentifier(digest: DigestAlgorithm): Buffer {
  return encodeTlv(TAG.SEQUENCE, encodeOid(DIGEST_OID[digest]));
}

export function digestAlgorithmFromOid(oid: string): DigestAlgorithm | undefined {
  return DIGEST_ALGORITHMS.find((name) => DIGEST_OID[name] === oid);
}

/** What we sign with, for a digest and a kind of key. */
interface SigningChoice {
  algorithm: SignatureAlgorithm;
  /** The SignerInfo.signatureAlgorithm, DER. */
  identifier: () => Buffer;
}

/**
 * RSA: sha*WithRSAEncryption with NULL parameters (RFC 4055 §5); ECDSA:
 * ecdsa-with-SHA256 with absent parameters (RFC 5758 §3.2). The signature's
 * hash is the SignerInfo's digest algorithm, as OpenSSL, NSS and Adobe
 * expect: OpenSSL verifies the signed attributes with the digestAlgorithm's
 * hash whatever the signatureAlgorithm says.
 */
const SIGNING_CHOICES: Readonly<Record<"RSA" | "EC", Partial<Record<DigestAlgorithm, SigningChoice>>>> = {
  RSA: {
    "SHA-256": {
      algorithm: "RSASSA-PKCS1-v1_5-SHA256",
      identifier: () => rsaIdentifier(SIGNATURE_OID.sha256WithRSAEncryption),
    },
    "SHA-384": {
      algorithm: "RSASSA-PKCS1-v1_5-SHA384",
      identifier: () => rsaIdentifier(SIGNATURE_OID.sha384WithRSAEncryption),
    },
    "SHA-512": {
      algorithm: "RSASSA-PKCS1-v1_5-SHA512",
      identifier: () => rsaIdentifier(SIGNATURE_OID.sha512WithRSAEncryption),
    },
  },
  EC: {
    "SHA-256": {
      algorithm: "ECDSA-P256-SHA256",
      identifier: () => encodeTlv(TAG.SEQUENCE, encodeOid(SIGNATURE_OID.ecdsaWithSha256)),
    },
  },
};

function rsaIdentifier(oid: string): Buffer {
  return encodeTlv(TAG.SEQUENCE, encodeOid(oid), NULL);
}

/** DER NULL (X.690 §8.8). */
const NULL = Buffer.from([0x05, 0x00]);

/**
 * The signature algorithm to ask `signer` for. Throws TypeError when the
 * signer cannot sign with `digest` (e.g. an ECDSA P-256 key and SHA-384).
 */
export function chooseSigningAlgorithm(
  signer: Signer,
  digest: DigestAlgorithm,
): { algorithm: SignatureAlgorithm; identifier: Buffer } {
  const choice = SIGNING_CHOICES[signer.keyType]?.[digest];
  if (choice === undefined || !signer.algorithms.includes(choice.algorithm)) {
    throw new TypeError(
      `Signer ${signer.id} (${signer.keyType}) cannot sign CMS with ${digest}: it offers ${signer.algorithms.join(", ") || "nothing"}`,
    );
  }
  return { algorithm: choice.algorithm, identifier: choice.identifier() };
}

/** The largest DER signature a key produces, for sizing PDF placeholders. */
export function maximumSignatureLength(publicKey: KeyObject): number {
  const details = publicKey.asymmetricKeyDetails;
  if (publicKey.asymmetricKeyType === "rsa" || publicKey.asymmetricKeyType === "rsa-pss") {
    return Math.ceil((details?.modulusLength ?? 4096) / 8);
  }
  if (publicKey.asymmetricKeyType === "ec") {
    // Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } (RFC 3279 §2.2.3), each up to the order's size + 1.
    const fieldBytes = { "prime256v1": 32, "secp384r1": 48, "secp521r1": 66 }[details?.namedCurve ?? ""] ?? 66;
    const integer = 2 + fieldBytes + 1;
    const content = 2 * integer;
    return content + (content < 128 ? 2 : 3);
  }
  throw new TypeError(`Unsupported signer key type ${publicKey.asymmetricKeyType ?? "unknown"}`);
}

/** How to check a SignerInfo's signature with node:crypto. */
export interface SignatureVerification {
  /** Node digest name for crypto.verify. */
  hash: string;
  keyType: "rsa" | "ec";
  /** Extra key options (PSS padding, DER ECDSA signatures). */
  keyOptions: (key: KeyObject) => VerifyKeyObjectInput | VerifyPublicKeyInput;
}

/**
 * Interprets a SignerInfo's signatureAlgorithm together with its
 * digestAlgorithm (RFC 5652 §5.3). Throws CmsError("unsupported") for
 * anything outside the allow-list.
 */
export function signatureVerificationFor(
  signatureAlgorithm: pkijs.AlgorithmIdentifier,
  digest: DigestAlgorithm,
): SignatureVerification {
  const oid = signatureAlgorithm.algorithmId;
  const hash = NODE_DIGEST_NAME[digest];
  const rsa = (expected: DigestAlgorithm | undefined): SignatureVerification => {
    if (expected !== undefined && expected !== digest) {
      throw new CmsError("unsupported", `Signature algorithm ${oid} does not use the SignerInfo's digest ${digest}`);
    }
    return { hash, keyType: "rsa", keyOptions: (key) => ({ key, padding: constants.RSA_PKCS1_PADDING }) };
  };
  const ecdsa = (expected: DigestAlgorithm | undefined): SignatureVerification => {
    if (expected !== undefined && expected !== digest) {
      throw new CmsError("unsupported", `Signature algorithm ${oid} does not use the SignerInfo's digest ${digest}`);
    }
    return { hash, keyType: "ec", keyOptions: (key) => ({ key, dsaEncoding: "der" }) };
  };
  switch (oid) {
    case SIGNATURE_OID.rsaEncryption:
      return rsa(undefined);
    case SIGNATURE_OID.sha256WithRSAEncryption:
      return rsa("SHA-256");
    case SIGNATURE_OID.sha384WithRSAEncryption:
      return rsa("SHA-384");
    case SIGNATURE_OID.sha512WithRSAEncryption:
      return rsa("SHA-512");
    case SIGNATURE_OID.ecPublicKey:
      return ecdsa(undefined);
    case SIGNATURE_OID.ecdsaWithSha256:
      return ecdsa("SHA-256");
    case SIGNATURE_OID.ecdsaWithSha384:
      return ecdsa("SHA-384");
    case SIGNATURE_OID.ecdsaWithSha512:
      return ecdsa("SHA-512");
    case SIGNATURE_OID.rsassaPss:
      return pssVerification(signatureAlgorithm, digest);
    default:
      throw new CmsError("unsupported", `Signature algorithm ${oid} is not accepted`);
  }
}

/**
 * RSASSA-PSS-params (RFC 4055 §3.1): hash, MGF1 hash and salt length. The
 * defaults are SHA-1, so parameters must be present for an accepted hash,
 * and the PSS hash must be the SignerInfo's digest (RFC 4056 §3).
 */
function pssVerification(identifier: pkijs.AlgorithmIdentifier, digest: DigestAlgorithm): SignatureVerification {
  let params: pkijs.RSASSAPSSParams;
  try {
    params = new pkijs.RSASSAPSSParams({ schema: identifier.algorithmParams });
  } catch (cause) {
    throw new CmsError("malformed", "RSASSA-PSS parameters do not parse", cause);
  }
  const pssHash = digestAlgorithmFromOid(params.hashAlgorithm.algorithmId);
  const mgfHash =
    params.maskGenAlgorithm.algorithmId === SIGNATURE_OID.mgf1
      ? digestAlgorithmFromOid(new pkijs.AlgorithmIdentifier({ schema: params.maskGenAlgorithm.algorithmParams }).algorithmId)
      : undefined;
  if (pssHash !== digest || mgfHash !== digest || params.trailerField !== 1) {
    throw new CmsError("unsupported", "RSASSA-PSS parameters must use the SignerInfo's digest for both hash and MGF1");
  }
  const saltLength = params.saltLength;
  return {
    hash: NODE_DIGEST_NAME[digest],
    keyType: "rsa",
    keyOptions: (key) => ({ key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength }),
  };
}
