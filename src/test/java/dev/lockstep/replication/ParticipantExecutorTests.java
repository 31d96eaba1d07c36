package dev.lockstep.replication;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * Tests for {@link ParticipantExecutor}: the hand-off to a thread that stands by must
 * neither lose nor repeat a task, nor carry an interrupt from one task into the next.
 */
class ParticipantExecutorTests {

	@Test
	void aTaskFollowingCloselyIsHandedToTheThreadThatStandsBy() throws Exception {
		int tasks = 1000;
		try (ParticipantExecutor executor = new ParticipantExecutor()) {
			for (int i = 0; i < tasks; i++) {
				CompletableFuture<Void> ran = new CompletableFuture<>();
				executor.execute(() -> ran.complete(null));
				ran.get(10, TimeUnit.SECONDS);
			}
			// Each task is handed over right after the one before it finished, well
			// within the stand-by time; the pool alone would have taken every one.
			assertThat(executor.pooledTasks()).isLessThan(tasks);
		}
	}

	@Test
	void concurrentSubmittersLoseNoTaskAndRunNoneTwice() throws Exception {
		int submitters = 4;
		int perSubmitter = 2000;
		AtomicInteger[] runs = new AtomicInteger[submitters * perSubmitter];
		for (int i = 0; i < runs.length; i++) {
			runs[i] = new AtomicInteger();
		}
		CountDownLatch all = new CountDownLatch(runs.length);
		try (ParticipantExecutor executor = new ParticipantExecutor()) {
			List<Thread> threads = new ArrayList<>();
			for (int s = 0; s < submitters; s++) {
				int base = s * perSubmitter;
				Thread submitter = new Thread(() -> {
					for (int i = 0; i < perSubmitter; i++) {
						AtomicInteger count = runs[base + i];
						executor.execute(() -> {
							count.incrementAndGet();
							all.countDown();
						});
					}
				});
				threads.add(submitter);
				submitter.start();
			}
			for (Thread submitter : threads) {
				submitter.join(TimeUnit.SECONDS.toMillis(30));
			}
			assertThat(all.await(30, TimeUnit.SECONDS)).isTrue();
		}
		for (AtomicInteger count : runs) {
			assertThat(count).hasValue(1);
		}
	}

	@Test
	void aTaskThatLeavesItsThreadInterruptedDoesNotInterruptTheNext() throws Exception {
		try (ParticipantExecutor executor = new ParticipantExecutor()) {
			for (int i = 0; i < 200; i++) {
				CompletableFuture<Void> first = new CompletableFuture<>();
				executor.execute(() -> {
					Thread.currentThread().interrupt();
					first.complete(null);
				});
				first.get(10, TimeUnit.SECONDS);
				CompletableFuture<Boolean> interrupted = new CompletableFuture<>();
				executor.execute(() -> interrupted.complete(Thread.currentThread().isInterrupted()));
				assertThat(interrupted.get(10, TimeUnit.SECONDS)).isFalse();
			}
		}
	}

	@Test
	void aClosedExecutorRejectsTasks() {
		ParticipantExecutor executor = new ParticipantExecutor();
		executor.close();
		assertThatExceptionOfType(RejectedExecutionException.class).isThrownBy(() -> executor.execute(() -> {
		}));
	}

}
