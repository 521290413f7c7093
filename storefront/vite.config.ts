import { defineConfig } from "vite";

// `npm run build` writes dist/: index.html (cache briefly) and assets/<name>-<hash>.js|css
// (cache for a year, immutable). config.json is not built: each stage writes its own
// (docs/deploy.md), so one build serves every stage.
export default defineConfig({
  build: {
    outDir: "dist",
    assetsDir: "assets",
    sourcemap: false,
    target: "es2022",
  },
});
