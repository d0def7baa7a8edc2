import { execFileSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * End-to-end tests run the built command (dist/bin/passerelle.js) exactly as
 * users and the Dockerfile do, so build once before any test file runs — the
 * same three steps as `npm run build`: tsc, the run-time assets, the bundle.
 */
export default function setup(): void {
  // For quick unit-test iterations: PASSERELLE_TEST_NO_BUILD=1 reuses the last build.
  if (process.env.PASSERELLE_TEST_NO_BUILD === "1") return;
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
  const steps = [
    [path.join(root, "node_modules/typescript/bin/tsc"), "-p", path.join(root, "tsconfig.build.json")],
    [path.join(root, "scripts/copy-assets.mjs")],
    [path.join(root, "scripts/bundle.mjs")],
  ];
  for (const args of steps) execFileSync(process.execPath, args, { stdio: "inherit" });
}
