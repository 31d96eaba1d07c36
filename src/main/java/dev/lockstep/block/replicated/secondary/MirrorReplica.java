package dev.lockstep.block.replicated.secondary;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

import dev.lockstep.block.BlockDevice;
import dev.lockstep.block.layer.FaultClass;
import dev.lockstep.block.layer.Faults;
import dev.lockstep.block.layer.GatedDevice;

/**
 * The {@code <disk>.replica} device of a secondary in {@code mirror} mode: the primary's
 * writes go straight into the base image. {@link #close()} waits for the writes in flight
 * and refuses later ones.
 */
public final class MirrorReplica extends GatedDevice {

	private final String disk;

	private final BlockDevice base;

	private final Faults faults;

	private final Runnable heard;

	private volatile boolean closed;

	/**
	 * @param heard told of each request of the primary, before it runs; must be cheap
	 */
	public MirrorReplica(String disk, BlockDevice base, Faults faults, Runnable heard) {
		super(new ReentrantReadWriteLock(), base.size());
		this.disk = disk;
		this.base = base;
		this.faults = faults;
		this.heard = heard;
	}

	@Override
	public void read(long offset, ByteBuffer dst) throws IOException {
		this.heard.run();
		gated("read", offset, () -> this.base.read(offset, dst));
	}

	@Override
	public void write(long offset, ByteBuffer src, boolean fua) throws IOException {
		this.heard.run();
		update("write", offset, () -> this.base.write(offset, src, fua));
	}

	@Override
	public void writeZeroes(long offset, long length, boolean mayTrim, boolean fua) throws IOException {
		this.heard.run();
		update("write-zeroes", offset, () -> this.base.writeZeroes(offset, length, mayTrim, fua));
	}

	@Override
	public void trim(long offset, long length, boolean fua) throws IOException {
		writeZeroes(offset, length, true, fua);
	}

	@Override
	public void flush() throws IOException {
		this.heard.run();
		update("flush", 0, this.base::flush);
	}

	@Override
	public List<Extent> allocation(long offset, long length) throws IOException {
		return allocationOf(this.base, offset, length);
	}

	/** Whether the replica has stopped taking the primary's writes. */
	boolean closed() {
		return this.closed;
	}

	@Override
	protected void checkOpen() throws IOException {
		if (this.closed) {
			throw new IOException(
					"Disk '" + this.disk + "' no longer accepts replicated writes: its replication was stopped");
		}
	}

	@Override
	protected IOException fault(String what, long offset, IOException ex) {
		return this.faults.recordIo(FaultClass.BASE_IO, what, offset, ex);
	}

	/**
	 * Flushes the base for a checkpoint. Fails if a write of the primary could not be
	 * applied since replication started.
	 */
	public void checkpoint() throws IOException {
		flush();
		requireAllUpdatesApplied(this.disk, "The base image is flushed as it is");
	}

	/** Waits for the requests in flight and refuses later ones. */
	@Override
	public void close() {
		Lock lock = barrier().writeLock();
		lock.lock();
		try {
			this.closed = true;
		}
		finally {
			lock.unlock();
		}
	}

}
