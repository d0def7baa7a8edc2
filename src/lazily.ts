/**
 * Memoises an asynchronous factory: the first call starts `make`, later calls
 * share its promise. A failed attempt is forgotten, so the next call tries
 * again (a transient failure is not cached for the life of the process).
 *
 * @example
 * ```ts
 * const verifier = lazily(async () => new (await import("./aes-access-tokens.js")).AesAccessTokenVerifier(options));
 * const token = await (await verifier()).verify(accessToken);
 * ```
 */
export function lazily<T>(make: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | undefined;
  return () => {
    const current = (made ??= make());
    current.catch(() => {
      if (made === current) made = undefined;
    });
    return current;
  };
}
