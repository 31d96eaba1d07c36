package dev.lockstep.block.pair.secondary;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.List;

import dev.lockstep.block.BlockDevice;
import dev.lockstep.block.layer.ReadOnlyDevice;
import dev.lockstep.block.pair.protocol.ChunkHashing;

import static dev.lockstep.block.pair.protocol.ChunkHashing.CHUNK_SIZE;
import static dev.lockstep.block.pair.protocol.ChunkHashing.HASH_SIZE;

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
public final class ChunkHashes implements ReadOnlyDevice {

	/** Chunks are read in pieces of this size to keep buffers small. */
	private static final int PIECE = 256 * 1024;

	private final BlockDevice device;

	private final long chunks;

	private final Runnable synchronised;

	/**
	 * @param device the disk whose chunks are hashed
	 * @param synchronised told when a primary has completed a synchronisation
	 */
	public ChunkHashes(BlockDevice device, Runnable synchronised) {
		this.device = device;
		this.chunks = ChunkHashing.chunkCount(device.size());
		this.synchronised = synchronised;
	}

	/** Returns the size of the hash device of a disk of the given size. */
	static long hashesSize(long diskSize) {
		long bytes = ChunkHashing.chunkCount(diskSize) * HASH_SIZE;
		return (bytes + 4095) & ~4095L;
	}

	@Override
	public long size() {
		return hashesSize(this.device.size());
	}

	@Override
	public void read(long offset, ByteBuffer dst) throws IOException {
		MessageDigest digest = ChunkHashing.sha256();
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
				byte[] hash = ChunkHashing.readsAsZero(this.device, start, length) ? ChunkHashing.zeroHash(length)
						: ChunkHashing.hash(this.device, index, chunk, digest);
				dst.put(hash, within, n);
			}
			pos += n;
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
