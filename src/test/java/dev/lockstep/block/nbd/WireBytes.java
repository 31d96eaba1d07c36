package dev.lockstep.block.nbd;

import java.nio.ByteBuffer;
import java.util.HexFormat;

/**
 * Buffers for the codec tests, and the bytes between a buffer's position and limit as
 * hex, to compare with the protocol document.
 */
final class WireBytes {

	private WireBytes() {
	}

	/** A buffer larger than any message the tests encode. */
	static ByteBuffer buffer() {
		return ByteBuffer.allocate(8192);
	}

	/** The remaining bytes of {@code buffer} as lower-case hex; its position stays. */
	static String hex(ByteBuffer buffer) {
		ByteBuffer copy = buffer.duplicate();
		byte[] bytes = new byte[copy.remaining()];
		copy.get(bytes);
		return HexFormat.of().formatHex(bytes);
	}

}
