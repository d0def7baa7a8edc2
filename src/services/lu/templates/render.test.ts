import { execFile } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PasserelleError } from "../../../errors/index.js";
import { signPdf } from "../../../protocols/pades/index.js";
import { SandboxPki } from "../../../trust/pki/index.js";
import { SoftwareSigner } from "../../../trust/signers/index.js";
import { TemplateStore, type RenderedDocument } from "./index.js";
import { SAMPLE_MATRICULE, sampleEcitData, sampleFeeNoteData, samplePidData } from "./test-fixtures.js";

const run = promisify(execFile);
let workDir: string;
let store: TemplateStore;
let fileCounter = 0;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), "passerelle-lu-templates-"));
  store = await TemplateStore.open();
});

afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

async function save(pdf: Uint8Array): Promise<string> {
  const file = join(workDir, `document-${++fileCounter}.pdf`);
  await writeFile(file, pdf);
  return file;
}

/** pdftotext (poppler) in layout mode, no-break spaces made plain, so assertions read like the page. */
async function extractText(pdf: Uint8Array): Promise<string> {
  const { stdout } = await run("pdftotext", ["-layout", "-enc", "UTF-8", await save(pdf), "-"], { encoding: "utf8" });
  return stdout.replaceAll("\u00a0", " ");
}

async function qpdfCheck(pdf: Uint8Array): Promise<{ code: number; output: string }> {
  try {
    const { stdout } = await run("qpdf", ["--check", await save(pdf)], { encoding: "utf8" });
    return { code: 0, output: stdout };
  } catch (error) {
    const failure = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failure.code ?? 1, output: `${failure.stdout ?? ""}${failure.stderr ?? ""}` };
  }
}

/** pdffonts: one row per font, with its embedded / subset / ToUnicode columns. */
async function fonts(pdf: Uint8Array): Promise<{ name: string; type: string; embedded: boolean; subset: boolean; unicode: boolean }[]> {
  const { stdout } = await run("pdffonts", [await save(pdf)], { encoding: "utf8" });
  return stdout
    .split("\n")
    .slice(2)
    .filter((line) => line.trim() !== "")
    .map((line) => {
      const columns = line.trim().split(/\s+/);
      const [emb, sub, uni] = columns.slice(-5, -2);
      return { name: columns[0]!, type: columns.slice(1, -6).join(" "), embedded: emb === "yes", subset: sub === "yes", unicode: uni === "yes" };
    });
}

async function expectUnprocessable(promise: Promise<unknown>): Promise<PasserelleError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(PasserelleError);
  const problem = error as PasserelleError;
  expect(problem.code).toBe("PASSERELLE_UNPROCESSABLE");
  expect(problem.status).toBe(422);
  return problem;
}

function pointers(error: PasserelleError): string[] {
  return (error.invalidParams ?? []).map((param) => param.pointer);
}

describe("built-in CNS templates", () => {
  it("lists the three documents with their versions and data schemas", () => {
    const templates = store.list();
    expect(templates.map((t) => [t.id, t.version, t.documentType])).toEqual([
      ["lu-ecit", "1.0.0", "eCIT"],
      ["lu-fee-note", "1.0.0", "MEMOIRE_HONORAIRES"],
      ["lu-pid", "1.0.0", "PID"],
    ]);
    const ecit = store.get("lu-ecit");
    expect(ecit.title).toBe("Certificat d'incapacité de travail");
    expect(ecit.schema.type).toBe("object");
    expect([...(ecit.schema.required as string[])].sort()).toEqual(["diagnoses", "incapacity", "issuedAt", "issuedOn", "patient", "practitioner"]);
    expect(store.snapshot().packageVersion).toBe("1.0.0");
    expect(store.snapshot().origin).toBe("builtin");
  });

  const cases: [string, () => Record<string, unknown>, string[]][] = [
    [
      "lu-ecit",
      sampleEcitData,
      [
        "Certificat d'incapacité de travail",
        "Caisse nationale de santé — Certificat initial",
        "Code médecin",
        "101234-56",
        "Spécialité",
        "Médecine générale",
        "Assuré(e)",
        "MÜLLER Zoé",
        SAMPLE_MATRICULE,
        "Pâtisserie Schäfer S.à r.l.",
        "du 10/03/2025 au 14/03/2025 inclus",
        "Sorties autorisées",
        "Infection aiguë des voies respiratoires supérieures",
        "Signé électroniquement par Dr Anne",
        "eCIT · modèle lu-ecit 1.0.0",
        "Page 1/1",
      ],
    ],
    [
      "lu-fee-note",
      sampleFeeNoteData,
      ["Mémoire d'honoraires", "N° 2025-0042 du 12/03/2025", "Code prestataire", "Électrocardiogramme", "41,65 €", "83,30 €", "Total", "162,85 €", "Acquitté", "Carte bancaire", "Règlement"],
    ],
    [
      "lu-pid",
      samplePidData,
      ["Paiement immédiat direct (PID)", "Relevé des prestations n° PID-7781", "Part assuré(e)", "6,73 €", "79,55 €", "70,01 €", "9,54 €", "Participation personnelle de l’assuré(e)", "Espèces"],
    ],
  ];

  describe.each(cases)("%s", (id, sample, expectedTexts) => {
    let document: RenderedDocument;

    beforeAll(async () => {
      document = await store.render(id, sample());
    });

    it("renders a one-page PDF that qpdf finds sound", async () => {
      expect(Buffer.from(document.pdf.subarray(0, 8)).toString("latin1")).toBe("%PDF-1.7");
      expect(document.pages).toBe(1);
      expect(document.templateId).toBe(id);
      expect(document.templateVersion).toBe("1.0.0");
      const check = await qpdfCheck(document.pdf);
      expect(check.output).toContain("No syntax or stream encoding errors found");
      expect(check.code).toBe(0);
    });

    it("prints the accented labels and the data (pdftotext)", async () => {
      const text = await extractText(document.pdf);
      for (const expected of expectedTexts) expect(text, expected).toContain(expected);
    });

    it("embeds TrueType subsets with ToUnicode maps, no standard-14 font", async () => {
      const found = await fonts(document.pdf);
      expect(found.map((font) => font.name.replace(/^[A-Z]{6}\+/, "")).sort()).toEqual(["DejaVuSans", "DejaVuSans-Bold"]);
      for (const font of found) {
        expect(font.name).toMatch(/^[A-Z]{6}\+/);
        expect(font.type).toBe("CID TrueType");
        expect(font).toMatchObject({ embedded: true, subset: true, unicode: true });
      }
    });
  });

  it("writes the same bytes for the same data: fixed /ID, no dates, stable fonts", async () => {
    const first = await store.render("lu-ecit", sampleEcitData());
    const again = await store.render("lu-ecit", sampleEcitData());
    const fromAnotherStore = await (await TemplateStore.open()).render("lu-ecit", sampleEcitData());
    expect(Buffer.from(again.pdf).equals(Buffer.from(first.pdf))).toBe(true);
    expect(Buffer.from(fromAnotherStore.pdf).equals(Buffer.from(first.pdf))).toBe(true);
    expect(again.sha256).toBe(first.sha256);

    const text = Buffer.from(first.pdf).toString("latin1");
    expect(text).not.toMatch(/\/CreationDate|\/ModDate/);
    expect(text).toContain(`/ID [ <${first.documentId}> <${first.documentId}> ]`);
    expect(first.documentId).toMatch(/^[0-9a-f]{32}$/);

    // Members in another order are the same data; another value is another document.
    const reordered = Object.fromEntries(Object.entries(sampleEcitData()).reverse());
    expect((await store.render("lu-ecit", reordered)).sha256).toBe(first.sha256);
    const changed = sampleEcitData();
    (changed.incapacity as Record<string, unknown>).endDate = "2025-03-15";
    const other = await store.render("lu-ecit", changed);
    expect(other.documentId).not.toBe(first.documentId);
    expect(other.sha256).not.toBe(first.sha256);
  });

  it("lists every schema violation with its JSON pointer (422)", async () => {
    const data = sampleEcitData();
    const patient = data.patient as Record<string, unknown>;
    patient.matricule = "1985061512348"; // wrong Verhoeff digit
    delete patient.lastName;
    (data.incapacity as Record<string, unknown>).kind = "grippe";
    (data.incapacity as Record<string, unknown>).startDate = "2025-02-30";
    (data.practitioner as Record<string, unknown>).providerCode = "1012345";
    data.diagnoses = [{ code: "flu" }];
    data.comment = "not in the schema";
    const error = await expectUnprocessable(store.render("lu-ecit", data, { pointerPrefix: "/data" }));
    expect(pointers(error).sort()).toEqual(
      [
        "/data/comment",
        "/data/diagnoses/0/code",
        "/data/incapacity/kind",
        "/data/incapacity/startDate",
        "/data/patient/lastName",
        "/data/patient/matricule",
        "/data/practitioner/providerCode",
      ].sort(),
    );
    const byPointer = new Map((error.invalidParams ?? []).map((param) => [param.pointer, param]));
    expect(byPointer.get("/data/patient/matricule")?.detail).toMatch(/Luxembourg national identification number/);
    expect(byPointer.get("/data/patient/lastName")?.detail).toBe("is required");
    expect(byPointer.get("/data/incapacity/kind")?.detail).toContain('"accident-travail"');
    expect(byPointer.get("/data/incapacity/startDate")?.detail).toContain("YYYY-MM-DD");
    expect(byPointer.get("/data/comment")?.detail).toBe("is not a member of this document");
    expect(error.invalidParams?.every((param) => param.in === "body")).toBe(true);
    expect(error.extensions).toMatchObject({ template: "lu-ecit", templateVersion: "1.0.0" });
  });

  it("checks the cross-field rules once the schema is satisfied", async () => {
    const ecit = sampleEcitData();
    (ecit.incapacity as Record<string, unknown>).endDate = "2025-03-09";
    ecit.examinationDate = "2025-03-11";
    const error = await expectUnprocessable(store.render("lu-ecit", ecit));
    expect(pointers(error).sort()).toEqual(["/examinationDate", "/incapacity/endDate"]);

    const pid = samplePidData();
    (pid.acts as Record<string, unknown>[])[1]!.cnsAmount = 30;
    expect(pointers(await expectUnprocessable(store.render("lu-pid", pid)))).toEqual(["/acts/1/cnsAmount"]);

    const fee = sampleFeeNoteData();
    (fee.acts as Record<string, unknown>[])[2]!.date = "2025-04-01";
    (fee.acts as Record<string, unknown>[])[0]!.unitAmount = 12.345;
    // The schema fails first (amount with three decimals); the date rule waits for a well-typed document.
    expect(pointers(await expectUnprocessable(store.render("lu-fee-note", fee)))).toEqual(["/acts/0/unitAmount"]);
  });

  it("refuses characters the fonts cannot print, and prints the others (beyond the base repertoire too)", async () => {
    const data = sampleEcitData();
    (data.patient as Record<string, unknown>).firstName = "Zoé 🙂";
    (data.employer as Record<string, unknown>).name = "Tab\there";
    const error = await expectUnprocessable(store.render("lu-ecit", data));
    expect(pointers(error).sort()).toEqual(["/employer/name", "/patient/firstName"]);
    expect(error.invalidParams?.[0]?.detail).toMatch(/cannot print \(U\+/);

    const vietnamese = sampleEcitData();
    (vietnamese.patient as Record<string, unknown>).lastName = "Nguyễn";
    (vietnamese.patient as Record<string, unknown>).firstName = "Ωmega";
    const document = await store.render("lu-ecit", vietnamese);
    expect(await extractText(document.pdf)).toContain("NGUYỄN Ωmega");
  });

  it("flows long tables onto more pages, repeating the header row", async () => {
    const data = sampleFeeNoteData();
    data.acts = Array.from({ length: 45 }, (_, i) => ({
      date: "2025-03-12",
      code: `C${(i % 9) + 1}`,
      label: `Prestation numéro ${i + 1} avec un libellé assez long pour occuper deux lignes dans la colonne`,
      quantity: 1,
      unitAmount: 10.01,
    }));
    const document = await store.render("lu-fee-note", data);
    expect(document.pages).toBeGreaterThanOrEqual(2);
    const text = await extractText(document.pdf);
    expect(text).toContain(`Page 1/${document.pages}`);
    expect(text).toContain(`Page ${document.pages}/${document.pages}`);
    expect(text.match(/Prix unitaire/g)?.length).toBeGreaterThanOrEqual(2);
    expect(text).toContain("450,45 €");
    expect((await qpdfCheck(document.pdf)).code).toBe(0);
  });

  it("answers 404 for an unknown template or version", async () => {
    for (const attempt of [() => store.get("lu-nope"), () => store.get("lu-ecit", "9.9.9")]) {
      expect(attempt).toThrow(PasserelleError);
      try {
        attempt();
      } catch (error) {
        expect((error as PasserelleError).code).toBe("PASSERELLE_TEMPLATE_UNKNOWN");
        expect((error as PasserelleError).status).toBe(404);
      }
    }
  });

  it("produces PDFs that take a PAdES signature (pdfsig finds it valid)", async () => {
    const pkiDir = join(workDir, "pki");
    const pki = await SandboxPki.open(pkiDir);
    const identity = await pki.clientIdentity("lu-template-test-signer", {
      country: "LU",
      subject: { C: "LU", O: "Passerelle Sandbox", CN: "Dr Anne Weber" },
      extendedKeyUsages: ["emailProtection"],
      keyUsages: ["digitalSignature", "nonRepudiation"],
    });
    const signer = SoftwareSigner.fromPem({ keyPem: identity.keyPem, certificatePem: identity.certPem + identity.chainPem.join("") });
    expect((await signer.certificateChain())[0]).toBeInstanceOf(X509Certificate);
    const document = await store.render("lu-ecit", sampleEcitData());
    const signed = await signPdf(Buffer.from(document.pdf), { signer, reason: "Certificat d'incapacité de travail", signingTime: new Date("2025-03-10T09:00:00Z") });
    const { stdout } = await run("pdfsig", ["-nocert", await save(signed)], { encoding: "utf8" }).catch(
      (error: { stdout?: string; stderr?: string }) => ({ stdout: `${error.stdout ?? ""}${error.stderr ?? ""}` }),
    );
    expect(stdout).toContain("Signature Validation: Signature is Valid.");
  });
});
