/**
 * The XML stack — XML-DSig and XAdES (./index.js), the hardened parser and
 * C14N under it (src/protocols/xml, @xmldom/xmldom) — loaded by the first
 * call that signs, verifies or reads XML rather than with the gateway: a
 * process that never sees XML does not hold it (src/lazily.ts). Import this
 * module where the stack is used at run time; `import type` from the
 * index modules for its types.
 */
import { lazily } from "../../lazily.js";

export const loadXmlDsig = lazily(() => import("./index.js"));
export const loadXml = lazily(() => import("../xml/index.js"));
