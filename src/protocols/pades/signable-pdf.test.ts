import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { PDFDocument, PDFName, PDFNumber, StandardFonts } from "pdf-lib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PasserelleError } from "../../errors/index.js";
import type { Signer } from "../../trust/signer.js";
import { createTestPki, testSigner, type TestPki } from "../cms/test-fixtures.js";
import { SignablePdf, signPdf, verifyPdfSignatures } from "./index.js";

const run = promisify(execFile);
const signingTime = new Date("2025-06-02T08:30:00Z");

let pki: TestPki;
let rsa: Signer;

beforeAll(async () => {
  pki = await createTestPki();
  rsa = testSigner(pki.rsaSigner, [pki.intermediate]);
});

afterAll(async () => {
  await pki?.cleanup();
});

/** A document as the template renderer makes one: a page, an embedded font, metadata, a fixed /ID. */
async function newDocument(options: { withForm?: boolean } = {}): Promise<PDFDocument> {
  const document = await PDFDocument.create({ updateMetadata: false });
  document.setTitle("Certificat d'incapacité de travail");
  const page = document.addPage([595.28, 841.89]);
  page.drawText("Certificat d'incapacite de travail - patient 1234", { x: 50, y: 780, size: 14, font: await document.embedFont(StandardFonts.Helvetica) });
  if (options.withForm === true) document.getForm().createTextField("patient.name").addToPage(page, { x: 50, y: 700, width: 200, height: 20 });
  return document;
}

describe("SignablePdf", () => {
  it("is signed without a second parse, to the very bytes signing its file gives — pdfsig agrees", async () => {
    for (const useObjectStreams of [false, true]) {
      for (const withForm of [false, true]) {
        const signable = await SignablePdf.save(await newDocument({ withForm }), { useObjectStreams });
        const fromBytes = await signPdf(Buffer.from(signable.bytes), { signer: rsa, signingTime, reason: "Certificat" });
        const fromDocument = await signPdf(signable, { signer: rsa, signingTime, reason: "Certificat" });
        expect(fromDocument.equals(fromBytes), `object streams ${useObjectStreams}, form ${withForm}`).toBe(true);
      }
    }
    const signable = await SignablePdf.save(await newDocument(), { useObjectStreams: false });
    const signed = await signPdf(signable, { signer: rsa, signingTime });
    expect(signed.subarray(0, signable.bytes.length).equals(Buffer.from(signable.bytes))).toBe(true);
    expect((await verifyPdfSignatures(signed))[0]).toMatchObject({ integrity: true, coversWholeDocument: true, valid: true });
    const file = join(pki.directory, "signable.pdf");
    await writeFile(file, signed);
    const { stdout } = await run("pdfsig", ["-nocert", file], { encoding: "utf8" });
    expect(stdout).toContain("Signature Validation: Signature is Valid.");
  });

  it("hands its parsed form over once: a second signature parses the bytes (the first changed the document)", async () => {
    const signable = await SignablePdf.save(await newDocument(), { useObjectStreams: false });
    expect(signable.takeLoaded()).toBeDefined();
    expect(signable.takeLoaded()).toBeUndefined();
    // Taken already: signPdf falls back to the bytes, and the result is the same as from them.
    const again = await signPdf(signable, { signer: rsa, signingTime });
    expect(again.equals(await signPdf(Buffer.from(signable.bytes), { signer: rsa, signingTime }))).toBe(true);

    // A failed signature consumes it too: the retry cannot see the half-changed document.
    const failing = await SignablePdf.save(await newDocument(), { useObjectStreams: false });
    const broken: Signer = { ...rsa, sign: async () => Buffer.alloc(256, 1) };
    await expect(signPdf(failing, { signer: broken, signingTime })).rejects.toThrow(/does not verify/);
    expect(failing.takeLoaded()).toBeUndefined();
    expect((await verifyPdfSignatures(await signPdf(failing, { signer: rsa, signingTime })))[0]?.valid).toBe(true);
  });

  it("makes the checks loadPdf makes: a document certified with no changes allowed is still refused", async () => {
    const document = await newDocument();
    const params = document.context.obj({ Type: "TransformParams", P: PDFNumber.of(1), V: PDFName.of("1.2") });
    const reference = document.context.obj([document.context.obj({ Type: "SigRef", TransformMethod: "DocMDP", TransformParams: params })]);
    const signature = document.context.register(document.context.obj({ Type: "Sig", Reference: reference }));
    document.catalog.set(PDFName.of("Perms"), document.context.obj({ DocMDP: signature }));
    const error = await signPdf(await SignablePdf.save(document, { useObjectStreams: false }), { signer: rsa, signingTime }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PasserelleError);
    expect((error as PasserelleError).code).toBe("PASSERELLE_UNPROCESSABLE");
  });

  it("refuses what is not a pdf-lib document with TypeError", async () => {
    await expect(SignablePdf.save({} as never)).rejects.toThrow(TypeError);
    await expect(SignablePdf.save(Buffer.from("%PDF-1.7") as never)).rejects.toThrow(TypeError);
  });
});
