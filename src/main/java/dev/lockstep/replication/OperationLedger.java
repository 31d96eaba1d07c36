package dev.lockstep.replication;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import io.micrometer.core.instrument.MeterRegistry;
import org.jspecify.annotations.Nullable;

/**
 * What the coordinator knows of itself, and the bookkeeping of every operation: the state
 * and mode, the participants started, the pause in effect and the operation running, all
 * guarded by one monitor; and what happens when an operation begins and when it finishes
 * (its deadline, the announcement to listeners, the state it leaves, the history, the
 * meters and the log).
 * <p>
 * Methods documented as called with the monitor held must be; the others take it
 * themselves.
 */
final class OperationLedger {

	/** Added to the participants' own deadlines for an operation's hard deadline. */
	static final Duration HARD_DEADLINE_MARGIN = Duration.ofSeconds(5);

	private final Object monitor = new Object();

	private final Clock clock;

	private final CoordinatorProperties properties;

	private final ErrorSweep errorSweep;

	private final CoordinatorMeters meters;

	private final OperationAnnouncer announcer;

	private final OperationHistory history;

	/** Guarded by monitor: the participants started and not stopped since. */
	private List<RegisteredParticipant> started = List.of();

	/** Guarded by monitor: the pause in effect, if any. */
	private @Nullable PausedWorkload paused;

	private volatile CoordinatorState state = CoordinatorState.IDLE;

	private volatile @Nullable ReplicationMode mode;

	private volatile @Nullable RunningOperation running;

	OperationLedger(Clock clock, CoordinatorProperties properties, ErrorSweep errorSweep, MeterRegistry meterRegistry) {
		this.clock = clock;
		this.properties = properties;
		this.errorSweep = errorSweep;
		this.announcer = new OperationAnnouncer(clock);
		this.meters = new CoordinatorMeters(meterRegistry, () -> this.state);
		this.history = new OperationHistory(properties.history());
	}

	/** The monitor that guards the ledger and orders the operations' beginnings. */
	Object monitor() {
		return this.monitor;
	}

	CoordinatorState state() {
		return this.state;
	}

	@Nullable ReplicationMode mode() {
		return this.mode;
	}

	@Nullable RunningOperation running() {
		return this.running;
	}

	/** The participants started and not stopped since; called with the monitor held. */
	List<RegisteredParticipant> started() {
		return this.started;
	}

	/** The pause in effect, if any; called with the monitor held. */
	@Nullable PausedWorkload paused() {
		return this.paused;
	}

	CoordinatorMeters meters() {
		return this.meters;
	}

	OperationAnnouncer announcer() {
		return this.announcer;
	}

	/**
	 * Refuses an operation while another runs; called with the monitor held.
	 * @throws OperationConflictException if one runs
	 */
	void checkIdle(Operation requested) {
		RunningOperation current = this.running;
		if (current != null) {
			throw new OperationConflictException(
					"Cannot " + requested.value() + ": a " + current.operation().value() + " operation (" + current.id()
							+ ") is running since " + current.startedAt() + "; retry when it has finished",
					this.state, current.operation());
		}
	}

	/** A refusal for the coordinator's state, which the message explains. */
	OperationConflictException conflict(String message) {
		return new OperationConflictException(message, this.state, null);
	}

	/**
	 * Begins a lifecycle operation, whose hard deadline covers its plan's worst case;
	 * called with the monitor held.
	 */
	RunningOperation begin(Operation operation, OperationPlan plan, OperationFacts facts, @Nullable String caller) {
		Duration budget = this.properties.hardDeadline();
		if (budget == null) {
			budget = HARD_DEADLINE_MARGIN;
			for (OperationPlan.Call call : plan.worstCase()) {
				budget = budget.plus(call.participant().timeout(this.properties.callTimeout()));
			}
		}
		return begin(operation, budget, facts, caller);
	}

	/**
	 * Begins a pause or resume, which leaves the state and mode as they are; called with
	 * the monitor held.
	 */
	RunningOperation beginPhase(Operation operation, Duration budget, @Nullable String caller) {
		return begin(operation, budget, OperationFacts.checkpoint(this.mode), caller);
	}

	private RunningOperation begin(Operation operation, Duration budget, OperationFacts facts,
			@Nullable String caller) {
		Instant now = this.clock.instant();
		RunningOperation running = new RunningOperation(newId(), operation, now, now.plus(budget));
		this.running = running;
		this.announcer.begin(running, facts, caller, this.state);
		return running;
	}

	/**
	 * Finishes a lifecycle operation: records the participants it left started and the
	 * state it leads to, and reports it.
	 */
	OperationReport finish(RunningOperation operation, OperationFacts facts, @Nullable String caller,
			List<StepReport> steps, boolean failed, CoordinatorState next, OperationPlan plan) {
		long nanos = Math.max(0, Duration.between(operation.startedAt(), this.clock.instant()).toNanos());
		OperationOutcome outcome = failed ? OperationOutcome.FAILED : OperationOutcome.SUCCEEDED;
		ReplicationMode mode = facts.mode();
		OperationReport report = new OperationReport(operation.id(), operation.operation(), mode, facts.failover(),
				outcome, next, caller, operation.startedAt(), TimeUnit.NANOSECONDS.toMillis(nanos), steps,
				facts.forced(), facts.peerCheck(), facts.discardLocalChanges());
		CoordinatorState previous;
		synchronized (this.monitor) {
			previous = this.state;
			this.started = plan.startedInOrder();
			this.state = next;
			if (next == CoordinatorState.IDLE) {
				this.mode = null;
			}
			else if (mode != null) {
				this.mode = mode;
			}
			this.history.add(report);
			this.running = null;
		}
		return finished(report, nanos, previous);
	}

	/**
	 * Finishes a pause or resume: records the pause in effect afterwards, if any, and
	 * reports it.
	 */
	OperationReport finishPhase(RunningOperation operation, @Nullable String caller, List<StepReport> steps,
			boolean failed, @Nullable PausedWorkload pause, @Nullable Long pausedMillis) {
		long nanos = Math.max(0, Duration.between(operation.startedAt(), this.clock.instant()).toNanos());
		OperationOutcome outcome = failed ? OperationOutcome.FAILED : OperationOutcome.SUCCEEDED;
		OperationReport report;
		synchronized (this.monitor) {
			report = new OperationReport(operation.id(), operation.operation(), this.mode, null, outcome, this.state,
					caller, operation.startedAt(), TimeUnit.NANOSECONDS.toMillis(nanos), steps, null, null, null,
					pausedMillis);
			this.paused = pause;
			this.history.add(report);
			this.running = null;
		}
		return finished(report, nanos, report.state());
	}

	private OperationReport finished(OperationReport report, long nanos, CoordinatorState previous) {
		this.errorSweep.invalidate();
		this.meters.operation(report.operation(), report.outcome(), nanos);
		OperationLog.operation(report);
		this.announcer.finished(report, previous);
		return report;
	}

	/**
	 * Reports an operation that had nothing to do; called with the monitor held.
	 */
	OperationReport noop(Operation operation, OperationFacts facts, @Nullable String caller) {
		OperationReport report = new OperationReport(newId(), operation, facts.mode(), facts.failover(),
				OperationOutcome.NOOP, this.state, caller, this.clock.instant(), 0, List.of(), facts.forced(),
				facts.peerCheck(), facts.discardLocalChanges());
		this.history.add(report);
		this.meters.operation(operation, OperationOutcome.NOOP, 0);
		OperationLog.operation(report);
		return report;
	}

	/** The most recent reports, newest first. */
	List<OperationReport> operations(int limit) {
		return this.history.newest(limit);
	}

	/** The newest report; called with the monitor held. */
	@Nullable OperationReport newest() {
		return this.history.newest();
	}

	/** A kept report, or the report so far of the operation in progress. */
	Optional<OperationReport> operation(String id) {
		Optional<OperationReport> kept = this.history.find(id);
		return kept.isPresent() ? kept : this.announcer.running(id);
	}

	/**
	 * A random version-4 UUID from a fast generator: operation ids must be unique, not
	 * unguessable, and a checkpoint should not wait on the system's entropy.
	 */
	private static String newId() {
		ThreadLocalRandom random = ThreadLocalRandom.current();
		long most = (random.nextLong() & ~0xF000L) | 0x4000L;
		long least = (random.nextLong() & ~0xC000000000000000L) | 0x8000000000000000L;
		return new UUID(most, least).toString();
	}

}
