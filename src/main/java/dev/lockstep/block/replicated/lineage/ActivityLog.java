package dev.lockstep.block.replicated.lineage;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * The activity log, in DRBD's sense: the extents of a disk that may hold a write in
 * flight. A write may go to an extent only once the extent is in the log on disk; after a
 * crash, every chunk of every logged extent is compared with the peer. Extents are large
 * ({@link #EXTENT_SIZE}), so that a write to an extent already logged, the common case,
 * costs one memory read and no disk I/O. The log is emptied only while no write is in
 * flight and every logged write is durable on both nodes (a checkpoint, a planned stop, a
 * clean shutdown), after the bitmaps it covers have been saved.
 */
final class ActivityLog {

	/** {@code log2} of the size of an extent: 64 MiB, 64 chunks. */
	static final int EXTENT_SHIFT = 26;

	/** The size of an extent of the log. */
	static final long EXTENT_SIZE = 1L << EXTENT_SHIFT;

	private final long size;

	private final long extents;

	private final AtomicLongArray bits;

	ActivityLog(long size) {
		this.size = size;
		this.extents = (size + EXTENT_SIZE - 1) >>> EXTENT_SHIFT;
		this.bits = new AtomicLongArray((int) ((this.extents + 63) >>> 6));
	}

	/** Whether every extent that {@code [offset, offset + length)} touches is logged. */
	boolean covers(long offset, long length) {
		long first = offset >>> EXTENT_SHIFT;
		long last = (offset + Math.max(length, 1) - 1) >>> EXTENT_SHIFT;
		for (long extent = first; extent <= last; extent++) {
			if ((this.bits.get((int) (extent >>> 6)) & (1L << (extent & 63))) == 0) {
				return false;
			}
		}
		return true;
	}

	/**
	 * The logged extents with those of {@code [offset, offset + length)} added, in
	 * ascending order; does not change the log.
	 */
	List<Long> with(long offset, long length) {
		long first = offset >>> EXTENT_SHIFT;
		long last = Math.min(this.extents - 1, (offset + Math.max(length, 1) - 1) >>> EXTENT_SHIFT);
		List<Long> result = new ArrayList<>();
		for (long extent = 0; extent < this.extents; extent++) {
			if (isLogged(extent) || (extent >= first && extent <= last)) {
				result.add(extent);
			}
		}
		return result;
	}

	/** The logged extents, in ascending order. */
	List<Long> logged() {
		List<Long> result = new ArrayList<>();
		for (long extent = 0; extent < this.extents; extent++) {
			if (isLogged(extent)) {
				result.add(extent);
			}
		}
		return result;
	}

	/** Sets the log to {@code logged}, once it is on disk. */
	void set(List<Long> logged) {
		long[] words = new long[this.bits.length()];
		for (long extent : logged) {
			if (extent >= 0 && extent < this.extents) {
				words[(int) (extent >>> 6)] |= 1L << (extent & 63);
			}
		}
		// Word by word, never through zero: a writer that reads a word meanwhile sees
		// its extent logged or takes the slow path.
		for (int i = 0; i < words.length; i++) {
			this.bits.set(i, words[i]);
		}
	}

	/** The number of logged extents. */
	int count() {
		int count = 0;
		for (int i = 0; i < this.bits.length(); i++) {
			count += Long.bitCount(this.bits.get(i));
		}
		return count;
	}

	/**
	 * The bytes of the disk that the logged extents cover: a logged last extent counts
	 * only as far as the disk reaches.
	 */
	long bytes() {
		long bytes = (long) count() << EXTENT_SHIFT;
		if (this.extents > 0 && isLogged(this.extents - 1)) {
			bytes -= (this.extents << EXTENT_SHIFT) - this.size;
		}
		return bytes;
	}

	private boolean isLogged(long extent) {
		return (this.bits.get((int) (extent >>> 6)) & (1L << (extent & 63))) != 0;
	}

	/** Marks every chunk of the given extents in {@code chunks}. */
	static void markChunks(List<Long> extents, DirtyChunks chunks, long size) {
		for (long extent : extents) {
			long offset = extent << EXTENT_SHIFT;
			if (offset < size) {
				chunks.mark(offset, Math.min(EXTENT_SIZE, size - offset));
			}
		}
	}

}
