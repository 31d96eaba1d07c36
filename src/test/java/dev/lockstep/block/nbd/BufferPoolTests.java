package dev.lockstep.block.nbd;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The buffer pool's budget: never exceeded, and the largest buffer always handed out in
 * the end, however many small ones are asked for meanwhile.
 */
@Timeout(60)
class BufferPoolTests {

	private static final int MIB = 1024 * 1024;

	@Test
	void largestBufferIsHandedOutWhileSmallOnesKeepComing() throws Exception {
		// The smallest budget allowed: the largest buffer needs all of it.
		BufferPool pool = new BufferPool(64L * MIB, 64 * MIB);
		AtomicBoolean done = new AtomicBoolean();
		AtomicLong small = new AtomicLong();
		List<Thread> threads = new ArrayList<>();
		for (int i = 0; i < 6; i++) {
			Thread thread = new Thread(() -> {
				long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
				while (!done.get() && System.nanoTime() < deadline) {
					try {
						ByteBuffer buffer = pool.acquire(4096 << (small.get() % 8));
						Thread.sleep(0, 200_000);
						pool.release(buffer);
						small.incrementAndGet();
					}
					catch (InterruptedException ex) {
						return;
					}
				}
			});
			thread.start();
			threads.add(thread);
		}
		try {
			Thread.sleep(100);
			CompletableFuture<ByteBuffer> large = CompletableFuture.supplyAsync(() -> {
				try {
					return pool.acquire(64 * MIB);
				}
				catch (InterruptedException ex) {
					throw new IllegalStateException(ex);
				}
			});
			ByteBuffer buffer = large.get(10, TimeUnit.SECONDS);
			assertThat(buffer.capacity()).isEqualTo(64 * MIB);
			assertThat(pool.outstandingBytes()).isEqualTo(64L * MIB);
			long before = small.get();
			pool.release(buffer);
			// Small I/O goes on afterwards.
			long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
			while (small.get() < before + 100 && System.nanoTime() < deadline) {
				Thread.sleep(10);
			}
			assertThat(small.get()).isGreaterThanOrEqualTo(before + 100);
		}
		finally {
			done.set(true);
			for (Thread thread : threads) {
				thread.join(5000);
			}
		}
		assertThat(pool.peakOutstandingBytes()).isLessThanOrEqualTo(64L * MIB);
		assertThat(pool.outstandingBytes()).isZero();
		assertThat(pool.availableBytes()).isEqualTo(64L * MIB);
		// Reserve and main budget are back to their shares: the largest buffer needs
		// both.
		ByteBuffer again = CompletableFuture.supplyAsync(() -> {
			try {
				return pool.acquire(64 * MIB);
			}
			catch (InterruptedException ex) {
				throw new IllegalStateException(ex);
			}
		}).get(5, TimeUnit.SECONDS);
		pool.release(again);
	}

	@Test
	void smallBuffersKeepTheirReserveWhileLargeOnesWait() throws Exception {
		BufferPool pool = new BufferPool(128L * MIB, 64 * MIB);
		ByteBuffer first = pool.acquire(64 * MIB);
		ByteBuffer second = pool.acquire(32 * MIB);
		CompletableFuture<ByteBuffer> waiting = CompletableFuture.supplyAsync(() -> {
			try {
				return pool.acquire(64 * MIB);
			}
			catch (InterruptedException ex) {
				throw new IllegalStateException(ex);
			}
		});
		Thread.sleep(200);
		assertThat(waiting).isNotDone();
		// A 4 KiB buffer is still handed out at once, from the reserve.
		ByteBuffer tiny = pool.acquire(4096);
		pool.release(tiny);
		pool.release(second);
		assertThat(waiting).isNotDone();
		pool.release(first);
		ByteBuffer third = waiting.get(10, TimeUnit.SECONDS);
		assertThat(pool.peakOutstandingBytes()).isLessThanOrEqualTo(128L * MIB);
		pool.release(third);
		assertThat(pool.availableBytes()).isEqualTo(128L * MIB);
	}

}
