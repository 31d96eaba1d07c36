package dev.lockstep.block.replicated.secondary;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.List;

import dev.lockstep.block.BlockDevice;
import dev.lockstep.block.layer.IoAction;
import dev.lockstep.block.layer.ReadOnlyDevice;
import dev.lockstep.block.replicated.protocol.ChunkHashing;
import dev.lockstep.block.replicated.protocol.PeerProtocol;

import static dev.lockstep.block.replicated.protocol.PeerProtocol.CHUNK_SIZE;
import static dev.lockstep.block.replicated.protocol.PeerProtocol.HASH_SIZE;

/**
 * The device behind a secondary's {@code <disk>.replica.sha256} export: its contents are
 * the SHA-256 hashes of the base's chunks, as {@link PeerProtocol} lays them out, so that
 * a synchronising primary compares chunks over its NBD connection while moving 32 bytes
 * per megabyte instead of the megabyte itself. A FLUSH of it completes a synchronisation
 * ({@link #flush()}).
 */
public final class ChunkHashes implements ReadOnlyDevice {

	/** Chunks are read in pieces of this size to keep buffers small. */
	private static final int PIECE = 256 * 1024;

	private final BlockDevice device;

	private final long chunks;

	private final IoAction synchronised;

	/**
	 * @param device the disk whose chunks are hashed
	 * @param synchronised told when a primary has completed a synchronisation
	 */
	public ChunkHashes(BlockDevice device, IoAction synchronised) {
		this.device = device;
		this.chunks = PeerProtocol.chunkCount(device.size());
		this.synchronised = synchronised;
	}

	@Override
	public long size() {
		return PeerProtocol.hashesSize(this.device.size());
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
