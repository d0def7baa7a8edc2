#!/usr/bin/env -S node --max-semi-space-size=16
/**
 * The `passerelle` command. This entry only turns on Node's on-disk compile
 * cache (V8 code cache, in the OS temp directory; NODE_DISABLE_COMPILE_CACHE=1
 * turns it off) before loading the gateway, which roughly halves the time the
 * second and later starts spend compiling modules. The commands are in
 * ./commands.ts.
 *
 * The shebang (like `npm start` and the Dockerfile) caps V8's young generation
 * at 2 × 16 MB semi-spaces, the default before Node 22: since then V8 sizes it
 * from the machine's memory (128 MB on a 24 GB host), which a gateway answering
 * small requests never needs — see README, "Memory".
 */
import { enableCompileCache } from "node:module";

enableCompileCache();
await import("./commands.js");
