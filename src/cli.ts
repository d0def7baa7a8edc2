#!/usr/bin/env -S MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=8192 node --max-semi-space-size=4 --heap-growing-percent=30
/**
 * The `passerelle` command. This entry only turns on Node's on-disk compile
 * cache (V8 code cache, in the OS temp directory; NODE_DISABLE_COMPILE_CACHE=1
 * turns it off) before loading the gateway, which roughly halves the time the
 * second and later starts spend compiling modules. The commands are in
 * ./commands.ts.
 *
 * The shebang (like `npm start` and the Dockerfile) sizes V8's heap for a
 * gateway: young generation capped at 2 × 4 MB semi-spaces (since Node 22
 * V8 sizes it from the host's memory, 128 MB on a 24 GB machine), and the
 * old generation grown by 30 % rather than V8's default factor after each
 * full collection; and glibc's malloc to two arenas rather than one per
 * thread, mapping blocks of 8 kB and more (as the Dockerfile does) — see README,
 * "Memory". The line stays under 128 bytes: older kernels (Linux < 5.1)
 * cut longer shebangs.
 */
import { enableCompileCache } from "node:module";
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";

// No allocation-site pretenuring (README, "Memory"). When a full collection fell under load, V8 at
// times judged the request objects' allocation sites long-lived and allocated them in the old
// generation, where, dead, they kept what they pointed to alive through the young collections:
// ~2 MB promoted per scavenge and a full collection every ~0.3 s, for as long as the load lasted.
// V8 reads the flag at each collection, so setting it here, before the gateway loads, takes effect;
// it is not on the shebang, which would pass 127 bytes.
setFlagsFromString("--no-allocation-site-pretenuring");
enableCompileCache();
const { runCli } = await import("./commands.js");
// This file is the command: `passerelle start` forks it again as `passerelle sandbox`.
runCli(fileURLToPath(import.meta.url), process.argv.slice(2));
