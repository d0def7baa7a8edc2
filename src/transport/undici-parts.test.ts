import { Pool as IndexPool, buildConnector as indexBuildConnector } from "undici";
import { describe, expect, it } from "vitest";
import { Pool, buildConnector } from "./undici-parts.js";

describe("undici parts", () => {
  // A failure here: undici moved these files; point undici-parts.ts (and undici-modules.d.ts) at their new paths.
  it("are the very objects undici's index exports", () => {
    expect(Pool).toBe(IndexPool);
    expect(buildConnector).toBe(indexBuildConnector);
  });

  it("give every pool the request API the index would install", () => {
    for (const method of ["request", "stream", "pipeline", "upgrade", "connect"] as const) {
      expect(typeof Pool.prototype[method], method).toBe("function");
    }
  });
});
