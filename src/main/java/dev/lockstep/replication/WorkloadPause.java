package dev.lockstep.replication;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

/**
 * The coordinator's {@code pause} and {@code resume}: the workload of every started
 * participant held back for checkpoints, and let go again by a resume, a stop, or the
 * watchdog once the pause has lasted its longest.
 */
final class WorkloadPause {

	/** How soon the watchdog looks again when another operation runs at its deadline. */
	private static final long WATCHDOG_RETRY_MILLIS = 10;

	private static final Log logger = LogFactory.getLog(WorkloadPause.class);

	private final OperationLedger ledger;

	private final Executor executor;

	private final Duration callTimeout;

	WorkloadPause(OperationLedger ledger, Executor executor, Duration callTimeout) {
		this.ledger = ledger;
		this.executor = executor;
		this.callTimeout = callTimeout;
	}

	/** See {@link ReplicationCoordinator#pause(Duration, String)}. */
	OperationReport pause(Duration maxPause, @Nullable String caller) {
		List<RegisteredParticipant> participants;
		RunningOperation operation;
		synchronized (this.ledger.monitor()) {
			this.ledger.checkIdle(Operation.PAUSE);
			if (this.ledger.state() != CoordinatorState.RUNNING) {
				throw this.ledger
					.conflict("A pause needs running replication, but the coordinator is " + this.ledger.state());
			}
			PausedWorkload current = this.ledger.paused();
			if (current != null) {
				throw this.ledger.conflict("The workload is already paused since " + current.since() + " (operation "
						+ current.operationId() + "); resume it before pausing again");
			}
			participants = this.ledger.started();
			operation = this.ledger.beginPhase(Operation.PAUSE, maxPause.plus(resumeBudget(participants)), caller);
		}
		this.ledger.announcer().announceStart();
		long sinceNanos = System.nanoTime();
		PhaseRun.Paused result = phases().pause(participants, maxPause);
		List<RegisteredParticipant> toResume = new ArrayList<>(result.called());
		Collections.reverse(toResume);
		PausedWorkload pause = new PausedWorkload(operation.id(), operation.startedAt(), sinceNanos, toResume,
				maxPause);
		if (!result.failed()) {
			OperationReport report = this.ledger.finishPhase(operation, caller, result.steps(), false, pause, null);
			watch(pause, maxPause.toNanos());
			return report;
		}
		List<StepReport> steps = new ArrayList<>(result.steps());
		steps.addAll(phases().resume(toResume));
		return this.ledger.finishPhase(operation, caller, steps, true, null, pausedMillis(pause));
	}

	/** See {@link ReplicationCoordinator#resume(String)}. */
	OperationReport resume(@Nullable String caller) {
		PausedWorkload pause;
		RunningOperation operation;
		synchronized (this.ledger.monitor()) {
			this.ledger.checkIdle(Operation.RESUME);
			pause = this.ledger.paused();
			if (pause == null) {
				return this.ledger.noop(Operation.RESUME, OperationFacts.checkpoint(this.ledger.mode()), caller);
			}
			operation = this.ledger.beginPhase(Operation.RESUME, resumeBudget(pause.participants()), caller);
		}
		return resume(pause, operation, caller);
	}

	/** Whether the workload is paused. */
	boolean paused() {
		synchronized (this.ledger.monitor()) {
			return this.ledger.paused() != null;
		}
	}

	/** A stop while paused resumes first, so that nothing stays held back. */
	void resumeBeforeStop(@Nullable String caller) {
		PausedWorkload pause;
		RunningOperation operation;
		synchronized (this.ledger.monitor()) {
			pause = this.ledger.paused();
			if (pause == null || this.ledger.running() != null) {
				return;
			}
			operation = this.ledger.beginPhase(Operation.RESUME, resumeBudget(pause.participants()), caller);
		}
		resume(pause, operation, caller);
	}

	private OperationReport resume(PausedWorkload pause, RunningOperation operation, @Nullable String caller) {
		this.ledger.announcer().announceStart();
		List<StepReport> steps = phases().resume(pause.participants());
		boolean failed = steps.stream().anyMatch((step) -> step.outcome().isFailure());
		return this.ledger.finishPhase(operation, caller, steps, failed, null, pausedMillis(pause));
	}

	private long pausedMillis(PausedWorkload pause) {
		long nanos = pause.pausedNanos();
		this.ledger.meters().paused(nanos);
		return TimeUnit.NANOSECONDS.toMillis(nanos);
	}

	/** Resumes by itself a pause that nobody resumed in time. */
	private void watch(PausedWorkload pause, long delayNanos) {
		Executor delayed = CompletableFuture.delayedExecutor(delayNanos, TimeUnit.NANOSECONDS, this.executor);
		delayed.execute(() -> {
			RunningOperation operation;
			synchronized (this.ledger.monitor()) {
				PausedWorkload current = this.ledger.paused();
				if (current == null || !current.operationId().equals(pause.operationId())) {
					return;
				}
				if (this.ledger.running() != null) {
					watch(pause, TimeUnit.MILLISECONDS.toNanos(WATCHDOG_RETRY_MILLIS));
					return;
				}
				operation = this.ledger.beginPhase(Operation.RESUME, resumeBudget(pause.participants()), "watchdog");
			}
			logger.warn("The workload was paused for " + OperationRun.describe(pause.maxPause())
					+ " (lockstep.pair.max-pause) without a resume; resuming it");
			resume(pause, operation, "watchdog");
		});
	}

	private Duration resumeBudget(List<RegisteredParticipant> participants) {
		Duration budget = OperationLedger.HARD_DEADLINE_MARGIN;
		for (RegisteredParticipant participant : participants) {
			budget = budget.plus(participant.timeout(this.callTimeout));
		}
		return budget;
	}

	private PhaseRun phases() {
		return new PhaseRun(this.executor, this.callTimeout, this.ledger.meters()::call);
	}

}
