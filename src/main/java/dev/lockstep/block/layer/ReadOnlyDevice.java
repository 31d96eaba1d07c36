package dev.lockstep.block.layer;

import java.io.IOException;
import java.nio.ByteBuffer;

import dev.lockstep.block.BlockDevice;

/**
 * A device that refuses every change: writes, write-zeroes and trims fail with
 * {@link SwitchingDevice.ReadOnlyDeviceException} (an {@code EPERM} for NBD clients).
 */
public interface ReadOnlyDevice extends BlockDevice {

	@Override
	default boolean readOnly() {
		return true;
	}

	@Override
	default void write(long offset, ByteBuffer src, boolean fua) throws IOException {
		throw new SwitchingDevice.ReadOnlyDeviceException();
	}

	@Override
	default void writeZeroes(long offset, long length, boolean mayTrim, boolean fua) throws IOException {
		throw new SwitchingDevice.ReadOnlyDeviceException();
	}

	@Override
	default void trim(long offset, long length, boolean fua) throws IOException {
		throw new SwitchingDevice.ReadOnlyDeviceException();
	}

}
