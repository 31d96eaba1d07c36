package dev.lockstep.replication;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.jspecify.annotations.Nullable;

/**
 * Calls {@link ReplicationParticipant#error()} on every participant, in parallel and
 * under a deadline, and collects every error.
 * <p>
 * Unlike QEMU, which stops at the first error, the sweep asks every participant. Callers
 * that arrive while a sweep runs share it, and a finished sweep may be reused for a
 * caller-chosen time, counted from when it started, so that frequent probes stay cheap. A
 * participant whose {@code error()} is still running from an earlier sweep is not called
 * again: the sweep waits for that call instead.
 * <p>
 * {@link #invalidate()} starts a new epoch: no caller after it is answered from a sweep,
 * or an {@code error()} call, that started before it.
 */
public final class ErrorSweep {

	private static final long NOT_ASKED = -1;

	private final ParticipantRegistry registry;

	private final Executor executor;

	private final Duration errorTimeout;

	private final Duration cacheTtl;

	private final Clock clock;

	/** Guarded by itself: the latest {@code error()} call on each participant. */
	private final IdentityHashMap<RegisteredParticipant, ErrorCall> calls = new IdentityHashMap<>();

	private final Object monitor = new Object();

	/** Written under monitor: how many times the cache has been invalidated. */
	private volatile long epoch;

	/** Guarded by monitor. */
	private @Nullable Sweep inFlight;

	/** Guarded by monitor: the newest result of the current epoch. */
	private @Nullable SweepResult cached;

	/** Guarded by monitor: when the sweep of the cached result started. */
	private long cachedStartedAt;

	public ErrorSweep(ParticipantRegistry registry, Executor executor, Duration errorTimeout, Duration cacheTtl,
			Clock clock) {
		this.registry = registry;
		this.executor = executor;
		this.errorTimeout = errorTimeout;
		this.cacheTtl = cacheTtl;
		this.clock = clock;
	}

	/**
	 * Returns a sweep that started no longer than the configured cache time ago, running
	 * one if needed.
	 */
	public SweepResult sweep() {
		return sweep(this.cacheTtl);
	}

	/**
	 * Returns the deadline of each {@code error()} call.
	 */
	public Duration errorTimeout() {
		return this.errorTimeout;
	}

	/**
	 * Returns a sweep that started no longer than {@code maxAge} ago, and after the last
	 * {@link #invalidate()}, running one if needed. Never blocks much longer than the
	 * error deadline.
	 * @param maxAge how old a reused result may be; zero for a fresh sweep
	 */
	public SweepResult sweep(Duration maxAge) {
		Sweep sweep;
		synchronized (this.monitor) {
			SweepResult reusable = this.cached;
			if (reusable != null && System.nanoTime() - this.cachedStartedAt < maxAge.toNanos()) {
				return reusable;
			}
			sweep = this.inFlight;
			if (sweep == null || sweep.epoch != this.epoch) {
				Sweep started = new Sweep(this.epoch, System.nanoTime());
				this.inFlight = started;
				this.executor.execute(() -> complete(started));
				sweep = started;
			}
		}
		try {
			return sweep.result.get(this.errorTimeout.toNanos() + TimeUnit.MILLISECONDS.toNanos(250),
					TimeUnit.NANOSECONDS);
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			return stalled("interrupted while waiting for the error sweep");
		}
		catch (ExecutionException | TimeoutException ex) {
			return stalled("the error sweep did not finish within " + OperationRun.describe(this.errorTimeout));
		}
	}

	/**
	 * Returns the most recent finished sweep that started after the last
	 * {@link #invalidate()}, if any, without running one.
	 */
	public Optional<SweepResult> last() {
		synchronized (this.monitor) {
			return Optional.ofNullable(this.cached);
		}
	}

	/**
	 * Forgets the cached result, and any sweep in flight, so that the next caller sees a
	 * sweep that starts after this call. The coordinator calls this after every
	 * operation.
	 */
	public void invalidate() {
		synchronized (this.monitor) {
			this.epoch++;
			this.cached = null;
		}
	}

	private SweepResult stalled(String reason) {
		return new SweepResult(false, List.of(new ParticipantError("coordinator", reason)), this.clock.instant(),
				false);
	}

	private void complete(Sweep sweep) {
		SweepResult result;
		try {
			result = run();
		}
		catch (Throwable ex) {
			result = stalled("the error sweep failed: " + OperationRun.message(ex));
		}
		synchronized (this.monitor) {
			// A sweep that started before an invalidation must not be reused after it
			if (sweep.epoch == this.epoch && (this.cached == null || sweep.startedAt - this.cachedStartedAt > 0)) {
				this.cached = result;
				this.cachedStartedAt = sweep.startedAt;
			}
			if (this.inFlight == sweep) {
				this.inFlight = null;
			}
		}
		sweep.result.complete(result);
	}

	private SweepResult run() {
		Instant checkedAt = this.clock.instant();
		long deadline = System.nanoTime() + this.errorTimeout.toNanos();
		List<RegisteredParticipant> participants = this.registry.participants();
		List<CompletableFuture<Optional<String>>> answers = new ArrayList<>(participants.size());
		synchronized (this.calls) {
			this.calls.keySet().retainAll(participants);
			long current = this.epoch;
			for (RegisteredParticipant participant : participants) {
				ErrorCall running = this.calls.get(participant);
				ErrorCall call;
				if (running == null || running.answer.isDone()) {
					call = ask(participant, null);
				}
				else if (running.askedIn == NOT_ASKED || running.askedIn == current) {
					call = running;
				}
				else {
					// Still running from before an invalidation: ask again once it
					// returns
					call = ask(participant, running);
				}
				this.calls.put(participant, call);
				answers.add(call.answer);
			}
		}
		List<ParticipantError> errors = new ArrayList<>();
		boolean complete = true;
		for (int i = 0; i < participants.size(); i++) {
			String name = participants.get(i).name();
			try {
				long remaining = Math.max(0, deadline - System.nanoTime());
				answers.get(i)
					.get(remaining, TimeUnit.NANOSECONDS)
					.ifPresent((message) -> errors.add(new ParticipantError(name, message)));
			}
			catch (TimeoutException ex) {
				complete = false;
				errors.add(new ParticipantError(name,
						"error() did not answer within " + OperationRun.describe(this.errorTimeout)));
			}
			catch (ExecutionException ex) {
				errors.add(new ParticipantError(name,
						"error() threw: " + OperationRun.message((ex.getCause() != null) ? ex.getCause() : ex)));
			}
			catch (InterruptedException ex) {
				Thread.currentThread().interrupt();
				complete = false;
				errors.add(new ParticipantError(name, "interrupted while waiting for error()"));
			}
		}
		return new SweepResult(errors.isEmpty(), errors, checkedAt, complete);
	}

	/**
	 * Calls the participant's {@code error()} on the executor, at once or, so that it is
	 * never called twice at a time, after an earlier call has returned.
	 */
	private ErrorCall ask(RegisteredParticipant participant, @Nullable ErrorCall after) {
		ErrorCall call = new ErrorCall();
		Runnable task = () -> {
			call.askedIn = this.epoch;
			try {
				Optional<String> error = participant.participant().error();
				call.answer
					.complete((error != null) ? error.filter((message) -> !message.isBlank()) : Optional.empty());
			}
			catch (Throwable ex) {
				call.answer.completeExceptionally(ex);
			}
		};
		if (after == null) {
			this.executor.execute(task);
		}
		else {
			// The hand-off below catches its own failure: the future it returns carries
			// nothing
			var unused = after.answer.whenComplete((answer, failure) -> {
				try {
					this.executor.execute(task);
				}
				catch (RuntimeException ex) {
					call.answer.completeExceptionally(ex);
				}
			});
		}
		return call;
	}

	/**
	 * One sweep, from the epoch in which it started.
	 */
	private static final class Sweep {

		private final long epoch;

		private final long startedAt;

		private final CompletableFuture<SweepResult> result = new CompletableFuture<>();

		Sweep(long epoch, long startedAt) {
			this.epoch = epoch;
			this.startedAt = startedAt;
		}

	}

	/**
	 * One {@code error()} call on one participant.
	 */
	private static final class ErrorCall {

		private final CompletableFuture<Optional<String>> answer = new CompletableFuture<>();

		/** The epoch in which {@code error()} was entered, or {@link #NOT_ASKED}. */
		private volatile long askedIn = NOT_ASKED;

	}

}
