import { execFile } from "node:child_process";
import { X509Certificate, randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pkcs11js from "pkcs11js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PasserelleError } from "../../errors/index.js";
import { describeSignerContract, verifySignature } from "../signers/signer.contract.js";
import { Pkcs11Module, type Pkcs11Binding } from "./pkcs11-module.js";
import { Pkcs11Signer } from "./pkcs11-signer.js";
import { createSoftHsmToken, importIdentity, type SoftHsmToken } from "./softhsm-fixture.js";

const run = promisify(execFile);
const openssl = async (...args: string[]): Promise<string> => (await run("openssl", args)).stdout;

const TOKEN = "CPS-TEST-SIGNER";
const PIN = "1234";
let dir: string;
let token: SoftHsmToken;
const previousConf = process.env.SOFTHSM2_CONF;
const file = (name: string): string => join(dir, name);

/**
 * One SoftHSM token holding what a CPS card holds: an RSA authentication
 * identity (id 01) and an RSA signature identity (id 02), both issued by a
 * CA made with openssl; plus an EC P-256 identity (id 03) for the contract.
 */
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "passerelle-pkcs11-signer-"));
  await writeFile(file("ext.cnf"), "[ca]\nbasicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign\n[leaf]\nbasicConstraints=critical,CA:false\nkeyUsage=critical,digitalSignature\n");
  await openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", file("ca.key"), "-subj", "/CN=Card CA", "-days", "2", "-out", file("ca.crt"), "-extensions", "ca", "-config", file("ext.cnf"));
  const issue = async (name: string, subject: string, keyArgs: string[]): Promise<void> => {
    await openssl("req", "-new", ...keyArgs, "-nodes", "-keyout", file(`${name}.key`), "-subj", subject, "-out", file(`${name}.csr`));
    await openssl("x509", "-req", "-in", file(`${name}.csr`), "-CA", file("ca.crt"), "-CAkey", file("ca.key"), "-set_serial", String(Math.floor(Math.random() * 1e9)), "-days", "2", "-extfile", file("ext.cnf"), "-extensions", "leaf", "-out", file(`${name}.crt`));
  };
  await Promise.all([
    issue("auth", "/C=FR/CN=10000000001 AUTH", ["-newkey", "rsa:2048"]),
    issue("sign", "/C=FR/CN=10000000001 SIGN", ["-newkey", "rsa:2048"]),
    issue("ec", "/C=FR/CN=EC", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]),
    issue("intruder", "/C=FR/CN=Someone else", ["-newkey", "rsa:2048"]),
  ]);
  token = await createSoftHsmToken({ label: TOKEN, soPin: "12345678", userPin: PIN, dir: file("hsm") });
  for (const [name, label, id] of [["auth", "Authentification CPS", "01"], ["sign", "Signature CPS", "02"], ["ec", "EC", "03"]] as const) {
    await importIdentity(token, { keyPem: await readFile(file(`${name}.key`), "utf8"), certPem: await readFile(file(`${name}.crt`), "utf8"), label, id });
  }
  process.env.SOFTHSM2_CONF = token.configPath;
}, 60_000);

afterAll(async () => {
  if (previousConf === undefined) delete process.env.SOFTHSM2_CONF;
  else process.env.SOFTHSM2_CONF = previousConf;
  await rm(dir, { recursive: true, force: true });
});

type Override = (real: pkcs11js.PKCS11, ...args: never[]) => unknown;

/** A real pkcs11js binding that counts calls, and optionally replaces some (to play a locking card). */
function countingBinding(overrides: Partial<Record<keyof Pkcs11Binding, Override>> = {}): {
  binding: Pkcs11Binding;
  calls: (name: keyof Pkcs11Binding) => number;
} {
  const real = new pkcs11js.PKCS11();
  const counts = new Map<string, number>();
  const binding = new Proxy(real, {
    get(target, property: string) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== "function") return value;
      return (...args: never[]): unknown => {
        counts.set(property, (counts.get(property) ?? 0) + 1);
        const override = overrides[property as keyof Pkcs11Binding];
        return override === undefined ? (value as (...a: never[]) => unknown).apply(target, args) : override(target, ...args);
      };
    },
  });
  return { binding, calls: (name) => counts.get(name) ?? 0 };
}

async function caught(promise: Promise<unknown>): Promise<PasserelleError> {
  const error: unknown = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(PasserelleError);
  return error as PasserelleError;
}

describeSignerContract("Pkcs11Signer (SoftHSM, RSA signature key)", async () => {
  const signer = await Pkcs11Signer.open({ tokenLabel: TOKEN, pin: PIN, certificateId: "02", issuerCertificates: [await readFile(file("ca.crt"), "utf8")] });
  return { signer, cleanup: () => signer.close() };
});

describeSignerContract("Pkcs11Signer (SoftHSM, EC P-256 key)", async () => {
  const signer = await Pkcs11Signer.open({ tokenLabel: TOKEN, pin: PIN, certificateLabel: "EC" });
  return { signer, cleanup: () => signer.close() };
});

describe("Pkcs11Signer", () => {
  it("finds the key by its certificate, and `openssl dgst -verify` accepts its signatures", async () => {
    const signer = await Pkcs11Signer.open({ tokenLabel: TOKEN, pin: PIN, certificateLabel: "Signature CPS" });
    try {
      expect(signer.id).toBe(`pkcs11:${TOKEN}/Signature CPS`);
      expect(signer.algorithms).toEqual(["RSASSA-PKCS1-v1_5-SHA256", "RSASSA-PKCS1-v1_5-SHA384", "RSASSA-PKCS1-v1_5-SHA512", "RSASSA-PKCS1-v1_5-SHA1", "RSA-PSS-SHA256"]);
      const [leaf] = await signer.certificateChain();
      expect(leaf?.subject).toBe("C=FR\nCN=10000000001 SIGN");
      const data = randomBytes(3000);
      await writeFile(file("data.bin"), data);
      await writeFile(file("sign.pub"), leaf!.publicKey.export({ format: "pem", type: "spki" }));
      for (const [algorithm, args] of [
        ["RSASSA-PKCS1-v1_5-SHA256", ["-sha256"]],
        ["RSASSA-PKCS1-v1_5-SHA512", ["-sha512"]],
        ["RSA-PSS-SHA256", ["-sha256", "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:32"]],
      ] as const) {
        await writeFile(file("data.sig"), await signer.sign(data, algorithm));
        expect(await openssl("dgst", ...args, "-verify", file("sign.pub"), "-signature", file("data.sig"), file("data.bin")), algorithm).toBe("Verified OK\n");
      }
      // The certificate chain is completed from the given issuers only; the card holds just the leaf.
      expect((await signer.certificateChain()).length).toBe(1);
    } finally {
      await signer.close();
    }
  });

  it("opens without logging in: a wrong PIN costs nothing until the first signature", async () => {
    const { binding, calls } = countingBinding();
    const signer = await Pkcs11Signer.open({ tokenLabel: TOKEN, pin: "9999", certificateId: "01", binding });
    try {
      expect(calls("C_Login")).toBe(0);
      expect(signer.loginAttempts).toBe(0);
    } finally {
      await signer.close();
    }
  });

  it("on a wrong PIN: one login attempt, a typed 403, then no further attempt until a new PIN is given", async () => {
    const { binding, calls } = countingBinding();
    const signer = await Pkcs11Signer.open({ tokenLabel: TOKEN, pin: "9999", certificateId: "01", binding });
    try {
      const first = await caught(signer.sign(Buffer.from("a"), "RSASSA-PKCS1-v1_5-SHA256"));
      expect(first).toMatchObject({ code: "PASSERELLE_CARD_PIN_INCORRECT", status: 403, extensions: { loginAttempted: true } });
      expect(calls("C_Login")).toBe(1);

      // Neither a second signature, nor parallel ones, nor an explicit login() without a PIN try the card again.
      const again = await Promise.all([1, 2, 3].map(() => caught(signer.sign(Buffer.from("b"), "RSASSA-PKCS1-v1_5-SHA256"))));
      for (const error of again) expect(error).toMatchObject({ code: "PASSERELLE_CARD_PIN_INCORRECT", extensions: { loginAttempted: false } });
      expect((await caught(signer.login())).code).toBe("PASSERELLE_CARD_PIN_INCORRECT");
      expect(calls("C_Login")).toBe(1);
      expect(signer.loginAttempts).toBe(1);

      // The practitioner types the PIN again: one more attempt, which succeeds.
      signer.setPin(PIN);
      const data = Buffer.from("c");
      const signature = await signer.sign(data, "RSASSA-PKCS1-v1_5-SHA256");
      expect(verifySignature((await signer.certificateChain())[0]!, "RSASSA-PKCS1-v1_5-SHA256", data, signature)).toBe(true);
      expect(calls("C_Login")).toBe(2);
      await signer.sign(data, "RSASSA-PKCS1-v1_5-SHA256");
      expect(calls("C_Login")).toBe(2);
    } finally {
      await signer.close();
    }
  });

  it("maps CKR_PIN_LOCKED to a distinct error and never tries a locked card again", async () => {
    const { binding, calls } = countingBinding({
      C_Login: () => {
        throw new pkcs11js.Pkcs11Error("CKR_PIN_LOCKED:164", pkcs11js.CKR_PIN_LOCKED, "C_Login");
      },
    });
    const signer = await Pkcs11Signer.open({ tokenLabel: TOKEN, pin: PIN, certificateId: "01", binding });
    try {
      expect(await caught(signer.sign(Buffer.from("a"), "RSASSA-PKCS1-v1_5-SHA256"))).toMatchObject({ code: "PASSERELLE_CARD_PIN_LOCKED", status: 403 });
      signer.setPin("5678");
      expect((await caught(signer.sign(Buffer.from("a"), "RSASSA-PKCS1-v1_5-SHA256"))).code).toBe("PASSERELLE_CARD_PIN_LOCKED");
      expect(calls("C_Login")).toBe(1);
    } finally {
      await signer.close();
    }
  });

  it("reads the token's PIN flags: no login on a locked PIN, and `final_try` reported after a wrong PIN", async () => {
    const withFlags = (flags: number) =>
      countingBinding({
        C_GetTokenInfo: (real, ...args) => {
          const info = real.C_GetTokenInfo(...(args as unknown as [Buffer]));
          return { ...info, flags: info.flags | flags };
        },
      });
    const locked = withFlags(pkcs11js.CKF_USER_PIN_LOCKED);
    const lockedSigner = await Pkcs11Signer.open({ tokenLabel: TOKEN, pin: PIN, certificateId: "01", binding: locked.binding });
    expect((await caught(lockedSigner.sign(Buffer.from("a"), "RSASSA-PKCS1-v1_5-SHA256"))).code).toBe("PASSERELLE_CARD_PIN_LOCKED");
    expect(locked.calls("C_Login")).toBe(0);
    await lockedSigner.close();

    const lastTry = withFlags(pkcs11js.CKF_USER_PIN_FINAL_TRY);
    const lastTrySigner = await Pkcs11Signer.open({ tokenLabel: TOKEN, pin: "0000", certificateId: "01", binding: lastTry.binding });
    const error = await caught(lastTrySigner.sign(Buffer.from("a"), "RSASSA-PKCS1-v1_5-SHA256"));
    expect(error).toMatchObject({ code: "PASSERELLE_CARD_PIN_INCORRECT", extensions: { loginAttempted: true, pinStatus: "final_try" } });
    expect(error.detail).toContain("one try left");
    await lastTrySigner.close();
  });

  it("answers 503 PASSERELLE_CARD_UNAVAILABLE for an absent token and a missing or invalid module", async () => {
    const absent = await caught(Pkcs11Signer.open({ tokenLabel: "NO-SUCH-CARD", pin: PIN }));
    expect(absent).toMatchObject({ code: "PASSERELLE_CARD_UNAVAILABLE", status: 503, extensions: { reason: "token_absent" } });
    const missing = await caught(Pkcs11Signer.open({ tokenLabel: TOKEN, pin: PIN, modulePath: file("no-such-pkcs11.so") }));
    expect(missing).toMatchObject({ code: "PASSERELLE_CARD_UNAVAILABLE", status: 503, extensions: { reason: "module_missing" } });
    const notALibrary = await caught(Pkcs11Signer.open({ tokenLabel: TOKEN, pin: PIN, modulePath: file("ca.crt") }));
    expect(notALibrary).toMatchObject({ code: "PASSERELLE_CARD_UNAVAILABLE", extensions: { reason: "module_missing" } });
  });

  it("tells a missing certificate (503) from an ambiguous selection (TypeError)", async () => {
    expect(await caught(Pkcs11Signer.open({ tokenLabel: TOKEN, pin: PIN, certificateId: "7f" }))).toMatchObject({
      extensions: { reason: "certificate_not_found" },
    });
    await expect(Pkcs11Signer.open({ tokenLabel: TOKEN, pin: PIN })).rejects.toThrow(TypeError);
    await expect(Pkcs11Signer.open({ tokenLabel: TOKEN, pin: "" })).rejects.toThrow(TypeError);
    await expect(Pkcs11Signer.open({ tokenLabel: TOKEN, pin: PIN, certificateId: "xyz" })).rejects.toThrow(TypeError);
  });

  it("logs in again after the card was reset under it (sessions closed, logged out), and retries the signature once", async () => {
    const { binding, calls } = countingBinding();
    const signer = await Pkcs11Signer.open({ tokenLabel: TOKEN, pin: PIN, certificateId: "02", binding });
    const other = Pkcs11Module.open();
    try {
      await signer.sign(Buffer.from("before"), "RSASSA-PKCS1-v1_5-SHA256");
      expect(calls("C_Login")).toBe(1);
      // What a removal and reinsertion does to an application: every session gone, login state lost.
      (other.binding as pkcs11js.PKCS11).C_CloseAllSessions(other.findSlotByTokenLabel(TOKEN)!);
      const data = Buffer.from("after");
      const signature = await signer.sign(data, "RSASSA-PKCS1-v1_5-SHA256");
      expect(verifySignature((await signer.certificateChain())[0]!, "RSASSA-PKCS1-v1_5-SHA256", data, signature)).toBe(true);
      expect(calls("C_Login")).toBe(2);
      expect(calls("C_OpenSession")).toBe(2);
    } finally {
      await signer.close();
      other.close();
    }
  });

  it("recovers when another user of the library finalizes it (as OpenSSL's engine does after a failed login)", async () => {
    const { binding, calls } = countingBinding();
    const signer = await Pkcs11Signer.open({ tokenLabel: TOKEN, pin: PIN, certificateId: "01", binding });
    const other = Pkcs11Module.open();
    try {
      await signer.sign(Buffer.from("before"), "RSASSA-PKCS1-v1_5-SHA256");
      other.binding.C_Finalize();
      const data = Buffer.from("after");
      const signature = await signer.sign(data, "RSASSA-PKCS1-v1_5-SHA256");
      expect(verifySignature((await signer.certificateChain())[0]!, "RSASSA-PKCS1-v1_5-SHA256", data, signature)).toBe(true);
      expect([calls("C_Initialize"), calls("C_Login")]).toEqual([2, 2]);
    } finally {
      await signer.close();
      other.close();
    }
  });

  it("refuses a different card put in under the same label, without trying the PIN on it", async () => {
    const { binding, calls } = countingBinding();
    const signer = await Pkcs11Signer.open({ tokenLabel: TOKEN, pin: PIN, certificateId: "01", binding });
    const intruderCertificate = await readFile(file("intruder.crt"));
    let swapped = false;
    const realGetAttributeValue = binding.C_GetAttributeValue.bind(binding);
    // The reinserted "card" answers with another certificate under the same id.
    (binding as { C_GetAttributeValue: Pkcs11Binding["C_GetAttributeValue"] }).C_GetAttributeValue = (session, object, template) => {
      const result = realGetAttributeValue(session, object, template);
      if (!swapped) return result;
      return result.map((attribute) =>
        attribute.type === pkcs11js.CKA_VALUE ? { ...attribute, value: new X509Certificate(intruderCertificate).raw } : attribute,
      );
    };
    const other = Pkcs11Module.open();
    try {
      await signer.sign(Buffer.from("x"), "RSASSA-PKCS1-v1_5-SHA256");
      swapped = true;
      (other.binding as pkcs11js.PKCS11).C_CloseAllSessions(other.findSlotByTokenLabel(TOKEN)!);
      expect(await caught(signer.sign(Buffer.from("y"), "RSASSA-PKCS1-v1_5-SHA256"))).toMatchObject({
        code: "PASSERELLE_CARD_UNAVAILABLE",
        extensions: { reason: "card_changed" },
      });
      expect(calls("C_Login")).toBe(1);
    } finally {
      await signer.close();
      other.close();
    }
  });

  it("shares one library between the card's two signers; closing one leaves the other working", async () => {
    const module = Pkcs11Module.open();
    const authentication = await Pkcs11Signer.open({ module, tokenLabel: TOKEN, pin: PIN, certificateId: "01" });
    const signature = await Pkcs11Signer.open({ module, tokenLabel: TOKEN, pin: PIN, certificateId: "02" });
    try {
      await Promise.all([authentication.sign(Buffer.from("1"), "RSASSA-PKCS1-v1_5-SHA256"), signature.sign(Buffer.from("2"), "RSA-PSS-SHA256")]);
      await authentication.close(); // logs the application out of the token
      const data = Buffer.from("3");
      const value = await signature.sign(data, "RSASSA-PKCS1-v1_5-SHA256");
      expect(verifySignature((await signature.certificateChain())[0]!, "RSASSA-PKCS1-v1_5-SHA256", data, value)).toBe(true);
    } finally {
      await signature.close();
      module.close();
    }
  });

  it("close() logs out, closes the session and finalizes the library it loaded; later calls fail as closed", async () => {
    const { binding, calls } = countingBinding();
    const signer = await Pkcs11Signer.open({ tokenLabel: TOKEN, pin: PIN, certificateId: "01", binding });
    await signer.sign(Buffer.from("x"), "RSASSA-PKCS1-v1_5-SHA256");
    await signer.close();
    await signer.close();
    expect([calls("C_Logout"), calls("C_CloseSession"), calls("C_Finalize")]).toEqual([1, 1, 1]);
    expect(await caught(signer.sign(Buffer.from("x"), "RSASSA-PKCS1-v1_5-SHA256"))).toMatchObject({ extensions: { reason: "closed" } });
  });
});
