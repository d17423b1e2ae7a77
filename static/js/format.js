// Number and time formatting shared by cards and widgets, so a value reads the
// same wherever it appears.

const fractions = new Map();
const compact = new Intl.NumberFormat(undefined, { notation: "compact", maximumFractionDigits: 2 });
const clocks = {
  minutes: new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", hour12: false }),
  seconds: new Intl.DateTimeFormat(undefined, {
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hour12: false,
  }),
  milliseconds: new Intl.DateTimeFormat(undefined, {
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    fractionalSecondDigits: 3,
    hour12: false,
  }),
};

function withFractionDigits(digits) {
  if (!fractions.has(digits)) {
    fractions.set(digits, new Intl.NumberFormat(undefined, { maximumFractionDigits: digits }));
  }
  return fractions.get(digits);
}

/** Return `value` with as many decimals as its size deserves. */
export function formatNumber(value) {
  if (typeof value !== "number" || !Number.isFinite(value)) return "–";
  const size = Math.abs(value);
  if (size >= 1e6) return compact.format(value);
  return withFractionDigits(size >= 1 || size === 0 ? 2 : 3).format(value);
}

// Units that take SI prefixes: a large value is written "6.71 MB/s", never "6.71M B/s".
const PREFIXED_UNIT = /^(B|b|bit|Hz|W|Wh|V)(\/|$)/;
const PREFIXES = ["", "k", "M", "G", "T", "P"];

/** Return `value` and its unit as one label, "21.5 °C", "42 %" or "6.71 MB/s". */
export function formatWithUnit(value, unit) {
  if (unit && PREFIXED_UNIT.test(unit) && typeof value === "number" && Number.isFinite(value)) {
    let step = 0;
    let scaled = value;
    while (Math.abs(scaled) >= 1000 && step < PREFIXES.length - 1) {
      scaled /= 1000;
      step += 1;
    }
    return `${formatNumber(scaled)} ${PREFIXES[step]}${unit}`;
  }
  const number = formatNumber(value);
  return unit ? `${number} ${unit}` : number;
}

/**
 * Return a UTC millisecond timestamp as local 24-hour wall-clock time, down to
 * "minutes", "seconds" or "milliseconds".
 */
export function formatTime(milliseconds, precision = "milliseconds") {
  return clocks[precision].format(new Date(milliseconds));
}

/**
 * Return a one-line text for a field value of any shape: numbers with their
 * unit, an order book as its best bid and ask, other objects as their scalars.
 */
export function describeValue(value, unit = "") {
  if (typeof value === "number") return formatWithUnit(value, unit);
  if (typeof value === "string") return value;
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (value === null || value === undefined) return "–";
  if (Array.isArray(value)) return `${value.length} ${value.length === 1 ? "item" : "items"}`;
  if (Array.isArray(value.bids) || Array.isArray(value.asks)) {
    return `bid ${formatNumber(levelPrice(value.bids?.[0]))} · ask ${formatNumber(levelPrice(value.asks?.[0]))}`;
  }
  const parts = [];
  for (const [key, member] of Object.entries(value)) {
    if (typeof member === "number") parts.push(`${key} ${formatNumber(member)}`);
    else if (typeof member === "string" || typeof member === "boolean") parts.push(`${key} ${member}`);
  }
  return parts.length ? parts.join(" · ") : "–";
}

// Book levels come as [price, size] pairs or as {price, size} objects.
function levelPrice(level) {
  if (Array.isArray(level)) return level[0];
  return level?.price;
}

const dateTimes = new Intl.DateTimeFormat(undefined, {
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  hour12: false,
});

/** Return a UTC millisecond timestamp as a short local date and time, "Mar 4, 14:05:09". */
export function formatDateTime(milliseconds) {
  return dateTimes.format(new Date(milliseconds));
}

/**
 * Return the words of a stream's state and of its control, {state, action, hint}:
 * a generated source runs or stops; a push stream takes what its scripts push,
 * or refuses it (they are answered 409 stream_stopped).
 */
export function runningWords(stream, running) {
  if (stream?.source_kind === "push") {
    return running
      ? { state: "Taking pushes", action: "Refuse pushes", hint: "Refuse what scripts push to this stream (they get 409 stream_stopped)" }
      : { state: "Refusing pushes", action: "Take pushes", hint: "Take what scripts push to this stream again" };
  }
  return running
    ? { state: "Running", action: "Stop", hint: "Stop the source: no new samples until started again" }
    : { state: "Stopped", action: "Start", hint: "Start the source again" };
}
