package dev.lockstep.block.replicated.primary;

import java.util.concurrent.atomic.AtomicLong;

import org.jspecify.annotations.Nullable;

/**
 * Progress of a disk's initial synchronisation or resynchronisation. Updated by the
 * synchronising threads, read at any time.
 */
public final class SyncProgress {

	private volatile long total;

	private final AtomicLong compared = new AtomicLong();

	private final AtomicLong copied = new AtomicLong();

	private final AtomicLong hashed = new AtomicLong();

	private volatile @Nullable String method;

	private volatile @Nullable String reason;

	private volatile long startedNanos;

	private volatile long endedNanos;

	private volatile boolean running;

	void begin(String method, String reason, long total) {
		this.method = method;
		this.reason = reason;
		this.total = total;
		this.compared.set(0);
		this.copied.set(0);
		this.hashed.set(0);
		this.startedNanos = System.nanoTime();
		this.endedNanos = 0;
		this.running = true;
	}

	void compared(long bytes) {
		this.compared.addAndGet(bytes);
	}

	void hashed(long bytes) {
		this.hashed.addAndGet(bytes);
	}

	void copied(long bytes) {
		this.copied.addAndGet(bytes);
	}

	void end() {
		this.endedNanos = System.nanoTime();
		this.running = false;
	}

	public @Nullable SyncStatus snapshot() {
		long started = this.startedNanos;
		if (started == 0) {
			return null;
		}
		long ended = this.endedNanos;
		long elapsed = ((ended != 0) ? ended : System.nanoTime()) - started;
		long compared = this.compared.get();
		long rate = (elapsed > 0) ? (long) (compared * 1e9 / elapsed) : 0;
		return new SyncStatus(this.running, this.method, this.reason, this.total, compared, this.hashed.get(),
				this.copied.get(), rate, elapsed / 1_000_000);
	}

}
