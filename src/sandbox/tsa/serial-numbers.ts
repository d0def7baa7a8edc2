/**
 * Serial numbers of the sandbox TSA's tokens: unique and strictly increasing
 * (RFC 3161 §2.4.2 requires uniqueness per TSA; increasing numbers also let
 * testers see the order of issue at a glance).
 *
 * Each number is at least the current time in microseconds-since-epoch
 * granularity (milliseconds × 1000), and one more than the previous one. So a
 * restarted simulator, which remembers nothing, still never reissues a number
 * as long as the clock does not step back — good enough for a sandbox, with no
 * disk write per token.
 */
export function monotonicSerialNumbers(now: () => number = Date.now): () => bigint {
  let last = 0n;
  return () => {
    const floor = BigInt(Math.floor(now())) * 1000n;
    last = floor > last ? floor : last + 1n;
    return last;
  };
}
