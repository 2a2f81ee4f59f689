// Boots the Inertia app from the page object the Go server puts in
// <script data-page="app" type="application/json"> (docs/dashboard.md).
import { createApp, h, type DefineComponent } from 'vue'
import { createInertiaApp } from '@inertiajs/vue3'
import { createPinia } from 'pinia'
import './app.css'

const pages = import.meta.glob<DefineComponent>('./pages/**/*.vue')

void createInertiaApp({
  id: 'app',
  title: (title) => (title ? `${title} · Pulse` : 'Pulse'),
  resolve: async (name) => {
    const load = pages[`./pages/${name}.vue`]
    if (!load) throw new Error(`Unknown page component: ${name}`)
    return load()
  },
  setup({ el, App, props, plugin }) {
    createApp({ render: () => h(App, props) })
      .use(plugin)
      .use(createPinia())
      .mount(el)
  },
  progress: { color: '#2563eb', delay: 150 },
})
