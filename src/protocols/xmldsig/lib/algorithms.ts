/**
 * Algorithm identifiers of XML-DSig 1.1 §6 and RFC 6931 (Additional XML
 * Security URIs), and what each means to Node's crypto.
 */
import type { SignatureAlgorithm } from "../../../trust/signer.js";

export const DSIG_NAMESPACE = "http://www.w3.org/2000/09/xmldsig#";
export const DSIG_MORE = "http://www.w3.org/2001/04/xmldsig-more#";

export const C14N = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315";
export const C14N_WITH_COMMENTS = `${C14N}#WithComments`;
export const EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#";
export const EXC_C14N_WITH_COMMENTS = `${EXC_C14N}WithComments`;
/** The namespace of the InclusiveNamespaces element is the algorithm URI itself (exc-c14n §3.1). */
export const EXC_C14N_NAMESPACE = EXC_C14N;
export const ENVELOPED_SIGNATURE = `${DSIG_NAMESPACE}enveloped-signature`;

export type XmlDigestAlgorithm = "sha1" | "sha224" | "sha256" | "sha384" | "sha512";

export const DIGEST_URIS: Readonly<Record<XmlDigestAlgorithm, string>> = {
  sha1: `${DSIG_NAMESPACE}sha1`,
  sha224: `${DSIG_MORE}sha224`,
  sha256: "http://www.w3.org/2001/04/xmlenc#sha256",
  sha384: `${DSIG_MORE}sha384`,
  sha512: "http://www.w3.org/2001/04/xmlenc#sha512",
};

export const DIGEST_LENGTHS: Readonly<Record<XmlDigestAlgorithm, number>> = { sha1: 20, sha224: 28, sha256: 32, sha384: 48, sha512: 64 };

export function digestByUri(uri: string): XmlDigestAlgorithm | undefined {
  for (const [name, value] of Object.entries(DIGEST_URIS)) if (value === uri) return name as XmlDigestAlgorithm;
  return undefined;
}

/** Signature methods this module knows; which ones a verification accepts is the policy's business. */
export type XmlSignatureMethod =
  | "rsa-sha1"
  | "rsa-sha224"
  | "rsa-sha256"
  | "rsa-sha384"
  | "rsa-sha512"
  | "ecdsa-sha1"
  | "ecdsa-sha224"
  | "ecdsa-sha256"
  | "ecdsa-sha384"
  | "ecdsa-sha512"
  | "dsa-sha1"
  | "dsa-sha256";

export interface SignatureMethodInfo {
  name: XmlSignatureMethod;
  uri: string;
  keyType: "rsa" | "ec" | "dsa";
  hash: XmlDigestAlgorithm;
}

const METHODS: readonly SignatureMethodInfo[] = [
  { name: "rsa-sha1", uri: `${DSIG_NAMESPACE}rsa-sha1`, keyType: "rsa", hash: "sha1" },
  { name: "rsa-sha224", uri: `${DSIG_MORE}rsa-sha224`, keyType: "rsa", hash: "sha224" },
  { name: "rsa-sha256", uri: `${DSIG_MORE}rsa-sha256`, keyType: "rsa", hash: "sha256" },
  { name: "rsa-sha384", uri: `${DSIG_MORE}rsa-sha384`, keyType: "rsa", hash: "sha384" },
  { name: "rsa-sha512", uri: `${DSIG_MORE}rsa-sha512`, keyType: "rsa", hash: "sha512" },
  { name: "ecdsa-sha1", uri: `${DSIG_MORE}ecdsa-sha1`, keyType: "ec", hash: "sha1" },
  { name: "ecdsa-sha224", uri: `${DSIG_MORE}ecdsa-sha224`, keyType: "ec", hash: "sha224" },
  { name: "ecdsa-sha256", uri: `${DSIG_MORE}ecdsa-sha256`, keyType: "ec", hash: "sha256" },
  { name: "ecdsa-sha384", uri: `${DSIG_MORE}ecdsa-sha384`, keyType: "ec", hash: "sha384" },
  { name: "ecdsa-sha512", uri: `${DSIG_MORE}ecdsa-sha512`, keyType: "ec", hash: "sha512" },
  { name: "dsa-sha1", uri: `${DSIG_NAMESPACE}dsa-sha1`, keyType: "dsa", hash: "sha1" },
  { name: "dsa-sha256", uri: "http://www.w3.org/2009/xmldsig11#dsa-sha256", keyType: "dsa", hash: "sha256" },
];

export function signatureMethodByUri(uri: string): SignatureMethodInfo | undefined {
  return METHODS.find((m) => m.uri === uri);
}

export function signatureMethodByName(name: XmlSignatureMethod): SignatureMethodInfo {
  const method = METHODS.find((m) => m.name === name);
  if (method === undefined) throw new TypeError(`Unknown XML signature algorithm ${String(name)}`);
  return method;
}

/** HMAC methods (XML-DSig §6.3, RFC 6931 §2.2): recognised only to be refused by name. */
export function isHmacUri(uri: string): boolean {
  return uri === `${DSIG_NAMESPACE}hmac-sha1` || uri.startsWith(`${DSIG_MORE}hmac-`);
}

/** The algorithms a Signer must offer for each signing method we produce. */
export const SIGNER_ALGORITHMS: Partial<Record<XmlSignatureMethod, SignatureAlgorithm>> = {
  "rsa-sha1": "RSASSA-PKCS1-v1_5-SHA1",
  "rsa-sha256": "RSASSA-PKCS1-v1_5-SHA256",
  "rsa-sha384": "RSASSA-PKCS1-v1_5-SHA384",
  "rsa-sha512": "RSASSA-PKCS1-v1_5-SHA512",
  "ecdsa-sha256": "ECDSA-P256-SHA256",
};

/** ECDSA curves accepted for verification, with the size of r and s (XML-DSig 1.1 §6.4.3). */
export const EC_CURVE_SIZES: Readonly<Record<string, number>> = { prime256v1: 32, secp384r1: 48, secp521r1: 66 };
