import { X509Certificate } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SandboxPki } from "../../trust/pki/index.js";
import { buildSandboxCaApp, type SandboxCaApp } from "./simulator.js";

let dataDir: string;
let pki: SandboxPki;
let app: SandboxCaApp;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "passerelle-sandbox-ca-"));
  pki = await SandboxPki.open(dataDir);
  app = buildSandboxCaApp(pki, pino({ level: "silent" }));
  await app.ready();
});

afterAll(async () => {
  await app.close();
  await rm(dataDir, { recursive: true, force: true });
});

function certificatesIn(pem: string): X509Certificate[] {
  return (pem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----\n/g) ?? []).map((block) => new X509Certificate(block));
}

describe("sandbox CA simulator", () => {
  it("serves the root as application/pem-certificate-chain", async () => {
    const res = await app.inject({ method: "GET", url: "/ca/root.pem" });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("application/pem-certificate-chain");
    expect(res.headers["cache-control"]).toBe("no-cache");
    expect(res.body).toBe(pki.rootCertPem);
  });

  it("serves each country CA, whatever the case of the country code", async () => {
    for (const country of ["FR", "LU", "BE"] as const) {
      for (const file of [`${country}.pem`, `${country.toLowerCase()}.pem`]) {
        const res = await app.inject({ method: "GET", url: `/ca/${file}` });
        expect(res.statusCode, file).toBe(200);
        expect(res.headers["content-type"]).toBe("application/pem-certificate-chain");
        expect(res.body).toBe(pki.caCertPem(country));
      }
    }
  });

  it("serves the chain: the country CAs, then the root", async () => {
    const res = await app.inject({ method: "GET", url: "/ca/chain.pem" });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("application/pem-certificate-chain");
    const subjects = certificatesIn(res.body).map((cert) => cert.subject.split("\n").at(-1));
    expect(subjects).toEqual([
      "CN=Passerelle Sandbox FR CA",
      "CN=Passerelle Sandbox LU CA",
      "CN=Passerelle Sandbox BE CA",
      "CN=Passerelle Sandbox Root CA",
    ]);
  });

  it("answers health checks", async () => {
    const res = await app.inject({ method: "GET", url: "/.well-known/health" });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: "ok", simulator: "sandbox-ca" });
  });

  it("answers 404 problem+json for unknown paths, countries and methods", async () => {
    for (const [method, url] of [
      ["GET", "/nowhere?x=1"],
      ["GET", "/ca/de.pem"],
      ["POST", "/ca/root.pem"],
    ] as const) {
      const res = await app.inject({ method, url });
      expect(res.statusCode, url).toBe(404);
      expect(res.headers["content-type"]).toBe("application/problem+json; charset=utf-8");
      expect(res.json()).toMatchObject({
        type: "https://passerelle.dev/problems/not-found",
        title: "Resource not found",
        status: 404,
        code: "PASSERELLE_NOT_FOUND",
        instance: url.split("?")[0],
      });
    }
  });
});
