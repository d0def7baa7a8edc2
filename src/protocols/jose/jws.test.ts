import { createHmac, createSecretKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { describe, expect, it } from "vitest";
import { PasserelleError } from "../../errors/index.js";
import {
  ID_TOKEN_ALGS,
  JoseError,
  exportPublicJwk,
  signJws,
  verifyJws,
  type JsonWebKeySet,
  type JwsAlgorithm,
} from "./index.js";

const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const otherRsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
const secret = createSecretKey(Buffer.alloc(32, 7));

async function rejection(promise: Promise<unknown>): Promise<JoseError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof JoseError) return error;
    throw error;
  }
  throw new Error("expected a JoseError");
}

function b64u(value: string | Buffer): string {
  return Buffer.from(value).toString("base64url");
}

describe("signJws / verifyJws allow-lists", () => {
  it("round-trips a JSON payload with an explicit type", async () => {
    const jws = await signJws({ sub: "practitioner-1" }, rsa.privateKey, { alg: "PS256", kid: "k1", typ: "JWT" });
    const verified = await verifyJws(jws, rsa.publicKey, { algorithms: ID_TOKEN_ALGS, typ: "application/jwt" });
    expect(JSON.parse(Buffer.from(verified.payload).toString())).toEqual({ sub: "practitioner-1" });
    expect(verified.protectedHeader).toEqual({ alg: "PS256", kid: "k1", typ: "JWT" });
  });

  it.each([
    ["an empty list", []],
    ['"none"', ["none"]],
    ["an unknown name", ["RS257"]],
    ["no list at all", undefined],
  ])("refuses %s as an allow-list with a TypeError (there is no 'any algorithm')", async (_name, algorithms) => {
    const jws = await signJws("x", rsa.privateKey, { alg: "RS256" });
    await expect(verifyJws(jws, rsa.publicKey, { algorithms: algorithms as unknown as JwsAlgorithm[] })).rejects.toThrow(TypeError);
  });

  it("refuses HMAC algorithms with a public key or a key set (RFC 8725 §2.2), as a configuration mistake", async () => {
    const jws = await signJws("x", secret, { alg: "HS256" });
    await expect(verifyJws(jws, rsa.publicKey, { algorithms: ["RS256", "HS256"] })).rejects.toThrow(/HMAC/);
    const jwks: JsonWebKeySet = { keys: [await exportPublicJwk(rsa.publicKey)] };
    await expect(verifyJws(jws, jwks, { algorithms: ["HS256"] })).rejects.toThrow(/key set/);
    await expect(signJws("x", rsa.privateKey, { alg: "HS256" })).rejects.toThrow(TypeError);
  });

  it("rejects the classic key-confusion forgery: an HS256 token 'signed' with the RSA public key as HMAC secret", async () => {
    const publicPem = rsa.publicKey.export({ type: "spki", format: "pem" });
    const header = b64u(JSON.stringify({ alg: "HS256" }));
    const payload = b64u(JSON.stringify({ sub: "admin" }));
    const forged = `${header}.${payload}.${createHmac("sha256", publicPem).update(`${header}.${payload}`).digest("base64url")}`;
    const error = await rejection(verifyJws(forged, rsa.publicKey, { algorithms: ["RS256"] }));
    expect(error.reason).toBe("algorithm_not_allowed");
  });

  it('rejects an unsecured token ("alg": "none") whatever the allow-list', async () => {
    const token = `${b64u('{"alg":"none"}')}.${b64u('{"sub":"admin"}')}.`;
    expect((await rejection(verifyJws(token, rsa.publicKey, { algorithms: ["RS256"] }))).reason).toBe("algorithm_not_allowed");
  });

  it("says key_mismatch when the header picks an allowed algorithm of another key family", async () => {
    const jws = await signJws("x", ec.privateKey, { alg: "ES256" });
    expect((await rejection(verifyJws(jws, rsa.publicKey, { algorithms: ["RS256", "ES256"] }))).reason).toBe("key_mismatch");
  });

  it("says signature_invalid for a signature by another key of the right type", async () => {
    const jws = await signJws("x", otherRsa.privateKey, { alg: "RS256" });
    const error = await rejection(verifyJws(jws, rsa.publicKey, { algorithms: ["RS256"] }));
    expect(error.reason).toBe("signature_invalid");
    expect(error).toBeInstanceOf(PasserelleError);
    expect(error.code).toBe("PASSERELLE_JOSE_INVALID");
    expect(error.status).toBe(400);
    expect(error.extensions).toEqual({ reason: "signature_invalid" });
  });

  it("says malformed for things that are not a JWS", async () => {
    for (const input of ["abc", "a.b", `${b64u("not json")}.e30.c2ln`, 42 as unknown as string]) {
      expect((await rejection(verifyJws(input, rsa.publicKey, { algorithms: ["RS256"] }))).reason).toBe("malformed");
    }
  });

  it("checks the explicit type (RFC 8725 §3.11)", async () => {
    const jws = await signJws("x", rsa.privateKey, { alg: "RS256", typ: "at+jwt" });
    expect((await rejection(verifyJws(jws, rsa.publicKey, { algorithms: ["RS256"], typ: "JWT" }))).reason).toBe("header_invalid");
    await expect(verifyJws(jws, rsa.publicKey, { algorithms: ["RS256"], typ: "application/at+JWT" })).resolves.toBeDefined();
  });

  it("rejects a critical extension this use does not understand, and accepts it once declared", async () => {
    const jws = await signJws("x", rsa.privateKey, { alg: "RS256", header: { "urn:example:policy": "v2" }, crit: ["urn:example:policy"] });
    const error = await rejection(verifyJws(jws, rsa.publicKey, { algorithms: ["RS256"] }));
    expect(error.reason).toBe("header_invalid");
    expect(error.detail).toMatch(/urn:example:policy/);
    const verified = await verifyJws(jws, rsa.publicKey, { algorithms: ["RS256"], crit: ["urn:example:policy"] });
    expect(verified.protectedHeader.crit).toEqual(["urn:example:policy"]);
  });

  it("refuses caller mistakes in signing options with TypeError", async () => {
    await expect(signJws("x", rsa.privateKey, { alg: "RS256", header: { alg: "HS256" } })).rejects.toThrow(/dedicated option/);
    await expect(signJws("x", rsa.privateKey, { alg: "RS256", crit: ["exp"] })).rejects.toThrow(/not in the protected header/);
    await expect(signJws("x", rsa.privateKey, { alg: "none" as JwsAlgorithm })).rejects.toThrow(TypeError);
    await expect(signJws("x", ec.privateKey, { alg: "RS256" })).rejects.toThrow(TypeError);
    await expect(signJws("x", rsa.privateKey, { alg: "RS256", b64: false })).rejects.toThrow(/JSON serialization/);
    await expect(
      signJws("x", rsa.privateKey, { alg: "RS256", unprotectedHeader: { kid: "a" } } as Parameters<typeof signJws>[2] & { serialization?: "compact" }),
    ).rejects.toThrow(/compact/);
  });
});

describe("verifyJws with a key set", () => {
  async function keySet(...keys: Array<{ key: KeyObject; kid?: string }>): Promise<JsonWebKeySet> {
    return { keys: await Promise.all(keys.map(({ key, kid }) => exportPublicJwk(key, kid === undefined ? { use: "sig" } : { kid, use: "sig" }))) };
  }

  it("picks the key named by kid", async () => {
    const jwks = await keySet({ key: otherRsa.publicKey, kid: "old" }, { key: rsa.publicKey, kid: "new" });
    const jws = await signJws("x", rsa.privateKey, { alg: "RS256", kid: "new" });
    expect(Buffer.from((await verifyJws(jws, jwks, { algorithms: ["RS256"] })).payload).toString()).toBe("x");
  });

  it("says key_not_found when no key has the kid, and key_ambiguous when several fit and no kid says which", async () => {
    const jwks = await keySet({ key: otherRsa.publicKey, kid: "old" }, { key: rsa.publicKey, kid: "new" });
    const unknownKid = await signJws("x", rsa.privateKey, { alg: "RS256", kid: "gone" });
    expect((await rejection(verifyJws(unknownKid, jwks, { algorithms: ["RS256"] }))).reason).toBe("key_not_found");
    const noKid = await signJws("x", rsa.privateKey, { alg: "RS256" });
    expect((await rejection(verifyJws(noKid, jwks, { algorithms: ["RS256"] }))).reason).toBe("key_ambiguous");
  });
});
