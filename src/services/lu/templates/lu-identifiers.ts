/**
 * Luxembourg identifiers that appear on CNS documents.
 *
 * - The national identification number ("matricule", 13 digits) of the
 *   Registre national des personnes physiques: birth date YYYYMMDD, a
 *   three-digit sequence, then two check digits computed over the first
 *   eleven: the 12th with Luhn (mod 10), the 13th with Verhoeff (loi du
 *   19 juin 2013 relative à l'identification des personnes physiques; the
 *   algorithm is the one published for the Luxembourg TIN, which is the same
 *   number). Month and day may be 00 when the birth date is not fully known.
 * - The CNS provider code ("code médecin" / "code prestataire"), written as
 *   six digits, a dash and two digits (the sandbox practitioners use it).
 */

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

/** The Verhoeff check digit to append to `digits`. */
export function verhoeffCheckDigit(digits: string): number {
  let check = 0;
  const reversed = [...digits].reverse();
  reversed.forEach((char, i) => {
    check = VERHOEFF_MULTIPLICATION[check]![VERHOEFF_PERMUTATION[(i + 1) % 8]![Number(char)]!]!;
  });
  return VERHOEFF_INVERSE[check]!;
}

/** The Luhn (mod 10) check digit to append to `digits`. */
export function luhnCheckDigit(digits: string): number {
  let sum = 0;
  [...digits].reverse().forEach((char, i) => {
    let value = Number(char);
    // The digit next to the check digit is doubled, then every other one.
    if (i % 2 === 0) {
      value *= 2;
      if (value > 9) value -= 9;
    }
    sum += value;
  });
  return (10 - (sum % 10)) % 10;
}

/** Whether `value` is a well-formed Luxembourg matricule (format, birth date fields, both check digits). */
export function isLuxembourgMatricule(value: string): boolean {
  if (typeof value !== "string" || !/^\d{13}$/.test(value)) return false;
  const month = Number(value.slice(4, 6));
  const day = Number(value.slice(6, 8));
  if (month > 12 || day > 31) return false;
  if (month !== 0 && day !== 0) {
    const year = Number(value.slice(0, 4));
    const date = new Date(Date.UTC(year, month - 1, day));
    if (date.getUTCMonth() !== month - 1) return false; // 31 April, 29 February of a common year
  }
  const base = value.slice(0, 11);
  return Number(value[11]) === luhnCheckDigit(base) && Number(value[12]) === verhoeffCheckDigit(base);
}

/** Appends both check digits to an 11-digit base (YYYYMMDD + sequence); for test data and the sandbox. */
export function completeLuxembourgMatricule(base: string): string {
  if (!/^\d{11}$/.test(base)) throw new TypeError("a matricule base is 11 digits (YYYYMMDD + 3-digit sequence)");
  return `${base}${luhnCheckDigit(base)}${verhoeffCheckDigit(base)}`;
}

/** Whether `value` is a CNS provider code as the sandbox writes it (`101234-56`). */
export function isCnsProviderCode(value: string): boolean {
  return typeof value === "string" && /^\d{6}-\d{2}$/.test(value);
}
