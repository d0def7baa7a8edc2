/**
 * The PAdES stack (and pdf-lib under it), loaded by the first call that signs
 * or verifies a PDF rather than with the gateway: a process that never sees a
 * PDF does not hold it (src/lazily.ts). Import this module where the stack is
 * used at run time; `import type` from ./index.js for its types.
 */
import { lazily } from "../../lazily.js";

export const loadPades = lazily(() => import("./index.js"));
