package dev.lockstep.block.replicated.primary;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;

import org.junit.jupiter.api.Test;

import dev.lockstep.block.overlay.Stripes;

import static org.assertj.core.api.Assertions.assertThat;

class RegionLocksTests {

	@Test
	void writesToOtherRegionsDoNotWaitButAnOverlappingOneDoes() throws Exception {
		RegionLocks locks = new RegionLocks();
		ExecutorService executor = Executors.newSingleThreadExecutor();
		try (Stripes.Held held = locks.lock(10, 13)) {
			// Any number of disjoint ranges can be held at once: no false sharing.
			List<Stripes.Held> others = new ArrayList<>();
			for (long region = 14; region < 10_000; region += 4) {
				others.add(locks.lock(region, region + 3));
			}
			assertThat(locks.heldRegions()).isEqualTo(4 + others.size() * 4);
			others.forEach(Stripes.Held::close);

			CountDownLatch acquired = new CountDownLatch(1);
			Future<?> overlapping = executor.submit(() -> {
				try (Stripes.Held second = locks.lock(13, 20)) {
					acquired.countDown();
				}
			});
			assertThat(acquired.await(200, TimeUnit.MILLISECONDS)).isFalse();
			held.close();
			overlapping.get(30, TimeUnit.SECONDS);
			assertThat(acquired.getCount()).isZero();
		}
		finally {
			executor.shutdownNow();
		}
		assertThat(locks.heldRegions()).isZero();
	}

	@Test
	void overlappingRangesFromManyThreadsExcludeEachOtherAndNeverDeadlock() throws Exception {
		RegionLocks locks = new RegionLocks();
		AtomicIntegerArray holders = new AtomicIntegerArray(64);
		AtomicIntegerArray violations = new AtomicIntegerArray(1);
		ExecutorService executor = Executors.newFixedThreadPool(8);
		try {
			List<Future<?>> workers = new ArrayList<>();
			for (int t = 0; t < 8; t++) {
				long seed = t;
				workers.add(executor.submit(() -> {
					Random random = new Random(seed);
					for (int i = 0; i < 2_000; i++) {
						int first = random.nextInt(60);
						int last = first + random.nextInt(4);
						try (Stripes.Held held = locks.lock(first, last)) {
							for (int r = first; r <= last; r++) {
								if (holders.incrementAndGet(r) != 1) {
									violations.incrementAndGet(0);
								}
							}
							for (int r = first; r <= last; r++) {
								holders.decrementAndGet(r);
							}
						}
					}
				}));
			}
			for (Future<?> worker : workers) {
				worker.get(60, TimeUnit.SECONDS);
			}
		}
		finally {
			executor.shutdownNow();
		}
		assertThat(violations.get(0)).isZero();
		assertThat(locks.heldRegions()).isZero();
	}

}
