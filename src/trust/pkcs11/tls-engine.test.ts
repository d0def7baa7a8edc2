/**
 * Mutual TLS where the client key stays in a SoftHSM "CPS card". The
 * engine's PKCS#11 calls go through OpenSC's pkcs11-spy, which logs every
 * call: the tests count C_Login and C_Sign in its log, independently of our
 * code. (The spy log holds PINs: it lives in the test's temporary directory.)
 *
 * Order matters within this file, as in a real process: once the token is
 * logged in, the engine no longer checks PINs, so the wrong-PIN case runs first.
 */
import { constants } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, createServer, type ConnectionOptions, type Server, type TLSSocket } from "node:tls";
import { Agent, request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PasserelleError } from "../../errors/index.js";
import { UpstreamClient } from "../../transport/index.js";
import { provisionCardToken, type ProvisionedCard } from "../pki/card-certificates.js";
import { SandboxPki, type PemIdentity } from "../pki/sandbox-pki.js";
import { DEFAULT_PKCS11_MODULE } from "./pkcs11-module.js";
import { cardTlsOptions, createCardSecureContext, pkcs11PrivateKeyUri, type CardTlsIdentity } from "./tls-engine.js";

const SPY = "/usr/lib/x86_64-linux-gnu/pkcs11-spy.so";
const ENV_NAMES = ["SOFTHSM2_CONF", "PKCS11_MODULE_PATH", "OPENSSL_ENGINES", "PKCS11SPY", "PKCS11SPY_OUTPUT"] as const;
const savedEnv = Object.fromEntries(ENV_NAMES.map((name) => [name, process.env[name]]));

let dir: string;
let pki: SandboxPki;
let server: PemIdentity;
let card: ProvisionedCard;
let spyLog: string;
let tlsServer: Server;
let tlsPort: number;
const seenByServer: Array<{ authorized: boolean; subject: Record<string, string>; protocol: string | null }> = [];

function cardIdentity(overrides: Partial<CardTlsIdentity> = {}): CardTlsIdentity {
  return {
    tokenLabel: card.tokenLabel,
    keyLabel: card.authentication.label,
    keyId: card.authentication.id,
    pin: card.pin,
    certPem: card.authentication.certPem,
    chainPem: card.authentication.chainPem,
    modulePath: SPY,
    softhsmConfigPath: card.softhsmConfigPath,
    ...overrides,
  };
}

async function spyCount(call: string): Promise<number> {
  const log = existsSync(spyLog) ? await readFile(spyLog, "utf8") : "";
  return log.split("\n").filter((line) => new RegExp(`^\\d+: ${call}$`).test(line.trim())).length;
}

function handshake(options: ConnectionOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port: tlsPort, servername: "localhost", ...options });
    let answer = "";
    socket.on("data", (chunk: Buffer) => (answer += chunk.toString()));
    socket.on("end", () => resolve(answer));
    socket.on("error", reject);
  });
}

async function caught(run: () => unknown): Promise<PasserelleError> {
  let error: unknown;
  try {
    await run();
  } catch (thrown) {
    error = thrown;
  }
  expect(error).toBeInstanceOf(PasserelleError);
  return error as PasserelleError;
}

beforeAll(async () => {
  expect(existsSync(SPY), `${SPY} (Debian opensc-pkcs11) is needed to count the engine's PKCS#11 calls`).toBe(true);
  dir = await mkdtemp(join(tmpdir(), "passerelle-card-tls-"));
  pki = await SandboxPki.open(join(dir, "data"));
  server = await pki.serverIdentity("fr-dmp", { country: "FR" });
  card = await provisionCardToken(
    pki,
    { rpps: "10000000002", givenName: "Marie", familyName: "Curie", profession: "Pharmacien" },
    { dir: join(dir, "softhsm"), pin: "2580" },
  );
  spyLog = join(dir, "pkcs11-spy.log");
  // pkcs11-spy forwards every call to SoftHSM and logs it.
  process.env.PKCS11SPY = DEFAULT_PKCS11_MODULE;
  process.env.PKCS11SPY_OUTPUT = spyLog;

  tlsServer = createServer(
    {
      key: server.keyPem,
      cert: [server.certPem, ...server.chainPem].join("\n"),
      ca: [pki.rootCertPem],
      requestCert: true,
      rejectUnauthorized: true,
    },
    (socket: TLSSocket) => {
      const peer = socket.getPeerCertificate();
      seenByServer.push({ authorized: socket.authorized, subject: { ...peer.subject } as Record<string, string>, protocol: socket.getProtocol() });
      socket.end(`hello ${peer.subject.CN}`);
    },
  );
  await new Promise<void>((resolve) => tlsServer.listen(0, "127.0.0.1", resolve));
  tlsPort = (tlsServer.address() as AddressInfo).port;
}, 60_000);

afterAll(async () => {
  await new Promise((resolve) => tlsServer?.close(resolve));
  for (const name of ENV_NAMES) {
    if (savedEnv[name] === undefined) delete process.env[name];
    else process.env[name] = savedEnv[name];
  }
  await rm(dir, { recursive: true, force: true });
});

describe("card TLS through the OpenSSL PKCS#11 engine", () => {
  it("builds an RFC 7512 URI for the key (percent-encoded label, id bytes, PIN as pin-value)", () => {
    expect(pkcs11PrivateKeyUri({ tokenLabel: "CPS-1", keyLabel: "Authentification CPS", keyId: "01", pin: "12;4" })).toBe(
      "pkcs11:token=CPS-1;object=Authentification%20CPS;id=%01;type=private?pin-value=12%3B4",
    );
  });

  it("a wrong PIN: a typed 403 after exactly one login attempt, before any connection", async () => {
    const error = await caught(() => cardTlsOptions(cardIdentity({ pin: "0000" }), { ca: pki.rootCertPem }));
    expect(error).toMatchObject({ code: "PASSERELLE_CARD_PIN_INCORRECT", status: 403, extensions: { loginAttempted: true } });
    expect(await spyCount("C_Login")).toBe(1);
    expect(seenByServer).toHaveLength(0);
  });

  it("a TLS 1.3 server requiring client certificates sees the card's authentication certificate", async () => {
    const options = cardTlsOptions(cardIdentity(), { ca: pki.rootCertPem });
    // No key material in the options: only a context whose key lives in the token.
    expect(Object.keys(options)).toEqual(["secureContext"]);
    const signaturesBefore = await spyCount("C_Sign");
    expect(await handshake({ ...options, minVersion: "TLSv1.3" })).toBe("hello 810000000002/CURIE/MARIE");
    expect(seenByServer.at(-1)).toMatchObject({
      authorized: true,
      protocol: "TLSv1.3",
      subject: { C: "FR", O: "Passerelle Sandbox", OU: "Pharmacien", serialNumber: "810000000002", CN: "810000000002/CURIE/MARIE" },
    });
    // The handshake signature (CertificateVerify) was made by the token.
    expect(await spyCount("C_Sign")).toBeGreaterThan(signaturesBefore);
    expect(await spyCount("C_Login")).toBe(2);
  });

  it("does TLS 1.2 too, and one context serves many connections without logging in again", async () => {
    const options = cardTlsOptions(cardIdentity(), { ca: pki.rootCertPem, maxVersion: "TLSv1.2" });
    const logins = await spyCount("C_Login");
    for (let i = 0; i < 3; i += 1) expect(await handshake(options)).toBe("hello 810000000002/CURIE/MARIE");
    expect(seenByServer.at(-1)?.protocol).toBe("TLSv1.2");
    expect(await spyCount("C_Login")).toBe(logins);
  });

  it("works through the gateway's UpstreamClient (tls.secureContext): the DMP-style server sees the card's certificate", async () => {
    const https: HttpsServer = createHttpsServer(
      { key: server.keyPem, cert: [server.certPem, ...server.chainPem].join("\n"), ca: [pki.rootCertPem], requestCert: true, rejectUnauthorized: true },
      (req, res) => {
        const peer = (req.socket as TLSSocket).getPeerCertificate();
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ serialNumber: peer.subject.serialNumber, authorized: (req.socket as TLSSocket).authorized }));
      },
    );
    await new Promise<void>((resolve) => https.listen(0, "127.0.0.1", resolve));
    const port = (https.address() as AddressInfo).port;
    const { secureContext } = cardTlsOptions(cardIdentity(), { ca: pki.rootCertPem });
    const client = new UpstreamClient({ name: "fr-dmp", baseUrl: `https://127.0.0.1:${port}`, tls: { secureContext, servername: "localhost" } });
    try {
      const answer = await client.request({ method: "GET", path: "/dmp" });
      expect(answer.json()).toEqual({ serialNumber: "810000000002", authorized: true });
      expect(() => new UpstreamClient({ name: "mixed", baseUrl: "https://127.0.0.1:1", tls: { secureContext, ca: pki.rootCertPem } })).toThrow(
        /secureContext excludes tls.ca/,
      );
    } finally {
      await client.close();
      await new Promise((resolve) => https.close(resolve));
    }
  });

  it("works as undici connect options (an Agent to an HTTPS server that requires the card)", async () => {
    const https: HttpsServer = createHttpsServer(
      {
        key: server.keyPem,
        cert: [server.certPem, ...server.chainPem].join("\n"),
        ca: [pki.rootCertPem],
        requestCert: true,
        rejectUnauthorized: true,
        // No session tickets: every connection is a full handshake, which the card must sign.
        secureOptions: constants.SSL_OP_NO_TICKET,
      },
      (req, res) => {
        const peer = (req.socket as TLSSocket).getPeerCertificate();
        res.setHeader("connection", "close");
        res.end(JSON.stringify({ serialNumber: peer.subject.serialNumber }));
      },
    );
    await new Promise<void>((resolve) => https.listen(0, "127.0.0.1", resolve));
    const port = (https.address() as AddressInfo).port;
    const agent = new Agent({ connect: { ...cardTlsOptions(cardIdentity(), { ca: pki.rootCertPem }), servername: "localhost" } });
    try {
      const signatures = await spyCount("C_Sign");
      for (let i = 0; i < 3; i += 1) {
        const answer = await request(`https://127.0.0.1:${port}/dmp`, { dispatcher: agent });
        expect(answer.statusCode).toBe(200);
        expect(await answer.body.json()).toEqual({ serialNumber: "810000000002" });
      }
      // A new connection and a full handshake per request (the server closes each one and issues no tickets): one card signature each.
      expect(await spyCount("C_Sign")).toBeGreaterThanOrEqual(signatures + 3);
    } finally {
      await agent.close();
      await new Promise((resolve) => https.close(resolve));
    }
  });

  it("an absent token is a 503, and card TLS refuses to repoint the process at another PKCS#11 library", async () => {
    expect(await caught(() => createCardSecureContext(cardIdentity({ tokenLabel: "CPS-NOT-INSERTED" })))).toMatchObject({
      code: "PASSERELLE_CARD_UNAVAILABLE",
      status: 503,
      extensions: { reason: "token_absent" },
    });
    expect(() => createCardSecureContext(cardIdentity({ modulePath: DEFAULT_PKCS11_MODULE }))).toThrow(/PKCS11_MODULE_PATH is already/);
    expect(await caught(() => createCardSecureContext(cardIdentity({ enginePath: join(dir, "engines", "pkcs11.so") })))).toMatchObject({
      extensions: { reason: "module_missing" },
    });
    expect(() => createCardSecureContext(cardIdentity({ keyLabel: undefined, keyId: undefined }))).toThrow(TypeError);
  });
});
