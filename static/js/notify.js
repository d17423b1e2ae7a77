// Browser notifications of alert frames: permission is asked for on a click,
// and a notice is shown only while the page is hidden (a visible page has its
// toast). No DOM beyond what is passed in, so `node --test` can test it.

const LABELS = { firing: "Alert", resolved: "Resolved", "no data": "No data", test: "Test" };

/** Return the title of an alert frame: what happened, and to which rule. */
export function alertTitle(frame) {
  return `${LABELS[frame.state] ?? frame.state}: ${frame.name}`;
}

/** Return "granted", "denied", "default" or "unsupported". */
export function notificationState(env = globalThis) {
  return env.Notification ? env.Notification.permission : "unsupported";
}

/** Ask for permission (call it from a click: browsers ignore it otherwise). */
export async function askForNotifications(env = globalThis) {
  if (!env.Notification) return "unsupported";
  return env.Notification.requestPermission();
}

/**
 * Show the frame as a system notification when its rule sends to the browser,
 * permission is granted and the page is hidden (a test is shown either way).
 * Return the notification, or null when none was shown.
 */
export function notifyAlert(frame, env = globalThis) {
  if (!frame.notify || notificationState(env) !== "granted") return null;
  if (!env.document?.hidden && frame.state !== "test") return null;
  const body = frame.reason ? `${frame.message}\n${frame.reason}` : frame.message;
  const notification = new env.Notification(alertTitle(frame), {
    body,
    tag: `pulseboard-${frame.rule ?? "test"}-${frame.event ?? frame.t}-${frame.state}`,
  });
  notification.onclick = () => {
    env.focus?.();
    notification.close();
  };
  return notification;
}
