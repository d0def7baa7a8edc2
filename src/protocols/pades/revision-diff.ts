/**
 * What changed in a PDF after a signed revision, and whether those changes
 * are the ones a signed document may receive without invalidating the
 * signature's meaning: more signatures and document time-stamps (new
 * signature fields, their widgets and dictionaries, the page's /Annots and
 * the AcroForm's /Fields growing to list them, /SigFlags), and validation
 * data (the /DSS dictionary, ETSI EN 319 142-1 §5.4). Anything else — a
 * changed page content, a new annotation, a replaced object — is reported.
 *
 * ISO 32000-1 §12.8.2.2 (DocMDP) grades allowed changes further (form
 * filling, annotations); a document without a DocMDP transform gets this
 * strict reading, which is what a practitioner's signed prescription or
 * certificate needs.
 */
import { PDFArray, PDFDict, PDFName, PDFRef, PDFStream, type PDFContext, type PDFObject } from "pdf-lib";
import { formFields, type LoadedPdf } from "./pdf-structure.js";

/** Catalog entries a later signature or validation-data update may set. */
const CATALOG_ENTRIES_ALLOWED_TO_CHANGE = new Set(["AcroForm", "DSS", "Extensions"]);
/** AcroForm entries a later signature may set (ISO 32000-1 §12.7.2). */
const ACROFORM_ENTRIES_ALLOWED_TO_CHANGE = new Set(["Fields", "SigFlags"]);
const MAX_WALK = 100_000;

/** Descriptions of the changes that are not signature or validation-data additions; empty when none. */
export function disallowedChanges(before: LoadedPdf, after: LoadedPdf): string[] {
  const problems: string[] = [];
  if (before.catalogRef !== after.catalogRef) return ["the document catalog was replaced"];
  const { context } = after;

  const beforeFields = new Set(formFields(before.context, before.catalog).map((field) => field.ref.tag));
  const addedSignatureFields = formFields(context, after.catalog).filter((field) => field.type === "Sig" && !beforeFields.has(field.ref.tag));
  // What the new signatures may bring: the field, its widgets, its signature dictionary and appearance streams.
  const signatureParts = new Set<string>();
  const addedWidgetsAndFields = new Set<string>();
  for (const field of addedSignatureFields) {
    signatureParts.add(field.ref.tag);
    addedWidgetsAndFields.add(field.ref.tag);
    const kids = context.lookup(field.dict.get(PDFName.of("Kids")));
    for (const kid of kids instanceof PDFArray ? kids.asArray() : []) {
      if (kid instanceof PDFRef) addedWidgetsAndFields.add(kid.tag);
      collectReferences(context, kid, signatureParts);
    }
    collectReferences(context, field.dict.get(PDFName.of("V")), signatureParts);
    collectReferences(context, field.dict.get(PDFName.of("AP")), signatureParts);
  }
  const validationData = new Set<string>();
  collectReferences(context, after.catalog.get(PDFName.of("DSS")), validationData);

  const acroFormRef = after.catalog.get(PDFName.of("AcroForm"));
  const fieldsRef = dictOf(context, acroFormRef)?.get(PDFName.of("Fields"));

  for (const [ref, object] of context.enumerateIndirectObjects()) {
    const previous = before.context.lookup(ref);
    if (previous !== undefined && sameObject(previous, object)) continue;
    if (signatureParts.has(ref.tag) || validationData.has(ref.tag)) continue;
    const where = `object ${ref.objectNumber} ${ref.generationNumber}`;
    if (previous === undefined) {
      problems.push(`${where} was added`);
    } else if (ref === after.catalogRef) {
      problems.push(...dictionaryChanges(previous, object, CATALOG_ENTRIES_ALLOWED_TO_CHANGE, "catalog"));
      if (!(acroFormRef instanceof PDFRef)) {
        const oldForm = dictOf(before.context, (previous as PDFDict).get(PDFName.of("AcroForm")));
        const newForm = dictOf(context, acroFormRef);
        if (oldForm !== undefined && newForm !== undefined) problems.push(...acroFormChanges(oldForm, newForm, addedWidgetsAndFields));
      }
    } else if (ref === acroFormRef) {
      problems.push(...acroFormChanges(previous, object, addedWidgetsAndFields));
    } else if (ref === fieldsRef) {
      problems.push(...arrayAdditions(previous, object, addedWidgetsAndFields, "AcroForm /Fields"));
    } else if (object instanceof PDFDict && object.get(PDFName.of("Type")) === PDFName.of("Page")) {
      problems.push(...pageChanges(before.context, previous, object, context, addedWidgetsAndFields, where));
    } else if (object instanceof PDFArray && isAnnotsArrayOfSomePage(context, ref)) {
      problems.push(...arrayAdditions(previous, object, addedWidgetsAndFields, `${where} (/Annots)`));
    } else {
      problems.push(`${where} was changed`);
    }
  }
  return problems;
}

function sameObject(a: PDFObject, b: PDFObject): boolean {
  if (a instanceof PDFStream && b instanceof PDFStream) {
    return a.dict.toString() === b.dict.toString() && Buffer.from(a.getContents()).equals(Buffer.from(b.getContents()));
  }
  return a.toString() === b.toString();
}

function dictOf(context: PDFContext, value: PDFObject | undefined): PDFDict | undefined {
  const resolved = context.lookup(value);
  return resolved instanceof PDFDict ? resolved : undefined;
}

/** Entries of two versions of a dictionary that differ, outside `allowed`. */
function dictionaryChanges(before: PDFObject, after: PDFObject, allowed: ReadonlySet<string>, what: string): string[] {
  if (!(before instanceof PDFDict) || !(after instanceof PDFDict)) return [`the ${what} changed type`];
  const keys = new Set([...before.keys(), ...after.keys()].map((key) => key.decodeText()));
  const changed = [...keys].filter((key) => {
    if (allowed.has(key)) return false;
    return before.get(PDFName.of(key))?.toString() !== after.get(PDFName.of(key))?.toString();
  });
  return changed.length === 0 ? [] : [`the ${what} changed: ${changed.map((key) => `/${key}`).join(", ")}`];
}

function acroFormChanges(before: PDFObject, after: PDFObject, added: ReadonlySet<string>): string[] {
  const problems = dictionaryChanges(before, after, ACROFORM_ENTRIES_ALLOWED_TO_CHANGE, "AcroForm");
  if (before instanceof PDFDict && after instanceof PDFDict) {
    const oldFields = before.get(PDFName.of("Fields"));
    const newFields = after.get(PDFName.of("Fields"));
    if (newFields instanceof PDFArray && (oldFields instanceof PDFArray || oldFields === undefined)) {
      const previous = oldFields ?? PDFArray.withContext(after.context);
      problems.push(...arrayAdditions(previous, newFields, added, "AcroForm /Fields"));
    } else if (oldFields?.toString() !== newFields?.toString()) {
      // The same indirect array on both sides is compared on its own, as an object.
      problems.push("the AcroForm /Fields entry was replaced");
    }
  }
  return problems;
}

function pageChanges(
  beforeContext: PDFContext,
  before: PDFObject,
  after: PDFDict,
  afterContext: PDFContext,
  added: ReadonlySet<string>,
  where: string,
): string[] {
  const problems = dictionaryChanges(before, after, new Set(["Annots"]), `page (${where})`);
  if (!(before instanceof PDFDict)) return problems;
  const oldAnnots = before.get(PDFName.of("Annots"));
  const newAnnots = after.get(PDFName.of("Annots"));
  if (oldAnnots instanceof PDFRef && newAnnots === oldAnnots) return problems; // the array object is checked on its own
  const oldArray = oldAnnots === undefined ? PDFArray.withContext(beforeContext) : beforeContext.lookup(oldAnnots);
  const newArray = afterContext.lookup(newAnnots);
  problems.push(...arrayAdditions(oldArray ?? PDFArray.withContext(beforeContext), newArray ?? PDFArray.withContext(afterContext), added, `${where} /Annots`));
  return problems;
}

/** `after` must hold everything `before` held, plus only members of `added`. */
function arrayAdditions(before: PDFObject, after: PDFObject | undefined, added: ReadonlySet<string>, what: string): string[] {
  if (!(before instanceof PDFArray) || !(after instanceof PDFArray)) return [`${what} changed type`];
  const remaining = after.asArray().map((item) => item.toString());
  for (const item of before.asArray()) {
    const at = remaining.indexOf(item.toString());
    if (at === -1) return [`${what} lost an entry`];
    remaining.splice(at, 1);
  }
  const foreign = remaining.filter((item) => !added.has(item));
  return foreign.length === 0 ? [] : [`${what} gained entries that are not signature fields: ${foreign.join(", ")}`];
}

function isAnnotsArrayOfSomePage(context: PDFContext, ref: PDFRef): boolean {
  return context
    .enumerateIndirectObjects()
    .some(([, object]) => object instanceof PDFDict && object.get(PDFName.of("Type")) === PDFName.of("Page") && object.get(PDFName.of("Annots")) === ref);
}

/**
 * Adds to `into` every indirect object reachable from `start`, not going
 * up the tree through /P or /Parent (which would reach the whole document).
 */
function collectReferences(context: PDFContext, start: PDFObject | undefined, into: Set<string>): void {
  const stack: (PDFObject | undefined)[] = [start];
  let steps = 0;
  while (stack.length > 0 && steps++ < MAX_WALK) {
    const item = stack.pop();
    if (item instanceof PDFRef) {
      if (into.has(item.tag)) continue;
      into.add(item.tag);
      stack.push(context.lookup(item));
    } else if (item instanceof PDFDict) {
      for (const [key, value] of item.entries()) if (key !== PDFName.of("P") && key !== PDFName.of("Parent")) stack.push(value);
    } else if (item instanceof PDFStream) {
      stack.push(item.dict);
    } else if (item instanceof PDFArray) {
      stack.push(...item.asArray());
    }
  }
}
