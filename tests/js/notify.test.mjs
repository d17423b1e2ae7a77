// Browser notifications of alert frames: shown only when allowed, wanted and the page is hidden.

import assert from "node:assert/strict";
import { test } from "node:test";

import { alertTitle, askForNotifications, notificationState, notifyAlert } from "../../static/js/notify.js";

function fakeEnvironment({ permission = "granted", hidden = true } = {}) {
  const shown = [];
  class Notification {
    static permission = permission;
    static async requestPermission() {
      Notification.permission = "granted";
      return "granted";
    }
    constructor(title, options) {
      this.title = title;
      this.options = options;
      shown.push(this);
    }
    close() {}
  }
  return { Notification, document: { hidden }, shown };
}

const firing = {
  type: "alert",
  state: "firing",
  rule: 3,
  event: 7,
  name: "Too warm",
  message: "Too warm: lab temperature above 30 (31)",
  reason: "temperature met “above the threshold” for 5 s",
  t: 1,
  notify: true,
};

test("a hidden page shows the alert with why it was sent", () => {
  const env = fakeEnvironment();
  const notification = notifyAlert(firing, env);
  assert.equal(notification.title, "Alert: Too warm");
  assert.match(notification.options.body, /for 5 s/);
  assert.equal(env.shown.length, 1);
});

test("a visible page leaves it to the toast, except for a test", () => {
  const env = fakeEnvironment({ hidden: false });
  assert.equal(notifyAlert(firing, env), null);
  assert.ok(notifyAlert({ ...firing, state: "test", rule: null, event: null }, env));
});

test("nothing is shown without permission or when the rule sends elsewhere", () => {
  assert.equal(notifyAlert(firing, fakeEnvironment({ permission: "default" })), null);
  assert.equal(notifyAlert({ ...firing, notify: false }, fakeEnvironment()), null);
  assert.equal(notifyAlert(firing, {}), null);
});

test("permission is asked for and reported", async () => {
  const env = fakeEnvironment({ permission: "default" });
  assert.equal(notificationState(env), "default");
  assert.equal(await askForNotifications(env), "granted");
  assert.equal(notificationState(env), "granted");
  assert.equal(notificationState({}), "unsupported");
});

test("titles name the state and the rule", () => {
  assert.equal(alertTitle({ state: "no data", name: "Lab" }), "No data: Lab");
  assert.equal(alertTitle({ state: "resolved", name: "Lab" }), "Resolved: Lab");
});
