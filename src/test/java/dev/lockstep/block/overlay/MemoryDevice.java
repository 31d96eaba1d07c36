package dev.lockstep.block.overlay;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import dev.lockstep.block.BlockDevice;

/**
 * An in-memory device for tests, with an optional injected failure.
 */
public final class MemoryDevice implements BlockDevice {

	private final byte[] data;

	private volatile String failure;

	public final AtomicInteger flushes = new AtomicInteger();

	public MemoryDevice(int size) {
		this.data = new byte[size];
	}

	public MemoryDevice(byte[] data) {
		this.data = data.clone();
	}

	/**
	 * Makes every later call fail with an I/O error with this message, or stops failing
	 * with {@code null}.
	 */
	public void failWith(String message) {
		this.failure = message;
	}

	public synchronized byte[] snapshot() {
		return this.data.clone();
	}

	@Override
	public long size() {
		return this.data.length;
	}

	@Override
	public boolean readOnly() {
		return false;
	}

	@Override
	public synchronized void read(long offset, ByteBuffer dst) throws IOException {
		check();
		dst.put(this.data, (int) offset, dst.remaining());
	}

	@Override
	public synchronized void write(long offset, ByteBuffer src, boolean fua) throws IOException {
		check();
		src.get(this.data, (int) offset, src.remaining());
	}

	@Override
	public synchronized void writeZeroes(long offset, long length, boolean mayTrim, boolean fua) throws IOException {
		check();
		java.util.Arrays.fill(this.data, (int) offset, (int) (offset + length), (byte) 0);
	}

	@Override
	public synchronized void trim(long offset, long length, boolean fua) throws IOException {
		check();
	}

	@Override
	public void flush() throws IOException {
		check();
		this.flushes.incrementAndGet();
	}

	@Override
	public List<Extent> allocation(long offset, long length) {
		return List.of(new Extent(length, false, false));
	}

	@Override
	public void close() {
	}

	private void check() throws IOException {
		String message = this.failure;
		if (message != null) {
			throw new IOException(message);
		}
	}

}
