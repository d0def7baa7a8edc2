import { describe, expect, it } from "vitest";
import { compareSemver, isSemver, parseSemver } from "./semver.js";

describe("semantic versions", () => {
  it("orders versions as SemVer 2.0.0 §11 does", () => {
    const ordered = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.1.0", "2.0.0", "10.0.0"];
    for (let i = 1; i < ordered.length; i += 1) {
      expect(compareSemver(ordered[i - 1]!, ordered[i]!), `${ordered[i - 1]} < ${ordered[i]}`).toBeLessThan(0);
      expect(compareSemver(ordered[i]!, ordered[i - 1]!)).toBeGreaterThan(0);
    }
    expect(compareSemver("1.2.3+build.5", "1.2.3")).toBe(0);
  });

  it("refuses what is not a version", () => {
    for (const text of ["1.0", "01.0.0", "1.0.0-", "v1.0.0", "1.0.0-01", ""]) expect(isSemver(text), text).toBe(false);
    expect(parseSemver("1.2.3-rc.1")?.prerelease).toEqual(["rc", 1]);
    expect(() => compareSemver("1.0", "1.0.0")).toThrow(TypeError);
  });
});
