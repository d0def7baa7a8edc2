/**
 * Writes an incremental update (ISO 32000-1 §7.5.6): the original bytes
 * unchanged, then the new and changed objects, a cross-reference section
 * for them only, and a trailer whose /Prev points at the previous section.
 * Earlier signatures keep covering exactly the bytes they signed.
 *
 * The cross-reference section takes the form of the previous one: a table
 * after a table, a stream after a stream (§7.5.8.4 lets readers of a file
 * that started with streams expect streams).
 */
import type { PDFRef } from "pdf-lib";
import type { CrossReferenceInfo } from "./pdf-structure.js";

export interface UpdatedObject {
  ref: PDFRef;
  /** The object's serialization (what goes between `N G obj` and `endobj`), Latin-1. */
  body: string;
}

export interface TrailerEntries {
  /** `N G R` of the catalog. */
  root: string;
  /** Serialized /Info and /ID values, copied from the previous trailer. */
  info?: string;
  id?: string;
}

export interface IncrementalUpdate {
  bytes: Buffer;
  /** Offset in `bytes` of each object's body, by object number. */
  bodyOffsets: Map<number, number>;
}

export function writeIncrementalUpdate(
  original: Buffer,
  objects: readonly UpdatedObject[],
  previous: CrossReferenceInfo,
  trailer: TrailerEntries,
): IncrementalUpdate {
  const parts: Buffer[] = [original];
  let offset = original.length;
  const push = (chunk: Buffer): void => {
    parts.push(chunk);
    offset += chunk.length;
  };
  // The update starts on a line of its own, whatever ended the original (pdf-lib ends with "%%EOF" alone).
  const last = original[original.length - 1];
  if (last !== 0x0a && last !== 0x0d) push(Buffer.from("\n", "latin1"));

  const entries: { number: number; generation: number; offset: number }[] = [];
  const bodyOffsets = new Map<number, number>();
  const sorted = [...objects].sort((a, b) => a.ref.objectNumber - b.ref.objectNumber);
  for (const object of sorted) {
    const header = `${object.ref.objectNumber} ${object.ref.generationNumber} obj\n`;
    entries.push({ number: object.ref.objectNumber, generation: object.ref.generationNumber, offset });
    bodyOffsets.set(object.ref.objectNumber, offset + header.length);
    push(latin1(`${header}${object.body}\nendobj\n`));
  }
  const highest = Math.max(previous.size - 1, ...sorted.map((o) => o.ref.objectNumber));
  const optional = `${trailer.info === undefined ? "" : `/Info ${trailer.info}\n`}${trailer.id === undefined ? "" : `/ID ${trailer.id}\n`}`;

  const xrefOffset = offset;
  if (previous.kind === "table") {
    let table = "xref\n";
    for (const run of consecutiveRuns(entries)) {
      table += `${run[0]?.number ?? 0} ${run.length}\n`;
      // §7.5.4: each entry is exactly 20 bytes, its end-of-line two characters.
      for (const entry of run) table += `${String(entry.offset).padStart(10, "0")} ${String(entry.generation).padStart(5, "0")} n\r\n`;
    }
    table += `trailer\n<<\n/Size ${highest + 1}\n/Root ${trailer.root}\n${optional}/Prev ${previous.offset}\n>>\n`;
    push(latin1(`${table}startxref\n${xrefOffset}\n%%EOF\n`));
  } else {
    // §7.5.8: the stream lists itself too, so it takes the next object number.
    const streamNumber = highest + 1;
    const all = [...entries, { number: streamNumber, generation: 0, offset: xrefOffset }];
    const offsetWidth = Math.max(4, Math.ceil(Math.log2(xrefOffset + 1) / 8));
    const rows = Buffer.alloc(all.length * (1 + offsetWidth + 2));
    all.forEach((entry, i) => {
      const at = i * (1 + offsetWidth + 2);
      rows[at] = 1; // type 1: in use, at a byte offset
      rows.writeUIntBE(entry.offset, at + 1, offsetWidth);
      rows.writeUInt16BE(entry.generation, at + 1 + offsetWidth);
    });
    const index = consecutiveRuns(all).map((run) => `${run[0]?.number ?? 0} ${run.length}`).join(" ");
    const dictionary =
      `<<\n/Type /XRef\n/Size ${streamNumber + 1}\n/Index [${index}]\n/W [1 ${offsetWidth} 2]\n` +
      `/Root ${trailer.root}\n${optional}/Prev ${previous.offset}\n/Length ${rows.length}\n>>`;
    push(latin1(`${streamNumber} 0 obj\n${dictionary}\nstream\n`));
    push(rows);
    push(latin1(`\nendstream\nendobj\nstartxref\n${xrefOffset}\n%%EOF\n`));
  }
  return { bytes: Buffer.concat(parts), bodyOffsets };
}

function consecutiveRuns<T extends { number: number }>(entries: readonly T[]): T[][] {
  const runs: T[][] = [];
  for (const entry of entries) {
    const run = runs.at(-1);
    const previous = run?.at(-1);
    if (run !== undefined && previous !== undefined && previous.number + 1 === entry.number) run.push(entry);
    else runs.push([entry]);
  }
  return runs;
}

/** Serialized PDF objects are byte strings; anything beyond Latin-1 is a bug in the caller. */
function latin1(text: string): Buffer {
  // A regular expression rather than a loop over charCodeAt: the signature dictionary holds tens of
  // thousands of placeholder digits, and the engine's scan is an order of magnitude faster.
  if (BEYOND_LATIN1.test(text)) throw new Error("PDF serialization produced a character outside Latin-1");
  return Buffer.from(text, "latin1");
}

const BEYOND_LATIN1 = /[\u0100-\uffff]/;
