package dev.lockstep.block.replication;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

import dev.lockstep.block.BlockDevice;

/** A read-only view of a device: the secondary workload's view in mirror mode. */
final class ReadOnlyView implements BlockDevice {

	private final BlockDevice device;

	ReadOnlyView(BlockDevice device) {
		this.device = device;
	}

	@Override
	public long size() {
		return this.device.size();
	}

	@Override
	public boolean readOnly() {
		return true;
	}

	@Override
	public void read(long offset, ByteBuffer dst) throws IOException {
		this.device.read(offset, dst);
	}

	@Override
	public void write(long offset, ByteBuffer src, boolean fua) throws IOException {
		throw new SwitchingDevice.ReadOnlyDeviceException();
	}

	@Override
	public void writeZeroes(long offset, long length, boolean mayTrim, boolean fua) throws IOException {
		throw new SwitchingDevice.ReadOnlyDeviceException();
	}

	@Override
	public void trim(long offset, long length, boolean fua) throws IOException {
		throw new SwitchingDevice.ReadOnlyDeviceException();
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
