package dev.lockstep.block.file;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import dev.lockstep.block.BlockDevice.Extent;

/**
 * A thread-safe, in-memory bitmap of which fixed-size blocks of a device hold data. A
 * clear bit (a hole) promises that the block reads as zeroes; a set bit says nothing
 * about the contents. Bits are updated with atomic word operations, so concurrent writers
 * never lose each other's updates.
 */
public final class AllocationMap {

	private static final VarHandle WORDS = MethodHandles.arrayElementVarHandle(long[].class);

	private final long size;

	private final int granularity;

	private final int shift;

	private final long blocks;

	private final long[] words;

	private final AtomicLong allocatedBlocks = new AtomicLong();

	/**
	 * Creates a map of {@code size} bytes in which every block is a hole.
	 * @param size the device size in bytes
	 * @param granularity the block size, a power of two
	 */
	public AllocationMap(long size, int granularity) {
		if (size < 0) {
			throw new IllegalArgumentException("size must not be negative");
		}
		if (granularity <= 0 || Integer.bitCount(granularity) != 1) {
			throw new IllegalArgumentException("granularity must be a power of two");
		}
		this.size = size;
		this.granularity = granularity;
		this.shift = Integer.numberOfTrailingZeros(granularity);
		this.blocks = (size + granularity - 1) >>> this.shift;
		long wordCount = (this.blocks + 63) >>> 6;
		if (wordCount > Integer.MAX_VALUE - 8) {
			throw new IllegalArgumentException("device too large for granularity " + granularity);
		}
		this.words = new long[(int) wordCount];
	}

	public long size() {
		return this.size;
	}

	public int granularity() {
		return this.granularity;
	}

	/** Number of blocks covered by the map (the last one may be partial). */
	public long blocks() {
		return this.blocks;
	}

	/**
	 * Returns the number of bytes in allocated blocks, clipped to the device size.
	 */
	public long allocatedBytes() {
		long bytes = this.allocatedBlocks.get() << this.shift;
		if (this.blocks > 0 && isAllocated(this.blocks - 1)) {
			bytes -= (this.blocks << this.shift) - this.size;
		}
		return bytes;
	}

	public boolean isAllocated(long block) {
		long word = (long) WORDS.getVolatile(this.words, (int) (block >>> 6));
		return (word & (1L << block)) != 0;
	}

	/**
	 * Marks every block that {@code [offset, offset + length)} touches as allocated.
	 */
	public void markAllocated(long offset, long length) {
		if (length <= 0) {
			return;
		}
		long first = offset >>> this.shift;
		long last = (offset + length - 1) >>> this.shift;
		setRange(first, last + 1);
	}

	/**
	 * Marks the blocks {@code [fromBlock, toBlock)} as allocated.
	 */
	public void setRange(long fromBlock, long toBlock) {
		updateRange(fromBlock, toBlock, true);
	}

	/**
	 * Marks the blocks {@code [fromBlock, toBlock)} as holes. Callers must have made sure
	 * that these blocks read as zeroes.
	 */
	public void clearRange(long fromBlock, long toBlock) {
		updateRange(fromBlock, toBlock, false);
	}

	private void updateRange(long fromBlock, long toBlock, boolean set) {
		long from = Math.max(0, fromBlock);
		long to = Math.min(this.blocks, toBlock);
		while (from < to) {
			int index = (int) (from >>> 6);
			int bit = (int) (from & 63);
			int count = (int) Math.min(64 - bit, to - from);
			long mask = (count == 64) ? -1L : ((1L << count) - 1) << bit;
			long current = (long) WORDS.getVolatile(this.words, index);
			if (set) {
				if ((current & mask) != mask) {
					long old = (long) WORDS.getAndBitwiseOr(this.words, index, mask);
					this.allocatedBlocks.addAndGet(Long.bitCount(mask & ~old));
				}
			}
			else if ((current & mask) != 0) {
				long old = (long) WORDS.getAndBitwiseAnd(this.words, index, ~mask);
				this.allocatedBlocks.addAndGet(-Long.bitCount(mask & old));
			}
			from += count;
		}
	}

	/**
	 * Returns whether every block that {@code [offset, offset + length)} touches is a
	 * hole.
	 */
	public boolean isHole(long offset, long length) {
		if (length <= 0) {
			return true;
		}
		long first = offset >>> this.shift;
		long last = (offset + length - 1) >>> this.shift;
		return nextAllocated(first, last + 1) < 0;
	}

	/**
	 * Returns the first allocated block in {@code [fromBlock, toBlock)}, or -1.
	 */
	public long nextAllocated(long fromBlock, long toBlock) {
		return next(fromBlock, Math.min(toBlock, this.blocks), true);
	}

	/**
	 * Returns the first hole block in {@code [fromBlock, toBlock)}, or -1.
	 */
	public long nextHole(long fromBlock, long toBlock) {
		return next(fromBlock, Math.min(toBlock, this.blocks), false);
	}

	private long next(long from, long to, boolean allocated) {
		while (from < to) {
			int index = (int) (from >>> 6);
			long word = (long) WORDS.getVolatile(this.words, index);
			if (!allocated) {
				word = ~word;
			}
			word &= -1L << (from & 63);
			if (word != 0) {
				long found = ((long) index << 6) + Long.numberOfTrailingZeros(word);
				return (found < to) ? found : -1;
			}
			from = ((long) index + 1) << 6;
		}
		return -1;
	}

	/**
	 * Describes {@code [offset, offset + length)} as alternating extents, holes reported
	 * as {@code hole} and {@code zero}. At most {@code maxExtents} are returned; the list
	 * then covers less than the whole range.
	 */
	public List<Extent> extents(long offset, long length, int maxExtents) {
		List<Extent> extents = new ArrayList<>();
		long end = Math.min(this.size, offset + length);
		long position = offset;
		while (position < end && extents.size() < maxExtents) {
			long block = position >>> this.shift;
			boolean allocated = isAllocated(block);
			long endBlock = (offset + length + this.granularity - 1) >>> this.shift;
			long nextBlock = allocated ? nextHole(block, endBlock) : nextAllocated(block, endBlock);
			long runEnd = (nextBlock < 0) ? end : Math.min(end, nextBlock << this.shift);
			extents.add(new Extent(runEnd - position, !allocated, !allocated));
			position = runEnd;
		}
		return extents;
	}

	/** Copies the bitmap words, e.g. to persist them. */
	long[] snapshot() {
		long[] copy = new long[this.words.length];
		for (int i = 0; i < copy.length; i++) {
			copy[i] = (long) WORDS.getVolatile(this.words, i);
		}
		return copy;
	}

	/** Replaces the bitmap words with {@code source}, which must have the same length. */
	void load(long[] source) {
		if (source.length != this.words.length) {
			throw new IllegalArgumentException("bitmap has " + source.length + " words, expected " + this.words.length);
		}
		long count = 0;
		for (int i = 0; i < source.length; i++) {
			long word = source[i];
			if (i == source.length - 1 && (this.blocks & 63) != 0) {
				word &= (1L << (this.blocks & 63)) - 1;
			}
			WORDS.setVolatile(this.words, i, word);
			count += Long.bitCount(word);
		}
		this.allocatedBlocks.set(count);
	}

}
