// Reading stored history from the API: bucketed ranges for past time ranges
// and long live windows, pages of raw samples (every field) for playback and
// short ranges, and export links. A secret link's holder passes its `share`.

function apiUrl(slug, endpoint, params, share) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null) query.set(name, String(value));
  }
  if (share) query.set("share", share);
  return `/api/streams/${encodeURIComponent(slug)}/${endpoint}?${query}`;
}

/** Return the history API URL of `slug` for [from, to) in at most `points` buckets. */
export function historyUrl(slug, { from, to, points }, share = null) {
  return apiUrl(slug, "history", { from: Math.floor(from), to: Math.ceil(to), points }, share);
}

/**
 * Return the export URL of `slug` for [from, to) as "csv" or "json"; with
 * `firstSeq`/`lastSeq`, only the samples from one seq to the other (what a widget holds).
 */
export function exportUrl(slug, format, { from, to, firstSeq = null, lastSeq = null }, share = null) {
  const params = { from: Math.floor(from), to: Math.ceil(to), first_seq: firstSeq, last_seq: lastSeq };
  return apiUrl(slug, `export.${format}`, params, share);
}

/** Return the URL of a page of raw samples: after `afterSeq`, or the newest before `beforeSeq`. */
export function samplesUrl(slug, { from, to, afterSeq = null, beforeSeq = null, limit = 1000 }, share = null) {
  const params = { from: Math.floor(from), to: Math.ceil(to), after_seq: afterSeq, before_seq: beforeSeq, limit };
  return apiUrl(slug, "samples", params, share);
}

/**
 * Turn a history answer ({bucket_ms, t, count, fields: {name: {min, max, mean,
 * first, last}}, flags: {flag: [count]}}) into samples widgets can take: the
 * mean as the value, with the bucket's min, max, first, last and count beside
 * it, and the flags any of its samples carried. Empty buckets are left out.
 */
export function historySamples(answer) {
  const samples = [];
  const times = answer?.t ?? [];
  const fields = Object.entries(answer?.fields ?? {});
  const flagCounts = Object.entries(answer?.flags ?? {});
  for (let index = 0; index < times.length; index += 1) {
    const count = answer.count?.[index] ?? 0;
    if (!count) continue;
    const values = {};
    const min = {};
    const max = {};
    const first = {};
    const last = {};
    for (const [name, series] of fields) {
      const mean = series.mean?.[index];
      if (typeof mean !== "number") continue;
      values[name] = mean;
      min[name] = series.min?.[index] ?? mean;
      max[name] = series.max?.[index] ?? mean;
      first[name] = series.first?.[index] ?? mean;
      last[name] = series.last?.[index] ?? mean;
    }
    const sample = { t: times[index], values, min, max, first, last, count, bucketMs: answer.bucket_ms };
    const flagged = flagCounts.filter(([, counts]) => counts[index] > 0);
    if (flagged.length) {
      sample.flags = flagged.map(([flag]) => flag);
      // How many of its samples carried each flag (a reduced chart's tooltip says so).
      sample.flagCounts = Object.fromEntries(flagged.map(([flag, counts]) => [flag, counts[index]]));
    }
    samples.push(sample);
  }
  return samples;
}

async function getJson(url, what, fetchImpl) {
  const response = await fetchImpl(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  let body = null;
  try {
    body = await response.json();
  } catch {
    // Not JSON: reported below by status.
  }
  if (!response.ok) throw new Error(body?.error?.message ?? `${what} failed (${response.status})`);
  return body;
}

/** Fetch the buckets of [from, to) of `slug`; return {tier, bucketMs, samples}. */
export async function fetchBuckets(slug, range, { share = null, fetchImpl = globalThis.fetch } = {}) {
  const body = await getJson(historyUrl(slug, range, share), `history of ${slug}`, fetchImpl);
  return { tier: body.tier, bucketMs: body.bucket_ms, samples: historySamples(body) };
}

/** Fetch [from, to) of `slug` and return it as samples; throw with the server's message on failure. */
export async function fetchHistory(slug, range, fetchImpl = globalThis.fetch, share = null) {
  return (await fetchBuckets(slug, range, { share, fetchImpl })).samples;
}

/**
 * Fetch one page of raw samples; return {samples, next, rawFrom}: `next` is the
 * seq to continue from (null at the end of the range), `rawFrom` the time of
 * the oldest sample the server still keeps raw.
 */
export async function fetchSamples(slug, page, { share = null, fetchImpl = globalThis.fetch } = {}) {
  const body = await getJson(samplesUrl(slug, page, share), `samples of ${slug}`, fetchImpl);
  const next = page.beforeSeq != null ? body.next_before_seq : body.next_after_seq;
  return { samples: body.samples ?? [], next: next ?? null, rawFrom: body.raw_from ?? null };
}

/** Fetch every raw sample of [from, to) of `slug` after `afterSeq`, page by page, up to `max` of them. */
export async function fetchAllSamples(slug, { from, to, afterSeq: start = 0, max = 20_000, pageSize = 5000 }, options = {}) {
  const samples = [];
  let afterSeq = start;
  while (samples.length < max) {
    const page = await fetchSamples(slug, { from, to, afterSeq, limit: Math.min(pageSize, max - samples.length) }, options);
    samples.push(...page.samples);
    if (page.next === null) break;
    afterSeq = page.next;
  }
  return samples;
}
