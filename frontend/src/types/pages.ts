// Inertia page props, hand-written from docs/dashboard.md (they are not REST API,
// so they are not in api/openapi.yaml). Keep in step with the Go controllers.

export type Role = 'admin' | 'viewer'
export type WidgetAgg = 'avg' | 'min' | 'max' | 'sum' | 'count'
export type ChartKind = 'line' | 'area' | 'bar'

export interface AuthUser {
  id: number
  email: string
  role: Role
  super_admin: boolean
  tenant: { slug: string; name: string } | null
}

/** Props every page receives. */
export interface SharedProps {
  auth: { user: AuthUser | null }
  flash: { success?: string; error?: string }
  errors: Record<string, string>
  /** The tenant's firing alert instances (0 when logged out or unknown). */
  alerts_firing: number
  /** The user may open the Health page (the navigation then links to it). */
  can_see_health?: boolean
}

export interface DashboardSummary {
  id: number
  name: string
  widgets: number
  updated_at: string // RFC 3339
}

export interface Widget {
  id: number
  title: string
  metric: string
  tags: Record<string, string>
  agg: WidgetAgg
  chart: ChartKind
  position: number
}

export interface Dashboard {
  id: number
  name: string
  updated_at: string
  widgets: Widget[]
}

export interface Paginated<T> {
  data: T[]
  page: number
  per_page: number
  total: number
  last_page: number
}

/** Dashboards/Index */
export interface DashboardsIndexProps {
  dashboards: Paginated<DashboardSummary>
}

/** Dashboards/Show */
export interface DashboardsShowProps {
  dashboard: Dashboard
}

/** Body of POST/PATCH /dashboards/{id}/widgets[/{wid}]. */
export interface WidgetInput {
  title: string
  metric: string
  tags: Record<string, string>
  agg: WidgetAgg
  chart: ChartKind
}

/** Alerts/Index (GET /alerts?page=N): the app loads the rules from /ui/api/alert-rules. */
export interface AlertsIndexProps {
  page: number
}

/** Alerts/Edit (GET /alerts/new: rule_id null; GET /alerts/{id}/edit). */
export interface AlertsEditProps {
  rule_id: number | null
}

/** Alerts/Show (GET /alerts/{id}). */
export interface AlertsShowProps {
  rule_id: number
}

/** One chart of the Health page: a metric of Pulse's own, queried at HealthProps.query_url. */
export interface HealthPanel {
  title: string
  name: string
  tags: Record<string, string>
  unit: string
  agg: WidgetAgg
}

/** Health (GET /health): Pulse's own figures, of all of it or of one tenant's ingest. */
export interface HealthProps {
  scope: 'all' | 'tenant'
  tenant: string | null
  panels: HealthPanel[]
  query_url: string // same parameters and answer as /ui/api/metrics/query
  live_url: string | null // a live stream like /ui/api/metrics/stream; null: poll
  every_seconds: number // polling period without live_url
}
