// Baseline for bench/foundation.mjs: a bare Fastify route answering the same
// JSON as GET /v1/caller, with no auth, no hooks, no logging.
import Fastify from "fastify";

const app = Fastify({ logger: false });
app.get("/v1/caller", async () => ({ id: "sandbox-demo", roles: ["admin"], via: "api-key" }));
await app.listen({ host: "127.0.0.1", port: 0 });
process.stderr.write(`listening on http://127.0.0.1:${app.server.address().port}\n`);
process.on("SIGTERM", () => app.close().then(() => process.exit(0)));
