// The Export data menu: raw samples of each stream on the dashboard over the
// range that is visible, as CSV or JSON, from the export endpoints.

import { exportUrl } from "../data/history.js";
import { liveSpanMs } from "../data/range.js";
import { formatDateTime } from "../format.js";
import { element } from "../widgets/common.js";

export function setupExport({ host, timeRange }) {
  const panel = document.getElementById("export-panel");
  const list = document.getElementById("export-list");
  const label = document.getElementById("export-range");
  if (!panel || !list) return;

  panel.addEventListener("toggle", (event) => {
    if (event.newState !== "open") return;
    const now = Date.now();
    const range = timeRange() ?? { from: now - liveSpanMs(host.widgets.map((widget) => widget.config)), to: now };
    label.textContent = `${formatDateTime(range.from)} – ${formatDateTime(range.to)}`;
    list.replaceChildren(
      ...host.streamSlugs().map((slug) => {
        const item = element("li", "export-row");
        item.append(element("span", "export-name", host.stream(slug)?.title || slug));
        for (const format of ["csv", "json"]) {
          const link = element("a", "button button-small", format.toUpperCase());
          link.href = exportUrl(slug, format, range);
          link.download = "";
          link.dataset.export = format;
          link.dataset.stream = slug;
          link.setAttribute("aria-label", `${slug} as ${format.toUpperCase()}`);
          item.append(link);
        }
        return item;
      }),
    );
    if (!list.children.length) list.append(element("li", "menu-empty", "No streams on this dashboard."));
  });
}
