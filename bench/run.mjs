#!/usr/bin/env node
// `npm run bench`: runs every benchmark under bench/ and prints its figures.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const dir = path.dirname(fileURLToPath(import.meta.url));
const only = process.argv[2];
const benches = readdirSync(dir).filter((f) => f.endsWith(".bench.mjs") && (!only || f.includes(only))).sort();
let failed = 0;
for (const file of benches) {
  console.log(`\n### ${file}`);
  const r = spawnSync(process.execPath, [path.join(dir, file)], { stdio: "inherit" });
  if (r.status !== 0) failed += 1;
}
process.exit(failed === 0 ? 0 : 1);
