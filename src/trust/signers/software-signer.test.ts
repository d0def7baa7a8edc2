import { execFile } from "node:child_process";
import { X509Certificate, generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import * as asn1js from "asn1js";
import { AuthenticatedSafe, ContentInfo, PFX } from "pkijs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PasserelleError } from "../../errors/index.js";
import type { SignatureAlgorithm } from "../signer.js";
import { loadPemIdentity } from "./load-pem.js";
import { loadPkcs12 } from "./load-pkcs12.js";
import { describeSignerContract, verifySignature } from "./signer.contract.js";
import { SoftwareSigner } from "./software-signer.js";

const run = promisify(execFile);
const openssl = async (...args: string[]): Promise<string> => (await run("openssl", args)).stdout;

let dir: string;
const file = (name: string): string => join(dir, name);
const PASSWORD = "pässwörd 🔑";

/**
 * An independent test PKI made with the openssl CLI: root → intermediate →
 * RSA leaf and EC P-256 leaf, plus an unrelated certificate.
 */
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "passerelle-software-signer-"));
  const x509ext = file("ext.cnf");
  await writeFile(
    x509ext,
    [
      "[ca]",
      "basicConstraints=critical,CA:true",
      "keyUsage=critical,keyCertSign,cRLSign",
      "subjectKeyIdentifier=hash",
      "authorityKeyIdentifier=keyid",
      "[leaf]",
      "basicConstraints=critical,CA:false",
      "keyUsage=critical,digitalSignature,nonRepudiation",
      "subjectKeyIdentifier=hash",
      "authorityKeyIdentifier=keyid",
      "",
    ].join("\n"),
  );
  const rsaKey = async (name: string): Promise<void> => {
    await openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", file(`${name}.key`));
  };
  await Promise.all([rsaKey("root"), rsaKey("inter"), rsaKey("leaf"), rsaKey("other")]);
  await openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", file("ec.key"));
  await openssl("req", "-new", "-x509", "-key", file("root.key"), "-subj", "/O=Test/CN=Test Root", "-days", "30", "-out", file("root.crt"), "-extensions", "ca", "-config", x509ext);
  const issue = async (name: string, subject: string, issuer: string, ext: string): Promise<void> => {
    await openssl("req", "-new", "-key", file(`${name}.key`), "-subj", subject, "-out", file(`${name}.csr`));
    await openssl(
      "x509", "-req", "-in", file(`${name}.csr`), "-CA", file(`${issuer}.crt`), "-CAkey", file(`${issuer}.key`),
      "-set_serial", String(Date.now() % 1e9), "-days", "30", "-extfile", x509ext, "-extensions", ext, "-out", file(`${name}.crt`),
    );
  };
  await issue("inter", "/O=Test/CN=Test Intermediate", "root", "ca");
  await issue("leaf", "/O=Test/CN=Dr Leaf", "inter", "leaf");
  await issue("ec", "/O=Test/CN=Dr Curve", "inter", "leaf");
  await openssl("req", "-new", "-x509", "-key", file("other.key"), "-subj", "/CN=Other", "-days", "30", "-out", file("other.crt"));
  await writeFile(file("chain.pem"), (await readFile(file("inter.crt"), "utf8")) + (await readFile(file("root.crt"), "utf8")));

  const exportP12 = async (out: string, key: string, cert: string, password: string, ...extra: string[]): Promise<void> => {
    await openssl(
      "pkcs12", "-export", "-inkey", file(`${key}.key`), "-in", file(`${cert}.crt`), "-certfile", file("chain.pem"),
      "-name", "practitioner", "-passout", `pass:${password}`, "-out", file(out), ...extra,
    );
  };
  await Promise.all([
    exportP12("modern.p12", "leaf", "leaf", PASSWORD),
    exportP12("legacy.p12", "leaf", "leaf", PASSWORD, "-legacy"),
    exportP12("3des.p12", "leaf", "leaf", PASSWORD, "-keypbe", "PBE-SHA1-3DES", "-certpbe", "PBE-SHA1-3DES", "-macalg", "sha1"),
    exportP12("nomac.p12", "leaf", "leaf", PASSWORD, "-nomac"),
    exportP12("plain.p12", "leaf", "leaf", PASSWORD, "-keypbe", "NONE", "-certpbe", "NONE"),
    exportP12("empty-password.p12", "leaf", "leaf", ""),
    exportP12("ec.p12", "ec", "ec", PASSWORD),
    exportP12("mismatch.p12", "leaf", "other", PASSWORD, "-nokeys"),
    exportP12("plain-rsa.p12", "leaf", "leaf", PASSWORD, "-keypbe", "NONE", "-certpbe", "NONE", "-nomac", "-name", "auth"),
    exportP12("plain-ec.p12", "ec", "ec", PASSWORD, "-keypbe", "NONE", "-certpbe", "NONE", "-nomac", "-name", "sign"),
  ]);
  await writeFile(file("two-keys.p12"), mergePkcs12([await readFile(file("plain-rsa.p12")), await readFile(file("plain-ec.p12"))]));
  // An encrypted PKCS#8 key (PBES2, AES-256) as `openssl pkcs8 -topk8` writes it.
  await openssl("pkcs8", "-topk8", "-in", file("leaf.key"), "-v2", "aes-256-cbc", "-passout", `pass:${PASSWORD}`, "-out", file("leaf.enc.key"));
}, 60_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/**
 * A PKCS#12 file with two keys, as Java keystores and Windows exports have
 * (`openssl pkcs12 -export` writes one): the AuthenticatedSafe contents of
 * unencrypted, MAC-less files, concatenated.
 */
function mergePkcs12(files: Buffer[]): Buffer {
  const contents = files.flatMap((data) => {
    const pfx = PFX.fromBER(Uint8Array.from(data));
    const octets = (pfx.authSafe.content as asn1js.OctetString).getValue();
    return AuthenticatedSafe.fromBER(octets).safeContents;
  });
  const authenticatedSafe = new AuthenticatedSafe({ safeContents: contents });
  const pfx = new PFX({
    version: 3,
    authSafe: new ContentInfo({
      contentType: ContentInfo.DATA,
      content: new asn1js.OctetString({ valueHex: authenticatedSafe.toSchema().toBER(false) }),
    }),
  });
  return Buffer.from(pfx.toSchema().toBER(false));
}

async function expectKeystoreError(promise: Promise<unknown>, code: string, reason?: string): Promise<PasserelleError> {
  const error: unknown = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(PasserelleError);
  const typed = error as PasserelleError;
  expect(typed.code).toBe(code);
  if (reason !== undefined) expect(typed.extensions?.reason).toBe(reason);
  return typed;
}

async function opensslVerifies(algorithm: SignatureAlgorithm, data: Buffer, signature: Buffer, certFile: string): Promise<boolean> {
  const id = randomBytes(4).toString("hex");
  await writeFile(file(`${id}.data`), data);
  await writeFile(file(`${id}.sig`), signature);
  const publicKey = await openssl("x509", "-in", certFile, "-noout", "-pubkey");
  await writeFile(file(`${id}.pub`), publicKey);
  const digest = { "RSASSA-PKCS1-v1_5-SHA1": "-sha1", "RSASSA-PKCS1-v1_5-SHA384": "-sha384", "RSASSA-PKCS1-v1_5-SHA512": "-sha512" }[
    algorithm as string
  ] ?? "-sha256";
  const pss = algorithm === "RSA-PSS-SHA256" ? ["-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:32"] : [];
  try {
    const out = await openssl("dgst", digest, ...pss, "-verify", file(`${id}.pub`), "-signature", file(`${id}.sig`), file(`${id}.data`));
    return out.trim() === "Verified OK";
  } catch {
    return false;
  }
}

describe("loadPkcs12", () => {
  it.each([
    ["modern.p12", "PBES2/PBKDF2/AES-256-CBC, HMAC-SHA256 (openssl pkcs12 -export)"],
    ["legacy.p12", "3DES key, RC2-40 certificates, HMAC-SHA1 (-legacy)"],
    ["3des.p12", "pbeWithSHAAnd3-KeyTripleDES-CBC everywhere"],
    ["nomac.p12", "no MAC (-nomac)"],
    ["plain.p12", "unencrypted bags"],
  ])("loads %s (%s): key, certificate, chain without the root, alias", async (name) => {
    const entry = await loadPkcs12(await readFile(file(name)), PASSWORD);
    expect(entry.certificate.subject).toBe("O=Test\nCN=Dr Leaf");
    expect(entry.chain.map((c) => c.subject)).toEqual(["O=Test\nCN=Test Intermediate"]);
    expect(entry.alias).toBe("practitioner");
    expect(entry.privateKey.asymmetricKeyType).toBe("rsa");
  });

  it("loads a file written with an empty password", async () => {
    const entry = await loadPkcs12(await readFile(file("empty-password.p12")), "");
    expect(entry.certificate.subject).toContain("CN=Dr Leaf");
  });

  it("selects the entry by alias and refuses an unknown alias", async () => {
    const data = await readFile(file("modern.p12"));
    expect((await loadPkcs12(data, PASSWORD, { alias: "practitioner" })).alias).toBe("practitioner");
    const error = await expectKeystoreError(loadPkcs12(data, PASSWORD, { alias: "nobody" }), "PASSERELLE_KEYSTORE_INVALID", "alias_not_found");
    expect(error.detail).toContain('"practitioner"');
  });

  it.each(["modern.p12", "legacy.p12", "3des.p12", "nomac.p12"])("rejects a wrong password for %s with a clear typed error", async (name) => {
    const error = await expectKeystoreError(loadPkcs12(await readFile(file(name)), "wrong password"), "PASSERELLE_KEYSTORE_PASSWORD_INCORRECT");
    expect(error.detail).toMatch(/^Wrong password for PKCS#12/);
    expect(error.status).toBe(422);
  });

  it("selects one of several keys by alias (friendlyName), and refuses to guess without one", async () => {
    const data = await readFile(file("two-keys.p12"));
    const error = await expectKeystoreError(loadPkcs12(data, PASSWORD), "PASSERELLE_KEYSTORE_INVALID", "ambiguous");
    expect(error.detail).toContain('"auth", "sign"');
    const sign = await loadPkcs12(data, PASSWORD, { alias: "sign" });
    expect([sign.alias, sign.privateKey.asymmetricKeyType, sign.certificate.subject]).toEqual(["sign", "ec", "O=Test\nCN=Dr Curve"]);
    const auth = await loadPkcs12(data, PASSWORD, { alias: "auth" });
    expect([auth.alias, auth.privateKey.asymmetricKeyType, auth.certificate.subject]).toEqual(["auth", "rsa", "O=Test\nCN=Dr Leaf"]);
    // Each key gets its own certificate (by localKeyId), and the shared issuers as its chain.
    expect(auth.chain.map((c) => c.subject)).toEqual(["O=Test\nCN=Test Intermediate"]);
  });

  it("rejects a truncated file, garbage, PEM text and an empty buffer as not PKCS#12", async () => {
    const data = await readFile(file("modern.p12"));
    for (const bad of [
      data.subarray(0, Math.floor(data.length / 2)),
      data.subarray(0, data.length - 1),
      randomBytes(2000),
      Buffer.from(await readFile(file("leaf.crt"))),
      Buffer.alloc(0),
    ]) {
      const error = await expectKeystoreError(loadPkcs12(bad, PASSWORD), "PASSERELLE_KEYSTORE_INVALID", "not_pkcs12");
      expect(error.detail).toMatch(/^Not a PKCS#12 file/);
    }
  });

  it("reports an altered file (MAC mismatch) as a password/integrity failure, not a crash", async () => {
    const data = Buffer.from(await readFile(file("modern.p12")));
    data[Math.floor(data.length / 2)] ^= 0xff;
    const error: unknown = await loadPkcs12(data, PASSWORD).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PasserelleError);
    expect(["PASSERELLE_KEYSTORE_PASSWORD_INCORRECT", "PASSERELLE_KEYSTORE_INVALID"]).toContain((error as PasserelleError).code);
  });

  it("refuses a file without a private key", async () => {
    await expectKeystoreError(loadPkcs12(await readFile(file("mismatch.p12")), PASSWORD), "PASSERELLE_KEYSTORE_INVALID", "no_private_key");
  });

  it("throws TypeError for caller mistakes", async () => {
    await expect(loadPkcs12("not bytes" as unknown as Uint8Array, PASSWORD)).rejects.toThrow(TypeError);
    await expect(loadPkcs12(Buffer.alloc(1), undefined as unknown as string)).rejects.toThrow(TypeError);
  });
});

describe("loadPemIdentity", () => {
  it("loads a key with its certificate and orders the chain, whatever the PEM order", async () => {
    const certificatePem = (await readFile(file("chain.pem"), "utf8")) + (await readFile(file("leaf.crt"), "utf8"));
    const entry = loadPemIdentity({ keyPem: await readFile(file("leaf.key")), certificatePem });
    expect(entry.certificate.subject).toContain("CN=Dr Leaf");
    expect(entry.chain.map((c) => c.subject)).toEqual(["O=Test\nCN=Test Intermediate"]);
  });

  it("decrypts an encrypted PKCS#8 key with its password, and tells wrong or missing passwords", async () => {
    const keyPem = await readFile(file("leaf.enc.key"), "utf8");
    const certificatePem = await readFile(file("leaf.crt"), "utf8");
    expect(loadPemIdentity({ keyPem, certificatePem, password: PASSWORD }).privateKey.type).toBe("private");
    for (const password of ["wrong", undefined]) {
      let caught: unknown;
      try {
        loadPemIdentity({ keyPem, certificatePem, ...(password === undefined ? {} : { password }) });
      } catch (error) {
        caught = error;
      }
      expect((caught as PasserelleError).code).toBe("PASSERELLE_KEYSTORE_PASSWORD_INCORRECT");
    }
  });

  it("refuses a key that matches none of the certificates, and unreadable PEM", async () => {
    const keyPem = await readFile(file("leaf.key"), "utf8");
    const [leafPem, otherPem] = await Promise.all([readFile(file("leaf.crt"), "utf8"), readFile(file("other.crt"), "utf8")]);
    expect(() => loadPemIdentity({ keyPem, certificatePem: otherPem })).toThrow(
      expect.objectContaining({ code: "PASSERELLE_KEYSTORE_INVALID", extensions: { reason: "key_certificate_mismatch" } }),
    );
    expect(() => loadPemIdentity({ keyPem: "not a key", certificatePem: leafPem })).toThrow(
      expect.objectContaining({ extensions: { reason: "malformed" } }),
    );
    expect(() => loadPemIdentity({ keyPem, certificatePem: "no certificate here" })).toThrow(
      expect.objectContaining({ extensions: { reason: "no_certificate" } }),
    );
  });
});

describe("SoftwareSigner", () => {
  it("signs with every RSA algorithm; openssl dgst -verify accepts the signatures", async () => {
    const signer = await SoftwareSigner.fromPkcs12(await readFile(file("legacy.p12")), PASSWORD);
    expect(signer.keyType).toBe("RSA");
    expect(signer.algorithms).toEqual([
      "RSASSA-PKCS1-v1_5-SHA256",
      "RSASSA-PKCS1-v1_5-SHA384",
      "RSASSA-PKCS1-v1_5-SHA512",
      "RSASSA-PKCS1-v1_5-SHA1",
      "RSA-PSS-SHA256",
    ]);
    const data = randomBytes(4096);
    for (const algorithm of signer.algorithms) {
      const signature = await signer.sign(data, algorithm);
      expect(await opensslVerifies(algorithm, data, signature, file("leaf.crt")), algorithm).toBe(true);
      expect(await opensslVerifies(algorithm, Buffer.concat([data, Buffer.from("x")]), signature, file("leaf.crt"))).toBe(false);
    }
  });

  it("signs ECDSA P-256 as DER; openssl verifies", async () => {
    const signer = await SoftwareSigner.fromPkcs12(await readFile(file("ec.p12")), PASSWORD);
    expect(signer.keyType).toBe("EC");
    expect(signer.algorithms).toEqual(["ECDSA-P256-SHA256"]);
    const data = Buffer.from("payload");
    const signature = await signer.sign(data, "ECDSA-P256-SHA256");
    expect(signature[0]).toBe(0x30);
    expect(await opensslVerifies("ECDSA-P256-SHA256", data, signature, file("ec.crt"))).toBe(true);
  });

  it("refuses an entry whose key does not match its certificate, and key types no algorithm uses", async () => {
    const [leafPem, otherPem] = await Promise.all([readFile(file("leaf.crt"), "utf8"), readFile(file("other.crt"), "utf8")]);
    const entry = loadPemIdentity({ keyPem: await readFile(file("leaf.key")), certificatePem: leafPem });
    const other = new X509Certificate(otherPem);
    expect(() => new SoftwareSigner({ ...entry, certificate: other })).toThrow(
      expect.objectContaining({ code: "PASSERELLE_KEYSTORE_INVALID", extensions: { reason: "key_certificate_mismatch" } }),
    );
    const ed25519 = generateKeyPairSync("ed25519");
    const selfSigned = await openssl("req", "-new", "-x509", "-key", await writeKey(ed25519.privateKey.export({ format: "pem", type: "pkcs8" }).toString()), "-subj", "/CN=ed", "-days", "1");
    expect(() => new SoftwareSigner({ privateKey: ed25519.privateKey, certificate: new X509Certificate(selfSigned), chain: [], alias: undefined })).toThrow(
      expect.objectContaining({ extensions: { reason: "unsupported_key" } }),
    );
  });

  it("derives a stable, non-secret id from the certificate unless given one", async () => {
    const leafPem = await readFile(file("leaf.crt"), "utf8");
    const pem = { keyPem: await readFile(file("leaf.key")), certificatePem: leafPem };
    expect(SoftwareSigner.fromPem(pem).id).toMatch(/^software:[0-9a-f]{16}$/);
    expect(SoftwareSigner.fromPem(pem).id).toBe(SoftwareSigner.fromPem(pem).id);
    expect(SoftwareSigner.fromPem(pem, { id: "dr-leaf" }).id).toBe("dr-leaf");
  });

  it("checks signatures with the contract helper too (sanity of the helper)", async () => {
    const leafPem = await readFile(file("leaf.crt"), "utf8");
    const signer = SoftwareSigner.fromPem({ keyPem: await readFile(file("leaf.key")), certificatePem: leafPem });
    const [leaf] = await signer.certificateChain();
    const signature = await signer.sign(Buffer.from("a"), "RSA-PSS-SHA256");
    expect(verifySignature(leaf!, "RSA-PSS-SHA256", Buffer.from("a"), signature)).toBe(true);
    expect(verifySignature(leaf!, "RSASSA-PKCS1-v1_5-SHA256", Buffer.from("a"), signature)).toBe(false);
  });
});

async function writeKey(pem: string): Promise<string> {
  const path = file(`${randomBytes(4).toString("hex")}.key`);
  await writeFile(path, pem);
  return path;
}

describeSignerContract("SoftwareSigner (RSA, PKCS#12)", async () => ({
  signer: await SoftwareSigner.fromPkcs12(await readFile(file("modern.p12")), PASSWORD),
}));

describeSignerContract("SoftwareSigner (EC P-256, PEM)", async () => ({
  signer: SoftwareSigner.fromPem({
    keyPem: await readFile(file("ec.key")),
    certificatePem: (await readFile(file("ec.crt"), "utf8")) + (await readFile(file("chain.pem"), "utf8")),
  }),
}));
