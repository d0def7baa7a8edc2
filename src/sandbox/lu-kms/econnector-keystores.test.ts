import { execFile } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadTruststore } from "../../trust/certificates/index.js";
import { SandboxPki } from "../../trust/pki/index.js";
import { loadPkcs12 } from "../../trust/signers/index.js";
import {
  GENERIC_KEYSTORE_ALIAS,
  SANDBOX_KMS_TRUSTSTORE_ALIASES,
  sandboxGenericKeystoreIdentity,
  writeSandboxEconnectorKeystores,
} from "./econnector-keystores.js";

const run = promisify(execFile);
const PASSWORD = "sandbox-keystore-pwd";

let dataDir: string;
let pki: SandboxPki;
let files: Awaited<ReturnType<typeof writeSandboxEconnectorKeystores>>;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "passerelle-lu-keystores-"));
  pki = await SandboxPki.open(dataDir);
  files = await writeSandboxEconnectorKeystores(pki, join(dataDir, "lu"), { password: PASSWORD });
});

afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

async function openssl(args: string[]): Promise<string> {
  const { stdout, stderr } = await run("openssl", args, { encoding: "utf8" });
  return stdout + stderr;
}

describe("sandbox eConnector key stores", () => {
  it("writes a generic keystore our PKCS#12 loader reads: the vendor's LU client identity and its chain", async () => {
    const entry = await loadPkcs12(await readFile(files.genericKeystoreFile), PASSWORD);
    const identity = await sandboxGenericKeystoreIdentity(pki);
    expect(entry.alias).toBe(GENERIC_KEYSTORE_ALIAS);
    expect(entry.certificate.raw.equals(new X509Certificate(identity.certPem).raw)).toBe(true);
    expect(entry.certificate.checkPrivateKey(entry.privateKey)).toBe(true);
    expect(entry.certificate.subject).toContain("OU=eConnector generic keystore");
    // The LU CA; the self-signed root is in the file but not part of a Signer chain.
    expect(entry.chain.map((c) => c.subject)).toEqual([new X509Certificate(pki.caCertPem("LU")).subject]);
    expect((await stat(files.genericKeystoreFile)).mode & 0o777).toBe(0o600);
  });

  it("writes a KMS truststore whose aliases loadTruststore selects, marked as Java trusted entries", async () => {
    const aliases = Object.values(SANDBOX_KMS_TRUSTSTORE_ALIASES);
    const entries = await loadTruststore(files.kmsTruststoreFile, { password: PASSWORD, aliases });
    const byAlias = new Map(entries.map((entry) => [entry.alias, entry.certificate.subject]));
    expect(byAlias.get("test_signing_ca")).toContain("CN=Passerelle Sandbox LU CA");
    expect(byAlias.get("test_timestamp_ca")).toContain("CN=Passerelle Sandbox LU CA");
    expect(byAlias.get("test_root_signing_ca")).toContain("CN=Passerelle Sandbox Root CA");
    await expect(loadTruststore(files.kmsTruststoreFile, { password: "wrong", aliases })).rejects.toMatchObject({
      code: "PASSERELLE_TRUST_STORE_INVALID",
    });
  });

  it("writes files the openssl command line verifies (MAC) and decrypts, with the friendly names and Java's trust attribute", async () => {
    const keystore = await openssl(["pkcs12", "-in", files.genericKeystoreFile, "-passin", `pass:${PASSWORD}`, "-info", "-nodes"]);
    expect(keystore).toContain("MAC: sha256");
    expect(keystore).toContain("PBES2, PBKDF2, AES-256-CBC");
    expect(keystore).toContain(`friendlyName: ${GENERIC_KEYSTORE_ALIAS}`);
    expect(keystore).toMatch(/-----BEGIN PRIVATE KEY-----/);
    expect(keystore.match(/-----BEGIN CERTIFICATE-----/g)).toHaveLength(3);

    const truststore = await openssl(["pkcs12", "-in", files.kmsTruststoreFile, "-passin", `pass:${PASSWORD}`, "-info", "-nokeys"]);
    expect(truststore).toContain("friendlyName: test_root_signing_ca");
    // OpenSSL 3.0 prints the attribute by OID (later versions name it "Trusted key usage (Oracle)").
    expect(truststore.match(/2\.16\.840\.1\.113894\.746875\.1\.1|Trusted key usage \(Oracle\)/g)).toHaveLength(3);

    await expect(openssl(["pkcs12", "-in", files.kmsTruststoreFile, "-passin", "pass:wrong", "-info", "-nokeys"])).rejects.toThrow(
      /mac verify failure|invalid password/i,
    );
  });
});
