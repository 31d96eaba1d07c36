package dev.lockstep.block;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Random;

/**
 * Test data for block devices: filled and random byte arrays, and whole reads.
 */
public final class TestBytes {

	private TestBytes() {
	}

	/** Returns {@code length} bytes of {@code value}. */
	public static byte[] fill(int length, int value) {
		byte[] data = new byte[length];
		Arrays.fill(data, (byte) value);
		return data;
	}

	/** Returns {@code length} random bytes, the same for the same seed. */
	public static byte[] random(int length, long seed) {
		byte[] data = new byte[length];
		new Random(seed).nextBytes(data);
		return data;
	}

	/**
	 * Reads {@code length} bytes at {@code offset}, failing if the device returns fewer.
	 */
	public static byte[] read(BlockDevice device, long offset, int length) throws IOException {
		ByteBuffer buffer = ByteBuffer.allocate(length);
		device.read(offset, buffer);
		if (buffer.hasRemaining()) {
			throw new AssertionError("read " + buffer.position() + " of " + length + " bytes at " + offset);
		}
		return buffer.array();
	}

	/** Reads the whole device. */
	public static byte[] readAll(BlockDevice device) throws IOException {
		return read(device, 0, Math.toIntExact(device.size()));
	}

}
