// Names for the generated OpenAPI schemas the dashboard uses (never hand-copied).
import type { components, operations } from './schema'

type Schemas = components['schemas']

export type QueryAnswer = Schemas['QueryAnswer']
export type Series = Schemas['Series']
export type Point = Schemas['Point']
export type Agg = Schemas['QueryAnswer']['agg']
export type NamesAnswer = Schemas['NamesAnswer']
export type NameInfo = Schemas['NameInfo']
export type TagKeyInfo = Schemas['TagKeyInfo']
export type ApiErrorBody = Schemas['Error']
export type ExportRequest = Schemas['ExportRequest']
export type ExportQueued = Schemas['ExportQueued']
export type Export = Schemas['Export']
export type QueryParams = NonNullable<operations['queryMetrics']['parameters']['query']>
export type NamesParams = NonNullable<operations['metricNames']['parameters']['query']>

export const AGGS: readonly Agg[] = ['avg', 'min', 'max', 'sum', 'count']
