/**
 * The upstream client over real TLS: a throwaway PKI is minted for the run
 * (CA, server and client certificates) and real HTTPS servers on 127.0.0.1
 * check what the client presents.
 */
import "reflect-metadata";
import { webcrypto } from "node:crypto";
import { createServer } from "node:https";
import type { Server, ServerOptions } from "node:https";
import type { AddressInfo } from "node:net";
import type { TLSSocket } from "node:tls";
import * as x509 from "@peculiar/x509";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { UpstreamClient, UpstreamError } from "./index.js";
import type { UpstreamOptions } from "./index.js";

// @peculiar/x509 uses globalThis.crypto by default, which Node 24 provides.

const SIGNING = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const DAY = 24 * 60 * 60 * 1000;

interface Identity {
  certPem: string;
  keyPem: string;
}

interface Authority extends Identity {
  name: string;
  keys: webcrypto.CryptoKeyPair;
}

async function privateKeyPem(key: webcrypto.CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey("pkcs8", key);
  const base64 = Buffer.from(der).toString("base64").replace(/(.{64})/g, "$1\n");
  return `-----BEGIN PRIVATE KEY-----\n${base64}\n-----END PRIVATE KEY-----\n`;
}

async function createAuthority(commonName: string): Promise<Authority> {
  const keys = await webcrypto.subtle.generateKey(SIGNING, true, ["sign", "verify"]);
  const name = `CN=${commonName}`;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name,
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(Date.now() + DAY),
    signingAlgorithm: SIGNING,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { name, keys, certPem: cert.toString("pem"), keyPem: await privateKeyPem(keys.privateKey) };
}

async function issue(
  authority: Authority,
  options: {
    commonName: string;
    usage: "server" | "client";
    hostNames?: { ips?: string[]; dns?: string[] };
    notBefore?: Date;
    notAfter?: Date;
  },
): Promise<Identity> {
  const keys = await webcrypto.subtle.generateKey(SIGNING, true, ["sign", "verify"]);
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension(
      [options.usage === "server" ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth],
      false,
    ),
    await x509.AuthorityKeyIdentifierExtension.create(authority.keys.publicKey),
  ];
  if (options.hostNames) {
    extensions.push(
      new x509.SubjectAlternativeNameExtension([
        ...(options.hostNames.ips ?? []).map((value) => ({ type: "ip" as const, value })),
        ...(options.hostNames.dns ?? []).map((value) => ({ type: "dns" as const, value })),
      ]),
    );
  }
  const cert = await x509.X509CertificateGenerator.create({
    subject: `CN=${options.commonName}`,
    issuer: authority.name,
    notBefore: options.notBefore ?? new Date(Date.now() - DAY),
    notAfter: options.notAfter ?? new Date(Date.now() + DAY),
    signingAlgorithm: SIGNING,
    publicKey: keys.publicKey,
    signingKey: authority.keys.privateKey,
    extensions,
  });
  return { certPem: cert.toString("pem"), keyPem: await privateKeyPem(keys.privateKey) };
}

interface Pki {
  ca: Authority;
  rogueCa: Authority;
  server: Identity;
  untrustedServer: Identity;
  wrongNameServer: Identity;
  expiredServer: Identity;
  client: Identity;
  rogueClient: Identity;
}

let pki: Pki;

beforeAll(async () => {
  const ca = await createAuthority("Passerelle Test CA");
  const rogueCa = await createAuthority("Rogue CA");
  const localhost = { ips: ["127.0.0.1"], dns: ["localhost"] };
  pki = {
    ca,
    rogueCa,
    server: await issue(ca, { commonName: "upstream.test", usage: "server", hostNames: localhost }),
    untrustedServer: await issue(rogueCa, { commonName: "upstream.test", usage: "server", hostNames: localhost }),
    wrongNameServer: await issue(ca, { commonName: "elsewhere", usage: "server", hostNames: { dns: ["elsewhere.test"] } }),
    expiredServer: await issue(ca, {
      commonName: "upstream.test",
      usage: "server",
      hostNames: localhost,
      notBefore: new Date(Date.now() - 10 * DAY),
      notAfter: new Date(Date.now() - 5 * DAY),
    }),
    client: await issue(ca, { commonName: "passerelle-test-client", usage: "client" }),
    rogueClient: await issue(rogueCa, { commonName: "intruder", usage: "client" }),
  };
});

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface TlsUpstream {
  url: string;
  /** TCP connections accepted, handshakes included. */
  readonly connections: number;
}

/** An HTTPS upstream answering `{ clientCN }`: the subject CN of the client certificate, or null. */
async function startTlsUpstream(identity: Identity, extra: ServerOptions = {}): Promise<TlsUpstream> {
  let connections = 0;
  const server: Server = createServer({ cert: identity.certPem, key: identity.keyPem, ...extra }, (req, res) => {
    const peer = (req.socket as TLSSocket).getPeerCertificate();
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ clientCN: peer.subject?.CN ?? null }));
  });
  server.on("connection", () => {
    connections += 1;
  });
  // Handshake failures are the point of several tests; keep them off stderr.
  server.on("tlsClientError", () => {});
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  cleanups.push(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return {
    url: `https://127.0.0.1:${port}`,
    get connections() {
      return connections;
    },
  };
}

function client(options: Partial<UpstreamOptions> & { baseUrl: string }): UpstreamClient {
  const created = new UpstreamClient({
    name: "fr-dmp",
    timeoutMs: 2_000,
    connectTimeoutMs: 1_000,
    sleep: async () => {},
    ...options,
  });
  cleanups.push(() => created.close());
  return created;
}

async function rejectionOf(promise: Promise<unknown>): Promise<UpstreamError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof UpstreamError) return error;
    throw error;
  }
  throw new Error("expected the call to fail");
}

describe("UpstreamClient over TLS", () => {
  it("talks to a server whose certificate chains to the configured CA", async () => {
    const upstream = await startTlsUpstream(pki.server);
    const answer = await client({ baseUrl: upstream.url, tls: { ca: pki.ca.certPem } }).request({
      method: "GET",
      path: "/",
    });
    expect(answer.json()).toEqual({ clientCN: null });
  });

  it("checks the host name against servername when one is given", async () => {
    const upstream = await startTlsUpstream(pki.wrongNameServer);
    const answer = await client({
      baseUrl: upstream.url,
      tls: { ca: pki.ca.certPem, servername: "elsewhere.test" },
    }).request({ method: "GET", path: "/" });
    expect(answer.status).toBe(200);
  });

  it("refuses a server certificate from an untrusted CA with a 503 that says so, without retrying", async () => {
    const upstream = await startTlsUpstream(pki.untrustedServer);
    const dmp = client({ baseUrl: upstream.url, tls: { ca: pki.ca.certPem } });
    const error = await rejectionOf(dmp.request({ method: "GET", path: "/" }));

    expect(error.code).toBe("PASSERELLE_UPSTREAM_UNAVAILABLE");
    expect(error.status).toBe(503);
    expect(error.kind).toBe("tls");
    expect(error.detail).toBe("TLS handshake with fr-dmp failed: certificate not trusted");
    expect(error.extensions).toEqual({ upstream: "fr-dmp" });
    expect(upstream.connections).toBe(1);
  });

  it("refuses a server certificate for another host name", async () => {
    const upstream = await startTlsUpstream(pki.wrongNameServer);
    const error = await rejectionOf(
      client({ baseUrl: upstream.url, tls: { ca: pki.ca.certPem } }).request({ method: "GET", path: "/" }),
    );
    expect(error.kind).toBe("tls");
    expect(error.detail).toBe("TLS handshake with fr-dmp failed: certificate does not match the host name");
  });

  it("refuses an expired server certificate", async () => {
    const upstream = await startTlsUpstream(pki.expiredServer);
    const error = await rejectionOf(
      client({ baseUrl: upstream.url, tls: { ca: pki.ca.certPem } }).request({ method: "GET", path: "/" }),
    );
    expect(error.kind).toBe("tls");
    expect(error.detail).toBe("TLS handshake with fr-dmp failed: certificate expired");
  });

  it("reports an untrusted server in ping without throwing", async () => {
    const upstream = await startTlsUpstream(pki.untrustedServer);
    const result = await client({ baseUrl: upstream.url, tls: { ca: pki.ca.certPem } }).ping();
    expect(result).toMatchObject({ ok: false, detail: "TLS handshake with fr-dmp failed: certificate not trusted" });
  });

  describe("mutual TLS", () => {
    const requireClientCertificate = (): ServerOptions => ({
      requestCert: true,
      rejectUnauthorized: true,
      ca: pki.ca.certPem,
    });

    it("presents the client certificate, which the server sees", async () => {
      const upstream = await startTlsUpstream(pki.server, requireClientCertificate());
      const dmp = client({
        baseUrl: upstream.url,
        tls: { ca: pki.ca.certPem, cert: pki.client.certPem, key: pki.client.keyPem },
      });
      const answer = await dmp.request({ method: "GET", path: "/" });
      expect(answer.json()).toEqual({ clientCN: "passerelle-test-client" });
      expect((await dmp.ping()).ok).toBe(true);
    });

    it("fails clearly when the server requires a client certificate and none is configured", async () => {
      const upstream = await startTlsUpstream(pki.server, requireClientCertificate());
      const error = await rejectionOf(
        client({ baseUrl: upstream.url, tls: { ca: pki.ca.certPem } }).request({ method: "GET", path: "/" }),
      );
      expect(error.code).toBe("PASSERELLE_UPSTREAM_UNAVAILABLE");
      expect(error.kind).toBe("tls");
      expect(error.detail).toBe("TLS handshake with fr-dmp failed: the server requires a client certificate");
      expect(upstream.connections).toBe(1); // a missing certificate is not fixed by trying again
    });

    it("hints at a refused client certificate when the server hangs up without a TLS alert", async () => {
      // Node's TLS server checks client certificates after the handshake and
      // just closes the connection; a server that sends an unknown_ca alert
      // gets "does not trust the issuer of our client certificate" instead.
      const upstream = await startTlsUpstream(pki.server, requireClientCertificate());
      const error = await rejectionOf(
        client({
          baseUrl: upstream.url,
          tls: { ca: pki.ca.certPem, cert: pki.rogueClient.certPem, key: pki.rogueClient.keyPem },
          retry: { maxAttempts: 1 },
        }).request({ method: "GET", path: "/" }),
      );
      expect(error.code).toBe("PASSERELLE_UPSTREAM_UNAVAILABLE");
      expect(error.kind).toBe("unreachable");
      expect(error.detail).toBe(
        "Upstream fr-dmp unreachable: connection closed by the server before any answer; it may have refused our client certificate",
      );
    });
  });
});
