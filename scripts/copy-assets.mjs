#!/usr/bin/env node
// Copies the non-TypeScript files the code reads at run time (the built-in
// CNS templates: JSON, fonts and their licence) from src/ to dist/, after tsc.
import { cpSync, existsSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const ASSETS = ["services/lu/templates/builtin"];

for (const asset of ASSETS) {
  const from = path.join(root, "src", asset);
  const to = path.join(root, "dist", asset);
  if (!existsSync(from)) throw new Error(`copy-assets: ${from} is missing`);
  rmSync(to, { recursive: true, force: true });
  cpSync(from, to, { recursive: true });
}
