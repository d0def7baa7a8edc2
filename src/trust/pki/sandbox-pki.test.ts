import "reflect-metadata";
import { execFile } from "node:child_process";
import { X509Certificate as NodeX509Certificate, createPrivateKey, createPublicKey } from "node:crypto";
import { cp, mkdir, mkdtemp, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, createServer, type TLSSocket } from "node:tls";
import { promisify } from "node:util";
import {
  BasicConstraintsExtension,
  ExtendedKeyUsage,
  ExtendedKeyUsageExtension,
  KeyUsageFlags,
  KeyUsagesExtension,
  SubjectAlternativeNameExtension,
  X509Certificate,
  X509ChainBuilder,
} from "@peculiar/x509";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CERTIFICATE_PROFILES_VERSION } from "./sandbox-pki.js";
import { SandboxPki, type PemIdentity } from "./index.js";

const run = promisify(execFile);
const DAY_MS = 24 * 60 * 60 * 1000;

let workDir: string;
/** A PKI generated once; tests that damage files work on copies of it. */
let sharedDir: string;
let pki: SandboxPki;
let firstOpenMs: number;
let frServer: PemIdentity;
let genericServer: PemIdentity;
let practitioner: PemIdentity;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), "passerelle-pki-"));
  sharedDir = join(workDir, "shared");
  const started = performance.now();
  pki = await SandboxPki.open(sharedDir);
  firstOpenMs = performance.now() - started;
  [frServer, genericServer, practitioner] = await Promise.all([
    pki.serverIdentity("fr-dmp", { country: "FR" }),
    pki.serverIdentity("sandbox-ca"),
    pki.clientIdentity("fr-practitioner-dupont", {
      country: "FR",
      subject: { C: "FR", O: "Cabinet Dupont", OU: ["Médecine générale", "Paris"], CN: "Dupont, Jean-Émile", serialNumber: "810012345678" },
    }),
  ]);
});

afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

async function copyOfShared(name: string): Promise<string> {
  const dir = join(workDir, name);
  await cp(sharedDir, dir, { recursive: true });
  return dir;
}

function fingerprint(pem: string): string {
  return new NodeX509Certificate(pem).fingerprint256;
}

async function writeTemp(name: string, content: string): Promise<string> {
  const path = join(workDir, "tmp", name);
  await mkdir(join(workDir, "tmp"), { recursive: true });
  await writeFile(path, content);
  return path;
}

async function opensslVerify(rootPem: string, leafPem: string, untrusted: string[], purpose: string): Promise<string> {
  const id = Math.random().toString(36).slice(2);
  const args = ["verify", "-CAfile", await writeTemp(`${id}-root.pem`, rootPem), "-purpose", purpose];
  if (untrusted.length > 0) args.push("-untrusted", await writeTemp(`${id}-chain.pem`, untrusted.join("")));
  args.push(await writeTemp(`${id}-leaf.pem`, leafPem));
  const { stdout } = await run("openssl", args);
  return stdout;
}

describe("SandboxPki generation and reuse", () => {
  it("generates the whole PKI quickly on first open", () => {
    expect(firstOpenMs).toBeLessThan(5000);
    const root = new X509Certificate(pki.rootCertPem);
    expect(root.subject).toBe("O=Passerelle Sandbox, CN=Passerelle Sandbox Root CA");
    expect(root.notAfter.getTime() - Date.now()).toBeGreaterThan(9.9 * 365 * DAY_MS);
    for (const country of ["FR", "LU", "BE"] as const) {
      const ca = new X509Certificate(pki.caCertPem(country));
      expect(ca.subject).toBe(`C=${country}, O=Passerelle Sandbox, CN=Passerelle Sandbox ${country} CA`);
      expect(ca.issuer).toBe(root.subject);
      const years = (ca.notAfter.getTime() - ca.notBefore.getTime()) / (365 * DAY_MS);
      expect(years).toBeGreaterThan(4.9);
      expect(years).toBeLessThan(5.1);
    }
  });

  it("reuses the cached root, CAs and leaves on a second open", async () => {
    const started = performance.now();
    const again = await SandboxPki.open(sharedDir);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(fingerprint(again.rootCertPem)).toBe(fingerprint(pki.rootCertPem));
    expect(again.caCertPem("LU")).toBe(pki.caCertPem("LU"));
    const server = await again.serverIdentity("fr-dmp", { country: "FR" });
    expect(server).toEqual(frServer);
  });

  it("writes index.json describing what exists", async () => {
    const index = JSON.parse(await readFile(join(sharedDir, "pki", "index.json"), "utf8")) as Record<string, never>;
    expect(index).toMatchObject({
      format: 1,
      root: { certificateFile: "root-ca.cert.pem", keyFile: "root-ca.key.pem", fingerprintSha256: fingerprint(pki.rootCertPem) },
      countryCas: { FR: { fingerprintSha256: fingerprint(pki.caCertPem("FR")) } },
      servers: { "fr-dmp": { certificateFile: "servers/fr-dmp.cert.pem", fingerprintSha256: fingerprint(frServer.certPem) } },
      clients: { "fr-practitioner-dupont": { keyFile: "clients/fr-practitioner-dupont.key.pem" } },
    });
  });

  it("writes private keys with mode 0600 and certificates as PEM", async () => {
    const dir = join(sharedDir, "pki");
    for (const file of ["root-ca.key.pem", "ca-fr.key.pem", "servers/fr-dmp.key.pem", "clients/fr-practitioner-dupont.key.pem"]) {
      expect((await stat(join(dir, file))).mode & 0o777, file).toBe(0o600);
      expect(await readFile(join(dir, file), "utf8")).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    }
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect(await readFile(join(dir, "servers/fr-dmp.cert.pem"), "utf8")).toBe(frServer.certPem);
  });

  it("generates an identity once when asked concurrently", async () => {
    const requests = Array.from({ length: 5 }, () => pki.serverIdentity("lu-kms", { country: "LU" }));
    const identities = await Promise.all(requests);
    // The same object: one generation served every caller.
    for (const identity of identities) expect(identity).toBe(identities[0]);
    const onDisk = await readFile(join(sharedDir, "pki", "servers", "lu-kms.cert.pem"), "utf8");
    expect(onDisk).toBe(identities[0]?.certPem);
  });

  it("issues an identity once when two processes ask at the same time (a lock file per pair)", async () => {
    // Two instances over one directory share nothing in memory, like the gateway and its sandbox process.
    const [a, b] = await Promise.all([SandboxPki.open(sharedDir), SandboxPki.open(sharedDir)]);
    const asked = (p: SandboxPki) => p.clientIdentity("shared-oidc-client", { country: "FR", subject: { CN: "Shared client" } });
    const [fromA, fromB] = await Promise.all([asked(a), asked(b)]);
    expect(fromB.keyPem).toBe(fromA.keyPem);
    expect(await readFile(join(sharedDir, "pki", "clients", "shared-oidc-client.cert.pem"), "utf8")).toBe(fromA.certPem);
    await expect(stat(join(sharedDir, "pki", "clients", "shared-oidc-client.cert.pem.lock"))).rejects.toThrow(/ENOENT/);
  });

  it("breaks an issuance lock left by a crashed process", async () => {
    const dir = join(workDir, "stale-lock");
    await cp(sharedDir, dir, { recursive: true });
    const lock = join(dir, "pki", "clients", "after-crash.cert.pem.lock");
    await writeFile(lock, "");
    const old = new Date(Date.now() - 60_000);
    await utimes(lock, old, old);
    const identity = await (await SandboxPki.open(dir)).clientIdentity("after-crash", { country: "BE", subject: { CN: "After a crash" } });
    expect(identity.certPem).toContain("BEGIN CERTIFICATE");
  });

  it("re-issues a client identity asked again with another subject", async () => {
    const first = await pki.clientIdentity("be-org-hospital", { country: "BE", subject: { O: "Hôpital A", CN: "A" } });
    const second = await pki.clientIdentity("be-org-hospital", { country: "BE", subject: { O: "Hôpital B", CN: "B" } });
    expect(new X509Certificate(first.certPem).subjectName.getField("O")).toEqual(["Hôpital A"]);
    expect(new X509Certificate(second.certPem).subjectName.getField("O")).toEqual(["Hôpital B"]);
    expect(second.keyPem).not.toBe(first.keyPem);
  });

  it("rejects identity names that could escape the PKI directory", async () => {
    for (const name of ["../evil", "a/b", "..", ".hidden", "", "a\\b", "x".repeat(101)]) {
      await expect(pki.serverIdentity(name), name).rejects.toThrow(TypeError);
      await expect(pki.clientIdentity(name, { country: "FR", subject: { CN: "x" } }), name).rejects.toThrow(TypeError);
    }
    await expect(stat(join(sharedDir, "evil.cert.pem"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("rejects unknown countries, subject attributes, usages and host names", async () => {
    // @ts-expect-error -- not a sandbox country
    expect(() => pki.caCertPem("DE")).toThrow(/Unknown sandbox country/);
    // @ts-expect-error -- not a sandbox country
    await expect(pki.serverIdentity("x", { country: "DE" })).rejects.toThrow(TypeError);
    await expect(pki.serverIdentity("x", { hostnames: ["evil host"] })).rejects.toThrow(/Invalid host name/);
    await expect(pki.clientIdentity("x", { country: "FR", subject: { XX: "y" } })).rejects.toThrow(/Unknown subject attribute "XX"/);
    await expect(pki.clientIdentity("x", { country: "FR", subject: { C: "France" } })).rejects.toThrow(/two-letter/);
    await expect(pki.clientIdentity("x", { country: "FR", subject: {} })).rejects.toThrow(/at least one attribute/);
    await expect(
      pki.clientIdentity("x", { country: "FR", subject: { CN: "x" }, extendedKeyUsages: ["bogus"] }),
    ).rejects.toThrow(/Unknown extended key usage/);
    // @ts-expect-error -- keyCertSign is for CAs only
    await expect(pki.clientIdentity("x", { country: "FR", subject: { CN: "x" }, keyUsages: ["keyCertSign"] })).rejects.toThrow(
      /Unknown key usage/,
    );
  });
});

describe("SandboxPki certificates", () => {
  it("chains every leaf to the root (X509ChainBuilder and node's checkIssued/verify)", async () => {
    const root = new X509Certificate(pki.rootCertPem);
    const fr = new X509Certificate(pki.caCertPem("FR"));
    const builder = new X509ChainBuilder({ certificates: [root, fr, new X509Certificate(pki.caCertPem("LU"))] });
    const chain = await builder.build(new X509Certificate(practitioner.certPem), globalThis.crypto);
    expect(chain.map((c) => c.subject)).toEqual([
      "C=FR, O=Cabinet Dupont, OU=Médecine générale, OU=Paris, 2.5.4.5=810012345678, CN=Dupont\\, Jean-Émile",
      fr.subject,
      root.subject,
    ]);

    const nodeRoot = new NodeX509Certificate(pki.rootCertPem);
    const nodeFr = new NodeX509Certificate(pki.caCertPem("FR"));
    const leaf = new NodeX509Certificate(frServer.certPem);
    expect(leaf.checkIssued(nodeFr) && leaf.verify(nodeFr.publicKey)).toBe(true);
    expect(nodeFr.checkIssued(nodeRoot) && nodeFr.verify(nodeRoot.publicKey)).toBe(true);
    expect(leaf.verify(nodeRoot.publicKey)).toBe(false);
    const generic = new NodeX509Certificate(genericServer.certPem);
    expect(generic.checkIssued(nodeRoot) && generic.verify(nodeRoot.publicKey)).toBe(true);
  });

  it("passes `openssl verify` with the root as only trust anchor", async () => {
    expect(await opensslVerify(pki.rootCertPem, frServer.certPem, frServer.chainPem, "sslserver")).toMatch(/: OK\n$/);
    expect(await opensslVerify(pki.rootCertPem, practitioner.certPem, practitioner.chainPem, "sslclient")).toMatch(/: OK\n$/);
    expect(await opensslVerify(pki.rootCertPem, genericServer.certPem, [], "sslserver")).toMatch(/: OK\n$/);
    // The wrong intermediate does not make a path: the check can fail.
    await expect(opensslVerify(pki.rootCertPem, frServer.certPem, [pki.caCertPem("LU")], "sslserver")).rejects.toThrow();
    // A client certificate is not a server certificate.
    await expect(opensslVerify(pki.rootCertPem, practitioner.certPem, practitioner.chainPem, "sslserver")).rejects.toThrow();
  });

  it("gives CAs the CA profile (basicConstraints, key usage)", () => {
    const root = new X509Certificate(pki.rootCertPem);
    const rootConstraints = root.getExtension(BasicConstraintsExtension);
    expect([rootConstraints?.ca, rootConstraints?.pathLength, rootConstraints?.critical]).toEqual([true, 1, true]);
    expect(root.getExtension(KeyUsagesExtension)?.usages).toBe(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign);
    const be = new X509Certificate(pki.caCertPem("BE"));
    const beConstraints = be.getExtension(BasicConstraintsExtension);
    expect([beConstraints?.ca, beConstraints?.pathLength]).toEqual([true, 0]);
    expect(be.getExtension(KeyUsagesExtension)?.usages).toBe(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign);
    expect(be.getExtension(ExtendedKeyUsageExtension)).toBeNull();
  });

  it("gives TLS servers serverAuth and the loopback names", () => {
    const cert = new X509Certificate(frServer.certPem);
    expect(cert.getExtension(BasicConstraintsExtension)?.ca).toBe(false);
    expect(cert.getExtension(ExtendedKeyUsageExtension)?.usages).toEqual([ExtendedKeyUsage.serverAuth]);
    expect(cert.getExtension(KeyUsagesExtension)?.usages).toBe(KeyUsageFlags.digitalSignature | KeyUsageFlags.keyEncipherment);
    expect(cert.getExtension(SubjectAlternativeNameExtension)?.names.toJSON()).toEqual([
      { type: "dns", value: "localhost" },
      { type: "ip", value: "127.0.0.1" },
      { type: "ip", value: "::1" },
    ]);
    expect(frServer.chainPem).toEqual([pki.caCertPem("FR")]);
    expect(genericServer.chainPem).toEqual([]);
    const validityDays = (cert.notAfter.getTime() - cert.notBefore.getTime()) / DAY_MS;
    expect(validityDays).toBeLessThanOrEqual(398);
  });

  it("gives clients clientAuth and digitalSignature, or what the caller asks", async () => {
    const cert = new X509Certificate(practitioner.certPem);
    expect(cert.getExtension(ExtendedKeyUsageExtension)?.usages).toEqual([ExtendedKeyUsage.clientAuth]);
    expect(cert.getExtension(KeyUsagesExtension)?.usages).toBe(KeyUsageFlags.digitalSignature);
    expect(cert.getExtension(SubjectAlternativeNameExtension)).toBeNull();
    expect(cert.subjectName.getField("CN")).toEqual(["Dupont, Jean-Émile"]);
    expect(cert.subjectName.getField("2.5.4.5")).toEqual(["810012345678"]);

    const encryption = await pki.clientIdentity("be-ehealth-org", {
      country: "BE",
      subject: { C: "BE", O: "Federal Government", CN: "CBE=0123456789" },
      extendedKeyUsages: ["clientAuth", "emailProtection"],
      keyUsages: ["digitalSignature", "keyEncipherment"],
    });
    const encryptionCert = new X509Certificate(encryption.certPem);
    expect(encryptionCert.getExtension(ExtendedKeyUsageExtension)?.usages).toEqual([
      ExtendedKeyUsage.clientAuth,
      ExtendedKeyUsage.emailProtection,
    ]);
    expect(encryptionCert.getExtension(KeyUsagesExtension)?.usages).toBe(
      KeyUsageFlags.digitalSignature | KeyUsageFlags.keyEncipherment,
    );
  });

  it("pairs every certificate with its private key", () => {
    for (const identity of [frServer, genericServer, practitioner]) {
      const fromKey = createPublicKey(createPrivateKey(identity.keyPem)).export({ format: "der", type: "spki" });
      const fromCert = new NodeX509Certificate(identity.certPem).publicKey.export({ format: "der", type: "spki" });
      expect(fromKey.equals(fromCert)).toBe(true);
      expect(createPrivateKey(identity.keyPem).asymmetricKeyDetails?.modulusLength).toBe(2048);
    }
  });
});

describe("SandboxPki server identities over real TLS", () => {
  async function handshake(identity: PemIdentity, connectOptions: { ca?: string; servername?: string }): Promise<TLSSocket> {
    const server = createServer({ key: identity.keyPem, cert: identity.certPem + identity.chainPem.join("") }, (socket) => {
      socket.end("hello");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    try {
      return await new Promise<TLSSocket>((resolve, reject) => {
        const socket = connect({ host: "127.0.0.1", port, ...connectOptions }, () => {
          socket.end();
          resolve(socket);
        });
        socket.once("error", reject);
      });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  }

  it("is trusted by a client holding only the root, by IP address", async () => {
    const socket = await handshake(frServer, { ca: pki.rootCertPem });
    expect(socket.authorized).toBe(true);
    expect(socket.getPeerCertificate().subject.CN).toBe("fr-dmp");
  });

  it("is trusted with servername localhost (SNI and name check)", async () => {
    const socket = await handshake(genericServer, { ca: pki.rootCertPem, servername: "localhost" });
    expect(socket.authorized).toBe(true);
  });

  it("is refused by a client that does not hold the sandbox root", async () => {
    await expect(handshake(frServer, {})).rejects.toMatchObject({ code: "UNABLE_TO_GET_ISSUER_CERT_LOCALLY" });
  });

  it("is refused for a name that is not in the certificate", async () => {
    await expect(handshake(frServer, { ca: pki.rootCertPem, servername: "example.org" })).rejects.toMatchObject({
      code: "ERR_TLS_CERT_ALTNAME_INVALID",
    });
  });
});

describe("SandboxPki renewal and damaged caches", () => {
  it("re-issues everything when the root expires within 30 days", async () => {
    const dir = await copyOfShared("root-expiring");
    const rootNotAfter = new X509Certificate(pki.rootCertPem).notAfter.getTime();
    const later = new Date(rootNotAfter - 10 * DAY_MS);
    const renewed = await SandboxPki.open(dir, { now: () => later });
    expect(fingerprint(renewed.rootCertPem)).not.toBe(fingerprint(pki.rootCertPem));
    expect(fingerprint(renewed.caCertPem("FR"))).not.toBe(fingerprint(pki.caCertPem("FR")));
    const server = await renewed.serverIdentity("fr-dmp", { country: "FR" });
    expect(server.certPem).not.toBe(frServer.certPem);
    const leaf = new NodeX509Certificate(server.certPem);
    expect(leaf.verify(new NodeX509Certificate(renewed.caCertPem("FR")).publicKey)).toBe(true);
    // Leaves of the old root are no longer listed.
    expect(Object.keys(renewed.index.clients)).toEqual([]);
  });

  it("re-issues a leaf close to expiry but keeps the CAs", async () => {
    const dir = await copyOfShared("leaf-expiring");
    const leafNotAfter = new X509Certificate(frServer.certPem).notAfter.getTime();
    const later = new Date(leafNotAfter - 5 * DAY_MS);
    const reopened = await SandboxPki.open(dir, { now: () => later });
    expect(reopened.rootCertPem).toBe(pki.rootCertPem);
    expect(reopened.caCertPem("FR")).toBe(pki.caCertPem("FR"));
    const server = await reopened.serverIdentity("fr-dmp", { country: "FR" });
    expect(server.certPem).not.toBe(frServer.certPem);
    expect(new X509Certificate(server.certPem).notBefore.getTime()).toBeLessThanOrEqual(later.getTime());
  });

  it("re-issues everything when the root certificate is truncated", async () => {
    const dir = await copyOfShared("root-truncated");
    const file = join(dir, "pki", "root-ca.cert.pem");
    const pem = await readFile(file, "utf8");
    await writeFile(file, pem.slice(0, pem.length / 2));
    const reopened = await SandboxPki.open(dir);
    expect(fingerprint(reopened.rootCertPem)).not.toBe(fingerprint(pki.rootCertPem));
    const client = await reopened.clientIdentity("fr-practitioner-dupont", {
      country: "FR",
      subject: { CN: "Jean Dupont" },
    });
    expect(await opensslVerify(reopened.rootCertPem, client.certPem, client.chainPem, "sslclient")).toMatch(/OK/);
  });

  it("re-issues only the country CA whose key is damaged", async () => {
    const dir = await copyOfShared("ca-key-damaged");
    await writeFile(join(dir, "pki", "ca-fr.key.pem"), "-----BEGIN PRIVATE KEY-----\ngarbage\n-----END PRIVATE KEY-----\n");
    const reopened = await SandboxPki.open(dir);
    expect(reopened.rootCertPem).toBe(pki.rootCertPem);
    expect(reopened.caCertPem("LU")).toBe(pki.caCertPem("LU"));
    expect(reopened.caCertPem("FR")).not.toBe(pki.caCertPem("FR"));
    // The FR leaf was signed by the old FR CA: it is re-issued; the generic one is kept.
    expect((await reopened.serverIdentity("fr-dmp", { country: "FR" })).certPem).not.toBe(frServer.certPem);
    expect((await reopened.serverIdentity("sandbox-ca")).certPem).toBe(genericServer.certPem);
  });

  it("re-issues a leaf whose key does not match its certificate (crash between renames)", async () => {
    const dir = await copyOfShared("leaf-mismatch");
    await writeFile(join(dir, "pki", "servers", "fr-dmp.key.pem"), genericServer.keyPem);
    const reopened = await SandboxPki.open(dir);
    const server = await reopened.serverIdentity("fr-dmp", { country: "FR" });
    expect(server.certPem).not.toBe(frServer.certPem);
    const fromKey = createPublicKey(createPrivateKey(server.keyPem)).export({ format: "der", type: "spki" });
    expect(fromKey.equals(new NodeX509Certificate(server.certPem).publicKey.export({ format: "der", type: "spki" }))).toBe(true);
  });

  it("checks a pair in full again when its stamp names another request, keeps it and stamps it anew", async () => {
    const dir = await copyOfShared("stamp-other-request");
    const stampFile = join(dir, "pki", "servers", "fr-dmp.stamp.json");
    const stamp = JSON.parse(await readFile(stampFile, "utf8")) as { request: string; fingerprintSha256: string };
    expect(stamp.fingerprintSha256).toBe(fingerprint(frServer.certPem));
    expect(JSON.parse(stamp.request)).toEqual([CERTIFICATE_PROFILES_VERSION, "servers", "fr-dmp", "FR", expect.anything(), ["localhost", "127.0.0.1", "::1"]]);
    await writeFile(stampFile, JSON.stringify({ ...stamp, request: JSON.stringify([0, "an older version"]) }));
    const reopened = await SandboxPki.open(dir);
    expect((await reopened.serverIdentity("fr-dmp", { country: "FR" })).certPem).toBe(frServer.certPem);
    expect(JSON.parse(await readFile(stampFile, "utf8"))).toEqual(stamp);
  });

  it("re-issues a stamped server identity asked with other host names", async () => {
    const dir = await copyOfShared("stamp-other-hosts");
    const reopened = await SandboxPki.open(dir);
    const server = await reopened.serverIdentity("fr-dmp", { country: "FR", hostnames: ["dmp.sandbox.test"] });
    expect(server.certPem).not.toBe(frServer.certPem);
    expect(new NodeX509Certificate(server.certPem).subjectAltName).toContain("DNS:dmp.sandbox.test");
  });

  it("keeps the index entries another process wrote since it opened, and leaves an unchanged index alone", async () => {
    const dir = await copyOfShared("index-two-processes");
    const indexFile = join(dir, "pki", "index.json");
    const [gateway, sandbox] = await Promise.all([SandboxPki.open(dir), SandboxPki.open(dir)]);
    await gateway.clientIdentity("gateway-only", { country: "LU", subject: { CN: "gateway" } });
    await sandbox.serverIdentity("sandbox-only", { country: "BE" });
    const index = JSON.parse(await readFile(indexFile, "utf8")) as { servers: Record<string, unknown>; clients: Record<string, unknown> };
    expect(Object.keys(index.clients)).toContain("gateway-only");
    expect(Object.keys(index.servers)).toContain("sandbox-only");

    const before = await readFile(indexFile, "utf8");
    const again = await SandboxPki.open(dir);
    await again.serverIdentity("sandbox-only", { country: "BE" });
    expect(await readFile(indexFile, "utf8")).toBe(before);
  });

  it("survives a corrupted index.json and rewrites it", async () => {
    const dir = await copyOfShared("index-corrupted");
    const indexFile = join(dir, "pki", "index.json");
    await writeFile(indexFile, '{"format": 1, "root": ');
    const reopened = await SandboxPki.open(dir);
    expect(reopened.rootCertPem).toBe(pki.rootCertPem);
    expect((await reopened.serverIdentity("fr-dmp", { country: "FR" })).certPem).toBe(frServer.certPem);
    const index = JSON.parse(await readFile(indexFile, "utf8")) as { servers: Record<string, unknown> };
    expect(Object.keys(index.servers)).toEqual(["fr-dmp"]);
  });

  it("fails with a clear error, naming the file, when a PKI file cannot be read", async () => {
    const dir = await copyOfShared("unreadable");
    const file = join(dir, "pki", "root-ca.cert.pem");
    await rm(file);
    await mkdir(file);
    await expect(SandboxPki.open(dir)).rejects.toThrow(`Cannot read sandbox PKI file ${file}`);
  });
});
