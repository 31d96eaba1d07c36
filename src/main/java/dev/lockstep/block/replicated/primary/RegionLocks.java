package dev.lockstep.block.replicated.primary;

import java.util.concurrent.ConcurrentHashMap;

import dev.lockstep.block.overlay.Stripes;

/**
 * Exclusive locks on regions of a disk (units whose size the caller chooses by numbering
 * them, e.g. 64 KiB), held by writes in flight. Unlike {@link Stripes}, only writes that
 * touch a common region wait for each other: many concurrent writes to unrelated regions,
 * each held for a round trip to the peer, never queue behind one another by chance.
 * Regions are taken in ascending order, so overlapping writes cannot deadlock.
 */
final class RegionLocks {

	private final ConcurrentHashMap<Long, Holder> held = new ConcurrentHashMap<>();

	/**
	 * Takes the regions {@code [first, last]}, waiting for writes that hold any of them.
	 */
	Stripes.Held lock(long first, long last) {
		Holder mine = new Holder();
		long region = first;
		try {
			for (; region <= last; region++) {
				Holder other;
				while ((other = this.held.putIfAbsent(region, mine)) != null) {
					other.awaitRelease();
				}
			}
		}
		catch (RuntimeException | Error ex) {
			release(first, region - 1, mine);
			throw ex;
		}
		return () -> release(first, last, mine);
	}

	/** Number of regions held, for tests. */
	int heldRegions() {
		return this.held.size();
	}

	private void release(long first, long last, Holder mine) {
		for (long region = first; region <= last; region++) {
			this.held.remove(region, mine);
		}
		mine.release();
	}

	/** One write's hold; others wait on it until it lets go. */
	private static final class Holder {

		private boolean released;

		synchronized void awaitRelease() {
			boolean interrupted = false;
			while (!this.released) {
				try {
					wait();
				}
				catch (InterruptedException ex) {
					interrupted = true;
				}
			}
			if (interrupted) {
				Thread.currentThread().interrupt();
			}
		}

		synchronized void release() {
			this.released = true;
			notifyAll();
		}

	}

}
