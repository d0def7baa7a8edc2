import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ERROR_CATALOGUE, PasserelleError, problemTypeFor, type ErrorCode } from "./index.js";

describe("error catalogue", () => {
  it("is documented in docs/errors.md, one row per code with its status and type", () => {
    const doc = readFileSync(new URL("../../docs/errors.md", import.meta.url), "utf8");
    for (const [code, { status }] of Object.entries(ERROR_CATALOGUE)) {
      expect(doc, code).toContain(`| \`${code}\` | ${status} | \`${problemTypeFor(code as ErrorCode)}\` |`);
    }
    const documented = [...doc.matchAll(/\| `(PASSERELLE_[A-Z_]+)` \|/g)].map((m) => m[1]);
    expect(documented.sort()).toEqual(Object.keys(ERROR_CATALOGUE).sort());
  });

  it("gives stable, distinct type URIs", () => {
    const types = Object.keys(ERROR_CATALOGUE).map((c) => problemTypeFor(c as ErrorCode));
    expect(new Set(types).size).toBe(types.length);
    expect(problemTypeFor("PASSERELLE_UPSTREAM_TIMEOUT")).toBe("https://passerelle.dev/problems/upstream-timeout");
  });

  it("hides the detail of internal errors only", () => {
    expect(new PasserelleError("PASSERELLE_INTERNAL", { detail: "x" }).expose).toBe(false);
    expect(new PasserelleError("PASSERELLE_UPSTREAM_TIMEOUT").expose).toBe(true);
    expect(new PasserelleError("PASSERELLE_VALIDATION").status).toBe(400);
  });
});
