import type { GatewayMetrics } from "../observability/metrics.js";

/** Operation label values of `passerelle_vault_operation_duration_seconds`. */
export type VaultOperation = "get" | "set" | "delete" | "compare_and_set" | "list_by_owner" | "ping";

/**
 * Runs one vault operation and, when metrics are configured, records its
 * duration with outcome "ok" or "error". A failed compare-and-set (version
 * mismatch) is a normal answer, so it counts as "ok".
 */
export async function observeVaultOperation<T>(
  metrics: GatewayMetrics | undefined,
  backend: string,
  operation: VaultOperation,
  run: () => Promise<T>,
): Promise<T> {
  if (metrics === undefined) {
    return run();
  }
  const stopTimer = metrics.vaultDuration.startTimer({ backend, operation });
  try {
    const result = await run();
    stopTimer({ outcome: "ok" });
    return result;
  } catch (error) {
    stopTimer({ outcome: "error" });
    throw error;
  }
}
