import assert from "node:assert/strict";
import { test } from "node:test";

import { panelFromQuery, panelUrl } from "../../static/js/board/panel-view.js";

test("a viewed panel is one parameter beside the range's", () => {
  const base = "http://pb.test/d/4/?from=1000&to=61000#board";
  const viewed = panelUrl(base, 17);
  assert.equal(viewed, "http://pb.test/d/4/?from=1000&to=61000&panel=17#board");
  assert.equal(panelFromQuery(new URL(viewed).search), 17);
  assert.equal(panelUrl(viewed, null), base);
  assert.equal(panelUrl(panelUrl(base, 3), 5), "http://pb.test/d/4/?from=1000&to=61000&panel=5#board");
});

test("a panel parameter that is not an id views nothing", () => {
  for (const search of ["", "?panel=", "?panel=abc", "?panel=-1", "?panel=2e3", "?range=1h"]) {
    assert.equal(panelFromQuery(search), null, search);
  }
  assert.equal(panelFromQuery("?range=1h&panel=08"), 8);
});
