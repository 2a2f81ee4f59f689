// A stand-in for EventSource the live stream store is configured with in tests:
// records every connection and lets a test send events and errors.
import type { EventSourceLike } from '../stores/liveStream'

type Listener = (e: MessageEvent) => void

export class FakeEventSource implements EventSourceLike {
  static instances: FakeEventSource[] = []
  readyState = 0 // CONNECTING
  closed = false
  private listeners = new Map<string, Listener[]>()

  constructor(public url: string) {
    FakeEventSource.instances.push(this)
  }

  /** Connections not closed by the client. */
  static open(): FakeEventSource[] {
    return FakeEventSource.instances.filter((s) => !s.closed)
  }

  static last(): FakeEventSource {
    const s = FakeEventSource.instances[FakeEventSource.instances.length - 1]
    if (!s) throw new Error('no EventSource was made')
    return s
  }

  addEventListener(type: string, listener: Listener) {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener])
  }

  close() {
    this.closed = true
    this.readyState = 2
  }

  /** The q parameters of the URL, decoded (each "name=…&tag.…&agg=…"). */
  get queries(): string[] {
    return new URL(this.url, 'http://x').searchParams.getAll('q')
  }

  get lastEventId(): string | null {
    return new URL(this.url, 'http://x').searchParams.get('last_event_id')
  }

  emit(type: string, data: unknown, id = '') {
    this.readyState = 1
    const e = new MessageEvent(type, { data: typeof data === 'string' ? data : JSON.stringify(data), lastEventId: id })
    for (const l of this.listeners.get(type) ?? []) l(e)
  }

  ready(extra: Record<string, unknown> = {}) {
    this.emit('ready', { stream: 's1', queries: this.queries.length, coalesce_ms: 250, heartbeat_s: 15, replay_s: 60, ...extra })
  }

  /** A connection error; closed: EventSource gave up (an HTTP error answer) rather than retrying. */
  fail(closed = false) {
    this.readyState = closed ? 2 : 0
    for (const l of this.listeners.get('error') ?? []) l(new MessageEvent('error'))
  }
}
