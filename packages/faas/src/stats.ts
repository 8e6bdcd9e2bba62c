// The gateway's `/_/stats` protocol, read by autoscalers: in-flight requests per revision.

/** In-flight requests per revision, summed over gateways. */
export type ConcurrencySource = () => Promise<Map<string, number>>;

/** Reads `/_/stats` from each gateway URL and sums them; an unreachable gateway is skipped. */
export function gatewayStatsSource(
  urls: readonly string[],
  onError: (url: string, error: Error) => void = () => {},
): ConcurrencySource {
  return async () => {
    const total = new Map<string, number>();
    await Promise.all(
      urls.map(async (url) => {
        try {
          const res = await fetch(`${url.replace(/\/$/, '')}/_/stats`, { signal: AbortSignal.timeout(2000) });
          if (!res.ok) throw new Error(`HTTP ${res.status}`);
          const body = (await res.json()) as { inflight?: Record<string, number> };
          for (const [rev, n] of Object.entries(body.inflight ?? {})) total.set(rev, (total.get(rev) ?? 0) + n);
        } catch (e) {
          onError(url, e as Error);
        }
      }),
    );
    return total;
  };
}
