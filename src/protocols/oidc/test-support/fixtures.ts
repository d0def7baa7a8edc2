/**
 * Shared set-up of the OIDC tests: a throw-away sandbox PKI, a rogue OP with
 * one client per authentication method, and a browser-like helper that
 * follows the authorization redirect.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportJWK, exportPKCS8, generateKeyPair } from "jose";
import { Agent, request } from "undici";
import { SandboxPki, type PemIdentity } from "../../../trust/pki/index.js";
import { RogueOp } from "./rogue-op.js";
import { TestSoftwareSigner } from "./software-signer.js";

export const REDIRECT_URI = "http://127.0.0.1:8080/v1/auth/callback";
export const MTLS_CLIENT_CN = "rogue-mtls-client";

export interface OidcFixture {
  dir: string;
  pki: SandboxPki;
  op: RogueOp;
  /** PKCS#8 PEM of the private_key_jwt client. */
  assertionKeyPem: string;
  rsaSigner: TestSoftwareSigner;
  ecSigner: TestSoftwareSigner;
  mtlsIdentity: PemIdentity;
  /** Follows the browser leg: GET the authorization URL, return the redirect's query. */
  authorize(url: URL): Promise<URLSearchParams>;
  close(): Promise<void>;
}

export async function startOidcFixture(): Promise<OidcFixture> {
  const dir = await mkdtemp(join(tmpdir(), "passerelle-oidc-"));
  const pki = await SandboxPki.open(dir);
  const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
  const rsaSigner = new TestSoftwareSigner("test-rsa", "RSA");
  const ecSigner = new TestSoftwareSigner("test-ec", "EC");
  const mtlsIdentity = await pki.clientIdentity("rogue-mtls-client", { country: "FR", subject: { CN: MTLS_CLIENT_CN, O: "Passerelle tests" } });
  const op = await RogueOp.start({
    pki,
    users: ["rogue-user-1", "810000000001"],
    clients: [
      { clientId: "basic-client", authMethod: "client_secret_basic", clientSecret: "s3cr3t:with/odd chars", redirectUris: [REDIRECT_URI] },
      { clientId: "post-client", authMethod: "client_secret_post", clientSecret: "post-secret", redirectUris: [REDIRECT_URI] },
      { clientId: "pkjwt-client", authMethod: "private_key_jwt", publicJwk: { ...(await exportJWK(publicKey)), alg: "RS256" }, redirectUris: [REDIRECT_URI] },
      { clientId: "signer-rsa-client", authMethod: "private_key_jwt", publicJwk: { ...(await exportJWK(rsaSigner.publicKey)), alg: "PS256" } },
      { clientId: "signer-ec-client", authMethod: "private_key_jwt", publicJwk: { ...(await exportJWK(ecSigner.publicKey)), alg: "ES256" } },
      { clientId: "mtls-client", authMethod: "tls_client_auth", certificateCommonName: MTLS_CLIENT_CN, redirectUris: [REDIRECT_URI] },
      { clientId: "public-client", authMethod: "none", redirectUris: [REDIRECT_URI] },
    ],
  });
  const browser = new Agent({ connect: { ca: pki.rootCertPem } });
  return {
    dir,
    pki,
    op,
    assertionKeyPem: await exportPKCS8(privateKey),
    rsaSigner,
    ecSigner,
    mtlsIdentity,
    async authorize(url) {
      // undici 7 does not follow redirects unless told to: the 302 is what we want.
      const answer = await request(url, { dispatcher: browser });
      await answer.body.dump();
      const location = answer.headers.location;
      if (answer.statusCode !== 302 || typeof location !== "string") throw new Error(`authorize answered ${answer.statusCode}`);
      return new URL(location).searchParams;
    },
    async close() {
      await op.close();
      await browser.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
