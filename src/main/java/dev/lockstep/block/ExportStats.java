package dev.lockstep.block;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * Counters of one export: traffic, operations, errors and connected clients. Updated by
 * the NBD server, read by the API and metrics.
 */
public final class ExportStats {

	private final LongAdder bytesRead = new LongAdder();

	private final LongAdder bytesWritten = new LongAdder();

	private final LongAdder reads = new LongAdder();

	private final LongAdder writes = new LongAdder();

	private final LongAdder flushes = new LongAdder();

	private final LongAdder trims = new LongAdder();

	private final LongAdder zeroes = new LongAdder();

	private final LongAdder blockStatus = new LongAdder();

	private final LongAdder errors = new LongAdder();

	private final AtomicInteger clients = new AtomicInteger();

	public void recordRead(long bytes) {
		this.reads.increment();
		this.bytesRead.add(bytes);
	}

	public void recordWrite(long bytes) {
		this.writes.increment();
		this.bytesWritten.add(bytes);
	}

	public void recordFlush() {
		this.flushes.increment();
	}

	public void recordTrim() {
		this.trims.increment();
	}

	public void recordWriteZeroes() {
		this.zeroes.increment();
	}

	public void recordBlockStatus() {
		this.blockStatus.increment();
	}

	public void recordError() {
		this.errors.increment();
	}

	public void clientConnected() {
		this.clients.incrementAndGet();
	}

	public void clientDisconnected() {
		this.clients.decrementAndGet();
	}

	public long bytesRead() {
		return this.bytesRead.sum();
	}

	public long bytesWritten() {
		return this.bytesWritten.sum();
	}

	public long reads() {
		return this.reads.sum();
	}

	public long writes() {
		return this.writes.sum();
	}

	public long flushes() {
		return this.flushes.sum();
	}

	public long trims() {
		return this.trims.sum();
	}

	public long writeZeroes() {
		return this.zeroes.sum();
	}

	public long blockStatusQueries() {
		return this.blockStatus.sum();
	}

	/**
	 * All operations: reads, writes, flushes, trims, write-zeroes and block status
	 * queries.
	 */
	public long operations() {
		return reads() + writes() + flushes() + trims() + writeZeroes() + blockStatusQueries();
	}

	public long errors() {
		return this.errors.sum();
	}

	public int clients() {
		return this.clients.get();
	}

}
