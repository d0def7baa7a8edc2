import { X509Certificate } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SandboxPki } from "../../trust/pki/index.js";
import { certificateMatchesRegistration, subjectDistinguishedName } from "./tls-client-auth.js";

let dataDir: string;
let clientCertificate: X509Certificate;
let serverCertificate: X509Certificate;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "passerelle-tls-client-auth-"));
  const pki = await SandboxPki.open(dataDir);
  const [clientIdentity, serverIdentity] = await Promise.all([
    pki.clientIdentity("dn-test", { country: "FR", subject: { C: "FR", O: "Cabinet Dupont, Martin & Co", OU: "IT", CN: "passerelle-psc" } }),
    pki.serverIdentity("fr-psc", { country: "FR" }),
  ]);
  clientCertificate = new X509Certificate(clientIdentity.certPem);
  serverCertificate = new X509Certificate(serverIdentity.certPem);
});

afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

describe("tls_client_auth subject matching (RFC 8705 §2.1.2)", () => {
  it("writes the subject as an RFC 4514 string, most specific RDN first, specials escaped", () => {
    expect(subjectDistinguishedName(clientCertificate)).toBe("CN=passerelle-psc,OU=IT,O=Cabinet Dupont\\, Martin & Co,C=FR");
  });

  it("matches equal DNs whatever the case of types and values, the spaces, or the escape form", () => {
    for (const expected of [
      "CN=passerelle-psc,OU=IT,O=Cabinet Dupont\\, Martin & Co,C=FR",
      "cn=PASSERELLE-PSC, ou=it, o=Cabinet  Dupont\\, Martin & Co, c=fr",
      "CN=passerelle-psc,OU=IT,O=Cabinet Dupont\\2C Martin & Co,C=FR",
    ]) {
      expect(certificateMatchesRegistration(clientCertificate, "tls_client_auth_subject_dn", expected), expected).toBe(true);
    }
  });

  it("rejects other DNs, reordered RDNs and malformed strings", () => {
    for (const expected of [
      "CN=someone-else,OU=IT,O=Cabinet Dupont\\, Martin & Co,C=FR",
      "C=FR,O=Cabinet Dupont\\, Martin & Co,OU=IT,CN=passerelle-psc",
      "CN=passerelle-psc,OU=IT,O=Cabinet Dupont,C=FR",
      "CN=passerelle-psc,OU=IT,O=Cabinet Dupont\\, Martin & Co",
      "CN=passerelle-psc,OU=IT,O=Cabinet Dupont\\, Martin & Co,C=FR\\",
      "passerelle-psc",
      "",
    ]) {
      expect(certificateMatchesRegistration(clientCertificate, "tls_client_auth_subject_dn", expected), expected).toBe(false);
    }
  });

  it("matches subjectAltName registrations of the right type only", () => {
    expect(certificateMatchesRegistration(serverCertificate, "tls_client_auth_san_dns", "localhost")).toBe(true);
    expect(certificateMatchesRegistration(serverCertificate, "tls_client_auth_san_ip", "127.0.0.1")).toBe(true);
    expect(certificateMatchesRegistration(serverCertificate, "tls_client_auth_san_dns", "127.0.0.1")).toBe(false);
    expect(certificateMatchesRegistration(serverCertificate, "tls_client_auth_san_dns", "example.org")).toBe(false);
    expect(certificateMatchesRegistration(clientCertificate, "tls_client_auth_san_dns", "localhost")).toBe(false);
    expect(certificateMatchesRegistration(serverCertificate, "tls_client_auth_unknown", "localhost")).toBe(false);
  });
});
