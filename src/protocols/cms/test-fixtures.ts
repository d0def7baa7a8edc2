/**
 * Test support for the CMS and PAdES tests (not part of the library API): a
 * small PKI made with the `openssl` command line — an RSA root, an ECDSA
 * intermediate CA, RSA and ECDSA signers and a time-stamping authority — and
 * an in-test Signer over node:crypto keys, so these tests depend neither on
 * src/trust/signers nor on our own ASN.1 code to make their certificates.
 */
import { execFile } from "node:child_process";
import { X509Certificate, createPrivateKey, sign as signBytes, type KeyObject } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { SignatureAlgorithm, Signer } from "../../trust/signer.js";

const run = promisify(execFile);

/** Runs the openssl command line; rejects (with its stderr) on a non-zero exit. */
export async function openssl(args: readonly string[]): Promise<{ stdout: string; stderr: string }> {
  return run("openssl", [...args], { encoding: "utf8", maxBuffer: 16 * 1024 * 1024 });
}

export interface TestIdentity {
  name: string;
  keyPem: string;
  certPem: string;
  certificate: X509Certificate;
  key: KeyObject;
  /** Files in the PKI directory. */
  keyFile: string;
  certFile: string;
}

export interface TestPki {
  directory: string;
  root: TestIdentity;
  /** ECDSA P-256 intermediate CA under the root, issuing the leaves. */
  intermediate: TestIdentity;
  rsaSigner: TestIdentity;
  ecSigner: TestIdentity;
  /** Critical id-kp-timeStamping EKU (RFC 3161 §2.3), issued by the intermediate. */
  tsa: TestIdentity;
  /** An RSA signer issued by a CA that nothing trusts. */
  strangerSigner: TestIdentity;
  strangerRoot: TestIdentity;
  /** root.pem + intermediate.pem. */
  chainFile: string;
  cleanup(): Promise<void>;
}

const EXTENSIONS = `
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[intermediate]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[signer]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[tsa]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = critical, timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
`;

/** Makes the PKI in a fresh temporary directory (about a second, mostly the RSA keys). */
export async function createTestPki(): Promise<TestPki> {
  const directory = await mkdtemp(join(tmpdir(), "passerelle-cms-"));
  const extFile = join(directory, "ext.cnf");
  await writeFile(extFile, EXTENSIONS);
  let serial = 0x1000;

  const key = async (name: string, kind: "rsa" | "ec"): Promise<string> => {
    const file = join(directory, `${name}.key`);
    const algorithm = kind === "rsa" ? ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"] : ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"];
    await openssl(["genpkey", ...algorithm, "-out", file]);
    return file;
  };
  const load = async (name: string, keyFile: string, certFile: string): Promise<TestIdentity> => {
    const keyPem = await readFile(keyFile, "utf8");
    const certPem = await readFile(certFile, "utf8");
    return { name, keyPem, certPem, certificate: new X509Certificate(certPem), key: createPrivateKey(keyPem), keyFile, certFile };
  };
  const selfSigned = async (name: string, subject: string, keyFile: string): Promise<TestIdentity> => {
    const certFile = join(directory, `${name}.pem`);
    await openssl(["req", "-new", "-x509", "-key", keyFile, "-subj", subject, "-days", "30", "-sha256", "-set_serial", String(serial++), "-config", extFile, "-extensions", "ca", "-out", certFile]);
    return load(name, keyFile, certFile);
  };
  const issued = async (name: string, subject: string, keyFile: string, issuer: TestIdentity, profile: string): Promise<TestIdentity> => {
    const csr = join(directory, `${name}.csr`);
    const certFile = join(directory, `${name}.pem`);
    await openssl(["req", "-new", "-key", keyFile, "-subj", subject, "-out", csr]);
    await openssl([
      "x509", "-req", "-in", csr, "-CA", issuer.certFile, "-CAkey", issuer.keyFile, "-set_serial", String(serial++),
      "-days", "30", "-sha256", "-extfile", extFile, "-extensions", profile, "-out", certFile,
    ]);
    return load(name, keyFile, certFile);
  };

  const [rootKey, intermediateKey, rsaKey, ecKey, tsaKey, strangerRootKey, strangerKey] = await Promise.all([
    key("root", "rsa"),
    key("intermediate", "ec"),
    key("rsa-signer", "rsa"),
    key("ec-signer", "ec"),
    key("tsa", "ec"),
    key("stranger-root", "ec"),
    key("stranger", "ec"),
  ]);
  const root = await selfSigned("root", "/C=LU/O=Passerelle Test/CN=CMS Test Root", rootKey);
  const strangerRoot = await selfSigned("stranger-root", "/C=LU/O=Elsewhere/CN=Stranger Root", strangerRootKey);
  const intermediate = await issued("intermediate", "/C=LU/O=Passerelle Test/CN=CMS Test Intermediate", intermediateKey, root, "intermediate");
  const [rsaSigner, ecSigner, tsa, strangerSigner] = await Promise.all([
    issued("rsa-signer", "/C=FR/O=Cabinet Test/CN=Dr Alice Martin/serialNumber=810001234567", rsaKey, intermediate, "signer"),
    issued("ec-signer", "/C=LU/O=Cabinet Test/CN=Dr Bob Weber", ecKey, intermediate, "signer"),
    issued("tsa", "/C=LU/O=Passerelle Test/CN=Test TSA", tsaKey, intermediate, "tsa"),
    issued("stranger", "/C=LU/O=Elsewhere/CN=Mallory", strangerKey, strangerRoot, "signer"),
  ]);
  const chainFile = join(directory, "chain.pem");
  await writeFile(chainFile, root.certPem + intermediate.certPem);
  return {
    directory,
    root,
    intermediate,
    rsaSigner,
    ecSigner,
    tsa,
    strangerSigner,
    strangerRoot,
    chainFile,
    cleanup: () => rm(directory, { recursive: true, force: true }),
  };
}

/** A Signer over a node:crypto key, as a software-key Signer would be; counts its signatures. */
export function testSigner(identity: TestIdentity, issuers: readonly TestIdentity[]): Signer & { signatures: number } {
  const keyType = identity.key.asymmetricKeyType === "rsa" ? "RSA" : "EC";
  const algorithms: SignatureAlgorithm[] =
    keyType === "RSA" ? ["RSASSA-PKCS1-v1_5-SHA256", "RSASSA-PKCS1-v1_5-SHA384", "RSASSA-PKCS1-v1_5-SHA512"] : ["ECDSA-P256-SHA256"];
  const hashes: Partial<Record<SignatureAlgorithm, string>> = {
    "RSASSA-PKCS1-v1_5-SHA256": "sha256",
    "RSASSA-PKCS1-v1_5-SHA384": "sha384",
    "RSASSA-PKCS1-v1_5-SHA512": "sha512",
    "ECDSA-P256-SHA256": "sha256",
  };
  const signer = {
    id: `test:${identity.name}`,
    keyType,
    algorithms,
    signatures: 0,
    async sign(data: Uint8Array, algorithm: SignatureAlgorithm): Promise<Buffer> {
      const hash = hashes[algorithm];
      if (!algorithms.includes(algorithm) || hash === undefined) throw new TypeError(`unsupported ${algorithm}`);
      signer.signatures += 1;
      return signBytes(hash, data, { key: identity.key, dsaEncoding: "der" });
    },
    async certificateChain(): Promise<X509Certificate[]> {
      return [identity.certificate, ...issuers.map((issuer) => issuer.certificate)];
    },
  } satisfies Signer & { signatures: number };
  return signer;
}

/**
 * An RFC 3161 token over `data`, made by `openssl ts -reply` with the test
 * TSA — an independent implementation of the time-stamping side.
 */
export async function openSslTimestamp(pki: TestPki, data: Uint8Array): Promise<Buffer> {
  const work = await mkdtemp(join(pki.directory, "ts-"));
  try {
    const config = join(work, "tsa.cnf");
    await writeFile(
      config,
      [
        "[tsa]",
        "default_tsa = test_tsa",
        "[test_tsa]",
        `serial = ${join(work, "serial")}`,
        "crypto_device = builtin",
        `signer_cert = ${pki.tsa.certFile}`,
        `signer_key = ${pki.tsa.keyFile}`,
        `certs = ${pki.intermediate.certFile}`,
        "signer_digest = sha256",
        "default_policy = 1.3.6.1.4.1.99999.1",
        "digests = sha256, sha384, sha512",
        "accuracy = secs:1",
        "ordering = no",
        "tsa_name = no",
        "ess_cert_id_chain = no",
        "ess_cert_id_alg = sha256",
        "",
      ].join("\n"),
    );
    await writeFile(join(work, "serial"), "01\n");
    const dataFile = join(work, "data.bin");
    await writeFile(dataFile, data);
    const query = join(work, "query.tsq");
    const token = join(work, "token.der");
    await openssl(["ts", "-query", "-data", dataFile, "-sha256", "-cert", "-out", query]);
    await openssl(["ts", "-reply", "-config", config, "-queryfile", query, "-token_out", "-out", token]);
    return await readFile(token);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
