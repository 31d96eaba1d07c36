package dev.lockstep.block.replicated.primary;

import java.util.concurrent.atomic.AtomicLongArray;

import dev.lockstep.block.replicated.protocol.PeerProtocol;

import static dev.lockstep.block.replicated.protocol.PeerProtocol.CHUNK_SHIFT;

/**
 * A bitmap of the chunks of one disk that changed while they could not be forwarded to
 * the secondary. One bit per {@link PeerProtocol#CHUNK_SIZE} chunk, so even an 8 GiB disk
 * needs only one kilobyte. Thread-safe and lock-free.
 */
public final class DirtyChunks {

	private final long size;

	private final AtomicLongArray bits;

	public DirtyChunks(long size) {
		this.size = size;
		this.bits = new AtomicLongArray((int) ((PeerProtocol.chunkCount(size) + 63) >>> 6));
	}

	long chunks() {
		return PeerProtocol.chunkCount(this.size);
	}

	/** Marks every chunk that {@code [offset, offset + length)} touches. */
	void mark(long offset, long length) {
		if (length <= 0) {
			return;
		}
		long first = offset >>> CHUNK_SHIFT;
		long last = Math.min(chunks() - 1, (offset + length - 1) >>> CHUNK_SHIFT);
		for (long chunk = first; chunk <= last; chunk++) {
			int word = (int) (chunk >>> 6);
			long bit = 1L << (chunk & 63);
			long current = this.bits.get(word);
			while ((current & bit) == 0 && !this.bits.compareAndSet(word, current, current | bit)) {
				current = this.bits.get(word);
			}
		}
	}

	boolean isDirty(long chunk) {
		return (this.bits.get((int) (chunk >>> 6)) & (1L << (chunk & 63))) != 0;
	}

	void clear(long chunk) {
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

	/** Returns the number of dirty chunks. */
	public long count() {
		long count = 0;
		for (int i = 0; i < this.bits.length(); i++) {
			count += Long.bitCount(this.bits.get(i));
		}
		return count;
	}

}
