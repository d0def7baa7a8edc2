import { Counter, Histogram, Registry, collectDefaultMetrics, type Metric } from "prom-client";

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * How often the event-loop delay histogram (passerelle_nodejs_eventloop_lag_*)
 * samples the loop, in ms. prom-client's default, 10 ms, is a timer that wakes
 * an idle gateway 100 times a second: 0.86 % of a core doing nothing (measured
 * in an otherwise empty Node 24 process; 0.44 % at 20 ms, 0.10 % at 100 ms).
 * At 50 ms a 15 s scrape interval still holds 300 samples, and a block of the
 * loop longer than 50 ms is always seen.
 */
const EVENT_LOOP_SAMPLE_MS = 50;

/**
 * The gateway's Prometheus metrics. One registry per gateway instance (not
 * prom-client's global one), so two gateways embedded in one process — or two
 * in one test — never mix their figures.
 */
export class GatewayMetrics {
  readonly registry: Registry;
  readonly upstreamDuration: Histogram<"upstream" | "method" | "outcome">;
  readonly upstreamErrors: Counter<"upstream" | "kind">;
  readonly upstreamCircuitOpen: Counter<"upstream">;
  readonly vaultDuration: Histogram<"backend" | "operation" | "outcome">;
  readonly auditRecords: Counter<"action" | "outcome">;
  readonly trustReloads: Counter<"store" | "outcome">;
  readonly #http = new HttpRequestSeries(LATENCY_BUCKETS);

  constructor(options: { processMetrics?: boolean } = {}) {
    this.registry = new Registry();
    if (options.processMetrics !== false) {
      collectDefaultMetrics({ register: this.registry, prefix: "passerelle_", eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
    }
    const registers = [this.registry];
    this.registry.registerMetric(this.#http.counter("passerelle_http_requests_total", "HTTP requests served, by route template and status"));
    this.registry.registerMetric(this.#http.histogram("passerelle_http_request_duration_seconds", "HTTP request latency, by route template and status"));
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
    this.#http.observe(method, route, status, seconds);
  }
}

type HttpLabels = { method: string; route: string; status: string };

interface HttpSeries {
  labels: HttpLabels;
  count: number;
  sum: number;
  /** Observations per bucket (not cumulative), in the order of the bounds. */
  perBucket: number[];
}

/**
 * The counter and histogram of served requests, kept as plain numbers per
 * method, route template and status. prom-client's Counter and Histogram
 * rebuild and hash a labels object on every call, even through a labelled
 * child: a visible share of a cheap request. These series are found by one
 * string key, and handed to the registry when it is scraped, in the form
 * prom-client's own metrics give (metrics.test.ts compares the exposition
 * with theirs). Bounded by routes × methods × statuses (routes are
 * templates, unknown paths are "unmatched"; Node's parser knows ~35 methods).
 */
class HttpRequestSeries {
  readonly #bounds: readonly number[];
  readonly #series = new Map<string, HttpSeries>();

  constructor(bounds: readonly number[]) {
    this.#bounds = bounds;
  }

  observe(method: string, route: string, status: number, seconds: number): void {
    const key = `${method} ${status} ${route}`;
    let series = this.#series.get(key);
    if (series === undefined) {
      series = { labels: { method, route, status: String(status) }, count: 0, sum: 0, perBucket: this.#bounds.map(() => 0) };
      this.#series.set(key, series);
    }
    series.count += 1;
    series.sum += seconds;
    const bounds = this.#bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (seconds <= (bounds[i] as number)) {
        series.perBucket[i] = (series.perBucket[i] as number) + 1;
        break;
      }
    }
  }

  counter(name: string, help: string): Metric {
    return this.#metric(name, help, "counter", () => [...this.#series.values()].map((s) => ({ labels: { ...s.labels }, value: s.count })));
  }

  histogram(name: string, help: string): Metric {
    return this.#metric(name, help, "histogram", () =>
      [...this.#series.values()].flatMap((s) => {
        let cumulative = 0;
        const buckets = this.#bounds.map((le, i) => {
          cumulative += s.perBucket[i] ?? 0;
          return { labels: { le }, sharedLabels: s.labels, value: cumulative, metricName: `${name}_bucket` };
        });
        return [
          ...buckets,
          { labels: { le: "+Inf" }, sharedLabels: s.labels, value: s.count, metricName: `${name}_bucket` },
          { labels: {}, sharedLabels: s.labels, value: s.sum, metricName: `${name}_sum` },
          { labels: {}, sharedLabels: s.labels, value: s.count, metricName: `${name}_count` },
        ];
      }),
    );
  }

  /** What a Registry asks of a metric (get, reset), as prom-client's own metric classes answer it. */
  #metric(name: string, help: string, type: "counter" | "histogram", values: () => unknown[]): Metric {
    const metric = {
      name,
      help,
      type,
      aggregator: "sum",
      get: async () => ({ name, help, type, values: values(), aggregator: "sum" }),
      reset: () => this.#series.clear(),
    };
    return metric as unknown as Metric;
  }
}
