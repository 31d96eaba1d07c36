package dev.lockstep.block.layer;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

import dev.lockstep.block.BlockDevice;

/**
 * The device behind a replicated disk's export. It delegates to the current layer stack
 * (the plain image, the primary's forwarding device, the secondary's overlays) and can
 * switch stacks, or run an action such as a checkpoint, while no request is in flight:
 * every request holds a shared lock for its whole duration, and {@link #exclusive} takes
 * the exclusive one. Its {@link #writeHold() write hold} can hold new writes back while
 * reads go on; held writes wait outside the shared lock, so a checkpoint or a switch
 * still proceeds while they wait.
 */
public final class SwitchingDevice implements BlockDevice {

	private final ReentrantReadWriteLock barrier = new ReentrantReadWriteLock();

	private final WriteHold writeHold = new WriteHold();

	private final long size;

	private volatile BlockDevice target;

	public SwitchingDevice(BlockDevice initial) {
		this.target = initial;
		this.size = initial.size();
	}

	/** Returns the current layer stack. */
	public BlockDevice target() {
		return this.target;
	}

	/** Returns the hold that can keep new writes, write-zeroes and trims back. */
	public WriteHold writeHold() {
		return this.writeHold;
	}

	/** Waits for the requests in flight, then switches to {@code next}. */
	public void switchTo(BlockDevice next) {
		if (next.size() != this.size) {
			throw new IllegalArgumentException("Device size " + next.size() + " differs from " + this.size);
		}
		this.barrier.writeLock().lock();
		try {
			this.target = next;
		}
		finally {
			this.barrier.writeLock().unlock();
		}
	}

	/**
	 * Runs {@code action} with every request drained and new ones held back.
	 * Interruptible while waiting for the drain.
	 */
	public void exclusive(IoAction action) throws IOException, InterruptedException {
		exclusive(() -> {
			action.run();
			return action;
		});
	}

	/**
	 * Runs {@code action} while no request is in progress and returns its result.
	 * @param <T> the type of the result
	 * @param action what to do with the device to itself
	 * @return what the action returned
	 * @throws IOException if the action failed
	 * @throws InterruptedException if interrupted while waiting for requests in progress
	 */
	public <T> T exclusive(IoCallable<T> action) throws IOException, InterruptedException {
		this.barrier.writeLock().lockInterruptibly();
		try {
			return action.call();
		}
		finally {
			this.barrier.writeLock().unlock();
		}
	}

	@Override
	public long size() {
		return this.size;
	}

	@Override
	public boolean readOnly() {
		return this.target.readOnly();
	}

	/** What the current stack answers, and false while new writes are held back. */
	@Override
	public boolean writesLocally() {
		return !this.writeHold.holding() && this.target.writesLocally();
	}

	@Override
	public void read(long offset, ByteBuffer dst) throws IOException {
		Lock lock = this.barrier.readLock();
		lock.lock();
		try {
			this.target.read(offset, dst);
		}
		finally {
			lock.unlock();
		}
	}

	@Override
	public void write(long offset, ByteBuffer src, boolean fua) throws IOException {
		this.writeHold.enter();
		try {
			Lock lock = this.barrier.readLock();
			lock.lock();
			try {
				BlockDevice device = this.target;
				checkWritable(device);
				device.write(offset, src, fua);
			}
			finally {
				lock.unlock();
			}
		}
		finally {
			this.writeHold.leave();
		}
	}

	@Override
	public void writeZeroes(long offset, long length, boolean mayTrim, boolean fua) throws IOException {
		this.writeHold.enter();
		try {
			Lock lock = this.barrier.readLock();
			lock.lock();
			try {
				BlockDevice device = this.target;
				checkWritable(device);
				device.writeZeroes(offset, length, mayTrim, fua);
			}
			finally {
				lock.unlock();
			}
		}
		finally {
			this.writeHold.leave();
		}
	}

	@Override
	public void trim(long offset, long length, boolean fua) throws IOException {
		this.writeHold.enter();
		try {
			Lock lock = this.barrier.readLock();
			lock.lock();
			try {
				BlockDevice device = this.target;
				checkWritable(device);
				device.trim(offset, length, fua);
			}
			finally {
				lock.unlock();
			}
		}
		finally {
			this.writeHold.leave();
		}
	}

	@Override
	public void flush() throws IOException {
		Lock lock = this.barrier.readLock();
		lock.lock();
		try {
			this.target.flush();
		}
		finally {
			lock.unlock();
		}
	}

	@Override
	public List<Extent> allocation(long offset, long length) throws IOException {
		Lock lock = this.barrier.readLock();
		lock.lock();
		try {
			return this.target.allocation(offset, length);
		}
		finally {
			lock.unlock();
		}
	}

	private static void checkWritable(BlockDevice device) throws IOException {
		if (device.readOnly()) {
			throw new ReadOnlyDeviceException();
		}
	}

	/** Closing the export does not close the image, which its owner closes. */
	@Override
	public void close() {
	}

	/** A write to a disk that is read-only in its current role. */
	public static final class ReadOnlyDeviceException extends IOException {

		private static final long serialVersionUID = 1L;

		public ReadOnlyDeviceException() {
			super("The disk is read-only in its current replication role");
		}

	}

	@FunctionalInterface
	public interface IoCallable<T> {

		T call() throws IOException;

	}

}
