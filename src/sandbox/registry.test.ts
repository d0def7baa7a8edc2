import { describe, expect, it } from "vitest";
import { BUILT_IN_SIMULATORS, builtInSimulators, sameInfo } from "./registry.js";

describe("built-in simulators", () => {
  it("each loads a definition that says what its entry in simulator-ids.ts says", async () => {
    for (const { info, load } of BUILT_IN_SIMULATORS) {
      const definition = await load();
      expect(sameInfo(info, definition), info.id).toBe(true);
    }
  });

  it("are described without loading them, with unique ids", () => {
    const definitions = builtInSimulators();
    expect(definitions.map((d) => d.id)).toEqual(["sandbox-ca", "sandbox-tsa", "fr-psc", "lu-aes", "be-idp", "lu-kms", "lu-mysecu", "lu-ihub"]);
    expect(definitions.filter((d) => d.tls?.requestClientCertificate === true).map((d) => d.id)).toEqual(["fr-psc", "lu-kms"]);
  });

  it("refuses a loaded definition that disagrees with its info", () => {
    const [ca] = BUILT_IN_SIMULATORS;
    if (ca === undefined) throw new Error("no built-in simulator");
    const create = async () => ({ handler: () => undefined });
    expect(sameInfo(ca.info, { ...ca.info, create })).toBe(true);
    expect(sameInfo(ca.info, { ...ca.info, title: "Another", create })).toBe(false);
    expect(sameInfo(ca.info, { ...ca.info, tls: { requestClientCertificate: true }, create })).toBe(false);
  });
});
