import { describe, expect, it } from "vitest";
import { CircuitBreaker } from "./circuit-breaker.js";
import type { CircuitPermit } from "./circuit-breaker.js";

function breaker(failureThreshold = 3, resetTimeoutMs = 1_000) {
  const clock = { now: 0 };
  let opened = 0;
  const circuit = new CircuitBreaker({
    failureThreshold,
    resetTimeoutMs,
    now: () => clock.now,
    onOpen: () => {
      opened += 1;
    },
  });
  return { circuit, clock, opened: () => opened };
}

function permit(circuit: CircuitBreaker): CircuitPermit {
  const granted = circuit.acquire();
  if (granted === undefined) throw new Error("expected a permit");
  return granted;
}

describe("CircuitBreaker", () => {
  it("opens only after the threshold of consecutive failures", () => {
    const { circuit, opened } = breaker(3);
    circuit.recordFailure(permit(circuit));
    circuit.recordFailure(permit(circuit));
    circuit.recordSuccess(permit(circuit)); // breaks the run
    circuit.recordFailure(permit(circuit));
    circuit.recordFailure(permit(circuit));
    expect(circuit.state).toBe("closed");
    circuit.recordFailure(permit(circuit));
    expect(circuit.state).toBe("open");
    expect(circuit.acquire()).toBeUndefined();
    expect(opened()).toBe(1);
  });

  it("half-opens after the reset timeout and grants exactly one trial", () => {
    const { circuit, clock } = breaker(1, 1_000);
    circuit.recordFailure(permit(circuit));
    clock.now = 999;
    expect(circuit.state).toBe("open");
    expect(circuit.msUntilTrial).toBe(1);
    clock.now = 1_000;
    expect(circuit.state).toBe("half-open");
    const trial = permit(circuit);
    expect(trial.trial).toBe(true);
    expect(circuit.acquire()).toBeUndefined();
    circuit.recordSuccess(trial);
    expect(circuit.state).toBe("closed");
    expect(circuit.consecutiveFailures).toBe(0);
  });

  it("re-opens for a full reset timeout when the trial fails", () => {
    const { circuit, clock, opened } = breaker(1, 1_000);
    circuit.recordFailure(permit(circuit));
    clock.now = 1_500;
    circuit.recordFailure(permit(circuit));
    expect(circuit.state).toBe("open");
    expect(circuit.msUntilTrial).toBe(1_000);
    expect(opened()).toBe(2);
  });

  it("frees the trial slot without a verdict when the call is abandoned", () => {
    const { circuit, clock } = breaker(1, 1_000);
    circuit.recordFailure(permit(circuit));
    clock.now = 1_000;
    circuit.release(permit(circuit));
    expect(circuit.state).toBe("half-open");
    expect(permit(circuit).trial).toBe(true);
  });

  it("ignores late verdicts of calls that started before it opened", () => {
    const { circuit, clock, opened } = breaker(2, 1_000);
    const early = permit(circuit);
    const late = permit(circuit);
    circuit.recordFailure(permit(circuit));
    circuit.recordFailure(permit(circuit));
    expect(circuit.state).toBe("open");
    circuit.recordSuccess(early);
    expect(circuit.state).toBe("open");
    clock.now = 1_000;
    circuit.recordFailure(late);
    expect(circuit.state).toBe("half-open");
    expect(opened()).toBe(1);
  });

  it("rejects nonsensical settings", () => {
    expect(() => new CircuitBreaker({ failureThreshold: 0, resetTimeoutMs: 1, now: Date.now })).toThrow(TypeError);
    expect(() => new CircuitBreaker({ failureThreshold: 1, resetTimeoutMs: -1, now: Date.now })).toThrow(TypeError);
  });
});
