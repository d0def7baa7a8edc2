/**
 * What the iHub simulator publishes: two signed template packages.
 *
 * - 1.0.0: the templates built into Passerelle, byte for byte (same
 *   manifest, so a gateway on its built-in templates finds nothing new);
 * - 1.1.0: the eCIT template moves to 1.1.0 — its data schema accepts a new
 *   cause (`maladie-professionnelle`) and a new member
 *   (`incapacity.therapeuticPartTime`), and its layout prints that member
 *   and a new subtitle ("formulaire 2025"); the other templates stay.
 */
// The package modules, not the templates' index: the simulator needs no renderer (pdf-lib, fontkit).
import { builtinTemplatesDirectory, readPackageDirectory } from "../../services/lu/templates/package-directory.js";
import { buildManifest, packageFrom, type TemplatePackage } from "../../services/lu/templates/package-format.js";
import { signManifest } from "../../services/lu/templates/package-signature.js";
import type { Signer } from "../../trust/signer.js";

export interface PublishedPackage {
  version: string;
  publishedAt: string;
  /** Signed by the simulator's iHub signer. */
  pkg: TemplatePackage;
}

export const LU_IHUB_PUBLISHER = "Caisse nationale de santé — iHub (sandbox)";
const ECIT_PATH = "templates/lu-ecit.json";

type Json = Record<string, unknown>;

function objectAt(value: unknown, ...path: string[]): Json {
  let current = value;
  for (const key of path) current = (current as Json)[key];
  if (current === null || typeof current !== "object") throw new Error(`built-in eCIT template: no object at ${path.join(".")}`);
  return current as Json;
}

/** The eCIT template 1.1.0, derived from the built-in 1.0.0. */
export function ecitVersion110(builtinEcit: Buffer): Buffer {
  const template = JSON.parse(builtinEcit.toString("utf8")) as Json;
  template.version = "1.1.0";
  const incapacity = objectAt(template, "schema", "properties", "incapacity", "properties");
  (objectAt(incapacity, "kind").enum as string[]).push("maladie-professionnelle");
  incapacity.therapeuticPartTime = { type: "boolean", description: "reprise progressive du travail pour raisons thérapeutiques" };
  const blocks = objectAt(template, "layout").blocks as Json[];
  const title = blocks.find((block) => block.type === "title");
  const section = blocks.find((block) => block.type === "section" && block.title === "Incapacité de travail");
  if (title === undefined || section === undefined) throw new Error("built-in eCIT template: title or incapacity section not found");
  title.subtitle = "Caisse nationale de santé — {{incapacity.certificateType | map:certificateTypes}} — formulaire 2025";
  (section.rows as Json[]).splice(3, 0, {
    label: "Reprise progressive (mi-temps thérapeutique)",
    value: "{{incapacity.therapeuticPartTime | yesno}}",
    when: "incapacity.therapeuticPartTime",
  });
  return Buffer.from(`${JSON.stringify(template, null, 2)}\n`);
}

/** Builds and signs a package from files (the manifest is written for them). */
export async function signedPackage(files: ReadonlyMap<string, Buffer>, packageVersion: string, signer: Signer): Promise<TemplatePackage> {
  const manifestBytes = buildManifest({ packageVersion, publisher: LU_IHUB_PUBLISHER, files });
  return signWith(manifestBytes, files, signer);
}

export async function signWith(manifestBytes: Buffer, files: ReadonlyMap<string, Buffer>, signer: Signer | undefined): Promise<TemplatePackage> {
  const signature = signer === undefined ? undefined : await signManifest(manifestBytes, signer);
  return packageFrom(manifestBytes, files, signature);
}

export async function buildCatalogue(signer: Signer, builtinDir: string = builtinTemplatesDirectory()): Promise<PublishedPackage[]> {
  const builtin = await readPackageDirectory(builtinDir);
  const initial = await signWith(builtin.manifestBytes, builtin.files, signer);
  const ecit = builtin.files.get(ECIT_PATH);
  if (ecit === undefined) throw new Error(`the built-in templates have no ${ECIT_PATH}`);
  const files = new Map(builtin.files);
  files.set(ECIT_PATH, ecitVersion110(ecit));
  const update = await signedPackage(files, "1.1.0", signer);
  return [
    { version: initial.manifest.packageVersion, publishedAt: "2025-01-15T08:00:00Z", pkg: initial },
    { version: "1.1.0", publishedAt: "2025-06-02T08:00:00Z", pkg: update },
  ];
}
