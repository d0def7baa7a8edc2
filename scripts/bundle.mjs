#!/usr/bin/env node
// Bundles the `passerelle` command (dist/cli.js, tsc's output) into
// dist/bin/passerelle.js and the lazily loaded chunks beside it, after tsc.
//
// Why: the command loads about 1,900 module files (TypeBox alone is 537, pdf-lib
// 137). Node resolves, stats and compiles each one, and that was half of the
// gateway's cold start. One bundle per process path starts in about two thirds
// of the time and holds less memory (README, Architecture, "Start-up").
// The library entry (dist/index.js) stays tsc's unbundled output.
//
// What the bundle keeps from the unbundled layout:
// - every `import.meta.url` in dist/**.js is replaced by that file's own URL,
//   computed from the chunk's location, so the paths the code derives from it
//   (the built-in templates, package.json, createRequire) are the same;
// - dynamic `import()`s stay lazy: each becomes its own chunk (code splitting);
// - packages that read files next to their own sources (__dirname) or are
//   native stay external and load from node_modules as before.
import { build } from "esbuild";
import { readFile, rm } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dist = path.join(root, "dist");
const outdir = path.join(dist, "bin");
const entry = path.join(dist, "cli.js");

// Read files next to their sources (__dirname), are native, or are loaded only by name at run time.
const EXTERNAL = ["pkcs11js", "@fastify/swagger", "@fastify/swagger-ui", "ioredis", "pino", "thread-stream"];

/** Rewrites `import.meta.url` in tsc's output to the URL that file had before bundling. */
const keepModuleUrls = {
  name: "keep-module-urls",
  setup(b) {
    b.onLoad({ filter: /\.js$/ }, async (args) => {
      const source = await readFile(args.path, "utf8");
      // The entry keeps its own URL: it is the command (the sandbox process is forked from it).
      const isOwnModule = args.path.startsWith(`${dist}${path.sep}`) && args.path !== entry;
      if (!isOwnModule || !source.includes("import.meta.url")) return undefined;
      const fromBundle = path.relative(outdir, args.path).split(path.sep).join("/");
      return { contents: source.replaceAll("import.meta.url", `new URL(${JSON.stringify(fromBundle)}, import.meta.url).href`), loader: "js" };
    });
  },
};

await rm(outdir, { recursive: true, force: true });
const result = await build({
  entryPoints: { passerelle: entry },
  outdir,
  entryNames: "[name]",
  // Chunks next to the entry: every bundled file has the same URL base.
  chunkNames: "[name]-[hash]",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node22",
  external: EXTERNAL,
  // CommonJS dependencies call require() for Node's built-ins: give the ESM chunks one.
  banner: { js: 'import { createRequire as __passerelleCreateRequire } from "node:module";\nconst require = __passerelleCreateRequire(import.meta.url);' },
  // No keepNames: it wraps every function in a __name() call, some of them per request inside Fastify
  // (7 % of an authenticated GET's CPU) and 13 MB of memory. Without it, esbuild renames the functions
  // and classes whose names collide in one chunk (`SignedData` of pkijs and of @peculiar/asn1-cms
  // becomes `SignedData2`), which only matters to code that compares `.name`: checked for the
  // dependencies bundled here (jose's errors, asn1js's `Sequence` test in @peculiar/asn1-schema and
  // undici's checks keep their names; pkijs names its errors with static strings), and
  // test/e2e/bundle.e2e.test.ts runs the protocol stacks through this bundle.
  keepNames: false,
  // Whitespace only. V8 keeps every loaded script's source text in memory: without comments and
  // indentation it is 6.1 MB instead of 8.5, and it stays a one-byte string (a single `’` or `—` in a
  // dependency's comment made a whole chunk's source two bytes per character). Stack traces then
  // point into long lines: `node --enable-source-maps` maps them back through the linked .map files.
  // Not minifySyntax: it broke the sandbox's OpenID Provider (authorization codes refused).
  minifyWhitespace: true,
  sourcemap: "linked",
  legalComments: "linked",
  plugins: [keepModuleUrls],
  logLevel: "warning",
  metafile: true,
});
const files = Object.keys(result.metafile.outputs).filter((f) => f.endsWith(".js"));
// One-byte sources (see minifyWhitespace): esbuild escapes non-ASCII in code (charset "ascii", its default).
for (const file of files) {
  const source = await readFile(path.join(root, file), "latin1");
  const at = source.search(/[\u0080-\uffff]/);
  if (at !== -1) throw new Error(`${file}: non-ASCII character at offset ${at}: V8 would hold this chunk's source as a two-byte string`);
}
// Kept off the gateway's start (each loads on first use, see its module): a static import from the modules
// `passerelle start` loads would make every gateway hold it from its first second.
const START_MODULES = ["dist/cli.js", "dist/commands.js", "dist/gateway/create-gateway.js", "dist/sandbox/child-process.js"];
const LOADED_ON_FIRST_USE = {
  "node_modules/@peculiar/x509/": "src/trust/x509-library.ts",
  "node_modules/@xmldom/xmldom/": "src/protocols/xmldsig/load.ts (or src/services/lu/mysecu/messages.ts)",
  "node_modules/pdf-lib/": "src/protocols/pades/load.ts",
};
const staticallyLoaded = new Set(START_MODULES);
for (const file of staticallyLoaded) {
  for (const imported of result.metafile.inputs[file]?.imports ?? []) {
    if (imported.kind !== "dynamic-import" && !imported.external) staticallyLoaded.add(imported.path);
  }
}
for (const [prefix, loader] of Object.entries(LOADED_ON_FIRST_USE)) {
  const chain = [...staticallyLoaded].find((file) => file.startsWith(prefix));
  if (chain !== undefined) throw new Error(`${chain} is imported statically by the gateway's start modules: load it through ${loader}`);
}
// Linux before 5.1 cuts a shebang after 127 bytes: the command's flags would be lost.
const shebang = (await readFile(path.join(outdir, "passerelle.js"), "utf8")).split("\n", 1)[0];
if (Buffer.byteLength(shebang) > 127) throw new Error(`dist/bin/passerelle.js: the shebang is ${Buffer.byteLength(shebang)} bytes, more than the 127 older kernels read`);
console.log(`bundle: ${files.length} files in ${path.relative(root, outdir)}/`);
