package dev.lockstep.replication;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executor;

import io.micrometer.core.instrument.MeterRegistry;
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

	private final ParticipantRegistry registry;

	private final ErrorSweep errorSweep;

	private final CoordinatorProperties properties;

	private final Executor executor;

	private final @Nullable FailoverGuard failoverGuard;

	private final OperationLedger ledger;

	private final WorkloadPause pause;

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
		this.ledger = new OperationLedger(clock, properties, errorSweep, meterRegistry);
		this.pause = new WorkloadPause(this.ledger, executor, properties.callTimeout());
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
		synchronized (this.ledger.monitor()) {
			this.ledger.checkIdle(Operation.START);
			if (this.ledger.state() == CoordinatorState.RUNNING) {
				if (this.ledger.mode() == mode && options.discardLocalChanges()) {
					throw this.ledger
						.conflict("Replication is already running as " + mode + "; discardLocalChanges takes effect "
								+ "only when replication starts: stop it, then start again with discardLocalChanges");
				}
				if (this.ledger.mode() == mode) {
					return this.ledger.noop(Operation.START, facts, caller);
				}
				throw this.ledger.conflict("Replication is already running as " + this.ledger.mode()
						+ "; stop it before starting as " + mode);
			}
			if (this.ledger.state() == CoordinatorState.FAILED) {
				throw this.ledger
					.conflict("The last stop did not stop every participant; retry the stop before starting again");
			}
			plan = new OperationPlan.Start(this.registry.participants());
			operation = this.ledger.begin(Operation.START, plan, facts, caller);
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
		return this.ledger.finish(operation, facts, caller, steps, failed, next, plan);
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
		synchronized (this.ledger.monitor()) {
			this.ledger.checkIdle(Operation.CHECKPOINT);
			if (this.ledger.state() != CoordinatorState.RUNNING) {
				throw this.ledger
					.conflict("A checkpoint needs running replication, but the coordinator is " + this.ledger.state());
			}
			plan = new OperationPlan.Checkpoint(this.ledger.started());
			facts = OperationFacts.checkpoint(this.ledger.mode());
			operation = this.ledger.begin(Operation.CHECKPOINT, plan, facts, caller);
		}
		List<StepReport> steps = execute(plan, (participant, action) -> participant.checkpoint());
		return this.ledger.finish(operation, facts, caller, steps, plan.failed(), CoordinatorState.RUNNING, plan);
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
		this.pause.resumeBeforeStop(caller);
		FailoverCheck check = (failover && !force) ? checkFailover(caller) : null;
		String peerCheck = (check != null) ? check.describe() : null;
		OperationFacts facts = OperationFacts.stop(failover, force, peerCheck);
		OperationPlan.Stop plan;
		RunningOperation operation;
		synchronized (this.ledger.monitor()) {
			this.ledger.checkIdle(Operation.STOP);
			if (this.ledger.state() == CoordinatorState.IDLE) {
				return this.ledger.noop(Operation.STOP, facts, caller);
			}
			plan = new OperationPlan.Stop(this.ledger.started());
			operation = this.ledger.begin(Operation.STOP, plan, facts, caller);
		}
		List<StepReport> steps = execute(plan, (participant, action) -> participant.stop(failover));
		boolean failed = !plan.started.isEmpty();
		return this.ledger.finish(operation, facts, caller, steps, failed,
				failed ? CoordinatorState.FAILED : CoordinatorState.IDLE, plan);
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
		return this.pause.pause(maxPause, caller);
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
		return this.pause.resume(caller);
	}

	/**
	 * Returns whether the workload is paused.
	 */
	public boolean paused() {
		return this.pause.paused();
	}

	/**
	 * Asks the guard, outside the monitor (it may wait for the peer), whether a failover
	 * of this secondary may go ahead.
	 * @return the check, or {@code null} if none was needed
	 */
	private @Nullable FailoverCheck checkFailover(@Nullable String caller) {
		FailoverGuard guard = this.failoverGuard;
		synchronized (this.ledger.monitor()) {
			this.ledger.checkIdle(Operation.STOP);
			if (guard == null || this.ledger.state() == CoordinatorState.IDLE
					|| this.ledger.mode() != ReplicationMode.SECONDARY) {
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
		synchronized (this.ledger.monitor()) {
			startedNow = Set.copyOf(this.ledger.started());
			last = this.ledger.newest();
			currentState = this.ledger.state();
			currentMode = this.ledger.mode();
		}
		List<ParticipantStatus> participants = new ArrayList<>();
		for (RegisteredParticipant participant : this.registry.participants()) {
			participants.add(new ParticipantStatus(participant.name(), participant.order(), participant.kind(),
					startedNow.contains(participant), sweep.errorOf(participant.name()).orElse(null),
					details(participant)));
		}
		return new ReplicationStatus(currentState, currentMode, List.copyOf(participants), last, this.ledger.running());
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
		return this.ledger.state();
	}

	/**
	 * Returns the mode while running or failed, else empty.
	 */
	public Optional<ReplicationMode> mode() {
		return Optional.ofNullable(this.ledger.mode());
	}

	/**
	 * Returns the operation in progress, if any.
	 */
	public Optional<RunningOperation> runningOperation() {
		return Optional.ofNullable(this.ledger.running());
	}

	/**
	 * Returns up to {@code limit} of the most recent reports, newest first.
	 */
	public List<OperationReport> operations(int limit) {
		return this.ledger.operations(limit);
	}

	/**
	 * Returns the report with the given id, if it is still kept; for the operation in
	 * progress, the report so far, with outcome {@link OperationOutcome#RUNNING}.
	 */
	public Optional<OperationReport> operation(String id) {
		return this.ledger.operation(id);
	}

	/**
	 * Adds a listener that hears of every operation and state change from now on.
	 */
	public void addListener(OperationListener listener) {
		this.ledger.announcer().add(listener);
	}

	/**
	 * Removes a listener added before.
	 */
	public void removeListener(OperationListener listener) {
		this.ledger.announcer().remove(listener);
	}

	/**
	 * Returns the error sweep that health checks and status queries use.
	 */
	public ErrorSweep errorSweep() {
		return this.errorSweep;
	}

	/** Announces the operation begun last, then runs its plan. */
	private List<StepReport> execute(OperationPlan plan, OperationRun.Invoker invoker) {
		this.ledger.announcer().announceStart();
		return new OperationRun(plan, invoker, this.executor, this.properties.callTimeout(), this.ledger.meters()::call,
				this.ledger.announcer()::step)
			.run();
	}

}
