/**
 * Certificates as callers give them (PEM, DER, Node X509Certificate), and the
 * parsed form validation works on: Node's X509Certificate for signatures and
 * fingerprints (OpenSSL underneath), @peculiar/x509 for names and
 * extensions (loaded by the first parse: x509-library.ts).
 */
import { X509Certificate } from "node:crypto";
import type { X509Certificate as PeculiarCertificate } from "@peculiar/x509";
import { loadX509 } from "../x509-library.js";
import type { PemError} from "./pem.js";
import { parsePemBlocks } from "./pem.js";

/** A certificate as PEM text, DER bytes or a Node X509Certificate. */
export type CertificateInput = X509Certificate | string | Uint8Array;

/** What a failure message says about a certificate (nothing secret). */
export interface CertificateSummary {
  subject: string;
  issuer: string;
  serialNumber: string;
  fingerprintSha256: string;
  notBefore: string;
  notAfter: string;
}

/** A certificate parsed once, with both views. */
export interface ParsedCertificate {
  node: X509Certificate;
  x509: PeculiarCertificate;
  /** DER of the subject and issuer Names, compared byte for byte in path building (RFC 5280 §7.1 allows more, rarely needed). */
  subjectDer: Buffer;
  issuerDer: Buffer;
  fingerprint: string;
}

export function toNodeCertificate(input: CertificateInput): X509Certificate {
  if (input instanceof X509Certificate) return input;
  if (typeof input === "string") {
    let blocks;
    try {
      blocks = parsePemBlocks(input).filter((block) => block.label === "CERTIFICATE");
    } catch (error) {
      throw new TypeError(`not a PEM certificate: ${(error as PemError).message}`, { cause: error });
    }
    if (blocks.length !== 1) throw new TypeError(`expected one PEM certificate, found ${blocks.length}`);
    return new X509Certificate(blocks[0]!.der);
  }
  if (input instanceof Uint8Array) {
    try {
      return new X509Certificate(input);
    } catch (error) {
      throw new TypeError("not a DER X.509 certificate", { cause: error });
    }
  }
  throw new TypeError("a certificate must be PEM text, DER bytes or an X509Certificate");
}

/** Both views of a certificate. Throws TypeError when `input` is not one certificate. */
export async function parseCertificate(input: CertificateInput): Promise<ParsedCertificate> {
  const node = toNodeCertificate(input);
  const x509 = new (await loadX509()).X509Certificate(node.raw);
  return {
    node,
    x509,
    subjectDer: Buffer.from(x509.subjectName.toArrayBuffer()),
    issuerDer: Buffer.from(x509.issuerName.toArrayBuffer()),
    fingerprint: node.fingerprint256,
  };
}

export function summarise(certificate: ParsedCertificate): CertificateSummary {
  const { node } = certificate;
  return {
    subject: certificate.x509.subject,
    issuer: certificate.x509.issuer,
    serialNumber: node.serialNumber,
    fingerprintSha256: node.fingerprint256,
    notBefore: certificate.x509.notBefore.toISOString(),
    notAfter: certificate.x509.notAfter.toISOString(),
  };
}

/** The subject as one line, for messages. */
export function describe(certificate: ParsedCertificate): string {
  return `"${certificate.x509.subject}" (serial ${certificate.node.serialNumber})`;
}
