package dev.lockstep.replication;

import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.assertj.core.api.Assertions.tuple;

/**
 * Tests for the pause and resume of {@link ReplicationCoordinator}.
 */
class PhasedCheckpointTests {

	private static final Duration MAX_PAUSE = Duration.ofMillis(500);

	private final List<String> log = new CopyOnWriteArrayList<>();

	private final ParticipantRegistry registry = new ParticipantRegistry();

	private final ParticipantExecutor executor = new ParticipantExecutor();

	private final SimpleMeterRegistry meters = new SimpleMeterRegistry();

	private final CountDownLatch release = new CountDownLatch(1);

	private final ReplicationCoordinator coordinator = coordinator();

	@AfterEach
	void releaseBlockedCalls() {
		this.release.countDown();
		this.executor.close();
	}

	private ReplicationCoordinator coordinator() {
		CoordinatorProperties properties = new CoordinatorProperties(Duration.ofSeconds(5), Duration.ofMillis(200),
				Duration.ZERO, 100, null);
		ErrorSweep sweep = new ErrorSweep(this.registry, this.executor, properties.errorTimeout(),
				properties.errorCacheTtl(), Clock.systemUTC());
		return new ReplicationCoordinator(this.registry, sweep, properties, this.executor, this.meters,
				Clock.systemUTC());
	}

	private TestParticipant participant(String name, int order) {
		TestParticipant participant = new TestParticipant(name, this.log);
		this.registry.register(participant, order, ParticipantKind.BEAN);
		return participant;
	}

	private static void await(BooleanSupplier condition) throws InterruptedException {
		long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
		while (!condition.getAsBoolean() && System.nanoTime() < deadline) {
			Thread.sleep(10);
		}
		assertThat(condition.getAsBoolean()).as("condition within 5s").isTrue();
	}

	private void started() {
		this.coordinator.start(ReplicationMode.PRIMARY, "test");
		this.log.clear();
	}

	@Test
	void pausesInAscendingOrderCheckpointsWhilePausedAndResumesInDescendingOrder() {
		participant("b", 20);
		participant("a", 10);
		started();
		OperationReport pause = this.coordinator.pause(MAX_PAUSE, "test");
		assertThat(this.coordinator.paused()).isTrue();
		OperationReport checkpoint = this.coordinator.checkpoint("test");
		OperationReport resume = this.coordinator.resume("test");
		assertThat(this.log).containsExactly("a.pause", "b.pause", "a.checkpoint", "b.checkpoint", "b.resume",
				"a.resume");
		assertThat(pause.operation()).isEqualTo(Operation.PAUSE);
		assertThat(pause.outcome()).isEqualTo(OperationOutcome.SUCCEEDED);
		assertThat(pause.pausedMillis()).isNull();
		assertThat(checkpoint.outcome()).isEqualTo(OperationOutcome.SUCCEEDED);
		assertThat(resume.steps()).extracting(StepReport::participant, StepReport::action)
			.containsExactly(tuple("b", StepAction.RESUME), tuple("a", StepAction.RESUME));
		assertThat(resume.pausedMillis()).isNotNull().isGreaterThanOrEqualTo(0);
		assertThat(this.coordinator.paused()).isFalse();
		assertThat(this.meters.get("lockstep.pair.pause").timer().count()).isEqualTo(1);
	}

	@Test
	void resumeWithoutPauseIsANoopAndPauseNeedsRunningReplication() {
		participant("a", 10);
		assertThatExceptionOfType(OperationConflictException.class)
			.isThrownBy(() -> this.coordinator.pause(MAX_PAUSE, "test"));
		started();
		assertThat(this.coordinator.resume("test").outcome()).isEqualTo(OperationOutcome.NOOP);
		this.coordinator.pause(MAX_PAUSE, "test");
		assertThatExceptionOfType(OperationConflictException.class)
			.isThrownBy(() -> this.coordinator.pause(MAX_PAUSE, "test"))
			.withMessageContaining("already paused");
		assertThat(this.log).containsExactly("a.pause");
	}

	@Test
	void failedPauseResumesEveryParticipantWhosePauseWasCalled() {
		participant("a", 10);
		participant("b", 20).failOn(StepAction.PAUSE, "cannot hold writes");
		participant("c", 30);
		started();
		OperationReport pause = this.coordinator.pause(MAX_PAUSE, "test");
		assertThat(this.log).containsExactly("a.pause", "b.pause", "b.resume", "a.resume");
		assertThat(pause.outcome()).isEqualTo(OperationOutcome.FAILED);
		assertThat(pause.firstFailure()).get()
			.extracting(StepReport::participant, StepReport::error)
			.containsExactly("b", "cannot hold writes");
		assertThat(pause.pausedMillis()).isNotNull();
		assertThat(this.coordinator.paused()).isFalse();
		assertThat(this.coordinator.state()).isEqualTo(CoordinatorState.RUNNING);
	}

	@Test
	void pausePastMaxPauseFailsInTimeNamesTheParticipantAndResumesItOnceItReturns() throws InterruptedException {
		participant("a", 10);
		CountDownLatch entered = new CountDownLatch(1);
		participant("slow", 20).blockOn(StepAction.PAUSE, this.release, entered);
		participant("c", 30);
		started();
		long start = System.nanoTime();
		OperationReport pause = this.coordinator.pause(MAX_PAUSE, "test");
		long elapsed = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
		assertThat(elapsed).isBetween(MAX_PAUSE.toMillis(), MAX_PAUSE.toMillis() + 1000);
		assertThat(pause.outcome()).isEqualTo(OperationOutcome.FAILED);
		assertThat(pause.firstFailure()).get().satisfies((step) -> {
			assertThat(step.participant()).isEqualTo("slow");
			assertThat(step.outcome()).isEqualTo(StepOutcome.TIMED_OUT);
			assertThat(step.error()).contains("lockstep.pair.max-pause");
		});
		assertThat(this.log).containsExactly("a.pause", "slow.pause", "a.resume");
		assertThat(this.coordinator.paused()).isFalse();
		this.release.countDown();
		await(() -> this.log.contains("slow.resume"));
		assertThat(this.log).doesNotContain("c.pause");
	}

	@Test
	void watchdogResumesAPauseThatNobodyResumed() throws InterruptedException {
		participant("a", 10);
		started();
		this.coordinator.pause(MAX_PAUSE, "test");
		await(() -> !this.coordinator.paused());
		assertThat(this.log).containsExactly("a.pause", "a.resume");
		OperationReport resume = this.coordinator.operations(1).get(0);
		assertThat(resume.operation()).isEqualTo(Operation.RESUME);
		assertThat(resume.caller()).isEqualTo("watchdog");
		assertThat(resume.pausedMillis()).isGreaterThanOrEqualTo(MAX_PAUSE.toMillis());
		Timer timer = this.meters.get("lockstep.pair.pause").timer();
		assertThat(timer.max(TimeUnit.MILLISECONDS)).isGreaterThanOrEqualTo(MAX_PAUSE.toMillis());
	}

	@Test
	void stopWhilePausedResumesFirst() {
		participant("a", 10);
		started();
		this.coordinator.pause(MAX_PAUSE, "test");
		this.coordinator.stop(false, "test");
		assertThat(this.log).containsExactly("a.pause", "a.resume", "a.stop(false)");
		assertThat(this.coordinator.paused()).isFalse();
	}

}
