package dev.lockstep.replication;

import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.tuple;

/**
 * Tests for {@link ReplicationCoordinator}.
 */
class ReplicationCoordinatorTests {

	private final List<String> log = new CopyOnWriteArrayList<>();

	private final ParticipantRegistry registry = new ParticipantRegistry();

	private final ParticipantExecutor executor = new ParticipantExecutor();

	private final SimpleMeterRegistry meters = new SimpleMeterRegistry();

	private final CountDownLatch release = new CountDownLatch(1);

	private ReplicationCoordinator coordinator = coordinator(Duration.ofSeconds(5));

	@AfterEach
	void releaseBlockedCalls() {
		this.release.countDown();
		this.executor.close();
	}

	private ReplicationCoordinator coordinator(Duration callTimeout) {
		return coordinator(callTimeout, this.executor);
	}

	private ReplicationCoordinator coordinator(Duration callTimeout, Executor executor) {
		CoordinatorProperties properties = new CoordinatorProperties(callTimeout, Duration.ofMillis(200), Duration.ZERO,
				100, null);
		ErrorSweep sweep = new ErrorSweep(this.registry, executor, properties.errorTimeout(),
				properties.errorCacheTtl(), Clock.systemUTC());
		return new ReplicationCoordinator(this.registry, sweep, properties, executor, this.meters, Clock.systemUTC());
	}

	private TestParticipant participant(String name, int order) {
		TestParticipant participant = new TestParticipant(name, this.log);
		this.registry.register(participant, order, ParticipantKind.BEAN);
		return participant;
	}

	@Test
	void startsInAscendingOrderAndStopsInDescendingOrder() {
		participant("c", 30);
		participant("a", 10);
		participant("b", 20);
		OperationReport start = this.coordinator.start(ReplicationMode.SECONDARY, "test");
		this.coordinator.checkpoint("test");
		OperationReport stop = this.coordinator.stop(true, "test");
		assertThat(this.log).containsExactly("a.start(secondary)", "b.start(secondary)", "c.start(secondary)",
				"a.checkpoint", "b.checkpoint", "c.checkpoint", "c.stop(true)", "b.stop(true)", "a.stop(true)");
		assertThat(start.outcome()).isEqualTo(OperationOutcome.SUCCEEDED);
		assertThat(start.state()).isEqualTo(CoordinatorState.RUNNING);
		assertThat(start.mode()).isEqualTo(ReplicationMode.SECONDARY);
		assertThat(start.steps()).extracting(StepReport::participant).containsExactly("a", "b", "c");
		assertThat(stop.failover()).isTrue();
		assertThat(stop.steps()).extracting(StepReport::action).containsOnly(StepAction.STOP);
		assertThat(this.coordinator.state()).isEqualTo(CoordinatorState.IDLE);
		assertThat(this.coordinator.mode()).isEmpty();
	}

	@Test
	void failedStartStopsNothingAfterTheFailureAndCompensatesInReverse() {
		participant("a", 1);
		participant("b", 2);
		participant("c", 3).failOn(StepAction.START, "disk missing");
		participant("d", 4);
		OperationReport report = this.coordinator.start(ReplicationMode.PRIMARY, null);
		assertThat(this.log).containsExactly("a.start(primary)", "b.start(primary)", "c.start(primary)",
				"b.stop(false)", "a.stop(false)");
		assertThat(report.outcome()).isEqualTo(OperationOutcome.FAILED);
		assertThat(report.firstFailure()).get().satisfies((step) -> {
			assertThat(step.participant()).isEqualTo("c");
			assertThat(step.outcome()).isEqualTo(StepOutcome.FAILED);
			assertThat(step.error()).isEqualTo("disk missing");
		});
		assertThat(report.steps()).extracting(StepReport::action)
			.containsExactly(StepAction.START, StepAction.START, StepAction.START, StepAction.COMPENSATE,
					StepAction.COMPENSATE);
		assertThat(this.coordinator.state()).isEqualTo(CoordinatorState.IDLE);
		assertThat(this.coordinator.status().participants()).noneMatch(ParticipantStatus::started);
	}

	@Test
	void failedCompensationLeavesTheCoordinatorFailedUntilAStopSucceeds() {
		TestParticipant a = participant("a", 1).failOn(StepAction.STOP, "stuck");
		participant("b", 2).failOn(StepAction.START, "no peer");
		this.coordinator.start(ReplicationMode.PRIMARY, null);
		assertThat(this.coordinator.state()).isEqualTo(CoordinatorState.FAILED);
		assertThatExceptionOfType(OperationConflictException.class)
			.isThrownBy(() -> this.coordinator.start(ReplicationMode.PRIMARY, null));
		a.heal(StepAction.STOP);
		this.coordinator.stop(false, null);
		assertThat(this.coordinator.state()).isEqualTo(CoordinatorState.IDLE);
	}

	@Test
	void failedCheckpointStopsAtTheFailureAndKeepsRunning() {
		participant("a", 1);
		participant("b", 2).failOn(StepAction.CHECKPOINT, "peer did not acknowledge");
		participant("c", 3);
		this.coordinator.start(ReplicationMode.PRIMARY, null);
		this.log.clear();
		OperationReport report = this.coordinator.checkpoint(null);
		assertThat(this.log).containsExactly("a.checkpoint", "b.checkpoint");
		assertThat(report.outcome()).isEqualTo(OperationOutcome.FAILED);
		assertThat(report.state()).isEqualTo(CoordinatorState.RUNNING);
		assertThat(this.coordinator.state()).isEqualTo(CoordinatorState.RUNNING);
		assertThat(this.coordinator.mode()).contains(ReplicationMode.PRIMARY);
	}

	@Test
	void stopGoesOnThroughFailuresThenRetriesOnlyWhatDidNotStop() {
		participant("a", 1);
		TestParticipant b = participant("b", 2).failOn(StepAction.STOP, "cannot commit overlay");
		participant("c", 3);
		this.coordinator.start(ReplicationMode.SECONDARY, null);
		this.log.clear();
		OperationReport first = this.coordinator.stop(true, null);
		assertThat(this.log).containsExactly("c.stop(true)", "b.stop(true)", "a.stop(true)");
		assertThat(first.outcome()).isEqualTo(OperationOutcome.FAILED);
		assertThat(first.state()).isEqualTo(CoordinatorState.FAILED);
		assertThat(this.coordinator.state()).isEqualTo(CoordinatorState.FAILED);
		assertThat(this.coordinator.mode()).contains(ReplicationMode.SECONDARY);
		assertThat(this.coordinator.status().participants()).filteredOn(ParticipantStatus::started)
			.extracting(ParticipantStatus::name)
			.containsExactly("b");
		this.log.clear();
		b.heal(StepAction.STOP);
		OperationReport retry = this.coordinator.stop(true, null);
		assertThat(this.log).containsExactly("b.stop(true)");
		assertThat(retry.outcome()).isEqualTo(OperationOutcome.SUCCEEDED);
		assertThat(this.coordinator.state()).isEqualTo(CoordinatorState.IDLE);
	}

	@Test
	void repeatedStartAndStopAreNoOps() {
		participant("a", 1);
		assertThat(this.coordinator.stop(false, null).outcome()).isEqualTo(OperationOutcome.NOOP);
		this.coordinator.start(ReplicationMode.PRIMARY, null);
		OperationReport again = this.coordinator.start(ReplicationMode.PRIMARY, null);
		assertThat(again.outcome()).isEqualTo(OperationOutcome.NOOP);
		assertThat(again.steps()).isEmpty();
		assertThat(this.log).containsExactly("a.start(primary)");
		assertThat(this.coordinator.operations(10)).hasSize(3).first().isEqualTo(again);
	}

	@Test
	void wrongStateIsAConflict() {
		participant("a", 1);
		assertThatExceptionOfType(OperationConflictException.class).isThrownBy(() -> this.coordinator.checkpoint(null))
			.satisfies((ex) -> {
				assertThat(ex.state()).isEqualTo(CoordinatorState.IDLE);
				assertThat(ex.runningOperation()).isNull();
			});
		this.coordinator.start(ReplicationMode.PRIMARY, null);
		assertThatExceptionOfType(OperationConflictException.class)
			.isThrownBy(() -> this.coordinator.start(ReplicationMode.SECONDARY, null))
			.withMessageContaining("already running as primary");
		assertThat(this.coordinator.state()).isEqualTo(CoordinatorState.RUNNING);
		assertThat(this.log).containsExactly("a.start(primary)");
	}

	@Test
	void concurrentOperationIsRejectedAtOnceNamingTheRunningOne() throws Exception {
		participant("slow", 1).blockOn(StepAction.START, this.release);
		CompletableFuture<OperationReport> start = CompletableFuture
			.supplyAsync(() -> this.coordinator.start(ReplicationMode.PRIMARY, null));
		awaitRunning();
		long before = System.nanoTime();
		assertThatExceptionOfType(OperationConflictException.class).isThrownBy(() -> this.coordinator.stop(true, null))
			.satisfies((ex) -> assertThat(ex.runningOperation()).isEqualTo(Operation.START))
			.withMessageContaining("start operation");
		ReplicationStatus status = this.coordinator.status();
		assertThat(Duration.ofNanos(System.nanoTime() - before)).isLessThan(Duration.ofSeconds(2));
		assertThat(status.runningOperation().operation()).isEqualTo(Operation.START);
		this.release.countDown();
		assertThat(start.get(10, TimeUnit.SECONDS).outcome()).isEqualTo(OperationOutcome.SUCCEEDED);
		assertThat(this.coordinator.runningOperation()).isEmpty();
	}

	@Test
	void callPastItsDeadlineTimesOutAndTheOperationGoesOn() {
		this.coordinator = coordinator(Duration.ofMillis(300));
		participant("a", 1);
		participant("b", 2);
		participant("hung", 3).blockOn(StepAction.STOP, this.release);
		participant("d", 4);
		this.coordinator.start(ReplicationMode.SECONDARY, null);
		long before = System.nanoTime();
		OperationReport stop = this.coordinator.stop(true, null);
		assertThat(Duration.ofNanos(System.nanoTime() - before)).isLessThan(Duration.ofSeconds(3));
		assertThat(stop.steps()).extracting(StepReport::participant).containsExactly("d", "hung", "b", "a");
		StepReport hung = stop.steps().get(1);
		assertThat(hung.outcome()).isEqualTo(StepOutcome.TIMED_OUT);
		assertThat(hung.durationMillis()).isGreaterThanOrEqualTo(300);
		assertThat(hung.error()).contains("300ms");
		assertThat(stop.steps().get(2).outcome()).isEqualTo(StepOutcome.SUCCEEDED);
		assertThat(this.coordinator.state()).isEqualTo(CoordinatorState.FAILED);
		assertThat(this.meters.get("lockstep.participant.calls")
			.tags("participant", "hung", "action", "stop", "outcome", "timed_out")
			.timer()
			.count()).isEqualTo(1);
	}

	@Test
	void participantIsNeverCalledWhileItsTimedOutCallStillRuns() {
		this.coordinator = coordinator(Duration.ofMillis(200));
		TestParticipant hung = participant("hung", 1).blockOn(StepAction.START, this.release);
		OperationReport start = this.coordinator.start(ReplicationMode.PRIMARY, null);
		assertThat(start.steps()).extracting(StepReport::action)
			.containsExactly(StepAction.START, StepAction.COMPENSATE);
		assertThat(start.steps()).extracting(StepReport::outcome)
			.containsExactly(StepOutcome.TIMED_OUT, StepOutcome.TIMED_OUT);
		assertThat(start.steps().get(1).error()).contains("previous call is still running");
		assertThat(this.coordinator.state()).isEqualTo(CoordinatorState.FAILED);
		this.release.countDown();
		hung.heal(StepAction.START);
		OperationReport stop = this.coordinator.stop(false, null);
		assertThat(stop.outcome()).isEqualTo(OperationOutcome.SUCCEEDED);
		assertThat(hung.maxConcurrentCalls()).isEqualTo(1);
		assertThat(this.log).containsExactly("hung.start(primary)", "hung.stop(false)");
	}

	@Test
	void participantRemovedDuringAnOperationIsSkipped() throws Exception {
		CountDownLatch entered = new CountDownLatch(1);
		TestParticipant first = new TestParticipant("first", this.log) {
			@Override
			public void checkpoint() throws Exception {
				entered.countDown();
				super.checkpoint();
			}
		}.blockOn(StepAction.CHECKPOINT, this.release);
		this.registry.register(first, 1, ParticipantKind.BEAN);
		ParticipantRegistry.Registration second = this.registry.register(new TestParticipant("second", this.log), 2,
				ParticipantKind.REMOTE);
		participant("third", 3);
		this.coordinator.start(ReplicationMode.PRIMARY, null);
		this.log.clear();
		CompletableFuture<OperationReport> checkpoint = CompletableFuture
			.supplyAsync(() -> this.coordinator.checkpoint(null));
		assertThat(entered.await(5, TimeUnit.SECONDS)).isTrue();
		second.close();
		participant("late", 0);
		this.release.countDown();
		OperationReport report = checkpoint.get(10, TimeUnit.SECONDS);
		assertThat(report.outcome()).isEqualTo(OperationOutcome.SUCCEEDED);
		assertThat(report.steps()).extracting(StepReport::outcome)
			.containsExactly(StepOutcome.SUCCEEDED, StepOutcome.SKIPPED, StepOutcome.SUCCEEDED);
		assertThat(this.log).containsExactly("first.checkpoint", "third.checkpoint");
		assertThat(this.registry.participants()).extracting(RegisteredParticipant::name)
			.containsExactly("late", "first", "third");
		this.log.clear();
		this.coordinator.stop(false, null);
		assertThat(this.log).as("a participant that joined while running was never started, so it is not stopped")
			.containsExactly("third.stop(false)", "first.stop(false)");
	}

	@Test
	void duplicateNamesAreRejected() {
		participant("disk", 1);
		assertThatIllegalArgumentException()
			.isThrownBy(() -> this.registry.register(new TestParticipant("disk"), 2, ParticipantKind.REMOTE))
			.withMessageContaining("'disk' is already registered");
		assertThat(this.registry.participants()).hasSize(1);
	}

	@Test
	void historyKeepsTheNewestReportsFirst() {
		participant("a", 1);
		this.coordinator.start(ReplicationMode.PRIMARY, null);
		for (int i = 0; i < 120; i++) {
			this.coordinator.checkpoint(null);
		}
		List<OperationReport> all = this.coordinator.operations(1000);
		assertThat(all).hasSize(100);
		assertThat(all).allMatch((report) -> report.operation() == Operation.CHECKPOINT);
		assertThat(this.coordinator.operation(all.get(0).id())).contains(all.get(0));
		assertThat(this.coordinator.operation("no-such-id")).isEmpty();
		assertThat(this.meters.get("lockstep.operations")
			.tags("operation", "checkpoint", "outcome", "succeeded")
			.timer()
			.count()).isEqualTo(120);
		assertThat(this.meters.get("lockstep.state").tags("state", "RUNNING").gauge().value()).isEqualTo(1.0);
	}

	@Test
	void timedOutCallIsCountedOnceWhenItReturnsOrThrowsLate() throws Exception {
		AtomicInteger busy = new AtomicInteger();
		Executor tracking = (task) -> {
			busy.incrementAndGet();
			this.executor.execute(() -> {
				try {
					task.run();
				}
				finally {
					busy.decrementAndGet();
				}
			});
		};
		this.coordinator = coordinator(Duration.ofMillis(200), tracking);
		participant("returns", 1).blockOn(StepAction.STOP, this.release);
		TestParticipant throwing = new TestParticipant("throws", this.log) {
			@Override
			public void stop(boolean failover) throws Exception {
				super.stop(failover);
				throw new IllegalStateException("late failure");
			}
		}.blockOn(StepAction.STOP, this.release);
		this.registry.register(throwing, 2, ParticipantKind.BEAN);
		this.coordinator.start(ReplicationMode.PRIMARY, null);
		OperationReport stop = this.coordinator.stop(false, null);
		assertThat(stop.steps()).extracting(StepReport::outcome)
			.containsExactly(StepOutcome.TIMED_OUT, StepOutcome.TIMED_OUT);
		this.release.countDown();
		awaitIdle(busy);
		assertThat(this.log).contains("returns.stop(false)", "throws.stop(false)");
		for (String participant : List.of("returns", "throws")) {
			assertThat(this.meters.find("lockstep.participant.calls")
				.tags("participant", participant, "action", "stop")
				.timers()).as(participant).singleElement().satisfies((timer) -> {
					assertThat(timer.getId().getTag("outcome")).isEqualTo("timed_out");
					assertThat(timer.count()).isEqualTo(1);
				});
		}
	}

	@Test
	void interruptedStartFailsAtTheParticipantItStoppedAtAndIsCompensated() throws Exception {
		participant("a", 1);
		CountDownLatch entered = new CountDownLatch(1);
		this.registry.register(enteringOn(StepAction.START, "b", entered), 2, ParticipantKind.BEAN);
		participant("c", 3);
		Interrupted<OperationReport> start = Interrupted
			.whileBlocked(() -> this.coordinator.start(ReplicationMode.PRIMARY, "test"), entered);
		// let the given-up call return, so that its compensation can run
		awaitCount("b", "start", "timed_out");
		this.release.countDown();
		OperationReport report = start.result();
		assertThat(start.stillInterrupted()).isTrue();
		assertThat(report.outcome()).isEqualTo(OperationOutcome.FAILED);
		assertThat(report.firstFailure()).get().satisfies((step) -> {
			assertThat(step.participant()).isEqualTo("b");
			assertThat(step.action()).isEqualTo(StepAction.START);
			assertThat(step.outcome()).isEqualTo(StepOutcome.TIMED_OUT);
			assertThat(step.error()).contains("interrupted");
		});
		assertThat(report.steps()).extracting(StepReport::participant, StepReport::action)
			.containsExactly(tuple("a", StepAction.START), tuple("b", StepAction.START),
					tuple("b", StepAction.COMPENSATE), tuple("a", StepAction.COMPENSATE));
		assertThat(this.log).containsExactly("a.start(primary)", "b.start(primary)", "b.stop(false)", "a.stop(false)");
		assertThat(report.state()).isEqualTo(CoordinatorState.IDLE);
		assertThat(this.coordinator.state()).isEqualTo(CoordinatorState.IDLE);
		assertThat(this.coordinator.mode()).isEmpty();
		assertThat(this.coordinator.status().participants()).noneMatch(ParticipantStatus::started);
	}

	@Test
	void interruptedCheckpointFailsAtTheParticipantItStoppedAtAndKeepsRunning() throws Exception {
		participant("a", 1);
		CountDownLatch entered = new CountDownLatch(1);
		TestParticipant b = enteringOn(StepAction.CHECKPOINT, "b", entered);
		this.registry.register(b, 2, ParticipantKind.BEAN);
		participant("c", 3);
		this.coordinator.start(ReplicationMode.PRIMARY, null);
		this.log.clear();
		Interrupted<OperationReport> checkpoint = Interrupted.whileBlocked(() -> this.coordinator.checkpoint("test"),
				entered);
		OperationReport report = checkpoint.result();
		assertThat(checkpoint.stillInterrupted()).isTrue();
		assertThat(report.outcome()).isEqualTo(OperationOutcome.FAILED);
		assertThat(report.firstFailure()).get().satisfies((step) -> {
			assertThat(step.participant()).isEqualTo("b");
			assertThat(step.outcome()).isEqualTo(StepOutcome.TIMED_OUT);
			assertThat(step.error()).contains("interrupted");
		});
		assertThat(report.steps()).extracting(StepReport::participant).containsExactly("a", "b");
		assertThat(this.log).containsExactly("a.checkpoint", "b.checkpoint");
		assertThat(report.state()).isEqualTo(CoordinatorState.RUNNING);
		assertThat(this.coordinator.state()).isEqualTo(CoordinatorState.RUNNING);
		assertThat(this.coordinator.mode()).contains(ReplicationMode.PRIMARY);
		this.release.countDown();
		b.heal(StepAction.CHECKPOINT);
		assertThat(this.coordinator.checkpoint(null).outcome()).isEqualTo(OperationOutcome.SUCCEEDED);
	}

	/**
	 * A participant that blocks on the given action until {@link #release}, and counts
	 * down {@code entered} once that call is logged and blocks.
	 */
	private TestParticipant enteringOn(StepAction blocking, String name, CountDownLatch entered) {
		return new TestParticipant(name, this.log).blockOn(blocking, this.release, entered);
	}

	private void awaitCount(String participant, String action, String outcome) throws InterruptedException {
		long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
		while (System.nanoTime() < deadline && this.meters.find("lockstep.participant.calls")
			.tags("participant", participant, "action", action, "outcome", outcome)
			.timer() == null) {
			Thread.sleep(5);
		}
	}

	private static void awaitIdle(AtomicInteger busy) throws InterruptedException {
		long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
		while (busy.get() > 0 && System.nanoTime() < deadline) {
			Thread.sleep(5);
		}
		assertThat(busy).hasValue(0);
	}

	/**
	 * Runs an operation on a thread of its own and interrupts that thread once a
	 * participant call has begun.
	 */
	private static final class Interrupted<T> {

		private final Thread thread;

		private final AtomicReference<T> result = new AtomicReference<>();

		private final AtomicBoolean stillInterrupted = new AtomicBoolean();

		private Interrupted(Supplier<T> operation) {
			this.thread = new Thread(() -> {
				this.result.set(operation.get());
				this.stillInterrupted.set(Thread.currentThread().isInterrupted());
			}, "requester");
		}

		static <T> Interrupted<T> whileBlocked(Supplier<T> operation, CountDownLatch entered)
				throws InterruptedException {
			Interrupted<T> interrupted = new Interrupted<>(operation);
			interrupted.thread.start();
			assertThat(entered.await(5, TimeUnit.SECONDS)).isTrue();
			interrupted.thread.interrupt();
			return interrupted;
		}

		T result() throws InterruptedException {
			this.thread.join(TimeUnit.SECONDS.toMillis(20));
			assertThat(this.thread.isAlive()).isFalse();
			return this.result.get();
		}

		boolean stillInterrupted() {
			return this.stillInterrupted.get();
		}

	}

	private void awaitRunning() throws InterruptedException {
		long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
		while (this.coordinator.runningOperation().isEmpty() && System.nanoTime() < deadline) {
			Thread.sleep(5);
		}
		assertThat(this.coordinator.runningOperation()).isPresent();
	}

}
