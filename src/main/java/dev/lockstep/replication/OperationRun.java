package dev.lockstep.replication;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

import dev.lockstep.replication.OperationPlan.Call;
import org.jspecify.annotations.Nullable;

/**
 * Drives one {@link OperationPlan} to its end under per-call deadlines.
 * <p>
 * Participant calls run one after another on a worker thread, inline, so that a healthy
 * call costs little more than the call itself. The thread that asked for the operation
 * supervises: when a call overruns its deadline it records the call as {@code timed_out},
 * interrupts and abandons the worker, and lets a fresh worker carry on with the rest of
 * the plan. The abandoned worker's late result is dropped, and is not counted again. The
 * supervisor yields for a few tens of microseconds before it sleeps, so that a plan of
 * quick calls does not pay for waking it. A participant is never called concurrently:
 * each call first enters the participant's lane, which a hung call still holds.
 * <p>
 * An interrupt of the supervising thread gives up the current call the same way, as
 * {@code timed_out} because it may still take effect, and the plan goes on from there: a
 * start compensates, a checkpoint stops. The run then returns with the thread's interrupt
 * status set again.
 */
final class OperationRun {

	/**
	 * The longest the supervisor sleeps before it looks at the current deadline again.
	 */
	private static final long POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(20);

	/**
	 * How long the supervisor yields for a plan to finish before it sleeps: long enough
	 * for a worker to make a handful of quick calls, so that a fast checkpoint costs the
	 * supervisor no sleep and wake-up; short enough to waste little when it does not.
	 */
	private static final long SPIN_NANOS = TimeUnit.MICROSECONDS.toNanos(50);

	private static final String INTERRUPTED = "the operation was interrupted";

	private final OperationPlan plan;

	private final Executor executor;

	private final Duration defaultTimeout;

	private final Invoker invoker;

	private final CallListener listener;

	private final Consumer<StepReport> stepListener;

	private final ReentrantLock lock = new ReentrantLock();

	private final Condition finished = this.lock.newCondition();

	private final List<StepReport> steps = new ArrayList<>();

	/** Guarded by lock: which worker owns the plan. */
	private int generation;

	/** Guarded by lock: the call in progress, {@code null} between two calls. */
	private @Nullable Call current;

	/** Guarded by lock: the worker making the current call. */
	private @Nullable Thread currentThread;

	/** Guarded by lock. */
	private long currentStart;

	/** Guarded by lock. */
	private long currentDeadline = Long.MAX_VALUE;

	/**
	 * Guarded by lock: set when the supervisor was interrupted and no call was in
	 * progress; the next call is then not made.
	 */
	private boolean interruptPending;

	/** Written under lock; read without it while the supervisor spins. */
	private volatile boolean done;

	/** Set while the worker waits for a participant whose earlier call still runs. */
	private volatile boolean waitingForLane;

	OperationRun(OperationPlan plan, Invoker invoker, Executor executor, Duration defaultTimeout,
			CallListener listener) {
		this(plan, invoker, executor, defaultTimeout, listener, (step) -> {
		});
	}

	/**
	 * Creates a run that also hands each step to {@code stepListener} as soon as it is
	 * accepted, in call order; the listener must return quickly.
	 */
	OperationRun(OperationPlan plan, Invoker invoker, Executor executor, Duration defaultTimeout, CallListener listener,
			Consumer<StepReport> stepListener) {
		this.stepListener = stepListener;
		this.plan = plan;
		this.invoker = invoker;
		this.executor = executor;
		this.defaultTimeout = defaultTimeout;
		this.listener = listener;
	}

	/**
	 * Runs the plan and returns the steps it took. If the calling thread is interrupted,
	 * the call in progress is given up and the plan goes on as after a failed call; the
	 * thread's interrupt status is set again on return.
	 */
	List<StepReport> run() {
		boolean interrupted = false;
		this.lock.lock();
		try {
			launch(null);
		}
		finally {
			this.lock.unlock();
		}
		yieldUntilDone();
		this.lock.lock();
		try {
			while (!this.done) {
				long now = System.nanoTime();
				long remaining = this.currentDeadline - now;
				Call call = this.current;
				try {
					if (remaining > 0 || call == null) {
						this.finished.awaitNanos(Math.min(remaining, POLL_NANOS));
					}
					else {
						abandon(call, now, null);
					}
				}
				catch (InterruptedException ex) {
					interrupted = true;
					call = this.current;
					if (call != null) {
						abandon(call, System.nanoTime(), INTERRUPTED);
					}
					else {
						this.interruptPending = true;
					}
				}
			}
			return List.copyOf(this.steps);
		}
		finally {
			this.lock.unlock();
			if (interrupted) {
				Thread.currentThread().interrupt();
			}
		}
	}

	/**
	 * Waits a moment for the plan to finish without sleeping, yielding the processor
	 * rather than spinning on it, so that a worker woken on this thread's processor runs
	 * at once; a plan of quick calls then hands its result back without a sleep and
	 * wake-up of this thread. Returns early on an interrupt, which {@link #run()} then
	 * handles.
	 */
	@SuppressWarnings("ThreadPriorityCheck") // measured: yielding beats both spinning and
												// sleeping
	private void yieldUntilDone() {
		long end = System.nanoTime() + SPIN_NANOS;
		while (!this.done && end - System.nanoTime() > 0 && !Thread.currentThread().isInterrupted()) {
			Thread.yield();
		}
	}

	/**
	 * Gives up the current call, counts it as timed out, and hands the rest of the plan
	 * to a new worker; called with the lock held.
	 * @param call the call in progress
	 * @param now when it is given up
	 * @param reason why the call is given up, or {@code null} when it overran its
	 * deadline
	 */
	private void abandon(Call call, long now, @Nullable String reason) {
		this.generation++;
		Thread thread = this.currentThread;
		if (thread != null) {
			thread.interrupt();
		}
		long elapsed = now - this.currentStart;
		String error = (reason != null) ? reason + " after " + TimeUnit.NANOSECONDS.toMillis(elapsed) + "ms"
				: "did not return within " + describe(call.participant().timeout(this.defaultTimeout));
		StepReport timedOut = new StepReport(call.participant().name(), call.action(), StepOutcome.TIMED_OUT,
				TimeUnit.NANOSECONDS.toMillis(elapsed),
				error + (this.waitingForLane ? ": its previous call is still running" : ""));
		this.listener.called(call.participant(), call.action(), StepOutcome.TIMED_OUT, elapsed);
		launch(timedOut);
	}

	/** Hands the plan to a new worker; called with the lock held. */
	private void launch(@Nullable StepReport previous) {
		int owner = this.generation;
		this.current = null;
		this.currentThread = null;
		this.currentDeadline = Long.MAX_VALUE;
		this.executor.execute(() -> work(owner, previous));
	}

	/**
	 * Makes the plan's calls until it is complete or this worker is abandoned.
	 * @param owner the generation this worker belongs to
	 * @param abandoned the report of the call abandoned before this worker took over,
	 * already counted
	 */
	private void work(int owner, @Nullable StepReport abandoned) {
		StepReport last = abandoned;
		Ended ended = null;
		while (true) {
			Call call;
			long start;
			long deadline;
			this.lock.lock();
			try {
				if (owner != this.generation) {
					// Given up: the supervisor counted and reported this call already
					return;
				}
				if (ended != null) {
					this.listener.called(ended.call().participant(), ended.call().action(), ended.report().outcome(),
							ended.nanos());
					last = ended.report();
					ended = null;
				}
				if (last != null) {
					this.steps.add(last);
					this.stepListener.accept(last);
				}
				call = this.plan.next(last);
				if (call == null) {
					this.done = true;
					this.finished.signalAll();
					return;
				}
				if (this.interruptPending) {
					this.interruptPending = false;
					ended = new Ended(call, new StepReport(call.participant().name(), call.action(), StepOutcome.FAILED,
							0, "not called: " + INTERRUPTED), 0);
					continue;
				}
				this.current = call;
				this.waitingForLane = false;
				this.currentThread = Thread.currentThread();
				start = System.nanoTime();
				this.currentStart = start;
				deadline = start + call.participant().timeout(this.defaultTimeout).toNanos();
				this.currentDeadline = deadline;
			}
			finally {
				this.lock.unlock();
			}
			ended = call(call, start, deadline);
		}
	}

	private Ended call(Call call, long start, long deadline) {
		RegisteredParticipant participant = call.participant();
		StepOutcome outcome;
		String error = null;
		if (!participant.isRegistered()) {
			outcome = StepOutcome.SKIPPED;
			error = "unregistered while the operation ran";
		}
		else {
			try {
				this.waitingForLane = true;
				boolean entered = participant.enterLane(deadline - System.nanoTime());
				// Cleared only once the call really runs: when the wait for the lane ends
				// at the deadline, the coordinator may abandon this call at the same
				// moment, and its report must still say why the participant was not
				// called.
				if (entered) {
					this.waitingForLane = false;
					try {
						this.invoker.invoke(participant.participant(), call.action());
					}
					finally {
						participant.leaveLane();
					}
					outcome = (System.nanoTime() - deadline > 0) ? StepOutcome.TIMED_OUT : StepOutcome.SUCCEEDED;
				}
				else {
					outcome = StepOutcome.TIMED_OUT;
					error = "its previous call is still running";
				}
			}
			catch (InterruptedException ex) {
				outcome = StepOutcome.TIMED_OUT;
				error = "interrupted";
			}
			catch (Throwable ex) {
				outcome = StepOutcome.FAILED;
				error = message(ex);
			}
			if (outcome == StepOutcome.TIMED_OUT && error == null) {
				error = "returned after its deadline of " + describe(participant.timeout(this.defaultTimeout));
			}
		}
		long elapsed = System.nanoTime() - start;
		return new Ended(call, new StepReport(participant.name(), call.action(), outcome,
				TimeUnit.NANOSECONDS.toMillis(elapsed), error), elapsed);
	}

	static String message(Throwable ex) {
		String message = ex.getMessage();
		if (message == null || message.isBlank()) {
			return ex.getClass().getSimpleName();
		}
		return message;
	}

	static String describe(Duration duration) {
		return (duration.toMillis() % 1000 == 0) ? duration.toSeconds() + "s" : duration.toMillis() + "ms";
	}

	/**
	 * Makes one participant call.
	 */
	@FunctionalInterface
	interface Invoker {

		void invoke(ReplicationParticipant participant, StepAction action) throws Exception;

	}

	/**
	 * Receives every participant call's outcome, for metrics: once per call, however it
	 * ends.
	 */
	@FunctionalInterface
	interface CallListener {

		void called(RegisteredParticipant participant, StepAction action, StepOutcome outcome, long nanos);

	}

	/**
	 * A call that returned, before its worker accepts it as a step.
	 */
	private record Ended(Call call, StepReport report, long nanos) {
	}

}
