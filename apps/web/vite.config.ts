// Vite builds the web app into apps/web/dist, which `parley serve` serves at `/`.
// Workspace packages resolve to their TypeScript sources (export condition
// `parley:source`), so the build needs no prior `tsc -b` of the libraries. No inline
// script or style is emitted, so the server's Content-Security-Policy can forbid them.
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  plugins: [react()],
  resolve: { conditions: ['parley:source', 'browser', 'import', 'module', 'default'] },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    // The module-preload polyfill would be an inline script; every target browser has it.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    reportCompressedSize: false,
  },
});
