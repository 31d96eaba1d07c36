package dev.lockstep.block.overlay;

import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * A fixed set of read-write locks that guard clusters by hash, so that locking
 * costs the same whatever the size of the disk. A caller that holds more than one
 * stripe at a time must take them with {@link #lockExclusive(long, long)}, which
 * orders them and so cannot deadlock.
 */
public final class Stripes {

	private static final int COUNT = 256;

	private final ReentrantReadWriteLock[] locks = new ReentrantReadWriteLock[COUNT];

	public Stripes() {
		for (int i = 0; i < COUNT; i++) {
			this.locks[i] = new ReentrantReadWriteLock();
		}
	}

	/** Returns the lock that guards the given unit (a cluster or a chunk). */
	public ReentrantReadWriteLock of(long unit) {
		return this.locks[index(unit)];
	}

	private static int index(long unit) {
		long h = unit * 0x9E3779B97F4A7C15L;
		return (int) (h >>> 56) & (COUNT - 1);
	}

	/**
	 * Takes the exclusive locks of every unit in {@code [first, last]}, in stripe
	 * order, and returns a handle that releases them.
	 */
	public Held lockExclusive(long first, long last) {
		boolean[] take = new boolean[COUNT];
		if (last - first + 1 >= COUNT) {
			java.util.Arrays.fill(take, true);
		}
		else {
			for (long unit = first; unit <= last; unit++) {
				take[index(unit)] = true;
			}
		}
		int taken = 0;
		try {
			for (; taken < COUNT; taken++) {
				if (take[taken]) {
					this.locks[taken].writeLock().lock();
				}
			}
		}
		catch (RuntimeException | Error ex) {
			for (int i = taken - 1; i >= 0; i--) {
				if (take[i]) {
					this.locks[i].writeLock().unlock();
				}
			}
			throw ex;
		}
		return () -> {
			for (int i = COUNT - 1; i >= 0; i--) {
				if (take[i]) {
					this.locks[i].writeLock().unlock();
				}
			}
		};
	}

	/** A set of held locks. */
	@FunctionalInterface
	public interface Held extends AutoCloseable {

		@Override
		void close();

	}

}
