// Reading stored history from the API: bucketed ranges for past time ranges,
// and for the part of a live window older than the socket's backfill.

/** Return the history API URL of `slug` for [from, to) in at most `points` buckets. */
export function historyUrl(slug, { from, to, points }) {
  const query = new URLSearchParams({ from: String(Math.floor(from)), to: String(Math.ceil(to)), points: String(points) });
  return `/api/streams/${encodeURIComponent(slug)}/history?${query}`;
}

/** Return the export URL of `slug` for [from, to) as "csv" or "json". */
export function exportUrl(slug, format, { from, to }) {
  const query = new URLSearchParams({ from: String(Math.floor(from)), to: String(Math.ceil(to)) });
  return `/api/streams/${encodeURIComponent(slug)}/export.${format}?${query}`;
}

/**
 * Turn a history answer ({bucket_ms, t, count, fields: {name: {min, max, mean}}})
 * into samples widgets can take: the mean as the value, with the bucket's
 * min, max and count beside it. Empty buckets are left out.
 */
export function historySamples(answer) {
  const samples = [];
  const times = answer?.t ?? [];
  const fields = Object.entries(answer?.fields ?? {});
  for (let index = 0; index < times.length; index += 1) {
    const count = answer.count?.[index] ?? 0;
    if (!count) continue;
    const values = {};
    const min = {};
    const max = {};
    for (const [name, series] of fields) {
      const mean = series.mean?.[index];
      if (typeof mean !== "number") continue;
      values[name] = mean;
      min[name] = series.min?.[index] ?? mean;
      max[name] = series.max?.[index] ?? mean;
    }
    samples.push({ t: times[index], values, min, max, count, bucketMs: answer.bucket_ms });
  }
  return samples;
}

/** Fetch [from, to) of `slug` and return it as samples; throw with the server's message on failure. */
export async function fetchHistory(slug, range, fetchImpl = globalThis.fetch) {
  const response = await fetchImpl(historyUrl(slug, range), {
    credentials: "same-origin",
    headers: { Accept: "application/json" },
  });
  let body = null;
  try {
    body = await response.json();
  } catch {
    // Not JSON: reported below by status.
  }
  if (!response.ok) {
    throw new Error(body?.error?.message ?? `history of ${slug} failed (${response.status})`);
  }
  return historySamples(body);
}
