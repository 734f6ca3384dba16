/**
 * Refresh at most every 2 s, only while someone looks, one request at a time.
 */

export const REFRESH_MS = 2000;

export class Poller {
  private timer: number | null = null;
  private running = false;
  private again = false;
  private disposed = false;

  /**
   * @param tick the work of one refresh (it should skip what did not change)
   * @param visible whether the view is shown now (no work while hidden)
   */
  constructor(
    private tick: () => Promise<void>,
    private visible: () => boolean,
    private interval = REFRESH_MS
  ) {}

  start(): void {
    if (this.timer !== null || this.disposed) return;
    this.timer = window.setInterval(() => {
      if (this.visible()) void this.now();
    }, this.interval);
  }

  stop(): void {
    if (this.timer !== null) window.clearInterval(this.timer);
    this.timer = null;
  }

  /** Refresh now (a second call while one runs makes one more run after it, not two). */
  async now(): Promise<void> {
    if (this.disposed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    try {
      do {
        this.again = false;
        try {
          await this.tick();
        } catch (error) {
          // the view shows its own error state; a failed refresh is retried at the next tick
        }
      } while (this.again && !this.disposed);
    } finally {
      this.running = false;
    }
  }

  dispose(): void {
    this.disposed = true;
    this.stop();
  }
}
