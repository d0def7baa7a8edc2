import { Counter, Histogram, Registry, collectDefaultMetrics } from "prom-client";

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * The gateway's Prometheus metrics. One registry per gateway instance (not
 * prom-client's global one), so two gateways embedded in one process — or two
 * in one test — never mix their figures.
 */
export class GatewayMetrics {
  readonly registry: Registry;
  readonly httpRequests: Counter<"method" | "route" | "status">;
  readonly httpDuration: Histogram<"method" | "route" | "status">;
  readonly upstreamDuration: Histogram<"upstream" | "method" | "outcome">;
  readonly upstreamErrors: Counter<"upstream" | "kind">;
  readonly upstreamCircuitOpen: Counter<"upstream">;
  readonly vaultDuration: Histogram<"backend" | "operation" | "outcome">;
  readonly auditRecords: Counter<"action" | "outcome">;
  readonly trustReloads: Counter<"store" | "outcome">;
  /**
   * The labelled children of httpRequests/httpDuration per method, route
   * template and status: looked up once, not hashed from a labels object on
   * every request. Bounded by routes × methods × statuses (routes are
   * templates, unknown paths are "unmatched"; Node's parser knows ~35 methods).
   */
  readonly #httpChildren = new Map<string, { count: { inc(): void }; duration: { observe(value: number): void } }>();

  constructor(options: { processMetrics?: boolean } = {}) {
    this.registry = new Registry();
    if (options.processMetrics !== false) {
      collectDefaultMetrics({ register: this.registry, prefix: "passerelle_" });
    }
    const registers = [this.registry];
    this.httpRequests = new Counter({
      name: "passerelle_http_requests_total",
      help: "HTTP requests served, by route template and status",
      labelNames: ["method", "route", "status"],
      registers,
    });
    this.httpDuration = new Histogram({
      name: "passerelle_http_request_duration_seconds",
      help: "HTTP request latency, by route template and status",
      labelNames: ["method", "route", "status"],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.upstreamDuration = new Histogram({
      name: "passerelle_upstream_request_duration_seconds",
      help: "Latency of calls to upstream (national) services",
      labelNames: ["upstream", "method", "outcome"],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.upstreamErrors = new Counter({
      name: "passerelle_upstream_errors_total",
      help: "Failed calls to upstream services, by kind (timeout, unreachable, bad_status, circuit_open)",
      labelNames: ["upstream", "kind"],
      registers,
    });
    this.upstreamCircuitOpen = new Counter({
      name: "passerelle_upstream_circuit_opened_total",
      help: "Times an upstream's circuit breaker opened",
      labelNames: ["upstream"],
      registers,
    });
    this.vaultDuration = new Histogram({
      name: "passerelle_vault_operation_duration_seconds",
      help: "Vault operation latency",
      labelNames: ["backend", "operation", "outcome"],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.auditRecords = new Counter({
      name: "passerelle_audit_records_total",
      help: "Audit records written",
      labelNames: ["action", "outcome"],
      registers,
    });
    this.trustReloads = new Counter({
      name: "passerelle_trust_reloads_total",
      help: "Reloads of trust stores and signing material",
      labelNames: ["store", "outcome"],
      registers,
    });
  }

  /** One served request: counted and its latency observed, by method, route template and status. */
  observeHttpRequest(method: string, route: string, status: number, seconds: number): void {
    const key = `${method} ${status} ${route}`;
    let children = this.#httpChildren.get(key);
    if (children === undefined) {
      const labels = { method, route, status: String(status) };
      children = { count: this.httpRequests.labels(labels), duration: this.httpDuration.labels(labels) };
      this.#httpChildren.set(key, children);
    }
    children.count.inc();
    children.duration.observe(seconds);
  }
}
