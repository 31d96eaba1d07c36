package dev.lockstep.block.layer;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReadWriteLock;

import org.jspecify.annotations.Nullable;

import dev.lockstep.block.BlockDevice;

/**
 * A device on a secondary whose requests each run under a barrier's read lock, so that
 * whoever takes the write lock (a checkpoint, a commit, a stop) waits for the requests in
 * flight and holds new ones back. Requests are refused once {@link #checkOpen()} says so,
 * and I/O faults are recorded in their class. The first failed {@link #update update} is
 * remembered: on a replica it means the base no longer holds what the primary wrote.
 */
public abstract class GatedDevice implements BlockDevice {

	private final ReadWriteLock barrier;

	private final long size;

	private volatile @Nullable String failedUpdate;

	protected GatedDevice(ReadWriteLock barrier, long size) {
		this.barrier = barrier;
		this.size = size;
	}

	/** The barrier whose read lock every request holds. */
	protected final ReadWriteLock barrier() {
		return this.barrier;
	}

	@Override
	public long size() {
		return this.size;
	}

	@Override
	public boolean readOnly() {
		return false;
	}

	@Override
	public void close() {
	}

	/** Throws if the device no longer takes requests; called with the read lock held. */
	protected abstract void checkOpen() throws IOException;

	/** Records an I/O fault of this device's class and returns the exception to throw. */
	protected abstract IOException fault(String what, long offset, IOException ex);

	protected final void gated(String what, long offset, IoAction action) throws IOException {
		run(what, offset, action, false);
	}

	/**
	 * Runs a request that changes the base (a write, write-zeroes or flush) and remembers
	 * its failure.
	 */
	protected final void update(String what, long offset, IoAction action) throws IOException {
		run(what, offset, action, true);
	}

	/**
	 * Throws if an {@link #update update} has failed: the base then lacks a write of the
	 * primary, and a checkpoint would make that base the new consistent state.
	 * {@code kept} says what the refusal leaves for the operator.
	 */
	public final void requireAllUpdatesApplied(String disk, String kept) throws IOException {
		String failed = this.failedUpdate;
		if (failed != null) {
			throw new IOException("Cannot checkpoint disk '" + disk + "': a write of the primary did not reach its "
					+ "base image (" + failed + "). " + kept + "; to replicate again, stop replication on both nodes "
					+ "and start it again, which resynchronises the disks");
		}
	}

	private void run(String what, long offset, IoAction action, boolean update) throws IOException {
		Lock lock = enter();
		try {
			action.run();
		}
		catch (IOException ex) {
			IOException fault = fault(what, offset, ex);
			if (update && this.failedUpdate == null) {
				this.failedUpdate = Faults.describe(fault);
			}
			throw fault;
		}
		finally {
			lock.unlock();
		}
	}

	protected final List<Extent> allocationOf(BlockDevice device, long offset, long length) throws IOException {
		Lock lock = enter();
		try {
			return device.allocation(offset, length);
		}
		finally {
			lock.unlock();
		}
	}

	private Lock enter() throws IOException {
		Lock lock = this.barrier.readLock();
		lock.lock();
		try {
			checkOpen();
		}
		catch (IOException ex) {
			lock.unlock();
			throw ex;
		}
		return lock;
	}

}
