/// <reference types="vitest/config" />
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'
import tailwindcss from '@tailwindcss/vite'

// The Go server renders the root template (docs/dashboard.md); Vite only builds
// src/main.ts into dist/app with a manifest the template reads, or serves it with
// HMR in development (PULSE_UI_DEV_URL=http://localhost:5173).
export default defineConfig({
  plugins: [vue(), tailwindcss()],
  base: '/build/',
  server: {
    port: 5173,
    strictPort: true,
    // The page is served by Go on another origin; let it load modules and HMR.
    cors: true,
    origin: 'http://localhost:5173',
  },
  build: {
    outDir: 'dist/app',
    emptyOutDir: true,
    manifest: true,
    rollupOptions: { input: 'src/main.ts' },
  },
  test: {
    environment: 'happy-dom',
    include: ['src/**/*.test.ts', 'scripts/**/*.test.ts', 'e2e/unit/**/*.test.ts'],
    restoreMocks: true,
  },
})
