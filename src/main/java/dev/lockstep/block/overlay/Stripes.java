package dev.lockstep.block.overlay;

import java.util.Arrays;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * A fixed set of read-write locks that guard units (clusters or chunks) by hash, so that
 * locking costs the same whatever the size of the disk. A caller that holds more than one
 * stripe at a time must take them with {@link #lockExclusive(long, long)}, which orders
 * them and so cannot deadlock.
 *
 * <p>
 * Units that share a stripe wait for each other although they are unrelated, so there are
 * many stripes ({@value #COUNT}); each lock is created the first time its stripe is used.
 */
public final class Stripes {

	private static final int COUNT = 4096;

	private final AtomicReferenceArray<ReentrantReadWriteLock> locks = new AtomicReferenceArray<>(COUNT);

	/** Returns the lock that guards the given unit (a cluster or a chunk). */
	public ReentrantReadWriteLock of(long unit) {
		return lock(index(unit));
	}

	private ReentrantReadWriteLock lock(int index) {
		ReentrantReadWriteLock lock = this.locks.get(index);
		if (lock == null) {
			ReentrantReadWriteLock created = new ReentrantReadWriteLock();
			lock = this.locks.compareAndExchange(index, null, created);
			if (lock == null) {
				lock = created;
			}
		}
		return lock;
	}

	private static int index(long unit) {
		long h = unit * 0x9E3779B97F4A7C15L;
		return (int) (h >>> 52) & (COUNT - 1);
	}

	/**
	 * Takes the exclusive locks of every unit in {@code [first, last]}, in stripe order,
	 * and returns a handle that releases them.
	 */
	public Held lockExclusive(long first, long last) {
		int[] stripes = stripesOf(first, last);
		int taken = 0;
		try {
			for (; taken < stripes.length; taken++) {
				lock(stripes[taken]).writeLock().lock();
			}
		}
		catch (RuntimeException | Error ex) {
			unlock(stripes, taken);
			throw ex;
		}
		return () -> unlock(stripes, stripes.length);
	}

	/** Returns the distinct stripes of {@code [first, last]} in ascending order. */
	private static int[] stripesOf(long first, long last) {
		long units = last - first + 1;
		if (units >= COUNT) {
			int[] all = new int[COUNT];
			Arrays.setAll(all, (i) -> i);
			return all;
		}
		int[] stripes = new int[(int) units];
		for (int i = 0; i < stripes.length; i++) {
			stripes[i] = index(first + i);
		}
		Arrays.sort(stripes);
		int distinct = 0;
		for (int i = 0; i < stripes.length; i++) {
			if (i == 0 || stripes[i] != stripes[i - 1]) {
				stripes[distinct++] = stripes[i];
			}
		}
		return (distinct == stripes.length) ? stripes : Arrays.copyOf(stripes, distinct);
	}

	private void unlock(int[] stripes, int taken) {
		for (int i = taken - 1; i >= 0; i--) {
			this.locks.get(stripes[i]).writeLock().unlock();
		}
	}

	/** A set of held locks. */
	@FunctionalInterface
	public interface Held extends AutoCloseable {

		@Override
		void close();

	}

}
