/**
 * The keys of one sandbox identity provider: its token signing key (RS256,
 * published at the JWKS endpoint) and the keys signing its cookies. They are
 * kept in the simulator's data directory so that a restarted sandbox keeps
 * the same `kid` and tokens issued before the restart still verify.
 */
import { randomBytes } from "node:crypto";
import { readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from "jose";

export interface ProviderKeys {
  /** Private JWKs, each with `kid` (its RFC 7638 thumbprint), `alg` and `use`. */
  signingKeys: JWK[];
  /** Keys signing the provider's cookies (Koa keygrip); the first signs, all verify. */
  cookieKeys: string[];
}

const FILE_NAME = "provider-keys.json";
const FORMAT_VERSION = 1;
/** RS256: what every relying party supports, and what the national providers sign with. */
const SIGNING_ALGORITHM = "RS256";

/**
 * Reads the keys from `<dataDir>/provider-keys.json`, or makes and saves new
 * ones when the file is missing or unusable. The file holds private keys: it
 * is written with mode 0600, through a rename so a crash never leaves half a file.
 */
export async function loadOrCreateProviderKeys(dataDir: string): Promise<ProviderKeys> {
  const path = join(dataDir, FILE_NAME);
  const stored = await readStoredKeys(path);
  if (stored !== undefined) return stored;

  const { privateKey } = await generateKeyPair(SIGNING_ALGORITHM, { modulusLength: 2048, extractable: true });
  const jwk = await exportJWK(privateKey);
  const signingKey: JWK = { ...jwk, kid: await calculateJwkThumbprint(jwk), alg: SIGNING_ALGORITHM, use: "sig" };
  const keys: ProviderKeys = { signingKeys: [signingKey], cookieKeys: [randomBytes(32).toString("base64url")] };

  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, JSON.stringify({ version: FORMAT_VERSION, ...keys }, null, 2), { mode: 0o600 });
  await rename(temporary, path);
  return keys;
}

async function readStoredKeys(path: string): Promise<ProviderKeys | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (!isRecord(parsed) || parsed.version !== FORMAT_VERSION) return undefined;
    const { signingKeys, cookieKeys } = parsed;
    if (!Array.isArray(signingKeys) || signingKeys.length === 0 || !signingKeys.every(isPrivateRsaSigningKey)) return undefined;
    if (!Array.isArray(cookieKeys) || cookieKeys.length === 0 || !cookieKeys.every((key) => typeof key === "string" && key.length >= 32)) {
      return undefined;
    }
    return { signingKeys: signingKeys as JWK[], cookieKeys: cookieKeys as string[] };
  } catch {
    // Damaged file: new keys replace it (tokens signed with the old ones stop verifying, which is fine in a sandbox).
    return undefined;
  }
}

function isPrivateRsaSigningKey(value: unknown): boolean {
  if (!isRecord(value)) return false;
  return (
    value.kty === "RSA" &&
    value.alg === SIGNING_ALGORITHM &&
    value.use === "sig" &&
    ["kid", "n", "e", "d", "p", "q", "dp", "dq", "qi"].every((member) => typeof value[member] === "string")
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
