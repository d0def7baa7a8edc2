/**
 * Exact decimal arithmetic for amounts: JSON numbers are binary doubles, and
 * 0.1 + 0.2 is not 0.3 in them. A fee note's total must be the sum a person
 * computes, to the cent, so numbers are taken from their shortest decimal
 * representation (ECMA-262 Number::toString, which is what JSON.parse read)
 * and added and multiplied as scaled integers.
 */

export class Decimal {
  /** The value is `units × 10^-scale`. */
  readonly units: bigint;
  readonly scale: number;

  private constructor(units: bigint, scale: number) {
    this.units = units;
    this.scale = scale;
  }

  static readonly ZERO = new Decimal(0n, 0);

  static fromNumber(value: number): Decimal {
    if (!Number.isFinite(value)) throw new TypeError(`Not a finite number: ${value}`);
    const match = /^(-?)(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(String(value));
    if (match === null) throw new TypeError(`Unexpected number text: ${String(value)}`);
    const [, sign, integer, fraction = "", exponentText = "0"] = match;
    const exponent = Number(exponentText);
    let units = BigInt(`${integer}${fraction}`);
    let scale = fraction.length - exponent;
    if (scale < 0) {
      units *= 10n ** BigInt(-scale);
      scale = 0;
    }
    return new Decimal(sign === "-" ? -units : units, scale);
  }

  plus(other: Decimal): Decimal {
    const scale = Math.max(this.scale, other.scale);
    return new Decimal(this.#rescaled(scale) + other.#rescaled(scale), scale);
  }

  minus(other: Decimal): Decimal {
    return this.plus(new Decimal(-other.units, other.scale));
  }

  times(other: Decimal): Decimal {
    return new Decimal(this.units * other.units, this.scale + other.scale);
  }

  isNegative(): boolean {
    return this.units < 0n;
  }

  /** Rounded to `digits` decimals, half away from zero (the usual rule for amounts). */
  round(digits: number): Decimal {
    if (this.scale <= digits) return new Decimal(this.#rescaled(digits), digits);
    const divisor = 10n ** BigInt(this.scale - digits);
    const magnitude = this.units < 0n ? -this.units : this.units;
    let quotient = magnitude / divisor;
    if ((magnitude % divisor) * 2n >= divisor) quotient += 1n;
    return new Decimal(this.units < 0n ? -quotient : quotient, digits);
  }

  /** Plain decimal text with a dot, exactly `scale` decimals: `-1234.50`. */
  toFixedText(): string {
    const magnitude = (this.units < 0n ? -this.units : this.units).toString().padStart(this.scale + 1, "0");
    const integer = magnitude.slice(0, magnitude.length - this.scale);
    const fraction = magnitude.slice(magnitude.length - this.scale);
    return `${this.units < 0n ? "-" : ""}${integer}${fraction === "" ? "" : `.${fraction}`}`;
  }

  #rescaled(scale: number): bigint {
    return this.units * 10n ** BigInt(scale - this.scale);
  }
}
