package dev.lockstep.replication;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import io.micrometer.core.instrument.MeterRegistry;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

/**
 * Runs each lifecycle operation across every registered participant, one operation at a
 * time.
 * <ul>
 * <li>{@code start} visits participants in ascending order and fails fast, stopping the
 * participants it already started in reverse order.</li>
 * <li>{@code checkpoint} visits the started participants in ascending order and fails
 * fast; replication stays running.</li>
 * <li>{@code stop} visits the started participants in descending order and goes on
 * through failures; if any participant could not be stopped the coordinator is
 * {@link CoordinatorState#FAILED} and a later stop retries only those.</li>
 * <li>{@code pause} and {@code resume} bracket checkpoints with the workload paused; see
 * {@link #pause(Duration, String)}.</li>
 * </ul>
 * Every participant call has a deadline (see {@link OperationRun}). A lifecycle call that
 * arrives while another runs is refused at once; status and error queries always answer.
 */
public final class ReplicationCoordinator {

	private static final Duration HARD_DEADLINE_MARGIN = Duration.ofSeconds(5);

	/** How soon the watchdog looks again when another operation runs at its deadline. */
	private static final long WATCHDOG_RETRY_MILLIS = 10;

	private static final Log logger = LogFactory.getLog(ReplicationCoordinator.class);

	private final ParticipantRegistry registry;

	private final ErrorSweep errorSweep;

	private final CoordinatorProperties properties;

	private final Executor executor;

	private final Clock clock;

	private final @Nullable FailoverGuard failoverGuard;

	private final CoordinatorMeters meters;

	private final Object monitor = new Object();

	private final OperationAnnouncer announcer;

	private final OperationHistory history;

	/** Guarded by monitor: the participants started and not stopped since. */
	private List<RegisteredParticipant> started = List.of();

	/** Guarded by monitor: the pause in effect, if any. */
	private @Nullable PausedWorkload paused;

	private volatile CoordinatorState state = CoordinatorState.IDLE;

	private volatile @Nullable ReplicationMode mode;

	private volatile @Nullable RunningOperation running;

	public ReplicationCoordinator(ParticipantRegistry registry, ErrorSweep errorSweep, CoordinatorProperties properties,
			Executor executor, MeterRegistry meterRegistry, Clock clock) {
		this(registry, errorSweep, properties, executor, meterRegistry, clock, null);
	}

	/**
	 * Creates a coordinator that consults a guard before a failover stop on a secondary.
	 */
	public ReplicationCoordinator(ParticipantRegistry registry, ErrorSweep errorSweep, CoordinatorProperties properties,
			Executor executor, MeterRegistry meterRegistry, Clock clock, @Nullable FailoverGuard failoverGuard) {
		this.failoverGuard = failoverGuard;
		this.registry = registry;
		this.errorSweep = errorSweep;
		this.properties = properties;
		this.executor = executor;
		this.clock = clock;
		this.announcer = new OperationAnnouncer(clock);
		this.meters = new CoordinatorMeters(meterRegistry, () -> this.state);
		this.history = new OperationHistory(properties.history());
	}

	/**
	 * Starts every participant in the given mode.
	 * @param mode the role of this node
	 * @param caller who asks, for the report and the audit log; may be {@code null}
	 * @return the report; its outcome is {@code noop} if already running in this mode
	 * @throws OperationConflictException if running in the other mode, failed, or busy
	 * with another operation
	 */
	public OperationReport start(ReplicationMode mode, @Nullable String caller) {
		return start(mode, StartOptions.NONE, caller);
	}

	/**
	 * Starts every participant in the given mode, with options.
	 * @param mode the role of this node
	 * @param options what the start asks for beyond its mode
	 * @param caller who asks, for the report and the audit log; may be {@code null}
	 * @return the report; its outcome is {@code noop} if already running in this mode and
	 * nothing else is asked
	 * @throws OperationConflictException if running in the other mode or with other
	 * options, failed, or busy with another operation
	 */
	public OperationReport start(ReplicationMode mode, StartOptions options, @Nullable String caller) {
		OperationPlan.Start plan;
		RunningOperation operation;
		OperationFacts facts = OperationFacts.start(mode, options);
		synchronized (this.monitor) {
			checkIdle(Operation.START);
			if (this.state == CoordinatorState.RUNNING) {
				if (this.mode == mode && options.discardLocalChanges()) {
					throw conflict("Replication is already running as " + mode + "; discardLocalChanges takes effect "
							+ "only when replication starts: stop it, then start again with discardLocalChanges");
				}
				if (this.mode == mode) {
					return noop(Operation.START, facts, caller);
				}
				throw conflict(
						"Replication is already running as " + this.mode + "; stop it before starting as " + mode);
			}
			if (this.state == CoordinatorState.FAILED) {
				throw conflict("The last stop did not stop every participant; retry the stop before starting again");
			}
			plan = new OperationPlan.Start(this.registry.participants());
			operation = begin(Operation.START, plan, facts, caller);
		}
		List<StepReport> steps = execute(plan, (participant, action) -> {
			if (action == StepAction.START) {
				participant.start(mode, options);
			}
			else {
				participant.stop(false);
			}
		});
		boolean failed = plan.failed();
		CoordinatorState next = failed ? (plan.started.isEmpty() ? CoordinatorState.IDLE : CoordinatorState.FAILED)
				: CoordinatorState.RUNNING;
		return finish(operation, facts, caller, steps, failed, next, plan);
	}

	/**
	 * Takes a checkpoint on every started participant.
	 * @param caller who asks; may be {@code null}
	 * @return the report
	 * @throws OperationConflictException if not running, or busy with another operation
	 */
	public OperationReport checkpoint(@Nullable String caller) {
		OperationPlan.Checkpoint plan;
		RunningOperation operation;
		OperationFacts facts;
		synchronized (this.monitor) {
			checkIdle(Operation.CHECKPOINT);
			if (this.state != CoordinatorState.RUNNING) {
				throw conflict("A checkpoint needs running replication, but the coordinator is " + this.state);
			}
			plan = new OperationPlan.Checkpoint(this.started);
			facts = OperationFacts.checkpoint(this.mode);
			operation = begin(Operation.CHECKPOINT, plan, facts, caller);
		}
		List<StepReport> steps = execute(plan, (participant, action) -> participant.checkpoint());
		return finish(operation, facts, caller, steps, plan.failed(), CoordinatorState.RUNNING, plan);
	}

	/**
	 * Stops every started participant.
	 * @param failover whether this node takes over from a failed peer
	 * @param caller who asks; may be {@code null}
	 * @return the report; its outcome is {@code noop} if already idle
	 * @throws OperationConflictException if busy with another operation
	 */
	public OperationReport stop(boolean failover, @Nullable String caller) {
		return stop(failover, false, caller);
	}

	/**
	 * Stops every started participant. A failover on a node running as secondary first
	 * consults the {@link FailoverGuard}, if there is one, unless it is forced.
	 * @param failover whether this node takes over from a failed peer
	 * @param force whether a failover skips the guard
	 * @param caller who asks; may be {@code null}
	 * @return the report; its outcome is {@code noop} if already idle
	 * @throws OperationConflictException if busy with another operation
	 * @throws FailoverRefusedException if the guard refuses the failover; no participant
	 * was called
	 */
	public OperationReport stop(boolean failover, boolean force, @Nullable String caller) {
		resumeBeforeStop(caller);
		FailoverCheck check = (failover && !force) ? checkFailover(caller) : null;
		String peerCheck = (check != null) ? check.describe() : null;
		OperationFacts facts = OperationFacts.stop(failover, force, peerCheck);
		OperationPlan.Stop plan;
		RunningOperation operation;
		synchronized (this.monitor) {
			checkIdle(Operation.STOP);
			if (this.state == CoordinatorState.IDLE) {
				return noop(Operation.STOP, facts, caller);
			}
			plan = new OperationPlan.Stop(this.started);
			operation = begin(Operation.STOP, plan, facts, caller);
		}
		List<StepReport> steps = execute(plan, (participant, action) -> participant.stop(failover));
		boolean failed = !plan.started.isEmpty();
		return finish(operation, facts, caller, steps, failed, failed ? CoordinatorState.FAILED : CoordinatorState.IDLE,
				plan);
	}

	/**
	 * Pauses the workload of every started participant in ascending order (see
	 * {@link ReplicationParticipant#pause()}), all within {@code maxPause}. The workload
	 * stays paused, checkpoints allowed, until {@link #resume(String)}, a stop, or the
	 * watchdog, which resumes it once {@code maxPause} has passed and no other operation
	 * runs. On failure or past the deadline, what was paused is resumed at once; the
	 * report names the participant that failed or held the pause up.
	 * @param maxPause how long the pause may take and the workload may stay paused
	 * @param caller who asks; may be {@code null}
	 * @return the report, with the paused time on failure
	 * @throws OperationConflictException if not running, paused already, or busy
	 */
	public OperationReport pause(Duration maxPause, @Nullable String caller) {
		List<RegisteredParticipant> participants;
		RunningOperation operation;
		synchronized (this.monitor) {
			checkIdle(Operation.PAUSE);
			if (this.state != CoordinatorState.RUNNING) {
				throw conflict("A pause needs running replication, but the coordinator is " + this.state);
			}
			PausedWorkload current = this.paused;
			if (current != null) {
				throw conflict("The workload is already paused since " + current.since() + " (operation "
						+ current.operationId() + "); resume it before pausing again");
			}
			participants = this.started;
			operation = beginPhase(Operation.PAUSE, maxPause.plus(resumeBudget(participants)), caller);
		}
		this.announcer.announceStart();
		long sinceNanos = System.nanoTime();
		PhaseRun.Paused result = phases().pause(participants, maxPause);
		List<RegisteredParticipant> toResume = new ArrayList<>(result.called());
		Collections.reverse(toResume);
		PausedWorkload pause = new PausedWorkload(operation.id(), operation.startedAt(), sinceNanos, toResume,
				maxPause);
		if (!result.failed()) {
			OperationReport report = finishPhase(operation, caller, result.steps(), false, pause, null);
			watch(pause, maxPause.toNanos());
			return report;
		}
		List<StepReport> steps = new ArrayList<>(result.steps());
		steps.addAll(phases().resume(toResume));
		return finishPhase(operation, caller, steps, true, null, paused(pause));
	}

	/**
	 * Resumes the workload after {@link #pause(Duration, String)}: every participant
	 * whose pause was called, in descending order, going on through failures. The pause
	 * is over afterwards even if a resume failed; the report names that participant.
	 * @param caller who asks; may be {@code null}
	 * @return the report, with the paused time; its outcome is {@code noop} if nothing is
	 * paused
	 * @throws OperationConflictException if busy with another operation
	 */
	public OperationReport resume(@Nullable String caller) {
		PausedWorkload pause;
		RunningOperation operation;
		synchronized (this.monitor) {
			checkIdle(Operation.RESUME);
			pause = this.paused;
			if (pause == null) {
				return noop(Operation.RESUME, OperationFacts.checkpoint(this.mode), caller);
			}
			operation = beginPhase(Operation.RESUME, resumeBudget(pause.participants()), caller);
		}
		return resume(pause, operation, caller);
	}

	/**
	 * Returns whether the workload is paused.
	 */
	public boolean paused() {
		synchronized (this.monitor) {
			return this.paused != null;
		}
	}

	private OperationReport resume(PausedWorkload pause, RunningOperation operation, @Nullable String caller) {
		this.announcer.announceStart();
		List<StepReport> steps = phases().resume(pause.participants());
		boolean failed = steps.stream().anyMatch((step) -> step.outcome().isFailure());
		return finishPhase(operation, caller, steps, failed, null, paused(pause));
	}

	private long paused(PausedWorkload pause) {
		long nanos = pause.pausedNanos();
		this.meters.paused(nanos);
		return TimeUnit.NANOSECONDS.toMillis(nanos);
	}

	/** A stop while paused resumes first, so that nothing stays held back. */
	private void resumeBeforeStop(@Nullable String caller) {
		PausedWorkload pause;
		RunningOperation operation;
		synchronized (this.monitor) {
			pause = this.paused;
			if (pause == null || this.running != null) {
				return;
			}
			operation = beginPhase(Operation.RESUME, resumeBudget(pause.participants()), caller);
		}
		resume(pause, operation, caller);
	}

	/** Resumes by itself a pause that nobody resumed in time. */
	private void watch(PausedWorkload pause, long delayNanos) {
		Executor delayed = CompletableFuture.delayedExecutor(delayNanos, TimeUnit.NANOSECONDS, this.executor);
		delayed.execute(() -> {
			RunningOperation operation;
			synchronized (this.monitor) {
				PausedWorkload current = this.paused;
				if (current == null || !current.operationId().equals(pause.operationId())) {
					return;
				}
				if (this.running != null) {
					watch(pause, TimeUnit.MILLISECONDS.toNanos(WATCHDOG_RETRY_MILLIS));
					return;
				}
				operation = beginPhase(Operation.RESUME, resumeBudget(pause.participants()), "watchdog");
			}
			logger.warn("The workload was paused for " + OperationRun.describe(pause.maxPause())
					+ " (lockstep.pair.max-pause) without a resume; resuming it");
			resume(pause, operation, "watchdog");
		});
	}

	private Duration resumeBudget(List<RegisteredParticipant> participants) {
		Duration budget = HARD_DEADLINE_MARGIN;
		for (RegisteredParticipant participant : participants) {
			budget = budget.plus(participant.timeout(this.properties.callTimeout()));
		}
		return budget;
	}

	private PhaseRun phases() {
		return new PhaseRun(this.executor, this.properties.callTimeout(), this.meters::call);
	}

	/** Called with the monitor held. */
	private RunningOperation beginPhase(Operation operation, Duration budget, @Nullable String caller) {
		Instant now = this.clock.instant();
		RunningOperation running = new RunningOperation(newId(), operation, now, now.plus(budget));
		this.running = running;
		this.announcer.begin(running, OperationFacts.checkpoint(this.mode), caller, this.state);
		return running;
	}

	private OperationReport finishPhase(RunningOperation operation, @Nullable String caller, List<StepReport> steps,
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
		this.errorSweep.invalidate();
		this.meters.operation(operation.operation(), outcome, nanos);
		OperationLog.operation(report);
		this.announcer.finished(report, report.state());
		return report;
	}

	/**
	 * Asks the guard, outside the monitor (it may wait for the peer), whether a failover
	 * of this secondary may go ahead.
	 * @return the check, or {@code null} if none was needed
	 */
	private @Nullable FailoverCheck checkFailover(@Nullable String caller) {
		FailoverGuard guard = this.failoverGuard;
		synchronized (this.monitor) {
			checkIdle(Operation.STOP);
			if (guard == null || this.state == CoordinatorState.IDLE || this.mode != ReplicationMode.SECONDARY) {
				return null;
			}
		}
		FailoverCheck check = guard.check();
		if (check.refused()) {
			OperationLog.failoverRefused(caller, check);
			throw new FailoverRefusedException(check);
		}
		OperationLog.failoverGoesAhead(caller, check);
		return check;
	}

	/**
	 * Returns a snapshot of the coordinator and its participants. Never waits for a
	 * running operation; may wait up to the error deadline for a fresh sweep.
	 */
	public ReplicationStatus status() {
		SweepResult sweep = this.errorSweep.sweep();
		Set<RegisteredParticipant> startedNow;
		OperationReport last;
		CoordinatorState currentState;
		ReplicationMode currentMode;
		synchronized (this.monitor) {
			startedNow = Set.copyOf(this.started);
			last = this.history.newest();
			currentState = this.state;
			currentMode = this.mode;
		}
		List<ParticipantStatus> participants = new ArrayList<>();
		for (RegisteredParticipant participant : this.registry.participants()) {
			participants.add(new ParticipantStatus(participant.name(), participant.order(), participant.kind(),
					startedNow.contains(participant), sweep.errorOf(participant.name()).orElse(null),
					details(participant)));
		}
		return new ReplicationStatus(currentState, currentMode, List.copyOf(participants), last, this.running);
	}

	private static Map<String, Object> details(RegisteredParticipant participant) {
		try {
			Map<String, Object> details = participant.participant().details();
			return (details != null) ? details : Map.of();
		}
		catch (RuntimeException ex) {
			return Map.of("detailsError", OperationRun.message(ex));
		}
	}

	/**
	 * Returns the coordinator's lifecycle state.
	 */
	public CoordinatorState state() {
		return this.state;
	}

	/**
	 * Returns the mode while running or failed, else empty.
	 */
	public Optional<ReplicationMode> mode() {
		return Optional.ofNullable(this.mode);
	}

	/**
	 * Returns the operation in progress, if any.
	 */
	public Optional<RunningOperation> runningOperation() {
		return Optional.ofNullable(this.running);
	}

	/**
	 * Returns up to {@code limit} of the most recent reports, newest first.
	 */
	public List<OperationReport> operations(int limit) {
		return this.history.newest(limit);
	}

	/**
	 * Returns the report with the given id, if it is still kept; for the operation in
	 * progress, the report so far, with outcome {@link OperationOutcome#RUNNING}.
	 */
	public Optional<OperationReport> operation(String id) {
		Optional<OperationReport> kept = this.history.find(id);
		return kept.isPresent() ? kept : this.announcer.running(id);
	}

	/**
	 * Adds a listener that hears of every operation and state change from now on.
	 */
	public void addListener(OperationListener listener) {
		this.announcer.add(listener);
	}

	/**
	 * Removes a listener added before.
	 */
	public void removeListener(OperationListener listener) {
		this.announcer.remove(listener);
	}

	/**
	 * Returns the error sweep that health checks and status queries use.
	 */
	public ErrorSweep errorSweep() {
		return this.errorSweep;
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

	private void checkIdle(Operation requested) {
		RunningOperation current = this.running;
		if (current != null) {
			throw new OperationConflictException(
					"Cannot " + requested.value() + ": a " + current.operation().value() + " operation (" + current.id()
							+ ") is running since " + current.startedAt() + "; retry when it has finished",
					this.state, current.operation());
		}
	}

	private OperationConflictException conflict(String message) {
		return new OperationConflictException(message, this.state, null);
	}

	/** Called with the monitor held. */
	private RunningOperation begin(Operation operation, OperationPlan plan, OperationFacts facts,
			@Nullable String caller) {
		Instant now = this.clock.instant();
		Duration budget = this.properties.hardDeadline();
		if (budget == null) {
			budget = HARD_DEADLINE_MARGIN;
			for (OperationPlan.Call call : plan.worstCase()) {
				budget = budget.plus(call.participant().timeout(this.properties.callTimeout()));
			}
		}
		RunningOperation running = new RunningOperation(newId(), operation, now, now.plus(budget));
		this.running = running;
		this.announcer.begin(running, facts, caller, this.state);
		return running;
	}

	/** Announces the operation begun last, then runs its plan. */
	private List<StepReport> execute(OperationPlan plan, OperationRun.Invoker invoker) {
		this.announcer.announceStart();
		return new OperationRun(plan, invoker, this.executor, this.properties.callTimeout(), this.meters::call,
				this.announcer::step)
			.run();
	}

	private OperationReport finish(RunningOperation operation, OperationFacts facts, @Nullable String caller,
			List<StepReport> steps, boolean failed, CoordinatorState next, OperationPlan plan) {
		long nanos = Duration.between(operation.startedAt(), this.clock.instant()).toNanos();
		OperationOutcome outcome = failed ? OperationOutcome.FAILED : OperationOutcome.SUCCEEDED;
		ReplicationMode mode = facts.mode();
		OperationReport report = new OperationReport(operation.id(), operation.operation(), mode, facts.failover(),
				outcome, next, caller, operation.startedAt(), TimeUnit.NANOSECONDS.toMillis(Math.max(0, nanos)), steps,
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
		this.errorSweep.invalidate();
		this.meters.operation(operation.operation(), outcome, nanos);
		OperationLog.operation(report);
		this.announcer.finished(report, previous);
		return report;
	}

	private OperationReport noop(Operation operation, OperationFacts facts, @Nullable String caller) {
		OperationReport report = new OperationReport(newId(), operation, facts.mode(), facts.failover(),
				OperationOutcome.NOOP, this.state, caller, this.clock.instant(), 0, List.of(), facts.forced(),
				facts.peerCheck(), facts.discardLocalChanges());
		this.history.add(report);
		this.meters.operation(operation, OperationOutcome.NOOP, 0);
		OperationLog.operation(report);
		return report;
	}

}
