import "reflect-metadata";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { ExtendedKeyUsageExtension, KeyUsageFlags, KeyUsagesExtension, X509Certificate } from "@peculiar/x509";
import pkcs11js from "pkcs11js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Pkcs11Module } from "../pkcs11/pkcs11-module.js";
import { Pkcs11Signer } from "../pkcs11/pkcs11-signer.js";
import { verifySignature } from "../signers/signer.contract.js";
import {
  CPS_AUTHENTICATION_KEY,
  CPS_SIGNATURE_KEY,
  cpsNationalIdentifier,
  isSoftHsmAvailable,
  issueCpsCard,
  provisionCardToken,
  type CpsCardIdentities,
  type CpsPractitioner,
  type ProvisionedCard,
} from "./card-certificates.js";
import { SandboxPki } from "./sandbox-pki.js";

const run = promisify(execFile);
const DUPONT: CpsPractitioner = { rpps: "10000000001", givenName: "Jean", familyName: "Dupont", profession: "Médecin" };
let dir: string;
let pki: SandboxPki;
let identities: CpsCardIdentities;
let card: ProvisionedCard;
const previousConf = process.env.SOFTHSM2_CONF;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "passerelle-cps-card-"));
  pki = await SandboxPki.open(join(dir, "data"));
  identities = await issueCpsCard(pki, DUPONT);
  card = await provisionCardToken(pki, DUPONT, { dir: join(dir, "softhsm"), pin: "4321" });
  process.env.SOFTHSM2_CONF = card.softhsmConfigPath;
}, 60_000);

afterAll(async () => {
  if (previousConf === undefined) delete process.env.SOFTHSM2_CONF;
  else process.env.SOFTHSM2_CONF = previousConf;
  await rm(dir, { recursive: true, force: true });
});

async function opensslVerify(leafPem: string, chainPem: string[], purpose: string): Promise<boolean> {
  const id = Math.random().toString(36).slice(2);
  await writeFile(join(dir, `${id}-root.pem`), pki.rootCertPem);
  await writeFile(join(dir, `${id}-chain.pem`), chainPem.join(""));
  await writeFile(join(dir, `${id}-leaf.pem`), leafPem);
  try {
    const { stdout } = await run("openssl", [
      "verify", "-CAfile", join(dir, `${id}-root.pem`), "-untrusted", join(dir, `${id}-chain.pem`), "-purpose", purpose, join(dir, `${id}-leaf.pem`),
    ]);
    return stdout.trim().endsWith(": OK");
  } catch {
    return false;
  }
}

describe("CPS card certificates", () => {
  it("put the RPPS-based national identifier and the names in a CPS-shaped subject", () => {
    for (const identity of [identities.authentication, identities.signature]) {
      const certificate = new X509Certificate(identity.certPem);
      const subject = certificate.subjectName;
      expect(subject.getField("CN")).toEqual(["810000000001/DUPONT/JEAN"]);
      expect(subject.getField("2.5.4.5")).toEqual(["810000000001"]);
      expect(subject.getField("C")).toEqual(["FR"]);
      expect(subject.getField("O")).toEqual(["Passerelle Sandbox"]);
      expect(subject.getField("OU")).toEqual(["Médecin"]);
      expect(subject.getField("2.5.4.4")).toEqual(["DUPONT"]);
      expect(subject.getField("2.5.4.42")).toEqual(["Jean"]);
      expect(certificate.issuer).toBe("C=FR, O=Passerelle Sandbox, CN=Passerelle Sandbox FR CA");
      expect(identity.chainPem).toEqual([pki.caCertPem("FR")]);
    }
    expect(identities.authentication.keyPem).not.toBe(identities.signature.keyPem);
  });

  it("give the authentication certificate digitalSignature + clientAuth, the signature certificate nonRepudiation and no clientAuth", async () => {
    const authentication = new X509Certificate(identities.authentication.certPem);
    expect(authentication.getExtension(KeyUsagesExtension)?.usages).toBe(KeyUsageFlags.digitalSignature);
    expect(authentication.getExtension(ExtendedKeyUsageExtension)?.usages).toEqual(["1.3.6.1.5.5.7.3.2"]);
    const signature = new X509Certificate(identities.signature.certPem);
    expect(signature.getExtension(KeyUsagesExtension)?.usages).toBe(KeyUsageFlags.digitalSignature | KeyUsageFlags.nonRepudiation);
    expect(signature.getExtension(ExtendedKeyUsageExtension)?.usages).toEqual(["1.3.6.1.5.5.7.3.4", "1.3.6.1.5.5.7.3.36"]);

    // openssl agrees: the first is a TLS client certificate, the second is not, and signs S/MIME.
    expect(await opensslVerify(identities.authentication.certPem, identities.authentication.chainPem, "sslclient")).toBe(true);
    expect(await opensslVerify(identities.signature.certPem, identities.signature.chainPem, "sslclient")).toBe(false);
    expect(await opensslVerify(identities.signature.certPem, identities.signature.chainPem, "smimesign")).toBe(true);
  });

  it("refuse malformed practitioners with TypeError", async () => {
    expect(cpsNationalIdentifier("10000000001")).toBe("810000000001");
    for (const rpps of ["1000000000", "810000000001", "1000000000A", ""]) {
      await expect(issueCpsCard(pki, { ...DUPONT, rpps })).rejects.toThrow(TypeError);
    }
    await expect(issueCpsCard(pki, { ...DUPONT, familyName: "A/B" })).rejects.toThrow(TypeError);
    await expect(issueCpsCard(pki, { ...DUPONT, givenName: " " })).rejects.toThrow(TypeError);
  });
});

describe("provisionCardToken", () => {
  it("is possible here (SoftHSM and its tools installed)", async () => {
    expect(await isSoftHsmAvailable()).toBe(true);
  });

  it("loads both identities into a token labelled CPS-<rpps>, ids 01 and 02", async () => {
    expect(card.tokenLabel).toBe("CPS-10000000001");
    expect([card.authentication.id, card.authentication.label]).toEqual([CPS_AUTHENTICATION_KEY.id, CPS_AUTHENTICATION_KEY.label]);
    expect([card.signature.id, card.signature.label]).toEqual([CPS_SIGNATURE_KEY.id, CPS_SIGNATURE_KEY.label]);
    expect(card.authentication.certPem).toBe(identities.authentication.certPem);
    const signer = await Pkcs11Signer.open({ tokenLabel: card.tokenLabel, pin: card.pin, certificateId: card.signature.id, issuerCertificates: card.signature.chainPem });
    try {
      const data = Buffer.from("<SignedInfo/>");
      const signature = await signer.sign(data, "RSASSA-PKCS1-v1_5-SHA256");
      const chain = await signer.certificateChain();
      expect(chain.map((c) => c.subject)).toEqual([
        "C=FR\nO=Passerelle Sandbox\nOU=Médecin\nSN=DUPONT\nGN=Jean\nserialNumber=810000000001\nCN=810000000001/DUPONT/JEAN",
        "C=FR\nO=Passerelle Sandbox\nCN=Passerelle Sandbox FR CA",
      ]);
      expect(verifySignature(chain[0]!, "RSASSA-PKCS1-v1_5-SHA256", data, signature)).toBe(true);
    } finally {
      await signer.close();
    }
  });

  it("leaves neither key extractable from the card", () => {
    const module = Pkcs11Module.open({ path: card.modulePath });
    const binding = module.binding;
    const session = binding.C_OpenSession(module.findSlotByTokenLabel(card.tokenLabel)!, pkcs11js.CKF_SERIAL_SESSION);
    try {
      binding.C_Login(session, pkcs11js.CKU_USER, card.pin);
      binding.C_FindObjectsInit(session, [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY }]);
      const keys = binding.C_FindObjects(session, 10);
      binding.C_FindObjectsFinal(session);
      expect(keys).toHaveLength(2);
      for (const key of keys) {
        const [extractable, sensitive, id] = binding.C_GetAttributeValue(session, key, [
          { type: pkcs11js.CKA_EXTRACTABLE },
          { type: pkcs11js.CKA_SENSITIVE },
          { type: pkcs11js.CKA_ID },
        ]);
        expect([extractable?.value[0], sensitive?.value[0]], id?.value.toString("hex")).toEqual([0, 1]);
      }
      binding.C_Logout(session);
    } finally {
      binding.C_CloseSession(session);
      module.close();
    }
  });

  it("provisions again idempotently (same label, same certificates from the PKI cache)", async () => {
    const again = await provisionCardToken(pki, DUPONT, { dir: join(dir, "softhsm"), pin: "4321" });
    expect(again.authentication.certPem).toBe(card.authentication.certPem);
    const { stdout } = await run("softhsm2-util", ["--show-slots"], { env: { ...process.env, SOFTHSM2_CONF: again.softhsmConfigPath } });
    expect(stdout.split("\n").filter((line) => /Label:\s+CPS-10000000001\s*$/.test(line))).toHaveLength(1);
  });
});
