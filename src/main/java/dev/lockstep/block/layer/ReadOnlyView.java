package dev.lockstep.block.layer;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

import dev.lockstep.block.BlockDevice;

/** A read-only view of a device: the secondary workload's view in mirror mode. */
public final class ReadOnlyView implements ReadOnlyDevice {

	private final BlockDevice device;

	public ReadOnlyView(BlockDevice device) {
		this.device = device;
	}

	@Override
	public long size() {
		return this.device.size();
	}

	@Override
	public void read(long offset, ByteBuffer dst) throws IOException {
		this.device.read(offset, dst);
	}

	@Override
	public void flush() throws IOException {
		this.device.flush();
	}

	@Override
	public List<Extent> allocation(long offset, long length) throws IOException {
		return this.device.allocation(offset, length);
	}

	@Override
	public void close() {
	}

}
