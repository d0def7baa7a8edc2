#!/usr/bin/env node
// The whole test suite, as the README and CI run it: system packages check,
// lint, type-check, then every test. Never skips silently: a missing Debian
// package is installed when we are root with apt, otherwise we stop and print
// the exact command to run.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

const REQUIRED = [
  // [binary that proves the package is there, Debian package]
  ["/usr/bin/redis-server", "redis-server"],
  ["/usr/bin/openssl", "openssl"],
  ["/usr/bin/softhsm2-util", "softhsm2"],
  ["/usr/bin/pkcs11-tool", "opensc"],
  ["/usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so", "libengine-pkcs11-openssl"],
  ["/usr/bin/xmlsec1", "xmlsec1"],
  ["/usr/bin/pdfsig", "poppler-utils"],
  ["/usr/bin/qpdf", "qpdf"],
];

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: "inherit", ...opts });
  return r.status ?? 1;
}

const missing = REQUIRED.filter(([bin]) => !existsSync(bin)).map(([, pkg]) => pkg);
if (missing.length > 0) {
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  const hasApt = existsSync("/usr/bin/apt-get");
  if (isRoot && hasApt) {
    console.log(`Installing Debian packages the tests need: ${missing.join(" ")}`);
    if (run("apt-get", ["update", "-qq"]) !== 0 || run("apt-get", ["install", "-y", "-qq", ...missing], { env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } }) !== 0) {
      console.error(`Could not install ${missing.join(" ")}. Run: sudo apt-get install -y ${missing.join(" ")}`);
      process.exit(1);
    }
  } else {
    console.error(`The tests need Debian packages that are missing. Run:\n  sudo apt-get update && sudo apt-get install -y ${missing.join(" ")}`);
    process.exit(1);
  }
}

const steps = [
  ["lint", "npx", ["eslint", "."]],
  ["type-check", "npx", ["tsc", "-p", "tsconfig.json", "--noEmit"]],
  ["tests", "npx", ["vitest", "run", ...process.argv.slice(2)]],
];
for (const [name, cmd, args] of steps) {
  console.log(`\n== ${name} ==`);
  const status = run(cmd, args);
  if (status !== 0) {
    console.error(`\n${name} failed (exit ${status})`);
    process.exit(status);
  }
}
