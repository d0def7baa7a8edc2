import "reflect-metadata";
import { execFile } from "node:child_process";
import { X509Certificate, createPrivateKey, type webcrypto } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  AuthorityKeyIdentifierExtension,
  BasicConstraintsExtension,
  ExtendedKeyUsage,
  ExtendedKeyUsageExtension,
  Extension,
  KeyUsageFlags,
  KeyUsagesExtension,
  SubjectKeyIdentifierExtension,
  X509CertificateGenerator,
  X509CrlGenerator,
  X509CrlReason,
  X509Certificate as PeculiarCertificate,
} from "@peculiar/x509";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PasserelleError } from "../../errors/index.js";
import { GatewayMetrics } from "../../observability/metrics.js";
import { UpstreamClient } from "../../transport/index.js";
import { SandboxPki, type PemIdentity } from "../pki/index.js";
import { encodePem } from "./pem.js";
import {
  FileCrlSource,
  HttpCrlSource,
  StaticCrlSource,
  crlDistributionPointUrls,
  parseCrls,
  validateChain,
  type ChainValidationFailure,
  type ChainValidationResult,
  type ValidateChainOptions,
} from "./index.js";

const run = promisify(execFile);
const DAY = 24 * 60 * 60 * 1000;
const NOW = new Date();
const subtle = globalThis.crypto.subtle;

// ------------------------------------------------------------ a small test CA

const EC = { name: "ECDSA", namedCurve: "P-256" } as const;
const EC_SIGNING = { name: "ECDSA", hash: "SHA-256" } as const;

interface Issued {
  pem: string;
  x509: PeculiarCertificate;
  keys: webcrypto.CryptoKeyPair;
  signingAlgorithm: webcrypto.AlgorithmIdentifier | webcrypto.EcdsaParams | webcrypto.RsaHashedImportParams;
}

interface IssueOptions {
  subject: string;
  issuer?: Issued;
  extensions?: Extension[];
  notBefore?: Date;
  notAfter?: Date;
  /** Sign with this key instead of the issuer's (a forged certificate). */
  signingKey?: webcrypto.CryptoKey;
}

async function issue(options: IssueOptions): Promise<Issued> {
  const keys = (await subtle.generateKey(EC, true, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
  const validity = { notBefore: options.notBefore ?? new Date(NOW.getTime() - DAY), notAfter: options.notAfter ?? new Date(NOW.getTime() + 365 * DAY) };
  const keyIds: Extension[] = [await SubjectKeyIdentifierExtension.create(keys.publicKey, false, globalThis.crypto)];
  if (options.issuer !== undefined) keyIds.push(await AuthorityKeyIdentifierExtension.create(options.issuer.keys.publicKey, false, globalThis.crypto));
  const extensions = [...(options.extensions ?? []), ...keyIds];
  const x509 =
    options.issuer === undefined
      ? await X509CertificateGenerator.createSelfSigned({ name: options.subject, keys, signingAlgorithm: EC_SIGNING, extensions, ...validity }, globalThis.crypto)
      : await X509CertificateGenerator.create(
          {
            subject: options.subject,
            issuer: options.issuer.x509.subjectName,
            publicKey: keys.publicKey,
            signingKey: options.signingKey ?? options.issuer.keys.privateKey,
            signingAlgorithm: options.issuer.signingAlgorithm,
            extensions,
            ...validity,
          },
          globalThis.crypto,
        );
  return { pem: x509.toString("pem"), x509, keys, signingAlgorithm: EC_SIGNING };
}

const caExtensions = (pathLength?: number): Extension[] => [
  new BasicConstraintsExtension(true, pathLength, true),
  new KeyUsagesExtension(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign, true),
];

const leafExtensions = (keyUsage: KeyUsageFlags, ekus?: string[], ekuCritical = false): Extension[] => [
  new BasicConstraintsExtension(false, undefined, true),
  new KeyUsagesExtension(keyUsage, true),
  ...(ekus === undefined ? [] : [new ExtendedKeyUsageExtension(ekus, ekuCritical)]),
];

interface CrlEntry {
  certificate: Issued | string;
  revokedAt: Date;
  reason?: X509CrlReason;
}

async function signCrl(
  issuer: Pick<Issued, "x509" | "keys" | "signingAlgorithm">,
  entries: CrlEntry[],
  options: { thisUpdate?: Date; nextUpdate?: Date; signingKey?: webcrypto.CryptoKey } = {},
): Promise<string> {
  const crl = await X509CrlGenerator.create(
    {
      issuer: issuer.x509.subjectName,
      thisUpdate: options.thisUpdate ?? new Date(NOW.getTime() - DAY),
      nextUpdate: options.nextUpdate ?? new Date(NOW.getTime() + 7 * DAY),
      signingKey: options.signingKey ?? issuer.keys.privateKey,
      signingAlgorithm: issuer.signingAlgorithm,
      entries: entries.map((entry) => ({
        serialNumber: typeof entry.certificate === "string" ? entry.certificate : entry.certificate.x509.serialNumber,
        revocationDate: entry.revokedAt,
        ...(entry.reason === undefined ? {} : { reason: entry.reason }),
      })),
    },
    globalThis.crypto,
  );
  // RFC 7468 §5 label, which openssl insists on (@peculiar/x509 writes "CRL").
  return encodePem("X509 CRL", new Uint8Array(crl.rawData));
}

function failure(result: ChainValidationResult): ChainValidationFailure {
  if (result.valid) throw new Error("expected the chain to be refused");
  return result;
}

// ------------------------------------------------------------------ fixtures

let root: Issued;
let intermediate: Issued;
let tlsServer: Issued;
let tlsClient: Issued;
let signatureLeaf: Issued;
let base: ValidateChainOptions;

beforeAll(async () => {
  root = await issue({ subject: "CN=Test Root,O=Passerelle Tests", extensions: caExtensions(1) });
  intermediate = await issue({ subject: "CN=Test Issuing CA,O=Passerelle Tests", issuer: root, extensions: caExtensions(0) });
  [tlsServer, tlsClient, signatureLeaf] = await Promise.all([
    issue({ subject: "CN=server.test", issuer: intermediate, extensions: leafExtensions(KeyUsageFlags.digitalSignature, [ExtendedKeyUsage.serverAuth]) }),
    issue({ subject: "CN=client.test", issuer: intermediate, extensions: leafExtensions(KeyUsageFlags.digitalSignature, [ExtendedKeyUsage.clientAuth]) }),
    issue({ subject: "CN=Dr Signer", issuer: intermediate, extensions: leafExtensions(KeyUsageFlags.nonRepudiation) }),
  ]);
  base = { anchors: [root.pem], intermediates: [intermediate.pem], purpose: "any", at: NOW };
});

// ------------------------------------------------------------------- paths

describe("validateChain: paths and validity", () => {
  it("accepts a valid chain and returns the path from the leaf to the anchor", async () => {
    const result = await validateChain(tlsServer.pem, { ...base, purpose: "tls-server" });
    if (!result.valid) throw result.error;
    expect(result.path.map((c) => c.subject)).toEqual(["CN=server.test", "CN=Test Issuing CA\nO=Passerelle Tests", "CN=Test Root\nO=Passerelle Tests"]);
    expect(result.anchor.fingerprint256).toBe(new X509Certificate(root.pem).fingerprint256);
    expect(result.revocation).toEqual([]);
  });

  it("accepts an intermediate configured as the anchor, and a pinned leaf", async () => {
    expect((await validateChain(tlsServer.pem, { anchors: [intermediate.pem], purpose: "tls-server", at: NOW })).valid).toBe(true);
    expect((await validateChain(tlsServer.pem, { anchors: [tlsServer.pem], purpose: "tls-server", at: NOW })).valid).toBe(true);
  });

  it("says which certificate is expired or not yet valid", async () => {
    const expired = await issue({ subject: "CN=expired.test", issuer: intermediate, notBefore: new Date(NOW.getTime() - 30 * DAY), notAfter: new Date(NOW.getTime() - DAY), extensions: leafExtensions(KeyUsageFlags.digitalSignature) });
    const early = await issue({ subject: "CN=future.test", issuer: intermediate, notBefore: new Date(NOW.getTime() + DAY), extensions: leafExtensions(KeyUsageFlags.digitalSignature) });
    const expiredResult = failure(await validateChain(expired.pem, base));
    expect(expiredResult.reason).toBe("expired");
    expect(expiredResult.certificate?.subject).toBe("CN=expired.test");
    expect(expiredResult.detail).toMatch(/CN=expired\.test.*expired on/);
    const early_ = failure(await validateChain(early.pem, base));
    expect(early_.reason).toBe("not_yet_valid");
    expect(early_.certificate?.subject).toBe("CN=future.test");
    // The same valid leaf, checked at a time when its issuer had expired.
    const later = failure(await validateChain(tlsServer.pem, { ...base, at: new Date(NOW.getTime() + 400 * DAY) }));
    expect(later.reason).toBe("expired");
    expect(later.certificate?.subject).toBe("CN=server.test");
  });

  it("reports the failure as a typed, throwable error", async () => {
    const error = failure(await validateChain(tlsClient.pem, { ...base, purpose: "tls-server" })).error;
    expect(error).toBeInstanceOf(PasserelleError);
    expect(error.code).toBe("PASSERELLE_CERTIFICATE_INVALID");
    expect(error.status).toBe(422);
    expect(error.extensions).toMatchObject({ reason: "extended_key_usage", certificate: { subject: "CN=client.test" } });
  });

  it("refuses a self-signed certificate that is not an anchor (untrusted_root)", async () => {
    const selfSigned = await issue({ subject: "CN=self.test", extensions: caExtensions() });
    const result = failure(await validateChain(selfSigned.pem, base));
    expect(result.reason).toBe("untrusted_root");
    expect(result.certificate?.subject).toBe("CN=self.test");
    // Also when the untrusted root is handed over as an "intermediate".
    const otherRoot = await issue({ subject: "CN=Other Root", extensions: caExtensions() });
    const leaf = await issue({ subject: "CN=leaf.other", issuer: otherRoot, extensions: leafExtensions(KeyUsageFlags.digitalSignature) });
    expect(failure(await validateChain(leaf.pem, { ...base, intermediates: [otherRoot.pem] })).reason).toBe("untrusted_root");
  });

  it("says issuer_not_found when an intermediate is missing", async () => {
    const result = failure(await validateChain(tlsServer.pem, { ...base, intermediates: [] }));
    expect(result.reason).toBe("issuer_not_found");
    expect(result.detail).toContain("CN=Test Issuing CA");
  });

  it("says bad_signature for a certificate with its issuer's name but signed by another key", async () => {
    const impostor = await issue({ subject: "CN=Impostor", extensions: caExtensions() });
    const forged = await issue({ subject: "CN=forged.test", issuer: intermediate, signingKey: impostor.keys.privateKey, extensions: leafExtensions(KeyUsageFlags.digitalSignature) });
    const result = failure(await validateChain(forged.pem, base));
    expect(result.reason).toBe("bad_signature");
    expect(result.certificate?.subject).toBe("CN=forged.test");
  });

  it("refuses an end-entity certificate (CA:false) used as an issuer", async () => {
    const subordinate = await issue({ subject: "CN=issued-by-a-leaf", issuer: tlsClient, extensions: leafExtensions(KeyUsageFlags.digitalSignature) });
    const result = failure(await validateChain(subordinate.pem, { ...base, intermediates: [intermediate.pem, tlsClient.pem] }));
    expect(result.reason).toBe("not_a_ca");
    expect(result.certificate?.subject).toBe("CN=client.test");
  });

  it("refuses a CA whose keyUsage lacks keyCertSign", async () => {
    const crlOnly = await issue({ subject: "CN=CRL-only CA", issuer: root, extensions: [new BasicConstraintsExtension(true, 0, true), new KeyUsagesExtension(KeyUsageFlags.cRLSign, true)] });
    const leaf = await issue({ subject: "CN=leaf.crl-only", issuer: crlOnly, extensions: leafExtensions(KeyUsageFlags.digitalSignature) });
    const result = failure(await validateChain(leaf.pem, { ...base, intermediates: [crlOnly.pem] }));
    expect(result.reason).toBe("key_usage");
    expect(result.detail).toMatch(/keyCertSign/);
  });

  it("enforces pathLenConstraint: a sub-CA below a pathLen 0 CA is refused", async () => {
    const subCa = await issue({ subject: "CN=Sub CA", issuer: intermediate, extensions: caExtensions() });
    const leaf = await issue({ subject: "CN=leaf.sub", issuer: subCa, extensions: leafExtensions(KeyUsageFlags.digitalSignature) });
    const result = failure(await validateChain(leaf.pem, { ...base, intermediates: [intermediate.pem, subCa.pem] }));
    expect(result.reason).toBe("path_length_exceeded");
    expect(result.certificate?.subject).toBe("CN=Test Issuing CA, O=Passerelle Tests");
    expect(result.detail).toMatch(/allows 0 intermediate CA certificate\(s\) below it .* has 1/);
  });

  it("refuses a critical extension it does not process", async () => {
    const leaf = await issue({
      subject: "CN=critical.test",
      issuer: intermediate,
      extensions: [...leafExtensions(KeyUsageFlags.digitalSignature), new Extension("1.3.6.1.4.1.99999.1", true, new Uint8Array([0x05, 0x00]))],
    });
    const result = failure(await validateChain(leaf.pem, base));
    expect(result.reason).toBe("unsupported_critical_extension");
    expect(result.detail).toContain("1.3.6.1.4.1.99999.1");
  });

  it("returns malformed for something that is not a certificate, and TypeError for caller mistakes", async () => {
    expect(failure(await validateChain(Buffer.from("not a certificate"), base)).reason).toBe("malformed");
    await expect(validateChain(tlsServer.pem, { ...base, anchors: [] })).rejects.toThrow(TypeError);
    await expect(validateChain(tlsServer.pem, { ...base, purpose: "email" as never })).rejects.toThrow(TypeError);
    await expect(validateChain(tlsServer.pem, { ...base, checkRevocation: true })).rejects.toThrow(/CRL source/);
    await expect(validateChain(tlsServer.pem, { ...base, crls: new StaticCrlSource([]) as never })).rejects.toThrow(/array of CRL sources/);
    expect(() => new StaticCrlSource([42 as never])).toThrow(TypeError);
    // CRLs are parsed at the first crls() call (@peculiar/x509 loads on first use): the caller's own garbage is a TypeError naming it.
    await expect(new StaticCrlSource(["garbage"]).crls()).rejects.toThrow(/^CRL 1: /);
    await expect(new StaticCrlSource(["garbage"]).crls()).rejects.toThrow(TypeError);
  });
});

describe("validateChain: purposes", () => {
  it("checks TLS server and client extended key usages", async () => {
    expect((await validateChain(tlsServer.pem, { ...base, purpose: "tls-server" })).valid).toBe(true);
    expect((await validateChain(tlsClient.pem, { ...base, purpose: "tls-client" })).valid).toBe(true);
    const wrong = failure(await validateChain(tlsClient.pem, { ...base, purpose: "tls-server" }));
    expect(wrong.reason).toBe("extended_key_usage");
    expect(wrong.detail).toMatch(/clientAuth, serverAuth is needed/);
  });

  it("checks the signing key usages (digitalSignature or nonRepudiation)", async () => {
    expect((await validateChain(signatureLeaf.pem, { ...base, purpose: "signature" })).valid).toBe(true);
    const encipherOnly = await issue({ subject: "CN=encryption only", issuer: intermediate, extensions: leafExtensions(KeyUsageFlags.keyEncipherment) });
    const result = failure(await validateChain(encipherOnly.pem, { ...base, purpose: "signature" }));
    expect(result.reason).toBe("key_usage");
    expect(result.detail).toMatch(/its keyUsage is keyEncipherment, one of digitalSignature, nonRepudiation is needed$/);
  });

  it("demands a critical, exclusive id-kp-timeStamping for time-stamping (RFC 3161 §2.3)", async () => {
    const [good, nonCritical, mixed, none] = await Promise.all([
      issue({ subject: "CN=TSA", issuer: intermediate, extensions: leafExtensions(KeyUsageFlags.digitalSignature, [ExtendedKeyUsage.timeStamping], true) }),
      issue({ subject: "CN=TSA non-critical", issuer: intermediate, extensions: leafExtensions(KeyUsageFlags.digitalSignature, [ExtendedKeyUsage.timeStamping], false) }),
      issue({ subject: "CN=TSA mixed", issuer: intermediate, extensions: leafExtensions(KeyUsageFlags.digitalSignature, [ExtendedKeyUsage.timeStamping, ExtendedKeyUsage.clientAuth], true) }),
      issue({ subject: "CN=TSA without EKU", issuer: intermediate, extensions: leafExtensions(KeyUsageFlags.digitalSignature) }),
    ]);
    expect((await validateChain(good.pem, { ...base, purpose: "timestamping" })).valid).toBe(true);
    for (const bad of [nonCritical, mixed, none]) {
      expect(failure(await validateChain(bad.pem, { ...base, purpose: "timestamping" })).reason).toBe("extended_key_usage");
    }
  });

  it("demands id-kp-OCSPSigning for an OCSP responder (RFC 6960 §4.2.2.2), anyExtendedKeyUsage not sufficing", async () => {
    const [responder, anyEku] = await Promise.all([
      issue({ subject: "CN=OCSP responder", issuer: intermediate, extensions: leafExtensions(KeyUsageFlags.digitalSignature, [ExtendedKeyUsage.ocspSigning]) }),
      issue({ subject: "CN=any EKU", issuer: intermediate, extensions: leafExtensions(KeyUsageFlags.digitalSignature, ["2.5.29.37.0"]) }),
    ]);
    expect((await validateChain(responder.pem, { ...base, purpose: "ocsp-signing" })).valid).toBe(true);
    const anyForOcsp = failure(await validateChain(anyEku.pem, { ...base, purpose: "ocsp-signing" }));
    expect(anyForOcsp.reason).toBe("extended_key_usage");
    expect(anyForOcsp.detail).toMatch(/its extendedKeyUsage is anyExtendedKeyUsage, OCSPSigning is needed$/);
    // For TLS, RFC 5280 §4.2.1.12 lets anyExtendedKeyUsage stand for any purpose.
    expect((await validateChain(anyEku.pem, { ...base, purpose: "tls-client" })).valid).toBe(true);
    expect(failure(await validateChain(tlsServer.pem, { ...base, purpose: "ocsp-signing" })).reason).toBe("extended_key_usage");
  });

  it("honours an EKU restriction on an intermediate CA", async () => {
    const clientOnlyCa = await issue({ subject: "CN=Client-only CA", issuer: root, extensions: [...caExtensions(0), new ExtendedKeyUsageExtension([ExtendedKeyUsage.clientAuth])] });
    const server = await issue({ subject: "CN=server.under.client-ca", issuer: clientOnlyCa, extensions: leafExtensions(KeyUsageFlags.digitalSignature, [ExtendedKeyUsage.serverAuth]) });
    const result = failure(await validateChain(server.pem, { ...base, intermediates: [clientOnlyCa.pem], purpose: "tls-server" }));
    expect(result.reason).toBe("extended_key_usage");
    expect(result.certificate?.subject).toBe("CN=Client-only CA");
  });
});

// -------------------------------------------------------------- revocation

describe("validateChain: CRLs", () => {
  it("reports a revoked leaf with the CRL's revocation date and reason", async () => {
    const revokedAt = new Date(NOW.getTime() - 2 * 60 * 60 * 1000);
    const crl = await signCrl(intermediate, [{ certificate: tlsClient, revokedAt, reason: X509CrlReason.keyCompromise }]);
    const rootCrl = await signCrl(root, []);
    const result = failure(await validateChain(tlsClient.pem, { ...base, purpose: "tls-client", crls: [new StaticCrlSource([crl, rootCrl])] }));
    expect(result.reason).toBe("revoked");
    expect(result.certificate?.subject).toBe("CN=client.test");
    expect(result.revocation).toMatchObject({ revocationReason: "keyCompromise", crlIssuer: "CN=Test Issuing CA, O=Passerelle Tests" });
    expect(new Date(result.revocation!.revokedAt).getTime()).toBe(Math.floor(revokedAt.getTime() / 1000) * 1000);
    expect(result.error.extensions).toMatchObject({ reason: "revoked", revocation: { revocationReason: "keyCompromise" } });
    // Validated as of a time before the revocation, the same certificate was good.
    const before = await validateChain(tlsClient.pem, { ...base, purpose: "tls-client", at: new Date(revokedAt.getTime() - 60 * 60 * 1000), crls: [new StaticCrlSource([crl, rootCrl])] });
    expect(before.valid).toBe(true);
  });

  it("checks every level: an intermediate revoked by the root's CRL", async () => {
    const crls = new StaticCrlSource([await signCrl(intermediate, []), await signCrl(root, [{ certificate: intermediate, revokedAt: new Date(NOW.getTime() - DAY), reason: X509CrlReason.cACompromise }])]);
    const result = failure(await validateChain(tlsServer.pem, { ...base, purpose: "tls-server", crls: [crls] }));
    expect(result.reason).toBe("revoked");
    expect(result.certificate?.subject).toBe("CN=Test Issuing CA, O=Passerelle Tests");
    expect(result.revocation?.revocationReason).toBe("cACompromise");
  });

  it("accepts a chain every CRL clears, and says which CRL cleared what", async () => {
    const crls = new StaticCrlSource([await signCrl(intermediate, [{ certificate: tlsClient, revokedAt: NOW }]), await signCrl(root, [])]);
    const result = await validateChain(tlsServer.pem, { ...base, purpose: "tls-server", crls: [crls] });
    if (!result.valid) throw result.error;
    expect(result.revocation.map((check) => [check.certificate.subject, check.crlIssuer, check.stale])).toEqual([
      ["CN=server.test", "CN=Test Issuing CA, O=Passerelle Tests", false],
      ["CN=Test Issuing CA, O=Passerelle Tests", "CN=Test Root, O=Passerelle Tests", false],
    ]);
  });

  it("says revocation_unavailable (503) when a required CRL is missing, forged or stale — and accepts a stale one only by policy", async () => {
    const rootCrl = await signCrl(root, []);
    const missing = failure(await validateChain(tlsServer.pem, { ...base, crls: [new StaticCrlSource([rootCrl])] }));
    expect(missing.reason).toBe("revocation_unavailable");
    expect(missing.error.code).toBe("PASSERELLE_REVOCATION_UNAVAILABLE");
    expect(missing.error.status).toBe(503);
    expect(missing.certificate?.subject).toBe("CN=server.test");

    const impostor = await issue({ subject: "CN=Impostor", extensions: caExtensions() });
    const forged = await signCrl(intermediate, [], { signingKey: impostor.keys.privateKey });
    const forgedResult = failure(await validateChain(tlsServer.pem, { ...base, crls: [new StaticCrlSource([forged, rootCrl])] }));
    expect(forgedResult.reason).toBe("revocation_unavailable");
    expect(forgedResult.detail).toMatch(/signature does not verify/);

    const stale = await signCrl(intermediate, [], { thisUpdate: new Date(NOW.getTime() - 10 * DAY), nextUpdate: new Date(NOW.getTime() - DAY) });
    const staleCrls = [new StaticCrlSource([stale, rootCrl])];
    const refused = failure(await validateChain(tlsServer.pem, { ...base, crls: staleCrls }));
    expect(refused.reason).toBe("revocation_unavailable");
    expect(refused.detail).toMatch(/stale/);
    const accepted = await validateChain(tlsServer.pem, { ...base, crls: staleCrls, staleCrl: "accept" });
    if (!accepted.valid) throw accepted.error;
    expect(accepted.revocation[0]?.stale).toBe(true);
    // Without checkRevocation, a missing CRL is no failure, but a listed serial still is.
    expect((await validateChain(tlsServer.pem, { ...base, crls: [new StaticCrlSource([rootCrl])], checkRevocation: false })).valid).toBe(true);
  });

  it("prefers the most recent usable CRL when several are available", async () => {
    const older = await signCrl(intermediate, [], { thisUpdate: new Date(NOW.getTime() - 3 * DAY) });
    const newer = await signCrl(intermediate, [{ certificate: tlsServer, revokedAt: new Date(NOW.getTime() - 60_000) }], { thisUpdate: new Date(NOW.getTime() - 120_000) });
    const result = failure(await validateChain(tlsServer.pem, { ...base, crls: [new StaticCrlSource([older]), new StaticCrlSource([newer])], checkRevocation: false }));
    expect(result.reason).toBe("revoked");
  });
});

describe("CRL sources", () => {
  let workDir: string;
  let server: Server;
  let crlBody: Buffer;
  let requests = 0;
  let client: UpstreamClient;

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), "passerelle-crl-"));
    server = createServer((req, res) => {
      requests += 1;
      if (req.url !== "/crl/issuing.crl") {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { "content-type": "application/pkix-crl" }).end(crlBody);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    client = new UpstreamClient({ name: "crl-test", baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, metrics: new GatewayMetrics({ processMetrics: false }), retry: { maxAttempts: 1 } });
  });

  afterAll(async () => {
    await client.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(workDir, { recursive: true, force: true });
  });

  it("fetches a distribution point through the UpstreamClient (DER) and caches it until nextUpdate", async () => {
    const nextUpdate = new Date(NOW.getTime() + 60 * 60 * 1000);
    const pem = await signCrl(intermediate, [{ certificate: tlsClient, revokedAt: NOW }], { nextUpdate });
    crlBody = (await parseCrls(pem))[0]!.der;
    let clock = NOW;
    const source = new HttpCrlSource({ client, path: "/crl/issuing.crl", now: () => clock });
    const options = { ...base, crls: [source, new StaticCrlSource([await signCrl(root, [])])] };
    const before = requests;
    expect((await validateChain(tlsServer.pem, options)).valid).toBe(true);
    expect(failure(await validateChain(tlsClient.pem, options)).reason).toBe("revoked");
    expect(requests - before).toBe(1);
    expect(source.fetches).toBe(1);
    clock = new Date(nextUpdate.getTime() + 1000);
    crlBody = (await parseCrls(await signCrl(intermediate, [], { thisUpdate: clock, nextUpdate: new Date(clock.getTime() + 3600_000) })))[0]!.der;
    expect((await validateChain(tlsClient.pem, { ...options, at: clock })).valid).toBe(true);
    expect(source.fetches).toBe(2);
  });

  it("says revocation_unavailable when the distribution point cannot be reached and nothing is cached", async () => {
    const source = new HttpCrlSource({ client, path: "/crl/missing.crl" });
    const result = failure(await validateChain(tlsServer.pem, { ...base, crls: [source, new StaticCrlSource([await signCrl(root, [])])] }));
    expect(result.reason).toBe("revocation_unavailable");
    expect(result.detail).toMatch(/CRL \/crl\/missing\.crl of upstream crl-test is unavailable/);
  });

  it("re-reads a CRL file when it is replaced", async () => {
    const file = join(workDir, "issuing.crl");
    await writeFile(file, await signCrl(intermediate, []));
    const source = new FileCrlSource(file);
    const options = { ...base, crls: [source, new StaticCrlSource([await signCrl(root, [])])] };
    expect((await validateChain(tlsClient.pem, options)).valid).toBe(true);
    await writeFile(`${file}.tmp`, await signCrl(intermediate, [{ certificate: tlsClient, revokedAt: NOW }]));
    await rename(`${file}.tmp`, file);
    expect(failure(await validateChain(tlsClient.pem, options)).reason).toBe("revoked");
  });

  it("lists a certificate's http distribution points", async () => {
    const { CRLDistributionPointsExtension } = await import("@peculiar/x509");
    const leaf = await issue({
      subject: "CN=with-dp",
      issuer: intermediate,
      extensions: [...leafExtensions(KeyUsageFlags.digitalSignature), new CRLDistributionPointsExtension(["http://crl.example/issuing.crl", "ldap://ldap.example/cn=crl"])],
    });
    expect(await crlDistributionPointUrls(leaf.pem)).toEqual(["http://crl.example/issuing.crl"]);
  });
});

// -------------------------------------- the sandbox PKI, and OpenSSL agreeing

describe("the sandbox PKI, cross-checked with openssl verify", () => {
  let workDir: string;
  let pki: SandboxPki;
  let practitioner: PemIdentity;
  let server: PemIdentity;
  let frCa: Pick<Issued, "x509" | "keys" | "signingAlgorithm">;

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), "passerelle-chain-"));
    pki = await SandboxPki.open(join(workDir, "data"));
    [practitioner, server] = await Promise.all([
      pki.clientIdentity("fr-practitioner-chain", { country: "FR", subject: { C: "FR", O: "Cabinet Test", CN: "Test, Alice", serialNumber: "810000000042" } }),
      pki.serverIdentity("fr-dmp", { country: "FR" }),
    ]);
    // The FR CA's own key, from the PKI directory, signs the CRLs (RSA, as the sandbox issues).
    const keyPem = await readFile(join(pki.directory, "ca-fr.key.pem"), "utf8");
    const rsa = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" } as const;
    const privateKey = await subtle.importKey("pkcs8", createPrivateKey(keyPem).export({ format: "der", type: "pkcs8" }), rsa, false, ["sign"]);
    frCa = { x509: new PeculiarCertificate(pki.caCertPem("FR")), keys: { privateKey } as webcrypto.CryptoKeyPair, signingAlgorithm: rsa };
  });

  afterAll(async () => {
    await rm(workDir, { recursive: true, force: true });
  });

  async function opensslVerify(leafPem: string, extra: string[] = [], files: Record<string, string> = {}): Promise<{ ok: boolean; output: string }> {
    await writeFile(join(workDir, "root.pem"), pki.rootCertPem);
    await writeFile(join(workDir, "fr-ca.pem"), pki.caCertPem("FR"));
    await writeFile(join(workDir, "leaf.pem"), leafPem);
    for (const [name, content] of Object.entries(files)) await writeFile(join(workDir, name), content);
    try {
      const { stdout, stderr } = await run("openssl", ["verify", "-CAfile", join(workDir, "root.pem"), "-untrusted", join(workDir, "fr-ca.pem"), ...extra, join(workDir, "leaf.pem")]);
      return { ok: true, output: stdout + stderr };
    } catch (error) {
      const { stdout = "", stderr = "" } = error as { stdout?: string; stderr?: string };
      return { ok: false, output: stdout + stderr };
    }
  }

  it("validates a practitioner's client certificate and a simulator's server certificate, as openssl does", async () => {
    const options = { anchors: [pki.rootCertPem], intermediates: [pki.caCertPem("FR")] };
    expect((await validateChain(practitioner.certPem, { ...options, purpose: "tls-client" })).valid).toBe(true);
    expect((await validateChain(server.certPem, { ...options, purpose: "tls-server" })).valid).toBe(true);
    expect(failure(await validateChain(practitioner.certPem, { ...options, purpose: "tls-server" })).reason).toBe("extended_key_usage");
    const openssl = await opensslVerify(practitioner.certPem, ["-purpose", "sslclient"]);
    expect(openssl).toMatchObject({ ok: true });
    expect(openssl.output).toContain("leaf.pem: OK");
    expect((await opensslVerify(practitioner.certPem, ["-purpose", "sslserver"])).ok).toBe(false);
  });

  it("agrees with openssl verify -crl_check on a certificate revoked by the FR CA's CRL", async () => {
    const serial = new X509Certificate(practitioner.certPem).serialNumber;
    const crlPem = await signCrl(frCa, [{ certificate: serial, revokedAt: new Date(NOW.getTime() - 60_000), reason: X509CrlReason.affiliationChanged }]);
    const ours = failure(await validateChain(practitioner.certPem, { anchors: [pki.rootCertPem], intermediates: [pki.caCertPem("FR")], purpose: "tls-client", crls: [new StaticCrlSource([crlPem])], checkRevocation: false }));
    expect(ours.reason).toBe("revoked");
    expect(ours.revocation?.revocationReason).toBe("affiliationChanged");
    const openssl = await opensslVerify(practitioner.certPem, ["-crl_check", "-CRLfile", join(workDir, "fr.crl.pem")], { "fr.crl.pem": crlPem });
    expect(openssl.ok).toBe(false);
    expect(openssl.output).toContain("certificate revoked");
    // And with an empty CRL both accept it.
    const emptyCrl = await signCrl(frCa, []);
    expect((await validateChain(practitioner.certPem, { anchors: [pki.rootCertPem], intermediates: [pki.caCertPem("FR")], purpose: "tls-client", crls: [new StaticCrlSource([emptyCrl])], checkRevocation: false })).valid).toBe(true);
    expect((await opensslVerify(practitioner.certPem, ["-crl_check", "-CRLfile", join(workDir, "fr-empty.crl.pem")], { "fr-empty.crl.pem": emptyCrl })).ok).toBe(true);
  });

  it("agrees with openssl verify -attime on an expired certificate", async () => {
    const later = new Date(new X509Certificate(practitioner.certPem).validTo).getTime() + DAY;
    expect(failure(await validateChain(practitioner.certPem, { anchors: [pki.rootCertPem], intermediates: [pki.caCertPem("FR")], purpose: "tls-client", at: new Date(later) })).reason).toBe("expired");
    const openssl = await opensslVerify(practitioner.certPem, ["-attime", String(Math.floor(later / 1000))]);
    expect(openssl.ok).toBe(false);
    expect(openssl.output).toContain("certificate has expired");
  });
});
