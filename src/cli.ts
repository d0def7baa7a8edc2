#!/usr/bin/env node
/**
 * The `passerelle` command. This entry only turns on Node's on-disk compile
 * cache (V8 code cache, in the OS temp directory; NODE_DISABLE_COMPILE_CACHE=1
 * turns it off) before loading the gateway, which roughly halves the time the
 * second and later starts spend compiling modules. The commands are in
 * ./commands.ts.
 */
import { enableCompileCache } from "node:module";

enableCompileCache();
await import("./commands.js");
