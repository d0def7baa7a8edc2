/**
 * The Luxembourg national identification number ("matricule"), as the
 * sandbox checks it: 13 digits `YYYYMMDDNNNLV` since 2014 — birth date,
 * a sequence number, then two check digits computed over the first eleven,
 * L by the Luhn algorithm (ISO/IEC 7812-1 Annex B) and V by Verhoeff's
 * dihedral-group algorithm. Month or day may be 00 when unknown.
 *
 * The check digits are computed by the one implementation the templates use
 * (src/services/lu/templates/lu-identifiers.ts); this module adds what the
 * simulator needs on top.
 */
import { isLuxembourgMatricule, luhnCheckDigit, verhoeffCheckDigit } from "../../services/lu/templates/lu-identifiers.js";

export { luhnCheckDigit, verhoeffCheckDigit };

/** Whether `value` is a well-formed matricule with both check digits right. */
export function isValidMatricule(value: string): boolean {
  return isLuxembourgMatricule(value);
}

/** The matricule for a birth date and sequence number (sandbox test data). */
export function matriculeFor(birthDate: string, sequence: number): string {
  if (!/^\d{8}$/.test(birthDate) || !Number.isInteger(sequence) || sequence < 0 || sequence > 999) {
    throw new TypeError("matriculeFor needs YYYYMMDD and a sequence number 0..999");
  }
  const body = `${birthDate}${String(sequence).padStart(3, "0")}`;
  return `${body}${luhnCheckDigit(body)}${verhoeffCheckDigit(body)}`;
}
