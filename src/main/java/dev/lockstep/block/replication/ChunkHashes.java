package dev.lockstep.block.replication;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;

import dev.lockstep.block.BlockDevice;

import static dev.lockstep.block.replication.DirtyChunks.CHUNK_SIZE;

/**
 * A read-only device whose contents are the SHA-256 hashes of another device's 1 MiB
 * chunks: bytes {@code [32 i, 32 i + 32)} are the hash of chunk {@code i}. The secondary
 * exports it as {@code <disk>.replica.sha256} so that a resynchronising primary can
 * compare chunks over its NBD connection while moving 32 bytes per megabyte instead of
 * the megabyte itself. The size is rounded up to 4 KiB; the padding reads as zeroes.
 *
 * <p>
 * A FLUSH of this export ends a synchronisation: the primary sends it once every chunk
 * that differed has been copied, and only then (see {@link #flush()}).
 */
final class ChunkHashes implements ReadOnlyDevice {

	static final int HASH_SIZE = 32;

	/** Chunks are read in pieces of this size to keep buffers small. */
	private static final int PIECE = 256 * 1024;

	private final BlockDevice device;

	private final long chunks;

	private final Runnable synchronised;

	/**
	 * @param device the disk whose chunks are hashed
	 * @param synchronised told when a primary has completed a synchronisation
	 */
	ChunkHashes(BlockDevice device, Runnable synchronised) {
		this.device = device;
		this.chunks = DirtyChunks.chunkCount(device.size());
		this.synchronised = synchronised;
	}

	/** Returns the size of the hash device of a disk of the given size. */
	static long hashesSize(long diskSize) {
		long bytes = DirtyChunks.chunkCount(diskSize) * HASH_SIZE;
		return (bytes + 4095) & ~4095L;
	}

	@Override
	public long size() {
		return hashesSize(this.device.size());
	}

	@Override
	public void read(long offset, ByteBuffer dst) throws IOException {
		MessageDigest digest = sha256();
		ByteBuffer chunk = ByteBuffer.allocate(PIECE);
		long end = offset + dst.remaining();
		long pos = offset;
		while (pos < end) {
			long index = pos / HASH_SIZE;
			int within = (int) (pos % HASH_SIZE);
			int n = (int) Math.min(HASH_SIZE - within, end - pos);
			if (index >= this.chunks) {
				dst.put(new byte[n]);
			}
			else {
				long start = index * CHUNK_SIZE;
				int length = (int) Math.min(CHUNK_SIZE, this.device.size() - start);
				byte[] hash = readsAsZero(this.device, start, length) ? zeroHash(length)
						: hash(this.device, index, chunk, digest);
				dst.put(hash, within, n);
			}
			pos += n;
		}
	}

	/**
	 * Hashes chunk {@code index} of {@code device}, reading it piece by piece into
	 * {@code buffer}.
	 */
	static byte[] hash(BlockDevice device, long index, ByteBuffer buffer, MessageDigest digest) throws IOException {
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

	/**
	 * Returns whether the device's allocation map says that the range reads as zeroes
	 * (holes or known zeroes), so that its hash needs no read. Answers {@code false} when
	 * in doubt.
	 */
	static boolean readsAsZero(BlockDevice device, long offset, long length) throws IOException {
		long covered = 0;
		for (Extent extent : device.allocation(offset, length)) {
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

	private static final byte[] ZERO_CHUNK_HASH = zeroHashOf(CHUNK_SIZE);

	/** Returns the SHA-256 of {@code length} zero bytes. */
	static byte[] zeroHash(int length) {
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

	static byte[] hash(ByteBuffer data, MessageDigest digest) {
		digest.reset();
		digest.update(data.duplicate());
		return digest.digest();
	}

	static MessageDigest sha256() {
		try {
			return MessageDigest.getInstance("SHA-256");
		}
		catch (NoSuchAlgorithmException ex) {
			throw new IllegalStateException("SHA-256 is missing from this JDK", ex);
		}
	}

	/**
	 * The primary has made the disks identical: makes what it copied durable, then
	 * reports the completed synchronisation.
	 */
	@Override
	public void flush() throws IOException {
		this.device.flush();
		this.synchronised.run();
	}

	@Override
	public List<Extent> allocation(long offset, long length) {
		return List.of(new Extent(Math.min(length, size() - offset), false, false));
	}

	@Override
	public void close() {
	}

}
