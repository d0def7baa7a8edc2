import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodingOf, readBer, stringContent, type BerElement } from "../cms/ber-reader.js";
import { encodeTlv } from "../cms/der.js";
import { createTestPki, testSigner, type TestPki } from "../cms/test-fixtures.js";
import { readCertificateFields } from "./certificate-fields.js";
import { der } from "./der.js";
import {
  TimestampError,
  TimestampResponder,
  buildTimestampRequest,
  parseTimestampRequest,
  parseTimestampResponse,
  parseTimestampToken,
  verifyTimestampToken,
  type TimestampTrust,
} from "./index.js";

const POLICY = "1.3.6.1.4.1.32473.3161.7";
const DATA = Buffer.from("the signature value a PAdES B-T signature time-stamps");
const NONCE = 0x55n;

let pki: TestPki;
let trust: TimestampTrust;
/** A DER token over DATA with nonce 0x55, the TSA's chain carried. */
let token: Buffer;

beforeAll(async () => {
  pki = await createTestPki();
  trust = { anchors: [pki.root.certificate] };
  let serial = 0x0100n;
  const responder = await TimestampResponder.create({
    signer: testSigner(pki.tsa, [pki.intermediate]),
    policy: POLICY,
    serialNumber: () => (serial += 1n),
    accuracy: { seconds: 1, millis: 250 },
  });
  const request = buildTimestampRequest(createHash("sha256").update(DATA).digest(), { hashAlgorithm: "SHA-256", nonce: NONCE });
  token = parseTimestampResponse(await responder.respond(request.der)).token as Buffer;
});

afterAll(async () => {
  await pki?.cleanup();
});

/**
 * Re-encodes a decoded element: DER lengths, or BER indefinite ones; `replace`
 * substitutes the encoding of chosen elements, `keep` leaves them byte for byte.
 */
function encode(element: BerElement, options: { indefinite?: boolean; replace?: Map<BerElement, Buffer>; keep?: Set<BerElement> } = {}): Buffer {
  const replaced = options.replace?.get(element);
  if (replaced !== undefined) return replaced;
  if (!element.constructed || options.keep?.has(element)) return encodingOf(element);
  const tag = element.bytes[element.start] as number;
  const children = element.children.map((child) => encode(child, options));
  return options.indefinite ? Buffer.concat([Buffer.from([tag, 0x80]), ...children, Buffer.from([0, 0])]) : encodeTlv(tag, ...children);
}

/** The parts of a token's tree the tests change: SignedData's fields, the eContent OCTET STRING, the SignerInfo's. */
function partsOf(bytes: Buffer) {
  const root = readBer(bytes) as BerElement;
  const signedData = root.children[1]?.children[0] as BerElement;
  const [version, digestAlgorithms, encapContentInfo, certificates, signerInfos] = signedData.children as BerElement[];
  const eContent = encapContentInfo?.children[1]?.children[0] as BerElement;
  const signerInfo = signerInfos?.children[0] as BerElement;
  const [, sid, , signedAttrs] = signerInfo.children as BerElement[];
  return { root, signedData, version, digestAlgorithms, encapContentInfo, eContent, certificates: certificates as BerElement, signerInfos: signerInfos as BerElement, signerInfo, sid: sid as BerElement, signedAttrs: signedAttrs as BerElement };
}

async function failureOf(promise: Promise<unknown>): Promise<TimestampError> {
  const outcome = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(outcome).toBeInstanceOf(TimestampError);
  return outcome as TimestampError;
}

const verify = (bytes: Uint8Array) => verifyTimestampToken(bytes, { data: DATA, nonce: NONCE, policy: POLICY, trust });

describe("reading a time-stamp token", () => {
  it("verifies a token sent in BER (indefinite lengths, a constructed eContent) as it verifies its DER form", async () => {
    const parts = partsOf(token);
    // The signed attributes are hashed as received and certificates as issued: they stay DER, the rest becomes BER.
    const content = parts.eContent.bytes.subarray(parts.eContent.contentStart, parts.eContent.contentEnd);
    const segmented = Buffer.concat([
      Buffer.from([0x24, 0x80]),
      der.octetString(content.subarray(0, 10)),
      der.octetString(content.subarray(10)),
      Buffer.from([0, 0]),
    ]);
    const ber = encode(parts.root, {
      indefinite: true,
      keep: new Set([parts.signedAttrs, ...parts.certificates.children]),
      replace: new Map([[parts.eContent, segmented]]),
    });
    expect(ber.equals(token)).toBe(false);
    expect(ber.includes(Buffer.from([0x30, 0x80]))).toBe(true);

    const fromDer = await verify(token);
    const fromBer = await verify(ber);
    expect({ ...fromBer, der: undefined }).toEqual({ ...fromDer, der: undefined });
    expect(fromBer.der.equals(ber)).toBe(true);
    expect(fromBer).toMatchObject({ policy: POLICY, nonce: NONCE, hashAlgorithm: "SHA-256", accuracy: { seconds: 1, millis: 250, micros: 0 } });
    expect(fromBer.tsaCertificate.fingerprint256).toBe(pki.tsa.certificate.fingerprint256);

    // The same token inside a BER TimeStampResp: the token's bytes come out as they were sent.
    const response = Buffer.concat([Buffer.from([0x30, 0x80]), der.sequence(der.integer(0n)), ber, Buffer.from([0, 0])]);
    const parsed = parseTimestampResponse(response);
    expect(parsed.status).toBe("granted");
    expect(parsed.token?.equals(ber)).toBe(true);
  });

  it("finds the TSA certificate by subjectKeyIdentifier when the SignerInfo names it so (RFC 5652 §5.3)", async () => {
    const keyIdentifierExtension = readCertificateFields(pki.tsa.certificate.raw)?.extensions.find((extension) => extension.oid === "2.5.29.14");
    const keyIdentifier = stringContent(readBer(keyIdentifierExtension?.value ?? Buffer.alloc(0)) as BerElement) ?? Buffer.alloc(0);
    expect(keyIdentifier).toHaveLength(20);
    const parts = partsOf(token);
    // sid [0] IMPLICIT SubjectKeyIdentifier; the signature covers the signed attributes, not the sid.
    const bySki = encode(parts.root, { replace: new Map([[parts.sid, encodeTlv(0x80, keyIdentifier)]]) });
    expect((await verify(bySki)).tsaCertificate.fingerprint256).toBe(pki.tsa.certificate.fingerprint256);

    const otherKey = encode(parts.root, { replace: new Map([[parts.sid, encodeTlv(0x80, Buffer.alloc(20, 1))]]) });
    expect(await failureOf(verify(otherKey))).toMatchObject({ reason: "missing-certificate" });
  });

  it("says malformed, with a typed 422 error, for broken structures — before any signature is checked", async () => {
    const parts = partsOf(token);
    const tstInfo = tstInfoOf(token);
    /** The token with its TSTInfo's bytes changed in place (same length: no re-encoding needed). */
    const withTstInfo = (from: Buffer, to: Buffer): Buffer => {
      const at = tstInfo.indexOf(from);
      expect(at, `${from.toString("hex")} in the TSTInfo`).toBeGreaterThanOrEqual(0);
      const changed = Buffer.from(token);
      changed.set(to, parts.eContent.contentStart + at);
      return changed;
    };
    expect(token[1]).toBe(0x82);
    const withByte = (offset: number, value: number): Buffer => {
      const changed = Buffer.from(token);
      changed[offset] = value;
      return changed;
    };
    const genTime = /\d{14}Z/.exec(tstInfo.toString("latin1"))?.[0] ?? "";
    const cases: Array<[string, Buffer, RegExp]> = [
      ["truncated", token.subarray(0, token.length - 1), /not DER/],
      ["a trailing byte", Buffer.concat([token, Buffer.from([0])]), /not DER/],
      // The ContentInfo one byte shorter (30 82 HH LL): its content, the [0], runs past it.
      ["a length past the end of its parent", withByte(3, ((token[3] as number) + 255) % 256), /not DER/],
      ["two signers", encode(parts.root, { replace: new Map([[parts.signerInfos, der.tlv(0x31, encodingOf(parts.signerInfo), encodingOf(parts.signerInfo))]]) }), /exactly one signer/],
      ["no signer", encode(parts.root, { replace: new Map([[parts.signerInfos, der.tlv(0x31)]]) }), /exactly one signer/],
      ["another content type", encode(parts.root, { replace: new Map([[parts.encapContentInfo.children[0] as BerElement, der.oid("1.2.840.113549.1.7.1")]]) }), /not id-ct-TSTInfo/],
      ["no eContent", encode(parts.root, { replace: new Map([[parts.encapContentInfo, der.sequence(der.oid("1.2.840.113549.1.9.16.1.4"))]]) }), /no encapsulated TSTInfo/],
      ["a SET where the SignedData is", encode(parts.root, { replace: new Map([[parts.signedData, der.tlv(0x31, ...parts.signedData.children.map(encodingOf))]]) }), /not a CMS SignedData/],
      ["TSTInfo version 2", withTstInfo(Buffer.from([0x02, 0x01, 0x01, 0x06]), Buffer.from([0x02, 0x01, 0x02, 0x06])), /Unsupported TSTInfo version 2/],
      ["a genTime with an offset", withTstInfo(Buffer.from(genTime, "latin1"), Buffer.from(`${genTime.slice(0, 10)}+0100`, "latin1")), /genTime/],
      ["a 31st of February", withTstInfo(Buffer.from(genTime, "latin1"), Buffer.from(`${genTime.slice(0, 4)}0231${genTime.slice(8)}`, "latin1")), /genTime/],
      ["a negative nonce", withTstInfo(Buffer.from([0x02, 0x01, 0x55]), Buffer.from([0x02, 0x01, 0xd5])), /nonce is negative/],
      ["an element no TSTInfo field can be", withTstInfo(Buffer.from([0x02, 0x01, 0x55]), Buffer.from([0x06, 0x01, 0x2a])), /TSTInfo cannot be parsed/],
    ];
    for (const [label, bytes, detail] of cases) {
      const failure = await failureOf(verify(bytes));
      expect({ label, reason: failure.reason, code: failure.code, status: failure.status }).toEqual({
        label,
        reason: "malformed",
        code: "PASSERELLE_TIMESTAMP_TOKEN_INVALID",
        status: 422,
      });
      expect(failure.detail, label).toMatch(detail);
      expect(() => parseTimestampToken(bytes), label).toThrow(TimestampError);
    }
  });

  it("reports a signature that does not verify, and an imprint over other data, with their own reasons", async () => {
    const parts = partsOf(token);
    const signature = parts.signerInfo.children.find((child) => child.tagNumber === 4 && child.tagClass === 0) as BerElement;
    const forged = Buffer.from(token);
    const last = signature.contentEnd - 1;
    forged[last] = (forged[last] as number) ^ 0x01;
    expect(await failureOf(verify(forged))).toMatchObject({ reason: "bad-signature", detail: "The token's signature does not verify with the TSA certificate's key" });

    // A signed attribute changed: the signature no longer covers what is there.
    const attributes = Buffer.from(token);
    const digestAt = token.indexOf(createHash("sha256").update(tstInfoOf(token)).digest());
    expect(digestAt).toBeGreaterThan(0);
    attributes[digestAt] = (attributes[digestAt] as number) ^ 0xff;
    expect(await failureOf(verify(attributes))).toMatchObject({ reason: "bad-signature", detail: expect.stringMatching(/message-digest/) });

    const other = await failureOf(verifyTimestampToken(token, { data: Buffer.from("something else"), trust }));
    expect(other).toMatchObject({ reason: "imprint-mismatch", code: "PASSERELLE_TIMESTAMP_TOKEN_INVALID" });
    expect(await failureOf(verifyTimestampToken(token, { data: DATA, nonce: NONCE + 1n, trust }))).toMatchObject({ reason: "nonce-mismatch" });
  });
});

function tstInfoOf(bytes: Buffer): Buffer {
  const { eContent } = partsOf(bytes);
  return Buffer.from(eContent.bytes.subarray(eContent.contentStart, eContent.contentEnd));
}

describe("reading a TimeStampResp and a TimeStampReq", () => {
  it("reads a rejection's status strings and failure bits, and refuses a status it cannot read", () => {
    const rejection = der.sequence(
      der.sequence(der.integer(2n), der.sequence(der.utf8String("policy not offered"), der.utf8String("try 1.2.3")), Buffer.from([0x03, 0x03, 0x00, 0x00, 0x01])),
    );
    expect(parseTimestampResponse(rejection)).toEqual({
      status: "rejection",
      statusStrings: ["policy not offered", "try 1.2.3"],
      failInfo: ["unacceptedPolicy"],
      token: undefined,
    });
    const malformed = [
      der.sequence(der.sequence(der.integer(9n))), // no such PKIStatus
      der.sequence(der.sequence(der.integer(2n), der.sequence(der.tlv(0x13, Buffer.from("printable"))))), // PKIFreeText is UTF8String
      der.sequence(der.sequence(der.integer(2n), Buffer.from([0x03, 0x02, 0x08, 0x00]))), // 8 unused bits
      der.sequence(der.sequence(der.integer(0n), der.integer(1n))), // an INTEGER after the status
      der.sequence(der.sequence(der.integer(2n)), token), // a token with a refusal
    ];
    for (const bytes of malformed) {
      expect(() => parseTimestampResponse(bytes), bytes.toString("hex")).toThrow(TimestampError);
    }
  });

  it("reads a request's optional fields (policy, nonce, certReq, extensions) and refuses a negative nonce", () => {
    const imprint = der.sequence(der.algorithmIdentifier("2.16.840.1.101.3.4.2.1"), der.octetString(Buffer.alloc(32, 9)));
    const extension = der.sequence(der.oid("1.2.3.4.5"), der.octetString(Buffer.from([0x05, 0x00])));
    const request = der.sequence(der.integer(1n), imprint, der.oid("1.2.3"), der.integer(77n), der.boolean(true), der.contextConstructed(0, extension));
    expect(parseTimestampRequest(request)).toMatchObject({
      version: 1,
      hashAlgorithm: "SHA-256",
      policy: "1.2.3",
      nonce: 77n,
      certReq: true,
      extensions: ["1.2.3.4.5"],
      messageImprintDer: imprint,
    });
    const negative = der.sequence(der.integer(1n), imprint, Buffer.from([0x02, 0x01, 0xff]));
    expect(parseTimestampRequest(negative)).toBeUndefined();
    const outOfOrder = der.sequence(der.integer(1n), imprint, der.integer(77n), der.oid("1.2.3"));
    expect(parseTimestampRequest(outOfOrder)).toBeUndefined();
    expect(() => parseTimestampRequest("request" as never)).toThrow(TypeError);
  });
});
