package dev.lockstep.replication;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

/**
 * Makes the phase calls of a checkpoint with the workload paused: the pauses, under one
 * deadline for all of them, and the resumes, each under its participant's own deadline.
 * <p>
 * A pause still running at the deadline is abandoned: its thread is interrupted, and the
 * thread resumes the participant itself once the late pause has returned, still in the
 * participant's lane, so that the resume is never lost and the caller never waits for it.
 */
final class PhaseRun {

	private static final Log logger = LogFactory.getLog(ReplicationCoordinator.class);

	private final Executor executor;

	private final Duration defaultTimeout;

	private final OperationRun.CallListener listener;

	PhaseRun(Executor executor, Duration defaultTimeout, OperationRun.CallListener listener) {
		this.executor = executor;
		this.defaultTimeout = defaultTimeout;
		this.listener = listener;
	}

	/**
	 * Pauses the given participants in ascending order until one fails or the deadline
	 * passes.
	 * @param ascending the started participants
	 * @param maxPause the deadline of all pauses together
	 * @return the steps, and which participants must be resumed
	 */
	Paused pause(List<RegisteredParticipant> ascending, Duration maxPause) {
		long deadline = System.nanoTime() + maxPause.toNanos();
		List<StepReport> steps = new ArrayList<>();
		List<RegisteredParticipant> called = new ArrayList<>();
		List<RegisteredParticipant> resumingLate = new ArrayList<>();
		boolean failed = false;
		for (RegisteredParticipant participant : ascending) {
			Attempt attempt = new Attempt(participant, StepAction.PAUSE, deadline, true);
			StepReport step = attempt.await("did not pause within lockstep.pair.max-pause of "
					+ OperationRun.describe(maxPause) + "; it is resumed as soon as its pause returns");
			steps.add(step);
			if (attempt.state.get() == CallState.ABANDONED) {
				resumingLate.add(participant);
			}
			else if (attempt.invoked) {
				called.add(participant);
			}
			if (step.outcome().isFailure()) {
				failed = true;
				break;
			}
		}
		return new Paused(steps, called, resumingLate, failed);
	}

	/**
	 * Resumes the given participants in descending order, going on through failures.
	 * @param descending the participants whose pause was called and has returned
	 */
	List<StepReport> resume(List<RegisteredParticipant> descending) {
		List<StepReport> steps = new ArrayList<>();
		for (RegisteredParticipant participant : descending) {
			Duration timeout = participant.timeout(this.defaultTimeout);
			Attempt attempt = new Attempt(participant, StepAction.RESUME, System.nanoTime() + timeout.toNanos(), false);
			steps.add(attempt.await("did not resume within " + OperationRun.describe(timeout)));
		}
		return steps;
	}

	/**
	 * What a pause did.
	 *
	 * @param steps the pause calls, in call order
	 * @param called the participants whose pause was called and returned, in ascending
	 * order: each needs a resume
	 * @param resumingLate the participants whose pause overran the deadline; each is
	 * resumed by its own thread once its pause returns
	 * @param failed whether a pause failed or overran
	 */
	record Paused(List<StepReport> steps, List<RegisteredParticipant> called, List<RegisteredParticipant> resumingLate,
			boolean failed) {
	}

	private enum CallState {

		/** The call is on its way or in progress. */
		RUNNING,

		/** The call returned in time and its report counts. */
		RETURNED,

		/** The caller gave the call up at its deadline. */
		ABANDONED

	}

	/**
	 * One participant call on a thread of the executor, which the caller awaits until the
	 * deadline.
	 */
	private final class Attempt {

		private final RegisteredParticipant participant;

		private final StepAction action;

		private final long deadline;

		private final boolean resumeIfLate;

		private final AtomicReference<CallState> state = new AtomicReference<>(CallState.RUNNING);

		private final CompletableFuture<StepReport> result = new CompletableFuture<>();

		private final long start = System.nanoTime();

		private volatile @Nullable Thread thread;

		/** Set once the participant's method was entered. */
		private volatile boolean invoked;

		Attempt(RegisteredParticipant participant, StepAction action, long deadline, boolean resumeIfLate) {
			this.participant = participant;
			this.action = action;
			this.deadline = deadline;
			this.resumeIfLate = resumeIfLate;
			PhaseRun.this.executor.execute(this::run);
		}

		private void run() {
			this.thread = Thread.currentThread();
			StepOutcome outcome;
			String error = null;
			boolean inTime = true;
			if (!this.participant.isRegistered()) {
				outcome = StepOutcome.SKIPPED;
				error = "unregistered while the operation ran";
			}
			else {
				try {
					if (this.participant.enterLane(this.deadline - System.nanoTime())) {
						try {
							this.invoked = true;
							invoke(this.action);
							outcome = StepOutcome.SUCCEEDED;
						}
						finally {
							inTime = this.state.compareAndSet(CallState.RUNNING, CallState.RETURNED);
							if (!inTime && this.resumeIfLate) {
								resumeLate();
							}
							this.participant.leaveLane();
						}
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
					error = OperationRun.message(ex);
				}
			}
			if (!this.invoked) {
				inTime = this.state.compareAndSet(CallState.RUNNING, CallState.RETURNED);
				if (!inTime) {
					synchronized (this) {
						// The interrupt of the caller that gave up has arrived: clear it.
						var unused = Thread.interrupted();
					}
				}
			}
			if (inTime) {
				long elapsed = System.nanoTime() - this.start;
				PhaseRun.this.listener.called(this.participant, this.action, outcome, elapsed);
				this.result.complete(new StepReport(this.participant.name(), this.action, outcome,
						TimeUnit.NANOSECONDS.toMillis(elapsed), error));
			}
		}

		private void invoke(StepAction action) throws Exception {
			if (action == StepAction.PAUSE) {
				this.participant.participant().pause();
			}
			else {
				this.participant.participant().resume();
			}
		}

		/**
		 * After a pause that the caller gave up, resumes the participant on this thread,
		 * still in its lane.
		 */
		private void resumeLate() {
			synchronized (this) {
				// The caller interrupts this thread while it holds this monitor: from
				// here on no interrupt meant for the pause can arrive.
			}
			boolean interrupted = Thread.interrupted();
			long start = System.nanoTime();
			StepOutcome outcome = StepOutcome.SUCCEEDED;
			try {
				invoke(StepAction.RESUME);
				logger.info("Participant '" + this.participant.name() + "' resumed after its late pause");
			}
			catch (Exception ex) {
				outcome = StepOutcome.FAILED;
				logger.warn("Participant '" + this.participant.name() + "' could not resume after its late pause: "
						+ OperationRun.message(ex));
			}
			finally {
				PhaseRun.this.listener.called(this.participant, StepAction.RESUME, outcome, System.nanoTime() - start);
				if (interrupted) {
					Thread.currentThread().interrupt();
				}
			}
		}

		/**
		 * Waits for the call until its deadline, then gives it up.
		 * @param late the step's error when the call is given up
		 */
		StepReport await(String late) {
			boolean interrupted = false;
			try {
				while (true) {
					try {
						return this.result.get(Math.max(0, this.deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
					}
					catch (TimeoutException ex) {
						StepReport abandoned = abandon(late);
						if (abandoned != null) {
							return abandoned;
						}
						// It returned at the deadline: its report is on its way.
					}
					catch (InterruptedException ex) {
						interrupted = true;
						StepReport abandoned = abandon("the operation was interrupted");
						if (abandoned != null) {
							return abandoned;
						}
					}
					catch (ExecutionException ex) {
						throw new IllegalStateException("A step report never fails", ex);
					}
				}
			}
			finally {
				if (interrupted) {
					Thread.currentThread().interrupt();
				}
			}
		}

		/**
		 * Gives the call up unless it returned meanwhile.
		 * @return the step, or {@code null} if the call returned in time after all
		 */
		private synchronized @Nullable StepReport abandon(String error) {
			if (!this.state.compareAndSet(CallState.RUNNING, CallState.ABANDONED)) {
				return null;
			}
			Thread worker = this.thread;
			if (worker != null) {
				worker.interrupt();
			}
			long elapsed = System.nanoTime() - this.start;
			PhaseRun.this.listener.called(this.participant, this.action, StepOutcome.TIMED_OUT, elapsed);
			return new StepReport(this.participant.name(), this.action, StepOutcome.TIMED_OUT,
					TimeUnit.NANOSECONDS.toMillis(elapsed), error);
		}

	}

}
