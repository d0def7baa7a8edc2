import { createHash } from "node:crypto";
import type { Extension } from "@peculiar/x509";
import { describe, expect, it } from "vitest";
import { loadX509 } from "../x509-library.js";
import { clientExtensions, countryCaExtensions, rootCaExtensions, tlsServerExtensions } from "./certificate-profiles.js";
import { CERTIFICATE_PROFILES_VERSION } from "./sandbox-pki.js";
import { buildSubjectName } from "./subject-name.js";

function digest(...parts: ArrayBuffer[]): string {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(Buffer.from(part));
  return hash.digest("hex").slice(0, 16);
}

const profile = (extensions: Extension[]): string => digest(...extensions.map((extension) => extension.rawData));

describe("certificate profiles", () => {
  // Cached certificates stamped with CERTIFICATE_PROFILES_VERSION skip the profile check (sandbox-pki.ts):
  // a change of what these functions make must come with a new version, or the caches keep the old profile.
  it(`make what version ${CERTIFICATE_PROFILES_VERSION} made (a failure here: bump CERTIFICATE_PROFILES_VERSION, then these digests)`, async () => {
    const x509 = await loadX509();
    expect({
      version: CERTIFICATE_PROFILES_VERSION,
      root: profile(rootCaExtensions(x509)),
      countryCa: profile(countryCaExtensions(x509)),
      server: profile(tlsServerExtensions(x509, ["localhost", "127.0.0.1", "::1", "gateway.example"])),
      client: profile(clientExtensions(x509, ["1.3.6.1.5.5.7.3.2"], ["digitalSignature", "keyEncipherment"])),
      timeStamping: profile(clientExtensions(x509, ["1.3.6.1.5.5.7.3.8"], ["digitalSignature"])),
      subject: digest(buildSubjectName(x509, { C: "FR", O: "Cabinet Dupont", OU: ["Médecine", "Paris"], CN: "Dupont", serialNumber: "8100" }).toArrayBuffer()),
    }).toMatchInlineSnapshot(`
      {
        "client": "b4fdf95e82bdc5d6",
        "countryCa": "d73ab2bd7addf126",
        "root": "af7bd4c28edd56f4",
        "server": "88b61b2ea11c83b0",
        "subject": "78f570203cfcff06",
        "timeStamping": "bf15d4c84c948bbb",
        "version": 1,
      }
    `);
  });
});
