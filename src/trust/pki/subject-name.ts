/**
 * Distinguished names for sandbox certificates, built from a plain record such
 * as `{ CN: "Dr Jean Dupont", O: "Cabinet Dupont", serialNumber: "810012345678" }`.
 *
 * Values are given to `@peculiar/x509` as typed strings, never through its
 * RFC 4514 string parser, so commas, quotes and backslashes in a name are kept
 * literally. Attribute order in the encoding is the conventional one, most
 * general first (C, ST, L, O, OU, … , CN), whatever the record's key order.
 */
import type { JsonNameParams, Name } from "@peculiar/x509";
import type { X509Library } from "../x509-library.js";

/** Attribute short names accepted in a subject record, with their OIDs (X.520, PKCS #9, RFC 4519). */
const ATTRIBUTE_TYPES: Readonly<Record<string, string>> = {
  C: "2.5.4.6",
  ST: "2.5.4.8",
  L: "2.5.4.7",
  O: "2.5.4.10",
  OU: "2.5.4.11",
  organizationIdentifier: "2.5.4.97",
  T: "2.5.4.12",
  title: "2.5.4.12",
  SN: "2.5.4.4",
  surname: "2.5.4.4",
  G: "2.5.4.42",
  GN: "2.5.4.42",
  givenName: "2.5.4.42",
  serialNumber: "2.5.4.5",
  E: "1.2.840.113549.1.9.1",
  emailAddress: "1.2.840.113549.1.9.1",
  DC: "0.9.2342.19200300.100.1.25",
  UID: "0.9.2342.19200300.100.1.1",
  CN: "2.5.4.3",
};

const LEADING_TYPES = ["2.5.4.6", "2.5.4.8", "2.5.4.7", "2.5.4.10", "2.5.4.11"];
const COMMON_NAME = "2.5.4.3";
const COUNTRY_NAME = "2.5.4.6";
/** X.520 types whose syntax is PrintableString only. */
const PRINTABLE_ONLY = new Set([COUNTRY_NAME, "2.5.4.5"]);
/** PKCS #9 emailAddress and RFC 4519 domainComponent are IA5String. */
const IA5_TYPES = new Set(["1.2.840.113549.1.9.1", "0.9.2342.19200300.100.1.25"]);
const DOTTED_OID = /^[0-2](\.(0|[1-9]\d*))+$/;

/** A subject as callers give it: one value, or several (e.g. two OUs), per attribute. */
export type SubjectRecord = Readonly<Record<string, string | readonly string[]>>;

/**
 * Builds the `Name` for a subject record. Throws `TypeError` on an unknown
 * attribute, an empty value, or a value whose ASN.1 syntax forbids it.
 */
export function buildSubjectName(x509: X509Library, subject: SubjectRecord): Name {
  const attributes: Array<{ oid: string; value: string }> = [];
  for (const [key, raw] of Object.entries(subject)) {
    const oid = ATTRIBUTE_TYPES[key] ?? (DOTTED_OID.test(key) ? key : undefined);
    if (oid === undefined) {
      throw new TypeError(
        `Unknown subject attribute "${key}" (use one of ${Object.keys(ATTRIBUTE_TYPES).join(", ")} or a dotted OID)`,
      );
    }
    const values: readonly string[] = typeof raw === "string" ? [raw] : raw;
    for (const value of values) {
      if (typeof value !== "string" || value.length === 0) {
        throw new TypeError(`Subject attribute "${key}" must be a non-empty string`);
      }
      attributes.push({ oid, value });
    }
  }
  if (attributes.length === 0) throw new TypeError("A certificate subject needs at least one attribute");

  const rank = (oid: string): number => {
    const leading = LEADING_TYPES.indexOf(oid);
    if (leading >= 0) return leading;
    return oid === COMMON_NAME ? LEADING_TYPES.length + 1 : LEADING_TYPES.length;
  };
  // Array.prototype.sort is stable: equal ranks keep the caller's order.
  attributes.sort((a, b) => rank(a.oid) - rank(b.oid));

  const json: JsonNameParams = attributes.map(({ oid, value }) => ({ [oid]: [encodeAttributeValue(x509, oid, value)] }));
  return new x509.Name(json);
}

function encodeAttributeValue(
  x509: X509Library,
  oid: string,
  value: string,
): { printableString: string } | { utf8String: string } | { ia5String: string } {
  if (oid === COUNTRY_NAME && !/^[A-Z]{2}$/.test(value)) {
    // RFC 5280 §4.1.2.4 / X.520: countryName is a two-letter ISO 3166 code.
    throw new TypeError(`Subject attribute C must be a two-letter country code, got "${value}"`);
  }
  if (IA5_TYPES.has(oid)) {
    if (!/^[\x20-\x7e]*$/.test(value)) throw new TypeError(`Subject attribute ${oid} must be ASCII`);
    return { ia5String: value };
  }
  if (x509.Name.isPrintableString(value)) return { printableString: value };
  if (PRINTABLE_ONLY.has(oid)) {
    throw new TypeError(`Subject attribute ${oid} must be a PrintableString (letters, digits, space, '()+,-./:=?)`);
  }
  // RFC 5280 §4.1.2.6: UTF8String for everything PrintableString cannot carry.
  return { utf8String: value };
}
