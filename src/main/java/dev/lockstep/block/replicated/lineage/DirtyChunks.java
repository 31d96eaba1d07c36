package dev.lockstep.block.replicated.lineage;

import java.util.concurrent.atomic.AtomicLongArray;

import dev.lockstep.block.replicated.protocol.PeerProtocol;

import static dev.lockstep.block.replicated.protocol.PeerProtocol.CHUNK_SHIFT;

/**
 * A bitmap of the chunks of one disk, one bit per {@link PeerProtocol#CHUNK_SIZE} chunk,
 * so even an 8 GiB disk needs only one kilobyte: the chunks that changed since the two
 * nodes last agreed, or those a synchronisation must compare. Thread-safe and lock-free.
 */
public final class DirtyChunks {

	private final long size;

	private final AtomicLongArray bits;

	public DirtyChunks(long size) {
		this.size = size;
		this.bits = new AtomicLongArray(words(size));
	}

	/** The number of chunks of the disk. */
	public long chunks() {
		return PeerProtocol.chunkCount(this.size);
	}

	/** Marks every chunk that {@code [offset, offset + length)} touches. */
	public void mark(long offset, long length) {
		if (length <= 0) {
			return;
		}
		long first = offset >>> CHUNK_SHIFT;
		long last = Math.min(chunks() - 1, (offset + length - 1) >>> CHUNK_SHIFT);
		for (long chunk = first; chunk <= last; chunk++) {
			markChunk(chunk);
		}
	}

	/** Marks one chunk. */
	public void markChunk(long chunk) {
		int word = (int) (chunk >>> 6);
		long bit = 1L << (chunk & 63);
		long current = this.bits.get(word);
		while ((current & bit) == 0 && !this.bits.compareAndSet(word, current, current | bit)) {
			current = this.bits.get(word);
		}
	}

	public boolean isDirty(long chunk) {
		return (this.bits.get((int) (chunk >>> 6)) & (1L << (chunk & 63))) != 0;
	}

	public void clear(long chunk) {
		int word = (int) (chunk >>> 6);
		long bit = 1L << (chunk & 63);
		long current = this.bits.get(word);
		while ((current & bit) != 0 && !this.bits.compareAndSet(word, current, current & ~bit)) {
			current = this.bits.get(word);
		}
	}

	/** Clears every chunk. */
	public void clearAll() {
		for (int i = 0; i < this.bits.length(); i++) {
			this.bits.set(i, 0);
		}
	}

	/** Marks every chunk. */
	public void markAll() {
		mark(0, this.size);
	}

	/** Returns the number of dirty chunks. */
	public long count() {
		long count = 0;
		for (int i = 0; i < this.bits.length(); i++) {
			count += Long.bitCount(this.bits.get(i));
		}
		return count;
	}

	/** Marks every chunk that {@code other} marks. */
	public void add(DirtyChunks other) {
		for (int i = 0; i < Math.min(this.bits.length(), other.bits.length()); i++) {
			long add = other.bits.get(i);
			if (add != 0) {
				this.bits.getAndUpdate(i, (current) -> current | add);
			}
		}
	}

	/**
	 * The bitmap as bytes, chunk {@code i} in bit {@code i % 8} of byte {@code i / 8}:
	 * {@link #byteLength(long)} bytes.
	 */
	public byte[] toBytes() {
		byte[] bytes = new byte[byteLength(this.size)];
		for (int i = 0; i < bytes.length; i++) {
			bytes[i] = (byte) (this.bits.get(i >>> 3) >>> ((i & 7) * 8));
		}
		return bytes;
	}

	/** Marks the chunks that {@code bytes}, from {@code offset}, marks. */
	public void addBytes(byte[] bytes, int offset) {
		int length = Math.min(byteLength(this.size), bytes.length - offset);
		long chunks = chunks();
		for (int i = 0; i < length; i++) {
			int value = bytes[offset + i] & 0xff;
			for (int bit = 0; value != 0 && bit < 8; bit++) {
				long chunk = i * 8L + bit;
				if ((value & (1 << bit)) != 0 && chunk < chunks) {
					markChunk(chunk);
				}
			}
		}
	}

	/** The length of {@link #toBytes()} for a disk of {@code size} bytes. */
	public static int byteLength(long size) {
		return (int) ((PeerProtocol.chunkCount(size) + 7) >>> 3);
	}

	private static int words(long size) {
		return (int) ((PeerProtocol.chunkCount(size) + 63) >>> 6);
	}

}
