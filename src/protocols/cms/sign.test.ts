import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Signer } from "../../trust/signer.js";
import { encodingOf, readBer, type BerElement } from "./ber-reader.js";
import { encodeOid } from "./der.js";
import { createTestPki, openSslTimestamp, openssl, testSigner, type TestPki } from "./test-fixtures.js";
import { ATTRIBUTE_OID, createSignedData, estimateSignedDataSize, verifySignedData } from "./index.js";

let pki: TestPki;
let rsa: Signer;
const content = Buffer.from("Certificat d'incapacité de travail — contenu signé");

beforeAll(async () => {
  pki = await createTestPki();
  rsa = testSigner(pki.rsaSigner, [pki.intermediate]);
});

afterAll(async () => {
  await pki?.cleanup();
});

/** The BER form of a DER element: every constructed element with an indefinite length (X.690 §8.1.3.6). */
function indefinite(element: BerElement): Buffer {
  if (!element.constructed) return encodingOf(element);
  return Buffer.concat([Buffer.from([element.bytes[element.start] as number, 0x80]), ...element.children.map(indefinite), Buffer.from([0, 0])]);
}

describe("createSignedData, written with the DER writer", () => {
  it("writes SignedData version 3 for content other than id-data (RFC 5652 §5.1), version 1 for id-data; openssl verifies both", async () => {
    const tstInfoType = "1.2.840.113549.1.9.16.1.4";
    for (const [contentType, version] of [
      [undefined, 1],
      [tstInfoType, 3],
    ] as const) {
      const der = await createSignedData({
        content,
        detached: false,
        signer: rsa,
        digestAlgorithm: "SHA-256",
        ...(contentType === undefined ? {} : { signedAttributes: { contentType } }),
      });
      const signedData = readBer(der)?.children[1]?.children[0];
      expect(signedData?.children[0] && encodingOf(signedData.children[0])).toEqual(Buffer.from([0x02, 0x01, version]));
      const result = await verifySignedData(der);
      expect(result.contentType).toBe(contentType ?? "1.2.840.113549.1.7.1");
      const file = join(pki.directory, `v${version}.p7m`);
      await writeFile(file, der);
      const { stderr } = await openssl(["cms", "-verify", "-binary", "-inform", "DER", "-in", file, "-CAfile", pki.root.certFile, "-purpose", "any"]);
      expect(stderr).toContain("Verification successful");
    }
  });

  it("carries a time-stamp token that came in BER byte for byte, and refuses one that is not a single BER element", async () => {
    let ber: Buffer | undefined;
    const der = await createSignedData({
      content,
      detached: true,
      signer: rsa,
      digestAlgorithm: "SHA-256",
      signatureTimestamp: async (signatureValue) => {
        ber = indefinite(readBer(await openSslTimestamp(pki, signatureValue)) as BerElement);
        return ber;
      },
    });
    // Under the signature-time-stamp attribute, as received (the signature does not cover it; OpenSSL reads BER).
    const unsigned = readBer(der)?.children[1]?.children[0]?.children.at(-1)?.children[0]?.children.at(-1);
    const attribute = unsigned?.children[0];
    expect(attribute?.children[0] && encodingOf(attribute.children[0])).toEqual(encodeOid(ATTRIBUTE_OID.signatureTimeStampToken));
    expect(attribute?.children[1]?.children[0] && encodingOf(attribute.children[1].children[0])).toEqual(ber);
    const [file, contentFile] = [join(pki.directory, "ber-token.p7s"), join(pki.directory, "ber-token.txt")];
    await Promise.all([writeFile(file, der), writeFile(contentFile, content)]);
    const { stderr } = await openssl(["cms", "-verify", "-binary", "-inform", "DER", "-in", file, "-content", contentFile, "-CAfile", pki.root.certFile, "-purpose", "any"]);
    expect(stderr).toContain("Verification successful");

    await expect(
      createSignedData({ content, detached: true, signer: rsa, digestAlgorithm: "SHA-256", signatureTimestamp: async () => Buffer.from("3003020101ff", "hex") }),
    ).rejects.toThrow(TypeError);
  });

  it("sizes a placeholder that the signature and a time-stamp token fit in", async () => {
    const token = await openSslTimestamp(pki, Buffer.alloc(256, 1));
    const estimate = await estimateSignedDataSize({ signer: rsa, digestAlgorithm: "SHA-256", signedAttributes: { signingTime: false }, includeChain: true }, token.length);
    const der = await createSignedData({
      content,
      detached: true,
      signer: rsa,
      digestAlgorithm: "SHA-256",
      signedAttributes: { signingTime: false },
      signatureTimestamp: async () => token,
    });
    expect(der.length).toBeLessThanOrEqual(estimate);
    expect(estimate - der.length).toBeLessThan(100);
  });
});
