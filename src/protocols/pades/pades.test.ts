import { execFile } from "node:child_process";
import type { X509Certificate } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { PDFArray, PDFDocument, PDFName, PDFNumber, PDFRef, StandardFonts } from "pdf-lib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PasserelleError } from "../../errors/index.js";
import type { Signer } from "../../trust/signer.js";
import { verifySignedData } from "../cms/index.js";
import { createTestPki, openSslTimestamp, openssl, testSigner, type TestPki } from "../cms/test-fixtures.js";
import { writeIncrementalUpdate } from "./incremental-update.js";
import { loadPdf, readLastCrossReference } from "./pdf-structure.js";
import { signPdf, verifyPdfSignatures, type PdfSignatureReport } from "./index.js";

const run = promisify(execFile);

let pki: TestPki;
let rsa: Signer;
let ec: Signer;
/** pdf-lib's default save: object streams and a cross-reference stream. */
let streamPdf: Buffer;
/** A classic cross-reference table. */
let tablePdf: Buffer;
const signingTime = new Date("2025-06-02T08:30:00Z");
let fileCounter = 0;

async function onePagePdf(useObjectStreams: boolean, withForm = false): Promise<Buffer> {
  const document = await PDFDocument.create();
  document.setTitle("Certificat d'incapacité de travail");
  const page = document.addPage([595, 842]);
  const font = await document.embedFont(StandardFonts.Helvetica);
  page.drawText("Certificat d'incapacite de travail - patient 1234", { x: 50, y: 780, size: 14, font });
  if (withForm) document.getForm().createTextField("patient.name").addToPage(page, { x: 50, y: 700, width: 200, height: 20 });
  return Buffer.from(await document.save({ useObjectStreams }));
}

beforeAll(async () => {
  pki = await createTestPki();
  rsa = testSigner(pki.rsaSigner, [pki.intermediate]);
  ec = testSigner(pki.ecSigner, [pki.intermediate]);
  [streamPdf, tablePdf] = await Promise.all([onePagePdf(true), onePagePdf(false)]);
});

afterAll(async () => {
  await pki?.cleanup();
});

async function save(bytes: Buffer): Promise<string> {
  const file = join(pki.directory, `doc-${++fileCounter}.pdf`);
  await writeFile(file, bytes);
  return file;
}

/** pdfsig (poppler, NSS underneath): its report per signature. The test root is not in an NSS database, so certificates show as untrusted. */
async function pdfsig(bytes: Buffer): Promise<string> {
  const { stdout } = await run("pdfsig", ["-nocert", await save(bytes)], { encoding: "utf8" }).catch(
    (error: { stdout?: string; stderr?: string }) => ({ stdout: `${error.stdout ?? ""}${error.stderr ?? ""}` }),
  );
  return stdout;
}

/** pdfsig's report split per signature ("Signature #1:", …). */
async function pdfsigSignatures(bytes: Buffer): Promise<string[]> {
  return (await pdfsig(bytes)).split(/^Signature #\d+:$/m).slice(1);
}

async function qpdfCheck(bytes: Buffer): Promise<string> {
  const { stdout } = await run("qpdf", ["--check", await save(bytes)], { encoding: "utf8" });
  return stdout;
}

async function trustTestRoot(chain: X509Certificate[]): Promise<void> {
  const last = chain.at(-1);
  if (last === undefined || !last.checkIssued(pki.root.certificate) || !last.verify(pki.root.certificate.publicKey)) {
    throw new Error("chain does not lead to the test root");
  }
}

function only(reports: PdfSignatureReport[]): PdfSignatureReport {
  expect(reports).toHaveLength(1);
  return reports[0] as PdfSignatureReport;
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(PasserelleError);
  expect({ code: (error as PasserelleError).code, status: (error as PasserelleError).status }).toEqual({ code, status: 422 });
}

describe("signPdf (PAdES B-B)", () => {
  it("signs a one-page PDF (cross-reference stream) that we, pdfsig and qpdf accept", async () => {
    const signed = await signPdf(streamPdf, { signer: rsa, signingTime, reason: "Certificat", location: "Luxembourg", contactInfo: "+352 000", name: "Dr Alice Martin" });

    // An incremental update: the original bytes are untouched.
    expect(signed.subarray(0, streamPdf.length).equals(streamPdf)).toBe(true);
    const report = only(await verifyPdfSignatures(signed, { verifyChain: trustTestRoot }));
    expect(report).toMatchObject({
      fieldName: "Signature1",
      subFilter: "ETSI.CAdES.detached",
      byteRangeCoversWholeRevision: true,
      coversWholeDocument: true,
      modifiedAfterSigning: false,
      integrity: true,
      digestAlgorithm: "SHA-256",
      chainValid: true,
      valid: true,
      reasons: [],
    });
    expect(report.signerSubject).toContain("CN=Dr Alice Martin");
    expect(report.signingTime?.toISOString()).toBe(signingTime.toISOString());
    expect(report.timestamp).toBeUndefined();

    const [pdfsigReport] = await pdfsigSignatures(signed);
    expect(pdfsigReport).toContain("Signature Validation: Signature is Valid.");
    expect(pdfsigReport).toContain("Signature Type: ETSI.CAdES.detached");
    expect(pdfsigReport).toContain("Total document signed");
    expect(pdfsigReport).toContain("Signer Certificate Common Name: Dr Alice Martin");
    expect(await qpdfCheck(signed)).toContain("No syntax or stream encoding errors found");
  });

  it("writes the PAdES baseline signed attributes: content-type, message-digest, signing-certificate-v2 and no signing-time", async () => {
    const signed = await signPdf(tablePdf, { signer: ec, signingTime });
    const text = signed.toString("latin1");
    const byteRange = /\/ByteRange \[(\d+) (\d+) (\d+) (\d+) *\]/.exec(text);
    expect(byteRange).not.toBeNull();
    const [, , start, end] = (byteRange as RegExpExecArray).map(Number) as number[];
    const hex = text.slice((start as number) + 1, (end as number) - 1).replace(/(00)+$/, "");
    const cms = Buffer.from(hex.length % 2 === 0 ? hex : `${hex}0`, "hex");
    const result = await verifySignedData(cms, { content: [signed.subarray(0, start), signed.subarray(end)] });
    expect(result.signedAttributes.map((a) => a.type).sort()).toEqual(["1.2.840.113549.1.9.16.2.47", "1.2.840.113549.1.9.3", "1.2.840.113549.1.9.4"]);
    expect(result.signingTime).toBeUndefined();
    expect(result.chain).toHaveLength(2);
    expect(text).toContain("/M (D:20250602083000+00'00')");
    expect(text).toMatch(/\/SigFlags 3/);
  });

  it("signs a PDF with a classic cross-reference table and an existing form, with ECDSA and non-ASCII texts", async () => {
    const withForm = await onePagePdf(false, true);
    const signed = await signPdf(withForm, { signer: ec, signingTime, reason: "Arrêt de travail — certifié", location: "Esch-sur-Alzette" });
    const report = only(await verifyPdfSignatures(signed));
    expect(report).toMatchObject({ valid: true, integrity: true, fieldName: "Signature1" });
    expect(signed.toString("latin1")).toContain("/Reason <FEFF");
    const [pdfsigReport] = await pdfsigSignatures(signed);
    expect(pdfsigReport).toContain("Signature Validation: Signature is Valid.");
    expect(pdfsigReport).toContain("Signer Certificate Common Name: Dr Bob Weber");
    expect(await qpdfCheck(signed)).toContain("No syntax or stream encoding errors found");
    // The form keeps its text field next to the signature.
    const form = (await PDFDocument.load(signed)).getForm();
    expect(form.getFields().map((f) => f.getName()).sort()).toEqual(["Signature1", "patient.name"]);
  });

  it("is deterministic for a deterministic signer and a fixed time", async () => {
    const [a, b] = await Promise.all([signPdf(streamPdf, { signer: rsa, signingTime }), signPdf(streamPdf, { signer: rsa, signingTime })]);
    expect(a.equals(b)).toBe(true);
  });
});

describe("several signatures (incremental updates)", () => {
  it.each([
    ["cross-reference stream", () => streamPdf],
    ["cross-reference table", () => tablePdf],
  ])("keeps the first signature valid when a second is added (%s)", async (_kind, pdf) => {
    const once = await signPdf(pdf(), { signer: rsa, signingTime, reason: "Auteur" });
    const twice = await signPdf(once, { signer: ec, signingTime: new Date(signingTime.getTime() + 60_000), reason: "Contreseing" });
    expect(twice.subarray(0, once.length).equals(once)).toBe(true);

    const [first, second] = await verifyPdfSignatures(twice, { verifyChain: trustTestRoot });
    expect(first).toMatchObject({ fieldName: "Signature1", valid: true, integrity: true, coversWholeDocument: false, modifiedAfterSigning: false, byteRangeCoversWholeRevision: true });
    expect(second).toMatchObject({ fieldName: "Signature2", valid: true, integrity: true, coversWholeDocument: true });
    expect(first?.signerSubject).toContain("Dr Alice Martin");
    expect(second?.signerSubject).toContain("Dr Bob Weber");

    const reports = await pdfsigSignatures(twice);
    expect(reports).toHaveLength(2);
    expect(reports[0]).toContain("Signature Validation: Signature is Valid.");
    expect(reports[0]).toContain("Not total document signed");
    expect(reports[1]).toContain("Signature Validation: Signature is Valid.");
    expect(reports[1]).toContain("Total document signed");
    expect(await qpdfCheck(twice)).toContain("No syntax or stream encoding errors found");

    // A third one, and the xref chain still reads (qpdf follows every /Prev).
    const thrice = await signPdf(twice, { signer: rsa, signingTime });
    expect((await verifyPdfSignatures(thrice)).map((r) => [r.fieldName, r.valid])).toEqual([
      ["Signature1", true],
      ["Signature2", true],
      ["Signature3", true],
    ]);
    expect(await qpdfCheck(thrice)).toContain("No syntax or stream encoding errors found");
  });
});

describe("PAdES B-T", () => {
  it("adds a signature time-stamp over the signature value; our verifier and pdfsig agree", async () => {
    const stamped: Buffer[] = [];
    const signed = await signPdf(streamPdf, {
      signer: rsa,
      signingTime,
      timestamp: async (signatureValue) => {
        stamped.push(signatureValue);
        return openSslTimestamp(pki, signatureValue);
      },
    });
    expect(stamped).toHaveLength(1);

    const unverified = only(await verifyPdfSignatures(signed));
    expect(unverified.valid).toBe(true);
    expect(unverified.timestamp?.verified).toBe(false);
    expect(Math.abs((unverified.timestamp?.genTime.getTime() ?? 0) - Date.now())).toBeLessThan(120_000);

    // The caller's RFC 3161 verifier: here, openssl ts -verify against the test root.
    const verifyTimestamp = async (token: Buffer, signatureValue: Buffer): Promise<{ genTime: Date }> => {
      const tokenFile = join(pki.directory, `tst-${++fileCounter}.der`);
      const dataFile = join(pki.directory, `sig-${fileCounter}.bin`);
      await writeFile(tokenFile, token);
      await writeFile(dataFile, signatureValue);
      await openssl(["ts", "-verify", "-token_in", "-in", tokenFile, "-data", dataFile, "-CAfile", pki.root.certFile, "-untrusted", pki.intermediate.certFile]);
      const { stdout } = await openssl(["ts", "-reply", "-token_in", "-in", tokenFile, "-text", "-token_out"]);
      const time = /Time stamp: (.+)/.exec(stdout)?.[1];
      return { genTime: new Date(time ?? "") };
    };
    const verified = only(await verifyPdfSignatures(signed, { verifyTimestamp, verifyChain: trustTestRoot }));
    expect(verified).toMatchObject({ valid: true, chainValid: true, timestamp: { verified: true } });
    expect(Math.abs((verified.timestamp?.genTime.getTime() ?? 0) - (unverified.timestamp?.genTime.getTime() ?? 1))).toBeLessThan(1000);

    const [pdfsigReport] = await pdfsigSignatures(signed);
    expect(pdfsigReport).toContain("Signature Validation: Signature is Valid.");
    expect(await qpdfCheck(signed)).toContain("No syntax or stream encoding errors found");

    const refused = only(await verifyPdfSignatures(signed, { verifyTimestamp: async () => Promise.reject(new Error("TSA not trusted")) }));
    expect(refused).toMatchObject({ valid: false, integrity: true, timestamp: { verified: false } });
    expect(refused.reasons).toEqual([{ code: "timestamp_invalid", detail: "TSA not trusted" }]);
  });

  it("reports a time-stamp taken over something else", async () => {
    const signed = await signPdf(streamPdf, { signer: ec, signingTime, timestamp: () => openSslTimestamp(pki, Buffer.from("another signature")) });
    const report = only(await verifyPdfSignatures(signed));
    expect(report.integrity).toBe(true);
    expect(report.reasons.map((r) => r.code)).toEqual(["timestamp_invalid"]);
  });

  it("fails clearly when the time-stamp token does not fit the placeholder", async () => {
    await expect(
      signPdf(streamPdf, { signer: rsa, placeholderSize: 3000, timestamp: () => openSslTimestamp(pki, Buffer.from("x")) }),
    ).rejects.toThrow(/does not fit the 3000-byte \/Contents placeholder: pass placeholderSize of at least \d+/);
  });
});

describe("verifyPdfSignatures on signatures made by OpenSSL", () => {
  /** Our placeholder, then an `openssl cms -sign` SignedData over its ByteRange in /Contents. */
  async function signWithOpenSsl(subFilter: "ETSI.CAdES.detached" | "adbe.pkcs7.detached"): Promise<Buffer> {
    const placeholder = Buffer.from(await signPdf(streamPdf, { signer: rsa, signingTime }));
    const at = placeholder.indexOf("/SubFilter /ETSI.CAdES.detached") + "/SubFilter /".length;
    placeholder.write(subFilter, at, "latin1"); // same length: the layout does not move
    const match = /\/ByteRange \[0 (\d+) (\d+) (\d+) *\]/.exec(placeholder.toString("latin1")) as RegExpExecArray;
    const [holeStart, holeEnd] = [Number(match[1]), Number(match[2])];
    const contentFile = join(pki.directory, `range-${++fileCounter}.bin`);
    const cmsFile = join(pki.directory, `range-${fileCounter}.p7s`);
    await writeFile(contentFile, Buffer.concat([placeholder.subarray(0, holeStart), placeholder.subarray(holeEnd)]));
    await openssl([
      "cms", "-sign", "-binary", "-in", contentFile, "-signer", pki.ecSigner.certFile, "-inkey", pki.ecSigner.keyFile,
      "-certfile", pki.intermediate.certFile, "-outform", "DER", "-out", cmsFile,
    ]);
    const hex = (await readFile(cmsFile)).toString("hex").toUpperCase();
    placeholder.write(hex.padEnd(holeEnd - holeStart - 2, "0"), holeStart + 1, "latin1");
    return placeholder;
  }

  it("verifies an adbe.pkcs7.detached signature; pdfsig agrees", async () => {
    const signed = await signWithOpenSsl("adbe.pkcs7.detached");
    const report = only(await verifyPdfSignatures(signed, { verifyChain: trustTestRoot }));
    expect(report).toMatchObject({ subFilter: "adbe.pkcs7.detached", integrity: true, valid: true, chainValid: true });
    expect(report.signerSubject).toContain("Dr Bob Weber");
    const [pdfsigReport] = await pdfsigSignatures(signed);
    expect(pdfsigReport).toContain("Signature Validation: Signature is Valid.");
    expect(pdfsigReport).toContain("Signature Type: adbe.pkcs7.detached");
  });

  it("reports an ETSI.CAdES.detached signature without signing-certificate-v2 as not PAdES", async () => {
    const report = only(await verifyPdfSignatures(await signWithOpenSsl("ETSI.CAdES.detached")));
    expect(report.integrity).toBe(true);
    expect(report.reasons.map((r) => r.code)).toEqual(["signing_certificate_missing"]);
  });
});

describe("verifyPdfSignatures detects", () => {
  it("a change of the signed bytes (wrong digest)", async () => {
    const signed = await signPdf(streamPdf, { signer: rsa, signingTime });
    const tampered = Buffer.from(signed);
    const at = tampered.indexOf("/MediaBox");
    tampered.write("/MediaBoy", at, "latin1");
    const report = only(await verifyPdfSignatures(tampered));
    expect(report).toMatchObject({ integrity: false, valid: false, byteRangeCoversWholeRevision: true });
    expect(report.reasons.map((r) => r.code)).toEqual(["digest_mismatch"]);
    const [pdfsigReport] = await pdfsigSignatures(tampered);
    expect(pdfsigReport).not.toContain("Signature is Valid.");
  });

  it("a modification appended after signing (a page changed in a later revision)", async () => {
    const signed = await signPdf(tablePdf, { signer: rsa, signingTime });
    const loaded = await loadPdf(signed);
    const pageRef = loaded.document.getPage(0).ref;
    const page = loaded.document.getPage(0).node;
    page.set(PDFName.of("Rotate"), PDFNumber.of(90));
    const modified = writeIncrementalUpdate(signed, [{ ref: pageRef, body: page.toString() }], readLastCrossReference(signed), {
      root: loaded.catalogRef.toString(),
    }).bytes;

    const report = only(await verifyPdfSignatures(modified));
    expect(report).toMatchObject({ integrity: true, coversWholeDocument: false, modifiedAfterSigning: true, valid: false });
    expect(report.reasons).toEqual([{ code: "modified_after_signing", detail: expect.stringContaining("/Rotate") }]);
    const [pdfsigReport] = await pdfsigSignatures(modified);
    expect(pdfsigReport).toContain("Not total document signed");
    expect(await qpdfCheck(modified)).toContain("No syntax or stream encoding errors found");
  });

  it("a new annotation added after signing, but not validation data (/DSS)", async () => {
    const signed = await signPdf(streamPdf, { signer: rsa, signingTime });
    const loaded = await loadPdf(signed);
    const next = loaded.context.largestObjectNumber + 1;
    const append = (objects: { ref: PDFRef; body: string }[]) =>
      writeIncrementalUpdate(signed, objects, readLastCrossReference(signed), { root: loaded.catalogRef.toString() }).bytes;

    // A sticky note on the page: the page's /Annots gains something that is not a signature field.
    const page = loaded.document.getPage(0);
    const noteRef = PDFRef.of(next);
    const annots = loaded.context.lookup(page.node.get(PDFName.of("Annots")));
    if (!(annots instanceof PDFArray)) throw new Error("the signature widget should be in a direct /Annots array");
    annots.push(noteRef);
    const withNote = append([
      { ref: noteRef, body: "<< /Type /Annot /Subtype /Text /Rect [10 10 30 30] /Contents (Changed my mind) >>" },
      { ref: page.ref, body: page.node.toString() },
    ]);
    const noted = only(await verifyPdfSignatures(withNote));
    expect(noted).toMatchObject({ integrity: true, modifiedAfterSigning: true, valid: false });
    expect(noted.reasons[0]?.detail).toMatch(/added|not signature fields/);

    // ETSI EN 319 142-1 validation data: a /DSS with the signer's certificate is allowed after signing.
    const fresh = await loadPdf(signed);
    const certRef = PDFRef.of(next);
    fresh.catalog.set(PDFName.of("DSS"), fresh.context.obj({ Certs: [certRef] }));
    const der = pki.rsaSigner.certificate.raw;
    const withDss = append([
      { ref: fresh.catalogRef, body: fresh.catalog.toString() },
      { ref: certRef, body: `<< /Length ${der.length} >>\nstream\n${der.toString("latin1")}\nendstream` },
    ]);
    const dss = only(await verifyPdfSignatures(withDss));
    expect(dss).toMatchObject({ integrity: true, coversWholeDocument: false, modifiedAfterSigning: false, valid: true });
    expect(await qpdfCheck(withDss)).toContain("No syntax or stream encoding errors found");
  });

  it("a /ByteRange that leaves part of the file out", async () => {
    const signed = await signPdf(streamPdf, { signer: rsa, signingTime });
    const text = signed.toString("latin1");
    const match = /\/ByteRange \[0 (\d+) (\d+) (\d+)( *)\]/.exec(text) as RegExpExecArray;
    const shorter = `/ByteRange [0 ${match[1]} ${match[2]} ${Number(match[3]) - 7}`.padEnd(match[0].length - 1, " ") + "]";
    const tampered = Buffer.from(signed);
    tampered.write(shorter, match.index, "latin1");
    const report = only(await verifyPdfSignatures(tampered));
    expect(report.byteRangeCoversWholeRevision).toBe(false);
    expect(report.reasons.map((r) => r.code)).toContain("byte_range_incomplete");
    expect(report.valid).toBe(false);
  });

  it("a /ByteRange whose hole is not the /Contents string", async () => {
    const signed = await signPdf(streamPdf, { signer: rsa, signingTime });
    const text = signed.toString("latin1");
    const match = /\/ByteRange \[0 (\d+) (\d+) (\d+)( *)\]/.exec(text) as RegExpExecArray;
    const shifted = `/ByteRange [0 ${Number(match[1]) - 2} ${Number(match[2]) - 2} ${Number(match[3]) + 2}`.padEnd(match[0].length - 1, " ") + "]";
    const tampered = Buffer.from(signed);
    tampered.write(shifted, match.index, "latin1");
    const report = only(await verifyPdfSignatures(tampered));
    expect(report.reasons.map((r) => r.code)).toEqual(["byte_range_invalid"]);
    expect(report.integrity).toBe(false);
  });

  it("an untrusted signer, through the caller's chain decision", async () => {
    const signed = await signPdf(streamPdf, { signer: testSigner(pki.strangerSigner, []), signingTime });
    const report = only(await verifyPdfSignatures(signed, { verifyChain: trustTestRoot }));
    expect(report).toMatchObject({ integrity: true, chainValid: false, valid: false });
    expect(report.reasons).toEqual([{ code: "untrusted", detail: "chain does not lead to the test root" }]);
  });

  it("nothing in an unsigned PDF", async () => {
    expect(await verifyPdfSignatures(streamPdf)).toEqual([]);
  });
});

describe("bad input", () => {
  it("refuses what is not a PDF with PASSERELLE_PDF_INVALID", async () => {
    for (const input of [Buffer.from("hello, world"), Buffer.alloc(0), Buffer.from("%PDF-1.7\n\x00\x01garbage garbage\n%%EOF\n", "latin1")]) {
      await expectCode(signPdf(input, { signer: rsa }), "PASSERELLE_PDF_INVALID");
      await expectCode(verifyPdfSignatures(input), "PASSERELLE_PDF_INVALID");
    }
    // A real PDF cut in half: parseable objects, but no cross-reference section to append after.
    await expectCode(signPdf(streamPdf.subarray(0, Math.floor(streamPdf.length / 2)), { signer: rsa }), "PASSERELLE_PDF_INVALID");
  });

  it("refuses an encrypted PDF with PASSERELLE_PDF_ENCRYPTED", async () => {
    const plain = await save(tablePdf);
    const encrypted = join(pki.directory, "encrypted.pdf");
    await run("qpdf", ["--encrypt", "user", "owner", "256", "--", plain, encrypted]);
    const bytes = await readFile(encrypted);
    await expectCode(signPdf(bytes, { signer: rsa }), "PASSERELLE_PDF_ENCRYPTED");
    await expectCode(verifyPdfSignatures(bytes), "PASSERELLE_PDF_ENCRYPTED");
  });

  it("refuses to sign a PDF certified with no changes allowed (DocMDP P=1)", async () => {
    const loaded = await loadPdf(tablePdf);
    const certificationRef = PDFRef.of(loaded.context.largestObjectNumber + 1);
    loaded.catalog.set(PDFName.of("Perms"), loaded.context.obj({ DocMDP: certificationRef }));
    const certification = "<< /Type /Sig /Reference [<< /Type /SigRef /TransformMethod /DocMDP /TransformParams << /Type /TransformParams /P 1 /V /1.2 >> >>] >>";
    const certified = writeIncrementalUpdate(
      tablePdf,
      [
        { ref: loaded.catalogRef, body: loaded.catalog.toString() },
        { ref: certificationRef, body: certification },
      ],
      readLastCrossReference(tablePdf),
      { root: loaded.catalogRef.toString() },
    ).bytes;
    const error = await signPdf(certified, { signer: rsa }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "PASSERELLE_UNPROCESSABLE", status: 422, detail: expect.stringContaining("DocMDP P=1") });
  });

  it("refuses caller mistakes with TypeError", async () => {
    await expect(signPdf("not bytes" as unknown as Buffer, { signer: rsa })).rejects.toThrow(TypeError);
    await expect(signPdf(streamPdf, { signer: rsa, placeholderSize: 12 })).rejects.toThrow(TypeError);
    await expect(signPdf(streamPdf, { signer: rsa, placeholderSize: 1000 })).rejects.toThrow(/does not fit/);
    await expect(signPdf(streamPdf, { signer: rsa, fieldName: "a.b" })).rejects.toThrow(TypeError);
    await expect(signPdf(streamPdf, { signer: ec, digestAlgorithm: "SHA-512" })).rejects.toThrow(/cannot sign CMS with SHA-512/);
    const once = await signPdf(streamPdf, { signer: rsa, fieldName: "Auteur" });
    await expect(signPdf(once, { signer: rsa, fieldName: "Auteur" })).rejects.toThrow(/already has a field named "Auteur"/);
  });
});
