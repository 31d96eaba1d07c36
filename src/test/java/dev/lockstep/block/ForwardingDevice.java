package dev.lockstep.block;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * A device for tests that passes every call on to another; a test overrides the calls it
 * slows down, records or breaks. Closing it leaves the other device open.
 */
public class ForwardingDevice implements BlockDevice {

	protected final BlockDevice delegate;

	public ForwardingDevice(BlockDevice delegate) {
		this.delegate = delegate;
	}

	@Override
	public long size() {
		return this.delegate.size();
	}

	@Override
	public boolean readOnly() {
		return this.delegate.readOnly();
	}

	@Override
	public void read(long offset, ByteBuffer dst) throws IOException {
		this.delegate.read(offset, dst);
	}

	@Override
	public void write(long offset, ByteBuffer src, boolean fua) throws IOException {
		this.delegate.write(offset, src, fua);
	}

	@Override
	public void writeZeroes(long offset, long length, boolean mayTrim, boolean fua) throws IOException {
		this.delegate.writeZeroes(offset, length, mayTrim, fua);
	}

	@Override
	public void trim(long offset, long length, boolean fua) throws IOException {
		this.delegate.trim(offset, length, fua);
	}

	@Override
	public void flush() throws IOException {
		this.delegate.flush();
	}

	@Override
	public List<Extent> allocation(long offset, long length) throws IOException {
		return this.delegate.allocation(offset, length);
	}

	@Override
	public void close() {
	}

}
