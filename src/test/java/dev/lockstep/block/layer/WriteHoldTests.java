package dev.lockstep.block.layer;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests for {@link WriteHold}.
 */
class WriteHoldTests {

	private final WriteHold hold = new WriteHold();

	@Test
	void holdWaitsForTheWritesInFlight() throws Exception {
		this.hold.enter();
		CountDownLatch held = new CountDownLatch(1);
		Thread pauser = start(() -> {
			try {
				this.hold.hold();
				held.countDown();
			}
			catch (InterruptedException ex) {
				Thread.currentThread().interrupt();
			}
		});
		assertThat(held.await(200, TimeUnit.MILLISECONDS)).as("held while a write is in flight").isFalse();
		this.hold.leave();
		assertThat(held.await(5, TimeUnit.SECONDS)).isTrue();
		assertThat(this.hold.holding()).isTrue();
		pauser.join();
	}

	@Test
	void heldWritesEnterInTheOrderTheyArrivedAheadOfLaterOnes() throws Exception {
		this.hold.hold();
		long[] places = new long[5];
		List<Thread> writers = new ArrayList<>();
		for (int i = 0; i < 5; i++) {
			int number = i;
			writers.add(start(() -> {
				places[number] = this.hold.enter();
				this.hold.leave();
			}));
			long waiting = i + 1;
			await(() -> this.hold.waiting() == waiting);
		}
		Thread.sleep(50);
		assertThat(writers).allMatch(Thread::isAlive);
		this.hold.release();
		for (Thread writer : writers) {
			writer.join(5000);
		}
		assertThat(places).containsExactly(0, 1, 2, 3, 4);
		assertThat(this.hold.waiting()).isZero();
	}

	@Test
	void anInterruptedHoldLetsWritesThroughAgain() throws Exception {
		this.hold.enter();
		Thread pauser = start(() -> {
			try {
				this.hold.hold();
			}
			catch (InterruptedException ex) {
				// expected
			}
		});
		await(this.hold::holding);
		pauser.interrupt();
		pauser.join(5000);
		assertThat(this.hold.holding()).isFalse();
		this.hold.leave();
	}

	private static Thread start(Runnable task) {
		Thread thread = new Thread(task);
		thread.setDaemon(true);
		thread.start();
		return thread;
	}

	private static void await(BooleanSupplier condition) throws InterruptedException {
		long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
		while (!condition.getAsBoolean() && System.nanoTime() < deadline) {
			Thread.sleep(5);
		}
		assertThat(condition.getAsBoolean()).isTrue();
	}

}
