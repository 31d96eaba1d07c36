package dev.lockstep.block.nbd;

import java.nio.ByteBuffer;
import java.util.concurrent.Semaphore;

/**
 * The buffers of one connection's requests, taken from the server's {@link BufferPool}
 * within the connection's own share of the budget: one request of the largest size, in
 * units of 4 KiB. First come, first served, so that a large request is not overtaken
 * forever by small ones.
 */
final class ConnectionBuffers {

	private static final int UNIT = 4096;

	private final Semaphore budget = new Semaphore(NbdServer.MAX_REQUEST / UNIT, true);

	private final BufferPool pool;

	ConnectionBuffers(BufferPool pool) {
		this.pool = pool;
	}

	/** A buffer of {@code length} bytes, waiting while the connection's share is used. */
	ByteBuffer acquire(int length) throws InterruptedException {
		int units = units(length);
		this.budget.acquire(units);
		try {
			return this.pool.acquire(length);
		}
		catch (InterruptedException | RuntimeException ex) {
			this.budget.release(units);
			throw ex;
		}
	}

	/** Gives back a buffer that {@link #acquire} returned. */
	void release(ByteBuffer buffer) {
		int units = units(buffer.limit());
		this.pool.release(buffer);
		this.budget.release(units);
	}

	private static int units(int length) {
		return (int) Math.max(1, (length + (long) UNIT - 1) / UNIT);
	}

}
