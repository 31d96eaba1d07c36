package dev.lockstep.replication;

import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What the coordinator announces to its {@link OperationListener}s, and the report so far
 * of the operation in progress.
 */
class OperationListenerTests {

	private final ParticipantRegistry registry = new ParticipantRegistry();

	private final ParticipantExecutor executor = new ParticipantExecutor();

	private final CountDownLatch release = new CountDownLatch(1);

	private final ReplicationCoordinator coordinator;

	private final List<String> heard = new CopyOnWriteArrayList<>();

	OperationListenerTests() {
		CoordinatorProperties properties = new CoordinatorProperties(Duration.ofSeconds(5), Duration.ofMillis(200),
				Duration.ZERO, 100, null);
		ErrorSweep sweep = new ErrorSweep(this.registry, this.executor, properties.errorTimeout(),
				properties.errorCacheTtl(), Clock.systemUTC());
		this.coordinator = new ReplicationCoordinator(this.registry, sweep, properties, this.executor,
				new SimpleMeterRegistry(), Clock.systemUTC());
	}

	@AfterEach
	void releaseBlockedCalls() {
		this.release.countDown();
		this.executor.close();
	}

	@Test
	void theReportGrowsStepByStepAndTheListenersHearEveryChange() throws Exception {
		CountDownLatch entered = new CountDownLatch(1);
		this.registry.register(new TestParticipant("a"), 1, ParticipantKind.BEAN);
		this.registry.register(new TestParticipant("b").blockOn(StepAction.START, this.release, entered), 2,
				ParticipantKind.BEAN);
		Thread caller = Thread.currentThread();
		CompletableFuture<Thread> startedOn = new CompletableFuture<>();
		this.coordinator.addListener(new OperationListener() {

			@Override
			public void operationStarted(OperationReport report) {
				startedOn.complete(Thread.currentThread());
				OperationListenerTests.this.heard
					.add("started " + report.outcome().value() + " " + report.steps().size());
			}

			@Override
			public void stepFinished(OperationReport report, StepReport step) {
				OperationListenerTests.this.heard
					.add("step " + step.participant() + " " + report.outcome().value() + " " + report.steps().size());
			}

			@Override
			public void operationFinished(OperationReport report) {
				OperationListenerTests.this.heard.add("finished " + report.outcome().value());
			}

			@Override
			public void stateChanged(CoordinatorState previous, CoordinatorState state,
					@Nullable ReplicationMode mode) {
				OperationListenerTests.this.heard.add("state " + previous + " " + state + " " + mode);
			}

		});
		CompletableFuture<OperationReport> start = CompletableFuture
			.supplyAsync(() -> this.coordinator.start(ReplicationMode.PRIMARY, "test"));
		assertThat(entered.await(5, TimeUnit.SECONDS)).isTrue();
		String id = this.coordinator.runningOperation().orElseThrow().id();
		OperationReport sofar = this.coordinator.operation(id).orElseThrow();
		assertThat(sofar.outcome()).isEqualTo(OperationOutcome.RUNNING);
		assertThat(sofar.steps()).extracting(StepReport::participant).containsExactly("a");
		assertThat(startedOn.get(5, TimeUnit.SECONDS)).isNotEqualTo(caller);
		this.release.countDown();
		OperationReport report = start.get(5, TimeUnit.SECONDS);
		assertThat(this.coordinator.operation(id)).contains(report);
		assertThat(this.heard).containsExactly("started running 0", "step a running 1", "step b running 2",
				"finished succeeded", "state IDLE RUNNING primary");
		this.heard.clear();
		this.coordinator.start(ReplicationMode.PRIMARY, "test");
		assertThat(this.heard).as("a noop is not announced").isEmpty();
	}

}
