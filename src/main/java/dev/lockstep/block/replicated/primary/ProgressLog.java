package dev.lockstep.block.replicated.primary;

/**
 * Logs the progress of a long run over a disk at most once per interval, whichever of its
 * threads asks.
 */
final class ProgressLog {

	private final long intervalNanos;

	private final Runnable log;

	private long last = System.nanoTime();

	ProgressLog(long intervalNanos, Runnable log) {
		this.intervalNanos = intervalNanos;
		this.log = log;
	}

	void maybeLog() {
		long now = System.nanoTime();
		synchronized (this) {
			if (now - this.last < this.intervalNanos) {
				return;
			}
			this.last = now;
		}
		this.log.run();
	}

}
