package dev.lockstep.block.replicated.protocol;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

import dev.lockstep.block.BlockDevice;

import static dev.lockstep.block.replicated.protocol.PeerProtocol.CHUNK_SIZE;

/**
 * How both sides hash the chunks of a disk (see {@link PeerProtocol}): SHA-256 over each
 * {@link PeerProtocol#CHUNK_SIZE} chunk. The secondary serves these hashes, the primary
 * computes the same ones over its own disk and compares.
 */
public final class ChunkHashing {

	private static final byte[] ZERO_CHUNK_HASH = zeroHashOf(CHUNK_SIZE);

	private ChunkHashing() {
	}

	/**
	 * Hashes chunk {@code index} of {@code device}, reading it piece by piece into
	 * {@code buffer}.
	 */
	public static byte[] hash(BlockDevice device, long index, ByteBuffer buffer, MessageDigest digest)
			throws IOException {
		long start = index * CHUNK_SIZE;
		long end = Math.min(start + CHUNK_SIZE, device.size());
		digest.reset();
		for (long pos = start; pos < end; pos += buffer.capacity()) {
			buffer.clear().limit((int) Math.min(buffer.capacity(), end - pos));
			device.read(pos, buffer);
			buffer.flip();
			digest.update(buffer);
		}
		return digest.digest();
	}

	/** Hashes the remaining bytes of {@code data} without consuming them. */
	public static byte[] hash(ByteBuffer data, MessageDigest digest) {
		digest.reset();
		digest.update(data.duplicate());
		return digest.digest();
	}

	/**
	 * Returns whether the device's allocation map says that the range reads as zeroes
	 * (holes or known zeroes), so that its hash needs no read. Answers {@code false} when
	 * in doubt.
	 */
	public static boolean readsAsZero(BlockDevice device, long offset, long length) throws IOException {
		long covered = 0;
		for (BlockDevice.Extent extent : device.allocation(offset, length)) {
			if (!extent.hole() && !extent.zero()) {
				return false;
			}
			covered += extent.length();
			if (covered >= length) {
				return true;
			}
		}
		return false;
	}

	/** Returns the SHA-256 of {@code length} zero bytes. */
	public static byte[] zeroHash(int length) {
		return (length == CHUNK_SIZE) ? ZERO_CHUNK_HASH.clone() : zeroHashOf(length);
	}

	private static byte[] zeroHashOf(int length) {
		MessageDigest digest = sha256();
		byte[] zeroes = new byte[Math.min(length, 64 * 1024)];
		for (int done = 0; done < length; done += zeroes.length) {
			digest.update(zeroes, 0, Math.min(zeroes.length, length - done));
		}
		return digest.digest();
	}

	/** Returns a new SHA-256 digest. */
	public static MessageDigest sha256() {
		try {
			return MessageDigest.getInstance("SHA-256");
		}
		catch (NoSuchAlgorithmException ex) {
			throw new IllegalStateException("SHA-256 is missing from this JDK", ex);
		}
	}

}
