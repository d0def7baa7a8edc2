/**
 * Request and response schemas of the trust routes (TypeBox): one schema
 * drives validation, serialisation and the OpenAPI document.
 *
 * Documents travel as themselves (`application/pdf`, `application/xml`),
 * not base64 inside JSON. Their schemas carry no `type`: the body is a
 * Buffer, which a JSON `type: string` would refuse; `contentMediaType` says
 * what it is (JSON Schema 2020-12 §8.4, as OpenAPI 3.1 reads it).
 */
import { Type, type Static, type TSchema } from "typebox";

export const PDF_MEDIA_TYPE = "application/pdf";
export const XML_MEDIA_TYPES = ["application/xml", "text/xml"] as const;

const SignerId = Type.String({
  minLength: 1,
  maxLength: 64,
  pattern: "^[A-Za-z0-9][A-Za-z0-9._-]*$",
  description: "A signer id from GET /v1/trust/certificates (default: the caller's first signer)",
  examples: ["fr-10001234565-card", "lu-101234-56", "keystore"],
});
const Instant = Type.String({ format: "date-time" });

/** A binary request body of `mediaType`, for the OpenAPI document (not validated as JSON). */
export function binaryBody(mediaType: string, description: string): TSchema {
  return { description, contentMediaType: mediaType } as unknown as TSchema;
}

/** A binary 200 response of `mediaTypes`. */
export function binaryResponse(mediaTypes: readonly string[], description: string): TSchema {
  const content: Record<string, { schema: Record<string, string> }> = {};
  for (const mediaType of mediaTypes) content[mediaType] = { schema: { type: "string", contentMediaType: mediaType } };
  return { description, content } as unknown as TSchema;
}

export const SignPdfQuerySchema = Type.Object(
  {
    signer: Type.Optional(SignerId),
    level: Type.Optional(
      Type.Union([Type.Literal("B-T"), Type.Literal("B-B")], {
        description: "PAdES baseline level (ETSI EN 319 142-1): B-T (default) adds an RFC 3161 signature time-stamp",
      }),
    ),
    reason: Type.Optional(Type.String({ maxLength: 256, description: "/Reason of the signature dictionary" })),
    location: Type.Optional(Type.String({ maxLength: 256, description: "/Location of the signature dictionary" })),
  },
  { additionalProperties: false, examples: [{ signer: "fr-10001234565-card", reason: "Compte rendu validé", location: "Paris" }] },
);
export type SignPdfQuery = Static<typeof SignPdfQuerySchema>;

export const SignXmlQuerySchema = Type.Object(
  {
    signer: Type.Optional(SignerId),
    xades: Type.Optional(Type.Boolean({ description: "XAdES-BES (ETSI EN 319 132-1): signed properties with the signing time and certificate", default: false })),
  },
  { additionalProperties: false, examples: [{ signer: "lu-101234-56", xades: true }] },
);
export type SignXmlQuery = Static<typeof SignXmlQuerySchema>;

export const TimestampBodySchema = Type.Object(
  {
    hashAlgorithm: Type.Union([Type.Literal("SHA-256"), Type.Literal("SHA-384"), Type.Literal("SHA-512")], {
      description: "The message-imprint algorithm (RFC 3161 §2.4.1); SHA-1 is refused",
    }),
    hash: Type.String({ minLength: 43, maxLength: 128, description: "The digest to time-stamp, as hex or base64" }),
  },
  {
    additionalProperties: false,
    examples: [{ hashAlgorithm: "SHA-256", hash: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" }],
  },
);
export type TimestampBody = Static<typeof TimestampBodySchema>;

const CertificateSchema = Type.Object({
  subject: Type.String(),
  issuer: Type.String(),
  serialNumber: Type.String({ description: "Hexadecimal" }),
  notBefore: Instant,
  notAfter: Instant,
  fingerprintSha256: Type.String({ description: "SHA-256 of the DER certificate, AA:BB:… as OpenSSL prints it" }),
  pem: Type.String(),
});

const certificateExample = {
  subject: "C=FR, O=Passerelle Sandbox, OU=médecin généraliste, SN=DURAND, GN=Marie, serialNumber=810001234565, CN=810001234565/DURAND/MARIE",
  issuer: "C=FR, O=Passerelle Sandbox, CN=Passerelle Sandbox FR CA",
  serialNumber: "5E0C4B8A1F2D3C4B",
  notBefore: "2026-11-23T08:00:00.000Z",
  notAfter: "2029-11-22T09:00:00.000Z",
  fingerprintSha256: "3A:7F:…:C1",
  pem: "-----BEGIN CERTIFICATE-----\nMIID…\n-----END CERTIFICATE-----\n",
};

export const TimestampResponseSchema = Type.Object(
  {
    token: Type.String({ contentEncoding: "base64", description: "The DER TimeStampToken (RFC 3161 §2.4.2, a CMS SignedData ContentInfo), base64" }),
    genTime: Instant,
    serialNumber: Type.String({ description: "Hexadecimal" }),
    policy: Type.String({ description: "TSA policy OID" }),
    hashAlgorithm: Type.String(),
    hash: Type.String({ description: "The time-stamped digest, hex" }),
    tsa: CertificateSchema,
  },
  {
    description: "A token the gateway verified (signature, TSA certificate for time-stamping, imprint, nonce) before returning it",
    examples: [
      {
        token: "MIIGxAYJKoZIhvcNAQcCoIIGtTCCBrECAQMx…",
        genTime: "2026-11-23T09:14:03.000Z",
        serialNumber: "0194A1B2C3D4",
        policy: "2.25.8888202736267528462877072140334340318.1.1",
        hashAlgorithm: "SHA-256",
        hash: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        tsa: { ...certificateExample, subject: "C=LU, O=Passerelle Sandbox, OU=Time-Stamping Authority, CN=Passerelle Sandbox TSA" },
      },
    ],
  },
);

const ChainSchema = Type.Object({
  valid: Type.Boolean(),
  reason: Type.Optional(
    Type.String({ description: "expired, not_yet_valid, revoked, untrusted_root, issuer_not_found, bad_signature, key_usage, extended_key_usage, revocation_unavailable…" }),
  ),
  detail: Type.Optional(Type.String()),
  path: Type.Optional(Type.Array(Type.String(), { description: "Subjects from the signer to the trust anchor" })),
});

const PdfSignatureSchema = Type.Object({
  field: Type.String({ description: "The signature field's name" }),
  valid: Type.Boolean(),
  subFilter: Type.Optional(Type.String()),
  integrity: Type.Boolean({ description: "The signed bytes' digest and the signature verify" }),
  coversWholeDocument: Type.Boolean(),
  modifiedAfterSigning: Type.Boolean({ description: "Changed after this signature other than by adding signatures or validation data" }),
  signer: Type.Optional(CertificateSchema),
  signingTime: Type.Optional({ ...Instant, description: "The claimed signing time (/M), not a trusted time" }),
  digestAlgorithm: Type.Optional(Type.String()),
  timestamp: Type.Optional(Type.Object({ genTime: Instant, verified: Type.Boolean() }, { description: "The signature time-stamp (PAdES B-T)" })),
  chain: Type.Optional(ChainSchema),
  reasons: Type.Array(
    Type.Object({
      code: Type.String({
        description:
          "digest_mismatch, bad_signature, signing_certificate_mismatch, malformed, untrusted, byte_range_invalid, byte_range_incomplete, modified_after_signing, unsupported_subfilter, signing_certificate_missing, timestamp_invalid",
      }),
      detail: Type.String(),
    }),
  ),
});

export const PdfVerdictSchema = Type.Object(
  {
    valid: Type.Boolean({ description: "At least one signature, and every signature valid" }),
    signatures: Type.Array(PdfSignatureSchema),
  },
  {
    examples: [
      {
        valid: true,
        signatures: [
          {
            field: "Signature1",
            valid: true,
            subFilter: "ETSI.CAdES.detached",
            integrity: true,
            coversWholeDocument: true,
            modifiedAfterSigning: false,
            signer: certificateExample,
            signingTime: "2026-11-23T09:14:02.000Z",
            digestAlgorithm: "SHA-256",
            timestamp: { genTime: "2026-11-23T09:14:03.000Z", verified: true },
            chain: { valid: true, path: [certificateExample.subject, certificateExample.issuer, "C=EU, O=Passerelle Sandbox, CN=Passerelle Sandbox Root CA"] },
            reasons: [],
          },
        ],
      },
    ],
  },
);

export const XmlVerdictSchema = Type.Object(
  {
    valid: Type.Boolean(),
    reason: Type.Optional(
      Type.String({
        description:
          "When invalid: signature_not_found, multiple_signatures, malformed_signature, algorithm_not_allowed, transform_not_allowed, unsupported_reference, reference_not_found, duplicate_id, comment_in_signed_content, wrapping, untrusted_key, weak_key, certificate_expired, signature_mismatch, digest_mismatch…",
      }),
    ),
    detail: Type.Optional(Type.String()),
    signer: Type.Optional(CertificateSchema),
    chain: Type.Optional(ChainSchema),
    signatureAlgorithm: Type.Optional(Type.String()),
    xades: Type.Optional(Type.Boolean({ description: "Verified as XAdES-BES" })),
    signingTime: Type.Optional({ ...Instant, description: "XAdES SigningTime: claimed by the signer, not a trusted time" }),
    signedElements: Type.Optional(
      Type.Array(Type.String(), { description: "What the signature covers, serialized, one per Reference: read the data from these only" }),
    ),
  },
  {
    description: "The verdict on the document's one enveloped signature (ds:Signature child of the document element)",
    examples: [
      {
        valid: true,
        signer: certificateExample,
        chain: { valid: true, path: [certificateExample.subject, certificateExample.issuer, "C=EU, O=Passerelle Sandbox, CN=Passerelle Sandbox Root CA"] },
        signatureAlgorithm: "rsa-sha256",
        xades: false,
        signedElements: ['<Prescription xmlns="urn:example"><Drug>…</Drug><ds:Signature>…</ds:Signature></Prescription>'],
      },
      { valid: false, reason: "untrusted_key", detail: "The certificate's chain does not end at a trust anchor" },
    ],
  },
);

const SignerSchema = Type.Object({
  id: SignerId,
  kind: Type.Union([Type.Literal("software"), Type.Literal("pkcs11")]),
  label: Type.String(),
  country: Type.Optional(Type.Union([Type.Literal("FR"), Type.Literal("LU"), Type.Literal("BE")])),
  practitionerId: Type.Optional(Type.String({ description: "RPPS national identifier, CNS provider code or NIHII of the key's holder" })),
  default: Type.Boolean({ description: "Used when a request names no signer" }),
  available: Type.Boolean(),
  problem: Type.Optional(Type.String({ description: "Why the signer cannot be used now (card absent, key store unreadable)" })),
  certificates: Type.Array(CertificateSchema, { description: "The signing certificate first, then its issuers up to (excluding) the root" }),
});

export const CertificatesResponseSchema = Type.Object(
  {
    trustSource: Type.Union([Type.Literal("sandbox"), Type.Literal("configured"), Type.Literal("none")]),
    signers: Type.Array(SignerSchema, { description: "The signers this caller may use" }),
    trustAnchors: Type.Array(CertificateSchema),
    intermediates: Type.Array(CertificateSchema),
    timestampAuthority: Type.Object({ configured: Type.Boolean(), upstream: Type.Optional(Type.String()) }),
  },
  {
    examples: [
      {
        trustSource: "sandbox",
        signers: [
          {
            id: "fr-10001234565-card",
            kind: "pkcs11",
            label: "Dr Marie Durand (médecin généraliste), CPS card (SoftHSM)",
            country: "FR",
            practitionerId: "810001234565",
            default: false,
            available: true,
            certificates: [certificateExample],
          },
        ],
        trustAnchors: [{ ...certificateExample, subject: "C=EU, O=Passerelle Sandbox, CN=Passerelle Sandbox Root CA" }],
        intermediates: [],
        timestampAuthority: { configured: true, upstream: "sandbox-tsa" },
      },
    ],
  },
);
