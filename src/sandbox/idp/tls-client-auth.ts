/**
 * Mutual-TLS client authentication (RFC 8705 §2.1, PKI method
 * `tls_client_auth`): the client certificate comes from the TLS connection,
 * its chain was verified by the handshake (the simulator's server trusts the
 * sandbox root), and the client is recognised by its subject DN, registered
 * as `tls_client_auth_subject_dn` (RFC 8705 §2.1.2: "the expected subject
 * distinguished name of the certificate, … represented as a string per RFC 4514").
 */
import type { X509Certificate } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { TLSSocket } from "node:tls";

/** The certificate the client presented and the handshake verified, if any. */
export function verifiedPeerCertificate(req: IncomingMessage): X509Certificate | undefined {
  const socket = req.socket;
  if (!(socket instanceof TLSSocket) || !socket.authorized) return undefined;
  return socket.getPeerX509Certificate();
}

/**
 * The RFC 4514 string of a certificate's subject: RDNs from the most
 * specific (CN) to the most general (C), comma-separated. Node prints the
 * subject one attribute per line in encoding order (most general first),
 * with RFC 4514 escapes already applied, so reversing the lines suffices.
 */
export function subjectDistinguishedName(certificate: X509Certificate): string {
  return certificate.subject.split("\n").filter((line) => line.length > 0).reverse().join(",");
}

/**
 * Whether the certificate matches a registered `tls_client_auth_*` value
 * (RFC 8705 §2.1.2). Subject DNs are compared attribute by attribute, types
 * case-insensitively and values with X.520 caseIgnoreMatch (case and runs of
 * spaces are not significant); SAN values must equal one of the
 * certificate's entries of that type.
 */
export function certificateMatchesRegistration(certificate: X509Certificate, property: string, expected: string): boolean {
  switch (property) {
    case "tls_client_auth_subject_dn":
      return sameDistinguishedName(subjectDistinguishedName(certificate), expected);
    case "tls_client_auth_san_dns":
      return subjectAltNames(certificate, "DNS").includes(expected.toLowerCase());
    case "tls_client_auth_san_uri":
      return subjectAltNames(certificate, "URI").includes(expected.toLowerCase());
    case "tls_client_auth_san_ip":
      return subjectAltNames(certificate, "IP Address").includes(expected.toLowerCase());
    case "tls_client_auth_san_email":
      return subjectAltNames(certificate, "email").includes(expected.toLowerCase());
    default:
      return false;
  }
}

function sameDistinguishedName(actual: string, expected: string): boolean {
  const a = parseDistinguishedName(actual);
  const b = parseDistinguishedName(expected);
  if (a === undefined || b === undefined || a.length !== b.length) return false;
  return a.every((attribute, i) => attribute === b[i]);
}

/**
 * Splits an RFC 4514 string into normalised `type=value` attributes, or
 * `undefined` when it is not one. Multi-valued RDNs ("+") are flattened in
 * sorted order, since their members are a set (RFC 4514 §2.2).
 */
function parseDistinguishedName(dn: string): string[] | undefined {
  const rdns: string[][] = [[]];
  let current = "";
  let escaped = false;
  const pushAttribute = (): boolean => {
    const separator = current.indexOf("=");
    if (separator <= 0) return false;
    const type = current.slice(0, separator).trim().toUpperCase();
    const value = unescapeValue(current.slice(separator + 1).trim());
    if (value === undefined) return false;
    rdns.at(-1)?.push(`${type}=${value.replace(/\s+/g, " ").toLowerCase()}`);
    current = "";
    return true;
  };
  for (const char of dn) {
    if (escaped) {
      current += `\\${char}`;
      escaped = false;
    } else if (char === "\\") {
      escaped = true;
    } else if (char === "," || char === "+") {
      if (!pushAttribute()) return undefined;
      if (char === ",") rdns.push([]);
    } else {
      current += char;
    }
  }
  if (escaped || !pushAttribute()) return undefined;
  return rdns.flatMap((rdn) => rdn.sort());
}

/** RFC 4514 §3: `\` followed by a special character, or by two hex digits (one UTF-8 byte). */
function unescapeValue(value: string): string | undefined {
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const char = value[i] ?? "";
    if (char !== "\\") {
      bytes.push(...Buffer.from(char, "utf8"));
      continue;
    }
    const next = value.slice(i + 1, i + 3);
    if (/^[0-9a-fA-F]{2}$/.test(next)) {
      bytes.push(Number.parseInt(next, 16));
      i += 2;
    } else if (value[i + 1] !== undefined) {
      bytes.push(...Buffer.from(value[i + 1] ?? "", "utf8"));
      i += 1;
    } else {
      return undefined;
    }
  }
  return Buffer.from(bytes).toString("utf8");
}

/** Entries of one type in the subjectAltName extension ("DNS:a.example, IP Address:127.0.0.1"). */
function subjectAltNames(certificate: X509Certificate, type: string): string[] {
  const names = certificate.subjectAltName;
  if (names === undefined) return [];
  return names
    .split(/,\s*/)
    .filter((entry) => entry.startsWith(`${type}:`))
    .map((entry) => entry.slice(type.length + 1).toLowerCase());
}
