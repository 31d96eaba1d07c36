package dev.lockstep.replication;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

import dev.lockstep.replication.OperationPlan.Call;

/**
 * Drives one {@link OperationPlan} to its end under per-call deadlines.
 * <p>
 * Participant calls run one after another on a worker thread, inline, so that a healthy
 * call costs little more than the call itself. The thread that asked for the operation
 * supervises: when a call overruns its deadline it records the call as {@code timed_out},
 * interrupts and abandons the worker, and lets a fresh worker carry on with the rest of
 * the plan. The abandoned worker's late result is dropped. A participant is never called
 * concurrently: each call first enters the participant's lane, which a hung call still
 * holds.
 */
final class OperationRun {

	/**
	 * The longest the supervisor sleeps before it looks at the current deadline again.
	 */
	private static final long POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(20);

	private final OperationPlan plan;

	private final Executor executor;

	private final Duration defaultTimeout;

	private final Invoker invoker;

	private final CallListener listener;

	private final ReentrantLock lock = new ReentrantLock();

	private final Condition finished = this.lock.newCondition();

	private final List<StepReport> steps = new ArrayList<>();

	/** Guarded by lock: which worker owns the plan. */
	private int generation;

	private Call current;

	private Thread currentThread;

	private long currentStart;

	private long currentDeadline = Long.MAX_VALUE;

	private boolean done;

	/** Set while the worker waits for a participant whose earlier call still runs. */
	private volatile boolean waitingForLane;

	OperationRun(OperationPlan plan, Invoker invoker, Executor executor, Duration defaultTimeout,
			CallListener listener) {
		this.plan = plan;
		this.invoker = invoker;
		this.executor = executor;
		this.defaultTimeout = defaultTimeout;
		this.listener = listener;
	}

	/**
	 * Runs the plan and returns the steps it took. Returns early only if the calling
	 * thread is interrupted, with the steps taken so far.
	 */
	List<StepReport> run() {
		this.lock.lock();
		try {
			launch(null);
			while (!this.done) {
				long now = System.nanoTime();
				long remaining = this.currentDeadline - now;
				if (remaining > 0) {
					this.finished.awaitNanos(Math.min(remaining, POLL_NANOS));
				}
				else {
					abandonCurrent(now);
				}
			}
			return List.copyOf(this.steps);
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			this.generation++;
			return List.copyOf(this.steps);
		}
		finally {
			this.lock.unlock();
		}
	}

	private void abandonCurrent(long now) {
		Call call = this.current;
		this.generation++;
		if (this.currentThread != null) {
			this.currentThread.interrupt();
		}
		long elapsed = now - this.currentStart;
		StepReport timedOut = new StepReport(call.participant().name(), call.action(), StepOutcome.TIMED_OUT,
				TimeUnit.NANOSECONDS.toMillis(elapsed),
				"did not return within " + describe(call.participant().timeout(this.defaultTimeout))
						+ (this.waitingForLane ? ": its previous call is still running" : ""));
		this.listener.called(call.participant(), call.action(), StepOutcome.TIMED_OUT, elapsed);
		launch(timedOut);
	}

	/** Hands the plan to a new worker; called with the lock held. */
	private void launch(StepReport previous) {
		int owner = this.generation;
		this.current = null;
		this.currentThread = null;
		this.currentDeadline = Long.MAX_VALUE;
		this.executor.execute(() -> work(owner, previous));
	}

	private void work(int owner, StepReport previous) {
		StepReport last = previous;
		while (true) {
			Call call;
			long deadline;
			this.lock.lock();
			try {
				if (owner != this.generation) {
					return;
				}
				if (last != null) {
					this.steps.add(last);
				}
				call = this.plan.next(last);
				if (call == null) {
					this.done = true;
					this.finished.signalAll();
					return;
				}
				this.current = call;
				this.waitingForLane = false;
				this.currentThread = Thread.currentThread();
				this.currentStart = System.nanoTime();
				deadline = this.currentStart + call.participant().timeout(this.defaultTimeout).toNanos();
				this.currentDeadline = deadline;
			}
			finally {
				this.lock.unlock();
			}
			last = call(call, this.currentStart, deadline);
		}
	}

	private StepReport call(Call call, long start, long deadline) {
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
		this.listener.called(participant, call.action(), outcome, elapsed);
		return new StepReport(participant.name(), call.action(), outcome, TimeUnit.NANOSECONDS.toMillis(elapsed),
				error);
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
	 * Receives every participant call's outcome, for metrics.
	 */
	@FunctionalInterface
	interface CallListener {

		void called(RegisteredParticipant participant, StepAction action, StepOutcome outcome, long nanos);

	}

}
