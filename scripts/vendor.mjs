// Copies the built files of the front-end packages from node_modules into
// static/vendor/, where Django serves them; run after `npm ci`.

import { copyFile, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const modules = join(root, "node_modules");
const vendor = join(root, "static", "vendor");

const FILES = [
  ["uplot/dist/uPlot.esm.js", "uplot/uPlot.esm.js"],
  ["uplot/dist/uPlot.min.css", "uplot/uPlot.min.css"],
  ["uplot/LICENSE", "uplot/LICENSE"],
  ["htmx.org/dist/htmx.esm.js", "htmx/htmx.esm.js"],
  ["htmx.org/LICENSE", "htmx/LICENSE"],
  ["gridstack/dist/gridstack.min.css", "gridstack/gridstack.min.css"],
  ["gridstack/LICENSE", "gridstack/LICENSE"],
  ["swagger-ui-dist/swagger-ui-bundle.js", "swagger-ui/swagger-ui-bundle.js"],
  ["swagger-ui-dist/swagger-ui.css", "swagger-ui/swagger-ui.css"],
  ["swagger-ui-dist/LICENSE", "swagger-ui/LICENSE"],
  ["swagger-ui-dist/NOTICE", "swagger-ui/NOTICE"],
];

// GridStack's ES modules import each other without the `.js` extension, which
// only bundlers resolve; a browser needs the full file name.
const GRIDSTACK_MODULES = "gridstack/dist";

async function copy(from, to) {
  const source = join(modules, from);
  const target = join(vendor, to);
  await mkdir(dirname(target), { recursive: true });
  await copyFile(source, target);
  console.log(`static/vendor/${to}`);
}

async function copyGridstackModules() {
  const directory = join(modules, GRIDSTACK_MODULES);
  const names = (await readdir(directory)).filter((name) => name.endsWith(".js") && name !== "gridstack-all.js");
  await mkdir(join(vendor, "gridstack"), { recursive: true });
  for (const name of names) {
    const text = await readFile(join(directory, name), "utf8");
    const fixed = text
      .replace(/(from\s+['"])(\.\/[\w-]+)(['"])/g, "$1$2.js$3")
      .replace(/^\/\/# sourceMappingURL=.*$/m, "");
    await writeFile(join(vendor, "gridstack", name), fixed);
    console.log(`static/vendor/gridstack/${name}`);
  }
}

try {
  for (const [from, to] of FILES) await copy(from, to);
  await copyGridstackModules();
} catch (error) {
  if (error.code !== "ENOENT") throw error;
  console.error(`${error.path} is missing: run \`npm ci\` first.`);
  process.exit(1);
}
