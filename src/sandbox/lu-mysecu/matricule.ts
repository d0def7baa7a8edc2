/**
 * The Luxembourg national identification number ("matricule"), as the
 * sandbox checks it: 13 digits `YYYYMMDDNNNLV` since 2014 — birth date,
 * a sequence number, then two check digits computed over the first eleven,
 * L by the Luhn algorithm (ISO/IEC 7812-1 Annex B) and V by Verhoeff's
 * dihedral-group algorithm. Month or day may be 00 when unknown.
 */

/** Whether `value` is a well-formed matricule with both check digits right. */
export function isValidMatricule(value: string): boolean {
  const match = /^(\d{4})(\d{2})(\d{2})\d{5}$/.exec(value);
  if (match === null) return false;
  const [, , month, day] = match.map(Number) as [number, number, number, number];
  if (month > 12 || day > 31) return false;
  const body = value.slice(0, 11);
  return value[11] === String(luhnCheckDigit(body)) && value[12] === String(verhoeffCheckDigit(body));
}

/** The matricule for a birth date and sequence number (sandbox test data). */
export function matriculeFor(birthDate: string, sequence: number): string {
  if (!/^\d{8}$/.test(birthDate) || !Number.isInteger(sequence) || sequence < 0 || sequence > 999) {
    throw new TypeError("matriculeFor needs YYYYMMDD and a sequence number 0..999");
  }
  const body = `${birthDate}${String(sequence).padStart(3, "0")}`;
  return `${body}${luhnCheckDigit(body)}${verhoeffCheckDigit(body)}`;
}

/** ISO/IEC 7812-1 Annex B: the digit that makes `digits` + it pass the Luhn test. */
export function luhnCheckDigit(digits: string): number {
  let sum = 0;
  // Doubling starts with the rightmost digit of the payload (the check digit will sit to its right).
  for (let i = digits.length - 1, double = true; i >= 0; i--, double = !double) {
    let d = Number(digits[i]);
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return (10 - (sum % 10)) % 10;
}

const VERHOEFF_MULTIPLICATION = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
  [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
  [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
  [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
  [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
  [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
  [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
  [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
  [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
] as const;
const VERHOEFF_PERMUTATION = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
  [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
  [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
  [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
  [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
  [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
  [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
] as const;
const VERHOEFF_INVERSE = [0, 4, 3, 2, 1, 5, 6, 7, 8, 9] as const;

/** Verhoeff (1969): the digit that makes `digits` + it pass the dihedral-group D5 test. */
export function verhoeffCheckDigit(digits: string): number {
  let c = 0;
  // Positions count from the right, starting at 1 for the payload (0 is the check digit's).
  for (let i = 0; i < digits.length; i++) {
    const digit = Number(digits[digits.length - 1 - i]);
    const permuted = VERHOEFF_PERMUTATION[(i + 1) % 8]?.[digit] ?? 0;
    c = VERHOEFF_MULTIPLICATION[c]?.[permuted] ?? 0;
  }
  return VERHOEFF_INVERSE[c] ?? 0;
}
