/** What readiness needs of an upstream client (UpstreamClient satisfies it). */
export interface PingableUpstream {
  readonly name: string;
  ping(): Promise<{ ok: boolean; latencyMs: number; detail?: string }>;
  close(): Promise<void>;
}

export interface UpstreamCheck {
  name: string;
  ok: boolean;
  latencyMs: number;
  detail?: string;
}

/**
 * The upstreams the gateway is configured to call. Readiness probes ping them
 * all, at most once per `cacheMs` (a load balancer probing every second must
 * not turn into a probe storm on a national service).
 */
export class UpstreamRegistry {
  readonly #clients = new Map<string, PingableUpstream>();
  #cached: { at: number; checks: Promise<UpstreamCheck[]> } | undefined;

  constructor(
    private readonly cacheMs = 5_000,
    private readonly now: () => number = Date.now,
  ) {}

  add<T extends PingableUpstream>(client: T): T {
    if (this.#clients.has(client.name)) throw new TypeError(`Upstream ${client.name} is already registered`);
    this.#clients.set(client.name, client);
    this.#cached = undefined;
    return client;
  }

  get(name: string): PingableUpstream | undefined {
    return this.#clients.get(name);
  }

  names(): string[] {
    return [...this.#clients.keys()];
  }

  checkAll(): Promise<UpstreamCheck[]> {
    const now = this.now();
    if (this.#cached && now - this.#cached.at < this.cacheMs) return this.#cached.checks;
    const checks = Promise.all(
      [...this.#clients.values()].map(async (c): Promise<UpstreamCheck> => {
        try {
          const r = await c.ping();
          return { name: c.name, ok: r.ok, latencyMs: r.latencyMs, ...(r.detail ? { detail: r.detail } : {}) };
        } catch (err) {
          return { name: c.name, ok: false, latencyMs: 0, detail: err instanceof Error ? err.message : "ping failed" };
        }
      }),
    );
    this.#cached = { at: now, checks };
    return checks;
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.#clients.values()].map((c) => c.close()));
    this.#clients.clear();
  }
}
