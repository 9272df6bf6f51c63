// Build the front end: one ES module per widget for anywidget (bundled, self-contained, since a
// notebook loads each as a single file) and one IIFE for saved pages (window.linlensPage).
import * as esbuild from "esbuild";

const outdir = "../linlens_widgets/widgets/static";
const watch = process.argv.includes("--watch");
const common = { bundle: true, minify: !watch, sourcemap: watch ? "inline" : false, target: "es2020", logLevel: "info" };

const builds = [
  {
    ...common,
    entryPoints: ["src/embedding.js", "src/compare.js", "src/scrubber.js", "src/explorer.js"],
    format: "esm",
    outdir,
  },
  { ...common, entryPoints: ["src/page.js"], format: "iife", globalName: "linlensPage", outfile: `${outdir}/page.js` },
  // The sweep explorer's anywidget module (its saved page is booted by page.js, root kind "sweep").
  { ...common, entryPoints: ["src/sweep_explorer.js"], format: "esm", outdir },
  // The effective-weight engine: a classic-worker script (started from a Blob URL, so file:// pages
  // can use it) and the engine's API as an IIFE (window.linlensEngine).
  { ...common, entryPoints: ["src/engine/worker.js"], format: "iife", outfile: `${outdir}/engine-worker.js` },
  { ...common, entryPoints: ["src/engine/index.js"], format: "iife", globalName: "linlensEngine", outfile: `${outdir}/engine.js` },
];

if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}
