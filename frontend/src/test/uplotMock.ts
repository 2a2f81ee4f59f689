// A stand-in for uPlot in happy-dom (no canvas): records options and data and
// lets tests drive the drag-to-zoom hook.
import type uPlot from 'uplot'

export class FakePlot {
  static instances: FakePlot[] = []
  static paths = { bars: () => () => null }
  data: uPlot.AlignedData
  select = { left: 0, top: 0, width: 0, height: 0 }
  destroyed = false
  sizes: { width: number; height: number }[] = []

  constructor(
    public opts: uPlot.Options,
    data: uPlot.AlignedData,
    public el: HTMLElement,
  ) {
    this.data = data
    FakePlot.instances.push(this)
  }

  setData(data: uPlot.AlignedData) {
    this.data = data
  }
  setSize(size: { width: number; height: number }) {
    this.sizes.push(size)
  }
  setSelect(sel: { left: number; top: number; width: number; height: number }) {
    this.select = sel
  }
  /** x pixel → value: 1 pixel = 1 second from t=1,000,000 s. */
  posToVal(pos: number) {
    return 1_000_000 + pos
  }
  destroy() {
    this.destroyed = true
  }

  /** Simulates a drag across [left, left+width] pixels. */
  drag(left: number, width: number) {
    this.select = { left, top: 0, width, height: 100 }
    for (const hook of this.opts.hooks?.setSelect ?? []) hook?.(this as unknown as uPlot)
  }

  static live(): FakePlot[] {
    return FakePlot.instances.filter((p) => !p.destroyed)
  }
}
