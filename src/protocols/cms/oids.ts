/** Object identifiers of CMS (RFC 5652), its attributes and algorithms. */
export const CMS_OID = {
  /** RFC 5652 §4 id-data */
  data: "1.2.840.113549.1.7.1",
  /** RFC 5652 §5.1 id-signedData */
  signedData: "1.2.840.113549.1.7.2",
  /** RFC 3161 §2.4.2 id-ct-TSTInfo */
  tstInfo: "1.2.840.113549.1.9.16.1.4",
} as const;

/** Attribute types. */
export const ATTRIBUTE_OID = {
  /** RFC 5652 §11.1 */
  contentType: "1.2.840.113549.1.9.3",
  /** RFC 5652 §11.2 */
  messageDigest: "1.2.840.113549.1.9.4",
  /** RFC 5652 §11.3 */
  signingTime: "1.2.840.113549.1.9.5",
  /** RFC 2634 §5.4 id-aa-signingCertificate (ESSCertID, SHA-1) */
  signingCertificate: "1.2.840.113549.1.9.16.2.12",
  /** RFC 5035 §3 id-aa-signingCertificateV2 (ESSCertIDv2) */
  signingCertificateV2: "1.2.840.113549.1.9.16.2.47",
  /** RFC 3161 Appendix A id-aa-signatureTimeStampToken (CAdES-T, PAdES B-T) */
  signatureTimeStampToken: "1.2.840.113549.1.9.16.2.14",
  /** RFC 6211 §2 id-aa-CMSAlgorithmProtection */
  cmsAlgorithmProtection: "1.2.840.113549.1.9.52",
} as const;

export const DIGEST_OID = {
  "SHA-1": "1.3.14.3.2.26",
  "SHA-256": "2.16.840.1.101.3.4.2.1",
  "SHA-384": "2.16.840.1.101.3.4.2.2",
  "SHA-512": "2.16.840.1.101.3.4.2.3",
} as const;

export const SIGNATURE_OID = {
  /** RFC 3370 §3.2: the key's OID used as a signature algorithm; the hash is the SignerInfo's digestAlgorithm. */
  rsaEncryption: "1.2.840.113549.1.1.1",
  /** RFC 8017 Appendix A.2.4 */
  rsassaPss: "1.2.840.113549.1.1.10",
  sha1WithRSAEncryption: "1.2.840.113549.1.1.5",
  sha256WithRSAEncryption: "1.2.840.113549.1.1.11",
  sha384WithRSAEncryption: "1.2.840.113549.1.1.12",
  sha512WithRSAEncryption: "1.2.840.113549.1.1.13",
  /** RFC 5753 §7.1.3: some producers put the key's OID here too. */
  ecPublicKey: "1.2.840.10045.2.1",
  ecdsaWithSha1: "1.2.840.10045.4.1",
  ecdsaWithSha256: "1.2.840.10045.4.3.2",
  ecdsaWithSha384: "1.2.840.10045.4.3.3",
  ecdsaWithSha512: "1.2.840.10045.4.3.4",
  /** RFC 8017 Appendix B.2.1 id-mgf1 */
  mgf1: "1.2.840.113549.1.1.8",
} as const;
