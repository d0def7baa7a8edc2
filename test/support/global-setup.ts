import { execFileSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * End-to-end tests run the built CLI (dist/) exactly as users and the
 * Dockerfile do, so build once before any test file runs.
 */
export default function setup(): void {
  // For quick unit-test iterations: PASSERELLE_TEST_NO_BUILD=1 reuses the last build.
  if (process.env.PASSERELLE_TEST_NO_BUILD === "1") return;
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
  execFileSync(process.execPath, [path.join(root, "node_modules/typescript/bin/tsc"), "-p", path.join(root, "tsconfig.build.json")], {
    stdio: "inherit",
  });
}
