// Build-time helper (scripts/build.mjs injects it): `import.meta.url` in a CommonJS file of
// dist/. Marked pure, so esbuild keeps it only in the files that use import.meta.url.
export const __import_meta_url = /* @__PURE__ */ fileUrl();

function fileUrl() {
  return require('node:url').pathToFileURL(__filename).href;
}
