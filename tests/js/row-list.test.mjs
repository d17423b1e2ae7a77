import assert from "node:assert/strict";
import { test } from "node:test";

import { rowList } from "../../static/js/widgets/common.js";

// A list element's children and the calls that change them, enough for rowList.
// As in the DOM, inserting a row that is already a child moves it.
class FakeList {
  children = [];
  changes = [];

  append(...rows) {
    this.changes.push(["append", rows.length]);
    for (const row of rows) this.#adopt(row);
    this.children.push(...rows);
  }

  prepend(...rows) {
    this.changes.push(["prepend", rows.length]);
    for (const row of rows) this.#adopt(row);
    this.children.unshift(...rows);
  }

  replaceChildren(...rows) {
    this.changes.push(["replace", rows.length]);
    for (const row of rows) this.#adopt(row);
    this.children.splice(0, this.children.length, ...rows);
  }

  #adopt(row) {
    const at = this.children.indexOf(row);
    if (at >= 0) this.children.splice(at, 1);
    row.remove = () => {
      this.changes.push(["remove", 1]);
      this.children.splice(this.children.indexOf(row), 1);
    };
  }
}

function setup() {
  const list = new FakeList();
  let made = 0;
  const draw = rowList(list, (item) => {
    made += 1;
    return { item };
  });
  const shown = () => list.children.map((row) => row.item.n);
  return { list, draw, shown, made: () => made };
}

test("a newest-first list adds new rows on top and drops old ones, making each row once", () => {
  const { list, draw, shown, made } = setup();
  const items = [5, 4, 3].map((n) => ({ n }));
  draw(items);
  assert.deepEqual(shown(), [5, 4, 3]);
  list.changes.length = 0;

  // Two new items arrive; the list keeps three.
  const next = [{ n: 7 }, { n: 6 }, ...items].slice(0, 3);
  draw(next);
  assert.deepEqual(shown(), [7, 6, 5]);
  assert.deepEqual(list.changes, [["prepend", 2], ["remove", 1], ["remove", 1]]);
  assert.equal(made(), 5, "rows of items already shown are kept, not made again");

  // Nothing new: nothing changes on the page.
  list.changes.length = 0;
  draw(next);
  assert.deepEqual(list.changes, []);
});

test("any other change of the items shows them in their order", () => {
  const { list, draw, shown } = setup();
  const items = [3, 2, 1].map((n) => ({ n }));
  draw(items);
  draw([items[2], items[0], items[1]]);
  assert.deepEqual(shown(), [1, 3, 2]);

  // The top row gone (a filter changed, a reset): the list is drawn anew.
  list.changes.length = 0;
  draw([{ n: 9 }, items[1]]);
  assert.deepEqual(shown(), [9, 2]);
  assert.deepEqual(list.changes, [["replace", 2]]);
  draw([]);
  assert.deepEqual(shown(), []);
});

test("the drawer remembers the items it last drew, which is what the widget exports", () => {
  const { draw } = setup();
  assert.deepEqual(draw.items, [], "nothing drawn yet");
  const items = [2, 1].map((n) => ({ n }));
  draw(items);
  assert.equal(draw.items, items);
});
