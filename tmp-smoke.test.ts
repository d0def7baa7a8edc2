import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { createHash, X509Certificate } from "node:crypto";
import { pino } from "pino";
import { it } from "vitest";
import { SandboxPki } from "./src/trust/pki/index.js";
import { buildSandboxTsaApp } from "./src/sandbox/tsa/simulator.js";
import { buildTimestampRequest, parseTimestampResponse, verifyTimestampToken } from "./src/protocols/tsp/index.js";

it("smoke", async () => {
  const dir = await mkdtemp(join(tmpdir(), "tsp-smoke-"));
  const pki = await SandboxPki.open(dir);
  const app = await buildSandboxTsaApp(pki, pino({ level: "silent" }));
  const data = Buffer.from("hello world");
  const digest = createHash("sha256").update(data).digest();
  const req = buildTimestampRequest(digest, { hashAlgorithm: "SHA-256" });
  const res = await app.inject({ method: "POST", url: "/tsa", headers: { "content-type": "application/timestamp-query" }, payload: req.der });
  console.log(res.statusCode, res.headers["content-type"], res.rawPayload.length);
  await writeFile(join(dir, "req.tsq"), req.der);
  await writeFile(join(dir, "resp.tsr"), res.rawPayload);
  await writeFile(join(dir, "data"), data);
  await writeFile(join(dir, "root.pem"), pki.rootCertPem);
  await writeFile(join(dir, "chain.pem"), pki.caCertPem("LU"));
  console.log(execFileSync("openssl", ["ts", "-reply", "-in", join(dir, "resp.tsr"), "-text"]).toString());
  try {
    console.log(execFileSync("openssl", ["ts", "-verify", "-in", join(dir, "resp.tsr"), "-queryfile", join(dir, "req.tsq"), "-CAfile", join(dir, "root.pem"), "-untrusted", join(dir, "chain.pem")], { stdio: "pipe" }).toString());
  } catch (e) { console.log(String((e as {stderr: Buffer}).stderr), String((e as {stdout: Buffer}).stdout)); }
  const parsed = parseTimestampResponse(res.rawPayload);
  const token = await verifyTimestampToken(parsed.token!, { data, nonce: req.nonce, trust: { anchors: [new X509Certificate(pki.rootCertPem)] } });
  console.log(token.genTime, token.serialNumber, token.tsaCertificate.subject, token.policy);
});
