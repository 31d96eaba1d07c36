package dev.lockstep.block.replication;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

import dev.lockstep.block.BlockDevice;

/**
 * The {@code <disk>.replica} device of a secondary in {@code mirror} mode: the
 * primary's writes go straight into the base image. {@link #close()} waits for
 * the writes in flight and refuses later ones.
 */
final class MirrorReplica implements BlockDevice {

	private final String disk;

	private final BlockDevice base;

	private final Faults faults;

	private final ReentrantReadWriteLock gate = new ReentrantReadWriteLock();

	private volatile boolean closed;

	MirrorReplica(String disk, BlockDevice base, Faults faults) {
		this.disk = disk;
		this.base = base;
		this.faults = faults;
	}

	@Override
	public long size() {
		return this.base.size();
	}

	@Override
	public boolean readOnly() {
		return false;
	}

	@Override
	public void read(long offset, ByteBuffer dst) throws IOException {
		Lock lock = enter();
		try {
			this.base.read(offset, dst);
		}
		catch (IOException ex) {
			throw fault("read", offset, ex);
		}
		finally {
			lock.unlock();
		}
	}

	@Override
	public void write(long offset, ByteBuffer src, boolean fua) throws IOException {
		Lock lock = enter();
		try {
			this.base.write(offset, src, fua);
		}
		catch (IOException ex) {
			throw fault("write", offset, ex);
		}
		finally {
			lock.unlock();
		}
	}

	@Override
	public void writeZeroes(long offset, long length, boolean mayTrim, boolean fua) throws IOException {
		Lock lock = enter();
		try {
			this.base.writeZeroes(offset, length, mayTrim, fua);
		}
		catch (IOException ex) {
			throw fault("write-zeroes", offset, ex);
		}
		finally {
			lock.unlock();
		}
	}

	@Override
	public void trim(long offset, long length, boolean fua) throws IOException {
		writeZeroes(offset, length, true, fua);
	}

	@Override
	public void flush() throws IOException {
		Lock lock = enter();
		try {
			this.base.flush();
		}
		catch (IOException ex) {
			throw fault("flush", 0, ex);
		}
		finally {
			lock.unlock();
		}
	}

	@Override
	public List<Extent> allocation(long offset, long length) throws IOException {
		Lock lock = enter();
		try {
			return this.base.allocation(offset, length);
		}
		finally {
			lock.unlock();
		}
	}

	private Lock enter() throws IOException {
		Lock lock = this.gate.readLock();
		lock.lock();
		if (this.closed) {
			lock.unlock();
			throw new IOException(
					"Disk '" + this.disk + "' no longer accepts replicated writes: its replication was stopped");
		}
		return lock;
	}

	private IOException fault(String what, long offset, IOException ex) {
		String detail = what + " at offset " + offset + ": " + Faults.describe(ex);
		this.faults.record(FaultClass.BASE_IO, detail);
		return new RecordedIOException(detail, ex);
	}

	@Override
	public void close() {
		this.gate.writeLock().lock();
		try {
			this.closed = true;
		}
		finally {
			this.gate.writeLock().unlock();
		}
	}

}
