/**
 * The contract every {@link Signer} passes, whatever holds its key. A
 * signer's test file calls
 * `describeSignerContract("SoftwareSigner (RSA)", async () => ({ signer }))`.
 * Signatures are checked with node:crypto against the public key of the
 * signer's own certificate, so a signer cannot pass by agreeing with itself.
 */
import { constants, randomBytes, verify, type X509Certificate } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SignatureAlgorithm, Signer } from "../signer.js";
import { SIGNATURE_ALGORITHMS } from "./signature-algorithms.js";

export interface SignerContractFixture {
  signer: Signer;
  /** Called once after the suite (close sessions, remove token directories). */
  cleanup?(): Promise<void>;
}

/** Verifies `signature` over `data` with the certificate's public key, as a relying party would. */
export function verifySignature(
  certificate: X509Certificate,
  algorithm: SignatureAlgorithm,
  data: Uint8Array,
  signature: Uint8Array,
): boolean {
  const spec = SIGNATURE_ALGORITHMS[algorithm];
  const key = certificate.publicKey;
  switch (spec.scheme) {
    case "pkcs1-v1_5":
      return verify(spec.digest, data, { key, padding: constants.RSA_PKCS1_PADDING }, signature);
    case "pss":
      return verify(spec.digest, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: spec.saltLength ?? 32 }, signature);
    case "ecdsa":
      return verify(spec.digest, data, { key, dsaEncoding: "der" }, signature);
  }
}

export function describeSignerContract(name: string, makeFixture: () => Promise<SignerContractFixture>): void {
  describe(`Signer contract: ${name}`, () => {
    let fixture: SignerContractFixture;
    let signer: Signer;
    let chain: X509Certificate[];

    beforeAll(async () => {
      fixture = await makeFixture();
      signer = fixture.signer;
      chain = await signer.certificateChain();
    });

    afterAll(async () => {
      await fixture?.cleanup?.();
    });

    it("describes itself: a non-empty id, its key type and at least one algorithm of that key type", () => {
      expect(typeof signer.id).toBe("string");
      expect(signer.id.length).toBeGreaterThan(0);
      expect(signer.algorithms.length).toBeGreaterThan(0);
      for (const algorithm of signer.algorithms) expect(SIGNATURE_ALGORITHMS[algorithm].keyType).toBe(signer.keyType);
      expect(chain[0]?.publicKey.asymmetricKeyType).toBe(signer.keyType === "RSA" ? "rsa" : "ec");
    });

    it("signs with every algorithm it offers, verifiably with its certificate's public key", async () => {
      const data = randomBytes(1000);
      for (const algorithm of signer.algorithms) {
        const signature = await signer.sign(data, algorithm);
        expect(verifySignature(chain[0]!, algorithm, data, signature), algorithm).toBe(true);
        const altered = Buffer.from(data);
        altered[0] = altered[0]! ^ 1;
        expect(verifySignature(chain[0]!, algorithm, altered, signature), `${algorithm} on altered data`).toBe(false);
      }
    });

    it("signs empty data", async () => {
      const algorithm = signer.algorithms[0]!;
      const signature = await signer.sign(new Uint8Array(0), algorithm);
      expect(verifySignature(chain[0]!, algorithm, new Uint8Array(0), signature)).toBe(true);
    });

    it("serves concurrent calls correctly", async () => {
      const algorithm = signer.algorithms[0]!;
      const inputs = Array.from({ length: 8 }, () => randomBytes(64));
      const signatures = await Promise.all(inputs.map((data) => signer.sign(data, algorithm)));
      signatures.forEach((signature, index) => expect(verifySignature(chain[0]!, algorithm, inputs[index]!, signature)).toBe(true));
    });

    it("rejects algorithms it does not offer, and non-byte data, with TypeError", async () => {
      const missing = (Object.keys(SIGNATURE_ALGORITHMS) as SignatureAlgorithm[]).find((a) => !signer.algorithms.includes(a));
      if (missing !== undefined) await expect(signer.sign(Buffer.from("x"), missing)).rejects.toThrow(TypeError);
      await expect(signer.sign(Buffer.from("x"), "HMAC-SHA256" as SignatureAlgorithm)).rejects.toThrow(TypeError);
      await expect(signer.sign("text" as unknown as Uint8Array, signer.algorithms[0]!)).rejects.toThrow(TypeError);
    });

    it("returns its chain leaf first, each certificate issued by the next, as a fresh array", async () => {
      for (let i = 0; i + 1 < chain.length; i += 1) {
        expect(chain[i]!.checkIssued(chain[i + 1]!) && chain[i]!.verify(chain[i + 1]!.publicKey)).toBe(true);
      }
      const again = await signer.certificateChain();
      again.pop();
      expect((await signer.certificateChain()).length).toBe(chain.length);
    });
  });
}
