/**
 * Semantic Versioning 2.0.0 (https://semver.org): parsing and precedence
 * (§11), for template and package versions. Build metadata is accepted and
 * ignored in comparisons, as §10 says.
 */

export interface SemanticVersion {
  major: number;
  minor: number;
  patch: number;
  prerelease: readonly (string | number)[];
  /** The text as given. */
  text: string;
}

// §2, §9, §10: no leading zeros in numeric identifiers; identifiers are [0-9A-Za-z-].
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$/;

/** The parsed version, or undefined when `text` is not a semantic version. */
export function parseSemver(text: string): SemanticVersion | undefined {
  if (typeof text !== "string" || text.length > 256) return undefined;
  const match = SEMVER.exec(text);
  if (match === null) return undefined;
  const numbers = [match[1], match[2], match[3]].map(Number);
  if (numbers.some((n) => !Number.isSafeInteger(n))) return undefined;
  const prerelease = match[4] === undefined ? [] : match[4].split(".").map((id) => (/^\d+$/.test(id) ? Number(id) : id));
  return { major: numbers[0]!, minor: numbers[1]!, patch: numbers[2]!, prerelease, text };
}

export function isSemver(text: string): boolean {
  return parseSemver(text) !== undefined;
}

/** Negative when a < b, 0 when equal in precedence, positive when a > b (§11). Throws TypeError on a non-version. */
export function compareSemver(a: string, b: string): number {
  const left = parseSemver(a);
  const right = parseSemver(b);
  if (left === undefined) throw new TypeError(`Not a semantic version: ${JSON.stringify(a)}`);
  if (right === undefined) throw new TypeError(`Not a semantic version: ${JSON.stringify(b)}`);
  const core = left.major - right.major || left.minor - right.minor || left.patch - right.patch;
  if (core !== 0) return Math.sign(core);
  // §11.3: a pre-release has lower precedence than the release.
  if (left.prerelease.length === 0 || right.prerelease.length === 0) {
    return right.prerelease.length - left.prerelease.length === 0 ? 0 : left.prerelease.length === 0 ? 1 : -1;
  }
  // §11.4: identifier by identifier; numbers below strings; a shorter prefix is lower.
  for (let i = 0; i < Math.max(left.prerelease.length, right.prerelease.length); i += 1) {
    const x = left.prerelease[i];
    const y = right.prerelease[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    if (x === y) continue;
    if (typeof x === "number" && typeof y === "number") return Math.sign(x - y);
    if (typeof x === "number") return -1;
    if (typeof y === "number") return 1;
    return x < y ? -1 : 1;
  }
  return 0;
}
