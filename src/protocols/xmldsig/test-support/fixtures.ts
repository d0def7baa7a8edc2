/**
 * Test fixtures for the XML signature tests: a tiny Signer over a node
 * KeyObject (optionally slow, to prove that nothing assumes a synchronous
 * key), and a sandbox PKI in a temporary directory.
 */
import { X509Certificate, createPrivateKey, sign as nodeSign, type KeyObject } from "node:crypto";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Element } from "@xmldom/xmldom";
import type { SignatureAlgorithm, Signer } from "../../../trust/signer.js";
import { SandboxPki } from "../../../trust/pki/index.js";

const HASHES: Record<SignatureAlgorithm, string> = {
  "RSASSA-PKCS1-v1_5-SHA256": "sha256",
  "RSASSA-PKCS1-v1_5-SHA384": "sha384",
  "RSASSA-PKCS1-v1_5-SHA512": "sha512",
  "RSASSA-PKCS1-v1_5-SHA1": "sha1",
  "RSA-PSS-SHA256": "sha256",
  "ECDSA-P256-SHA256": "sha256",
};

export interface KeySignerOptions {
  privateKey: KeyObject;
  chain?: X509Certificate[];
  /** Answer after this long, from a timer: a card or a remote KMS. */
  delayMs?: number;
  id?: string;
}

/** A Signer over a software key, with a call log. */
export function keySigner(options: KeySignerOptions): Signer & { calls: Array<{ algorithm: SignatureAlgorithm; bytes: number }> } {
  const keyType = options.privateKey.asymmetricKeyType === "ec" ? "EC" : "RSA";
  const calls: Array<{ algorithm: SignatureAlgorithm; bytes: number }> = [];
  return {
    id: options.id ?? "test-key",
    keyType,
    algorithms:
      keyType === "EC"
        ? ["ECDSA-P256-SHA256"]
        : ["RSASSA-PKCS1-v1_5-SHA256", "RSASSA-PKCS1-v1_5-SHA384", "RSASSA-PKCS1-v1_5-SHA512", "RSASSA-PKCS1-v1_5-SHA1"],
    calls,
    async sign(data: Uint8Array, algorithm: SignatureAlgorithm): Promise<Buffer> {
      calls.push({ algorithm, bytes: data.byteLength });
      if (options.delayMs !== undefined) await new Promise((resolve) => setTimeout(resolve, options.delayMs));
      if (algorithm === "RSA-PSS-SHA256") throw new Error("not offered");
      return nodeSign(HASHES[algorithm], data, options.privateKey);
    },
    async certificateChain(): Promise<X509Certificate[]> {
      return options.chain ?? [];
    },
  };
}

export interface TestIdentity {
  certificate: X509Certificate;
  /** The issuing CAs below the root. */
  intermediates: X509Certificate[];
  privateKey: KeyObject;
  certPem: string;
  keyPem: string;
  chainPem: string[];
}

export interface TestPki {
  dir: string;
  root: X509Certificate;
  rootPem: string;
  /** A practitioner signing identity issued by the FR CA. */
  signer: TestIdentity;
  /** Another identity, from the BE CA: "someone else's key". */
  other: TestIdentity;
  cleanup(): Promise<void>;
}

export async function openTestPki(): Promise<TestPki> {
  const dir = await mkdtemp(join(tmpdir(), "passerelle-xmldsig-"));
  const pki = await SandboxPki.open(dir);
  const [signer, other] = await Promise.all([
    pki.clientIdentity("fr-practitioner-xmldsig", {
      country: "FR",
      subject: { C: "FR", O: "Cabinet Test", CN: "Martin, Claire", serialNumber: "810000000001" },
      keyUsages: ["digitalSignature", "nonRepudiation"],
    }),
    pki.clientIdentity("be-other-xmldsig", { country: "BE", subject: { C: "BE", CN: "Someone Else" } }),
  ]);
  const identity = (pem: { certPem: string; keyPem: string; chainPem: string[] }): TestIdentity => ({
    certificate: new X509Certificate(pem.certPem),
    intermediates: pem.chainPem.map((p) => new X509Certificate(p)),
    privateKey: createPrivateKey(pem.keyPem),
    certPem: pem.certPem,
    keyPem: pem.keyPem,
    chainPem: pem.chainPem,
  });
  return {
    dir,
    root: new X509Certificate(pki.rootCertPem),
    rootPem: pki.rootCertPem,
    signer: identity(signer),
    other: identity(other),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

const run = promisify(execFile);

export interface Xmlsec1Result {
  ok: boolean;
  output: string;
}

/** Runs `xmlsec1` with `args`; `files` are written to `dir` first (names relative to it). */
export async function xmlsec1(dir: string, args: string[], files: Record<string, string> = {}): Promise<Xmlsec1Result> {
  for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
  try {
    const { stdout, stderr } = await run("xmlsec1", args, { cwd: dir, timeout: 20_000 });
    return { ok: true, output: stdout + stderr };
  } catch (error) {
    const e = error as { code?: unknown; stdout?: string; stderr?: string };
    if (e.code === "ENOENT") throw new Error("xmlsec1 is not installed; install it with: apt-get install -y xmlsec1", { cause: error });
    return { ok: false, output: `${e.stdout ?? ""}${e.stderr ?? ""}` };
  }
}

/** Replaces the content of `element` with `text` (tests that edit signed documents). */
export function replaceText(element: Element | undefined, text: string): void {
  if (element === undefined || element.ownerDocument === null) throw new Error("no element to edit");
  while (element.firstChild !== null) element.removeChild(element.firstChild);
  element.appendChild(element.ownerDocument.createTextNode(text));
}
