/** Inline SVG icons (24x24 paths), so buttons look the same whatever fonts the host has. */
const PATHS = {
  play: "M8 5v14l11-7z",
  pause: "M6 5h4v14H6zm8 0h4v14h-4z",
  prev: "M6 6h2v12H6zm3.5 6 8.5 6V6z",
  next: "M16 6h2v12h-2zM6 18l8.5-6L6 6z",
  pan: "M12 2 8.5 5.5H11V11H5.5V8.5L2 12l3.5 3.5V13H11v5.5H8.5L12 22l3.5-3.5H13V13h5.5v2.5L22 12l-3.5-3.5V11H13V5.5h2.5z",
  lasso: "M12 4C7 4 3 6.7 3 10c0 2.4 2.1 4.4 5.2 5.4-.1.3-.2.7-.2 1.1 0 1.4 1.1 2.5 2.5 2.5.6 0 1.2-.2 1.6-.6l1.4 1.5 1.4-1.4-1.5-1.5c.2-.4.3-.8.3-1.3 8-.3 7.3-3.6 7.3-5.7 0-3.3-4-6-9-6zm0 2c4 0 7 2 7 4s-3 4-7 4h-.6A2.5 2.5 0 0 0 9 14.1C6.6 13.4 5 11.8 5 10c0-2 3-4 7-4zm-1.5 10a.5.5 0 1 1 0 1 .5.5 0 0 1 0-1z",
  box: "M3 3h4v2H5v2H3zm6 0h6v2H9zm8 0h4v4h-2V5h-2zM3 9h2v6H3zm16 0h2v6h-2zM3 17h2v2h2v2H3zm16 0h2v4h-4v-2h2zM9 19h6v2H9z",
  reset: "M12 5V1L7 6l5 5V7c3.3 0 6 2.7 6 6s-2.7 6-6 6-6-2.7-6-6H4c0 4.4 3.6 8 8 8s8-3.6 8-8-3.6-8-8-8z",
  clear: "M19 6.4 17.6 5 12 10.6 6.4 5 5 6.4 10.6 12 5 17.6 6.4 19 12 13.4 17.6 19 19 17.6 13.4 12z",
};

/** An <svg> element for icon `name` (aria-hidden; the button carries the label). */
export function icon(name) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", "16");
  svg.setAttribute("height", "16");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", PATHS[name] ?? "");
  path.setAttribute("fill", "currentColor");
  svg.append(path);
  return svg;
}
