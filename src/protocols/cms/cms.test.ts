import { X509Certificate } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import * as pkijs from "pkijs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Signer } from "../../trust/signer.js";
import {
  ATTRIBUTE_OID,
  CmsError,
  addUnsignedAttribute,
  createSignedData,
  createSignedDataDetailed,
  readTimestampToken,
  verifySignedData,
  type CmsFailureReason,
} from "./index.js";
import { decodeBer } from "./der.js";
import { createTestPki, openSslTimestamp, openssl, testSigner, type TestPki } from "./test-fixtures.js";

let pki: TestPki;
let rsa: Signer & { signatures: number };
let ec: Signer & { signatures: number };
const content = Buffer.from("Certificat d'incapacité de travail — patient 1234\n".repeat(20));
const signingTime = new Date("2025-03-14T09:26:53Z");

beforeAll(async () => {
  pki = await createTestPki();
  rsa = testSigner(pki.rsaSigner, [pki.intermediate]);
  ec = testSigner(pki.ecSigner, [pki.intermediate]);
});

afterAll(async () => {
  await pki?.cleanup();
});

/** The trust decision a caller plugs in: the chain's last certificate must be issued by our test root. */
async function trustTestRoot(chain: X509Certificate[]): Promise<void> {
  const last = chain.at(-1);
  if (last === undefined || !last.checkIssued(pki.root.certificate) || !last.verify(pki.root.certificate.publicKey)) {
    throw new Error("chain does not lead to the test root");
  }
}

async function rejectsWith(promise: Promise<unknown>, reason: CmsFailureReason): Promise<CmsError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CmsError);
  const cmsError = error as CmsError;
  expect({ code: cmsError.code, reason: cmsError.reason, status: cmsError.status }).toEqual({ code: "PASSERELLE_CMS_INVALID", reason, status: 422 });
  return cmsError;
}

/** openssl cms -verify against the test root only: the intermediate must come from the SignedData. */
async function opensslVerify(der: Buffer, detachedContent?: Buffer): Promise<{ stdout: string; stderr: string }> {
  const dir = pki.directory;
  const id = `${Date.now()}-${Math.random().toString(16).slice(2)}`;
  const input = join(dir, `cms-${id}.der`);
  await writeFile(input, der);
  const args = ["cms", "-verify", "-binary", "-inform", "DER", "-in", input, "-CAfile", pki.root.certFile];
  if (detachedContent !== undefined) {
    const contentFile = join(dir, `content-${id}.bin`);
    await writeFile(contentFile, detachedContent);
    args.push("-content", contentFile);
  }
  return openssl(args);
}

describe("createSignedData", () => {
  it("signs attached content with RSA; we verify it and read the signed attributes back", async () => {
    const der = await createSignedData({ content, detached: false, signer: rsa, digestAlgorithm: "SHA-256", signedAttributes: { signingTime } });
    const result = await verifySignedData(der, { verifyChain: trustTestRoot });

    expect(result.content?.equals(content)).toBe(true);
    expect(result.signerCertificate.fingerprint256).toBe(pki.rsaSigner.certificate.fingerprint256);
    expect(result.chain.map((c) => c.subject)).toEqual([pki.rsaSigner.certificate.subject, pki.intermediate.certificate.subject]);
    expect(result.signingTime?.toISOString()).toBe(signingTime.toISOString());
    expect(result.digestAlgorithm).toBe("SHA-256");
    expect(result.contentType).toBe("1.2.840.113549.1.7.1");
    expect(result.hasSigningCertificateV2).toBe(true);
    expect(result.chainVerified).toBe(true);
    expect(result.timestampTokens).toEqual([]);
    expect(result.signedAttributes.map((a) => a.type).sort()).toEqual(
      [ATTRIBUTE_OID.contentType, ATTRIBUTE_OID.messageDigest, ATTRIBUTE_OID.signingTime, ATTRIBUTE_OID.signingCertificateV2].sort(),
    );
  });

  it("signs detached content with ECDSA; verification needs the content", async () => {
    const der = await createSignedData({ content, detached: true, signer: ec, digestAlgorithm: "SHA-256" });
    const result = await verifySignedData(der, { content });
    expect(result.content).toBeUndefined();
    expect(result.signerCertificate.subject).toContain("CN=Dr Bob Weber");
    expect(result.chainVerified).toBe(false);
    await expect(verifySignedData(der)).rejects.toThrow(TypeError);
  });

  it("signs chunked content as its concatenation (a PDF ByteRange)", async () => {
    const der = await createSignedData({ content: [content.subarray(0, 100), content.subarray(100)], detached: true, signer: rsa, digestAlgorithm: "SHA-512" });
    await expect(verifySignedData(der, { content })).resolves.toMatchObject({ digestAlgorithm: "SHA-512" });
    await expect(verifySignedData(der, { content: [content.subarray(0, 7), content.subarray(7)] })).resolves.toBeDefined();
  });

  it("is deterministic for a deterministic signer and a fixed time", async () => {
    const options = { content, detached: true, signer: rsa, digestAlgorithm: "SHA-256", signedAttributes: { signingTime } } as const;
    const [a, b] = await Promise.all([createSignedData(options), createSignedData(options)]);
    expect(a.equals(b)).toBe(true);
  });

  it.each([
    ["RSA attached SHA-256", () => rsa, "SHA-256", false],
    ["RSA detached SHA-384", () => rsa, "SHA-384", true],
    ["RSA attached SHA-512", () => rsa, "SHA-512", false],
    ["ECDSA detached SHA-256", () => ec, "SHA-256", true],
  ] as const)("%s is accepted by openssl cms -verify", async (_name, signer, digestAlgorithm, detached) => {
    const der = await createSignedData({ content, detached, signer: signer(), digestAlgorithm });
    const { stdout, stderr } = await opensslVerify(der, detached ? content : undefined);
    expect(stderr).toContain("Verification successful");
    expect(Buffer.from(stdout, "utf8").equals(content)).toBe(true);
  });

  it("leaves signing-time out on request and carries extra signed and unsigned attributes; openssl agrees", async () => {
    // A content-hints attribute (RFC 2634 §2.9) as the caller's extra signed attribute.
    // ContentHints ::= SEQUENCE { contentDescription UTF8String "CIT!", contentType id-data }
    const contentHints = Buffer.from("3011" + "0c0443495421" + "06092a864886f70d010701", "hex");
    const unsigned = { type: "1.2.840.113549.1.9.16.2.99", values: [Buffer.from("0403010203", "hex")] };
    const der = await createSignedData({
      content,
      detached: true,
      signer: rsa,
      digestAlgorithm: "SHA-256",
      signedAttributes: { signingTime: false, extra: [{ type: "1.2.840.113549.1.9.16.2.4", values: [contentHints] }] },
      unsignedAttributes: [unsigned],
    });
    const result = await verifySignedData(der, { content });
    expect(result.signingTime).toBeUndefined();
    expect(result.signedAttributes.find((a) => a.type === "1.2.840.113549.1.9.16.2.4")?.values[0]).toEqual(contentHints);
    expect(result.unsignedAttributes.map((a) => a.type)).toEqual([unsigned.type]);
    expect((await opensslVerify(der, content)).stderr).toContain("Verification successful");
  });

  it("leaves out the intermediate CA when includeChain is false (openssl then needs it from elsewhere)", async () => {
    const der = await createSignedData({ content, detached: true, signer: rsa, digestAlgorithm: "SHA-256", includeChain: false });
    expect((await verifySignedData(der, { content })).certificates).toHaveLength(1);
    await expect(opensslVerify(der, content)).rejects.toThrow(/unable to get local issuer certificate|Verify error/);
  });

  it("refuses caller mistakes with TypeError", async () => {
    await expect(createSignedData({ content, detached: true, signer: ec, digestAlgorithm: "SHA-384" })).rejects.toThrow(/cannot sign CMS with SHA-384/);
    await expect(createSignedData({ content, detached: true, signer: rsa, digestAlgorithm: "MD5" as "SHA-256" })).rejects.toThrow(TypeError);
    await expect(createSignedData({ content: "text" as unknown as Buffer, detached: true, signer: rsa, digestAlgorithm: "SHA-256" })).rejects.toThrow(TypeError);
    await expect(
      createSignedData({
        content,
        detached: true,
        signer: rsa,
        digestAlgorithm: "SHA-256",
        signedAttributes: { extra: [{ type: ATTRIBUTE_OID.signingTime, values: [Buffer.from("170d3235303331343039323635335a", "hex")] }] },
      }),
    ).rejects.toThrow(/already present/);
    await expect(
      createSignedData({ content, detached: true, signer: rsa, digestAlgorithm: "SHA-256", signedAttributes: { signingTime: new Date("nope") } }),
    ).rejects.toThrow(TypeError);
  });

  it("refuses a signer whose key does not match its certificate", async () => {
    const mixedUp: Signer = { ...testSigner(pki.ecSigner, []), certificateChain: async () => [pki.strangerSigner.certificate] };
    await expect(createSignedData({ content, detached: true, signer: mixedUp, digestAlgorithm: "SHA-256" })).rejects.toThrow(
      /does not verify/,
    );
  });
});

describe("verifySignedData on what OpenSSL produces", () => {
  async function opensslSign(extra: readonly string[], signer = pki.rsaSigner): Promise<Buffer> {
    const id = Math.random().toString(16).slice(2);
    const input = join(pki.directory, `in-${id}.bin`);
    const output = join(pki.directory, `out-${id}.der`);
    await writeFile(input, content);
    await openssl([
      "cms", "-sign", "-binary", "-in", input, "-signer", signer.certFile, "-inkey", signer.keyFile,
      "-certfile", pki.intermediate.certFile, "-outform", "DER", "-out", output, ...extra,
    ]);
    return readFile(output);
  }

  it("verifies a detached RSA signature (with openssl's signing-time and SMIMECapabilities)", async () => {
    const der = await opensslSign([]);
    const result = await verifySignedData(der, { content, verifyChain: trustTestRoot });
    expect(result.signerCertificate.fingerprint256).toBe(pki.rsaSigner.certificate.fingerprint256);
    expect(result.signingTime).toBeInstanceOf(Date);
    expect(Math.abs((result.signingTime as Date).getTime() - Date.now())).toBeLessThan(120_000);
    expect(result.signedAttributes.some((a) => a.type === "1.2.840.113549.1.9.15")).toBe(true);
    expect(result.chainVerified).toBe(true);
  });

  it("verifies an attached ECDSA SHA-384 signature identified by subject key identifier", async () => {
    const der = await opensslSign(["-nodetach", "-md", "sha384", "-keyid"], pki.ecSigner);
    const result = await verifySignedData(der);
    expect(result.content?.equals(content)).toBe(true);
    expect(result.digestAlgorithm).toBe("SHA-384");
    expect(result.signerCertificate.subject).toContain("Dr Bob Weber");
  });

  it("verifies a signature without signed attributes (-noattr)", async () => {
    const der = await opensslSign(["-noattr"]);
    const result = await verifySignedData(der, { content });
    expect(result.signedAttributes).toEqual([]);
    await rejectsWith(verifySignedData(der, { content: Buffer.concat([content, Buffer.from("!")]) }), "bad_signature");
  });

  it("refuses several signers as unsupported", async () => {
    const der = await opensslSign(["-signer", pki.ecSigner.certFile, "-inkey", pki.ecSigner.keyFile]);
    await rejectsWith(verifySignedData(der, { content }), "unsupported");
  });
});

describe("verifySignedData detects tampering", () => {
  it("altered content → digest_mismatch", async () => {
    const der = await createSignedData({ content, detached: true, signer: rsa, digestAlgorithm: "SHA-256" });
    const altered = Buffer.from(content);
    altered[10] ^= 0x01;
    await rejectsWith(verifySignedData(der, { content: altered }), "digest_mismatch");
  });

  it("altered attached content → digest_mismatch; openssl agrees", async () => {
    const der = await createSignedData({ content, detached: false, signer: ec, digestAlgorithm: "SHA-256" });
    const at = der.indexOf(content.subarray(0, 20));
    const tampered = Buffer.from(der);
    tampered[at + 3] ^= 0x20;
    await rejectsWith(verifySignedData(tampered), "digest_mismatch");
    await expect(opensslVerify(tampered)).rejects.toThrow(/digest failure|Verification failure/);
  });

  it("altered signature → bad_signature", async () => {
    const { der, signatureValue } = await createSignedDataDetailed({ content, detached: true, signer: rsa, digestAlgorithm: "SHA-256" });
    const at = der.indexOf(signatureValue);
    const tampered = Buffer.from(der);
    tampered[at + 40] ^= 0xff;
    await rejectsWith(verifySignedData(tampered, { content }), "bad_signature");
  });

  it("altered signed attribute (signing time) → bad_signature", async () => {
    const der = await createSignedData({ content, detached: true, signer: rsa, digestAlgorithm: "SHA-256", signedAttributes: { signingTime } });
    const tampered = Buffer.from(der);
    const at = tampered.indexOf(Buffer.from("250314092653Z"));
    expect(at).toBeGreaterThan(0);
    tampered[at + 1] = "6".charCodeAt(0); // 2026
    await rejectsWith(verifySignedData(tampered, { content }), "bad_signature");
  });

  it("a substituted certificate with the same key, issuer and serial → signing_certificate_mismatch", async () => {
    // The attack ESS signing-certificate-v2 exists for (RFC 5035 §1): same key and issuer/serial, other subject.
    const csr = join(pki.directory, "twin.csr");
    const twinFile = join(pki.directory, "twin.pem");
    await openssl(["req", "-new", "-key", pki.rsaSigner.keyFile, "-subj", "/C=FR/O=Cabinet Test/CN=Dr Eve Impostor", "-out", csr]);
    const serial = BigInt(`0x${pki.rsaSigner.certificate.serialNumber}`).toString();
    await openssl([
      "x509", "-req", "-in", csr, "-CA", pki.intermediate.certFile, "-CAkey", pki.intermediate.keyFile,
      "-set_serial", serial, "-days", "30", "-sha256", "-out", twinFile,
    ]);
    const twin = new X509Certificate(await readFile(twinFile));
    const der = await createSignedData({ content, detached: true, signer: rsa, digestAlgorithm: "SHA-256" });

    const contentInfo = new pkijs.ContentInfo({ schema: decodeBer(der) });
    const signedData = new pkijs.SignedData({ schema: contentInfo.content });
    signedData.certificates = [pkijs.Certificate.fromBER(twin.raw), ...(signedData.certificates ?? []).slice(1)];
    const swapped = Buffer.from(
      new pkijs.ContentInfo({ contentType: contentInfo.contentType, content: signedData.toSchema(true) }).toSchema().toBER(false),
    );
    await rejectsWith(verifySignedData(swapped, { content }), "signing_certificate_mismatch");
  });

  it("algorithms other than the ones protected by CMSAlgorithmProtection (RFC 6211) → bad_signature", async () => {
    // CMSAlgorithmProtection ::= SEQUENCE { digestAlgorithm, signatureAlgorithm [1] IMPLICIT }
    const ecdsaWithSha256 = "a10a" + "06082a8648ce3d040302";
    const protection = (digestOid: string) => Buffer.from("3019" + `300b0609${digestOid}` + ecdsaWithSha256, "hex");
    const sha256 = "608648016503040201";
    const sha512 = "608648016503040203";
    const sign = (digestOid: string) =>
      createSignedData({
        content,
        detached: true,
        signer: ec,
        digestAlgorithm: "SHA-256",
        signedAttributes: { extra: [{ type: ATTRIBUTE_OID.cmsAlgorithmProtection, values: [protection(digestOid)] }] },
      });
    await expect(verifySignedData(await sign(sha256), { content })).resolves.toBeDefined();
    await rejectsWith(verifySignedData(await sign(sha512), { content }), "bad_signature");
  });

  it("a certificate from elsewhere → untrusted when the caller's trust decision refuses it", async () => {
    const stranger = testSigner(pki.strangerSigner, []);
    const der = await createSignedData({ content, detached: true, signer: stranger, digestAlgorithm: "SHA-256" });
    const error = await rejectsWith(verifySignedData(der, { content, verifyChain: trustTestRoot }), "untrusted");
    expect(error.detail).toContain("test root");
    await expect(verifySignedData(der, { content })).resolves.toMatchObject({ chainVerified: false });
  });

  it("garbage and other structures → malformed", async () => {
    await rejectsWith(verifySignedData(Buffer.from("not a CMS at all")), "malformed");
    await rejectsWith(verifySignedData(Buffer.from([0x30, 0x03, 0x06, 0x01, 0x00])), "malformed");
    const truncated = (await createSignedData({ content, detached: true, signer: rsa, digestAlgorithm: "SHA-256" })).subarray(0, 500);
    await rejectsWith(verifySignedData(truncated, { content }), "malformed");
  });
});

describe("addUnsignedAttribute (CAdES-T)", () => {
  it("adds an openssl-made signature time-stamp without touching what is signed", async () => {
    const { der, signatureValue } = await createSignedDataDetailed({ content, detached: true, signer: ec, digestAlgorithm: "SHA-256" });
    const token = await openSslTimestamp(pki, signatureValue);
    const stamped = addUnsignedAttribute(der, { type: ATTRIBUTE_OID.signatureTimeStampToken, values: [token] });

    const result = await verifySignedData(stamped, { content, verifyChain: trustTestRoot });
    expect(result.timestampTokens).toHaveLength(1);
    expect(result.timestampTokens[0]?.equals(token)).toBe(true);
    expect(result.signatureValue.equals(signatureValue)).toBe(true);
    const info = readTimestampToken(token, signatureValue);
    expect(info.imprintMatches).toBe(true);
    expect(Math.abs(info.genTime.getTime() - Date.now())).toBeLessThan(120_000);
    expect(readTimestampToken(token, Buffer.from("another signature")).imprintMatches).toBe(false);
    expect((await opensslVerify(stamped, content)).stderr).toContain("Verification successful");

    // openssl ts -verify: the token is over this SignatureValue, signed by the TSA.
    const sigFile = join(pki.directory, "sigvalue.bin");
    const tokenFile = join(pki.directory, "token.der");
    await writeFile(sigFile, signatureValue);
    await writeFile(tokenFile, token);
    const verified = await openssl(["ts", "-verify", "-token_in", "-in", tokenFile, "-data", sigFile, "-CAfile", pki.root.certFile, "-untrusted", pki.intermediate.certFile]);
    expect(verified.stdout).toContain("Verification: OK");
  });

  it("appends after existing unsigned attributes, in order", async () => {
    const first = { type: "1.2.840.113549.1.9.16.2.99", values: [Buffer.from("0401ff", "hex")] };
    const second = { type: "1.2.840.113549.1.9.16.2.98", values: [Buffer.from("0400", "hex")] };
    const der = await createSignedData({ content, detached: true, signer: rsa, digestAlgorithm: "SHA-256", unsignedAttributes: [first] });
    const result = await verifySignedData(addUnsignedAttribute(der, second), { content });
    expect(result.unsignedAttributes.map((a) => a.type)).toEqual([first.type, second.type]);
  });

  it("creates a signature time-stamp in one go through signatureTimestamp", async () => {
    let stampedValue: Buffer | undefined;
    const der = await createSignedData({
      content,
      detached: false,
      signer: rsa,
      digestAlgorithm: "SHA-256",
      signatureTimestamp: async (signatureValue) => {
        stampedValue = signatureValue;
        return openSslTimestamp(pki, signatureValue);
      },
    });
    const result = await verifySignedData(der);
    expect(result.signatureValue.equals(stampedValue as Buffer)).toBe(true);
    expect(readTimestampToken(result.timestampTokens[0] as Buffer, result.signatureValue).imprintMatches).toBe(true);
  });

  it("refuses what is not a DER SignedData, and bad attributes", async () => {
    expect(() => addUnsignedAttribute(Buffer.from("garbage"), { type: "1.2.3", values: [Buffer.from("0500", "hex")] })).toThrow(CmsError);
    const der = await createSignedData({ content, detached: true, signer: rsa, digestAlgorithm: "SHA-256" });
    expect(() => addUnsignedAttribute(der, { type: "not-an-oid", values: [Buffer.from("0500", "hex")] })).toThrow(TypeError);
    expect(() => addUnsignedAttribute(der, { type: "1.2.3", values: [] })).toThrow(TypeError);
    expect(() => addUnsignedAttribute(der, { type: "1.2.3", values: [Buffer.from("05", "hex")] })).toThrow(TypeError);
  });
});
