import { execFile } from "node:child_process";
import { readFile, mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pkcs11js from "pkcs11js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Pkcs11Module, listTokens, pkcs11ReturnCode } from "./pkcs11-module.js";
import { createSoftHsmToken, importIdentity, isSoftHsmAvailable, type SoftHsmToken } from "./softhsm-fixture.js";

const run = promisify(execFile);
let dir: string;
let token: SoftHsmToken;
const previousConf = process.env.SOFTHSM2_CONF;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "passerelle-softhsm-fixture-"));
  await run("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", join(dir, "k.pem"), "-subj", "/CN=Fixture", "-days", "2", "-out", join(dir, "c.pem")]);
  token = await createSoftHsmToken({ label: "FIXTURE-TOKEN", soPin: "87654321", userPin: "2468", dir: join(dir, "hsm") });
  await importIdentity(token, {
    keyPem: await readFile(join(dir, "k.pem"), "utf8"),
    certPem: await readFile(join(dir, "c.pem"), "utf8"),
    label: "Authentification CPS",
    id: "01",
  });
  // SoftHSM reads its configuration at C_Initialize: set before any module opens in this process.
  process.env.SOFTHSM2_CONF = token.configPath;
}, 60_000);

afterAll(async () => {
  if (previousConf === undefined) delete process.env.SOFTHSM2_CONF;
  else process.env.SOFTHSM2_CONF = previousConf;
  await rm(dir, { recursive: true, force: true });
});

describe("SoftHSM fixture", () => {
  it("reports SoftHSM as available here, and not for a missing module", async () => {
    expect(await isSoftHsmAvailable()).toBe(true);
    expect(await isSoftHsmAvailable(join(dir, "no-such-module.so"))).toBe(false);
  });

  it("writes a private configuration and token directory", async () => {
    expect((await stat(token.configPath)).mode & 0o777).toBe(0o600);
    expect((await stat(token.tokenDirectory)).mode & 0o777).toBe(0o700);
    expect(await readFile(token.configPath, "utf8")).toContain(`directories.tokendir = ${token.tokenDirectory}`);
    expect(token.env).toEqual({ SOFTHSM2_CONF: token.configPath });
  });

  it("lists the token (label, serial, present, PIN status)", () => {
    const tokens = listTokens().filter((slot) => slot.present && slot.label === "FIXTURE-TOKEN");
    expect(tokens).toHaveLength(1);
    expect(tokens[0]).toMatchObject({ present: true, initialized: true, pinStatus: "ok", model: "SoftHSM v2" });
    expect(tokens[0]?.serialNumber).toMatch(/^[0-9a-f]{16}$/);
  });

  it("imports the key as sensitive and never extractable: CKA_VALUE and the private exponent cannot be read", () => {
    const module = Pkcs11Module.open();
    const binding = module.binding;
    const slot = module.findSlotByTokenLabel("FIXTURE-TOKEN");
    expect(slot).toBeDefined();
    const session = binding.C_OpenSession(slot!, pkcs11js.CKF_SERIAL_SESSION);
    try {
      binding.C_Login(session, pkcs11js.CKU_USER, "2468");
      binding.C_FindObjectsInit(session, [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
        { type: pkcs11js.CKA_ID, value: Buffer.from("01", "hex") },
      ]);
      const keys = binding.C_FindObjects(session, 10);
      binding.C_FindObjectsFinal(session);
      expect(keys).toHaveLength(1);
      const flags = binding.C_GetAttributeValue(session, keys[0]!, [
        { type: pkcs11js.CKA_EXTRACTABLE },
        { type: pkcs11js.CKA_SENSITIVE },
        { type: pkcs11js.CKA_LABEL },
      ]);
      expect(flags.map((attribute) => attribute.value.toString("hex"))).toEqual(["00", "01", Buffer.from("Authentification CPS").toString("hex")]);
      const readFailure = (type: number): number | undefined => {
        try {
          binding.C_GetAttributeValue(session, keys[0]!, [{ type }]);
          return undefined;
        } catch (error) {
          return pkcs11ReturnCode(error);
        }
      };
      // An RSA key has no CKA_VALUE at all; its secret parts exist but are sensitive.
      expect([pkcs11js.CKR_ATTRIBUTE_SENSITIVE, pkcs11js.CKR_ATTRIBUTE_TYPE_INVALID]).toContain(readFailure(pkcs11js.CKA_VALUE));
      for (const secret of [pkcs11js.CKA_PRIVATE_EXPONENT, pkcs11js.CKA_PRIME_1, pkcs11js.CKA_PRIME_2]) {
        expect(readFailure(secret), `attribute 0x${secret.toString(16)}`).toBe(pkcs11js.CKR_ATTRIBUTE_SENSITIVE);
      }
      binding.C_Logout(session);
    } finally {
      binding.C_CloseSession(session);
      module.close();
    }
  });

  it("stores the certificate as a public object that pkcs11-tool lists with the same id", async () => {
    const { stdout } = await run(
      "pkcs11-tool",
      ["--module", token.modulePath, "--token-label", "FIXTURE-TOKEN", "--list-objects", "--type", "cert"],
      { env: { ...process.env, ...token.env } },
    );
    expect(stdout).toContain("Certificate Object; type = X.509 cert");
    expect(stdout).toContain("label:      Authentification CPS");
    expect(stdout).toMatch(/ID:\s+01/);
  });

  it("replaces a token of the same label when provisioning again, and refuses bad arguments", async () => {
    const again = await createSoftHsmToken({ label: "FIXTURE-TOKEN-2", soPin: "87654321", userPin: "2468", dir: join(dir, "hsm2") });
    const first = (await run("softhsm2-util", ["--show-slots"], { env: { ...process.env, ...again.env } })).stdout;
    await createSoftHsmToken({ label: "FIXTURE-TOKEN-2", soPin: "87654321", userPin: "2468", dir: join(dir, "hsm2") });
    const second = (await run("softhsm2-util", ["--show-slots"], { env: { ...process.env, ...again.env } })).stdout;
    const count = (text: string): number => text.split("\n").filter((line) => /Label:\s+FIXTURE-TOKEN-2\s*$/.test(line)).length;
    expect(count(first)).toBe(1);
    expect(count(second)).toBe(1);
    await expect(createSoftHsmToken({ label: "x".repeat(33), soPin: "87654321", userPin: "2468", dir })).rejects.toThrow(TypeError);
    await expect(createSoftHsmToken({ label: "ok", soPin: "1", userPin: "2468", dir })).rejects.toThrow(TypeError);
    await expect(importIdentity(token, { keyPem: "", certPem: "", label: "x", id: "zz" })).rejects.toThrow(TypeError);
  });
});
